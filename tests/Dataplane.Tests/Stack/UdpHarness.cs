using System.Buffers.Binary;
using Dataplane.Buffers;
using Dataplane.Drivers.Memory;
using Dataplane.Engine;
using Dataplane.Stack;
using Dataplane.Stack.Transport;
using Dataplane.Wire;

namespace Dataplane.Tests.Stack;

/// <summary>
/// One StackWorker, worker <c>index</c> of <c>count</c>, over two memory ports wired as the lab's
/// router (p0 10.10.11.2/24 and fdd7:e83e:66bd:1011::2/64, p1 10.10.12.3/24 and
/// fdd7:e83e:66bd:1012::3/64), driven by hand as <see cref="StackHarness"/> drives worker 0; the
/// worker's context carries the engine's flow hash and indirection table for <c>count</c> workers,
/// so that what the stack decides about flow ownership can be checked.
/// </summary>
internal sealed class UdpHarness
{
    public static readonly Ipv4Address Client = StackHarness.Addr("10.10.11.1");
    public static readonly Ipv4Address Ours = StackHarness.Addr("10.10.11.2");
    public static readonly Ipv4Address OursRight = StackHarness.Addr("10.10.12.3");
    public static readonly Ipv4Address Server = StackHarness.Addr("10.10.12.4");
    public static readonly Ipv6Address Client6 = StackHarness.Addr6("fdd7:e83e:66bd:1011::1");
    public static readonly Ipv6Address Ours6 = StackHarness.Addr6("fdd7:e83e:66bd:1011::2");
    public static readonly Ipv6Address OursRight6 = StackHarness.Addr6("fdd7:e83e:66bd:1012::3");
    public static readonly Ipv6Address Server6 = StackHarness.Addr6("fdd7:e83e:66bd:1012::4");

    private readonly MemoryPort[] _peers = new MemoryPort[2];
    private StackProcessor _processor;

    public UdpHarness(int index = 0, int count = 1)
    {
        Pool = new BufferPool(4096);
        Cache = new BufferCache(Pool);
        var transmit = new QueuePoller?[2];
        var nets = new NetInterface[2];
        (InterfaceAddress4 V4, InterfaceAddress6 V6)[] addresses =
        [
            (new(Ours, 24), new(Ours6, 64)),
            (new(OursRight, 24), new(OursRight6, 64)),
        ];
        for (int i = 0; i < 2; i++)
        {
            (MemoryPort ours, MemoryPort peer) = MemoryPort.CreatePair($"p{i}", $"peer{i}", queues: 1, ringSize: 4096);
            ours.Start();
            peer.Start();
            _peers[i] = peer;
            transmit[i] = new MemoryQueuePath(ours.Queue(0));
            nets[i] = new NetInterface(i, $"p{i}", ours.Mac, 1500, ours.Capabilities, [addresses[i].V4], [addresses[i].V6]);
        }
        Stack = new NetworkStack(nets, forwarding: false);
        Timers = new TimerWheel(Now);
        Owners = new RssIndirectionTable(count);
        Context = new WorkerContext(index, Pool, Cache, Timers, transmit)
        {
            Now = Now,
            FlowHash = Hash,
            FlowOwners = Owners,
        };
        Worker = new StackWorker(Stack, Context);
        _processor = new StackProcessor(Worker);
        // The start-up chores (worker 0), and the peers known on both ports.
        Advance(TimeSpan.FromSeconds(3));
        Know(0, Client, Client6);
        Know(1, Server, Server6);
        Sent(0);
        Sent(1);
    }

    public static ToeplitzHash Hash { get; } = ToeplitzHash.CreateSymmetric();

    public RssIndirectionTable Owners { get; }

    public BufferPool Pool { get; }

    public BufferCache Cache { get; }

    public TimerWheel Timers { get; }

    public WorkerContext Context { get; }

    public StackWorker Worker { get; }

    public NetworkStack Stack { get; }

    public UdpSocketTable Udp => Worker.Udp;

    public long Now { get; private set; } = 1_000_000_000_000;

    public MacAddress Mac(int port) => Stack.Interfaces[port].Mac;

    public long Count(UdpCounter c) => Worker.Counters.Udp[(int)c];

    public long Count(IcmpCounter c) => Worker.Counters.Icmp[(int)c];

    public long Count(Icmp6Counter c) => Worker.Counters.Icmp6[(int)c];

    /// <summary>The worker the engine would hand a datagram from <paramref name="from"/> to <paramref name="to"/>.</summary>
    public int OwnerOf(in UdpEndpoint from, in UdpEndpoint to) => Owners.OwnerOf(UdpSocketTable.ReplyHash(Hash, to, from));

    /// <summary>A client port from <paramref name="first"/> on whose datagrams to <paramref name="to"/> land on this worker.</summary>
    public ushort ClientPortLandingHere(in UdpEndpoint client, in UdpEndpoint to, ushort first = 40000)
    {
        for (ushort port = first; ; port++)
        {
            if (OwnerOf(client.WithPort(port), to) == Context.Index)
                return port;
        }
    }

    /// <summary>
    /// Bytes allocated on this thread by <paramref name="count"/> calls of <paramref name="step"/>
    /// after a warm-up: the least of three windows, so that a one-off of the runtime warming up
    /// (a method tiering up while other tests load the machine) is not taken for a per-datagram
    /// allocation, which would show in every window.
    /// </summary>
    public static long SteadyStateAllocation(Action step, int count)
    {
        for (int i = 0; i < 1000; i++)
            step();
        long least = long.MaxValue;
        for (int window = 0; window < 3 && least != 0; window++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < count; i++)
                step();
            least = Math.Min(least, GC.GetAllocatedBytesForCurrentThread() - before);
        }
        return least;
    }

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
    public int Drain(int port, PacketBuffer[] burst)
    {
        Context.FlushAll();
        MemoryQueue queue = _peers[port].Queue(0);
        int total = 0, n;
        while ((n = queue.Receive(burst)) > 0)
        {
            Cache.Release(burst.AsSpan(0, n));
            total += n;
        }
        return total;
    }

    public void Advance(TimeSpan time)
    {
        Now += (long)time.TotalNanoseconds;
        Context.Now = Now;
        Timers.Advance(Now, ref _processor);
    }

    /// <summary>Every socket of the table, as netstat sees them.</summary>
    public List<UdpSocketInfo> Sockets()
    {
        var sockets = new List<UdpSocketInfo>();
        Udp.Snapshot(sockets);
        return sockets;
    }

    private void Know(int port, Ipv4Address peer, Ipv6Address peer6)
    {
        Receive(port, Frames.ArpReply(StackHarness.PeerMac, peer, Mac(port), Stack.Interfaces[port].Ipv4[0].Address));
        Ipv6Address ours = Stack.Interfaces[port].Ipv6[1].Address;
        Ipv6Address group = Ipv6Addresses.SolicitedNode(ours);
        Receive(port, Frames.NeighborSolicitation(StackHarness.PeerMac, Ipv6Addresses.MulticastMac(group), peer6, group, ours, StackHarness.PeerMac));
    }
}

/// <summary>UDP frames for the tests, and checks of what the stack sent, with the plain checksum of <see cref="Frames"/>.</summary>
internal static class UdpFrames
{
    public static byte[] Payload(int length, byte seed = 1)
    {
        byte[] p = new byte[length];
        for (int i = 0; i < length; i++)
            p[i] = (byte)(seed + i * 7);
        return p;
    }

    /// <summary>A UDP datagram over IPv4 with its checksum (0 when <paramref name="noChecksum"/>).</summary>
    public static byte[] Udp4(Ipv4Address source, Ipv4Address destination, ushort sourcePort, ushort destinationPort, byte[] payload, bool noChecksum = false)
    {
        byte[] u = Header(sourcePort, destinationPort, payload);
        if (!noChecksum)
            BinaryPrimitives.WriteUInt16BigEndian(u.AsSpan(6), NonZero(Frames.Checksum(Pseudo4(source, destination, u))));
        return u;
    }

    /// <summary>A UDP datagram over IPv6 with its checksum (0 when <paramref name="noChecksum"/>).</summary>
    public static byte[] Udp6(in Ipv6Address source, in Ipv6Address destination, ushort sourcePort, ushort destinationPort, byte[] payload, bool noChecksum = false)
    {
        byte[] u = Header(sourcePort, destinationPort, payload);
        if (!noChecksum)
            BinaryPrimitives.WriteUInt16BigEndian(u.AsSpan(6), NonZero(Frames.Checksum6(source, destination, 17, u)));
        return u;
    }

    public static byte[] Frame4(MacAddress to, Ipv4Address source, Ipv4Address destination, ushort sourcePort, ushort destinationPort, byte[] payload, bool noChecksum = false)
        => Frames.Ipv4Frame(to, source, destination, 17, Udp4(source, destination, sourcePort, destinationPort, payload, noChecksum));

    public static byte[] Frame6(MacAddress to, in Ipv6Address source, in Ipv6Address destination, ushort sourcePort, ushort destinationPort, byte[] payload, bool noChecksum = false)
        => Frames.Ipv6Frame(to, source, destination, 17, Udp6(source, destination, sourcePort, destinationPort, payload, noChecksum));

    /// <summary>The pseudo-header of RFC 768 followed by <paramref name="udp"/>.</summary>
    public static byte[] Pseudo4(Ipv4Address source, Ipv4Address destination, byte[] udp)
    {
        byte[] pseudo = new byte[12 + udp.Length];
        source.CopyTo(pseudo);
        destination.CopyTo(pseudo.AsSpan(4));
        pseudo[9] = 17;
        BinaryPrimitives.WriteUInt16BigEndian(pseudo.AsSpan(10), (ushort)udp.Length);
        udp.CopyTo(pseudo, 12);
        return pseudo;
    }

    /// <summary>
    /// Checks an IPv4 UDP frame the stack sent, byte by byte: EtherType, header checksum, lengths,
    /// addresses and ports, and a non-zero UDP checksum that verifies; returns the payload.
    /// </summary>
    public static byte[] Check4(byte[] frame, Ipv4Address source, ushort sourcePort, Ipv4Address destination, ushort destinationPort)
    {
        Assert.Equal(0x0800, BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(12)));
        Span<byte> ip = frame.AsSpan(14);
        Assert.Equal(0x45, ip[0]);
        Assert.Equal(frame.Length - 14, BinaryPrimitives.ReadUInt16BigEndian(ip[2..]));
        Assert.Equal(17, ip[9]);
        Assert.Equal(0, Frames.Checksum(ip[..20]));
        Assert.Equal(source, new Ipv4Address(ip[12..]));
        Assert.Equal(destination, new Ipv4Address(ip[16..]));
        byte[] udp = ip[20..].ToArray();
        Assert.Equal(sourcePort, BinaryPrimitives.ReadUInt16BigEndian(udp));
        Assert.Equal(destinationPort, BinaryPrimitives.ReadUInt16BigEndian(udp.AsSpan(2)));
        Assert.Equal(udp.Length, BinaryPrimitives.ReadUInt16BigEndian(udp.AsSpan(4)));
        Assert.NotEqual(0, BinaryPrimitives.ReadUInt16BigEndian(udp.AsSpan(6)));
        Assert.Equal(0, Frames.Checksum(Pseudo4(source, destination, udp)));
        return udp[8..];
    }

    /// <summary>As <see cref="Check4"/>, for IPv6.</summary>
    public static byte[] Check6(byte[] frame, in Ipv6Address source, ushort sourcePort, in Ipv6Address destination, ushort destinationPort)
    {
        Assert.Equal(0x86DD, BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(12)));
        Span<byte> ip = frame.AsSpan(14);
        Assert.Equal(0x60, ip[0] & 0xF0);
        Assert.Equal(frame.Length - 54, BinaryPrimitives.ReadUInt16BigEndian(ip[4..]));
        Assert.Equal(17, ip[6]);
        Assert.Equal(source, new Ipv6Address(ip[8..]));
        Assert.Equal(destination, new Ipv6Address(ip[24..]));
        byte[] udp = ip[40..].ToArray();
        Assert.Equal(sourcePort, BinaryPrimitives.ReadUInt16BigEndian(udp));
        Assert.Equal(destinationPort, BinaryPrimitives.ReadUInt16BigEndian(udp.AsSpan(2)));
        Assert.Equal(udp.Length, BinaryPrimitives.ReadUInt16BigEndian(udp.AsSpan(4)));
        Assert.NotEqual(0, BinaryPrimitives.ReadUInt16BigEndian(udp.AsSpan(6)));
        Assert.Equal(0, Frames.Checksum6(source, destination, 17, udp));
        return udp[8..];
    }

    private static byte[] Header(ushort sourcePort, ushort destinationPort, byte[] payload)
    {
        byte[] u = new byte[8 + payload.Length];
        BinaryPrimitives.WriteUInt16BigEndian(u, sourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(u.AsSpan(2), destinationPort);
        BinaryPrimitives.WriteUInt16BigEndian(u.AsSpan(4), (ushort)u.Length);
        payload.CopyTo(u, 8);
        return u;
    }

    private static ushort NonZero(ushort checksum) => checksum == 0 ? (ushort)0xFFFF : checksum;
}
