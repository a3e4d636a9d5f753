using System.Globalization;
using Dataplane.Buffers;
using Dataplane.Drivers.Memory;
using Dataplane.Engine;
using Dataplane.Ports;
using Dataplane.Stack;
using Dataplane.Stack.Routing;
using Dataplane.Stack.Transport;
using Dataplane.Stack.Transport.Tcp;
using Dataplane.Wire;

using Dataplane.Tests.Stack;

namespace Dataplane.Tests.Simulation;

/// <summary>
/// One interface of a simulated node: its addresses as the config writes them (<c>10.10.11.1/24</c>,
/// <c>fdd7:e83e:66bd:1011::1/64</c>; null for none) and its MTU.
/// </summary>
/// <remarks>With <c>Tso</c>, the port cuts TCP super-frames the stack sends (as a NIC with TSO does), so the host's TCP sends super-segments.</remarks>
internal sealed record NodeInterface(string? Inet, string? Inet6, int Mtu = 1500, bool Tso = false);

/// <summary>The default routes of a node: through <c>Inet</c> and <c>Inet6</c> on port <c>Port</c>.</summary>
internal sealed record DefaultGateway(int Port, string Inet, string Inet6);

/// <summary>
/// A host or router of the simulation: a whole stack (NetworkStack and one StackWorker) with its own
/// buffer pool, cache, timer wheel and seeded Random, over memory ports whose far ends the simulation
/// drains. It runs only when the simulation gives it a turn: <see cref="BeginTurn"/> sets its clock,
/// frames go in through <see cref="Receive"/> and the test's actions run, then <see cref="EndTurn"/>
/// runs its due timers and flushes, as one turn of the worker loop does (receive, then timers,
/// then flush). Frames cross a link as bytes: each node's pool is its own, so what a node holds
/// after a run is what it leaked.
/// </summary>
internal sealed class SimulatedNode
{
    private readonly SimulatedNetwork _network;
    private readonly MemoryQueue[] _wire;
    private readonly PacketBuffer[] _burst = new PacketBuffer[64];
    private StackProcessor _processor;

    // The routing tables of the configurations built so far. A table is a 32 MiB tbl24 that takes
    // tens of milliseconds to build; a run never changes it, so the runs of one configuration share it.
    private static readonly Dictionary<string, Routes> s_routes = [];
    private static readonly Lock s_routesGate = new();

    internal SimulatedNode(SimulatedNetwork network, int index, string name, IReadOnlyList<NodeInterface> interfaces, DefaultGateway? gateway, bool forwarding, int poolBuffers, int seed)
    {
        _network = network;
        Index = index;
        Name = name;
        Pool = new BufferPool(poolBuffers);
        Cache = new BufferCache(Pool);
        var nets = new NetInterface[interfaces.Count];
        var transmit = new QueuePoller?[interfaces.Count];
        _wire = new MemoryQueue[interfaces.Count];
        for (int i = 0; i < interfaces.Count; i++)
        {
            (MemoryPort ours, MemoryPort wire) = MemoryPort.CreatePair($"{name}.{i}", $"{name}.{i}-wire", queues: 1, ringSize: 1024);
            ours.Start();
            wire.Start();
            _wire[i] = wire.Queue(0);
            transmit[i] = new MemoryQueuePath(ours.Queue(0));
            NodeInterface n = interfaces[i];
            // A MAC address per node and port (locally administered): memory pairs all share two.
            var mac = MacAddress.FromUInt64(0x02_5E_00_00_00_00UL | (ulong)(uint)(index + 1) << 8 | (uint)i);
            nets[i] = new NetInterface(i, $"p{i}", mac, n.Mtu, n.Tso ? PortCapabilities.Tso : PortCapabilities.None,
                n.Inet is null ? [] : [Inet(n.Inet)], n.Inet6 is null ? [] : [Inet6(n.Inet6)]);
        }
        Stack = NewStack(nets, interfaces, gateway, forwarding);
        Context = new WorkerContext(0, Pool, Cache, new TimerWheel(network.Now), transmit)
        {
            Now = network.Now,
            Random = new Random(seed),
        };
        Worker = new StackWorker(Stack, Context);
        _processor = new StackProcessor(Worker);
        NextTimer = Context.Timers.NextExpiry;
    }

    /// <summary>The node's number in its simulation.</summary>
    public int Index { get; }

    /// <summary>What the trace calls it.</summary>
    public string Name { get; }

    /// <summary>The node's packet memory, its own.</summary>
    public BufferPool Pool { get; }

    /// <summary>The worker's buffer cache; frames that arrive are allocated from it too.</summary>
    public BufferCache Cache { get; }

    /// <summary>The shared half of the stack: interfaces, routes, neighbour caches.</summary>
    public NetworkStack Stack { get; }

    /// <summary>The worker's context: clock, timers, transmit bursts.</summary>
    public WorkerContext Context { get; }

    /// <summary>The stack's one worker.</summary>
    public StackWorker Worker { get; }

    /// <summary>The stack's counters (netstat -s).</summary>
    public StackCounters Counters => Worker.Counters;

    /// <summary>The worker's UDP sockets, where apps start.</summary>
    public UdpSocketTable Udp => Worker.Udp;

    /// <summary>The worker's TCP sockets, where TCP apps start.</summary>
    public TcpSocketTable Tcp => Worker.Tcp;

    /// <summary>When the node's earliest timer fires; long.MaxValue when none is armed.</summary>
    public long NextTimer { get; private set; }

    /// <summary>TCP super-frames the stack sent for a port to cut (TSO), cut before they met the link.</summary>
    public long SuperFramesSent { get; private set; }

    /// <summary>Frames that arrived when the pool had no buffer left (a NIC's missed count).</summary>
    public long ReceiveNoBuffer { get; private set; }

    /// <summary>Buffers neither free in the pool nor in the cache: what the stack holds (or leaked).</summary>
    public int BuffersOutstanding => Pool.Count - Pool.Shared.Count - Cache.Count;

    /// <summary>The MAC address of port <paramref name="port"/>.</summary>
    public MacAddress Mac(int port) => Stack.Interfaces[port].Mac;

    /// <summary>The first IPv4 address of port <paramref name="port"/>.</summary>
    public Ipv4Address Address(int port) => Stack.Interfaces[port].Ipv4[0].Address;

    /// <summary>The first configured (not link-local) IPv6 address of port <paramref name="port"/>.</summary>
    public Ipv6Address Address6(int port) => Stack.Interfaces[port].Ipv6[1].Address;

    /// <summary>True when <paramref name="address"/> is one of the node's addresses.</summary>
    public bool Owns(Ipv4Address address) => Stack.Interfaces.Any(i => i.Ipv4.Any(a => a.Address == address));

    /// <summary>True when <paramref name="address"/> is one of the node's IPv6 addresses (link-local ones too).</summary>
    public bool Owns(in Ipv6Address address)
    {
        foreach (NetInterface iface in Stack.Interfaces)
        {
            if (iface.Find(address) is not null)
                return true;
        }
        return false;
    }

    /// <summary>Starts <paramref name="app"/> on the node's worker; it must bind.</summary>
    public T Start<T>(T app) where T : UdpApp
    {
        Assert.Equal(UdpError.None, Udp.Start(app));
        return app;
    }

    /// <summary>Starts the TCP app <paramref name="app"/> on the node's worker; it must start.</summary>
    public T StartTcp<T>(T app) where T : TcpApp
    {
        Assert.Equal(TcpError.None, Tcp.Start(app));
        return app;
    }

    /// <summary>A sum of counters of the node, for checks around one frame's input.</summary>
    public long Sum(params ReadOnlySpan<(CounterGroup Group, int Counter)> counters)
    {
        long sum = 0;
        foreach ((CounterGroup group, int counter) in counters)
            sum += Counters.Of(group)[counter];
        return sum;
    }

    /// <summary>Every counter of the node in one array: the trace folds it in at the end of a run.</summary>
    public long[] AllCounters() =>
        [.. Counters.Ether, .. Counters.Offload, .. Counters.Arp, .. Counters.Ip, .. Counters.Icmp, .. Counters.Ip6, .. Counters.Icmp6, .. Counters.Udp, .. Counters.Tcp,
         Context.Counters.Dropped, Context.Counters.Transmitted, Context.Counters.TransmitDrops, ReceiveNoBuffer, BuffersOutstanding];

    /// <summary>Opens a turn of the worker loop at <paramref name="now"/>.</summary>
    internal void BeginTurn(long now)
    {
        Context.Now = now;
        Context.BeginTurn();
    }

    /// <summary>Hands <paramref name="frame"/> to the stack as received on <paramref name="port"/>; false when no buffer was free.</summary>
    internal bool Receive(int port, ReadOnlySpan<byte> frame)
    {
        if (frame.Length > Pool.DataRoom || !Cache.TryAllocate(out PacketBuffer buffer))
        {
            ReceiveNoBuffer++;
            return false;
        }
        ref BufferMetadata m = ref Pool.Metadata(buffer);
        m.DataLength = (ushort)frame.Length;
        m.PacketLength = frame.Length;
        m.Offload = OffloadFlags.None; // nothing vouches for a checksum: the wire may have flipped bits
        m.Port = (ushort)port;
        frame.CopyTo(Pool.Data(buffer));
        Worker.Input(port, buffer);
        return true;
    }

    /// <summary>Closes the turn: runs the timers due by now, flushes, and puts what the stack sent on the links. Returns the timers fired.</summary>
    internal int EndTurn()
    {
        int fired = Context.Timers.Advance(Context.Now, ref _processor);
        Context.FlushAll();
        for (int port = 0; port < _wire.Length; port++)
        {
            int n;
            while ((n = _wire[port].Receive(_burst)) > 0)
            {
                for (int i = 0; i < n; i++)
                {
                    byte[] frame = Bytes(_burst[i]);
                    ref BufferMetadata m = ref Pool.Metadata(_burst[i]);
                    bool super = m.Gso is GsoType.TcpV4 or GsoType.TcpV6;
                    int segmentSize = m.SegmentSize;
                    Cache.Release(_burst[i]);
                    if (!super)
                    {
                        _network.Transmit(this, port, frame);
                        continue;
                    }
                    // The port cuts it (TSO), and each segment meets the link on its own.
                    SuperFramesSent++;
                    foreach (byte[] piece in Frames.CutTcpSuperFrame(frame, segmentSize))
                        _network.Transmit(this, port, piece);
                }
            }
        }
        NextTimer = Context.Timers.NextExpiry;
        return fired;
    }

    /// <inheritdoc/>
    public override string ToString() => Name;

    private byte[] Bytes(PacketBuffer head)
    {
        byte[] frame = new byte[Pool.Metadata(head).PacketLength];
        int at = 0;
        for (int index = head.Index; index >= 0; index = Pool.Metadata(new PacketBuffer(index)).Next)
        {
            Span<byte> data = Pool.Data(new PacketBuffer(index));
            data.CopyTo(frame.AsSpan(at));
            at += data.Length;
        }
        Assert.Equal(frame.Length, at);
        return frame;
    }

    /// <summary>The stack over <paramref name="nets"/>, on the routing table of its configuration: built by the first stack of it, shared by the others.</summary>
    private static NetworkStack NewStack(NetInterface[] nets, IReadOnlyList<NodeInterface> interfaces, DefaultGateway? gateway, bool forwarding)
    {
        string configuration = string.Join(' ', interfaces.Select(i => $"{i.Inet},{i.Inet6}")) + $" via {gateway}";
        lock (s_routesGate)
        {
            if (s_routes.TryGetValue(configuration, out Routes? routes))
                return new NetworkStack(nets, forwarding, routes);
            var stack = new NetworkStack(nets, forwarding);
            if (gateway is not null)
            {
                Assert.Equal(RouteChange.Added, stack.Routes.Add(Ipv4Address.Any, 0, new NextHop4(gateway.Port, Inet(gateway.Inet + "/32").Address, RouteOrigin.Static)));
                Assert.Equal(RouteChange.Added, stack.Routes.Add(Ipv6Address.Any, 0, new NextHop6(gateway.Port, Inet6(gateway.Inet6 + "/128").Address, RouteOrigin.Static)));
            }
            s_routes.Add(configuration, stack.Routes);
            return stack;
        }
    }

    private static InterfaceAddress4 Inet(string text)
    {
        string[] parts = text.Split('/');
        return new InterfaceAddress4(Ipv4Address.TryParse(parts[0], out Ipv4Address a) ? a : throw new ArgumentException(text), int.Parse(parts[1], CultureInfo.InvariantCulture));
    }

    private static InterfaceAddress6 Inet6(string text)
    {
        string[] parts = text.Split('/');
        return new InterfaceAddress6(Ipv6Address.TryParse(parts[0], out Ipv6Address a) ? a : throw new ArgumentException(text), int.Parse(parts[1], CultureInfo.InvariantCulture));
    }
}
