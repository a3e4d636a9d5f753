using Dataplane.Stack;
using Dataplane.Stack.Transport.Tcp;
using Dataplane.Wire;
using static Dataplane.Tests.Stack.Tcp.TcpLab;
using static Dataplane.Tests.Stack.Tcp.TcpRecoveryTests;

namespace Dataplane.Tests.Stack.Tcp;

/// <summary>
/// Limited transmit (RFC 3042, RFC 5681 3.2, RFC 6675 5 step 3): the duplicate ACKs before loss
/// recovery each let one new segment go, so that a window too small to draw three duplicates
/// still finds its loss without a timeout, and the window itself does not change. Ten segments
/// are in flight (the initial window, full) and thirty more wait; the first is lost.
/// </summary>
public class TcpLimitedTransmitTests
{
    private const int Mss = 1460;

    /// <summary>Ten segments sent from <paramref name="s0"/>, the window full, thirty more queued; a round trip later.</summary>
    private static void TenInFlight(TcpLab lab, out uint s0)
    {
        s0 = lab.Peer.StackNxt;
        lab.Connection.Send(Bytes(40 * Mss));
        Assert.Equal(10, lab.Peer.Sent().Count);
        lab.Host.Advance(TimeSpan.FromMilliseconds(100));
    }

    /// <summary>
    /// RFC 3042 2 and RFC 5681 3.2: without SACK, the first and the second duplicate ACK each send
    /// one segment of new data and leave the window as it was; the third starts recovery with the
    /// fast retransmit alone. Before, nothing moved until the third.
    /// </summary>
    [Fact]
    public void The_first_two_duplicate_acks_each_send_one_new_segment_and_leave_the_window_alone()
    {
        TcpLab lab = TcpRecoveryTests.Lab(sack: false, congestion: CongestionAlgorithm.NewReno);
        TenInFlight(lab, out uint s0);
        int window = lab.Connection.CongestionWindow;

        lab.Peer.SendAck();
        Assert.Equal(s0 + 10 * Mss, lab.Peer.SentOne().Seq);
        Assert.Equal(window, lab.Connection.CongestionWindow);
        lab.Peer.SendAck();
        Assert.Equal(s0 + 11 * Mss, lab.Peer.SentOne().Seq);
        Assert.Equal(window, lab.Connection.CongestionWindow);
        lab.Peer.SendAck();
        TcpSeg retransmit = lab.Peer.SentOne();
        Assert.Equal(s0, retransmit.Seq);
        Assert.Equal(1, lab.Host.Count(TcpCounter.FastRetransmits));
    }

    /// <summary>RFC 3042 2: "if permitted by the receiver's advertised window": with room for eleven segments, one goes on the first duplicate and none on the second.</summary>
    [Fact]
    public void Limited_transmit_stays_within_the_peer_window()
    {
        TcpLab lab = TcpRecoveryTests.Lab(sack: false, congestion: CongestionAlgorithm.NewReno);
        lab.Peer.Window = 11 * Mss;
        lab.Peer.SendAck(); // the window update, nothing in flight
        TenInFlight(lab, out uint s0);

        lab.Peer.SendAck();
        Assert.Equal(s0 + 10 * Mss, lab.Peer.SentOne().Seq);
        lab.Peer.SendAck();
        lab.Peer.NothingSent();
        lab.Peer.SendAck();
        Assert.Equal(s0, lab.Peer.SentOne().Seq);
    }

    /// <summary>
    /// RFC 5681 3.2 step 2: "additional data sent in limited transmit MUST NOT be included" in the
    /// flight that sets ssthresh. NewReno halves the ten segments in flight when the loss was
    /// found, not the twelve: after recovery the window is five segments.
    /// </summary>
    [Fact]
    public void The_threshold_comes_from_the_flight_before_limited_transmit()
    {
        TcpLab lab = TcpRecoveryTests.Lab(sack: false, congestion: CongestionAlgorithm.NewReno);
        TenInFlight(lab, out uint s0);
        for (int i = 0; i < 3; i++)
            lab.Peer.SendAck();
        Assert.Equal(3, lab.Peer.Sent().Count);

        lab.Host.Advance(TimeSpan.FromMilliseconds(100));
        lab.Peer.StackNxt = s0 + 12 * Mss; // the retransmission filled the hole: all twelve acknowledged
        lab.Peer.SendAck();
        Assert.Equal(5 * Mss, lab.Connection.CongestionWindow);
    }

    /// <summary>
    /// RFC 6675 5 step 3, limited transmit with SACK: each SACKed segment leaves the pipe, and the
    /// room it makes sends one new segment, with the window unchanged, until the third SACKed
    /// segment finds the hole lost.
    /// </summary>
    [Fact]
    public void With_sack_each_sacked_segment_lets_one_new_segment_go_before_recovery()
    {
        TcpLab lab = TcpRecoveryTests.Lab();
        TenInFlight(lab, out uint s0);
        int window = lab.Connection.CongestionWindow;
        uint S(int i) => s0 + (uint)(i * Mss);

        Ack(lab, s0, (S(1), S(2)));
        Assert.Equal(S(10), lab.Peer.SentOne().Seq);
        Ack(lab, s0, (S(1), S(3)));
        Assert.Equal(S(11), lab.Peer.SentOne().Seq);
        Assert.Equal(window, lab.Connection.CongestionWindow);
        Ack(lab, s0, (S(1), S(4)));
        Assert.Contains(lab.Peer.Sent(), s => s.Seq == s0);
        Assert.Equal(1, lab.Host.Count(TcpCounter.FastRetransmits));
    }
}
