using Dataplane.Buffers;
using Dataplane.Stack;
using Dataplane.Stack.Transport.Tcp;
using Dataplane.Wire;
using static Dataplane.Tests.Stack.Tcp.TcpLab;

namespace Dataplane.Tests.Stack.Tcp;

/// <summary>
/// TCP's own super-segments (TSO, issue 13 item 3): toward a port that cuts segments, new data of
/// two or more whole segments leaves as one frame with its segment size and a partial checksum,
/// and the peer receives (from <see cref="StackHarness.Sent"/>, which cuts it as the port would)
/// exactly the segments the stack would have sent one by one. Retransmissions stay single
/// segments, and loss recovery sees the segments the peer sees.
/// </summary>
public class TcpTsoTests
{
    private const int Mss = 1460;

    /// <summary>
    /// The initial window (10 segments, RFC 6928) leaves as one super-segment cut at the MSS (1,460;
    /// 1,440 over IPv6); the peer gets ten segments in sequence with the app's bytes, PSH on none (more is
    /// queued); the counters count ten data segments and one super-segment.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void The_initial_window_leaves_as_one_super_segment_and_arrives_as_its_ten_segments(bool ipv6)
    {
        TcpLab lab = Established(ipv6, windowScale: 7, tso: true);
        int mss = ipv6 ? 1440 : Mss; // the route's MTU less the IP and TCP headers (the peer offered 1460)
        uint s0 = lab.Peer.StackNxt;
        byte[] data = Bytes(30_000);
        lab.Connection.Send(data);

        List<TcpSeg> sent = lab.Peer.Sent();
        (byte[] frame, int segmentSize) = Assert.Single(lab.Host.SuperFrames);
        Assert.Equal(mss, segmentSize);
        Assert.Equal(14 + (ipv6 ? 40 : 20) + 20 + 10 * mss, frame.Length);
        Assert.Equal(10, sent.Count);
        for (int i = 0; i < sent.Count; i++)
        {
            Assert.Equal(s0 + (uint)(i * mss), sent[i].Seq);
            Assert.Equal(data.AsSpan(i * mss, mss).ToArray(), sent[i].Payload);
            Assert.Equal(TcpFlags.Ack, sent[i].Flags);
        }
        Assert.Equal(1, lab.Host.Count(TcpCounter.SuperSegmentsSent));
        Assert.Equal(10, lab.Host.Count(TcpCounter.DataSegmentsSent));
    }

    /// <summary>
    /// A super-segment never passes what an IP packet holds: with a large window, what the ACKs let
    /// out goes in frames of at most 45 segments (65,535 bytes less the headers), and the last
    /// piece of the stream carries PSH and FIN when the app closed.
    /// </summary>
    [Fact]
    public void Super_segments_stay_within_an_ip_packet_and_the_last_piece_carries_psh_and_fin()
    {
        TcpLab lab = Established(windowScale: 7, tso: true, tcpBuffer: 1 << 20);
        uint s0 = lab.Peer.StackNxt;
        byte[] data = Bytes(400 * Mss + 700);
        int queued = 0;
        var received = new List<byte>();
        TcpSeg? last = null;
        for (int round = 0; round < 40 && received.Count < data.Length; round++)
        {
            if (queued < data.Length)
                queued += lab.Connection.Send(data.AsSpan(queued));
            if (queued == data.Length && lab.Connection.State == TcpState.Established)
                lab.Connection.Close();
            List<TcpSeg> sent = lab.Peer.Sent();
            foreach (TcpSeg s in sent)
            {
                Assert.Equal(s0 + (uint)received.Count, s.Seq);
                received.AddRange(s.Payload);
                last = s;
            }
            if (sent.Count > 0)
            {
                lab.Peer.StackNxt = sent[^1].Seq + (uint)sent[^1].SequenceLength;
                lab.Peer.SendAck();
            }
        }
        Assert.Equal(data, received.ToArray());
        Assert.NotNull(last);
        Assert.Equal(TcpFlags.Ack | TcpFlags.Psh | TcpFlags.Fin, last!.Flags);
        Assert.True(lab.Host.SuperFrames.Count >= 8, $"{lab.Host.SuperFrames.Count} super-segments");
        Assert.All(lab.Host.SuperFrames, f => Assert.InRange(f.Frame.Length - 14 - 20 - 20, 2 * Mss, 45 * Mss));
    }

    /// <summary>
    /// Loss recovery over super-segments is what it is over segments (TcpRecoveryTests' first
    /// case): of ten segments that left in one frame, 1 and 3 are lost; recovery sends exactly
    /// those, once each, as single segments.
    /// </summary>
    [Fact]
    public void Recovery_sends_exactly_the_lost_pieces_of_a_super_segment_as_single_segments()
    {
        TcpLab lab = TcpRecoveryTests.Lab(tso: true);
        uint s0 = lab.Peer.StackNxt;
        lab.Connection.Send(Bytes(10 * Mss));
        List<TcpSeg> flight = lab.Peer.Sent();
        Assert.Equal(10, flight.Count);
        Assert.Single(lab.Host.SuperFrames);
        lab.Host.Advance(TimeSpan.FromMilliseconds(100));

        var rx = new SackReceiver(s0);
        var again = new List<TcpSeg>();
        foreach (int i in (int[])[0, 2, 4, 5, 6, 7, 8, 9])
            again.AddRange(TcpRecoveryTests.Deliver(lab, rx, flight[i]));
        Assert.True(again.Select(s => s.Seq).SequenceEqual([s0 + Mss, s0 + 3 * Mss]), $"sent again: {TcpRecoveryTests.Show(again, s0)}");
        Assert.All(again, s => Assert.Equal(Mss, s.Payload.Length));
        Assert.Single(lab.Host.SuperFrames);
        Assert.Equal(2, lab.Host.Count(TcpCounter.Retransmitted));
    }

    /// <summary>Toward a port that does not cut segments, nothing changes: the same window leaves as ten frames.</summary>
    [Fact]
    public void Without_tso_on_the_port_segments_leave_one_by_one()
    {
        TcpLab lab = Established(windowScale: 7);
        lab.Connection.Send(Bytes(30_000));
        Assert.Equal(10, lab.Peer.Sent().Count);
        Assert.Empty(lab.Host.SuperFrames);
        Assert.Equal(0, lab.Host.Count(TcpCounter.SuperSegmentsSent));
    }

    /// <summary>
    /// The send path over a port that cuts segments allocates nothing once warm: each round the app
    /// queues 8 segments' worth, one super-segment leaves, and the peer's ACK takes all of it.
    /// </summary>
    [Fact]
    public void Sending_super_segments_allocates_nothing_in_the_steady_state()
    {
        TcpLab lab = Established(windowScale: 7, tso: true, tcpBuffer: 1 << 20);
        TcpSocket connection = lab.Connection;
        byte[] payload = Bytes(8 * Mss); // within the initial window: every round leaves whole
        byte[][] acks = new byte[100][];
        uint acked = lab.Peer.StackNxt;
        long supers = 0;

        long allocated = Allocations.Least(3, () =>
        {
            long before = lab.Host.Count(TcpCounter.SuperSegmentsSent);
            foreach (byte[] ack in acks)
            {
                connection.Send(payload);
                lab.Host.Discard(0);
                lab.Host.Receive(0, ack);
                lab.Host.Discard(0);
            }
            supers = lab.Host.Count(TcpCounter.SuperSegmentsSent) - before;
        }, prepare: () =>
        {
            for (int i = 0; i < acks.Length; i++)
            {
                acked += (uint)payload.Length;
                acks[i] = lab.Peer.Frame(lab.Peer.Seg(TcpFlags.Ack) with { Ack = acked });
            }
        });

        Assert.Equal(0, allocated);
        Assert.True(supers >= acks.Length, $"{supers} super-segments in {acks.Length} rounds");
        Assert.Equal(0, connection.SendQueued);
    }

    /// <summary>
    /// The other way (LRO): a super-frame for this host from a port with lro on (a tap's TSO, the
    /// kernel's GRO under afpacket) is taken whole by TCP: all 20 segments' bytes reach the app from
    /// the one chain, and the ACK goes at once, since it holds more than one segment (Linux's
    /// __tcp_ack_snd_check), not after the delayed-ACK time.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_super_frame_for_this_host_is_taken_whole_by_tcp_and_acknowledged_at_once(bool ipv6)
    {
        TcpLab lab = Established(ipv6, windowScale: 7, tcpBuffer: 1 << 20, lro: true);
        lab.App.ReadOnReceive = true;
        byte[] data = Bytes(20 * 1448);
        byte[] frame = lab.Peer.Frame(lab.Peer.Seg(TcpFlags.Ack | TcpFlags.Psh, data));
        lab.Peer.Nxt += (uint)data.Length;

        lab.Host.ReceiveSuperFrame(0, frame, ipv6 ? GsoType.TcpV6 : GsoType.TcpV4, 1448, OffloadFlags.L4ChecksumVerified);

        Assert.Equal(1, lab.Host.Count(OffloadCounter.TakenWhole));
        Assert.Equal(0, lab.Host.Count(OffloadCounter.ForUs));
        Assert.Equal(data, lab.App.Received);
        Assert.Equal(lab.Peer.Nxt, lab.Peer.Sent()[0].Ack); // window updates may follow as the app reads
        Assert.Equal(0, lab.Host.Count(TcpCounter.BadChecksum));
    }

    /// <summary>
    /// On a jumbo MTU (9,000) without TSO, a full segment (8,960 bytes) is longer than a buffer: it
    /// is built in a chain, its checksum over every buffer. Before, the one-buffer build failed and
    /// counted "no buffer", so nothing full-sized left (the conformance jumbo column sent 0 bit/s
    /// with notso).
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_jumbo_segment_without_tso_is_built_in_a_chain_with_its_checksum_over_every_buffer(bool ipv6)
    {
        int mss = 9000 - (ipv6 ? 40 : 20) - 20;
        TcpLab lab = Established(ipv6, mss: (ushort)mss, windowScale: 7, tcpBuffer: 1 << 20, mtu: 9000);
        uint s0 = lab.Peer.StackNxt;
        byte[] data = Bytes(3 * mss);
        lab.Connection.Send(data);

        // The initial window is min(10 MSS, max(2 MSS, 14,600 bytes)) = 2 segments (RFC 6928 2).
        List<TcpSeg> sent = lab.Peer.Sent(); // each parsed with its checksum checked
        Assert.Equal(2, sent.Count);
        for (int i = 0; i < sent.Count; i++)
        {
            Assert.Equal(s0 + (uint)(i * mss), sent[i].Seq);
            Assert.Equal(data.AsSpan(i * mss, mss).ToArray(), sent[i].Payload);
        }
        Assert.Empty(lab.Host.SuperFrames);
        Assert.Equal(0, lab.Host.Count(TcpCounter.NoBuffer));
    }
}
