using static Tmds.Linux.LibC;

namespace Dataplane.Native;

/// <summary>
/// An eventfd (eventfd(2)): a 64-bit counter behind a descriptor, readable while non-zero. One thread
/// signals (adds to it), the sleeping worker wakes in <see cref="Epoll.Wait"/> and drains it.
/// Non-blocking, so <see cref="Drain"/> on an empty counter returns 0 instead of sleeping.
/// </summary>
public sealed unsafe class EventFd : IDisposable
{
    private EventFd(FileDescriptor descriptor) => Descriptor = descriptor;

    /// <summary>The descriptor, to add to an <see cref="Epoll"/> set for EPOLLIN.</summary>
    public FileDescriptor Descriptor { get; }

    /// <summary>
    /// eventfd(2) with EFD_CLOEXEC | EFD_NONBLOCK, counter 0; with <paramref name="semaphore"/>
    /// (EFD_SEMAPHORE) each read takes 1 instead of the whole count.
    /// </summary>
    public static EventFd Create(bool semaphore = false)
    {
        int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK | (semaphore ? EFD_SEMAPHORE : 0));
        NativeException.ThrowIfFailed(fd, "eventfd");
        return new EventFd(new FileDescriptor(fd));
    }

    /// <summary>
    /// Adds <paramref name="increment"/> to the counter (an 8-byte write): 8 or <c>-errno</c>
    /// (EAGAIN if the counter would overflow). Safe from any thread.
    /// </summary>
    public nint Signal(ulong increment = 1) => Descriptor.Write(new ReadOnlySpan<byte>(&increment, sizeof(ulong)));

    /// <summary>Reads and resets the counter (an 8-byte read): the count, or 0 if nothing was signalled.</summary>
    public ulong Drain()
    {
        ulong count = 0;
        nint n = Descriptor.Read(new Span<byte>(&count, sizeof(ulong)));
        return n == sizeof(ulong) ? count : 0;
    }

    /// <summary>Closes the descriptor.</summary>
    public void Dispose() => Descriptor.Dispose();
}
