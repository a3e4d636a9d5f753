using Dataplane.Buffers;
using Dataplane.Drivers.Memory;
using Dataplane.Engine;
using Dataplane.Ports;
using Dataplane.Stack;
using Dataplane.Stack.Routing;
using Dataplane.Stack.Transport;
using Dataplane.Stack.Transport.Tcp;
using Dataplane.Wire;

namespace Dataplane.Packetdrill;

/// <summary>
/// One stack with one worker on a virtual clock, over one memory port whose far end is
/// packetdrill's netdev: packets come in and go out at layer 3, framed and unframed here. Time
/// moves only when packetdrill says so (usleep, a read of the clock) or when the stack must wait
/// for one of its own timers (a blocking call, a packet packetdrill waits for); every move runs the
/// timers due on the way, in order, as a worker's loop would. Not thread-safe by itself: the
/// socket layer holds <see cref="Gate"/> around every call.
/// </summary>
/// <remarks>
/// Neighbours are static: every route goes through the gateway, whose entry is confirmed before
/// each turn, so no ARP or neighbour discovery reaches packetdrill, which speaks IP only. What the
/// stack sends of its own link-layer business (gratuitous ARP, DAD, MLD) stays here.
/// </remarks>
internal sealed class StackUnderTest
{
    /// <summary>The engine clock when the library starts: one second, so that no time is zero.</summary>
    public const long StartTime = 1_000_000_000;

    /// <summary>What reading the clock costs: a microsecond, so that packetdrill's spin until an event's time ends.</summary>
    public const long ClockReadCost = 1_000;

    private static readonly MacAddress s_ourMac = MacAddress.FromUInt64(0x02_50_44_00_00_01);
    private static readonly MacAddress s_peerMac = MacAddress.FromUInt64(0x02_50_44_00_00_02);

    private readonly NetworkStack _stack;
    private readonly WorkerContext _context;
    private readonly MemoryQueue _wire;
    private readonly PacketBuffer[] _burst = new PacketBuffer[64];
    private readonly Queue<OutboundPacket> _outbound = new();
    private readonly LibraryOptions _options;
    private readonly List<Func<bool>> _waiting = [];
    private readonly HashSet<int> _finishing = [];
    private StackProcessor _processor;

    /// <summary>The stack of <paramref name="options"/>, its clock at <see cref="StartTime"/>.</summary>
    public StackUnderTest(LibraryOptions options)
    {
        _options = options;
        Pool = new BufferPool(8192);
        var cache = new BufferCache(Pool);
        (MemoryPort ours, MemoryPort wire) = MemoryPort.CreatePair("pd0", "pd0-netdev", queues: 1, ringSize: 1024);
        ours.Start();
        wire.Start();
        _wire = wire.Queue(0);
        // Host routes only (/32, /128): every destination goes through the gateway and its static entry.
        var iface = new NetInterface(0, "pd0", s_ourMac, options.Mtu, PortCapabilities.None,
            [new InterfaceAddress4(options.LocalIp, 32)], [new InterfaceAddress6(options.LocalIp6, 128)]);
        _stack = new NetworkStack([iface], forwarding: false) { TcpBuffer = options.TcpBuffer };
        _stack.Routes.Add(Ipv4Address.Any, 0, new NextHop4(0, options.GatewayIp, RouteOrigin.Static));
        _stack.Routes.Add(Ipv6Address.Any, 0, new NextHop6(0, options.GatewayIp6, RouteOrigin.Static));
        _context = new WorkerContext(0, Pool, cache, new TimerWheel(StartTime), [new MemoryQueuePath(ours.Queue(0))])
        {
            Now = StartTime,
        };
        ConfirmNeighbours();
        Worker = new StackWorker(_stack, _context);
        _processor = new StackProcessor(Worker);
        Tcp = Worker.Tcp;
        lock (Gate)
            Settle();
        _outbound.Clear(); // what the stack says of itself at start is no script's business
    }

    /// <summary>The lock of every call into the library; waiters on it are woken after every turn.</summary>
    public object Gate { get; } = new();

    /// <summary>The packet memory.</summary>
    public BufferPool Pool { get; }

    /// <summary>The stack's one worker.</summary>
    public StackWorker Worker { get; }

    /// <summary>The worker's TCP.</summary>
    public TcpSocketTable Tcp { get; }

    /// <summary>The virtual clock, engine nanoseconds.</summary>
    public long Now => _context.Now;

    /// <summary>Packets the stack sent that packetdrill has not taken yet.</summary>
    public int OutboundCount => _outbound.Count;

    /// <summary>The earliest timer, engine nanoseconds; <see cref="long.MaxValue"/> when none.</summary>
    public long NextTimer => _context.Timers.NextExpiry;

    /// <summary>True when the address of <paramref name="local"/> is one of the stack's.</summary>
    public bool Owns(in InetEndpoint local) => local.IsIpv6 ? _stack.Owner(local.Address) is not null : _stack.IsOurs(local.Address4);

    /// <summary>How long, in real milliseconds, the clock waits for a woken call to finish (see <see cref="HoldForWoken"/>).</summary>
    public const int WokenPatience = 1000;

    /// <summary>gettimeofday: the virtual clock, which each read moves on by <see cref="ClockReadCost"/>.</summary>
    public long ReadClock()
    {
        if (_finishing.Remove(Environment.CurrentManagedThreadId))
        {
            // The read that ends a woken call (packetdrill's end_syscall): its time is now, and the
            // clock may move again.
            Monitor.PulseAll(Gate);
            return Now;
        }
        AdvanceTo(Now + ClockReadCost);
        return Now;
    }

    /// <summary>
    /// Registers a call that sleeps on another thread until <paramref name="ready"/>: the clock will
    /// not move while it is ready and has not run (<see cref="HoldForWoken"/>).
    /// </summary>
    public void BeginWait(Func<bool> ready) => _waiting.Add(ready);

    /// <summary>The call registered with <paramref name="ready"/> stopped waiting; <paramref name="woken"/> when it waited and became ready.</summary>
    public void EndWait(Func<bool> ready, bool woken)
    {
        _waiting.Remove(ready);
        if (woken)
            _finishing.Add(Environment.CurrentManagedThreadId);
        Monitor.PulseAll(Gate);
    }

    /// <summary>
    /// netdev_send: an IPv4 or IPv6 packet from packetdrill, framed and received by the stack now;
    /// false for one that is neither or does not fit a buffer.
    /// </summary>
    public bool Inject(ReadOnlySpan<byte> ip)
    {
        if (ip.IsEmpty || ip.Length + EthernetFrame.FixedLength > Pool.DataRoom)
            return false;
        EtherType type = (ip[0] >> 4) switch
        {
            4 => EtherType.Ipv4,
            6 => EtherType.Ipv6,
            _ => (EtherType)0,
        };
        if (type == 0 || !_context.Cache.TryAllocate(out PacketBuffer buffer))
            return false;
        int length = EthernetFrame.FixedLength + ip.Length;
        ref BufferMetadata m = ref Pool.Metadata(buffer);
        m.DataLength = (ushort)length;
        m.PacketLength = length;
        m.Offload = OffloadFlags.None; // packetdrill's checksums are checked like any wire's
        m.Port = 0;
        Span<byte> frame = Pool.Data(buffer);
        new EthernetFrame.Repr { Destination = s_ourMac, Source = s_peerMac, EtherType = type }.Emit(frame);
        ip.CopyTo(frame[EthernetFrame.FixedLength..]);
        ConfirmNeighbours();
        Worker.Input(0, buffer);
        Settle();
        return true;
    }

    /// <summary>The oldest packet the stack sent and packetdrill has not taken, or false.</summary>
    public bool TryTake(out OutboundPacket packet) => _outbound.TryDequeue(out packet);

    /// <summary>Moves the clock to <paramref name="time"/>, firing every timer due on the way at its own time.</summary>
    public void AdvanceTo(long time)
    {
        while (true)
        {
            HoldForWoken();
            long next = _context.Timers.NextExpiry;
            if (next > time)
                break;
            if (next > Now)
                _context.Now = next;
            Settle();
        }
        if (time > Now)
            _context.Now = time;
        Settle();
    }

    /// <summary>
    /// Moves the clock to the next timer and fires it, if one is due by <paramref name="limit"/>;
    /// false when none is, and the clock did not move.
    /// </summary>
    public bool AdvanceToNextTimer(long limit)
    {
        HoldForWoken();
        long next = _context.Timers.NextExpiry;
        if (next > limit)
            return false;
        if (next > Now)
            _context.Now = next;
        Settle();
        return true;
    }

    /// <summary>
    /// One turn's end at the current time: the timers due, the flush, and the far end's drain: IP
    /// packets go to the outbound queue stamped with the time they left; waiters are woken.
    /// </summary>
    public void Settle()
    {
        ConfirmNeighbours();
        _context.Timers.Advance(_context.Now, ref _processor);
        _context.FlushAll();
        int n;
        while ((n = _wire.Receive(_burst)) > 0)
        {
            for (int i = 0; i < n; i++)
            {
                byte[]? ip = IpPacketOf(_burst[i]);
                _context.Cache.Release(_burst[i]);
                if (ip is not null)
                    _outbound.Enqueue(new OutboundPacket(ip, _context.Now));
            }
        }
        Monitor.PulseAll(Gate);
    }

    /// <summary>
    /// Before the clock moves: lets a call that sleeps on another thread and became ready (data
    /// arrived for a blocking read) run and read the clock first, so that packetdrill's check of
    /// when the call returned sees the time it was woken, not a later one. packetdrill reads the
    /// clock right after such a call returns; a thread that does not is waited for
    /// <see cref="WokenPatience"/> real milliseconds at most.
    /// </summary>
    private void HoldForWoken()
    {
        if (_finishing.Contains(Environment.CurrentManagedThreadId))
            return;
        long start = Environment.TickCount64;
        while ((_finishing.Count > 0 || AnyWaiterReady()) && Environment.TickCount64 - start < WokenPatience)
            Monitor.Wait(Gate, 10);
        _finishing.Clear();
    }

    private bool AnyWaiterReady()
    {
        foreach (Func<bool> ready in _waiting)
        {
            if (ready())
                return true;
        }
        return false;
    }

    /// <summary>The gateway's entries, confirmed now: the neighbours packetdrill stands for never go stale.</summary>
    private void ConfirmNeighbours()
    {
        _stack.Arp[0].GetOrAdd(_options.GatewayIp)?.Confirm(s_peerMac, _context.Now);
        _stack.Nd[0].GetOrAdd(_options.GatewayIp6)?.Confirm(s_peerMac, _context.Now);
    }

    /// <summary>The IP packet in a frame the stack sent, or null for one packetdrill should not see (ARP, neighbour discovery, MLD).</summary>
    private byte[]? IpPacketOf(PacketBuffer head)
    {
        byte[] frame = new byte[Pool.Metadata(head).PacketLength];
        int at = 0;
        for (int index = head.Index; index >= 0; index = Pool.Metadata(new PacketBuffer(index)).Next)
        {
            Span<byte> data = Pool.Data(new PacketBuffer(index));
            data.CopyTo(frame.AsSpan(at));
            at += data.Length;
        }
        if (!EthernetFrame.TryCreate(frame, out EthernetFrame eth))
            return null;
        ReadOnlySpan<byte> ip = frame.AsSpan(EthernetFrame.FixedLength);
        switch (eth.EtherType)
        {
            case EtherType.Ipv4:
                // Trimmed to the IP length: a short frame carries padding to Ethernet's minimum.
                return Ipv4Packet.TryCreate(frame.AsSpan(EthernetFrame.FixedLength), out Ipv4Packet v4) && v4.Protocol != IpProtocol.Igmp ? ip[..v4.TotalLength].ToArray() : null;
            case EtherType.Ipv6:
                if (!Ipv6Packet.TryCreate(frame.AsSpan(EthernetFrame.FixedLength), out Ipv6Packet v6))
                    return null;
                ip = ip[..(Ipv6Packet.FixedLength + v6.PayloadLength)];
                if (v6.NextHeader is IpProtocol.Tcp or IpProtocol.Udp)
                    return ip.ToArray();
                // ICMPv6 errors (types below 128) are the script's business; ND and MLD are the link's.
                return v6.NextHeader == IpProtocol.Icmpv6 && Icmpv6Packet.TryCreate(frame.AsSpan(EthernetFrame.FixedLength + Ipv6Packet.FixedLength), out Icmpv6Packet icmp) && (byte)icmp.Type < 128 ? ip.ToArray() : null;
            default:
                return null;
        }
    }
}

/// <summary>An IP packet the stack sent, and when (engine nanoseconds).</summary>
internal readonly record struct OutboundPacket(byte[] Ip, long Time);
