using Dataplane.Buffers;
using Dataplane.Drivers.Memory;
using Dataplane.Engine;
using Dataplane.Stack;
using Dataplane.Wire;

namespace Dataplane.Tests.Stack;

/// <summary>
/// One StackWorker on worker 0 over memory ports, driven by hand: frames go in through
/// <see cref="Receive"/>, what the stack sends comes out of <see cref="Sent"/>, and time moves
/// only when <see cref="Advance"/> says. Each port is a memory pair: the stack's end, and the
/// peer's end the test reads from.
/// </summary>
internal sealed class StackHarness
{
    /// <summary>The MAC address of the peer on every port.</summary>
    public static readonly MacAddress PeerMac = new(0x02, 0xAA, 0, 0, 0, 0x01);

    private readonly MemoryPort[] _peers;
    private readonly QueuePoller?[] _transmit;
    private StackProcessor _processor;

    /// <summary>A stack with one interface per entry of <paramref name="interfaces"/>.</summary>
    public StackHarness(bool forwarding, params (InterfaceAddress4[] V4, InterfaceAddress6[] V6, int Mtu)[] interfaces)
    {
        Pool = new BufferPool(4096);
        Cache = new BufferCache(Pool);
        var nets = new NetInterface[interfaces.Length];
        _peers = new MemoryPort[interfaces.Length];
        _transmit = new QueuePoller?[interfaces.Length];
        for (int i = 0; i < interfaces.Length; i++)
        {
            (MemoryPort ours, MemoryPort peer) = MemoryPort.CreatePair($"p{i}", $"peer{i}", queues: 1, ringSize: 4096);
            ours.Start();
            peer.Start();
            _peers[i] = peer;
            _transmit[i] = new MemoryQueuePath(ours.Queue(0));
            nets[i] = new NetInterface(i, $"p{i}", ours.Mac, interfaces[i].Mtu, ours.Capabilities, interfaces[i].V4, interfaces[i].V6);
        }
        Stack = new NetworkStack(nets, forwarding);
        Timers = new TimerWheel(Now);
        Context = new WorkerContext(0, Pool, Cache, Timers, _transmit) { Now = Now };
        Worker = new StackWorker(Stack, Context);
        _processor = new StackProcessor(Worker);
    }

    /// <summary>The standard two-legged router of the lab: p0 10.10.11.2/24 and fdd7:e83e:66bd:1011::2/64, p1 10.10.12.3/24 and ...1012::3/64.</summary>
    public static StackHarness Router(bool forwarding = true, int mtu0 = 1500, int mtu1 = 1500) => new(forwarding,
        ([new(Addr("10.10.11.2"), 24)], [new(Addr6("fdd7:e83e:66bd:1011::2"), 64)], mtu0),
        ([new(Addr("10.10.12.3"), 24)], [new(Addr6("fdd7:e83e:66bd:1012::3"), 64)], mtu1));

    public BufferPool Pool { get; }

    public BufferCache Cache { get; }

    public TimerWheel Timers { get; }

    public WorkerContext Context { get; }

    public StackWorker Worker { get; }

    public NetworkStack Stack { get; }

    public StackCounters Counters => Worker.Counters;

    /// <summary>The engine clock the harness shows the stack, in nanoseconds.</summary>
    public long Now { get; private set; } = 1_000_000_000_000;

    /// <summary>The MAC address of our end of port <paramref name="port"/>.</summary>
    public MacAddress Mac(int port) => Stack.Interfaces[port].Mac;

    /// <summary>Feeds <paramref name="frame"/> to the stack as received on <paramref name="port"/>.</summary>
    public void Receive(int port, byte[] frame, OffloadFlags offload = OffloadFlags.None)
    {
        Assert.True(Cache.TryAllocate(out PacketBuffer buffer));
        ref BufferMetadata m = ref Pool.Metadata(buffer);
        m.DataLength = (ushort)frame.Length;
        m.PacketLength = frame.Length;
        m.Offload = offload;
        m.Port = (ushort)port;
        frame.CopyTo(Pool.Data(buffer));
        Worker.Input(port, buffer);
    }

    /// <summary>Flushes the stack's bursts and takes every frame it sent on <paramref name="port"/>.</summary>
    public List<byte[]> Sent(int port)
    {
        Context.FlushAll();
        var frames = new List<byte[]>();
        var burst = new PacketBuffer[32];
        MemoryQueue queue = _peers[port].Queue(0);
        int n;
        while ((n = queue.Receive(burst)) > 0)
        {
            for (int i = 0; i < n; i++)
            {
                frames.Add(Pool.Data(burst[i]).ToArray());
                Cache.Release(burst[i]);
            }
        }
        return frames;
    }

    /// <summary>Releases what the stack sent on <paramref name="port"/> without looking at it (allocation tests).</summary>
    public int DrainWithoutCopy(int port, PacketBuffer[] burst)
    {
        MemoryQueue queue = _peers[port].Queue(0);
        int total = 0, n;
        while ((n = queue.Receive(burst)) > 0)
        {
            Cache.Release(burst.AsSpan(0, n));
            total += n;
        }
        return total;
    }

    /// <summary>Moves the clock on and runs the timers that fell due.</summary>
    public void Advance(TimeSpan time)
    {
        Now += (long)time.TotalNanoseconds;
        Context.Now = Now;
        Timers.Advance(Now, ref _processor);
    }

    /// <summary>Runs the start-up chores (announcements, DAD) and forgets what they sent.</summary>
    public StackHarness Started()
    {
        Advance(TimeSpan.FromSeconds(3));
        for (int p = 0; p < Stack.Interfaces.Length; p++)
            Sent(p);
        return this;
    }

    /// <summary>Teaches the stack the peer's MAC address for <paramref name="address"/> on <paramref name="port"/>, as an ARP reply would.</summary>
    public void KnowPeer(int port, string address)
    {
        Receive(port, Frames.ArpReply(PeerMac, Addr(address), Mac(port), Stack.Interfaces[port].Ipv4[0].Address));
        Sent(port);
    }

    /// <summary>Teaches the stack the peer's MAC address for an IPv6 <paramref name="address"/>.</summary>
    public void KnowPeer6(int port, string address)
    {
        // A solicitation for our address with the peer's link-layer address, as the peer resolving us sends.
        Ipv6Address ours = Stack.Interfaces[port].Ipv6[1].Address;
        Ipv6Address group = Ipv6Addresses.SolicitedNode(ours);
        Receive(port, Frames.NeighborSolicitation(PeerMac, Ipv6Addresses.MulticastMac(group), Addr6(address), group, ours, PeerMac));
        Sent(port);
    }

    public long Count(IpCounter c) => Counters.Ip[(int)c];

    public long Count(Ip6Counter c) => Counters.Ip6[(int)c];

    public long Count(IcmpCounter c) => Counters.Icmp[(int)c];

    public long Count(Icmp6Counter c) => Counters.Icmp6[(int)c];

    public long Count(ArpCounter c) => Counters.Arp[(int)c];

    public long Count(EtherCounter c) => Counters.Ether[(int)c];

    public static Ipv4Address Addr(string text) => Ipv4Address.TryParse(text, out Ipv4Address a) ? a : throw new ArgumentException(text);

    public static Ipv6Address Addr6(string text) => Ipv6Address.TryParse(text, out Ipv6Address a) ? a : throw new ArgumentException(text);
}
