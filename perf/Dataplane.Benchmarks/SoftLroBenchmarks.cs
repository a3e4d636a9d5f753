using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using Dataplane.Buffers;
using Dataplane.Engine;
using Dataplane.Ports;
using Dataplane.Stack;
using Dataplane.Stack.Offload;
using Dataplane.Wire;
using IpFamily = Dataplane.Benchmarks.ForwardingBenchmarks.IpFamily;

namespace Dataplane.Benchmarks;

/// <summary>
/// Software LRO on memory buffers: one operation is a burst of 32 full-size TCP segments
/// (1448 bytes of payload, timestamps) merged, from one flow or four interleaved, with the driver's
/// checksums verified or summed in software. Gbit/s is the payload merged per second on one core.
/// The burst is put back as received before each merge (32 headers and metadata copied back): the
/// <see cref="Restore"/> row is that alone, so the merge's own cost is the difference.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(SoftLroConfig))]
public class SoftLroBenchmarks
{
    /// <summary>Segments per burst: the engine's burst.</summary>
    public const int Burst = WorkerContext.BurstSize;

    /// <summary>Payload of each segment: an Ethernet MTU's TCP segment with timestamps.</summary>
    public const int Payload = 1448;

    private const int Headers = 128; // more than Ethernet + IPv6 + TCP with timestamps

    private BufferPool _pool = null!;
    private SoftLro _lro = null!;
    private readonly PacketBuffer[] _received = new PacketBuffer[Burst];
    private readonly PacketBuffer[] _burst = new PacketBuffer[Burst];
    private readonly BufferMetadata[] _metadata = new BufferMetadata[Burst];
    private readonly byte[][] _headers = new byte[Burst][];

    /// <summary>IPv4 or IPv6.</summary>
    [Params(IpFamily.Ipv4, IpFamily.Ipv6)]
    public IpFamily Family { get; set; }

    /// <summary>Flows interleaved in the burst, segment by segment.</summary>
    [Params(1, 4)]
    public int Flows { get; set; }

    /// <summary>Whether the driver verified the checksums (else the merger sums every segment).</summary>
    [Params(true, false)]
    public bool Verified { get; set; }

    /// <summary>Builds the burst in the pool once and remembers it as received.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _pool = new BufferPool(256);
        var cache = new BufferCache(_pool);
        var context = new WorkerContext(0, _pool, cache, new TimerWheel(0), [null]);
        _lro = new SoftLro(context, new StackCounters());
        var sequence = new uint[Flows];
        for (int i = 0; i < Burst; i++)
        {
            int flow = i % Flows;
            byte[] frame = Segment(Family, (ushort)(40000 + flow), sequence[flow]);
            sequence[flow] += Payload;
            if (!FrameChain.TryAllocate(cache, frame.Length, out _received[i]))
                throw new InvalidOperationException("pool too small");
            FrameChain.Write(_pool, _received[i], 0, frame);
            _pool.Metadata(_received[i]).Offload = Verified ? OffloadFlags.L4ChecksumVerified | OffloadFlags.Ipv4ChecksumVerified : OffloadFlags.None;
            _metadata[i] = _pool.Metadata(_received[i]);
            _headers[i] = _pool.Data(_received[i])[..Headers].ToArray();
        }
        // A benchmark that merged nothing would measure the wrong thing: one super-frame per flow.
        if (Merge() != Flows)
            throw new InvalidOperationException("the burst did not merge into one super-frame per flow");
    }

    /// <summary>Puts the burst back as received: what every operation does before it merges.</summary>
    [Benchmark(Baseline = true)]
    public int Restore()
    {
        for (int i = 0; i < Burst; i++)
        {
            PacketBuffer b = _received[i];
            _pool.Metadata(b) = _metadata[i];
            _headers[i].CopyTo(_pool.Room(b));
            _burst[i] = b;
        }
        return Burst;
    }

    /// <summary>Restores the burst and merges it.</summary>
    [Benchmark]
    public int Merge()
    {
        Restore();
        return _lro.Merge(_burst, OffloadReport.PerFrame);
    }

    private static byte[] Segment(IpFamily family, ushort sourcePort, uint sequence)
    {
        bool v6 = family == IpFamily.Ipv6;
        int ipHeader = v6 ? Ipv6Packet.FixedLength : Ipv4Packet.FixedLength;
        const int tcpHeader = TcpSegment.FixedLength + 12;
        byte[] frame = new byte[EthernetFrame.FixedLength + ipHeader + tcpHeader + Payload];
        Span<byte> f = frame;
        new EthernetFrame.Repr { Destination = MacAddress.FromUInt64(0x02_00_00_00_00_02), Source = MacAddress.FromUInt64(0x02_00_00_00_00_01), EtherType = v6 ? EtherType.Ipv6 : EtherType.Ipv4 }.Emit(f);
        Span<byte> ip = f[EthernetFrame.FixedLength..];
        Span<byte> tcp = ip[ipHeader..];
        new Random((int)sequence).NextBytes(tcp[tcpHeader..]);
        var options = new TcpOptions { Timestamps = (1000, 2000) };
        options.Emit(tcp[TcpSegment.FixedLength..]);
        new TcpSegment.Repr
        {
            SourcePort = sourcePort, DestinationPort = 5201, SequenceNumber = sequence, AcknowledgmentNumber = 1,
            DataOffset = tcpHeader / 4, Flags = TcpFlags.Ack, Window = 502,
        }.Emit(tcp);
        TcpSegment.TryCreate(tcp, out TcpSegment segment);
        if (v6)
        {
            Ipv6Address.TryParse("fdd7:e83e:66bd:1011::1", out Ipv6Address src);
            Ipv6Address.TryParse("fdd7:e83e:66bd:1012::4", out Ipv6Address dst);
            new Ipv6Packet.Repr { Version = 6, PayloadLength = (ushort)tcp.Length, NextHeader = IpProtocol.Tcp, HopLimit = 64, Source = src, Destination = dst }.Emit(ip);
            segment.FillChecksum(src, dst);
        }
        else
        {
            var src = new Ipv4Address(10, 10, 11, 1);
            var dst = new Ipv4Address(10, 10, 12, 4);
            new Ipv4Packet.Repr
            {
                Version = 4, Ihl = 5, TotalLength = (ushort)ip.Length, Identification = 1, Flags = Ipv4Flags.DontFragment,
                TimeToLive = 64, Protocol = IpProtocol.Tcp, Source = src, Destination = dst,
            }.Emit(ip);
            Ipv4Packet.TryCreate(ip, out Ipv4Packet header);
            header.FillHeaderChecksum();
            segment.FillChecksum(src, dst);
        }
        return frame;
    }
}

/// <summary>Gbit/s of payload per core for <see cref="SoftLroBenchmarks"/>, on a short job.</summary>
public sealed class SoftLroConfig : ManualConfig
{
    /// <summary>Adds the column and the short job.</summary>
    public SoftLroConfig()
    {
        AddJob(Job.ShortRun);
        AddColumn(new RateColumn("Gbit/s", "Payload merged per second on one core: 32 * 1448 * 8 / Mean(ns)", SoftLroBenchmarks.Burst * SoftLroBenchmarks.Payload * 8.0, "0.0"));
    }
}
