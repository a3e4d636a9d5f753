using Dataplane.Buffers;
using Dataplane.Drivers.Memory;
using Dataplane.Engine;
using Dataplane.Stack;
using Dataplane.Wire;

namespace Dataplane.Tests.Stack.Fragments;

/// <summary>
/// One <see cref="StackWorker"/> over memory ports, driven by hand: frames go in through
/// <see cref="Input"/>, what the worker transmitted comes out of <see cref="Sent"/>, and time moves
/// only when <see cref="Advance"/> says. Port 0 faces the peer (10.0.0.2, fd00::2) from 10.0.0.1 and
/// fd00::1; port 1 faces a second network (10.0.1.1/24) for forwarding. Both neighbours are known,
/// so nothing waits for ARP or neighbour discovery. Worker index 1: no announcements of its own.
/// </summary>
internal sealed class StackHarness
{
    public static readonly Ipv4Address Ours = new(10, 0, 0, 1);
    public static readonly Ipv4Address Peer = new(10, 0, 0, 2);
    public static readonly Ipv4Address Ours1 = new(10, 0, 1, 1);
    public static readonly Ipv4Address Far = new(10, 0, 1, 2);
    public static readonly Ipv6Address Ours6 = V6("fd00::1");
    public static readonly Ipv6Address Peer6 = V6("fd00::2");
    public static readonly MacAddress PeerMac = MacAddress.FromUInt64(0x02_00_00_00_00_a1);
    public static readonly MacAddress FarMac = MacAddress.FromUInt64(0x02_00_00_00_00_b1);

    private readonly MemoryPort[] _peers;
    private readonly PacketBuffer[] _burst = new PacketBuffer[64];
    private StackProcessor _processor;

    public StackHarness(int mtu = 1500, int mtu1 = 1500, bool forwarding = false, int poolBuffers = 8192)
    {
        Pool = new BufferPool(poolBuffers);
        (MemoryPort peer0, MemoryPort port0) = MemoryPort.CreatePair("peer0", "port0", 1, ringSize: 4096);
        (MemoryPort peer1, MemoryPort port1) = MemoryPort.CreatePair("peer1", "port1", 1, ringSize: 4096);
        _peers = [peer0, peer1];
        Macs = [port0.Mac, MacAddress.FromUInt64(0x02_00_00_00_01_02)];
        var interfaces = new[]
        {
            new NetInterface(0, "port0", Macs[0], mtu, port0.Capabilities, [new InterfaceAddress4(Ours, 24)], [new InterfaceAddress6(Ours6, 64)]),
            new NetInterface(1, "port1", Macs[1], mtu1, port1.Capabilities, [new InterfaceAddress4(Ours1, 24)], []),
        };
        Stack = new NetworkStack(interfaces, forwarding);
        Now = 1_000_000_000;
        var timers = new TimerWheel(Now);
        Context = new WorkerContext(1, Pool, new BufferCache(Pool), timers,
            [new MemoryQueuePath(port0.Queue(0)), new MemoryQueuePath(port1.Queue(0))])
        {
            Now = Now,
        };
        Worker = new StackWorker(Stack, Context);
        _processor = new StackProcessor(Worker);
        Stack.Arp[0].GetOrAdd(Peer)!.Confirm(PeerMac, Now);
        Stack.Nd[0].GetOrAdd(Peer6)!.Confirm(PeerMac, Now);
        Stack.Arp[1].GetOrAdd(Far)!.Confirm(FarMac, Now);
        Cache = new BufferCache(Pool, size: 256, burst: 32);
    }

    public BufferPool Pool { get; }

    /// <summary>The test's own buffers (the worker has its own cache).</summary>
    public BufferCache Cache { get; }

    public NetworkStack Stack { get; }

    public WorkerContext Context { get; }

    public StackWorker Worker { get; }

    /// <summary>The MAC addresses of our two ports.</summary>
    public MacAddress[] Macs { get; }

    public long Now { get; private set; }

    public long[] Ip => Worker.Counters.Ip;

    public long[] Ip6 => Worker.Counters.Ip6;

    public long Count(IpCounter c) => Worker.Counters.Ip[(int)c];

    public long Count(Ip6Counter c) => Worker.Counters.Ip6[(int)c];

    public long Count(IcmpCounter c) => Worker.Counters.Icmp[(int)c];

    public long Count(Icmp6Counter c) => Worker.Counters.Icmp6[(int)c];

    /// <summary>Hands <paramref name="frame"/> to the worker as received on <paramref name="port"/>, and flushes what it sent.</summary>
    public void Input(ReadOnlySpan<byte> frame, int port = 0)
    {
        Assert.True(Cache.TryAllocate(out PacketBuffer buffer));
        ref BufferMetadata m = ref Pool.Metadata(buffer);
        m.DataLength = (ushort)frame.Length;
        m.PacketLength = frame.Length;
        frame.CopyTo(Pool.Data(buffer));
        Worker.Input(port, buffer);
        Context.FlushAll();
    }

    /// <summary>Every frame given in turn.</summary>
    public void Input(IEnumerable<byte[]> frames, int port = 0)
    {
        foreach (byte[] frame in frames)
            Input(frame, port);
    }

    /// <summary>Moves the clock on by <paramref name="nanoseconds"/> and runs the timers due.</summary>
    public void Advance(long nanoseconds)
    {
        Now += nanoseconds;
        Context.Now = Now;
        Context.Timers.Advance(Now, ref _processor);
        Context.FlushAll();
    }

    /// <summary>
    /// The frames the worker sent out of <paramref name="port"/> since the last call, whole (chains
    /// joined), but for neighbour traffic: after 30 s a neighbour is asked again whether it is
    /// still there (ARP, neighbour solicitation), which is not what these tests look at.
    /// </summary>
    public List<byte[]> Sent(int port = 0)
    {
        var frames = new List<byte[]>();
        int n;
        while ((n = _peers[port].Queue(0).Receive(_burst)) > 0)
        {
            for (int i = 0; i < n; i++)
            {
                byte[] frame = Bytes(_burst[i]);
                Cache.Release(_burst[i]);
                if (!IsNeighborDiscovery(frame))
                    frames.Add(frame);
            }
        }
        return frames;
    }

    private static bool IsNeighborDiscovery(byte[] frame)
    {
        ushort type = (ushort)(frame[12] << 8 | frame[13]);
        return type == 0x0806 || (type == 0x86DD && frame[14 + 6] == 58 && frame[14 + 40] is 135 or 136);
    }

    /// <summary>Releases what the worker sent without looking (the allocation test's drain).</summary>
    public int Discard(int port = 0)
    {
        int total = 0, n;
        while ((n = _peers[port].Queue(0).Receive(_burst)) > 0)
        {
            Cache.Release(_burst.AsSpan(0, n));
            total += n;
        }
        return total;
    }

    /// <summary>Buffers neither free in the pool nor in a cache: held by the stack (or leaked).</summary>
    public int BuffersOutstanding => Pool.Count - Pool.Shared.Count - Cache.Count - Context.Cache.Count;

    private byte[] Bytes(PacketBuffer head)
    {
        var bytes = new List<byte>(Pool.Metadata(head).PacketLength);
        for (int index = head.Index; index >= 0; index = Pool.Metadata(new PacketBuffer(index)).Next)
            bytes.AddRange(Pool.Data(new PacketBuffer(index)).ToArray());
        Assert.Equal(Pool.Metadata(head).PacketLength, bytes.Count);
        return [.. bytes];
    }

    private static Ipv6Address V6(string text) => Ipv6Address.TryParse(text, out Ipv6Address a) ? a : throw new ArgumentException(text);
}
