using Dataplane.Buffers;
using Dataplane.Engine;
using Dataplane.Stack.Neighbors;
using Dataplane.Wire;

namespace Dataplane.Stack.Link;

/// <summary>
/// The link layer of one worker: ARP (RFC 826), neighbour discovery and duplicate address
/// detection (RFC 4861, RFC 4862), and sending to a neighbour through the shared neighbour caches,
/// resolving it first when its address is not known. It owns this worker's part of the
/// neighbour chores (worker 0 announces, runs DAD and sweeps the caches) and counts under ARP and
/// ICMPv6. Nothing above it is known to it: the IP layer hands it neighbour discovery messages and
/// the frames to send, and it never calls back up.
/// </summary>
internal sealed partial class LinkLayer
{
    private readonly NetworkStack _stack;
    private readonly WorkerContext _context;
    private readonly BufferPool _pool;
    private readonly WorkerPackets _packets;
    private readonly StackCounters _counters;
    private readonly PacketBuffer[] _released = new PacketBuffer[NeighborEntry<Ipv4Address>.HoldLimit];

    /// <summary>The link layer of the worker whose buffers <paramref name="packets"/> handles; counts in <paramref name="counters"/>.</summary>
    public LinkLayer(NetworkStack stack, WorkerPackets packets, StackCounters counters)
    {
        _stack = stack;
        _packets = packets;
        _context = packets.Context;
        _pool = packets.Pool;
        _counters = counters;
    }

    /// <summary>
    /// Schedules worker 0's chores on its wheel: announce our addresses three times a second apart
    /// (peers may come up after us), start duplicate address detection, and sweep the neighbour caches.
    /// </summary>
    public void ScheduleChores()
    {
        _context.Timers.Schedule(0, (int)StackTimer.Announce, 0);
        _context.Timers.Schedule(1_000_000_000, (int)StackTimer.Announce, 1);
        _context.Timers.Schedule(2_000_000_000, (int)StackTimer.Announce, 2);
        _context.Timers.Schedule(DadTime, (int)StackTimer.DadDone, 0);
        _context.Timers.Schedule(SweepInterval, (int)StackTimer.NeighborSweep, 0);
    }

    /// <summary>Sweeps the neighbour caches and schedules the next sweep.</summary>
    public void OnSweepTimer()
    {
        SweepNeighbors();
        _context.Timers.Schedule(SweepInterval, (int)StackTimer.NeighborSweep, 0);
    }

    private void Drop(PacketBuffer packet, ArpCounter reason)
    {
        _counters.Count(reason);
        _packets.Drop(packet);
    }

    private void Drop(PacketBuffer packet, Icmp6Counter reason)
    {
        _counters.Count(reason);
        _packets.Drop(packet);
    }
}
