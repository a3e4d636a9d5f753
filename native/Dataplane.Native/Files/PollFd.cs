using System.Runtime.InteropServices;
using static Tmds.Linux.LibC;

namespace Dataplane.Native;

/// <summary>The poll(2) event bits (<c>/usr/include/asm-generic/poll.h</c>).</summary>
[Flags]
public enum PollEvents : short
{
    /// <summary>No event.</summary>
    None = 0,
    /// <summary>POLLIN: there is data to read (a frame on a tap queue, a filled block in a packet ring).</summary>
    In = 0x1,
    /// <summary>POLLPRI: an exceptional condition.</summary>
    Priority = 0x2,
    /// <summary>POLLOUT: writing will not block.</summary>
    Out = 0x4,
    /// <summary>POLLERR: an error condition (returned only).</summary>
    Error = 0x8,
    /// <summary>POLLHUP: hang up (returned only).</summary>
    HangUp = 0x10,
    /// <summary>POLLNVAL: the descriptor is not open (returned only).</summary>
    Invalid = 0x20,
}

/// <summary>
/// <c>struct pollfd</c> (poll(2), <c>/usr/include/asm-generic/poll.h</c>): a descriptor, the events
/// asked for and the events returned; 8 bytes.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 8)]
public struct PollFd
{
    /// <summary><c>fd</c>: the descriptor; a negative one is skipped.</summary>
    [FieldOffset(0)] public int Descriptor;

    /// <summary><c>events</c>: what to wait for.</summary>
    [FieldOffset(4)] public PollEvents Events;

    /// <summary><c>revents</c>: what happened, filled in by the kernel.</summary>
    [FieldOffset(6)] public PollEvents ReturnedEvents;

    /// <summary>Wait on <paramref name="descriptor"/> for <paramref name="events"/>.</summary>
    public PollFd(int descriptor, PollEvents events)
    {
        Descriptor = descriptor;
        Events = events;
        ReturnedEvents = PollEvents.None;
    }

    /// <summary>
    /// poll(2) on <paramref name="descriptors"/> for up to <paramref name="timeoutMilliseconds"/> (-1: forever):
    /// how many have events (0 on timeout) or <c>-errno</c> (EINTR on a signal). Never throws.
    /// </summary>
    public static unsafe int Poll(Span<PollFd> descriptors, int timeoutMilliseconds)
    {
        fixed (PollFd* p = descriptors)
            return SystemCall.Result(poll((Tmds.Linux.pollfd*)p, (uint)descriptors.Length, timeoutMilliseconds));
    }
}
