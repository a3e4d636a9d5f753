using Dataplane.Stack;
using Dataplane.Stack.Transport.Tcp;
using Dataplane.Wire;
using static Dataplane.Tests.Stack.Tcp.TcpLab;

namespace Dataplane.Tests.Stack.Tcp;

/// <summary>
/// Windows, over literal segments: the peer's window scale (RFC 7323 2), the window we offer as data
/// waits unread and the update after a read (RFC 9293 3.8.6.2.2), the peer's zero window and its
/// probes (RFC 9293 3.8.6.1), and the send buffer.
/// </summary>
public class TcpWindowTests
{
    /// <summary>RFC 7323 2.2: from the first segment after the SYNs, the peer's window field is shifted by its scale.</summary>
    [Fact]
    public void The_peers_window_scale_applies_to_the_segments_after_its_syn()
    {
        TcpLab lab = Listening();
        lab.Peer.Window = 1000;
        lab.Peer.Open(windowScale: 2, synWindow: 1000);
        lab.Connection.NoDelay = true;

        lab.Connection.Send(Bytes(4000));

        // 1000 << 2 = 4000 bytes of window (with less, the last 1080 bytes would wait: sender silly-window avoidance).
        Assert.Equal(4000, lab.Peer.Sent().Sum(s => s.Payload.Length));
    }

    /// <summary>RFC 7323 2.2: "The window field in a segment where the SYN bit is set (i.e., a &lt;SYN&gt; or &lt;SYN,ACK&gt;) MUST NOT be scaled."</summary>
    [Fact]
    public void The_window_of_a_syn_ack_is_not_scaled()
    {
        TcpLab lab = Connecting();
        lab.Peer.AnswerSyn(windowScale: 2, window: 1000);
        lab.Peer.SentOne();
        lab.Socket!.NoDelay = true;

        lab.Socket.Send(Bytes(2000));

        // The SYN-ACK offered 1000 bytes, not 1000 << 2 (which would let all 2000 go).
        Assert.Equal(1000, lab.Peer.Sent().Sum(s => s.Payload.Length));
    }

    /// <summary>RFC 7323 2.2: without the peer's window scale option, neither side scales, whatever we offered.</summary>
    [Fact]
    public void Without_the_peers_window_scale_its_windows_are_taken_as_they_are()
    {
        TcpLab lab = Connecting();
        lab.Peer.AnswerSyn(window: 3000);
        lab.Peer.SentOne();
        lab.Peer.Window = 3000;
        lab.Peer.SendAck();
        lab.Socket!.NoDelay = true;

        lab.Socket.Send(Bytes(3000));

        Assert.Equal(3000, lab.Peer.Sent().Sum(s => s.Payload.Length));
    }

    /// <summary>RFC 9293 3.8.6: the window we offer is what the receive buffer has left; it shrinks as data waits unread.</summary>
    [Fact]
    public void Our_window_shrinks_as_data_waits_unread()
    {
        TcpLab lab = Established(tcpBuffer: 8192);

        lab.Peer.SendData(Bytes(1460));
        lab.Peer.SendData(Bytes(1460));
        TcpSeg first = lab.Peer.SentOne();
        lab.Peer.SendData(Bytes(1460));
        lab.Peer.SendData(Bytes(1460));
        TcpSeg second = lab.Peer.SentOne();

        Assert.Equal(8192 - 2 * 1460, first.Window);
        Assert.Equal(8192 - 4 * 1460, second.Window);
    }

    /// <summary>RFC 9293 3.8.6.2.2: once the app has read enough to open the window by a worthwhile amount, a window update goes at once.</summary>
    [Fact]
    public void Reading_sends_a_window_update_when_the_window_opens_by_a_worthwhile_amount()
    {
        TcpLab lab = Established(tcpBuffer: 8192);
        for (int i = 0; i < 4; i++)
            lab.Peer.SendData(Bytes(1460));
        lab.Peer.Sent();

        Assert.Equal(4 * 1460, lab.Connection.Receive(new byte[8192]));

        TcpSeg update = lab.Peer.SentOne();
        Assert.Equal(TcpFlags.Ack, update.Flags);
        Assert.Equal(lab.Peer.Nxt, update.Ack);
        Assert.Equal(8192, update.Window);
    }

    /// <summary>RFC 9293 3.8.6.2.2 (receiver silly-window avoidance): reading a few bytes does not send an update for them.</summary>
    [Fact]
    public void Reading_a_little_sends_no_window_update()
    {
        TcpLab lab = Established(tcpBuffer: 8192);
        lab.Peer.SendData(Bytes(1460));
        lab.Peer.SendData(Bytes(1460));
        lab.Peer.Sent();

        Assert.Equal(100, lab.Connection.Receive(new byte[100]));

        lab.Peer.NothingSent();
    }

    /// <summary>RFC 9293 3.8.6 and 3.10.7.4: a full buffer offers a zero window; a segment beyond it is not taken but acknowledged; a read reopens the window.</summary>
    [Fact]
    public void A_full_buffer_offers_a_zero_window_and_a_read_reopens_it()
    {
        TcpLab lab = Established(tcpBuffer: 8192);
        for (int i = 0; i < 5; i++)
            lab.Peer.SendData(Bytes(1460));
        lab.Peer.SendData(Bytes(8192 - 5 * 1460));
        Assert.Equal(0, lab.Peer.Sent()[^1].Window);

        lab.Peer.Send(lab.Peer.Seg(TcpFlags.Ack | TcpFlags.Psh, Bytes(100)));

        TcpSeg refused = lab.Peer.SentOne();
        Assert.Equal(lab.Peer.Nxt, refused.Ack);
        Assert.Equal(0, refused.Window);
        Assert.Equal(8192, lab.Connection.ReadableBytes);
        Assert.Equal(8192, lab.Connection.Receive(new byte[8192]));
        TcpSeg update = lab.Peer.SentOne();
        Assert.Equal(8192, update.Window);
        Assert.Equal(lab.Peer.Nxt, update.Ack);
    }

    /// <summary>RFC 9293 3.8.6.1: with the peer's window zero, nothing is sent, however much is queued.</summary>
    [Fact]
    public void A_zero_window_stops_our_sending()
    {
        TcpLab lab = Established();
        lab.Peer.Window = 0;
        lab.Peer.SendAck();

        Assert.Equal(100, lab.Connection.Send(Bytes(100)));

        lab.Peer.NothingSent();
        Assert.Equal(100, lab.Connection.SendQueued);
    }

    /// <summary>RFC 9293 3.8.6.1 and RFC 1122 4.2.2.17: a zero window is probed when the persist timer runs out (an RTO: 300 ms after a 100 ms handshake), then with backoff.</summary>
    [Fact]
    public void A_zero_window_is_probed_when_the_persist_timer_runs_out_and_again_with_backoff()
    {
        TcpLab lab = Established(handshakeRtt: TimeSpan.FromMilliseconds(100));
        lab.Peer.Window = 0;
        lab.Peer.SendAck();
        lab.Connection.Send(Bytes(100));

        lab.Host.Advance(TimeSpan.FromMilliseconds(290));
        lab.Peer.NothingSent();
        lab.Host.Advance(TimeSpan.FromMilliseconds(20));
        TcpSeg probe = lab.Peer.SentOne();
        Assert.True(probe.Has(TcpFlags.Ack));
        // Linux's probe: SND.UNA - 1 and no data, or RFC 9293's one byte of new data; the peer must answer either.
        Assert.True(probe.Payload.Length == 0 ? probe.Seq == lab.Peer.StackNxt - 1 : probe.Seq == lab.Peer.StackNxt && probe.Payload.Length == 1, probe.ToString());
        Assert.Equal(1, lab.Host.Count(TcpCounter.WindowProbes));

        lab.Peer.SendAck(); // still zero
        lab.Host.Advance(TimeSpan.FromMilliseconds(580));
        lab.Peer.NothingSent();
        lab.Host.Advance(TimeSpan.FromMilliseconds(40));
        lab.Peer.SentOne();
        Assert.Equal(2, lab.Host.Count(TcpCounter.WindowProbes));
    }

    /// <summary>RFC 9293 3.8.6.1: a window update that opens the window lets the queued data go at once.</summary>
    [Fact]
    public void An_opening_window_lets_the_queued_data_flow()
    {
        TcpLab lab = Established();
        lab.Peer.Window = 0;
        lab.Peer.SendAck();
        byte[] data = Bytes(100, 9);
        lab.Connection.Send(data);
        lab.Peer.NothingSent();

        lab.Peer.Window = 65535;
        lab.Peer.SendAck();

        TcpSeg seg = lab.Peer.SentOne();
        Assert.Equal(data, seg.Payload);
        Assert.Equal(lab.Peer.StackNxt, seg.Seq);
    }

    /// <summary>The send buffer (set tcp buffer) bounds what Send takes; OnSendSpace follows when acknowledgments free room.</summary>
    [Fact]
    public void Send_takes_what_the_buffer_holds_and_on_send_space_follows_the_ack()
    {
        TcpLab lab = Established(tcpBuffer: 8192);
        lab.Connection.NoDelay = true;
        lab.Peer.Window = 0;
        lab.Peer.SendAck();

        Assert.Equal(8192, lab.Connection.Send(Bytes(10_000)));
        Assert.Equal(0, lab.Connection.SendSpace);

        lab.Peer.Window = 65535;
        lab.Peer.SendAck();
        List<TcpSeg> sent = lab.Peer.Sent();
        Assert.Equal(8192, sent.Sum(s => s.Payload.Length));
        lab.Peer.StackNxt += 8192;
        lab.Peer.SendAck();

        Assert.Contains("send space", lab.App.Events);
        Assert.Equal(8192, lab.Connection.SendSpace);
    }

    /// <summary>
    /// RFC 9293 3.10.7.4 first: "If the RCV.WND is zero, no segments will be acceptable, but special
    /// allowance should be made to accept valid ACKs, URGs, and RSTs": a window probe that carries a
    /// byte we cannot take still acknowledges our data.
    /// </summary>
    [Fact]
    public void With_our_window_zero_the_ack_in_a_peers_probe_is_still_taken()
    {
        TcpLab lab = Established(tcpBuffer: 8192);
        lab.Connection.Send(Bytes(100));
        lab.Peer.SentOne();
        for (int i = 0; i < 5; i++)
            lab.Peer.SendData(Bytes(1460));
        lab.Peer.SendData(Bytes(8192 - 5 * 1460));
        Assert.Equal(0, lab.Peer.Sent()[^1].Window);

        lab.Peer.StackNxt += 100;
        lab.Peer.Send(lab.Peer.Seg(TcpFlags.Ack, Bytes(1))); // a BSD-style probe: one byte of new data

        TcpSeg answer = lab.Peer.SentOne();
        Assert.Equal(lab.Peer.Nxt, answer.Ack);
        Assert.Equal(0, answer.Window);
        Assert.Equal(0, lab.Connection.SendQueued); // our 100 bytes are acknowledged
    }
}
