using Dataplane.Buffers;
using Dataplane.Drivers.Memory;
using Dataplane.Engine;
using Dataplane.Native;
using Dataplane.Ports;
using Dataplane.Wire;

namespace Dataplane.Tests.Engine;

/// <summary>A frame a test driver hands up once, on its first receive.</summary>
internal sealed class Script(params PacketBuffer[] frames)
{
    public readonly PacketBuffer[] Frames = frames;
}

/// <summary>
/// A driver that promises the engine's flow hash on every frame, as a NIC programmed with the
/// symmetric key would. Its position is a value field: it only moves on if the path calls the
/// struct in place rather than on a copy.
/// </summary>
[PacketPath("trusted", RssHash = OffloadReport.EveryFrame, Lro = OffloadReport.Never)]
internal struct HashingQueue(Script script) : IQueuePair
{
    private int _next;

    public int Receive(Span<PacketBuffer> burst)
    {
        if (_next == script.Frames.Length || burst.IsEmpty)
            return 0;
        burst[0] = script.Frames[_next++]; // one frame a burst, so a second burst shows where it stands
        return 1;
    }

    public readonly int Transmit(ReadOnlySpan<PacketBuffer> burst) => 0;

    public readonly FileDescriptor? ReadinessDescriptor => null;
}

/// <summary>A driver whose hash is never the engine's (like afpacket's tp_rxhash).</summary>
[PacketPath("unhashed", RssHash = OffloadReport.Never)]
internal struct UnhashedQueue(Script script) : IQueuePair
{
    private int _next;

    public int Receive(Span<PacketBuffer> burst)
    {
        int n = 0;
        while (_next < script.Frames.Length && n < burst.Length)
            burst[n++] = script.Frames[_next++];
        return n;
    }

    public readonly int Transmit(ReadOnlySpan<PacketBuffer> burst) => 0;

    public readonly FileDescriptor? ReadinessDescriptor => null;
}

/// <summary>
/// The emitted packet paths at work in the engine: a driver's receive facts decide whether a frame
/// is hashed in software, and the hash decides which worker processes it.
/// </summary>
public class PacketPathTests
{
    private sealed record Seen(int Worker, int Port, uint Hash, OffloadFlags Offload);

    /// <summary>Notes where and how each packet arrived, and which receive facts it was processed with, and frees it.</summary>
    private struct Recorder(List<Seen> seen, List<(int Worker, uint Hash, Type Facts)>? facts = null) : IPacketProcessor
    {
        public readonly void Process<TFacts>(WorkerContext context, int port, PacketBuffer packet)
            where TFacts : struct, IReceiveFacts
        {
            ref BufferMetadata m = ref context.Pool.Metadata(packet);
            seen.Add(new Seen(context.Index, port, m.RssHash, m.Offload));
            facts?.Add((context.Index, m.RssHash, typeof(TFacts)));
            context.Cache.Release(packet);
        }

        public readonly void OnTimer(TimerWheel wheel, in ExpiredTimer timer)
        {
        }
    }

    /// <summary>A UDP frame, its metadata carrying <paramref name="hash"/> and <paramref name="offload"/> as a driver left them.</summary>
    private static PacketBuffer Frame(BufferCache cache, uint hash, OffloadFlags offload)
    {
        BufferPool pool = cache.Pool;
        Assert.True(cache.TryAllocate(out PacketBuffer buffer));
        ref BufferMetadata m = ref pool.Metadata(buffer);
        m.DataLength = 64;
        m.PacketLength = 64;
        m.RssHash = hash;
        m.Offload = offload;
        m.Port = 7; // stale: the path stamps the engine's index
        Span<byte> f = pool.Data(buffer);
        new EthernetFrame.Repr { Destination = MacAddress.FromUInt64(2), Source = MacAddress.FromUInt64(1), EtherType = EtherType.Ipv4 }.Emit(f);
        new Ipv4Packet.Repr
        {
            Ihl = 5, TotalLength = 50, TimeToLive = 64, Protocol = IpProtocol.Udp,
            Source = new Ipv4Address(10, 10, 11, 1), Destination = new Ipv4Address(10, 10, 12, 4),
        }.Emit(f[14..]);
        new UdpDatagram.Repr { SourcePort = 10_000, DestinationPort = 9, Length = 30 }.Emit(f[34..]);
        return buffer;
    }

    /// <summary>The hash the engine computes for <paramref name="frame"/>: symmetric Toeplitz over its flow.</summary>
    private static uint SoftwareHash(BufferPool pool, PacketBuffer frame)
    {
        Assert.True(EthernetFrame.TryCreate(pool.Data(frame), out EthernetFrame eth));
        Assert.True(Ipv4Packet.TryCreate(eth.Payload, out Ipv4Packet ip));
        Assert.True(FlowKey.TryCreate(ip, out FlowKey key));
        return key.Hash(ToeplitzHash.CreateSymmetric());
    }

    /// <summary>Two workers; queue 0 of a port (index 0) given by <paramref name="queue"/>, queue 1 empty; one turn each.</summary>
    private static List<Seen> RunTwoWorkers(BufferPool pool, Func<int, QueuePoller> queue, List<(int Worker, uint Hash, Type Facts)>? facts = null)
    {
        var seen = new List<Seen>();
        MemoryPort port = MemoryPort.CreateLoopback("p0", queues: 2);
        using var engine = new PacketEngine<Recorder>(pool, [0, 1], [new PortBinding(port, (q, _) => queue(q))], _ => new Recorder(seen, facts))
        {
            PinThreads = false,
        };
        for (int turn = 0; turn < 3; turn++)
        {
            engine.Workers[0].RunOnce();
            engine.Workers[1].RunOnce(); // takes in what worker 0 handed over
        }
        return seen;
    }

    [Fact]
    public void A_driver_that_never_has_the_hash_gets_every_frame_hashed_even_over_a_stale_flag()
    {
        var pool = new BufferPool(256);
        var cache = new BufferCache(pool, size: 8, burst: 4);
        PacketBuffer frame = Frame(cache, hash: 0, offload: OffloadFlags.RssHashValid | OffloadFlags.L4ChecksumVerified);
        uint expected = SoftwareHash(pool, frame);
        pool.Metadata(frame).RssHash = expected ^ 1; // a stale hash that would place it on the other worker
        var script = new Script(frame);

        List<Seen> seen = RunTwoWorkers(pool, q => new UnhashedQueuePath(new UnhashedQueue(q == 0 ? script : new Script())));

        Seen s = Assert.Single(seen);
        Assert.Equal(expected, s.Hash);
        Assert.Equal((int)(expected & 1), s.Worker); // two workers: the table alternates, so the low bit picks
        Assert.Equal(0, s.Port);
        Assert.Equal(OffloadFlags.RssHashValid | OffloadFlags.L4ChecksumVerified, s.Offload); // the driver's checksum flag left alone
    }

    [Fact]
    public void A_driver_that_has_the_hash_on_every_frame_is_trusted_without_a_look_at_the_flag_or_the_frame()
    {
        var pool = new BufferPool(256);
        var cache = new BufferCache(pool, size: 8, burst: 4);
        PacketBuffer even = Frame(cache, hash: 0x1234_5670, offload: OffloadFlags.None);
        PacketBuffer odd = Frame(cache, hash: 0x1234_5671, offload: OffloadFlags.None);
        var script = new Script(even, odd);

        List<Seen> seen = RunTwoWorkers(pool, q => new HashingQueuePath(new HashingQueue(q == 0 ? script : new Script())));

        // Both frames arrived, one a turn, each once: the queue struct was called in place.
        Assert.Equal(2, seen.Count);
        Assert.Contains(new Seen(0, 0, 0x1234_5670, OffloadFlags.None), seen);
        Assert.Contains(new Seen(1, 0, 0x1234_5671, OffloadFlags.None), seen); // handed to worker 1 by the driver's hash
    }

    [Fact]
    public void A_driver_that_promises_nothing_trusts_a_flagged_hash_and_hashes_the_rest()
    {
        var pool = new BufferPool(256);
        var cache = new BufferCache(pool, size: 8, burst: 4);
        PacketBuffer flagged = Frame(cache, hash: 0x11, offload: OffloadFlags.RssHashValid);
        PacketBuffer bare = Frame(cache, hash: 0x11, offload: OffloadFlags.None);
        uint expected = SoftwareHash(pool, bare);
        MemoryPort peer = MemoryPort.CreateLoopback("peer", queues: 1);
        Assert.Equal(2, peer.Queue(0).Transmit([flagged, bare])); // loopback: they wait on its receive ring

        List<Seen> seen = RunTwoWorkers(pool, q => new MemoryQueuePath(q == 0 ? peer.Queue(0) : MemoryPort.CreateLoopback("empty", 1).Queue(0)));

        Assert.Equal(2, seen.Count);
        Assert.Contains(new Seen(1, 0, 0x11, OffloadFlags.RssHashValid), seen);
        Assert.Contains(new Seen((int)(expected & 1), 0, expected, OffloadFlags.RssHashValid), seen);
    }

    [Fact]
    public void The_processor_is_compiled_for_the_facts_of_the_driver_a_packet_came_from_and_a_handed_over_one_for_none()
    {
        var pool = new BufferPool(256);
        var cache = new BufferCache(pool, size: 8, burst: 4);
        PacketBuffer mine = Frame(cache, hash: 0x20, offload: OffloadFlags.RssHashValid); // even: worker 0, where it arrives
        PacketBuffer theirs = Frame(cache, hash: 0x21, offload: OffloadFlags.RssHashValid); // odd: handed to worker 1
        MemoryPort peer = MemoryPort.CreateLoopback("peer", queues: 1);
        Assert.Equal(2, peer.Queue(0).Transmit([mine, theirs]));
        var facts = new List<(int Worker, uint Hash, Type Facts)>();

        RunTwoWorkers(pool, q => new MemoryQueuePath(q == 0 ? peer.Queue(0) : MemoryPort.CreateLoopback("empty", 1).Queue(0)), facts);

        Assert.Equal(2, facts.Count);
        Assert.Contains((0, 0x20u, typeof(MemoryQueuePath.Facts)), facts);
        // The ring between workers carries the buffer, not the path's type: the owner reads every flag.
        Assert.Contains((1, 0x21u, typeof(UnknownDriverFacts)), facts);
    }
}
