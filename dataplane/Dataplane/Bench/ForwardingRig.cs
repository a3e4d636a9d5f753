using Dataplane.Buffers;
using Dataplane.Drivers.Memory;
using Dataplane.Engine;
using Dataplane.Native;
using Dataplane.Stack;
using Dataplane.Stack.Routing;
using Dataplane.Wire;

namespace Dataplane.Bench;

/// <summary>The address family of the forwarding rig's frames.</summary>
internal enum ForwardingFamily
{
    /// <summary>IPv4 + UDP.</summary>
    Ipv4,

    /// <summary>IPv6 + UDP.</summary>
    Ipv6,
}

/// <summary>
/// IP forwarding through the whole stack, measured on whatever runs it: the shipped binary
/// (<c>dataplane bench forward</c>) or the JIT (perf/Dataplane.Benchmarks, ForwardingBenchmarks).
/// A router of two memory ports whose every packet goes through the per-core loop,
/// <see cref="StackWorker.Input"/>, IPv4 or IPv6 validation, a route lookup in a table of 1,000
/// routes (besides the connected routes and a default), the TTL or hop limit decrement (with the
/// IPv4 checksum update), the neighbour lookup, the MAC rewrite and the transmit burst. 64-byte
/// frames: IPv4 is 14 + 20 + 8 + 22 bytes of UDP data; IPv6 at its smallest is 14 + 40 + 8 = 62
/// bytes and carries 2 bytes of UDP data to make 64.
/// <para>
/// The two ports are one memory pair cabled back to back, so what the router sends out of one port
/// it receives on the other: every route leads to a gateway whose MAC address is the router's
/// other port, and each frame goes round and round, forwarded once per turn (one ring hop per
/// packet). Routes alternate between the two ports, and each worker keeps 1,024 frames in flight,
/// half each way, to destinations spread over the 1,000 routes. Frames carry an RSS hash that lands
/// each on the worker whose queue it is in, and no checksum-verified flag, so the stack checks
/// every IPv4 header checksum in software. The TTL falls by one per turn: every 100 turns of its
/// frames a worker gives them their TTL back (1,024 header writes per ~100,000 packets, inside the
/// measurement). Neighbours are resolved before measuring, and the setup and
/// <see cref="Dispose"/> check that every packet was forwarded and none dropped.
/// </para>
/// </summary>
internal sealed class ForwardingRig : IDisposable
{
    private const int FramesInFlight = 1024; // per worker, half out of each port
    private const int FrameLength = 64;
    private const int RouteCount = 1000;
    private const int GatewaysPerPort = 16;
    private const byte StartTtl = 255;
    private const int TurnsBetweenRefresh = 100;

    private static readonly Ipv4Address Source4 = new(198, 18, 0, 1); // RFC 2544's benchmarking range
    private static readonly Ipv6Address Source6 = Address6("2001:2::1"); // RFC 5180's

    private readonly int _workers;
    private readonly ForwardingFamily _family;
    private readonly int[]? _cpus;
    private readonly BufferPool _pool;
    private readonly MemoryPort[] _ports;
    private readonly NetworkStack _stack;
    private readonly StackWorker[] _stackWorkers;
    private readonly PacketEngine<StackProcessor> _engine;
    private readonly PacketBuffer[][] _refreshBurst;
    private readonly long[] _nextRefresh;
    private readonly Thread[] _helpers;
    private readonly long[] _allocated; // bytes each worker's thread allocated in its last Forward, written by that thread
    private readonly SemaphoreSlim[] _go;
    private readonly SemaphoreSlim[] _done;
    private readonly long _checkedDrops;
    private volatile bool _stopping;
    private long _perWorker;
    private bool _disposed;

    /// <summary>
    /// The router with <paramref name="workers"/> workers, its routes and neighbours, the frames in
    /// flight; then a warm-up (2.5 s: the stack's own announcements pass) that checks every packet
    /// is forwarded. With <paramref name="cpus"/>, worker w runs pinned to <c>cpus[w]</c>, worker 0
    /// on the thread that calls <see cref="Forward"/>.
    /// </summary>
    public ForwardingRig(int workers, ForwardingFamily family, int[]? cpus = null)
    {
        _allocated = new long[workers];
        ArgumentOutOfRangeException.ThrowIfLessThan(workers, 1);
        if (cpus is not null && cpus.Length < workers)
            throw new ArgumentException($"{workers} workers need {workers} CPUs, {cpus.Length} given", nameof(cpus));
        _workers = workers;
        _family = family;
        _cpus = cpus;
        _pool = new BufferPool(FramesInFlight * workers + 4096);
        (MemoryPort left, MemoryPort right) = MemoryPort.CreatePair("p0", "p1", workers, ringSize: 2 * FramesInFlight);
        _ports = [left, right];
        var interfaces = new NetInterface[]
        {
            new(0, "p0", left.Mac, 1500, left.Capabilities, [new(new Ipv4Address(10, 10, 11, 2), 24)], [new(Address6("fdd7:e83e:66bd:1011::2"), 64)]),
            new(1, "p1", right.Mac, 1500, right.Capabilities, [new(new Ipv4Address(10, 10, 12, 3), 24)], [new(Address6("fdd7:e83e:66bd:1012::3"), 64)]),
        };
        _stack = new NetworkStack(interfaces, forwarding: true);
        var random = new Random(1998);
        (Route4[] routes4, Route6[] routes6) = AddRoutes(random);
        ResolveNeighbours();

        var stackWorkers = new StackWorker[workers];
        _stackWorkers = stackWorkers;
        _engine = new PacketEngine<StackProcessor>(
            _pool,
            Enumerable.Range(0, workers).ToArray(),
            [
                new PortBinding(left, (q, _) => new MemoryQueuePath(left.Queue(q))),
                new PortBinding(right, (q, _) => new MemoryQueuePath(right.Queue(q))),
            ],
            context =>
            {
                var worker = new StackWorker(_stack, context);
                stackWorkers[context.Index] = worker;
                return new StackProcessor(worker);
            });
        left.Start();
        right.Start();

        var cache = new BufferCache(_pool, size: 512, burst: 64);
        _refreshBurst = new PacketBuffer[workers][];
        _nextRefresh = new long[workers];
        for (int q = 0; q < workers; q++)
        {
            _refreshBurst[q] = new PacketBuffer[FramesInFlight + 1];
            _nextRefresh[q] = (long)TurnsBetweenRefresh * FramesInFlight;
            PlaceFrames(cache, q, random, routes4, routes6);
        }

        // Worker 0 announces our addresses at 0, 1 and 2 s (gratuitous ARP, DAD): let that pass,
        // then check that a further 20 turns of every frame are all forwarded.
        long until = EngineClock.Nanoseconds() + 2_500_000_000;
        while (EngineClock.Nanoseconds() < until)
        {
            for (int w = 0; w < workers; w++)
                Spin(w, 10 * FramesInFlight);
        }
        long[] before = [.. _stackWorkers.Select(Forwarded)];
        long drops = Drops();
        for (int w = 0; w < workers; w++)
            Spin(w, 20 * FramesInFlight);
        for (int w = 0; w < workers; w++)
        {
            long forwarded = Forwarded(_stackWorkers[w]) - before[w];
            if (forwarded < 20 * FramesInFlight)
                throw new InvalidOperationException($"worker {w}: {forwarded} of {20 * FramesInFlight} packets forwarded; the stack dropped or delivered the rest");
        }
        CheckFramesInFlight(drops);
        _checkedDrops = Drops();

        _go = new SemaphoreSlim[workers];
        _done = new SemaphoreSlim[workers];
        _helpers = new Thread[workers];
        for (int w = 1; w < workers; w++)
        {
            int index = w;
            _go[w] = new SemaphoreSlim(0);
            _done[w] = new SemaphoreSlim(0);
            _helpers[w] = new Thread(() => Help(index)) { IsBackground = true, Name = $"forwarding worker {w}" };
            _helpers[w].Start();
        }
        if (_cpus is not null)
            CurrentThread.PinToCpu(_cpus[0]);
    }

    /// <summary>Worker cores.</summary>
    public int Workers => _workers;

    /// <summary>The frames' address family.</summary>
    public ForwardingFamily Family => _family;

    /// <summary>
    /// Forwards <paramref name="packets"/> packets, packet by packet through the per-core loop and
    /// the stack, shared evenly by the workers: worker 0 on this thread, the others on theirs.
    /// Returns the packets worker 0 has received in all (a result the caller can keep alive).
    /// </summary>
    public long Forward(long packets)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        // Keep the neighbours reachable (they would go stale after 30 s, and be asked about again).
        long now = EngineClock.Nanoseconds();
        for (int p = 0; p < _ports.Length; p++)
        {
            foreach (var entry in _stack.Arp[p].Entries)
                entry.Confirm(entry.Mac, now);
            foreach (var entry in _stack.Nd[p].Entries)
                entry.Confirm(entry.Mac, now);
        }
        _perWorker = packets / _workers;
        for (int w = 1; w < _workers; w++)
            _go[w].Release();
        Spin(0, _perWorker);
        for (int w = 1; w < _workers; w++)
            _done[w].Wait();
        return _engine.Workers[0].Context.Counters.Received;
    }

    /// <summary>
    /// The managed bytes the workers' threads allocated while forwarding in the last
    /// <see cref="Forward"/>, each counted on its own thread: what the per-packet path allocated,
    /// and nothing that other threads of the process (a test host's other tests) allocated meanwhile.
    /// </summary>
    public long AllocatedBytes
    {
        get
        {
            long sum = 0;
            foreach (long bytes in _allocated)
                sum += bytes;
            return sum;
        }
    }

    /// <summary>Stops the helper threads, and throws if a packet was dropped while measuring.</summary>
    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        _stopping = true;
        for (int w = 1; w < _workers; w++)
        {
            _go[w].Release();
            _helpers[w].Join();
        }
        CheckFramesInFlight(_checkedDrops);
    }

    private void Help(int w)
    {
        if (_cpus is not null)
            CurrentThread.PinToCpu(_cpus[w]);
        while (true)
        {
            _go[w].Wait();
            if (_stopping)
                return;
            Spin(w, _perWorker);
            _done[w].Release();
        }
    }

    private void Spin(int w, long packets)
    {
        Worker<StackProcessor> worker = _engine.Workers[w];
        WorkerCounters counters = worker.Context.Counters;
        long target = counters.Received + packets;
        long allocated = GC.GetAllocatedBytesForCurrentThread();
        while (counters.Received < target)
        {
            worker.RunOnce();
            if (counters.Received >= _nextRefresh[w])
            {
                Refresh(w);
                _nextRefresh[w] = counters.Received + (long)TurnsBetweenRefresh * FramesInFlight;
            }
        }
        _allocated[w] = GC.GetAllocatedBytesForCurrentThread() - allocated;
    }

    /// <summary>
    /// Takes worker <paramref name="w"/>'s frames out of the rings (they are all there between two
    /// turns of the loop), gives them their TTL back and puts them back; returns how many there were.
    /// </summary>
    private int Refresh(int w)
    {
        int total = 0;
        PacketBuffer[] burst = _refreshBurst[w];
        for (int p = 0; p < _ports.Length; p++)
        {
            // The frames port p receives are in its ring, which the other end of the pair fills.
            MemoryQueue receive = _ports[p].Queue(w);
            MemoryQueue fill = _ports[1 - p].Queue(w);
            int n = receive.Receive(burst);
            if (n == burst.Length)
                throw new InvalidOperationException($"worker {w}: more frames in flight than were sent");
            for (int i = 0; i < n; i++)
            {
                // Only our frames: the stack's own announcements may be on their way too.
                Span<byte> frame = _pool.Data(burst[i]);
                Span<byte> l3 = frame[EthernetFrame.FixedLength..];
                var type = (EtherType)System.Buffers.Binary.BinaryPrimitives.ReadUInt16BigEndian(frame[12..]);
                if (type == EtherType.Ipv4 && Ipv4Packet.TryCreate(l3, out Ipv4Packet ip))
                    ip.SetTimeToLiveUpdatingHeaderChecksum(StartTtl);
                else if (type == EtherType.Ipv6 && l3[6] == (byte)IpProtocol.Udp)
                    l3[7] = StartTtl; // the hop limit; no checksum covers it
            }
            if (fill.Transmit(burst.AsSpan(0, n)) != n)
                throw new InvalidOperationException($"worker {w}: the ring refused frames back");
            total += n;
        }
        return total;
    }

    private void CheckFramesInFlight(long dropsBefore)
    {
        long drops = Drops() - dropsBefore;
        if (drops != 0)
            throw new InvalidOperationException($"{drops} packets dropped while forwarding (see the stack's counters)");
        for (int w = 0; w < _workers; w++)
        {
            int n = Refresh(w);
            if (n != FramesInFlight)
                throw new InvalidOperationException($"worker {w}: {n} frames in flight, {FramesInFlight} sent");
        }
    }

    private long Drops()
    {
        long drops = 0;
        foreach (Worker<StackProcessor> worker in _engine.Workers)
        {
            WorkerCounters c = worker.Context.Counters;
            drops += c.Dropped + c.TransmitDrops + c.HandOffDrops;
        }
        return drops;
    }

    private long Forwarded(StackWorker worker) => _family == ForwardingFamily.Ipv4
        ? worker.Counters.Ip[(int)IpCounter.Forwarded]
        : worker.Counters.Ip6[(int)Ip6Counter.Forwarded];

    /// <summary>
    /// 1,000 routes of each family to gateways on the two ports in turn, and a default out of port
    /// 1. IPv4: /8 to /32 (a fifth longer than /24) in unicast space away from the connected
    /// 10.10.0.0/16; IPv6: /48 to /128 in 2001:db8::/32, as in <see cref="RoutingBenchmarks"/>.
    /// </summary>
    private (Route4[], Route6[]) AddRoutes(Random random)
    {
        var v4 = new Dictionary<(uint, int), Route4>();
        while (v4.Count < RouteCount)
        {
            int length = random.Next(5) == 0 ? random.Next(25, 33) : random.Next(8, 25);
            uint network = (uint)random.NextInt64(0, 1L << 32) & Ipv4LpmTable.Mask(length);
            uint first = network >> 24;
            if (first is 0 or 10 or 127 or >= 224)
                continue;
            int port = v4.Count & 1;
            v4.TryAdd((network, length), new Route4(Ipv4Address.FromUInt32(network), length, new NextHop4(port, Gateway4(port, random.Next(GatewaysPerPort)), RouteOrigin.Static)));
        }
        Route4[] routes4 = [.. v4.Values];
        Routes routes = _stack.Routes;
        Check(routes.AddMany(routes4, out _));
        Check(routes.Add(Ipv4Address.Any, 0, new NextHop4(1, Gateway4(1, 0), RouteOrigin.Static)));

        int[] lengths6 = [48, 56, 64, 64, 64, 128];
        var v6 = new Dictionary<(Ipv6Key, int), Route6>();
        while (v6.Count < RouteCount)
        {
            int length = lengths6[random.Next(lengths6.Length)];
            Ipv6Key network = new Ipv6Key(0x2001_0db8_0000_0000UL | (ulong)random.Next(1 << 20) << 8, (ulong)random.NextInt64()).And(Ipv6Key.Mask(length));
            int port = v6.Count & 1;
            v6.TryAdd((network, length), new Route6(network.ToAddress(), length, new NextHop6(port, Gateway6(port, random.Next(GatewaysPerPort)), RouteOrigin.Static)));
        }
        Route6[] routes6 = [.. v6.Values];
        Check(routes.AddMany(routes6, out _));
        Check(routes.Add(Ipv6Address.Any, 0, new NextHop6(1, Gateway6(1, 0), RouteOrigin.Static)));
        return (routes4, routes6);

        static void Check(RouteChange change)
        {
            if (change != RouteChange.Added)
                throw new InvalidOperationException($"the routing table refused the routes: {change}");
        }
    }

    /// <summary>
    /// The gateways of each port answer with the MAC address of the router's other port, where
    /// the memory pair delivers what the port sends; confirmed through the stack's neighbour tables.
    /// </summary>
    private void ResolveNeighbours()
    {
        long now = EngineClock.Nanoseconds();
        for (int port = 0; port < 2; port++)
        {
            MacAddress other = _stack.Interfaces[1 - port].Mac;
            for (int g = 0; g < GatewaysPerPort; g++)
            {
                _stack.Arp[port].GetOrAdd(Gateway4(port, g))!.Confirm(other, now);
                _stack.Nd[port].GetOrAdd(Gateway6(port, g))!.Confirm(other, now);
            }
        }
    }

    /// <summary>
    /// Worker <paramref name="q"/>'s frames: destinations drawn from the routes in turn (a random
    /// host inside each), half of them routed out of each port, each put in the ring of the port
    /// it will arrive on, addressed as the router's other port would have sent it.
    /// </summary>
    private void PlaceFrames(BufferCache cache, int q, Random random, Route4[] routes4, Route6[] routes6)
    {
        RoutingTable table = _stack.Routes.Current;
        var frames = new PacketBuffer[2][];
        var counts = new int[2];
        frames[0] = new PacketBuffer[FramesInFlight / 2];
        frames[1] = new PacketBuffer[FramesInFlight / 2];
        for (int i = 0; counts[0] + counts[1] < FramesInFlight; i++)
        {
            int output;
            Ipv4Address destination4 = default;
            Ipv6Address destination6 = default;
            if (_family == ForwardingFamily.Ipv4)
            {
                Route4 route = routes4[i % routes4.Length];
                uint host = (uint)random.NextInt64(0, 1L << 32) & ~Ipv4LpmTable.Mask(route.PrefixLength);
                destination4 = Ipv4Address.FromUInt32(route.Network.ToUInt32() | host);
                if (!table.TryLookup(destination4, out NextHop4 hop))
                    throw new InvalidOperationException($"no route to {destination4}");
                output = hop.Interface;
            }
            else
            {
                Route6 route = routes6[i % routes6.Length];
                Ipv6Key network = Ipv6Key.From(route.Network);
                Ipv6Key host = new Ipv6Key((ulong)random.NextInt64(), (ulong)random.NextInt64()).And(Invert(Ipv6Key.Mask(route.PrefixLength)));
                destination6 = new Ipv6Key(network.High | host.High, network.Low | host.Low).ToAddress();
                if (!table.TryLookup(destination6, out NextHop6 hop))
                    throw new InvalidOperationException($"no route to {destination6}");
                output = hop.Interface;
            }
            if (counts[output] == FramesInFlight / 2)
                continue; // keep the two directions even
            if (!cache.TryAllocate(out PacketBuffer buffer))
                throw new InvalidOperationException("the pool ran out of buffers");
            int arrival = 1 - output;
            WriteFrame(buffer, q, _stack.Interfaces[arrival].Mac, _stack.Interfaces[output].Mac, destination4, destination6);
            frames[output][counts[output]++] = buffer;
        }
        for (int output = 0; output < 2; output++)
        {
            // Sent out of port `output`, the frames arrive on the other port: its ring is the one
            // port `output`'s queue transmits into.
            if (_ports[output].Queue(q).Transmit(frames[output]) != frames[output].Length)
                throw new InvalidOperationException("a ring refused the frames");
        }

        static Ipv6Key Invert(Ipv6Key k) => new(~k.High, ~k.Low);
    }

    private void WriteFrame(PacketBuffer buffer, int q, MacAddress destinationMac, MacAddress sourceMac, Ipv4Address destination4, in Ipv6Address destination6)
    {
        ref BufferMetadata m = ref _pool.Metadata(buffer);
        m.DataLength = FrameLength;
        m.PacketLength = FrameLength;
        m.RssHash = (uint)q; // the RSS indirection table sends hash q to worker q
        m.Offload = OffloadFlags.RssHashValid;
        Span<byte> f = _pool.Data(buffer)[..FrameLength];
        f.Clear();
        Span<byte> l3 = f[EthernetFrame.FixedLength..];
        if (_family == ForwardingFamily.Ipv4)
        {
            new EthernetFrame.Repr { Destination = destinationMac, Source = sourceMac, EtherType = EtherType.Ipv4 }.Emit(f);
            new Ipv4Packet.Repr
            {
                Version = 4, Ihl = 5, TotalLength = (ushort)l3.Length, Identification = (ushort)q, Flags = Ipv4Flags.DontFragment,
                TimeToLive = StartTtl, Protocol = IpProtocol.Udp, Source = Source4, Destination = destination4,
            }.Emit(l3);
            Ipv4Packet.TryCreate(l3, out Ipv4Packet ip);
            ip.FillHeaderChecksum();
            Span<byte> udp = l3[Ipv4Packet.FixedLength..];
            new UdpDatagram.Repr { SourcePort = 40000, DestinationPort = 9, Length = (ushort)udp.Length }.Emit(udp);
            UdpDatagram.TryCreate(udp, out UdpDatagram datagram);
            datagram.FillChecksum(Source4, destination4);
        }
        else
        {
            new EthernetFrame.Repr { Destination = destinationMac, Source = sourceMac, EtherType = EtherType.Ipv6 }.Emit(f);
            int payload = l3.Length - Ipv6Packet.FixedLength;
            new Ipv6Packet.Repr { Version = 6, PayloadLength = (ushort)payload, NextHeader = IpProtocol.Udp, HopLimit = StartTtl, Source = Source6, Destination = destination6 }.Emit(l3);
            Span<byte> udp = l3[Ipv6Packet.FixedLength..];
            new UdpDatagram.Repr { SourcePort = 40000, DestinationPort = 9, Length = (ushort)payload }.Emit(udp);
            UdpDatagram.TryCreate(udp, out UdpDatagram datagram);
            datagram.FillChecksum(Source6, destination6);
        }
    }

    private static Ipv4Address Gateway4(int port, int g) => new(10, 10, (byte)(11 + port), (byte)(10 + g));

    private static Ipv6Address Gateway6(int port, int g) => new Ipv6Key(0xFE80UL << 48, 0x0200_0000_0000_0000UL | (uint)(port << 8 | (10 + g))).ToAddress();

    private static Ipv6Address Address6(string text) => Ipv6Address.TryParse(text, out Ipv6Address a) ? a : throw new ArgumentException(text);
}
