namespace Dataplane.Stack;

/// <summary>The kinds of timer the stack schedules on a worker's wheel; the dispatcher hands each to the layer that owns it.</summary>
internal enum StackTimer
{
    /// <summary>Gratuitous ARP and IPv6 DAD probes for our addresses; payload: the round.</summary>
    Announce = 0x100,

    /// <summary>Duplicate address detection is over: tentative addresses become preferred.</summary>
    DadDone,

    /// <summary>Retransmit neighbour requests and give up on silent neighbours.</summary>
    NeighborSweep,

    /// <summary>A datagram in reassembly ran out of time; payload: its slot and generation.</summary>
    Reassembly,

    /// <summary>The first kind the transport layer may use; the kinds from here to <see cref="UdpApp"/> are left to TCP.</summary>
    Transport = 0x200,

    /// <summary>A TCP connection's earliest deadline (retransmission, delayed ACK, persist, keepalive, TIME-WAIT); payload: its slot and generation.</summary>
    TcpConnection = Transport,

    /// <summary>A TCP app's timer; payload: the app's number and its own payload.</summary>
    TcpApp = Transport + 1,

    /// <summary>A UDP app's timer; payload: the app's number and its own payload.</summary>
    UdpApp = Transport + 0x10,
}
