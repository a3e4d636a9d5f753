using System.Buffers.Binary;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Dataplane.Buffers;
using Dataplane.Drivers.Memory;
using Dataplane.Engine;
using Dataplane.Ports;
using Dataplane.Stack;
using Dataplane.Wire;

namespace Dataplane.Benchmarks;

/// <summary>
/// Software segmentation (the chop of TSO, Stack/Offload/Segmenter.cs) on one core: a router of
/// two memory ports forwards a 64 KiB TCP super-frame (45 segments of 1,448 bytes, as a Linux host's
/// TSO hands one over: IPv4, TCP with timestamps, checksum verified) from p0 to p1, through
/// <see cref="StackWorker.Input"/>, validation, the route and neighbour lookups, and then, by the
/// egress port's capabilities: <c>Chop</c>, cut with every segment's TCP checksum computed (a port
/// that finishes nothing); <c>ChopPartial</c>, cut with the checksums left partial (a port with
/// TransmitChecksum); <c>Whole</c>, left whole for a port with TSO, the baseline. What p1 sends is
/// released at once. The super-frame is built once and kept with a reference of its own, so each
/// operation measures the forwarding and the chop, not the building (its TTL is put back each time).
/// One operation is one super-frame; Gbit/s = payload bits / time, per core.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(SegmentationConfig))]
public class SegmentationBenchmarks
{
    /// <summary>Payload bytes of the super-frame.</summary>
    public const int Payload = 45 * Mss;

    private const int Mss = 1448;

    private BufferPool _pool = null!;
    private BufferCache _cache = null!;
    private MemoryPort _peer = null!;
    private WorkerContext _context = null!;
    private StackWorker _worker = null!;
    private PacketBuffer _superFrame;
    private readonly PacketBuffer[] _burst = new PacketBuffer[64];

    /// <summary>What the egress port can do.</summary>
    public enum Egress
    {
        /// <summary>Nothing: every segment's checksum computed.</summary>
        Chop,

        /// <summary>TransmitChecksum: segments with partial checksums.</summary>
        ChopPartial,

        /// <summary>TSO: the super-frame leaves whole.</summary>
        Whole,
    }

    /// <summary>The egress port's capabilities.</summary>
    [Params(Egress.Chop, Egress.ChopPartial, Egress.Whole)]
    public Egress Port { get; set; }

    /// <summary>The router, its neighbours, and the super-frame.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _pool = new BufferPool(4096);
        _cache = new BufferCache(_pool);
        (MemoryPort ours0, MemoryPort peer0) = MemoryPort.CreatePair("p0", "peer0", queues: 1, ringSize: 256);
        (MemoryPort ours1, MemoryPort peer1) = MemoryPort.CreatePair("p1", "peer1", queues: 1, ringSize: 256);
        foreach (MemoryPort p in new[] { ours0, peer0, ours1, peer1 })
            p.Start();
        _peer = peer1;
        PortCapabilities egress = Port switch
        {
            Egress.ChopPartial => PortCapabilities.TransmitChecksum,
            Egress.Whole => PortCapabilities.Tso | PortCapabilities.TransmitChecksum,
            _ => PortCapabilities.None,
        };
        var interfaces = new NetInterface[]
        {
            new(0, "p0", ours0.Mac, 1500, PortCapabilities.Lro | PortCapabilities.ReceiveChecksum, [new(new Ipv4Address(10, 10, 11, 2), 24)], []),
            new(1, "p1", ours1.Mac, 1500, egress, [new(new Ipv4Address(10, 10, 12, 3), 24)], []),
        };
        var stack = new NetworkStack(interfaces, forwarding: true);
        long now = EngineClock.Nanoseconds();
        _context = new WorkerContext(0, _pool, _cache, new TimerWheel(now), [new MemoryQueuePath(ours0.Queue(0)), new MemoryQueuePath(ours1.Queue(0))]) { Now = now };
        _worker = new StackWorker(stack, _context);
        stack.Arp[1].GetOrAdd(new Ipv4Address(10, 10, 12, 4))!.Confirm(peer1.Mac, now);

        byte[] frame = SuperFrame(ours0.Mac);
        if (!FrameChain.TryAllocate(_cache, frame.Length, out _superFrame))
            throw new InvalidOperationException("no buffers");
        FrameChain.Write(_pool, _superFrame, 0, frame);
        ref BufferMetadata m = ref _pool.Metadata(_superFrame);
        m.Gso = GsoType.TcpV4;
        m.SegmentSize = Mss;
        m.Offload = OffloadFlags.L4ChecksumVerified;
        int sent = Forward();
        if (sent != (Port == Egress.Whole ? 1 : 45))
            throw new InvalidOperationException($"{sent} frames forwarded");
    }

    /// <summary>Forwards the super-frame once: whole or cut, by <see cref="Port"/>.</summary>
    [Benchmark]
    public int Forward()
    {
        _cache.AddReference(_superFrame); // the stack releases its reference; ours keeps the frame
        Span<byte> l3 = _pool.Data(_superFrame)[14..];
        Ipv4Packet.TryCreate(l3, _pool.Metadata(_superFrame).PacketLength - 14, out Ipv4Packet ip, out _);
        ip.SetTimeToLiveUpdatingHeaderChecksum(64);
        _worker.Input(0, _superFrame);
        return Drain();
    }

    private int Drain()
    {
        _context.FlushAll();
        int total = 0, n;
        while ((n = _peer.Queue(0).Receive(_burst)) > 0)
        {
            _cache.Release(_burst.AsSpan(0, n));
            total += n;
        }
        return total;
    }

    /// <summary>A TSO super-frame from 10.10.11.1 to 10.10.12.4: IPv4, TCP with timestamps, <see cref="Payload"/> bytes.</summary>
    private static byte[] SuperFrame(MacAddress to)
    {
        byte[] f = new byte[14 + 20 + 32 + Payload];
        to.CopyTo(f);
        new MacAddress(0x02, 0xAA, 0, 0, 0, 0x07).CopyTo(f.AsSpan(6)); // the left host
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(12), 0x0800);
        new Ipv4Packet.Repr
        {
            Ihl = 5,
            TotalLength = (ushort)(f.Length - 14),
            Identification = 1,
            Flags = Ipv4Flags.DontFragment,
            TimeToLive = 64,
            Protocol = IpProtocol.Tcp,
            Source = new Ipv4Address(10, 10, 11, 1),
            Destination = new Ipv4Address(10, 10, 12, 4),
        }.Emit(f.AsSpan(14));
        Span<byte> tcp = f.AsSpan(34);
        BinaryPrimitives.WriteUInt16BigEndian(tcp, 40000);
        BinaryPrimitives.WriteUInt16BigEndian(tcp[2..], 5201);
        BinaryPrimitives.WriteUInt32BigEndian(tcp[4..], 1);
        BinaryPrimitives.WriteUInt16BigEndian(tcp[12..], 8 << 12 | 0x18); // ACK PSH
        tcp[20] = 1; tcp[21] = 1; tcp[22] = 8; tcp[23] = 10;
        new Random(1).NextBytes(tcp[32..]);
        return f;
    }
}

/// <summary>The Gbit/s column of <see cref="SegmentationBenchmarks"/>: payload bits per nanosecond of one super-frame.</summary>
public sealed class SegmentationConfig : ManualConfig
{
    /// <summary>Adds the column.</summary>
    public SegmentationConfig() => AddColumn(new RateColumn("Gbit/s", "Gbit/s of TCP payload per core: 45 x 1,448 bytes x 8 / Mean(ns)", SegmentationBenchmarks.Payload * 8.0, "F1"));
}
