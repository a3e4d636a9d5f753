using System.Buffers.Binary;
using Dataplane.Buffers;
using Dataplane.Ports;
using Dataplane.Stack;
using Dataplane.Wire;
using static Dataplane.Tests.Stack.StackHarness;

namespace Dataplane.Tests.Stack.Offload;

/// <summary>
/// Super-frames through the stack (issue 13): each chop rule on literal frames (Linux's
/// tcp_gso_segment and __udp_gso_segment, OpenBSD's tcp_chopper), forwarding whole or cut by the
/// egress port's capabilities and MTU, super-frames for this host, and what a lying virtio-net
/// header gets. Frames are built and checked with the tests' own checksum (<see cref="Frames"/>).
/// </summary>
public class SegmentationTests
{
    private const int Mss = 1448;
    private const int Mss6 = 1428; // 1500 - 40 - 32: IPv6 and TCP with timestamps
    private const TcpFlags Ack = TcpFlags.Ack;

    // Ports: p0 takes super-frames (LRO); p1 as the test says.
    private static StackHarness Router(PortCapabilities egress, int mtu1 = 1500, int poolBuffers = 4096)
        => StackHarness.Router(mtu1: mtu1, poolBuffers: poolBuffers, capabilities: [PortCapabilities.Lro | PortCapabilities.ReceiveChecksum, egress]).Started().KnowingPeers();

    /// <summary>Patterned payload, so that a byte out of place shows.</summary>
    private static byte[] Payload(int length)
    {
        byte[] p = new byte[length];
        for (int i = 0; i < length; i++)
            p[i] = (byte)(i * 13 + (i >> 8));
        return p;
    }

    /// <summary>A TCP header with the timestamps option (32 bytes, as Linux sends), its checksum over <paramref name="payload"/> filled for the family.</summary>
    private static byte[] Tcp(bool ipv6, uint sequence, TcpFlags flags, byte[] payload, Ipv6Address? source6 = null, Ipv6Address? destination6 = null)
    {
        byte[] t = new byte[32 + payload.Length];
        BinaryPrimitives.WriteUInt16BigEndian(t, 40000);
        BinaryPrimitives.WriteUInt16BigEndian(t.AsSpan(2), 5001);
        BinaryPrimitives.WriteUInt32BigEndian(t.AsSpan(4), sequence);
        BinaryPrimitives.WriteUInt32BigEndian(t.AsSpan(8), 777);
        BinaryPrimitives.WriteUInt16BigEndian(t.AsSpan(12), (ushort)(8 << 12 | (ushort)flags));
        BinaryPrimitives.WriteUInt16BigEndian(t.AsSpan(14), 512);
        t[20] = 1; t[21] = 1; t[22] = 8; t[23] = 10; // NOP NOP timestamps
        BinaryPrimitives.WriteUInt32BigEndian(t.AsSpan(24), 1234);
        BinaryPrimitives.WriteUInt32BigEndian(t.AsSpan(28), 5678);
        payload.CopyTo(t, 32);
        ushort sum = ipv6 ? Frames.Checksum6(source6 ?? Client6, destination6 ?? Server6, 6, t) : Frames.Checksum4(Client, Server, 6, t);
        BinaryPrimitives.WriteUInt16BigEndian(t.AsSpan(16), sum);
        return t;
    }

    private static byte[] Super4(StackHarness h, byte[] tcp, bool dontFragment = true, ushort id = 0xFFFE, byte protocol = 6, byte[]? options = null, Ipv4Address? destination = null)
        => Frames.Ethernet(h.Mac(0), PeerMac, Frames.TypeIpv4,
            Frames.Ipv4(Client, destination ?? Server, protocol, id, tcp, options, flagsAndOffset: dontFragment ? (ushort)0x4000 : (ushort)0));

    private static byte[] Super6(StackHarness h, byte[] upper, byte next = 6, Ipv6Address? destination = null)
        => Frames.Ipv6Frame(h.Mac(0), Client6, destination ?? Server6, next, upper);

    /// <summary>Checks one IPv4 TCP segment cut from a super-frame and returns its TCP header and payload.</summary>
    private static (uint Sequence, TcpFlags Flags, ushort Id, byte[] Payload) Segment4(byte[] f)
    {
        Assert.Equal(Frames.TypeIpv4, BinaryPrimitives.ReadUInt16BigEndian(f.AsSpan(12)));
        Span<byte> ip = f.AsSpan(14);
        Assert.Equal(0, Frames.Checksum(ip[..20])); // the header checksum, per segment
        int total = BinaryPrimitives.ReadUInt16BigEndian(ip[2..]);
        Assert.Equal(f.Length - 14, total);
        Assert.Equal(63, ip[8]); // one hop less, copied
        byte[] tcp = ip[20..total].ToArray();
        Assert.Equal(0, Frames.Checksum4(Client, Server, 6, tcp)); // the TCP checksum, per segment
        Assert.Equal(tcp.AsSpan(20, 12).ToArray(), new byte[] { 1, 1, 8, 10, 0, 0, 4, 0xD2, 0, 0, 0x16, 0x2E }); // options copied
        return (BinaryPrimitives.ReadUInt32BigEndian(tcp.AsSpan(4)), (TcpFlags)(BinaryPrimitives.ReadUInt16BigEndian(tcp.AsSpan(12)) & 0x1FF),
            BinaryPrimitives.ReadUInt16BigEndian(ip[4..]), tcp[32..]);
    }

    [Fact]
    public void A_tcp4_super_frame_for_a_port_without_tso_is_cut_into_mss_segments_each_with_its_sequence_id_lengths_and_checksums()
    {
        StackHarness h = Router(PortCapabilities.None);
        byte[] payload = Payload(3 * Mss + 700);
        byte[] frame = Super4(h, Tcp(false, 0xFFFFF000, Ack | TcpFlags.Psh | TcpFlags.Fin | TcpFlags.Cwr, payload));

        h.ReceiveSuperFrame(0, frame, GsoType.TcpV4, Mss, OffloadFlags.L4ChecksumVerified);

        List<byte[]> sent = h.Sent(1);
        Assert.Equal(4, sent.Count);
        for (int i = 0; i < 4; i++)
        {
            (uint seq, TcpFlags flags, ushort id, byte[] data) = Segment4(sent[i]);
            Assert.Equal(unchecked(0xFFFFF000 + (uint)(i * Mss)), seq); // advanced by the payload before it, wrapping
            Assert.Equal((ushort)(0xFFFE + i), id); // the original id plus the index, wrapping (Linux)
            Assert.Equal(payload.AsSpan(i * Mss, Math.Min(Mss, payload.Length - i * Mss)).ToArray(), data);
            TcpFlags expected = Ack | (i == 0 ? TcpFlags.Cwr : 0) | (i == 3 ? TcpFlags.Psh | TcpFlags.Fin : 0);
            Assert.Equal(expected, flags); // CWR on the first only (RFC 3168 6.1.2), PSH and FIN on the last only
        }
        Assert.Equal(14 + 20 + 32 + 700, sent[3].Length);
        Assert.Equal(1, h.Count(IpCounter.Forwarded));
        Assert.Equal(1, h.Count(OffloadCounter.Segmented));
        Assert.Equal(4, h.Count(OffloadCounter.SegmentsCreated));
        Assert.Equal(0, h.BuffersOutstanding);
    }

    [Fact]
    public void A_tcp6_super_frame_is_cut_with_each_payload_length_and_checksum_and_the_hop_limit_decremented_once()
    {
        StackHarness h = Router(PortCapabilities.None);
        byte[] payload = Payload(2 * Mss6 + 1);
        byte[] frame = Super6(h, Tcp(true, 1000, Ack | TcpFlags.Psh, payload));

        h.ReceiveSuperFrame(0, frame, GsoType.TcpV6, Mss6, OffloadFlags.L4ChecksumVerified);

        List<byte[]> sent = h.Sent(1);
        Assert.Equal(3, sent.Count);
        for (int i = 0; i < 3; i++)
        {
            byte[] f = sent[i];
            int length = BinaryPrimitives.ReadUInt16BigEndian(f.AsSpan(14 + 4));
            Assert.Equal(f.Length - 54, length);
            Assert.Equal(63, f[14 + 7]);
            byte[] tcp = f[54..];
            Assert.Equal(0, Frames.Checksum6(Client6, Server6, 6, tcp));
            Assert.Equal(1000u + (uint)(i * Mss6), BinaryPrimitives.ReadUInt32BigEndian(tcp.AsSpan(4)));
            Assert.Equal(i == 2, (tcp[13] & (byte)TcpFlags.Psh) != 0);
            Assert.Equal(payload.AsSpan(i * Mss6, Math.Min(Mss6, payload.Length - i * Mss6)).ToArray(), tcp[32..]);
        }
        Assert.Equal(1, h.Count(Ip6Counter.Forwarded));
        Assert.Equal(0, h.BuffersOutstanding);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_udp_super_frame_is_cut_into_datagrams_each_with_its_own_udp_length_and_checksum(bool ipv6)
    {
        StackHarness h = Router(PortCapabilities.None);
        const int size = 1200;
        byte[] payload = Payload(2 * size + 100);
        byte[] udp = ipv6 ? Frames.Udp6(Client6, Server6, 40000, 9, payload) : Frames.Udp4(Client, Server, 40000, 9, payload);
        byte[] frame = ipv6 ? Super6(h, udp, next: 17) : Super4(h, udp, protocol: 17);

        h.ReceiveSuperFrame(0, frame, GsoType.Udp, size, OffloadFlags.L4ChecksumVerified);

        List<byte[]> sent = h.Sent(1);
        Assert.Equal(3, sent.Count);
        int l3 = ipv6 ? 40 : 20;
        for (int i = 0; i < 3; i++)
        {
            byte[] d = sent[i][(14 + l3)..];
            Assert.Equal(d.Length, BinaryPrimitives.ReadUInt16BigEndian(d.AsSpan(4)));
            Assert.Equal(0, ipv6 ? Frames.Checksum6(Client6, Server6, 17, d) : Frames.Checksum4(Client, Server, 17, d));
            Assert.Equal(payload.AsSpan(i * size, Math.Min(size, payload.Length - i * size)).ToArray(), d[8..]);
        }
        Assert.Equal(0, h.BuffersOutstanding);
    }

    [Fact]
    public void A_verified_super_frame_leaves_whole_for_a_port_with_tso_with_its_segment_size_and_a_partial_checksum()
    {
        StackHarness h = Router(PortCapabilities.Tso | PortCapabilities.TransmitChecksum);
        byte[] payload = Payload(40 * Mss);
        byte[] frame = Super4(h, Tcp(false, 1, Ack, payload));

        h.ReceiveSuperFrame(0, frame, GsoType.TcpV4, Mss, OffloadFlags.L4ChecksumVerified);

        (byte[] f, BufferMetadata m) = Assert.Single(h.SentWithMetadata(1));
        Assert.Equal(frame.Length, f.Length);
        Assert.Equal(GsoType.TcpV4, m.Gso);
        Assert.Equal(Mss, m.SegmentSize);
        Assert.True((m.Offload & OffloadFlags.L4ChecksumPartial) != 0); // virtio: NEEDS_CSUM with every GSO type
        Assert.Equal(34, m.ChecksumStart);
        Assert.Equal(16, m.ChecksumOffset);
        Assert.Equal(63, f[14 + 8]);
        Assert.Equal(0, Frames.Checksum(f.AsSpan(14, 20)));
        // The field holds the pseudo-header sum over the whole length: finishing it gives the true checksum.
        byte[] tcp = f[34..];
        BinaryPrimitives.WriteUInt16BigEndian(tcp.AsSpan(16), Frames.Checksum(tcp)); // what the kernel does: sum from ChecksumStart, the field included
        Assert.Equal(0, Frames.Checksum4(Client, Server, 6, tcp));
        Assert.Equal(1, h.Count(OffloadCounter.SentWhole));
        Assert.Equal(0, h.Count(OffloadCounter.Segmented));
        Assert.Equal(0, h.BuffersOutstanding);
    }

    [Fact]
    public void A_port_that_finishes_checksums_but_cannot_segment_gets_segments_with_partial_checksums()
    {
        StackHarness h = Router(PortCapabilities.TransmitChecksum);
        byte[] payload = Payload(2 * Mss);
        h.ReceiveSuperFrame(0, Super4(h, Tcp(false, 1, Ack, payload)), GsoType.TcpV4, Mss, OffloadFlags.L4ChecksumVerified);

        List<(byte[] Frame, BufferMetadata Metadata)> sent = h.SentWithMetadata(1);
        Assert.Equal(2, sent.Count);
        foreach ((byte[] f, BufferMetadata m) in sent)
        {
            Assert.Equal(GsoType.None, m.Gso);
            Assert.True((m.Offload & OffloadFlags.L4ChecksumPartial) != 0);
            Assert.Equal(34, m.ChecksumStart);
            Assert.Equal(16, m.ChecksumOffset);
            byte[] tcp = f[34..];
            ushort field = BinaryPrimitives.ReadUInt16BigEndian(tcp.AsSpan(16));
            BinaryPrimitives.WriteUInt16BigEndian(tcp.AsSpan(16), Frames.Checksum(tcp)); // what the port does: sum from ChecksumStart, the field included
            Assert.Equal(0, Frames.Checksum4(Client, Server, 6, tcp));
            Assert.NotEqual(0, field);
        }
        Assert.Equal(0, h.BuffersOutstanding);
    }

    [Fact]
    public void Jumbo_segments_longer_than_a_buffer_are_built_as_chains_with_checksums_over_every_buffer()
    {
        // A 9,000-byte link: 8,948-byte segments of 9,014-byte frames, each a chain of 2 KiB buffers;
        // the last one odd-sized, so a buffer boundary falls at an odd place of the checksummed run.
        StackHarness h = StackHarness.Router(mtu0: 9000, mtu1: 9000, capabilities: [PortCapabilities.Lro, PortCapabilities.None]).Started().KnowingPeers();
        const int Jumbo = 9000 - 20 - 32;
        byte[] payload = Payload(2 * Jumbo + 1001);
        h.ReceiveSuperFrame(0, Super4(h, Tcp(false, 5, Ack | TcpFlags.Psh, payload)), GsoType.TcpV4, Jumbo, OffloadFlags.L4ChecksumVerified);

        List<byte[]> sent = h.Sent(1);
        Assert.Equal(3, sent.Count);
        Assert.Equal(9014, sent[0].Length);
        for (int i = 0; i < 3; i++)
        {
            (uint seq, _, _, byte[] data) = Segment4(sent[i]);
            Assert.Equal(5u + (uint)(i * Jumbo), seq);
            Assert.Equal(payload.AsSpan(i * Jumbo, Math.Min(Jumbo, payload.Length - i * Jumbo)).ToArray(), data);
        }
        Assert.Equal(0, h.BuffersOutstanding);
    }

    [Fact]
    public void A_super_frame_whose_segments_fit_is_judged_by_its_segment_not_its_total_length()
    {
        StackHarness h = Router(PortCapabilities.None, mtu1: 1500);
        h.ReceiveSuperFrame(0, Super4(h, Tcp(false, 1, Ack, Payload(44 * Mss))), GsoType.TcpV4, Mss, OffloadFlags.L4ChecksumVerified);
        List<byte[]> sent = h.Sent(1);
        Assert.Equal(44, sent.Count);
        Assert.All(sent, f => Assert.True(f.Length - 14 <= 1500));
        Assert.Equal(0, h.Count(IpCounter.CantFragment));
    }

    [Fact]
    public void A_tcp4_segment_above_the_egress_mtu_with_df_is_answered_with_fragmentation_needed_and_the_mtu()
    {
        StackHarness h = Router(PortCapabilities.Tso, mtu1: 1400);
        h.ReceiveSuperFrame(0, Super4(h, Tcp(false, 1, Ack, Payload(4 * Mss))), GsoType.TcpV4, Mss, OffloadFlags.L4ChecksumVerified);

        Assert.Empty(h.Sent(1));
        byte[] icmp = Assert.Single(h.Sent(0))[34..];
        Assert.Equal(3, icmp[0]);
        Assert.Equal(4, icmp[1]); // fragmentation needed and DF set (RFC 1191 4)
        Assert.Equal(1400, BinaryPrimitives.ReadUInt16BigEndian(icmp.AsSpan(6)));
        Assert.Equal(1, h.Count(IpCounter.CantFragment));
        Assert.Equal(0, h.BuffersOutstanding);
    }

    [Fact]
    public void A_tcp6_segment_above_the_egress_mtu_is_answered_with_packet_too_big_and_the_mtu()
    {
        StackHarness h = Router(PortCapabilities.Tso, mtu1: 1400);
        h.ReceiveSuperFrame(0, Super6(h, Tcp(true, 1, Ack, Payload(4 * Mss))), GsoType.TcpV6, Mss, OffloadFlags.L4ChecksumVerified);

        Assert.Empty(h.Sent(1));
        byte[] icmp = Assert.Single(h.Sent(0))[54..];
        Assert.Equal(2, icmp[0]); // packet too big (RFC 4443 3.2)
        Assert.Equal(1400u, BinaryPrimitives.ReadUInt32BigEndian(icmp.AsSpan(4)));
        Assert.Equal(1, h.Count(Ip6Counter.TooBig));
        Assert.Equal(0, h.BuffersOutstanding);
    }

    [Fact]
    public void A_tcp4_segment_above_the_egress_mtu_without_df_is_cut_then_fragmented_and_no_frame_passes_the_mtu()
    {
        StackHarness h = Router(PortCapabilities.Tso, mtu1: 1000);
        h.ReceiveSuperFrame(0, Super4(h, Tcp(false, 1, Ack, Payload(3 * Mss)), dontFragment: false), GsoType.TcpV4, Mss, OffloadFlags.L4ChecksumVerified);

        List<byte[]> sent = h.Sent(1);
        Assert.Equal(6, sent.Count); // three segments of 1,500 bytes, two fragments each
        Assert.All(sent, f => Assert.True(f.Length - 14 <= 1000));
        Assert.Equal(3, h.Count(IpCounter.Fragmented));
        Assert.Equal(0, h.Count(OffloadCounter.SentWhole));
        Assert.Equal(0, h.BuffersOutstanding);
    }

    [Fact]
    public void A_super_frame_for_this_host_is_cut_at_the_door_and_each_segment_taken_by_the_normal_input()
    {
        StackHarness h = Router(PortCapabilities.None);
        byte[] payload = Payload(3 * 1000);
        byte[] udp = Frames.Udp4(Client, Ours, 40000, 9, payload);

        h.ReceiveSuperFrame(0, Super4(h, udp, protocol: 17, destination: Ours), GsoType.Udp, 1000, OffloadFlags.L4ChecksumVerified);

        Assert.Equal(1, h.Count(OffloadCounter.ForUs));
        Assert.Equal(3, h.Count(IpCounter.Received)); // each segment, not the super-frame
        Assert.Equal(3, h.Count(IpCounter.Delivered));
        Assert.Equal(0, h.Count(UdpCounter.BadChecksum));
        h.Sent(0);
        Assert.Equal(0, h.BuffersOutstanding);
    }

    [Fact]
    public void A_super_frame_from_a_port_with_lro_off_is_cut_at_the_door_even_when_forwarded()
    {
        StackHarness h = StackHarness.Router(capabilities: [PortCapabilities.None, PortCapabilities.Tso]).Started().KnowingPeers();
        h.ReceiveSuperFrame(0, Super4(h, Tcp(false, 1, Ack, Payload(3 * Mss))), GsoType.TcpV4, Mss, OffloadFlags.L4ChecksumVerified);

        Assert.Equal(3, h.Sent(1).Count);
        Assert.Equal(1, h.Count(OffloadCounter.LroOff));
        Assert.Equal(3, h.Count(IpCounter.Forwarded));
        Assert.Equal(0, h.BuffersOutstanding);
    }

    [Fact]
    public void A_super_frame_with_no_checksum_state_is_verified_whole_before_it_is_cut()
    {
        StackHarness h = Router(PortCapabilities.None);
        byte[] good = Super4(h, Tcp(false, 1, Ack, Payload(2 * Mss)));
        h.ReceiveSuperFrame(0, good, GsoType.TcpV4, Mss);
        Assert.Equal(2, h.Sent(1).Count);

        byte[] bad = (byte[])good.Clone();
        bad[^1] ^= 0x40;
        h.ReceiveSuperFrame(0, bad, GsoType.TcpV4, Mss);
        Assert.Empty(h.Sent(1)); // fresh checksums would have laundered it
        Assert.Equal(1, h.Count(OffloadCounter.BadChecksum));
        Assert.Equal(0, h.BuffersOutstanding);
    }

    public enum Lie
    {
        SegmentSizeZero,
        SegmentSizeBeyondPayload,
        TcpV4OnIpv6,
        TcpV6OnIpv4,
        UdpOnTcp,
        TcpOnUdp,
        ChecksumStartBeyondFrame,
        ChecksumOffsetOffTheField,
        Ipv4Options,
        Ipv6HopByHop,
        TcpHeaderCutShort,
    }

    [Theory]
    [InlineData(Lie.SegmentSizeZero, (int)OffloadCounter.BadSegmentSize)]
    [InlineData(Lie.SegmentSizeBeyondPayload, (int)OffloadCounter.BadSegmentSize)]
    [InlineData(Lie.TcpV4OnIpv6, (int)OffloadCounter.TypeMismatch)]
    [InlineData(Lie.TcpV6OnIpv4, (int)OffloadCounter.TypeMismatch)]
    [InlineData(Lie.UdpOnTcp, (int)OffloadCounter.TypeMismatch)]
    [InlineData(Lie.TcpOnUdp, (int)OffloadCounter.TypeMismatch)]
    [InlineData(Lie.ChecksumStartBeyondFrame, (int)OffloadCounter.BadChecksumOffset)]
    [InlineData(Lie.ChecksumOffsetOffTheField, (int)OffloadCounter.BadChecksumOffset)]
    [InlineData(Lie.Ipv4Options, (int)OffloadCounter.Ipv4Options)]
    [InlineData(Lie.Ipv6HopByHop, (int)OffloadCounter.Ipv6ExtensionHeaders)]
    [InlineData(Lie.TcpHeaderCutShort, (int)OffloadCounter.BadHeaders)]
    public void A_super_frame_whose_header_lies_is_dropped_and_counted_by_name_and_nothing_else_is_affected(Lie lie, int expected)
    {
        var counter = (OffloadCounter)expected;
        StackHarness h = Router(PortCapabilities.None);
        byte[] tcp4 = Tcp(false, 1, Ack, Payload(2 * Mss));
        byte[] frame = lie switch
        {
            Lie.TcpV4OnIpv6 => Super6(h, Tcp(true, 1, Ack, Payload(2 * Mss))),
            Lie.TcpOnUdp => Super4(h, Frames.Udp4(Client, Server, 1, 2, Payload(2 * Mss)), protocol: 17),
            Lie.Ipv4Options => Super4(h, tcp4, options: [1, 1, 1, 0]),
            Lie.Ipv6HopByHop => Super6(h, [6, 0, 1, 4, 0, 0, 0, 0, .. Tcp(true, 1, Ack, Payload(2 * Mss))], next: 0),
            Lie.TcpHeaderCutShort => Super4(h, [.. tcp4[..12], 0xF0, .. tcp4[13..40]]),
            _ => Super4(h, tcp4),
        };
        GsoType gso = lie switch
        {
            Lie.TcpV6OnIpv4 or Lie.Ipv6HopByHop => GsoType.TcpV6,
            Lie.UdpOnTcp => GsoType.Udp,
            _ => GsoType.TcpV4,
        };
        int size = lie switch { Lie.SegmentSizeZero => 0, Lie.SegmentSizeBeyondPayload => 2 * Mss + 1, _ => Mss };
        (int start, int offset) = lie switch
        {
            Lie.ChecksumStartBeyondFrame => (frame.Length + 100, 16),
            Lie.ChecksumOffsetOffTheField => (34, 4),
            _ => (34, 16),
        };
        OffloadFlags state = lie is Lie.ChecksumStartBeyondFrame or Lie.ChecksumOffsetOffTheField ? OffloadFlags.L4ChecksumPartial : OffloadFlags.L4ChecksumVerified;

        h.ReceiveSuperFrame(0, frame, gso, size, state, start, offset);

        Assert.Equal(1, h.Count(counter));
        Assert.Empty(h.Sent(1));
        Assert.Empty(h.Sent(0));
        Assert.Equal(0, h.Count(IpCounter.Received) + h.Count(Ip6Counter.Received)); // dropped before IP
        Assert.Equal(0, h.BuffersOutstanding);
        // Nothing else affected: the next honest super-frame goes through.
        h.ReceiveSuperFrame(0, Super4(h, tcp4), GsoType.TcpV4, Mss, OffloadFlags.L4ChecksumVerified);
        Assert.Equal(2, h.Sent(1).Count);
        Assert.Equal(0, h.BuffersOutstanding);
    }

    [Fact]
    public void A_super_frame_whose_chain_ends_before_its_length_is_dropped_and_counted()
    {
        StackHarness h = Router(PortCapabilities.None);
        byte[] frame = Super4(h, Tcp(false, 1, Ack, Payload(4 * Mss)));
        Assert.True(FrameChain.TryAllocate(h.Cache, frame.Length, out PacketBuffer head));
        FrameChain.Write(h.Pool, head, 0, frame);
        ref BufferMetadata m = ref h.Pool.Metadata(head);
        m.Gso = GsoType.TcpV4;
        m.SegmentSize = Mss;
        m.Offload = OffloadFlags.L4ChecksumVerified;
        // A driver's fault: the last buffer leaves the chain, the length still counts it.
        PacketBuffer last = head, before = head;
        while (h.Pool.Metadata(last).Next >= 0)
        {
            before = last;
            last = new PacketBuffer(h.Pool.Metadata(last).Next);
        }
        h.Pool.Metadata(before).Next = -1;
        h.Cache.Release(last);

        h.Worker.Input(0, head);
        h.Context.FlushAll();

        Assert.Equal(1, h.Count(OffloadCounter.ShortChain));
        Assert.Empty(h.Sent(1));
        Assert.Equal(0, h.BuffersOutstanding);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(5)]
    public void When_the_pool_runs_dry_mid_chop_what_was_not_built_is_dropped_and_counted_and_no_buffer_leaks(int left)
    {
        StackHarness h = Router(PortCapabilities.None, poolBuffers: 512);
        byte[] frame = Super4(h, Tcp(false, 1, Ack, Payload(40 * Mss)));
        // The super-frame first (34 buffers), then every other buffer taken but `left`.
        Assert.True(FrameChain.TryAllocate(h.Cache, frame.Length, out PacketBuffer head));
        FrameChain.Write(h.Pool, head, 0, frame);
        ref BufferMetadata m = ref h.Pool.Metadata(head);
        m.Gso = GsoType.TcpV4;
        m.SegmentSize = Mss;
        m.Offload = OffloadFlags.L4ChecksumVerified;
        var held = new List<PacketBuffer>();
        while (h.Cache.TryAllocate(out PacketBuffer b))
            held.Add(b);
        for (int i = 0; i < left; i++)
        {
            h.Cache.Release(held[^1]);
            held.RemoveAt(held.Count - 1);
        }

        h.Worker.Input(0, head);
        h.Context.FlushAll();

        Assert.Equal(left, h.Count(OffloadCounter.SegmentsCreated));
        Assert.Equal(40 - left, h.Count(OffloadCounter.NoBuffer));
        foreach (PacketBuffer b in held)
            h.Cache.Release(b);
        Assert.Equal(left, h.Sent(1).Count);
        Assert.Equal(0, h.BuffersOutstanding);
    }

    [Theory]
    [InlineData((int)PortCapabilities.None)]
    [InlineData((int)PortCapabilities.TransmitChecksum)]
    [InlineData((int)(PortCapabilities.Tso | PortCapabilities.TransmitChecksum))]
    public void Forwarding_a_super_frame_allocates_nothing_in_the_steady_state(int capabilities)
    {
        var egress = (PortCapabilities)capabilities;
        StackHarness h = Router(egress);
        byte[] frame = Super4(h, Tcp(false, 1, Ack, Payload(40 * Mss)));
        long allocated = SteadyStateAllocation(() =>
        {
            h.ReceiveSuperFrame(0, frame, GsoType.TcpV4, Mss, OffloadFlags.L4ChecksumVerified);
            h.Discard(1);
        }, 50);
        Assert.Equal(0, allocated);
        Assert.Equal(0, h.BuffersOutstanding);
    }

    [Fact]
    public void Cutting_a_super_frame_for_this_host_at_the_door_allocates_nothing_in_the_steady_state()
    {
        StackHarness h = Router(PortCapabilities.None);
        byte[] frame = Super4(h, Frames.Udp4(Client, Ours, 40000, 9, Payload(40 * 1000)), protocol: 17, destination: Ours);
        long allocated = SteadyStateAllocation(() =>
        {
            h.ReceiveSuperFrame(0, frame, GsoType.Udp, 1000, OffloadFlags.L4ChecksumVerified);
            h.Discard(0); // the port unreachables the rate limit lets through
        }, 50);
        Assert.Equal(0, allocated);
        Assert.True(h.Count(IpCounter.Delivered) >= 50 * 40);
        Assert.Equal(0, h.BuffersOutstanding);
    }
}
