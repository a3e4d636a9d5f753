using Dataplane.Stack;
using Dataplane.Stack.Transport.Tcp;
using Dataplane.Wire;
using static Dataplane.Tests.Stack.Tcp.TcpLab;

namespace Dataplane.Tests.Stack.Tcp;

/// <summary>
/// RFC 5961's defences against blind in-window attacks (resets, SYNs and data, with challenge ACKs
/// rate-limited per worker), RFC 7323 5's PAWS, and RFC 9293 3.10.7.4's first check (segments
/// outside the window), over literal segments.
/// </summary>
public class TcpBlindAttackTests
{
    /// <summary>RFC 5961 3.2: a reset whose sequence number is exactly RCV.NXT resets the connection.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_reset_exactly_at_rcv_nxt_closes_the_connection(bool ipv6)
    {
        TcpLab lab = Established(ipv6);

        lab.Peer.Send(lab.Peer.Seg(TcpFlags.Rst));

        lab.Peer.NothingSent();
        Assert.Equal(TcpState.Closed, lab.Connection.State);
        Assert.Equal(["accept", "closed Reset"], lab.App.Events);
        Assert.Equal(1, lab.Host.Count(TcpCounter.ResetsReceived));
        Assert.Equal(0, lab.Host.Worker.Tcp.ConnectionCount);
    }

    /// <summary>RFC 5961 3.2: a reset in the window but not at RCV.NXT gets a challenge ACK, and the connection lives on.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_reset_in_the_window_but_not_at_rcv_nxt_gets_a_challenge_ack(bool ipv6)
    {
        TcpLab lab = Established(ipv6);

        lab.Peer.Send(lab.Peer.Seg(TcpFlags.Rst) with { Seq = lab.Peer.Nxt + 10 });

        TcpSeg challenge = lab.Peer.SentOne();
        Assert.Equal(TcpFlags.Ack, challenge.Flags);
        Assert.Equal(lab.Peer.StackNxt, challenge.Seq);
        Assert.Equal(lab.Peer.Nxt, challenge.Ack);
        Assert.Equal(TcpState.Established, lab.Connection.State);
        Assert.Equal(1, lab.Host.Count(TcpCounter.ChallengeAcksRst));
        Assert.Equal(["accept"], lab.App.Events);
    }

    /// <summary>RFC 5961 3.2 and RFC 9293 3.10.7.4: a reset outside the window is dropped silently.</summary>
    [Fact]
    public void A_reset_outside_the_window_is_dropped_silently()
    {
        TcpLab lab = Established();

        lab.Peer.Send(lab.Peer.Seg(TcpFlags.Rst) with { Seq = lab.Peer.Nxt - 1 });
        lab.Peer.Send(lab.Peer.Seg(TcpFlags.Rst) with { Seq = lab.Peer.Nxt + 0x4000_0000 });

        lab.Peer.NothingSent();
        Assert.Equal(TcpState.Established, lab.Connection.State);
        Assert.Equal(2, lab.Host.Count(TcpCounter.ResetsOutOfWindow));
    }

    /// <summary>RFC 5961 4.2: a SYN on a synchronized connection, wherever it lies, gets a challenge ACK; the connection lives on.</summary>
    [Theory]
    [InlineData(0u)]
    [InlineData(100u)]
    [InlineData(0x8000_0000u)]
    public void A_syn_on_an_established_connection_gets_a_challenge_ack(uint offset)
    {
        TcpLab lab = Established();

        lab.Peer.Send(lab.Peer.Syn() with { Seq = lab.Peer.Nxt + offset });

        TcpSeg challenge = lab.Peer.SentOne();
        Assert.Equal(TcpFlags.Ack, challenge.Flags);
        Assert.Equal(lab.Peer.Nxt, challenge.Ack);
        Assert.Equal(TcpState.Established, lab.Connection.State);
        Assert.Equal(1, lab.Host.Count(TcpCounter.ChallengeAcksSyn));
    }

    /// <summary>RFC 9293 3.10.7.4 fifth and RFC 5961 5.2: an ACK of data never sent is answered with an ACK and the segment dropped, its data not taken.</summary>
    [Fact]
    public void An_ack_for_data_never_sent_is_answered_with_an_ack_and_dropped()
    {
        TcpLab lab = Established();

        lab.Peer.Send(lab.Peer.Seg(TcpFlags.Ack | TcpFlags.Psh, Bytes(100)) with { Ack = lab.Peer.StackNxt + 1000 });

        TcpSeg ack = lab.Peer.SentOne();
        Assert.Equal(lab.Peer.Nxt, ack.Ack); // the data was not taken
        Assert.Equal(lab.Peer.StackNxt, ack.Seq);
        Assert.Equal(0, lab.Connection.ReadableBytes);
        Assert.Equal(1, lab.Host.Count(TcpCounter.AckTooMuch));
    }

    /// <summary>RFC 5961 5.2: an ACK below SND.UNA by more than the largest window the peer offered gets a challenge ACK, its data dropped.</summary>
    [Fact]
    public void An_ack_older_than_the_largest_window_gets_a_challenge_ack_and_its_data_is_dropped()
    {
        TcpLab lab = Established();

        lab.Peer.Send(lab.Peer.Seg(TcpFlags.Ack | TcpFlags.Psh, Bytes(100)) with { Ack = lab.Peer.StackNxt - 70_000 });

        Assert.Equal(lab.Peer.Nxt, lab.Peer.SentOne().Ack);
        Assert.Equal(0, lab.Connection.ReadableBytes);
        Assert.Equal(1, lab.Host.Count(TcpCounter.AckTooOld));
    }

    /// <summary>RFC 5961 7 (per worker, never one global count: CVE-2016-5696): challenge ACKs of every connection of a worker share one budget a second.</summary>
    [Fact]
    public void Challenge_acks_are_rate_limited_per_worker_across_connections()
    {
        TcpLab lab = Established();
        var second = new TcpPeer(lab.Host, port: 40001, stackPort: ListenPort);
        second.Open();
        int each = PacketRateLimit.PerSecond / 2 + 10;

        for (int i = 0; i < each; i++)
        {
            lab.Peer.Send(lab.Peer.Seg(TcpFlags.Rst) with { Seq = lab.Peer.Nxt + 10 });
            second.Send(second.Seg(TcpFlags.Rst) with { Seq = second.Nxt + 10 });
        }

        Assert.Equal(PacketRateLimit.PerSecond, lab.Host.Discard(0));
        Assert.Equal(2 * each - PacketRateLimit.PerSecond, lab.Host.Count(TcpCounter.ChallengeAcksRateLimited));
        Assert.Equal(2, lab.Host.Worker.Tcp.ConnectionCount);

        lab.Host.Advance(TimeSpan.FromSeconds(1));
        lab.Peer.Send(lab.Peer.Seg(TcpFlags.Rst) with { Seq = lab.Peer.Nxt + 10 });
        lab.Peer.SentOne();
    }

    /// <summary>RFC 7323 5.3 R1 (PAWS): a segment whose TSval is older than TS.Recent is an old duplicate: acknowledged and dropped, its data not taken.</summary>
    [Fact]
    public void A_segment_with_an_older_timestamp_is_dropped_with_an_ack()
    {
        TcpLab lab = Established(timestamps: true);
        lab.Peer.TsVal += 10;
        lab.Peer.SendData(Bytes(100, 1));
        lab.Host.Advance(TimeSpan.FromMilliseconds(50));
        lab.Peer.SentOne();

        lab.Peer.TsVal -= 5;
        lab.Peer.Send(lab.Peer.Seg(TcpFlags.Ack | TcpFlags.Psh, Bytes(100, 2)));

        TcpSeg ack = lab.Peer.SentOne();
        Assert.Equal(lab.Peer.Nxt, ack.Ack);
        Assert.Equal(TcpPeer.FirstTsVal + 10, ack.Timestamps!.Value.Echo);
        Assert.Equal(Bytes(100, 1), ReadAll(lab.Connection));
        Assert.Equal(1, lab.Host.Count(TcpCounter.PawsDropped));
    }

    /// <summary>
    /// RFC 7323 4.3 (A), delayed ACKs: TS.Recent takes the TSval of the segment that holds Last.ACK.sent,
    /// so an ACK covering two segments echoes the earlier one's, and the next ACK the first of its pair.
    /// </summary>
    [Fact]
    public void A_delayed_ack_echoes_the_timestamp_of_the_earliest_unacknowledged_segment()
    {
        TcpLab lab = Established(timestamps: true);

        lab.Peer.TsVal += 7;
        lab.Peer.SendData(Bytes(10));
        lab.Peer.TsVal += 7;
        lab.Peer.SendData(Bytes(10));
        Assert.Equal(TcpPeer.FirstTsVal + 7, lab.Peer.SentOne().Timestamps!.Value.Echo);

        lab.Peer.TsVal += 7;
        lab.Peer.SendData(Bytes(10));
        lab.Peer.TsVal += 7;
        lab.Peer.SendData(Bytes(10));
        Assert.Equal(TcpPeer.FirstTsVal + 21, lab.Peer.SentOne().Timestamps!.Value.Echo);
    }

    /// <summary>
    /// Bare ACKs out of the window (an ACK flood with forged numbers) are answered at most once in
    /// half a second, as Linux's tcp_invalid_ratelimit does, and the rest counted; data out of the
    /// window is answered every time. (Found by the flood lab: each forged ACK was reflected to the
    /// real peer, whose window probes the reflected ACKs kept putting off.)
    /// </summary>
    [Fact]
    public void Bare_acks_out_of_the_window_are_answered_at_most_twice_a_second()
    {
        TcpLab lab = Established();
        TcpSeg Forged(byte[]? data = null) => lab.Peer.Seg(TcpFlags.Ack, data) with { Seq = lab.Peer.Nxt + 1_000_000 };

        for (int i = 0; i < 10; i++)
            lab.Peer.Send(Forged());
        Assert.Single(lab.Peer.Sent());
        Assert.Equal(9, lab.Peer.Count(TcpCounter.OutOfWindowAcksLimited));
        Assert.Equal(10, lab.Peer.Count(TcpCounter.OutOfWindow));

        lab.Peer.Send(Forged(Bytes(10)));
        Assert.Single(lab.Peer.Sent());

        lab.Wait(TimeSpan.FromMilliseconds(500));
        lab.Peer.Send(Forged());
        Assert.Single(lab.Peer.Sent());
        Assert.Equal(TcpState.Established, lab.Connection.State);
    }

    /// <summary>RFC 9293 3.10.7.4 first: a data segment wholly outside the window is answered with an ACK and dropped.</summary>
    [Fact]
    public void A_data_segment_outside_the_window_is_answered_with_an_ack_and_dropped()
    {
        TcpLab lab = Established();

        lab.Peer.Send(lab.Peer.Seg(TcpFlags.Ack, Bytes(100)) with { Seq = lab.Peer.Nxt + 1_000_000 });

        Assert.Equal(lab.Peer.Nxt, lab.Peer.SentOne().Ack);
        Assert.Equal(0, lab.Connection.ReadableBytes);
        Assert.Equal(1, lab.Host.Count(TcpCounter.DataOutOfWindow));
    }

    /// <summary>RFC 9293 3.10.7.4 fifth: a segment without ACK on a synchronized connection is dropped.</summary>
    [Fact]
    public void A_segment_without_ack_is_dropped()
    {
        TcpLab lab = Established();

        lab.Peer.Send(lab.Peer.Seg(TcpFlags.Psh, Bytes(100)));

        lab.Peer.NothingSent();
        Assert.Equal(0, lab.Connection.ReadableBytes);
        Assert.Equal(1, lab.Host.Count(TcpCounter.NoAck));
    }
}
