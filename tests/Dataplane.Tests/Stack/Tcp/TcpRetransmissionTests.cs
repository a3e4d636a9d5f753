using Dataplane.Stack;
using Dataplane.Wire;
using static Dataplane.Tests.Stack.Tcp.TcpLab;

namespace Dataplane.Tests.Stack.Tcp;

/// <summary>
/// Retransmission over literal segments: the timer of RFC 6298 (one second before any sample,
/// doubling on each expiry, stopped by the acknowledgment), going back to SND.UNA after a timeout
/// (RFC 5681 3.1), fast retransmit (RFC 5681 3.2) and NewReno's partial acknowledgments (RFC 6582).
/// </summary>
public class TcpRetransmissionTests
{
    private const int Mss = 1460;

    /// <summary>
    /// RFC 6298 2.2 and 5.4: the handshake's round trip is the first sample (100 ms: SRTT 100,
    /// RTTVAR 50, RTO = SRTT + 4 RTTVAR = 300 ms); when the RTO expires the oldest unacknowledged
    /// segment goes again.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void The_first_timeout_comes_after_the_rto_the_handshake_measured_and_sends_the_same_segment_again(bool ipv6)
    {
        TcpLab lab = Established(ipv6, handshakeRtt: TimeSpan.FromMilliseconds(100));
        lab.Connection.Send(Bytes(100));
        TcpSeg original = lab.Peer.SentOne();

        lab.Host.Advance(TimeSpan.FromMilliseconds(290));
        lab.Peer.NothingSent();
        lab.Host.Advance(TimeSpan.FromMilliseconds(20));

        TcpSeg again = lab.Peer.SentOne();
        Assert.Equal(original.Seq, again.Seq);
        Assert.Equal(original.Payload, again.Payload);
        Assert.Equal(1, lab.Host.Count(TcpCounter.RetransmitTimeouts));
        Assert.Equal(1, lab.Host.Count(TcpCounter.Retransmitted));
    }

    /// <summary>RFC 6298 2.4: however short the round trip, the RTO is at least the 200 ms floor.</summary>
    [Fact]
    public void An_instant_handshake_gives_the_rto_floor()
    {
        TcpLab lab = Established();
        lab.Connection.Send(Bytes(100));
        lab.Peer.SentOne();

        lab.Host.Advance(TimeSpan.FromMilliseconds(190));
        lab.Peer.NothingSent();
        lab.Host.Advance(TimeSpan.FromMilliseconds(20));
        lab.Peer.SentOne();
    }

    /// <summary>RFC 6298 5.5: each expiry doubles the RTO: 300 ms, then 600, then 1200.</summary>
    [Fact]
    public void Each_timeout_doubles_the_next()
    {
        TcpLab lab = Established(handshakeRtt: TimeSpan.FromMilliseconds(100));
        lab.Connection.Send(Bytes(100));
        lab.Peer.SentOne();
        lab.Host.Advance(TimeSpan.FromMilliseconds(310));
        lab.Peer.SentOne();

        lab.Host.Advance(TimeSpan.FromMilliseconds(580));
        lab.Peer.NothingSent();
        lab.Host.Advance(TimeSpan.FromMilliseconds(40));
        lab.Peer.SentOne();

        lab.Host.Advance(TimeSpan.FromMilliseconds(1170));
        lab.Peer.NothingSent();
        lab.Host.Advance(TimeSpan.FromMilliseconds(40));
        lab.Peer.SentOne();
        Assert.Equal(3, lab.Host.Count(TcpCounter.RetransmitTimeouts));
    }

    /// <summary>RFC 6298 2.1 and 5.7: with the SYN-ACK sent again there is no sample (Karn), and data starts with an RTO of 3 s.</summary>
    [Fact]
    public void After_a_handshake_that_needed_a_retransmission_the_rto_is_three_seconds()
    {
        TcpLab lab = Listening();
        lab.Peer.Send(lab.Peer.Syn(1460, null, false, false, 65535));
        TcpSeg synAck = lab.Peer.SentOne();
        lab.Host.Advance(TimeSpan.FromMilliseconds(1010));
        Assert.Equal(synAck.Seq, lab.Peer.SentOne().Seq); // the SYN-ACK again, after the initial 1 s
        lab.Peer.StackIss = synAck.Seq;
        lab.Peer.StackNxt = synAck.Seq + 1;
        lab.Peer.Nxt = TcpPeer.Iss + 1;
        lab.Peer.SendAck();
        lab.Connection.Send(Bytes(100));
        lab.Peer.SentOne();

        lab.Host.Advance(TimeSpan.FromMilliseconds(2990));
        lab.Peer.NothingSent();
        lab.Host.Advance(TimeSpan.FromMilliseconds(20));
        lab.Peer.SentOne();
    }

    /// <summary>RFC 6298 5.2: when everything sent is acknowledged the timer stops.</summary>
    [Fact]
    public void The_acknowledgment_of_everything_stops_the_timer()
    {
        TcpLab lab = Established();
        lab.Connection.Send(Bytes(100));
        lab.Peer.SentOne();

        lab.Peer.StackNxt += 100;
        lab.Peer.SendAck();

        lab.Host.Advance(TimeSpan.FromSeconds(5));
        lab.Peer.NothingSent();
        Assert.Equal(0, lab.Connection.SendQueued);
    }

    /// <summary>
    /// RFC 6298 2.3: a second sample of 100 ms after the handshake's 100 ms: RTTVAR = 3/4 50 + 1/4 0
    /// = 37.5 ms, SRTT = 100 ms, RTO = 250 ms.
    /// </summary>
    [Fact]
    public void The_next_rtt_sample_moves_the_rto()
    {
        TcpLab lab = Established(handshakeRtt: TimeSpan.FromMilliseconds(100));
        lab.Connection.Send(Bytes(100));
        lab.Peer.SentOne();
        lab.Host.Advance(TimeSpan.FromMilliseconds(100));
        lab.Peer.StackNxt += 100;
        lab.Peer.SendAck();

        lab.Connection.Send(Bytes(100));
        lab.Peer.SentOne();

        lab.Host.Advance(TimeSpan.FromMilliseconds(240));
        lab.Peer.NothingSent();
        lab.Host.Advance(TimeSpan.FromMilliseconds(20));
        Assert.Equal(lab.Peer.StackNxt, lab.Peer.SentOne().Seq);
    }

    /// <summary>RFC 5681 3.1 and RFC 6298 5.4: after a timeout only the first segment goes (the window is one segment); its ACK lets the next two go (slow start).</summary>
    [Fact]
    public void A_timeout_sends_one_segment_from_snd_una_then_slow_start_resumes()
    {
        TcpLab lab = Established(handshakeRtt: TimeSpan.FromMilliseconds(100));
        lab.Connection.Send(Bytes(3 * Mss));
        Assert.Equal(3, lab.Peer.Sent().Count);

        lab.Host.Advance(TimeSpan.FromMilliseconds(310));

        TcpSeg again = lab.Peer.SentOne();
        Assert.Equal(lab.Peer.StackNxt, again.Seq);
        Assert.Equal(Mss, again.Payload.Length);
        int before = lab.Connection.CongestionWindow;
        lab.Peer.StackNxt += Mss;
        lab.Peer.SendAck();
        List<TcpSeg> next = lab.Peer.Sent();
        Assert.True(next.Count == 2, $"cwnd {before} then {lab.Connection.CongestionWindow}, queued {lab.Connection.SendQueued}, sent {next.Count}");
        Assert.Equal([lab.Peer.StackNxt, lab.Peer.StackNxt + Mss], next.Select(s => s.Seq));
    }

    /// <summary>RFC 5681 3.2: the third duplicate acknowledgment resends the segment it asks for, without waiting for the timer.</summary>
    [Fact]
    public void Three_duplicate_acks_start_a_fast_retransmit()
    {
        TcpLab lab = Established();
        uint start = lab.Peer.StackNxt;
        lab.Connection.Send(Bytes(5 * Mss));
        Assert.Equal(5, lab.Peer.Sent().Count);
        lab.Peer.StackNxt = start + Mss;
        lab.Peer.SendAck();
        lab.Peer.NothingSent();

        lab.Peer.SendAck();
        lab.Peer.SendAck();
        lab.Peer.NothingSent();
        lab.Peer.SendAck();

        TcpSeg again = lab.Peer.SentOne();
        Assert.Equal(start + Mss, again.Seq);
        Assert.Equal(Mss, again.Payload.Length);
        Assert.Equal(1, lab.Host.Count(TcpCounter.FastRetransmits));
        Assert.Equal(3, lab.Host.Count(TcpCounter.DuplicateAcks));
    }

    /// <summary>RFC 5681 2 (definition of a duplicate): an ACK that carries data or moves the window is no duplicate.</summary>
    [Fact]
    public void Acks_with_data_or_a_new_window_are_not_duplicates()
    {
        TcpLab lab = Established();
        uint start = lab.Peer.StackNxt;
        lab.Connection.Send(Bytes(5 * Mss));
        lab.Peer.Sent();
        lab.Peer.StackNxt = start + Mss;
        lab.Peer.SendAck();

        lab.Peer.SendData(Bytes(10));
        lab.Peer.Window = 60000;
        lab.Peer.SendAck();
        lab.Peer.Window = 50000;
        lab.Peer.SendAck();

        Assert.DoesNotContain(lab.Peer.Sent(), s => s.Seq == start + Mss && s.Payload.Length > 0);
        Assert.Equal(0, lab.Host.Count(TcpCounter.FastRetransmits));
    }

    /// <summary>RFC 6582 3.2 step 4: in recovery, a partial acknowledgment resends the first segment it leaves unacknowledged at once.</summary>
    [Fact]
    public void A_partial_ack_in_recovery_retransmits_the_next_hole()
    {
        TcpLab lab = Established();
        uint start = lab.Peer.StackNxt;
        lab.Connection.Send(Bytes(5 * Mss));
        lab.Peer.Sent();
        lab.Peer.StackNxt = start + Mss;
        for (int i = 0; i < 4; i++)
            lab.Peer.SendAck();
        Assert.Equal(start + Mss, lab.Peer.SentOne().Seq);

        lab.Peer.StackNxt = start + 3 * Mss; // the retransmission filled one hole; segment 4 was lost too
        lab.Peer.SendAck();

        TcpSeg again = lab.Peer.SentOne();
        Assert.Equal(start + 3 * Mss, again.Seq);
        Assert.Equal(Mss, again.Payload.Length);
        Assert.Equal(1, lab.Host.Count(TcpCounter.FastRetransmits));

        lab.Peer.StackNxt = start + 5 * Mss; // the full acknowledgment ends recovery
        lab.Peer.SendAck();
        lab.Peer.NothingSent();
        Assert.Equal(0, lab.Connection.SendQueued);
    }
}
