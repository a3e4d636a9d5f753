using Dataplane.Stack;
using Dataplane.Stack.Transport.Tcp;
using Dataplane.Wire;

namespace Dataplane.Tests.Stack.Tcp;

/// <summary>
/// Opening a connection, both ways, over literal segments (RFC 9293 3.5 and 3.10.7.2-3.10.7.3, the
/// options of RFC 9293 3.7.1, RFC 7323 and RFC 2018), in both families.
/// </summary>
public class TcpHandshakeTests
{
    /// <summary>RFC 9293 3.10.7.2 and 3.7.1, RFC 7323 2.2 and 3.2, RFC 2018 2: the SYN-ACK offers our MSS (the MTU less the headers), our window scale, SACK and echoes the peer's timestamp.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_syn_to_a_listener_is_answered_with_a_syn_ack_carrying_our_options(bool ipv6)
    {
        TcpLab lab = TcpLab.Listening(ipv6);

        lab.Peer.Send(lab.Peer.Syn(mss: 1460, windowScale: 7, sackPermitted: true, timestamps: true));

        TcpSeg synAck = lab.Peer.SentOne();
        Assert.Equal(TcpFlags.Syn | TcpFlags.Ack, synAck.Flags);
        Assert.Equal(TcpPeer.Iss + 1, synAck.Ack);
        Assert.Equal((ushort)(ipv6 ? 1440 : 1460), synAck.Mss);
        Assert.Equal((byte)5, synAck.WindowScale); // 1 MiB of buffer needs a shift of 5
        Assert.True(synAck.SackPermitted);
        Assert.NotNull(synAck.Timestamps);
        Assert.Equal(TcpPeer.FirstTsVal, synAck.Timestamps.Value.Echo);
        Assert.Equal(65535, synAck.Window); // never scaled in a SYN
        Assert.Empty(lab.App.Events);       // not the app's until the handshake completes
        Assert.Equal(1, lab.Host.Count(TcpCounter.PassiveOpens));
    }

    /// <summary>RFC 7323 2.2, 3.2 and RFC 2018 2: an option the peer's SYN did not offer is not offered back.</summary>
    [Fact]
    public void A_syn_without_options_gets_a_syn_ack_with_only_the_mss()
    {
        TcpLab lab = TcpLab.Listening();

        lab.Peer.Send(lab.Peer.Syn(mss: 1460));

        TcpSeg synAck = lab.Peer.SentOne();
        Assert.Equal((ushort)1460, synAck.Mss);
        Assert.Null(synAck.WindowScale);
        Assert.False(synAck.SackPermitted);
        Assert.Null(synAck.Timestamps);
    }

    /// <summary>RFC 9293 3.10.7.4, SYN-RECEIVED: the ACK of our SYN establishes the connection, and the app gets it.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void The_ack_of_our_syn_ack_establishes_the_connection_and_hands_it_to_the_app(bool ipv6)
    {
        TcpLab lab = TcpLab.Listening(ipv6);

        lab.Peer.Open();

        lab.Peer.NothingSent();
        Assert.Equal(["accept"], lab.App.Events);
        Assert.Equal(TcpState.Established, lab.Connection.State);
        Assert.Equal(lab.Peer.Endpoint, lab.Connection.Remote);
        Assert.Equal(1, lab.Host.Count(TcpCounter.Accepts));
        Assert.Equal(1, lab.Host.Count(TcpCounter.ConnectionsEstablished));
        Assert.Equal(0, lab.App.Listener!.Pending);
    }

    /// <summary>RFC 9293 3.10.7.4: the segment that completes the handshake may carry data, which is delivered.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Data_in_the_third_segment_of_the_handshake_is_delivered(bool ipv6)
    {
        TcpLab lab = TcpLab.Listening(ipv6);
        byte[] data = TcpLab.Bytes(100);

        lab.Peer.Open(dataWithAck: data);

        Assert.Equal(["accept", "receive"], lab.App.Events);
        Assert.Equal(data, TcpLab.ReadAll(lab.Connection));
    }

    /// <summary>RFC 9293 3.10.7.2: data on a SYN may be queued or not; this stack does not take it, so its SYN-ACK acknowledges the SYN only.</summary>
    [Fact]
    public void Data_on_a_syn_is_not_acknowledged_beyond_the_syn()
    {
        TcpLab lab = TcpLab.Listening();

        lab.Peer.Send(lab.Peer.Syn() with { Payload = TcpLab.Bytes(10) });

        TcpSeg synAck = lab.Peer.SentOne();
        Assert.Equal(TcpPeer.Iss + 1, synAck.Ack);
        lab.Peer.StackNxt = synAck.Seq + 1;
        lab.Peer.Nxt = TcpPeer.Iss + 1;
        lab.Peer.SendAck();
        Assert.Equal(0, lab.Connection.ReadableBytes);
        Assert.Equal(["accept"], lab.App.Events);
    }

    /// <summary>RFC 9293 3.10.7.4 fifth, SYN-RECEIVED: an ACK that does not acknowledge our SYN gets &lt;SEQ=SEG.ACK&gt;&lt;CTL=RST&gt;.</summary>
    [Fact]
    public void An_ack_that_does_not_acknowledge_our_syn_ack_is_answered_with_a_reset()
    {
        TcpLab lab = TcpLab.Listening();
        lab.Peer.Send(lab.Peer.Syn());
        TcpSeg synAck = lab.Peer.SentOne();
        lab.Peer.Nxt = TcpPeer.Iss + 1;
        lab.Peer.StackNxt = synAck.Seq + 1000;

        lab.Peer.SendAck();

        TcpSeg reset = lab.Peer.SentOne();
        Assert.Equal(TcpFlags.Rst, reset.Flags);
        Assert.Equal(synAck.Seq + 1000, reset.Seq);
        Assert.Empty(lab.App.Events);
    }

    /// <summary>RFC 9293 3.10.7.2: a retransmitted SYN in SYN-RECEIVED gets the same SYN-ACK again, from the same ISS.</summary>
    [Fact]
    public void A_retransmitted_syn_gets_the_same_syn_ack_again()
    {
        TcpLab lab = TcpLab.Listening();
        lab.Peer.Send(lab.Peer.Syn());
        TcpSeg first = lab.Peer.SentOne();

        lab.Peer.Send(lab.Peer.Syn());

        TcpSeg again = lab.Peer.SentOne();
        Assert.Equal(TcpFlags.Syn | TcpFlags.Ack, again.Flags);
        Assert.Equal(first.Seq, again.Seq);
        Assert.Equal(first.Ack, again.Ack);
    }

    /// <summary>RFC 9293 3.10.1, RFC 7323, RFC 2018: connect sends a SYN offering our MSS, a window scale, SACK and timestamps.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Connect_sends_a_syn_offering_mss_window_scale_sack_and_timestamps(bool ipv6)
    {
        TcpLab lab = TcpLab.Connecting(ipv6);

        TcpSeg syn = lab.Peer.SentOne();

        Assert.Equal(TcpFlags.Syn, syn.Flags);
        Assert.Equal(TcpLab.PeerListenPort, syn.DestinationPort);
        Assert.Equal(0u, syn.Ack);
        Assert.Equal((ushort)(ipv6 ? 1440 : 1460), syn.Mss);
        Assert.Equal((byte)5, syn.WindowScale);
        Assert.True(syn.SackPermitted);
        Assert.NotNull(syn.Timestamps);
        Assert.Equal(0u, syn.Timestamps.Value.Echo);
        Assert.Equal(65535, syn.Window);
        Assert.Equal(TcpState.SynSent, lab.Socket!.State);
        Assert.Equal(1, lab.Host.Count(TcpCounter.ConnectAttempts));
    }

    /// <summary>RFC 9293 3.10.7.3: a SYN-ACK that acknowledges our SYN establishes the connection; we acknowledge its SYN.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_syn_ack_completes_an_active_open_with_an_ack_and_on_connected(bool ipv6)
    {
        TcpLab lab = TcpLab.Connecting(ipv6);

        lab.Peer.AnswerSyn(timestamps: true, sackPermitted: true, windowScale: 2);

        TcpSeg ack = lab.Peer.SentOne();
        Assert.Equal(TcpFlags.Ack, ack.Flags);
        Assert.Equal(lab.Peer.StackIss + 1, ack.Seq);
        Assert.Equal(TcpPeer.Iss + 1, ack.Ack);
        Assert.Equal(TcpPeer.FirstTsVal, ack.Timestamps!.Value.Echo);
        Assert.Equal(["connected"], lab.App.Events);
        Assert.Equal(TcpState.Established, lab.Socket!.State);
        Assert.Equal(1, lab.Host.Count(TcpCounter.ConnectionsEstablished));
    }

    /// <summary>RFC 9293 3.10.7.3: a reset that acknowledges our SYN means the connection is refused (ECONNREFUSED).</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_reset_acknowledging_our_syn_refuses_the_connection(bool ipv6)
    {
        TcpLab lab = TcpLab.Connecting(ipv6);
        TcpSeg syn = lab.Peer.SentOne();

        lab.Peer.Send(new TcpSeg { SourcePort = lab.Peer.Port, DestinationPort = syn.SourcePort, Seq = 0, Ack = syn.Seq + 1, Flags = TcpFlags.Rst | TcpFlags.Ack, Window = 0 });

        lab.Peer.NothingSent();
        Assert.Equal(["closed Refused"], lab.App.Events);
        Assert.Equal(TcpState.Closed, lab.Socket!.State);
        Assert.Equal(TcpError.Refused, lab.Socket.Error);
        Assert.Equal(1, lab.Host.Count(TcpCounter.ConnectionsRefused));
        Assert.Equal(0, lab.Host.Worker.Tcp.ConnectionCount);
    }

    /// <summary>RFC 9293 3.10.7.3 (and RFC 5961 3.2): in SYN-SENT a reset counts only if it acknowledges our SYN; otherwise it is dropped.</summary>
    [Fact]
    public void A_reset_that_does_not_acknowledge_our_syn_is_ignored()
    {
        TcpLab lab = TcpLab.Connecting();
        TcpSeg syn = lab.Peer.SentOne();

        lab.Peer.Send(new TcpSeg { SourcePort = lab.Peer.Port, DestinationPort = syn.SourcePort, Seq = 0, Ack = syn.Seq + 5000, Flags = TcpFlags.Rst | TcpFlags.Ack });
        lab.Peer.Send(new TcpSeg { SourcePort = lab.Peer.Port, DestinationPort = syn.SourcePort, Seq = 0, Flags = TcpFlags.Rst });

        lab.Peer.NothingSent();
        Assert.Empty(lab.App.Events);
        Assert.Equal(TcpState.SynSent, lab.Socket!.State);
    }

    /// <summary>RFC 9293 3.10.7.3: in SYN-SENT an ACK for something we never sent is reset (&lt;SEQ=SEG.ACK&gt;&lt;CTL=RST&gt;).</summary>
    [Fact]
    public void A_syn_ack_acknowledging_something_never_sent_is_reset()
    {
        TcpLab lab = TcpLab.Connecting();
        TcpSeg syn = lab.Peer.SentOne();

        lab.Peer.Send(lab.Peer.Syn() with { DestinationPort = syn.SourcePort, Flags = TcpFlags.Syn | TcpFlags.Ack, Ack = syn.Seq + 99 });

        TcpSeg reset = lab.Peer.SentOne();
        Assert.Equal(TcpFlags.Rst, reset.Flags);
        Assert.Equal(syn.Seq + 99, reset.Seq);
        Assert.Equal(TcpState.SynSent, lab.Socket!.State);
    }

    /// <summary>
    /// RFC 9293 3.5 figure 7, simultaneous open: a SYN without ACK in SYN-SENT moves to SYN-RECEIVED
    /// and is answered with a SYN-ACK from the same ISS; the peer's SYN-ACK then establishes the connection.
    /// </summary>
    [Fact]
    public void A_syn_in_syn_sent_is_a_simultaneous_open_that_the_peers_syn_ack_establishes()
    {
        TcpLab lab = TcpLab.Connecting();
        TcpSeg syn = lab.Peer.SentOne();
        lab.Peer.StackPort = syn.SourcePort;
        lab.Peer.StackIss = syn.Seq;

        lab.Peer.Send(lab.Peer.Syn());

        TcpSeg synAck = lab.Peer.SentOne();
        Assert.Equal(TcpFlags.Syn | TcpFlags.Ack, synAck.Flags);
        Assert.Equal(syn.Seq, synAck.Seq);
        Assert.Equal(TcpPeer.Iss + 1, synAck.Ack);
        Assert.Equal(TcpState.SynReceived, lab.Socket!.State);

        // Figure 7 line 6: the peer's own SYN-ACK, <SEQ=ISS><ACK=our ISS+1><CTL=SYN,ACK>.
        lab.Peer.Send(lab.Peer.Syn() with { Flags = TcpFlags.Syn | TcpFlags.Ack, Ack = syn.Seq + 1 });

        Assert.Equal(TcpState.Established, lab.Socket.State);
        Assert.Equal(["connected"], lab.App.Events);
        Assert.DoesNotContain(lab.Peer.Sent(), s => s.Has(TcpFlags.Syn));
    }

    /// <summary>RFC 9293 3.5: a simultaneous open also completes when the peer answers our SYN-ACK with a bare ACK.</summary>
    [Fact]
    public void A_simultaneous_open_completes_with_the_peers_ack()
    {
        TcpLab lab = TcpLab.Connecting();
        TcpSeg syn = lab.Peer.SentOne();
        lab.Peer.StackPort = syn.SourcePort;
        lab.Peer.Send(lab.Peer.Syn());
        lab.Peer.SentOne();
        lab.Peer.Nxt = TcpPeer.Iss + 1;
        lab.Peer.StackNxt = syn.Seq + 1;

        lab.Peer.SendAck();

        Assert.Equal(TcpState.Established, lab.Socket!.State);
        Assert.Equal(["connected"], lab.App.Events);
    }

    /// <summary>RFC 6298 5 and RFC 9293 3.8.1: an unanswered SYN is sent again after the initial RTO of one second, then after two.</summary>
    [Fact]
    public void An_unanswered_syn_is_retransmitted_after_one_second_then_two()
    {
        TcpLab lab = TcpLab.Connecting();
        TcpSeg syn = lab.Peer.SentOne();

        lab.Host.Advance(TimeSpan.FromMilliseconds(990));
        lab.Peer.NothingSent();
        lab.Host.Advance(TimeSpan.FromMilliseconds(20));
        TcpSeg again = lab.Peer.SentOne();
        Assert.Equal(syn.Seq, again.Seq);
        Assert.Equal(TcpFlags.Syn, again.Flags);

        lab.Host.Advance(TimeSpan.FromMilliseconds(1980));
        lab.Peer.NothingSent();
        lab.Host.Advance(TimeSpan.FromMilliseconds(20));
        Assert.Equal(TcpFlags.Syn, lab.Peer.SentOne().Flags);
    }

    /// <summary>RFC 9293 3.10.7.4 second, SYN-RECEIVED from a passive open: a reset at RCV.NXT drops the half-open connection (back to LISTEN), and the app never hears of it.</summary>
    [Fact]
    public void A_reset_in_syn_received_drops_the_half_open_connection_silently()
    {
        TcpLab lab = TcpLab.Listening();
        lab.Peer.Send(lab.Peer.Syn());
        lab.Peer.SentOne();
        lab.Peer.Nxt = TcpPeer.Iss + 1;

        lab.Peer.Send(lab.Peer.Seg(TcpFlags.Rst));

        lab.Peer.NothingSent();
        Assert.Equal(0, lab.Host.Worker.Tcp.ConnectionCount);
        Assert.Equal(0, lab.App.Listener!.Pending);
        Assert.Empty(lab.App.Events);
        lab.Peer.Open(); // the listener still listens
        Assert.Equal(["accept"], lab.App.Events);
    }

    /// <summary>
    /// RFC 9293 3.10.7.2 and RFC 4987 3.6: SYNs past the listener's backlog of half-open
    /// connections are counted and answered with SYN cookies; no connection is kept for them.
    /// </summary>
    [Fact]
    public void Syns_past_the_backlog_are_counted_and_answered_with_cookies_keeping_nothing()
    {
        TcpLab lab = TcpLab.Listening();
        TcpSocket listener = lab.App.Listener!;
        int backlog = listener.Backlog;

        for (int i = 0; i < backlog + 3; i++)
        {
            var peer = new TcpPeer(lab.Host, port: (ushort)(20000 + i), stackPort: TcpLab.ListenPort);
            peer.Send(peer.Syn());
        }

        Assert.Equal(backlog + 3, lab.Host.Discard(0));
        Assert.Equal(3, lab.Host.Count(TcpCounter.ListenQueueOverflows));
        Assert.Equal(3, lab.Host.Count(TcpCounter.SynCookiesSent));
        Assert.Equal(backlog, listener.Pending);
        Assert.Equal(backlog, lab.Host.Worker.Tcp.ConnectionCount);
    }
}
