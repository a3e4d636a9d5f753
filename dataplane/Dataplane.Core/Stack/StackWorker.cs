using System.Runtime.CompilerServices;
using Dataplane.Buffers;
using Dataplane.Engine;
using Dataplane.Stack.Link;
using Dataplane.Wire;

namespace Dataplane.Stack;

/// <summary>
/// The stack as one worker runs it: link, network and transport input for the packets the worker
/// owns, and the output and forwarding paths they lead to. Holds what the worker owns alone (its
/// counters, its ICMP rate limit, its IPv4 identification space); everything shared is in
/// <see cref="NetworkStack"/>. The protocol handlers are split by protocol into the partial files
/// beside this one.
/// </summary>
internal sealed partial class StackWorker
{
    /// <summary>Time to live and hop limit of packets this host originates (RFC 1700's default).</summary>
    public const byte DefaultTtl = 64;

    private const int EthernetHeader = EthernetFrame.FixedLength;

    /// <summary>
    /// The bytes of a chained frame that input makes contiguous in its first buffer before it looks:
    /// the Ethernet header, the longest IPv4 header, and room for IPv6 extension headers and the
    /// transport header behind them. A frame a driver spread over buffers is read through views of
    /// its first buffer; what lies behind them (payload) is walked as a chain.
    /// </summary>
    private const int HeadersInFirstBuffer = 256;

    private readonly NetworkStack _stack;
    private readonly WorkerContext _context;
    private readonly BufferPool _pool;
    private readonly WorkerPackets _packets;
    private readonly LinkLayer _link;
    private IcmpRateLimit _icmpLimit;
    private ushort _nextId;

    /// <summary>The stack of worker <paramref name="context"/>; worker 0 also runs the shared chores (announcements, neighbour sweeps).</summary>
    public StackWorker(NetworkStack stack, WorkerContext context)
    {
        _stack = stack;
        _context = context;
        _pool = context.Pool;
        _packets = new WorkerPackets(context);
        _link = new LinkLayer(stack, _packets, Counters);
        _icmpLimit = new IcmpRateLimit(context.Now);
        // Each worker takes its own slice of the identification space, so that two workers never
        // give one source/destination pair the same ID at once (RFC 6864 4.1).
        _nextId = (ushort)(context.Index * 0x1000 + context.Random.Next(0x1000));
        InitializeFragments();
        _udp = new Transport.UdpSocketTable(this);
        if (context.Index == 0)
            _link.ScheduleChores();
    }

    /// <summary>This worker's counters.</summary>
    public StackCounters Counters { get; } = new();

    /// <summary>The shared state.</summary>
    public NetworkStack Stack => _stack;

    /// <summary>The worker this runs on.</summary>
    public WorkerContext Context => _context;

    /// <summary>Handles one received frame to completion.</summary>
    public void Input(int port, PacketBuffer packet)
    {
        ref BufferMetadata m = ref _pool.Metadata(packet);
        NetInterface iface = _stack.Interfaces[port];
        if (m.Segments > 1 && !FrameChain.TryPullUp(_context.Cache, packet, Math.Min(m.PacketLength, HeadersInFirstBuffer)))
        {
            Drop(packet, EtherCounter.Chained);
            return;
        }
        if (m.Gso != GsoType.None)
        {
            // Forwarded whole it would be judged by its total length against the MTU; cut in software, by TSO (not yet).
            Drop(packet, EtherCounter.SuperFrame);
            return;
        }
        Span<byte> frame = _pool.Data(packet);
        if (!EthernetFrame.TryCreate(frame, out EthernetFrame eth))
        {
            Drop(packet, EtherCounter.TooShort);
            return;
        }
        MacAddress destination = eth.Destination;
        if (!destination.IsMulticast && destination != iface.Mac)
        {
            Drop(packet, EtherCounter.NotForUs);
            return;
        }
        if (eth.Source == iface.Mac)
        {
            Drop(packet, EtherCounter.FromSelf);
            return;
        }
        switch (eth.EtherType)
        {
            case EtherType.Ipv4:
                Ipv4Input(iface, packet, frame, destination.IsMulticast);
                break;
            case EtherType.Ipv6:
                Ipv6Input(iface, packet, frame, destination.IsMulticast);
                break;
            case EtherType.Arp:
                _link.ArpInput(iface, packet, frame);
                break;
            default:
                Drop(packet, EtherCounter.UnknownType);
                break;
        }
    }

    /// <summary>Runs one of the stack's timers.</summary>
    public void OnTimer(in ExpiredTimer timer)
    {
        switch ((StackTimer)timer.Kind)
        {
            case StackTimer.Announce:
                _link.Announce((int)timer.Payload);
                break;
            case StackTimer.DadDone:
                _link.CompleteDad();
                break;
            case StackTimer.NeighborSweep:
                _link.OnSweepTimer();
                break;
            case StackTimer.Reassembly:
                ReassemblyTimedOut(timer.Payload);
                break;
            default:
                OnTransportTimer(timer);
                break;
        }
    }

    /// <summary>Releases <paramref name="packet"/> and counts the drop under <paramref name="reason"/>.</summary>
    private void Drop(PacketBuffer packet, EtherCounter reason)
    {
        Counters.Count(reason);
        _context.Drop(packet);
    }

    private void Drop(PacketBuffer packet, IpCounter reason)
    {
        Counters.Count(reason);
        _context.Drop(packet);
    }

    private void Drop(PacketBuffer packet, IcmpCounter reason)
    {
        Counters.Count(reason);
        _context.Drop(packet);
    }

    private void Drop(PacketBuffer packet, Ip6Counter reason)
    {
        Counters.Count(reason);
        _context.Drop(packet);
    }

    private void Drop(PacketBuffer packet, Icmp6Counter reason)
    {
        Counters.Count(reason);
        _context.Drop(packet);
    }

    /// <summary>The next IPv4 identification of this worker.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ushort NextId() => _nextId++;
}

/// <summary>The kinds of timer the stack schedules on a worker's wheel.</summary>
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

    /// <summary>The first kind the transport layer may use.</summary>
    Transport = 0x200,
}
