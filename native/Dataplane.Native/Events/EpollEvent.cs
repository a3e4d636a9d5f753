using System.Runtime.InteropServices;

namespace Dataplane.Native;

/// <summary>The epoll event bits (epoll_ctl(2), <c>/usr/include/linux/eventpoll.h</c>).</summary>
[Flags]
public enum EpollEvents : uint
{
    /// <summary>No event.</summary>
    None = 0,
    /// <summary>EPOLLIN: readable (a frame on a queue, a count on an eventfd).</summary>
    In = 0x1,
    /// <summary>EPOLLPRI: an exceptional condition.</summary>
    Priority = 0x2,
    /// <summary>EPOLLOUT: writable.</summary>
    Out = 0x4,
    /// <summary>EPOLLERR: an error (always reported).</summary>
    Error = 0x8,
    /// <summary>EPOLLHUP: hang up (always reported).</summary>
    HangUp = 0x10,
    /// <summary>EPOLLRDHUP: the peer shut down its writing side.</summary>
    ReadHangUp = 0x2000,
    /// <summary>EPOLLEXCLUSIVE: wake one of the epoll instances waiting on the same descriptor.</summary>
    Exclusive = 1u << 28,
    /// <summary>EPOLLWAKEUP: hold a wakeup source while the event is pending.</summary>
    Wakeup = 1u << 29,
    /// <summary>EPOLLONESHOT: report once, then disarm until EPOLL_CTL_MOD.</summary>
    OneShot = 1u << 30,
    /// <summary>EPOLLET: edge-triggered: report a change once, not a level while it lasts.</summary>
    EdgeTriggered = 1u << 31,
}

/// <summary>
/// <c>struct epoll_event</c> (epoll_wait(2), <c>/usr/include/x86_64-linux-gnu/sys/epoll.h</c>): on
/// x86-64 the C library declares it <c>__attribute__((packed))</c> (the kernel's EPOLL_PACKED), so
/// it is 12 bytes with the 64-bit data at offset 4, not 16 as natural alignment would give.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 12, Pack = 1)]
public struct EpollEvent
{
    /// <summary><c>events</c>: asked for (epoll_ctl) or happened (epoll_wait).</summary>
    [FieldOffset(0)] public EpollEvents Events;

    /// <summary><c>data.u64</c>: the caller's tag for the descriptor, returned with its events.</summary>
    [FieldOffset(4)] public ulong Data;

    /// <summary>An event set <paramref name="events"/> tagged <paramref name="data"/>.</summary>
    public EpollEvent(EpollEvents events, ulong data)
    {
        Events = events;
        Data = data;
    }
}
