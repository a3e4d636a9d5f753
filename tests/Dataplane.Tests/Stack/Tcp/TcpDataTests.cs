using Dataplane.Stack;
using Dataplane.Stack.Transport.Tcp;
using Dataplane.Wire;
using static Dataplane.Tests.Stack.Tcp.TcpLab;

namespace Dataplane.Tests.Stack.Tcp;

/// <summary>
/// Data on an established connection, over literal segments: delivery in order, delayed
/// acknowledgments (RFC 9293 3.8.6.3, RFC 5681 4.2), segments out of order with SACK (RFC 2018) and
/// DSACK (RFC 2883), urgent data inline (RFC 6093), our segmentation and Nagle (RFC 9293 3.7.4),
/// and a data path that allocates nothing.
/// </summary>
public class TcpDataTests
{
    private const TcpFlags AckPsh = TcpFlags.Ack | TcpFlags.Psh;

    /// <summary>RFC 9293 3.10.7.4 seventh: segment text in order goes to the app, and every second segment is acknowledged at once (RFC 5681 4.2).</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Data_in_order_is_delivered_and_every_second_segment_acknowledged_at_once(bool ipv6)
    {
        TcpLab lab = Established(ipv6);
        byte[] first = Bytes(100, 1), second = Bytes(200, 2);

        lab.Peer.SendData(first);
        lab.Peer.NothingSent();
        lab.Peer.SendData(second);

        TcpSeg ack = lab.Peer.SentOne();
        Assert.Equal(TcpFlags.Ack, ack.Flags);
        Assert.Equal(lab.Peer.Nxt, ack.Ack);
        Assert.Equal(lab.Peer.StackNxt, ack.Seq);
        Assert.Equal([.. first, .. second], ReadAll(lab.Connection));
        Assert.Equal(["accept", "receive", "receive"], lab.App.Events);
        Assert.Equal(2, lab.Host.Count(TcpCounter.DataReceivedInOrder));
    }

    /// <summary>RFC 9293 3.8.6.3 and RFC 5681 4.2: a lone segment's ACK waits for the delayed-ACK timer (40 ms here), then goes.</summary>
    [Fact]
    public void A_lone_segment_is_acknowledged_when_the_delayed_ack_timer_runs_out()
    {
        TcpLab lab = Established();

        lab.Peer.SendData(Bytes(100));

        lab.Peer.NothingSent();
        lab.Host.Advance(TimeSpan.FromMilliseconds(39));
        lab.Peer.NothingSent();
        lab.Host.Advance(TimeSpan.FromMilliseconds(2));
        TcpSeg ack = lab.Peer.SentOne();
        Assert.Equal(lab.Peer.Nxt, ack.Ack);
        Assert.Equal(1, lab.Host.Count(TcpCounter.DelayedAcks));
    }

    /// <summary>RFC 5681 4.2: an acknowledgment that was delayed goes with the next segment we send, and the timer then sends nothing.</summary>
    [Fact]
    public void A_delayed_ack_rides_on_the_data_the_app_sends()
    {
        TcpLab lab = Established();
        lab.Peer.SendData(Bytes(100));

        Assert.Equal(10, lab.Connection.Send(Bytes(10)));

        TcpSeg data = lab.Peer.SentOne();
        Assert.Equal(lab.Peer.Nxt, data.Ack);
        Assert.Equal(10, data.Payload.Length);
        lab.Host.Advance(TimeSpan.FromMilliseconds(50));
        lab.Peer.NothingSent();
    }

    /// <summary>RFC 5681 4.2 and RFC 2018 4: a segment ahead of a hole is acknowledged at once (a duplicate ACK) with a SACK block for it.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_segment_ahead_of_a_hole_gets_an_immediate_duplicate_ack_with_a_sack_block(bool ipv6)
    {
        TcpLab lab = Established(ipv6, sackPermitted: true, timestamps: true);
        uint hole = lab.Peer.Nxt;

        lab.Peer.Send(lab.Peer.Seg(AckPsh, Bytes(100)) with { Seq = hole + 100 });

        TcpSeg ack = lab.Peer.SentOne();
        Assert.Equal(hole, ack.Ack);
        Assert.Equal([(hole + 100, hole + 200)], ack.Sack);
        Assert.Equal(0, lab.Connection.ReadableBytes);
        Assert.Equal(1, lab.Host.Count(TcpCounter.OutOfOrder));
    }

    /// <summary>RFC 5681 4.2: the segment that fills the hole is acknowledged at once, cumulatively, with no SACK block left.</summary>
    [Fact]
    public void Filling_the_hole_is_acknowledged_at_once_and_cumulatively()
    {
        TcpLab lab = Established(sackPermitted: true);
        uint hole = lab.Peer.Nxt;
        byte[] first = Bytes(100, 1), second = Bytes(100, 2);
        lab.Peer.Send(lab.Peer.Seg(AckPsh, second) with { Seq = hole + 100 });
        lab.Peer.SentOne();

        lab.Peer.SendData(first);

        TcpSeg ack = lab.Peer.SentOne();
        Assert.Equal(hole + 200, ack.Ack);
        Assert.Empty(ack.Sack);
        Assert.Equal([.. first, .. second], ReadAll(lab.Connection));
    }

    /// <summary>RFC 2018 4: with two holes, the block holding the most recently received segment comes first.</summary>
    [Fact]
    public void The_sack_block_of_the_latest_segment_comes_first()
    {
        TcpLab lab = Established(sackPermitted: true);
        uint hole = lab.Peer.Nxt;
        lab.Peer.Send(lab.Peer.Seg(AckPsh, Bytes(100)) with { Seq = hole + 100 });
        lab.Peer.SentOne();

        lab.Peer.Send(lab.Peer.Seg(AckPsh, Bytes(100)) with { Seq = hole + 300 });

        TcpSeg ack = lab.Peer.SentOne();
        Assert.Equal(hole, ack.Ack);
        Assert.Equal([(hole + 300, hole + 400), (hole + 100, hole + 200)], ack.Sack);
    }

    /// <summary>RFC 2883 4.1.1: a segment received twice is acknowledged at once, its range in the first SACK block (a DSACK).</summary>
    [Fact]
    public void A_duplicate_segment_is_reported_in_a_dsack_block()
    {
        TcpLab lab = Established(sackPermitted: true, timestamps: true);
        uint start = lab.Peer.Nxt;
        lab.Peer.SendData(Bytes(100));
        lab.Peer.SendData(Bytes(100));
        lab.Peer.SentOne();

        lab.Peer.Send(lab.Peer.Seg(AckPsh, Bytes(100)) with { Seq = start });

        TcpSeg ack = lab.Peer.SentOne();
        Assert.Equal(start + 200, ack.Ack);
        Assert.Equal([(start, start + 100)], ack.Sack);
        Assert.Equal(1, lab.Host.Count(TcpCounter.DuplicateData));
        Assert.Equal(200, ReadAll(lab.Connection).Length);
    }

    /// <summary>RFC 2883: a DSACK block is reported once; the next acknowledgment carries none.</summary>
    [Fact]
    public void A_dsack_block_is_reported_only_once()
    {
        TcpLab lab = Established(sackPermitted: true);
        uint start = lab.Peer.Nxt;
        lab.Peer.SendData(Bytes(100));
        lab.Peer.SendData(Bytes(100));
        lab.Peer.SentOne();
        lab.Peer.Send(lab.Peer.Seg(AckPsh, Bytes(100)) with { Seq = start });
        lab.Peer.SentOne();

        lab.Peer.SendData(Bytes(100));
        lab.Peer.SendData(Bytes(100));

        Assert.Empty(lab.Peer.SentOne().Sack);
    }

    /// <summary>RFC 9293 3.10.7.4 sixth and RFC 6093 (SO_OOBINLINE): a segment with URG set is delivered whole, urgent byte included, and does no harm.</summary>
    [Fact]
    public void Urgent_data_is_delivered_inline()
    {
        TcpLab lab = Established();
        byte[] data = Bytes(10, 7);

        lab.Peer.Send(lab.Peer.Seg(AckPsh | TcpFlags.Urg, data) with { Urgent = 5 });
        lab.Peer.Nxt += 10;
        lab.Peer.SendData(Bytes(10, 50));

        Assert.Equal([.. data, .. Bytes(10, 50)], ReadAll(lab.Connection));
        Assert.Equal(lab.Peer.Nxt, lab.Peer.SentOne().Ack);
        Assert.Equal(TcpState.Established, lab.Connection.State);
    }

    /// <summary>RFC 9293 3.8.6.2.1: a short send with nothing in flight goes at once, pushed, carrying our acknowledgment.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void What_the_app_sends_goes_out_at_once_when_nothing_is_in_flight(bool ipv6)
    {
        TcpLab lab = Established(ipv6);
        byte[] data = Bytes(100, 3);

        Assert.Equal(100, lab.Connection.Send(data));

        TcpSeg seg = lab.Peer.SentOne();
        Assert.Equal(AckPsh, seg.Flags);
        Assert.Equal(lab.Peer.StackNxt, seg.Seq);
        Assert.Equal(lab.Peer.Nxt, seg.Ack);
        Assert.Equal(data, seg.Payload);
    }

    /// <summary>RFC 9293 3.7.1: segments are cut at the peer's MSS (less the 12 bytes of timestamps when they are on, RFC 7323 3.2).</summary>
    [Theory]
    [InlineData(false, 1460)]
    [InlineData(true, 1448)]
    public void Data_is_cut_at_the_peers_mss(bool timestamps, int segment)
    {
        TcpLab lab = Established(timestamps: timestamps);

        lab.Connection.Send(Bytes(2 * segment));

        List<TcpSeg> sent = lab.Peer.Sent();
        Assert.Equal([segment, segment], sent.Select(s => s.Payload.Length));
        Assert.Equal(lab.Peer.StackNxt + (uint)segment, sent[1].Seq);
    }

    /// <summary>RFC 9293 3.7.1: a peer's MSS smaller than ours bounds our segments.</summary>
    [Fact]
    public void A_small_peer_mss_bounds_our_segments()
    {
        TcpLab lab = Established(mss: 536);

        lab.Connection.Send(Bytes(1072));

        Assert.Equal([536, 536], lab.Peer.Sent().Select(s => s.Payload.Length));
    }

    /// <summary>RFC 9293 3.7.4, Nagle: a short segment waits while data is in flight, and goes when it is acknowledged.</summary>
    [Fact]
    public void Nagle_holds_a_short_segment_while_data_is_in_flight()
    {
        TcpLab lab = Established();

        lab.Connection.Send(Bytes(1460 + 100));

        TcpSeg full = lab.Peer.SentOne();
        Assert.Equal(1460, full.Payload.Length);
        lab.Peer.StackNxt += 1460;
        lab.Peer.SendAck();
        TcpSeg tail = lab.Peer.SentOne();
        Assert.Equal(100, tail.Payload.Length);
        Assert.Equal(lab.Peer.StackNxt, tail.Seq);
    }

    /// <summary>RFC 9293 3.7.4: with TCP_NODELAY the short tail goes at once.</summary>
    [Fact]
    public void No_delay_sends_the_short_segment_at_once()
    {
        TcpLab lab = Established();
        lab.Connection.NoDelay = true;

        lab.Connection.Send(Bytes(1460 + 100));

        Assert.Equal([1460, 100], lab.Peer.Sent().Select(s => s.Payload.Length));
    }

    /// <summary>The established data path (segments in, app reads, ACKs out) allocates nothing per segment once warm.</summary>
    [Fact]
    public void Receiving_and_reading_data_allocates_nothing_in_the_steady_state()
    {
        TcpLab lab = Established(sackPermitted: true, timestamps: true);
        TcpSocket connection = lab.Connection;
        byte[] payload = Bytes(1000);
        byte[] into = new byte[2048];
        byte[][] frames = new byte[200][];

        long allocated = Allocations.Least(3, () =>
        {
            foreach (byte[] frame in frames)
            {
                lab.Host.Receive(0, frame);
                connection.Receive(into);
                lab.Host.Discard(0);
            }
        }, prepare: () =>
        {
            for (int i = 0; i < frames.Length; i++)
            {
                frames[i] = lab.Peer.Frame(lab.Peer.Seg(AckPsh, payload));
                lab.Peer.Nxt += (uint)payload.Length;
            }
        });

        Assert.Equal(0, allocated);
        Assert.Equal(TcpState.Established, connection.State);
        Assert.Equal(0, connection.ReadableBytes);
    }

    /// <summary>The established send path (app sends, peer ACKs) allocates nothing per segment once warm.</summary>
    [Fact]
    public void Sending_data_and_taking_its_acks_allocates_nothing_in_the_steady_state()
    {
        TcpLab lab = Established();
        TcpSocket connection = lab.Connection;
        lab.Connection.NoDelay = true;
        byte[] payload = Bytes(1000);
        byte[][] acks = new byte[200][];
        uint acked = lab.Peer.StackNxt;

        long allocated = Allocations.Least(3, () =>
        {
            foreach (byte[] ack in acks)
            {
                connection.Send(payload);
                lab.Host.Discard(0);
                lab.Host.Receive(0, ack);
                lab.Host.Discard(0);
            }
        }, prepare: () =>
        {
            for (int i = 0; i < acks.Length; i++)
            {
                acked += (uint)payload.Length;
                acks[i] = lab.Peer.Frame(lab.Peer.Seg(TcpFlags.Ack) with { Ack = acked });
            }
        });

        Assert.Equal(0, allocated);
        Assert.Equal(0, connection.SendQueued);
    }
}
