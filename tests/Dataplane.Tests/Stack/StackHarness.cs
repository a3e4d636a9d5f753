using Dataplane.Buffers;
using Dataplane.Drivers.Memory;
using Dataplane.Engine;
using Dataplane.Ports;
using Dataplane.Stack;
using Dataplane.Stack.Transport;
using Dataplane.Stack.Transport.Tcp;
using Dataplane.Wire;

namespace Dataplane.Tests.Stack;

/// <summary>
/// One StackWorker, worker <c>worker</c> of <c>workers</c>, over memory ports, driven by hand: frames
/// go in through <see cref="Receive(int, ReadOnlySpan{byte}, OffloadFlags)"/> (each a burst of one,
/// flushed), what the stack sends comes out of <see cref="Sent"/>, and time moves only when
/// <see cref="Advance"/> says. Each port is a memory pair: the stack's end, and the peer's end the
/// test reads from. The worker's context carries the engine's flow hash and indirection table for
/// <c>workers</c> workers, so that what the stack decides about flow ownership can be checked. The
/// test and the worker share one buffer cache, so that <see cref="BuffersOutstanding"/> counts what
/// the stack holds.
/// </summary>
internal sealed class StackHarness
{
    /// <summary>The lab's client, on the left leg (port 0).</summary>
    public static readonly Ipv4Address Client = Addr("10.10.11.1");

    /// <summary>Our address on the left leg (port 0).</summary>
    public static readonly Ipv4Address Ours = Addr("10.10.11.2");

    /// <summary>Our address on the right leg (port 1).</summary>
    public static readonly Ipv4Address OursRight = Addr("10.10.12.3");

    /// <summary>The lab's server, on the right leg (port 1).</summary>
    public static readonly Ipv4Address Server = Addr("10.10.12.4");

    public static readonly Ipv6Address Client6 = Addr6("fdd7:e83e:66bd:1011::1");
    public static readonly Ipv6Address Ours6 = Addr6("fdd7:e83e:66bd:1011::2");
    public static readonly Ipv6Address OursRight6 = Addr6("fdd7:e83e:66bd:1012::3");
    public static readonly Ipv6Address Server6 = Addr6("fdd7:e83e:66bd:1012::4");

    /// <summary>The MAC address of the peer on every port, unless taught otherwise.</summary>
    public static readonly MacAddress PeerMac = new(0x02, 0xAA, 0, 0, 0, 0x01);

    /// <summary>The MAC address <see cref="KnowingPeers"/> gives the server, told apart from the client's.</summary>
    public static readonly MacAddress ServerMac = new(0x02, 0xAA, 0, 0, 0, 0x02);

    /// <summary>The symmetric Toeplitz hash the engine steers flows by.</summary>
    public static ToeplitzHash Hash { get; } = ToeplitzHash.CreateSymmetric();

    private readonly MemoryPort[] _peers;
    private readonly PacketBuffer[] _burst = new PacketBuffer[64];
    private StackProcessor _processor;

    /// <summary>The addresses and MTU of one interface.</summary>
    public readonly record struct Interface(InterfaceAddress4[] V4, InterfaceAddress6[] V6, int Mtu = 1500);

    /// <summary>A stack with one interface, on its own memory port, per entry of <paramref name="interfaces"/>.</summary>
    /// <remarks><paramref name="tcpBuffer"/> is <c>set tcp buffer</c>: each connection's send and receive buffer.</remarks>
    public StackHarness(IReadOnlyList<Interface> interfaces, bool forwarding = false, int poolBuffers = 4096, int worker = 0, int workers = 1, int tcpBuffer = TcpSocketTable.DefaultBuffer, PortCapabilities[]? capabilities = null)
    {
        Pool = new BufferPool(poolBuffers);
        Cache = new BufferCache(Pool);
        var nets = new NetInterface[interfaces.Count];
        var transmit = new QueuePoller?[interfaces.Count];
        _peers = new MemoryPort[interfaces.Count];
        for (int i = 0; i < interfaces.Count; i++)
        {
            (MemoryPort ours, MemoryPort peer) = MemoryPort.CreatePair($"p{i}", $"peer{i}", queues: 1, ringSize: 4096);
            ours.Start();
            peer.Start();
            _peers[i] = peer;
            transmit[i] = new MemoryQueuePath(ours.Queue(0));
            nets[i] = new NetInterface(i, $"p{i}", ours.Mac, interfaces[i].Mtu, capabilities?[i] ?? ours.Capabilities, interfaces[i].V4, interfaces[i].V6);
        }
        Stack = new NetworkStack(nets, forwarding) { TcpBuffer = tcpBuffer };
        Owners = new RssIndirectionTable(workers);
        Context = new WorkerContext(worker, Pool, Cache, new TimerWheel(Now), transmit)
        {
            Now = Now,
            FlowHash = Hash,
            FlowOwners = Owners,
        };
        Worker = new StackWorker(Stack, Context);
        _processor = new StackProcessor(Worker);
    }

    /// <summary>
    /// The lab's two-legged router: p0 <see cref="Ours"/>/24 and <see cref="Ours6"/>/64 facing the
    /// client, p1 <see cref="OursRight"/>/24 and <see cref="OursRight6"/>/64 facing the server.
    /// </summary>
    /// <remarks><paramref name="capabilities"/>: what each port's driver claims (a memory port's by default).</remarks>
    public static StackHarness Router(bool forwarding = true, int mtu0 = 1500, int mtu1 = 1500, int poolBuffers = 4096, int worker = 0, int workers = 1, int tcpBuffer = TcpSocketTable.DefaultBuffer, PortCapabilities[]? capabilities = null) => new(
        [
            new([new(Ours, 24)], [new(Ours6, 64)], mtu0),
            new([new(OursRight, 24)], [new(OursRight6, 64)], mtu1),
        ],
        forwarding, poolBuffers, worker, workers, tcpBuffer, capabilities);

    /// <summary>The router as a host (no forwarding), started, with the client and the server known: what the UDP tests run on.</summary>
    public static StackHarness Host(int worker = 0, int workers = 1, int tcpBuffer = TcpSocketTable.DefaultBuffer)
        => Router(forwarding: false, worker: worker, workers: workers, tcpBuffer: tcpBuffer).Started().KnowingPeers();

    public BufferPool Pool { get; }

    /// <summary>The buffer cache of the worker, which the test allocates from and releases to as well.</summary>
    public BufferCache Cache { get; }

    public WorkerContext Context { get; }

    public TimerWheel Timers => Context.Timers;

    public StackWorker Worker { get; }

    public NetworkStack Stack { get; }

    public StackCounters Counters => Worker.Counters;

    public UdpSocketTable Udp => Worker.Udp;

    /// <summary>The indirection table for the harness' worker count.</summary>
    public RssIndirectionTable Owners { get; }

    /// <summary>The super-frames (TSO) the stack sent, whole, with their segment size; <see cref="Sent"/> hands out their segments cut as a port cuts them.</summary>
    public List<(byte[] Frame, int SegmentSize)> SuperFrames { get; } = [];

    /// <summary>Whether <see cref="Sent"/> leaves out ARP and neighbour solicitations and advertisements.</summary>
    public bool HideNeighborDiscovery { get; set; }

    /// <summary>The engine clock the harness shows the stack, in nanoseconds.</summary>
    public long Now { get; private set; } = 1_000_000_000_000;

    /// <summary>Buffers neither free in the pool nor in the cache: held by the stack, queued to the peer, or leaked.</summary>
    public int BuffersOutstanding => Pool.Count - Pool.Shared.Count - Cache.Count;

    /// <summary>The MAC address of our end of port <paramref name="port"/>.</summary>
    public MacAddress Mac(int port) => Stack.Interfaces[port].Mac;

    /// <summary>Feeds <paramref name="frame"/> to the stack as received on <paramref name="port"/>, and flushes what it sent.</summary>
    public void Receive(int port, ReadOnlySpan<byte> frame, OffloadFlags offload = OffloadFlags.None)
        => Receive<UnknownDriverFacts>(port, frame, offload);

    /// <summary>
    /// Feeds <paramref name="frame"/> to the stack as a driver whose promises are
    /// <typeparamref name="TFacts"/> hands it up, its metadata saying <paramref name="offload"/> and
    /// <paramref name="gso"/>; flushes what the stack sent.
    /// </summary>
    public void Receive<TFacts>(int port, ReadOnlySpan<byte> frame, OffloadFlags offload = OffloadFlags.None, GsoType gso = GsoType.None)
        where TFacts : struct, IReceiveFacts
    {
        Assert.True(Cache.TryAllocate(out PacketBuffer buffer));
        ref BufferMetadata m = ref Pool.Metadata(buffer);
        m.DataLength = (ushort)frame.Length;
        m.PacketLength = frame.Length;
        m.Offload = offload;
        m.Gso = gso;
        m.Port = (ushort)port;
        frame.CopyTo(Pool.Data(buffer));
        Worker.Input<TFacts>(port, buffer);
        Context.FlushAll();
    }

    /// <summary>
    /// Feeds <paramref name="frame"/> to the stack in a chain of buffers, as a driver hands a frame
    /// longer than one buffer: <paramref name="first"/> bytes in the first (all it holds when 0),
    /// then full buffers and a last partial one. Flushes what the stack sent.
    /// </summary>
    /// <remarks>With <paramref name="noRoom"/>, the first buffer's data ends where the buffer ends: nothing can be pulled up into it.</remarks>
    public void ReceiveChained(int port, ReadOnlySpan<byte> frame, int first = 0, OffloadFlags offload = OffloadFlags.None, bool noRoom = false)
    {
        int room = Pool.DataRoom;
        first = first == 0 ? Math.Min(room, frame.Length) : first;
        PacketBuffer head = PacketBuffer.None, tail = PacketBuffer.None;
        int segments = 0;
        for (int at = 0; at < frame.Length; segments++)
        {
            int piece = Math.Min(at == 0 ? first : room, frame.Length - at);
            Assert.True(Cache.TryAllocate(out PacketBuffer buffer));
            ref BufferMetadata b = ref Pool.Metadata(buffer);
            if (noRoom && at == 0)
                b.DataOffset += (ushort)(Pool.Room(buffer).Length - piece);
            b.DataLength = (ushort)piece;
            b.PacketLength = piece;
            frame.Slice(at, piece).CopyTo(Pool.Data(buffer));
            if (head.IsValid)
                Pool.Metadata(tail).Next = buffer.Index;
            else
                head = buffer;
            tail = buffer;
            at += piece;
        }
        ref BufferMetadata m = ref Pool.Metadata(head);
        m.PacketLength = frame.Length;
        m.Segments = (byte)segments;
        m.Offload = offload;
        m.Port = (ushort)port;
        Worker.Input(port, head);
        Context.FlushAll();
    }

    /// <summary>
    /// Feeds <paramref name="frame"/> to the stack as a super-frame in a chain of full buffers, as a
    /// tap or afpacket port hands one up: its metadata of segmentation type <paramref name="gso"/>
    /// with segments of <paramref name="segmentSize"/>, checksum state <paramref name="offload"/>
    /// and, when partial, <paramref name="checksumStart"/> and <paramref name="checksumOffset"/>.
    /// Flushes what the stack sent. Allocates nothing.
    /// </summary>
    public void ReceiveSuperFrame(int port, ReadOnlySpan<byte> frame, GsoType gso, int segmentSize, OffloadFlags offload = OffloadFlags.None, int checksumStart = 0, int checksumOffset = 0)
    {
        if (!FrameChain.TryAllocate(Cache, frame.Length, out PacketBuffer head))
            throw new InvalidOperationException("the pool ran dry");
        FrameChain.Write(Pool, head, 0, frame);
        ref BufferMetadata m = ref Pool.Metadata(head);
        m.Offload = offload;
        m.Gso = gso;
        m.SegmentSize = (ushort)segmentSize;
        m.ChecksumStart = (ushort)checksumStart;
        m.ChecksumOffset = (ushort)checksumOffset;
        m.Port = (ushort)port;
        Worker.Input(port, head);
        Context.FlushAll();
    }

    /// <summary>Like <see cref="Sent"/>, with the metadata each frame left with (its offload requests: GSO, partial checksum).</summary>
    public List<(byte[] Frame, BufferMetadata Metadata)> SentWithMetadata(int port = 0)
    {
        Context.FlushAll();
        var frames = new List<(byte[], BufferMetadata)>();
        MemoryQueue queue = _peers[port].Queue(0);
        int n;
        while ((n = queue.Receive(_burst)) > 0)
        {
            for (int i = 0; i < n; i++)
            {
                byte[] frame = Bytes(_burst[i]);
                BufferMetadata m = Pool.Metadata(_burst[i]);
                Cache.Release(_burst[i]);
                if (!HideNeighborDiscovery || !Frames.IsNeighborDiscovery(frame))
                    frames.Add((frame, m));
            }
        }
        return frames;
    }

    /// <summary>Every frame given in turn.</summary>
    public void Receive(int port, IEnumerable<byte[]> frames)
    {
        foreach (byte[] frame in frames)
            Receive(port, frame);
    }

    /// <summary>
    /// Flushes the stack's bursts and takes every frame it sent on <paramref name="port"/> since the
    /// last call, whole (chains joined); without neighbour traffic if <see cref="HideNeighborDiscovery"/>.
    /// </summary>
    public List<byte[]> Sent(int port = 0)
    {
        Context.FlushAll();
        var frames = new List<byte[]>();
        MemoryQueue queue = _peers[port].Queue(0);
        int n;
        while ((n = queue.Receive(_burst)) > 0)
        {
            for (int i = 0; i < n; i++)
            {
                byte[] frame = Bytes(_burst[i]);
                ref BufferMetadata m = ref Pool.Metadata(_burst[i]);
                if (m.Gso is GsoType.TcpV4 or GsoType.TcpV6)
                {
                    // A super-frame for the port to cut (TSO): the test sees the segments the peer would.
                    Assert.Equal(OffloadFlags.L4ChecksumPartial, m.Offload & OffloadFlags.L4ChecksumPartial);
                    SuperFrames.Add((frame, m.SegmentSize));
                    Cache.Release(_burst[i]);
                    frames.AddRange(Frames.CutTcpSuperFrame(frame, m.SegmentSize));
                    continue;
                }
                Cache.Release(_burst[i]);
                if (!HideNeighborDiscovery || !Frames.IsNeighborDiscovery(frame))
                    frames.Add(frame);
            }
        }
        return frames;
    }

    /// <summary>Flushes and releases what the stack sent on <paramref name="port"/> without looking at it (allocation tests); the count.</summary>
    public int Discard(int port = 0)
    {
        Context.FlushAll();
        MemoryQueue queue = _peers[port].Queue(0);
        int total = 0, n;
        while ((n = queue.Receive(_burst)) > 0)
        {
            Cache.Release(_burst.AsSpan(0, n));
            total += n;
        }
        return total;
    }

    /// <summary>Moves the clock on, runs the timers that fell due, and flushes what they sent.</summary>
    public void Advance(TimeSpan time)
    {
        Now += (long)time.TotalNanoseconds;
        Context.Now = Now;
        Timers.Advance(Now, ref _processor);
        Context.FlushAll();
    }

    /// <summary>Runs the start-up chores (announcements, DAD) and forgets what they sent.</summary>
    public StackHarness Started()
    {
        Advance(TimeSpan.FromSeconds(3));
        for (int p = 0; p < Stack.Interfaces.Length; p++)
            Discard(p);
        return this;
    }

    /// <summary>Teaches the stack the client (at <see cref="PeerMac"/>) on port 0 and the server (at <see cref="ServerMac"/>) on port 1, both families.</summary>
    public StackHarness KnowingPeers()
    {
        KnowPeer(0, Client, PeerMac);
        KnowPeer(0, Client6, PeerMac);
        KnowPeer(1, Server, ServerMac);
        KnowPeer(1, Server6, ServerMac);
        return this;
    }

    /// <summary>Teaches the stack that <paramref name="address"/> (IPv4 or IPv6) on <paramref name="port"/> is at <see cref="PeerMac"/>.</summary>
    public void KnowPeer(int port, string address)
    {
        if (Ipv4Address.TryParse(address, out Ipv4Address v4))
            KnowPeer(port, v4, PeerMac);
        else
            KnowPeer(port, Addr6(address), PeerMac);
    }

    /// <summary>Confirms <paramref name="address"/> at <paramref name="mac"/> in the ARP table of <paramref name="port"/>, as an ARP reply would.</summary>
    public void KnowPeer(int port, Ipv4Address address, MacAddress mac) => Stack.Arp[port].GetOrAdd(address)!.Confirm(mac, Now);

    /// <summary>Confirms <paramref name="address"/> at <paramref name="mac"/> in the neighbour table of <paramref name="port"/>, as an advertisement would.</summary>
    public void KnowPeer(int port, Ipv6Address address, MacAddress mac) => Stack.Nd[port].GetOrAdd(address)!.Confirm(mac, Now);

    /// <summary>The worker the engine would hand a datagram from <paramref name="from"/> to <paramref name="to"/>.</summary>
    public int OwnerOf(in InetEndpoint from, in InetEndpoint to) => Owners.OwnerOf(UdpSocketTable.ReplyHash(Hash, to, from));

    /// <summary>A client port from <paramref name="first"/> on whose datagrams to <paramref name="to"/> land on this worker.</summary>
    public ushort ClientPortLandingHere(in InetEndpoint client, in InetEndpoint to, ushort first = 40000)
    {
        for (ushort port = first; ; port++)
        {
            if (OwnerOf(client.WithPort(port), to) == Context.Index)
                return port;
        }
    }

    /// <summary>Every socket of the UDP table, as netstat sees them.</summary>
    public List<UdpSocketInfo> Sockets()
    {
        var sockets = new List<UdpSocketInfo>();
        Udp.Snapshot(sockets);
        return sockets;
    }

    public long Count(IpCounter c) => Counters.Ip[(int)c];

    public long Count(Ip6Counter c) => Counters.Ip6[(int)c];

    public long Count(IcmpCounter c) => Counters.Icmp[(int)c];

    public long Count(Icmp6Counter c) => Counters.Icmp6[(int)c];

    public long Count(ArpCounter c) => Counters.Arp[(int)c];

    public long Count(EtherCounter c) => Counters.Ether[(int)c];

    public long Count(OffloadCounter c) => Counters.Offload[(int)c];

    public long Count(UdpCounter c) => Counters.Udp[(int)c];

    public long Count(TcpCounter c) => Counters.Tcp[(int)c];

    /// <summary>
    /// Bytes allocated on this thread by <paramref name="count"/> calls of <paramref name="step"/>:
    /// the least of three windows after a warm-up (<see cref="Allocations.Least"/>).
    /// </summary>
    public static long SteadyStateAllocation(Action step, int count) =>
        Allocations.Least(3, () =>
        {
            for (int i = 0; i < count; i++)
                step();
        });

    public static Ipv4Address Addr(string text) => Ipv4Address.TryParse(text, out Ipv4Address a) ? a : throw new ArgumentException(text);

    public static Ipv6Address Addr6(string text) => Ipv6Address.TryParse(text, out Ipv6Address a) ? a : throw new ArgumentException(text);

    private byte[] Bytes(PacketBuffer head)
    {
        var bytes = new List<byte>(Pool.Metadata(head).PacketLength);
        for (int index = head.Index; index >= 0; index = Pool.Metadata(new PacketBuffer(index)).Next)
            bytes.AddRange(Pool.Data(new PacketBuffer(index)).ToArray());
        Assert.Equal(Pool.Metadata(head).PacketLength, bytes.Count);
        return [.. bytes];
    }
}
