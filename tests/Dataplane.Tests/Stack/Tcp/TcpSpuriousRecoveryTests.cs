using Dataplane.Stack;
using Dataplane.Stack.Transport.Tcp;
using Dataplane.Wire;
using static Dataplane.Tests.Stack.Tcp.TcpLab;

namespace Dataplane.Tests.Stack.Tcp;

/// <summary>
/// Undoing a spurious fast recovery: when every retransmission of the episode proves needless,
/// by a DSACK for it (RFC 3708 2) or by the timestamp its ACK echoes (RFC 3522, Eifel), nothing
/// was lost and the window and threshold go back to what they were (RFC 4015 3, RFC 9438 4.9;
/// Linux's undo). A real loss, or a duplicate the network made of an original, undoes nothing.
/// Ten segments go at once a round trip (100 ms) after the handshake; segment 0 is the one late
/// or lost, behind segments 1 to 3 whose SACKs find it lost (RFC 6675 IsLost).
/// </summary>
public class TcpSpuriousRecoveryTests
{
    private static readonly TimeSpan Rtt = TimeSpan.FromMilliseconds(100);

    private sealed record Episode(TcpLab Lab, List<TcpSeg> Flight, TcpSeg Retransmission, uint S0, int Mss, int WindowBefore);

    /// <summary>
    /// An established connection (SACK, and timestamps when asked) with one exchange done; ten
    /// segments sent; segments 1 to 3 SACKed a round trip later, which sends segment 0 again.
    /// </summary>
    private static Episode Recovery(bool timestamps)
    {
        TcpLab lab = Listening();
        lab.Peer.Open(1460, null, sackPermitted: true, timestamps: timestamps, handshakeRtt: Rtt);
        lab.Connection.Send(Bytes(100));
        lab.Peer.SentOne();
        lab.Host.Advance(Rtt);
        lab.Peer.StackNxt += 100;
        lab.Peer.SendAck();
        lab.Peer.NothingSent();

        int mss = lab.Connection.SendMss;
        uint s0 = lab.Peer.StackNxt;
        lab.Connection.Send(Bytes(10 * mss));
        List<TcpSeg> flight = lab.Peer.Sent();
        Assert.Equal(10, flight.Count);
        int before = lab.Connection.CongestionWindow;
        lab.Host.Advance(Rtt);
        var sent = new List<TcpSeg>();
        for (int i = 1; i <= 3; i++)
        {
            lab.Peer.StackNxt = s0;
            lab.Peer.Send(lab.Peer.Seg(TcpFlags.Ack) with { Sack = [(s0 + (uint)mss, s0 + (uint)((i + 1) * mss))] });
            sent.AddRange(lab.Peer.Sent());
        }
        TcpSeg retransmission = Assert.Single(sent);
        Assert.Equal(s0, retransmission.Seq);
        Assert.Equal(1, lab.Host.Count(TcpCounter.FastRetransmits));
        return new Episode(lab, flight, retransmission, s0, mss, before);
    }

    /// <summary>The peer acknowledges <paramref name="ack"/>, echoing <paramref name="echo"/> when timestamps are on, with the SACK blocks given.</summary>
    private static void Ack(Episode e, uint ack, uint? echo = null, params (uint Left, uint Right)[] sack)
    {
        e.Lab.Peer.StackNxt = ack;
        TcpSeg seg = e.Lab.Peer.Seg(TcpFlags.Ack) with { Sack = sack };
        if (echo is uint tsecr && seg.Timestamps is var (value, _))
            seg = seg with { Timestamps = (value, tsecr) };
        e.Lab.Peer.Send(seg);
    }

    private static uint Tsval(TcpSeg seg) => seg.Timestamps!.Value.Value;

    /// <summary>
    /// RFC 3708 2 and RFC 4015: segment 0 was only late. It arrives after the retransmission went,
    /// the ACKs complete the recovery (the window at 0.7 of what it was, RFC 9438 4.6), and then the
    /// retransmission arrives too and the peer reports it with a DSACK: every retransmission of the
    /// episode was needless, and the window goes back to what it was before.
    /// </summary>
    [Fact]
    public void A_recovery_whose_only_retransmission_comes_back_as_a_dsack_is_undone()
    {
        Episode e = Recovery(timestamps: false);
        uint s0 = e.S0, m = (uint)e.Mss;
        e.Lab.Host.Advance(TimeSpan.FromMilliseconds(10));
        Ack(e, s0 + 4 * m); // segment 0, late
        Ack(e, s0 + 10 * m);
        Assert.Equal((int)(e.WindowBefore * TcpCongestion.CubicBeta), e.Lab.Connection.CongestionWindow);

        Ack(e, s0 + 10 * m, null, (s0, s0 + m)); // the retransmission, a duplicate
        Assert.Equal(e.WindowBefore, e.Lab.Connection.CongestionWindow);
        Assert.Equal(1, e.Lab.Host.Count(TcpCounter.SpuriousRecoveriesUndone));
    }

    /// <summary>
    /// RFC 3522 3.2 (Eifel) and RFC 4015: with timestamps, the ACK that covers segment 0 echoes the
    /// timestamp of its original, sent a round trip before the retransmission: the original filled
    /// the hole. No DSACK comes; when the recovery ends, it is undone all the same.
    /// </summary>
    [Fact]
    public void A_recovery_whose_retransmitted_segment_is_acknowledged_for_its_original_is_undone()
    {
        Episode e = Recovery(timestamps: true);
        uint s0 = e.S0, m = (uint)e.Mss;
        Assert.True(Tsval(e.Flight[0]) < Tsval(e.Retransmission));
        e.Lab.Host.Advance(TimeSpan.FromMilliseconds(10));
        Ack(e, s0 + 4 * m, Tsval(e.Flight[0]));
        Ack(e, s0 + 10 * m, Tsval(e.Flight[4]));
        Assert.Equal(e.WindowBefore, e.Lab.Connection.CongestionWindow);
        Assert.Equal(1, e.Lab.Host.Count(TcpCounter.SpuriousRecoveriesUndone));
    }

    /// <summary>
    /// Segment 0 was lost: the retransmission filled the hole, and the ACK that covers it echoes
    /// the retransmission's timestamp (RFC 7323 4.3). A DSACK for segment 5, which the network
    /// duplicated and which was never sent again, is no evidence either. The reduction stands.
    /// </summary>
    [Fact]
    public void A_recovery_that_repaired_a_loss_is_not_undone()
    {
        Episode e = Recovery(timestamps: true);
        uint s0 = e.S0, m = (uint)e.Mss;
        e.Lab.Host.Advance(Rtt);
        Ack(e, s0, Tsval(e.Flight[9]), (s0 + 5 * m, s0 + 6 * m), (s0 + m, s0 + 10 * m)); // segment 5 twice
        Ack(e, s0 + 10 * m, Tsval(e.Retransmission));
        Ack(e, s0 + 10 * m, Tsval(e.Retransmission), (s0 + 5 * m, s0 + 6 * m));
        Assert.Equal(2, e.Lab.Host.Count(TcpCounter.DsacksReceived));
        Assert.Equal((int)(e.WindowBefore * TcpCongestion.CubicBeta), e.Lab.Connection.CongestionWindow);
        Assert.Equal(0, e.Lab.Host.Count(TcpCounter.SpuriousRecoveriesUndone));
    }
}
