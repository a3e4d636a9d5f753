using Dataplane.Stack;
using Dataplane.Stack.Transport.Tcp;
using Dataplane.Wire;
using static Dataplane.Tests.Stack.Tcp.TcpLab;

namespace Dataplane.Tests.Stack.Tcp;

/// <summary>
/// Closing a connection over literal segments (RFC 9293 3.6, 3.10.4, and the FIN of 3.10.7.4
/// eighth): active, passive, simultaneous, half-closed; resets for data that can no longer be
/// delivered (RFC 9293 3.10.4 and RFC 2525 2.17); TIME-WAIT.
/// </summary>
public class TcpCloseTests
{
    /// <summary>RFC 9293 3.6 figure 12: our FIN (FIN-WAIT-1), its ACK (FIN-WAIT-2), the peer's FIN (TIME-WAIT, acknowledged), gone after 2 MSL (60 s here).</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void An_active_close_goes_through_fin_wait_and_time_wait_and_ends_after_2_msl(bool ipv6)
    {
        TcpLab lab = Established(ipv6);
        TcpSocket connection = lab.Connection;

        Assert.Equal(TcpError.None, connection.Shutdown());
        TcpSeg fin = lab.Peer.SentOne();
        Assert.Equal(TcpFlags.Fin | TcpFlags.Ack, fin.Flags);
        Assert.Equal(lab.Peer.StackNxt, fin.Seq);
        Assert.Equal(TcpState.FinWait1, connection.State);

        lab.Peer.StackNxt++;
        lab.Peer.SendAck();
        lab.Peer.NothingSent();
        Assert.Equal(TcpState.FinWait2, connection.State);

        lab.Peer.SendFin();
        TcpSeg ack = lab.Peer.SentOne();
        Assert.Equal(TcpFlags.Ack, ack.Flags);
        Assert.Equal(lab.Peer.Nxt, ack.Ack);
        Assert.Equal(TcpState.TimeWait, connection.State);
        Assert.Contains("closed None", lab.App.Events);

        lab.Wait(TimeSpan.FromSeconds(59));
        Assert.Equal(TcpState.TimeWait, connection.State);
        Assert.Equal(1, lab.Host.Worker.Tcp.ConnectionCount);
        lab.Host.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(TcpState.Closed, connection.State);
        Assert.Equal(0, lab.Host.Worker.Tcp.ConnectionCount);
        lab.Peer.NothingSent();
        connection.Close();
    }

    /// <summary>RFC 9293 3.10.7.4 eighth: the peer's FIN is acknowledged at once and the app sees the end of the stream (CLOSE-WAIT); our close sends our FIN (LAST-ACK); its ACK ends the connection.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_passive_close_goes_through_close_wait_and_last_ack_to_closed(bool ipv6)
    {
        TcpLab lab = Established(ipv6);
        TcpSocket connection = lab.Connection;

        lab.Peer.SendFin();
        TcpSeg ack = lab.Peer.SentOne();
        Assert.Equal(lab.Peer.Nxt, ack.Ack);
        Assert.Equal(TcpState.CloseWait, connection.State);
        Assert.True(connection.IsReceiveFinished);
        Assert.Equal(["accept", "receive"], lab.App.Events);

        connection.Close();
        TcpSeg fin = lab.Peer.SentOne();
        Assert.Equal(TcpFlags.Fin | TcpFlags.Ack, fin.Flags);
        Assert.Equal(TcpState.LastAck, connection.State);

        lab.Peer.StackNxt++;
        lab.Peer.SendAck();
        lab.Peer.NothingSent();
        Assert.Equal(0, lab.Host.Worker.Tcp.ConnectionCount);
        Assert.Equal(0, lab.Host.Worker.Tcp.BuffersHeld);
    }

    /// <summary>RFC 9293 3.6 figure 13, simultaneous close: the peer's FIN in FIN-WAIT-1 (ours not acknowledged) gives CLOSING; the ACK of ours gives TIME-WAIT.</summary>
    [Fact]
    public void A_simultaneous_close_goes_through_closing_to_time_wait()
    {
        TcpLab lab = Established();
        TcpSocket connection = lab.Connection;
        connection.Shutdown();
        TcpSeg fin = lab.Peer.SentOne();

        lab.Peer.SendFin(); // acknowledges up to our FIN, not the FIN itself
        TcpSeg ack = lab.Peer.SentOne();
        Assert.Equal(lab.Peer.Nxt, ack.Ack);
        Assert.Equal(TcpState.Closing, connection.State);

        lab.Peer.StackNxt = fin.Seq + 1;
        lab.Peer.SendAck();
        Assert.Equal(TcpState.TimeWait, connection.State);
    }

    /// <summary>RFC 9293 3.10.7.4: a FIN that also acknowledges ours takes FIN-WAIT-1 straight to TIME-WAIT.</summary>
    [Fact]
    public void A_fin_that_acknowledges_ours_goes_straight_to_time_wait()
    {
        TcpLab lab = Established();
        lab.Connection.Shutdown();
        lab.Peer.SentOne();
        lab.Peer.StackNxt++;

        lab.Peer.SendFin();

        Assert.Equal(lab.Peer.Nxt, lab.Peer.SentOne().Ack);
        Assert.Equal(TcpState.TimeWait, lab.Connection.State);
    }

    /// <summary>RFC 9293 3.10.4 (CLOSE as a half-close): after shutdown, the connection still receives and acknowledges what the peer sends.</summary>
    [Fact]
    public void After_a_shutdown_the_connection_still_receives()
    {
        TcpLab lab = Established();
        lab.Connection.Shutdown();
        lab.Peer.SentOne();
        lab.Peer.StackNxt++;
        lab.Peer.SendAck();

        lab.Peer.SendData(Bytes(100, 1));
        lab.Peer.SendData(Bytes(100, 2));

        Assert.Equal(lab.Peer.Nxt, lab.Peer.SentOne().Ack);
        Assert.Equal([.. Bytes(100, 1), .. Bytes(100, 2)], ReadAll(lab.Connection));
        Assert.Equal(TcpState.FinWait2, lab.Connection.State);
        Assert.Equal(-1, lab.Connection.Send(Bytes(1)));
    }

    /// <summary>RFC 9293 3.10.7.4: a retransmitted FIN in TIME-WAIT is acknowledged again and restarts the 2 MSL timeout.</summary>
    [Fact]
    public void A_retransmitted_fin_in_time_wait_is_acknowledged_and_restarts_the_timer()
    {
        TcpLab lab = Established();
        lab.Connection.Shutdown();
        lab.Peer.SentOne();
        lab.Peer.StackNxt++;
        lab.Peer.SendFin();
        lab.Peer.SentOne();
        lab.Wait(TimeSpan.FromSeconds(30));

        lab.Peer.Nxt--;
        lab.Peer.SendFin();

        Assert.Equal(lab.Peer.Nxt, lab.Peer.SentOne().Ack);
        lab.Wait(TimeSpan.FromSeconds(59));
        Assert.Equal(TcpState.TimeWait, lab.Connection.State);
        lab.Host.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(TcpState.Closed, lab.Connection.State);
    }

    /// <summary>RFC 1122 4.2.2.13 and RFC 2525 2.17: closing with received data unread resets the connection, so the peer knows it was lost.</summary>
    [Fact]
    public void Closing_with_unread_data_resets_the_connection()
    {
        TcpLab lab = Established();
        lab.Peer.SendData(Bytes(100));

        lab.Connection.Close();

        TcpSeg reset = lab.Peer.SentOne();
        Assert.True(reset.Has(TcpFlags.Rst), reset.ToString());
        Assert.Equal(lab.Peer.StackNxt, reset.Seq);
        Assert.Equal(0, lab.Host.Worker.Tcp.ConnectionCount);
        Assert.Equal(0, lab.Host.Worker.Tcp.BuffersHeld);
    }

    /// <summary>RFC 9293 3.10.7.4 seventh (and RFC 2525 2.17): data for a connection the app has closed cannot be delivered: reset.</summary>
    [Fact]
    public void Data_after_the_app_closed_resets_the_connection()
    {
        TcpLab lab = Established();
        lab.Connection.Close();
        TcpSeg fin = lab.Peer.SentOne();
        Assert.True(fin.Has(TcpFlags.Fin));
        lab.Peer.StackNxt++;

        lab.Peer.SendData(Bytes(100));

        TcpSeg reset = lab.Peer.SentOne();
        Assert.True(reset.Has(TcpFlags.Rst), reset.ToString());
        Assert.Equal(1, lab.Host.Count(TcpCounter.DataAfterClose));
        Assert.Equal(0, lab.Host.Worker.Tcp.ConnectionCount);
    }

    /// <summary>Linux's tcp_fin_timeout: a connection the app closed waits in FIN-WAIT-2 for the peer's FIN for 60 s, not forever.</summary>
    [Fact]
    public void A_closed_connection_in_fin_wait_2_is_dropped_after_the_timeout()
    {
        TcpLab lab = Established();
        lab.Connection.Close();
        lab.Peer.SentOne();
        lab.Peer.StackNxt++;
        lab.Peer.SendAck();
        Assert.Equal(1, lab.Host.Worker.Tcp.ConnectionCount);

        lab.Wait(TimeSpan.FromSeconds(61));

        Assert.Equal(0, lab.Host.Worker.Tcp.ConnectionCount);
        Assert.Equal(1, lab.Host.Count(TcpCounter.FinWait2Timeouts));
    }

    /// <summary>RFC 9293 3.10.7.4 eighth: a FIN ahead of a hole is not taken until the hole fills; then the stream ends after the data.</summary>
    [Fact]
    public void A_fin_ahead_of_a_hole_is_taken_when_the_hole_fills()
    {
        TcpLab lab = Established(sackPermitted: true);
        uint hole = lab.Peer.Nxt;
        lab.Peer.Send(lab.Peer.Seg(TcpFlags.Ack | TcpFlags.Fin, Bytes(100, 2)) with { Seq = hole + 100 });
        Assert.Equal(hole, lab.Peer.SentOne().Ack);
        Assert.Equal(TcpState.Established, lab.Connection.State);

        lab.Peer.SendData(Bytes(100, 1));

        Assert.Equal(hole + 201, lab.Peer.SentOne().Ack);
        Assert.Equal(TcpState.CloseWait, lab.Connection.State);
        Assert.Equal([.. Bytes(100, 1), .. Bytes(100, 2)], ReadAll(lab.Connection));
        Assert.True(lab.Connection.IsReceiveFinished);
    }

    /// <summary>RFC 9293 3.10.4: our FIN follows the data queued before the close, and carries the end of it.</summary>
    [Fact]
    public void Our_fin_follows_the_queued_data()
    {
        TcpLab lab = Established();
        lab.Peer.Window = 0;
        lab.Peer.SendAck();
        lab.Connection.Send(Bytes(100));
        lab.Connection.Shutdown();
        lab.Peer.NothingSent();

        lab.Peer.Window = 65535;
        lab.Peer.SendAck();

        TcpSeg last = lab.Peer.Sent()[^1];
        Assert.True(last.Has(TcpFlags.Fin));
        Assert.Equal(lab.Peer.StackNxt + 100, last.Seq + (uint)last.Payload.Length);
    }

    /// <summary>
    /// RFC 9293 3.10.7.4 second: a reset is taken only when its sequence number is in the receiver's
    /// window, and RFC 5961 3.2 only at RCV.NXT. After a timeout sent from SND.UNA again, SND.NXT lies
    /// below what the peer may have received; our reset must carry SND.MAX (Linux's snd_nxt, which
    /// never goes back), or a peer that got everything drops it as old and never learns of the abort.
    /// </summary>
    [Fact]
    public void An_abort_after_a_timeout_resets_at_the_highest_sequence_number_sent()
    {
        TcpLab lab = Established();
        uint start = lab.Peer.StackNxt;
        lab.Connection.Send(Bytes(3 * 1460));
        Assert.Equal(3, lab.Peer.Sent().Count); // the peer gets all three; its ACK is lost
        lab.Host.Advance(TimeSpan.FromMilliseconds(1010));
        Assert.Equal(start, lab.Peer.SentOne().Seq); // the timeout sends the first again
        lab.Peer.SendData(Bytes(10));

        lab.Connection.Close(); // unread data: abort

        TcpSeg reset = lab.Peer.SentOne();
        Assert.True(reset.Has(TcpFlags.Rst), reset.ToString());
        Assert.Equal(start + 3 * 1460, reset.Seq); // the peer's RCV.NXT
    }

    /// <summary>A connection whose listener closed during its handshake is reset when the handshake completes; nobody would accept it.</summary>
    [Fact]
    public void A_handshake_completed_after_the_listener_closed_is_reset()
    {
        TcpLab lab = Listening();
        lab.Peer.Send(lab.Peer.Syn());
        TcpSeg synAck = lab.Peer.SentOne();
        lab.App.Listener!.Close();
        lab.Peer.Nxt = TcpPeer.Iss + 1;
        lab.Peer.StackNxt = synAck.Seq + 1;

        lab.Peer.SendAck();

        Assert.True(lab.Peer.SentOne().Has(TcpFlags.Rst));
        Assert.Equal(1, lab.Host.Count(TcpCounter.ListenerGone));
        Assert.Empty(lab.App.Events);
        Assert.Equal(0, lab.Host.Worker.Tcp.ConnectionCount);
    }

    /// <summary>
    /// RFC 6191 and RFC 9293 3.6.1: a new SYN for a four-tuple in TIME-WAIT whose sequence number
    /// lies past the old incarnation's ends the TIME-WAIT and opens a new connection (a client
    /// reusing its port); one at or below it is no new incarnation and gets the TIME-WAIT's ACK.
    /// </summary>
    [Fact]
    public void A_syn_past_the_old_incarnation_reopens_a_four_tuple_in_time_wait()
    {
        TcpLab lab = Established();
        TcpSocket connection = lab.Connection;
        connection.Shutdown();
        lab.Peer.SentOne();
        lab.Peer.StackNxt++;
        lab.Peer.SendAck();
        lab.Peer.SendFin();
        lab.Peer.SentOne();
        Assert.Equal(TcpState.TimeWait, connection.State);
        connection.Close();

        // An old SYN (below RCV.NXT): the TIME-WAIT answers with its ACK, and stays.
        lab.Peer.Send(lab.Peer.Syn() with { Seq = TcpPeer.Iss });
        Assert.Equal(TcpFlags.Ack, lab.Peer.SentOne().Flags);
        Assert.Equal(1, lab.Host.Worker.Tcp.ConnectionCount);

        // A SYN well past it: a new connection, through the listener.
        lab.Peer.Send(lab.Peer.Syn() with { Seq = TcpPeer.Iss + 100_000 });
        TcpSeg synAck = lab.Peer.SentOne();
        Assert.Equal(TcpFlags.Syn | TcpFlags.Ack, synAck.Flags);
        Assert.Equal(TcpPeer.Iss + 100_001, synAck.Ack);
        Assert.Equal(1, lab.Host.Count(TcpCounter.TimeWaitReused));
    }
}
