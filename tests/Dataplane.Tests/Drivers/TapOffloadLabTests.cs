using System.Buffers.Binary;
using System.Globalization;
using Dataplane.Buffers;
using Dataplane.Drivers.Tap;
using Dataplane.Wire;

namespace Dataplane.Tests.Drivers;

/// <summary>
/// The tap's offloads against the kernel, judged by the kernel's counters and by tshark reading
/// tcpdump's captures. The tap is moved into a host namespace; for what must leave the host
/// finished (a checksum filled in, a super-frame cut), the host routes it on through a veth with no
/// offloads to a far namespace (<see cref="TapLab.Router"/>), where tcpdump and the kernel, which
/// checks every checksum there, see what really went out.
/// </summary>
[Trait("Category", "Linux")]
public class TapOffloadLabTests
{
    /// <summary>The bound of every wait for the kernel or a tool: a safety net, generous for a loaded machine.</summary>
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [SkippableFact]
    public void A_udp_frame_sent_with_a_partial_checksum_crosses_the_tap_partial_and_leaves_the_host_with_the_right_one()
    {
        TapLab.RequireRoot();
        using var lab = new TapLab();
        string tap = TapLab.UniqueName('t');
        var pool = new BufferPool(128);
        var cache = new BufferCache(pool, size: 64, burst: 16);
        using var port = new TapPort("left", tap, queues: 1);
        string host = lab.Namespace();
        TapLab.MoveInto(tap, host, "10.66.0.1/24");
        (string far, _, string farEnd) = lab.Router(host);
        TapQueue queue = port.Queue(0, cache);
        port.Start();

        const int Frames = 4;
        string atHost = lab.File("host.pcap"), atFar = lab.File("far.pcap");
        LabProcess hostDump = lab.Capture(host, tap, Frames, atHost, "udp");
        LabProcess farDump = lab.Capture(far, farEnd, Frames, atFar, "udp");
        Dictionary<string, long> before = TapLab.Snmp(far, "Udp");

        var payloads = new List<byte[]>();
        var burst = new PacketBuffer[Frames];
        for (int i = 0; i < Frames; i++)
        {
            byte[] payload = new byte[100 + 37 * i];
            new Random(i).NextBytes(payload);
            payloads.Add(payload);
            burst[i] = TapLab.Buffer(cache, TapFrames.PartialUdp(port.Mac, port.KernelMac, TapLab.FarAddress, 9000, payload));
            ref BufferMetadata m = ref pool.Metadata(burst[i]);
            m.Offload = OffloadFlags.L4ChecksumPartial;
            m.ChecksumStart = 14 + 20;
            m.ChecksumOffset = 6;
        }
        // One frame a window: the first (the warm-up) binds writev's P/Invoke, once per process; each
        // of the others is the data path's per-frame work, which allocates nothing.
        int next = 0, taken = 0;
        long allocated = Allocations.Least(Frames - 1, () => taken += queue.Transmit(burst.AsSpan(next++, 1)));
        Assert.Equal(Frames, taken);
        Assert.Equal(0, allocated);
        Assert.Equal(Frames, port.Counters(0).TransmittedPackets);
        Assert.Equal(payloads.Sum(p => 42L + p.Length), port.Counters(0).TransmittedBytes);
        Assert.Equal(0, port.Counters(0).Errors);

        Assert.Equal(0, hostDump.WaitForExit(Patience));
        Assert.Equal(0, farDump.WaitForExit(Patience));

        // On the tap, as we wrote them: the checksum field still holds the partial pseudo-header
        // sum, and tshark (not checking checksums, its default) finds nothing wrong with the frames.
        ushort partial0 = TapFrames.PartialChecksum(TapLab.OurAddress, TapLab.FarAddress, 17, 8 + payloads[0].Length);
        string[] seenAtHost = Tshark(atHost, [], "udp.checksum", "udp.payload");
        Assert.Equal(Frames, seenAtHost.Length);
        Assert.Equal($"0x{partial0:x4}", seenAtHost[0].Split('\t')[0]);
        Assert.Empty(Problems(atHost, checkChecksums: false));

        // Behind the host: tshark checks every checksum and finds each good, the payloads intact,
        // and the far kernel (checking checksums itself) counted no checksum error.
        string[] seenAtFar = Tshark(atFar, ["-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE"],
            "ip.checksum.status", "udp.checksum.status", "udp.payload");
        Assert.Equal(Frames, seenAtFar.Length);
        for (int i = 0; i < Frames; i++)
            Assert.Equal($"1\t1\t{Convert.ToHexStringLower(payloads[i])}", seenAtFar[i]);
        Assert.Empty(Problems(atFar, checkChecksums: true));
        Dictionary<string, long> after = TapLab.Snmp(far, "Udp");
        Assert.Equal(before["InCsumErrors"], after["InCsumErrors"]);
        Assert.Equal(before["NoPorts"] + Frames, after["NoPorts"]); // counted only after its checksum passed
    }

    [SkippableFact]
    public void A_tso_super_frame_we_send_is_cut_by_the_kernel_into_segments_of_the_asked_size()
    {
        TapLab.RequireRoot();
        using var lab = new TapLab();
        string tap = TapLab.UniqueName('t');
        var pool = new BufferPool(256);
        var cache = new BufferCache(pool, size: 128, burst: 32);
        using var port = new TapPort("left", tap, queues: 1, tso: true);
        string host = lab.Namespace();
        TapLab.MoveInto(tap, host, "10.66.0.1/24");
        (string far, _, string farEnd) = lab.Router(host);
        TapQueue queue = port.Queue(0, cache);
        port.Start();

        const int Payload = 20_000, Mss = 1400, Segments = (Payload + Mss - 1) / Mss; // 15
        const uint Sequence = 0x10000000;
        string atFar = lab.File("far.pcap");
        LabProcess farDump = lab.Capture(far, farEnd, Segments, atFar, "tcp and src host 10.66.0.2");
        Dictionary<string, long> before = TapLab.Snmp(far, "Tcp");

        byte[] data = new byte[Payload];
        new Random(7).NextBytes(data);
        byte[] frame = TapFrames.PartialTcp(port.Mac, port.KernelMac, TapLab.FarAddress, 5001, Sequence, data);
        PacketBuffer head = TapLab.Chain(cache, frame, 2048);
        ref BufferMetadata m = ref pool.Metadata(head);
        Assert.Equal(10, m.Segments);
        m.Offload = OffloadFlags.L4ChecksumPartial;
        m.ChecksumStart = 14 + 20;
        m.ChecksumOffset = 16;
        m.Gso = GsoType.TcpV4;
        m.SegmentSize = Mss;
        Assert.Equal(1, queue.Transmit([head]));
        Assert.Equal(1, port.Counters(0).TransmittedPackets);
        Assert.Equal(frame.Length, port.Counters(0).TransmittedBytes);
        Assert.Equal(0, port.Counters(0).Errors);

        Assert.Equal(0, farDump.WaitForExit(Patience));
        string[] segments = Tshark(atFar, ["-o", "ip.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE"],
            "tcp.seq_raw", "tcp.len", "ip.len", "ip.checksum.status", "tcp.checksum.status", "tcp.payload");
        Assert.Equal(Segments, segments.Length);
        var received = new List<byte>();
        for (int i = 0; i < Segments; i++)
        {
            string[] f = segments[i].Split('\t');
            int length = Math.Min(Mss, Payload - i * Mss);
            Assert.Equal((Sequence + (uint)(i * Mss)).ToString(CultureInfo.InvariantCulture), f[0]);
            Assert.Equal(length.ToString(CultureInfo.InvariantCulture), f[1]);
            Assert.Equal((40 + length).ToString(CultureInfo.InvariantCulture), f[2]);
            Assert.Equal("1", f[3]); // IPv4 header checksum good (each segment's total length and id rewritten)
            Assert.Equal("1", f[4]); // TCP checksum good
            received.AddRange(Convert.FromHexString(f[5]));
        }
        Assert.Equal(data, received.ToArray());
        Assert.Empty(Problems(atFar, checkChecksums: true));
        Dictionary<string, long> after = TapLab.Snmp(far, "Tcp");
        Assert.Equal(before["InCsumErrors"], after["InCsumErrors"]);
        Assert.Equal(before["InSegs"] + Segments, after["InSegs"]);
    }

    [SkippableFact]
    public void A_frame_longer_than_a_buffer_arrives_as_a_chain_with_its_bytes_intact_and_goes_back_out_as_one()
    {
        TapLab.RequireRoot();
        using var lab = new TapLab();
        string tap = TapLab.UniqueName('t');
        var pool = new BufferPool(512);
        var cache = new BufferCache(pool, size: 256, burst: 32);
        var echoes = new List<(BufferMetadata Head, int[] Pieces, byte[] Frame)>();
        using (var port = new TapPort("left", tap, queues: 2, tso: true, mtu: 9000))
        {
            Assert.Equal(9000, port.Mtu);
            string host = lab.Namespace();
            TapLab.MoveInto(tap, host, "10.66.0.1/24");
            TapQueue[] queues = [port.Queue(0, cache), port.Queue(1, cache)];
            port.Start();

            // One 8042-byte frame each way per ping: 14 + 20 + 8 + 8000, under the tap's MTU of 9000.
            LabProcess ping = lab.StartIn(host, "ping", "-n", "-c", "2", "-i", "0.2", "-W", "5", "-s", "8000", "-p", "ab", "-M", "do", "-I", tap, "10.66.0.2");
            bool finished = TapLab.Pump(queues, (q, frame) =>
            {
                byte[] bytes = TapLab.Bytes(pool, frame);
                if (TapFrames.IsArpRequestFor(bytes, TapLab.OurAddress, out MacAddress askerMac, out Ipv4Address askerIp))
                {
                    cache.Release(frame);
                    queues[q].Transmit([TapLab.Buffer(cache, TapFrames.ArpReply(port.Mac, TapLab.OurAddress, askerMac, askerIp))]);
                }
                else if (TapFrames.IsEchoRequestTo(bytes, TapLab.OurAddress))
                {
                    var pieces = new List<int>();
                    for (int i = frame.Index; i >= 0; i = pool.Metadata(new PacketBuffer(i)).Next)
                        pieces.Add(pool.Metadata(new PacketBuffer(i)).DataLength);
                    echoes.Add((pool.Metadata(frame), [.. pieces], bytes));
                    TapFrames.ReflectEcho(pool, frame, port.Mac); // the same chain goes back, with writev
                    Assert.Equal(1, queues[q].Transmit([frame]));
                }
                else
                {
                    cache.Release(frame);
                }
            }, () => ping.HasExited, Patience);

            Assert.True(finished, $"ping did not finish: {ping.Output}");
            Assert.True(ping.WaitForExit(Patience) == 0, $"ping failed: {ping.Output}{ping.Error}");
            Assert.Contains("2 received", ping.Output, StringComparison.Ordinal);
            Assert.Equal(2, echoes.Count);
            foreach ((BufferMetadata m, int[] pieces, byte[] bytes) in echoes)
            {
                Assert.Equal(8042, m.PacketLength);
                Assert.Equal(4, m.Segments);
                Assert.Equal([2048, 2048, 2048, 1898], pieces);
                Assert.Equal(GsoType.None, m.Gso);
                Assert.Equal(8042, bytes.Length);
                Assert.Equal(8042 - 34, BinaryPrimitives.ReadUInt16BigEndian(bytes.AsSpan(16)) - 20);
                Assert.True(InternetChecksum.IsValid(bytes.AsSpan(34)), "ICMP checksum over the reassembled chain");
                Assert.All(bytes[(42 + 16)..], b => Assert.Equal(0xab, b)); // ping's pattern after its timestamp
            }
            Assert.Equal(0, port.Counters(0).Errors + port.Counters(1).Errors);
            Assert.Equal(0, port.Counters(0).ReceiveDrops + port.Counters(1).ReceiveDrops);
        }
        cache.Flush();
        Assert.Equal(pool.Count, pool.Shared.Count);
    }

    [SkippableTheory]
    [InlineData(true)]
    [InlineData(false)]
    public void Tcp_from_the_host_arrives_as_super_frames_with_tso_and_as_single_segments_without(bool tso)
    {
        TapLab.RequireRoot();
        using var lab = new TapLab();
        string tap = TapLab.UniqueName('t');
        var pool = new BufferPool(512);
        var cache = new BufferCache(pool, size: 256, burst: 32);
        using var port = new TapPort("left", tap, queues: 1, tso: tso);
        string host = lab.Namespace();
        TapLab.MoveInto(tap, host, "10.66.0.1/24");
        TapQueue queue = port.Queue(0, cache);
        port.Start();

        byte[] data = new byte[30_000];
        new Random(11).NextBytes(data);
        string file = lab.File("data");
        File.WriteAllBytes(file, data);
        // The host connects to us and sends the file; we answer its SYN, never ACK, and read its
        // first flight: an initial window of 10 segments (MSS 1460, no options), cut where socat's
        // 8192-byte writes end, so 14032 bytes.
        lab.StartIn(host, "socat", "-u", $"OPEN:{file}", "TCP4:10.66.0.2:5001,connect-timeout=5");
        const uint Isn = 1000;
        uint? theirs = null;
        var segments = new List<(BufferMetadata Head, byte[] Frame)>();
        var got = new SortedDictionary<long, int>();
        bool finished = TapLab.Pump([queue], (_, frame) =>
        {
            byte[] bytes = TapLab.Bytes(pool, frame);
            BufferMetadata m = pool.Metadata(frame);
            cache.Release(frame);
            if (TapFrames.IsArpRequestFor(bytes, TapLab.OurAddress, out MacAddress askerMac, out Ipv4Address askerIp))
            {
                queue.Transmit([TapLab.Buffer(cache, TapFrames.ArpReply(port.Mac, TapLab.OurAddress, askerMac, askerIp))]);
                return;
            }
            if (!EthernetFrame.TryCreate(bytes, out EthernetFrame eth) || eth.EtherType != EtherType.Ipv4
                || !Ipv4Packet.TryCreate(eth.Payload, out Ipv4Packet ip) || ip.Protocol != IpProtocol.Tcp
                || !TcpSegment.TryCreate(ip.Payload, out TcpSegment tcp) || tcp.DestinationPort != 5001)
                return;
            if ((tcp.Flags & TcpFlags.Syn) != 0)
            {
                theirs = tcp.SequenceNumber;
                queue.Transmit([TapLab.Buffer(cache, TapFrames.SynAck(bytes, port.Mac, Isn))]);
            }
            else if (tcp.Payload.Length > 0)
            {
                segments.Add((m, bytes));
                long offset = tcp.SequenceNumber - (theirs!.Value + 1);
                Assert.Equal(data.AsSpan((int)offset, tcp.Payload.Length).ToArray(), tcp.Payload.ToArray());
                got[offset] = Math.Max(tcp.Payload.Length, got.GetValueOrDefault(offset)); // not shortened by a retransmission
            }
        }, () => Contiguous(got) >= 10_000, Patience);
        Assert.True(finished, $"got {Contiguous(got)} bytes in {segments.Count} frames: "
            + string.Join(", ", segments.Select(s => $"{s.Head.PacketLength} bytes {s.Head.Gso}/{s.Head.SegmentSize}")));

        foreach ((BufferMetadata m, byte[] frame) in segments)
        {
            // Locally made TCP reaches us with its checksum partial: TUN_F_CSUM is on either way.
            Assert.Equal(OffloadFlags.L4ChecksumPartial, m.Offload);
            Assert.Equal(34, m.ChecksumStart);
            Assert.Equal(16, m.ChecksumOffset);
            Assert.Equal(frame.Length, m.PacketLength);
            Assert.Equal((frame.Length + 2047) / 2048, m.Segments);
        }
        if (tso)
        {
            Assert.Contains(segments, s => s.Head.Gso == GsoType.TcpV4 && s.Head.PacketLength > 1514 && s.Head.Segments > 1);
            Assert.All(segments.Where(s => s.Head.Gso != GsoType.None), s => Assert.Equal(1460, s.Head.SegmentSize));
        }
        else
        {
            Assert.All(segments, s => Assert.Equal(GsoType.None, s.Head.Gso));
            Assert.All(segments, s => Assert.True(s.Head.PacketLength <= 1514, $"{s.Head.PacketLength} bytes"));
        }
        Assert.Equal(0, port.Counters(0).Errors + port.Counters(0).ReceiveDrops);
    }

    /// <summary>Bytes received from offset 0 on without a gap.</summary>
    private static long Contiguous(SortedDictionary<long, int> pieces)
    {
        long end = 0;
        foreach ((long offset, int length) in pieces)
        {
            if (offset > end)
                break;
            end = Math.Max(end, offset + length);
        }
        return end;
    }

    /// <summary>tshark -r <paramref name="pcap"/> printing <paramref name="fields"/>, one line a frame.</summary>
    private static string[] Tshark(string pcap, string[] options, params string[] fields)
    {
        var args = new List<string> { "-r", pcap, "-n" };
        args.AddRange(options);
        args.AddRange(["-T", "fields"]);
        foreach (string field in fields)
            args.AddRange(["-e", field]);
        return TapLab.Run("tshark", [.. args]).Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    /// <summary>Frames tshark calls malformed or flags with an expert warning or error (bad checksums among them when checked).</summary>
    private static string[] Problems(string pcap, bool checkChecksums)
    {
        string[] options = checkChecksums
            ? ["-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE"]
            : [];
        // _ws.expert.severity: 0x00600000 warning, 0x00800000 error. TCP sequence analysis is off: the
        // captures hold one direction of no connection, which it would flag as segments not captured.
        return TapLab.Run("tshark", ["-r", pcap, "-n", "-o", "tcp.analyze_sequence_numbers:FALSE", .. options,
                "-Y", "_ws.malformed or _ws.expert.severity >= 0x00600000"])
            .Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }
}
