using static Tmds.Linux.LibC;

namespace Dataplane.Native;

/// <summary>
/// An epoll instance (epoll(7)): where an idle per-core worker sleeps on its queues' descriptors and
/// an <see cref="EventFd"/> that wakes it. Registration is the control path and throws;
/// <see cref="Wait"/> is the data path and returns <c>-errno</c>.
/// </summary>
public sealed unsafe class Epoll : IDisposable
{
    private const int CtlAdd = 1, CtlDel = 2, CtlMod = 3; // EPOLL_CTL_*

    private Epoll(FileDescriptor descriptor) => Descriptor = descriptor;

    /// <summary>The epoll descriptor itself (an epoll set can be watched by another).</summary>
    public FileDescriptor Descriptor { get; }

    /// <summary>epoll_create1(2) with EPOLL_CLOEXEC.</summary>
    public static Epoll Create()
    {
        int fd = epoll_create1(EPOLL_CLOEXEC);
        NativeException.ThrowIfFailed(fd, "epoll_create1");
        return new Epoll(new FileDescriptor(fd));
    }

    /// <summary>EPOLL_CTL_ADD: watch <paramref name="descriptor"/> for <paramref name="events"/>, reported with <paramref name="data"/>.</summary>
    public void Add(FileDescriptor descriptor, EpollEvents events, ulong data) => Control(CtlAdd, descriptor, events, data, "ADD");

    /// <summary>EPOLL_CTL_MOD: change the events and tag of a watched descriptor.</summary>
    public void Modify(FileDescriptor descriptor, EpollEvents events, ulong data) => Control(CtlMod, descriptor, events, data, "MOD");

    /// <summary>EPOLL_CTL_DEL: stop watching <paramref name="descriptor"/>.</summary>
    public void Delete(FileDescriptor descriptor) => Control(CtlDel, descriptor, EpollEvents.None, 0, "DEL");

    /// <summary>
    /// epoll_wait(2) into <paramref name="events"/> for up to <paramref name="timeoutMilliseconds"/>
    /// (0: do not block, -1: forever): how many entries were filled (0 on timeout) or <c>-errno</c>
    /// (EINTR when a signal arrived). Never throws, allocates nothing.
    /// </summary>
    public int Wait(Span<EpollEvent> events, int timeoutMilliseconds)
    {
        fixed (EpollEvent* p = events)
            return SystemCall.Result(epoll_wait(Descriptor.Value, (Tmds.Linux.epoll_event*)p, events.Length, timeoutMilliseconds));
    }

    /// <summary>Closes the epoll descriptor; the watched descriptors are unaffected.</summary>
    public void Dispose() => Descriptor.Dispose();

    private void Control(int op, FileDescriptor descriptor, EpollEvents events, ulong data, string opName)
    {
        ArgumentNullException.ThrowIfNull(descriptor);
        // Tmds.LibC's epoll_event is the same packed 12 bytes as ours (its x86-64 build).
        var ev = new EpollEvent(events, data);
        int result = epoll_ctl(Descriptor.Value, op, descriptor.Value, (Tmds.Linux.epoll_event*)&ev);
        NativeException.ThrowIfFailed(result, $"epoll_ctl(EPOLL_CTL_{opName}, fd {descriptor.Value})");
    }
}
