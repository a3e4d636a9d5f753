using System.Buffers.Binary;
using Dataplane.Buffers;
using Dataplane.Engine;
using Dataplane.Ports;
using Dataplane.Stack;
using Dataplane.Stack.Offload;
using Dataplane.Tests.Stack.Tcp;
using Dataplane.Wire;

namespace Dataplane.Tests.Stack.Offload;

/// <summary>
/// Software LRO over literal segments: each rule of OpenBSD's tcp_softlro_check broken by one field
/// (not merged, counted by name), the super-frame's fields (tcp_softlro: IP length and checksum,
/// ACK, window and timestamps from the last, PSH from any, the segment size), IPv4 and IPv6, order
/// within a flow, the 64 KiB limit, and no allocation per burst. Frames are built and read back with
/// the tests' own encoders (Frames, TcpSeg), not the stack's views.
/// </summary>
public class SoftLroTests
{
    private const OffloadFlags Verified = OffloadFlags.L4ChecksumVerified | OffloadFlags.Ipv4ChecksumVerified;
    private const ushort ClientPort = 40000;
    private const ushort ServerPort = 5201;
    private static readonly MacAddress Us = new(0x02, 0xBB, 0, 0, 0, 0x01);

    private readonly BufferPool _pool = new(2048);
    private readonly BufferCache _cache;
    private readonly StackCounters _counters = new();
    private readonly SoftLro _lro;

    public SoftLroTests()
    {
        _cache = new BufferCache(_pool);
        var context = new WorkerContext(0, _pool, _cache, new TimerWheel(0), [null]);
        _lro = new SoftLro(context, _counters);
    }

    private long Count(LroCounter c) => _counters.Lro[(int)c];

    private int Outstanding => _pool.Count - _pool.Shared.Count - _cache.Count;

    // ---- building segments -------------------------------------------------------------------

    private static TcpSeg Data(uint seq, int length, TcpFlags flags = TcpFlags.Ack, uint ack = 7000, ushort window = 1000,
        (uint, uint)? timestamps = null, ushort sourcePort = ClientPort)
        => new()
        {
            SourcePort = sourcePort,
            DestinationPort = ServerPort,
            Seq = seq,
            Ack = ack,
            Flags = flags,
            Window = window,
            Timestamps = timestamps ?? (100, 200),
            Payload = PayloadAt(seq, length),
        };

    // Payload bytes that say where they lie in the stream, so a reordering or a lost piece shows.
    private static byte[] PayloadAt(uint seq, int length) => [.. Enumerable.Range(0, length).Select(i => (byte)((seq + i) * 7 % 251))];

    private sealed record Ip
    {
        public byte Ttl { get; init; } = 64;
        public byte Tos { get; init; }
        public byte[]? Options { get; init; }
        public ushort FlagsAndOffset { get; init; } = 0x4000; // DF, as TCP sends
        public bool BadTcpChecksum { get; init; }
        public MacAddress Source { get; init; } = StackHarness.PeerMac;
        public byte[]? Ipv6Extension { get; init; } // a destination options header in front of TCP
    }

    private static byte[] Frame4(TcpSeg seg, Ip? ip = null)
    {
        ip ??= new Ip();
        byte[] tcp = seg.Encode();
        ushort sum = Frames.Checksum4(StackHarness.Client, StackHarness.Ours, 6, tcp);
        BinaryPrimitives.WriteUInt16BigEndian(tcp.AsSpan(16), ip.BadTcpChecksum ? (ushort)(sum ^ 0x0F0F) : sum);
        byte[] packet = Frames.Ipv4(StackHarness.Client, StackHarness.Ours, 6, 1, tcp, ip.Options, ip.FlagsAndOffset, ip.Ttl);
        if (ip.Tos != 0)
        {
            int header = (packet[0] & 0xF) * 4;
            packet[1] = ip.Tos;
            packet[10] = packet[11] = 0;
            BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(10), Frames.Checksum(packet.AsSpan(0, header)));
        }
        return Frames.Ethernet(Us, ip.Source, Frames.TypeIpv4, packet);
    }

    private static byte[] Frame6(TcpSeg seg, Ip? ip = null)
    {
        ip ??= new Ip();
        byte[] tcp = seg.Encode();
        ushort sum = Frames.Checksum6(StackHarness.Client6, StackHarness.Ours6, 6, tcp);
        BinaryPrimitives.WriteUInt16BigEndian(tcp.AsSpan(16), ip.BadTcpChecksum ? (ushort)(sum ^ 0x0F0F) : sum);
        byte[] packet = ip.Ipv6Extension is { } ext
            ? Frames.Ipv6(StackHarness.Client6, StackHarness.Ours6, 60, [.. ext, .. tcp], ip.Ttl)
            : Frames.Ipv6(StackHarness.Client6, StackHarness.Ours6, 6, tcp, ip.Ttl);
        return Frames.Ethernet(Us, ip.Source, Frames.TypeIpv6, packet);
    }

    // A received frame in the pool, as a driver hands it up: one buffer, or a chain whose first buffer holds firstPiece bytes.
    private PacketBuffer Receive(byte[] frame, OffloadFlags offload = Verified, int firstPiece = 0)
    {
        PacketBuffer head;
        if (firstPiece > 0)
        {
            Assert.True(_cache.TryAllocate(out head));
            Assert.True(_cache.TryAllocate(out PacketBuffer rest));
            ref BufferMetadata r = ref _pool.Metadata(rest);
            r.DataLength = (ushort)(frame.Length - firstPiece);
            r.PacketLength = r.DataLength;
            frame.AsSpan(firstPiece).CopyTo(_pool.Data(rest));
            ref BufferMetadata h = ref _pool.Metadata(head);
            h.DataLength = (ushort)firstPiece;
            h.PacketLength = frame.Length;
            h.Next = rest.Index;
            h.Segments = 2;
            frame.AsSpan(0, firstPiece).CopyTo(_pool.Data(head));
        }
        else
        {
            Assert.True(FrameChain.TryAllocate(_cache, frame.Length, out head));
            FrameChain.Write(_pool, head, 0, frame);
        }
        _pool.Metadata(head).Offload = offload;
        return head;
    }

    private PacketBuffer[] Merge(OffloadReport report, params PacketBuffer[] burst)
    {
        int n = _lro.Merge(burst, report);
        return burst[..n];
    }

    private PacketBuffer[] Merge(params byte[][] frames)
        => Merge(OffloadReport.PerFrame, [.. frames.Select(f => Receive(f))]);

    private byte[] Bytes(PacketBuffer packet)
    {
        byte[] bytes = new byte[_pool.Metadata(packet).PacketLength];
        FrameChain.Read(_pool, packet, 0, bytes);
        int length = 0, segments = 0;
        for (PacketBuffer b = packet; b.IsValid; b = new PacketBuffer(_pool.Metadata(b).Next), segments++)
            length += _pool.Metadata(b).DataLength;
        Assert.Equal(bytes.Length, length); // the chain holds what its head says
        Assert.Equal(_pool.Metadata(packet).Segments, segments);
        return bytes;
    }

    // The TCP segment of a frame (IPv4 without options, or IPv6 without extension headers).
    private static TcpSeg Tcp(byte[] frame) => TcpSeg.Parse(frame.AsSpan(TransportOffset(frame)));

    private static int TransportOffset(byte[] frame) => frame[12] == 0x86 ? 14 + 40 : 14 + (frame[14] & 0xF) * 4;

    private void ReleaseAll(PacketBuffer[] frames)
    {
        _cache.Release(frames);
        Assert.Equal(0, Outstanding);
    }

    // ---- the super-frame -----------------------------------------------------------------------

    [Fact]
    public void Contiguous_segments_of_a_flow_become_one_super_frame_whose_ipv4_length_covers_the_whole_with_a_valid_header_checksum()
    {
        PacketBuffer[] merged = Merge(Frame4(Data(1000, 1448)), Frame4(Data(2448, 1448)), Frame4(Data(3896, 1448)));

        PacketBuffer super = Assert.Single(merged);
        byte[] frame = Bytes(super);
        Assert.Equal(14 + 20 + 32 + 3 * 1448, frame.Length);
        Assert.Equal(20 + 32 + 3 * 1448, BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(16)));
        Assert.Equal(0, Frames.Checksum(frame.AsSpan(14, 20)));
        TcpSeg tcp = Tcp(frame);
        Assert.Equal(1000u, tcp.Seq);
        Assert.Equal([.. PayloadAt(1000, 3 * 1448)], tcp.Payload); // the concatenated payloads, in order
        ref BufferMetadata m = ref _pool.Metadata(super);
        Assert.Equal(GsoType.TcpV4, m.Gso);
        Assert.Equal(1448, m.SegmentSize);
        Assert.Equal(3, m.Segments); // chained, not copied: one buffer per segment
        Assert.Equal(Verified, m.Offload & ReceiveFacts.ChecksumFlags);
        Assert.Equal(2, Count(LroCounter.SegmentsMerged));
        Assert.Equal(1, Count(LroCounter.SuperFrames));
        ReleaseAll(merged);
    }

    [Fact]
    public void The_super_frame_takes_ack_window_and_timestamps_from_the_last_segment_and_psh_from_any()
    {
        PacketBuffer[] merged = Merge(
            Frame4(Data(1000, 100, ack: 7000, window: 1000, timestamps: (100, 200))),
            Frame4(Data(1100, 100, TcpFlags.Ack | TcpFlags.Psh, ack: 7100, window: 900, timestamps: (101, 201))),
            Frame4(Data(1200, 100, ack: 7200, window: 800, timestamps: (102, 202))));

        TcpSeg tcp = Tcp(Bytes(Assert.Single(merged)));
        Assert.Equal(7200u, tcp.Ack);
        Assert.Equal((ushort)800, tcp.Window);
        Assert.Equal((102u, 202u), tcp.Timestamps);
        Assert.Equal(TcpFlags.Ack | TcpFlags.Psh, tcp.Flags);
        ReleaseAll(merged);
    }

    [Fact]
    public void The_segment_size_is_the_first_segments_payload_and_the_largest_when_a_later_one_is_larger()
    {
        PacketBuffer[] usual = Merge(Frame4(Data(1000, 1448)), Frame4(Data(2448, 1448)), Frame4(Data(3896, 300)));
        Assert.Equal(1448, _pool.Metadata(Assert.Single(usual)).SegmentSize);
        ReleaseAll(usual);

        // OpenBSD records the largest part: chopping by it never makes a piece larger than one that crossed the link.
        PacketBuffer[] smallFirst = Merge(Frame4(Data(1000, 500)), Frame4(Data(1500, 1448)));
        Assert.Equal(1448, _pool.Metadata(Assert.Single(smallFirst)).SegmentSize);
        ReleaseAll(smallFirst);
    }

    [Fact]
    public void Ipv6_segments_merge_with_the_payload_length_over_the_whole()
    {
        PacketBuffer[] merged = Merge(Frame6(Data(1000, 1428)), Frame6(Data(2428, 1428)), Frame6(Data(3856, 1428)));

        PacketBuffer super = Assert.Single(merged);
        byte[] frame = Bytes(super);
        Assert.Equal(14 + 40 + 32 + 3 * 1428, frame.Length);
        Assert.Equal(32 + 3 * 1428, BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(14 + 4)));
        Assert.Equal([.. PayloadAt(1000, 3 * 1428)], Tcp(frame).Payload);
        ref BufferMetadata m = ref _pool.Metadata(super);
        Assert.Equal(GsoType.TcpV6, m.Gso);
        Assert.Equal(1428, m.SegmentSize);
        Assert.Equal(OffloadFlags.L4ChecksumVerified, m.Offload & ReceiveFacts.ChecksumFlags);
        ReleaseAll(merged);
    }

    [Fact]
    public void The_tcp_checksum_field_holds_the_pseudo_header_sum_of_the_whole_as_a_partial_checksum_super_frame_does()
    {
        PacketBuffer[] merged = Merge(Frame4(Data(1000, 1000)), Frame4(Data(2000, 1000)));

        byte[] frame = Bytes(Assert.Single(merged));
        int tcpLength = frame.Length - 34;
        // The complement of the checksum of zeros behind the pseudo-header is the pseudo-header's sum.
        ushort field = BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(34 + 16));
        ushort pseudoOnly = (ushort)~Frames.Checksum4(StackHarness.Client, StackHarness.Ours, 6, new byte[tcpLength]);
        Assert.Equal(pseudoOnly, field);
        Assert.Equal(34, _pool.Metadata(merged[0]).ChecksumStart);
        ReleaseAll(merged);
    }

    [Fact]
    public void A_short_segment_padded_to_the_ethernet_minimum_merges_without_its_padding()
    {
        byte[] padded = Frame4(Data(1000, 2, timestamps: null) with { Timestamps = null });
        Assert.True(padded.Length < 60);
        Array.Resize(ref padded, 60);
        PacketBuffer[] merged = Merge(padded, Frame4(Data(1002, 100) with { Timestamps = null }));

        byte[] frame = Bytes(Assert.Single(merged));
        Assert.Equal(14 + 20 + 20 + 102, frame.Length);
        Assert.Equal([.. PayloadAt(1000, 102)], Tcp(frame).Payload);
        ReleaseAll(merged);
    }

    [Fact]
    public void A_segment_whose_first_buffer_holds_only_headers_gives_that_buffer_back_and_chains_the_rest()
    {
        byte[] second = Frame4(Data(2000, 1000));
        PacketBuffer[] merged = Merge(OffloadReport.PerFrame, Receive(Frame4(Data(1000, 1000))), Receive(second, firstPiece: 14 + 20 + 32));

        PacketBuffer super = Assert.Single(merged);
        Assert.Equal([.. PayloadAt(1000, 2000)], Tcp(Bytes(super)).Payload);
        Assert.Equal(2, _pool.Metadata(super).Segments);
        ReleaseAll(merged);
    }

    [Fact]
    public void Segments_the_driver_did_not_verify_are_summed_in_software_and_merged_when_good()
    {
        PacketBuffer[] merged = Merge(OffloadReport.PerFrame,
            Receive(Frame4(Data(1000, 1448)), OffloadFlags.None),
            Receive(Frame4(Data(2448, 1448)), OffloadFlags.None));

        Assert.Single(merged);
        Assert.Equal(2, Count(LroCounter.ChecksumsInSoftware));
        Assert.Equal(Verified, _pool.Metadata(merged[0]).Offload & ReceiveFacts.ChecksumFlags);
        ReleaseAll(merged);
    }

    [Fact]
    public void A_driver_that_never_reports_checksums_has_its_flags_ignored_and_every_segment_summed()
    {
        // The flags say verified, but the driver's facts say it never checks: a bad segment is caught.
        PacketBuffer[] merged = Merge(OffloadReport.Never,
            Receive(Frame4(Data(1000, 1448))),
            Receive(Frame4(Data(2448, 1448), new Ip { BadTcpChecksum = true })));

        Assert.Equal(2, merged.Length);
        Assert.Equal(1, Count(LroCounter.BadChecksum));
        ReleaseAll(merged);
    }

    [Fact]
    public void Partial_checksums_count_as_good_and_the_super_frame_is_marked_verified()
    {
        PacketBuffer[] merged = Merge(OffloadReport.PerFrame,
            Receive(Frame4(Data(1000, 1448)), OffloadFlags.L4ChecksumPartial),
            Receive(Frame4(Data(2448, 1448)), OffloadFlags.L4ChecksumPartial));

        Assert.Equal(Verified, _pool.Metadata(Assert.Single(merged)).Offload & ReceiveFacts.ChecksumFlags);
        Assert.Equal(0, Count(LroCounter.ChecksumsInSoftware)); // the IPv4 header alone was summed
        ReleaseAll(merged);
    }

    // ---- the rules, one field each ---------------------------------------------------------------

    /// <summary>The second segment of two, contiguous with the first but for one field.</summary>
    private static (byte[] First, byte[] Second, LroCounter Counter) Broken(string rule)
    {
        TcpSeg first = Data(1000, 1000);
        TcpSeg next = Data(2000, 1000);
        return rule switch
        {
            "bad checksum" => (Frame4(first), Frame4(next, new Ip { BadTcpChecksum = true }), LroCounter.BadChecksum),
            "ipv4 options" => (Frame4(first), Frame4(next, new Ip { Options = [1, 1, 1, 0] }), LroCounter.IpOptions),
            "ipv4 fragment" => (Frame4(first), Frame4(next, new Ip { FlagsAndOffset = 0x2000 }), LroCounter.IpOptions),
            "ipv6 extension header" => (Frame6(first), Frame6(next, new Ip { Ipv6Extension = [6, 0, 1, 4, 0, 0, 0, 0] }), LroCounter.IpOptions),
            "no payload" => (Frame4(first), Frame4(Data(2000, 0)), LroCounter.NoPayload),
            "fin" => (Frame4(first), Frame4(next with { Flags = TcpFlags.Ack | TcpFlags.Fin }), LroCounter.Flags),
            "syn" => (Frame4(first), Frame4(next with { Flags = TcpFlags.Ack | TcpFlags.Syn }), LroCounter.Flags),
            "rst" => (Frame4(first), Frame4(next with { Flags = TcpFlags.Ack | TcpFlags.Rst }), LroCounter.Flags),
            "urg" => (Frame4(first), Frame4(next with { Flags = TcpFlags.Ack | TcpFlags.Urg }), LroCounter.Flags),
            "ece" => (Frame4(first), Frame4(next with { Flags = TcpFlags.Ack | TcpFlags.Ece }), LroCounter.Flags),
            "cwr" => (Frame4(first), Frame4(next with { Flags = TcpFlags.Ack | TcpFlags.Cwr }), LroCounter.Flags),
            "no ack" => (Frame4(first), Frame4(next with { Flags = TcpFlags.Psh }), LroCounter.Flags),
            "sack option" => (Frame4(first), Frame4(next with { Sack = [(5000, 6000)] }), LroCounter.TcpOptions),
            "timestamps in another layout" => (Frame4(first), Frame4(next with { Timestamps = null, RawOptions = [8, 10, 0, 0, 0, 101, 0, 0, 0, 201, 1, 1] }), LroCounter.TcpOptions),
            "not contiguous" => (Frame4(first), Frame4(Data(2001, 1000)), LroCounter.Sequence),
            "retransmission" => (Frame4(first), Frame4(Data(1000, 1000)), LroCounter.Sequence),
            "header length" => (Frame4(first with { Timestamps = null }), Frame4(next), LroCounter.HeaderLength),
            "timestamp value backwards" => (Frame4(first), Frame4(Data(2000, 1000, timestamps: (99, 200))), LroCounter.Timestamps),
            "timestamp echo backwards" => (Frame4(first), Frame4(Data(2000, 1000, timestamps: (100, 199))), LroCounter.Timestamps),
            "ttl" => (Frame4(first), Frame4(next, new Ip { Ttl = 63 }), LroCounter.IpFields),
            "ecn congestion experienced" => (Frame4(first), Frame4(next, new Ip { Tos = 3 }), LroCounter.IpFields),
            "dont fragment" => (Frame4(first), Frame4(next, new Ip { FlagsAndOffset = 0 }), LroCounter.IpFields),
            "hop limit" => (Frame6(first), Frame6(next, new Ip { Ttl = 63 }), LroCounter.IpFields),
            _ => throw new ArgumentException(rule),
        };
    }

    [Theory]
    [InlineData("bad checksum")]
    [InlineData("ipv4 options")]
    [InlineData("ipv4 fragment")]
    [InlineData("ipv6 extension header")]
    [InlineData("no payload")]
    [InlineData("fin")]
    [InlineData("syn")]
    [InlineData("rst")]
    [InlineData("urg")]
    [InlineData("ece")]
    [InlineData("cwr")]
    [InlineData("no ack")]
    [InlineData("sack option")]
    [InlineData("timestamps in another layout")]
    [InlineData("not contiguous")]
    [InlineData("retransmission")]
    [InlineData("header length")]
    [InlineData("timestamp value backwards")]
    [InlineData("timestamp echo backwards")]
    [InlineData("ttl")]
    [InlineData("ecn congestion experienced")]
    [InlineData("dont fragment")]
    [InlineData("hop limit")]
    public void A_segment_that_breaks_one_rule_is_not_merged_passes_through_untouched_and_is_counted(string rule)
    {
        (byte[] first, byte[] second, LroCounter counter) = Broken(rule);

        // Unverified by the driver: the checksum rule is the merger's own sum.
        PacketBuffer[] merged = Merge(OffloadReport.PerFrame, Receive(first, OffloadFlags.None), Receive(second, OffloadFlags.None));

        Assert.Equal(2, merged.Length);
        Assert.Equal(first, Bytes(merged[0]));
        Assert.Equal(second, Bytes(merged[1]));
        Assert.All(merged, p => Assert.Equal(GsoType.None, _pool.Metadata(p).Gso));
        Assert.Equal(1, Count(counter));
        Assert.Equal(0, Count(LroCounter.SuperFrames));
        ReleaseAll(merged);
    }

    [Fact]
    public void Segments_of_other_ports_or_another_station_are_other_flows()
    {
        PacketBuffer[] merged = Merge(
            Frame4(Data(1000, 1000)),
            Frame4(Data(2000, 1000, sourcePort: ClientPort + 1)),
            Frame4(Data(2000, 1000), new Ip { Source = new MacAddress(0x02, 0xAA, 0, 0, 0, 0x09) }));

        Assert.Equal(3, merged.Length);
        Assert.Equal(0, Count(LroCounter.SuperFrames));
        ReleaseAll(merged);
    }

    [Fact]
    public void A_frame_the_port_merged_already_passes_through_and_ends_its_flow()
    {
        PacketBuffer first = Receive(Frame4(Data(1000, 1000)));
        PacketBuffer portMerged = Receive(Frame4(Data(2000, 1000)));
        _pool.Metadata(portMerged).Gso = GsoType.TcpV4;
        PacketBuffer[] merged = Merge(OffloadReport.PerFrame, first, portMerged, Receive(Frame4(Data(3000, 1000))));

        Assert.Equal(3, merged.Length);
        Assert.Equal(0, Count(LroCounter.SuperFrames));
        ReleaseAll(merged);
    }

    // ---- order ------------------------------------------------------------------------------------

    [Fact]
    public void Interleaved_flows_merge_each_and_no_flow_is_reordered()
    {
        byte[] udp = Frames.Udp4Frame(Us, StackHarness.Client, StackHarness.Ours, 53, 53, [1, 2, 3]);
        PacketBuffer[] merged = Merge(
            Frame4(Data(1000, 500)),                                           // A1
            Frame4(Data(9000, 500, sourcePort: 41000)),                        // B1
            Frame4(Data(1500, 500)),                                           // A2: into A1
            udp,                                                               // C
            Frame4(Data(9500, 500, sourcePort: 41000)),                        // B2: into B1
            Frame4(Data(2000, 500, TcpFlags.Ack | TcpFlags.Fin)),              // A3: not mergeable, ends A
            Frame4(Data(2500, 500)),                                           // A4: after A3, so a new A
            Frame4(Data(10000, 500, sourcePort: 41000)));                      // B3: into B1

        Assert.Equal(5, merged.Length);
        (ushort Port, uint Seq, int Length)[] seen = [.. merged.Take(2).Concat(merged.Skip(3)).Select(p =>
        {
            TcpSeg t = Tcp(Bytes(p));
            return (t.SourcePort, t.Seq, t.Payload.Length);
        })];
        Assert.Equal([(ClientPort, 1000u, 1000), ((ushort)41000, 9000u, 1500), (ClientPort, 2000u, 500), (ClientPort, 2500u, 500)], seen);
        Assert.Equal(udp, Bytes(merged[2]));
        Assert.Equal(1, Count(LroCounter.Flags));
        ReleaseAll(merged);
    }

    [Fact]
    public void A_fragment_between_two_addresses_ends_every_flow_between_them()
    {
        PacketBuffer[] merged = Merge(
            Frame4(Data(1000, 500)),
            Frame4(Data(1500, 500), new Ip { FlagsAndOffset = 0x2000 }),
            Frame4(Data(2000, 500)));

        Assert.Equal(3, merged.Length);
        ReleaseAll(merged);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Random_bursts_of_interleaved_flows_keep_every_flows_bytes_and_segments_in_order(int seed)
    {
        var random = new Random(seed);
        for (int round = 0; round < 50; round++)
        {
            // Three flows, each a run of segments with now and then a gap, a pure ACK, a FIN, a bad
            // checksum or a retransmission; the burst interleaves them at random.
            var next = new uint[3];
            var frames = new List<(int Flow, byte[] Frame)>();
            for (int i = 0; i < 32; i++)
            {
                int flow = random.Next(3);
                ushort port = (ushort)(41000 + flow);
                uint seq = next[flow];
                int length = random.Next(1, 1449);
                int kind = random.Next(12);
                TcpSeg seg = kind switch
                {
                    0 => Data(seq, 0, sourcePort: port),
                    1 => Data(seq, length, TcpFlags.Ack | TcpFlags.Fin, sourcePort: port),
                    2 => Data(seq + 100, length, sourcePort: port),
                    3 => Data(seq - (uint)Math.Min(seq, 50u), length, sourcePort: port),
                    _ => Data(seq, length, kind == 4 ? TcpFlags.Ack | TcpFlags.Psh : TcpFlags.Ack, sourcePort: port),
                };
                next[flow] = seg.Seq + (uint)seg.Payload.Length;
                frames.Add((flow, Frame4(seg, new Ip { BadTcpChecksum = kind == 5 })));
            }
            PacketBuffer[] burst = [.. frames.Select(f => Receive(f.Frame, OffloadFlags.None))];

            PacketBuffer[] merged = Merge(OffloadReport.PerFrame, burst);

            // Per flow, the segments (sequence number and payload) and the bytes come out in the order they went in.
            for (int flow = 0; flow < 3; flow++)
            {
                TcpSeg[] sent = [.. frames.Where(f => f.Flow == flow).Select(f => Tcp(f.Frame))];
                TcpSeg[] got = [.. merged.Select(p => Tcp(Bytes(p))).Where(t => t.SourcePort == 41000 + flow)];
                Assert.Equal(sent.SelectMany(t => t.Payload), got.SelectMany(t => t.Payload));
                // Each frame out starts where a segment in started, those segments in their order.
                int j = 0;
                foreach (TcpSeg g in got)
                {
                    while (j < sent.Length && !(sent[j].Seq == g.Seq && (sent[j].Flags & ~TcpFlags.Psh) == (g.Flags & ~TcpFlags.Psh)))
                        j++;
                    Assert.True(j < sent.Length, $"flow {flow}: a frame out at {g.Seq} that no segment in started, in order");
                    j++;
                }
            }
            Assert.All(merged, p => Assert.Equal(_pool.Metadata(p).PacketLength, 14 + BinaryPrimitives.ReadUInt16BigEndian(Bytes(p).AsSpan(16))));
            ReleaseAll(merged);
        }
        Assert.True(Count(LroCounter.SuperFrames) > 0);
    }

    // ---- limits -----------------------------------------------------------------------------------

    [Fact]
    public void With_every_flow_record_taken_a_new_flow_goes_on_unmerged_and_the_held_ones_still_merge()
    {
        var lro = new SoftLro(new WorkerContext(0, _pool, _cache, new TimerWheel(0), [null]), _counters, flows: 2);
        PacketBuffer[] burst = [.. new[]
        {
            Frame4(Data(1000, 500)), Frame4(Data(5000, 500, sourcePort: 41000)), Frame4(Data(9000, 500, sourcePort: 42000)),
            Frame4(Data(1500, 500)), Frame4(Data(5500, 500, sourcePort: 41000)), Frame4(Data(9500, 500, sourcePort: 42000)),
        }.Select(f => Receive(f))];

        PacketBuffer[] merged = burst[..lro.Merge(burst, OffloadReport.PerFrame)];

        Assert.Equal([1000, 1000, 500, 500], merged.Select(p => Tcp(Bytes(p)).Payload.Length));
        Assert.Equal(2, Count(LroCounter.SuperFrames));
        ReleaseAll(merged);
    }


    [Theory]
    [InlineData(1243, 1)] // 20 + 32 + 44 * 1460 + 1243 = 65,535: the largest IPv4 total length
    [InlineData(1244, 2)] // one byte more: the last segment starts a super-frame of its own
    public void A_super_frame_holds_at_most_what_the_ipv4_total_length_field_can_say(int last, int frames)
    {
        var burst = new List<PacketBuffer>();
        uint seq = 1000;
        for (int i = 0; i < 44; i++, seq += 1460)
            burst.Add(Receive(Frame4(Data(seq, 1460))));
        burst.Add(Receive(Frame4(Data(seq, last))));

        PacketBuffer[] merged = Merge(OffloadReport.PerFrame, [.. burst]);

        Assert.Equal(frames, merged.Length);
        byte[] frame = Bytes(merged[0]);
        Assert.Equal(frames == 1 ? 65535 : 20 + 32 + 44 * 1460, BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(16)));
        Assert.Equal(frames == 1 ? 0 : 1, Count(LroCounter.Full));
        Assert.Equal(45, _pool.Metadata(merged[0]).Segments + (frames - 1));
        ReleaseAll(merged);
    }

    // ---- allocation ---------------------------------------------------------------------------------

    [Fact]
    public void Merging_a_burst_allocates_nothing()
    {
        byte[][] frames = [.. Enumerable.Range(0, WorkerContext.BurstSize).Select(i => i % 4 == 3
            ? Frame4(Data(90000u + (uint)i * 100, 100, sourcePort: 41000))
            : Frame4(Data(1000u + (uint)i * 1448, 1448)))];
        var burst = new PacketBuffer[frames.Length];

        long allocated = Allocations.Least(5, () =>
        {
            for (int r = 0; r < 100; r++)
            {
                for (int i = 0; i < frames.Length; i++)
                {
                    FrameChain.TryAllocate(_cache, frames[i].Length, out burst[i]);
                    FrameChain.Write(_pool, burst[i], 0, frames[i]);
                    _pool.Metadata(burst[i]).Offload = Verified;
                }
                int n = _lro.Merge(burst, OffloadReport.PerFrame);
                _cache.Release(burst.AsSpan(0, n));
            }
        });

        Assert.Equal(0, allocated);
        Assert.Equal(0, Outstanding);
    }
}
