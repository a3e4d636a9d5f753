using Dataplane.Engine;
using Dataplane.Stack;
using Dataplane.Stack.Transport.Tcp;
using Dataplane.Wire;

namespace Dataplane.Tests.Stack.Tcp;

/// <summary>
/// A connection's share of a turn while its worker is behind (<c>TcpSocket.Share.cs</c>): at most
/// <see cref="TcpSocket.TurnShare"/> new bytes sent, and the offered window's right edge moved at
/// most as far, per turn; the rest at the next turns. While the worker keeps up, nothing changes.
/// </summary>
public class TcpTurnShareTests
{
    private const int Mss = 1460;

    /// <summary>
    /// An established connection (window scaling both ways, 1 MiB buffers) whose window grew by ACKs
    /// of one segment each until a round's flight passed 300 KB; that flight is unacknowledged (it
    /// ends at the sequence number returned), and the send buffer is full behind it.
    /// </summary>
    private static (TcpLab Lab, uint FlightEnd) WithLargeWindow()
    {
        TcpLab lab = TcpLab.Established(windowScale: 7, tcpBuffer: 1 << 20);
        lab.Connection.Send(new byte[lab.Connection.SendSpace]);
        List<TcpSeg> sent = lab.Peer.Sent();
        while (true)
        {
            Assert.NotEmpty(sent);
            TcpSeg last = sent[^1];
            if (sent.Sum(s => s.Payload.Length) >= 300 * 1024)
            {
                lab.Connection.Send(new byte[lab.Connection.SendSpace]);
                return (lab, last.Seq + (uint)last.Payload.Length);
            }
            foreach (TcpSeg s in sent)
            {
                lab.Peer.StackNxt = s.Seq + (uint)s.Payload.Length;
                lab.Peer.SendAck();
                lab.Connection.Send(new byte[lab.Connection.SendSpace]);
            }
            sent = lab.Peer.Sent();
        }
    }

    /// <summary>
    /// Grows the receive buffer from its initial 64 KiB to <c>set tcp buffer</c> as a fast path
    /// would: the peer fills each window offered, the app reads everything as it comes, a round trip
    /// (10 ms) apart (dynamic right-sizing, <c>TcpSocket.Buffers.cs</c>).
    /// </summary>
    private static void GrowReceiveBuffer(TcpLab lab, int scale, int limit)
    {
        bool reads = lab.App.ReadOnReceive;
        lab.App.ReadOnReceive = true;
        byte[] segment = new byte[Mss];
        uint edge = lab.Peer.Nxt + TcpSocket.InitialBuffer / 2;
        for (int round = 0; round < 16 && lab.Connection.ReceiveBufferSize < limit; round++)
        {
            var acks = new List<TcpSeg>();
            while ((int)(edge - lab.Peer.Nxt) >= Mss)
            {
                lab.Peer.SendData(segment);
                acks.AddRange(lab.Peer.Sent());
            }
            lab.Wait(TimeSpan.FromMilliseconds(10));
            acks.AddRange(lab.Peer.Sent());
            TcpSeg last = acks[^1];
            edge = last.Ack + ((uint)last.Window << scale);
        }
        Assert.Equal(limit, lab.Connection.ReceiveBufferSize);
        lab.App.Received.Clear();
        lab.App.ReadOnReceive = reads;
    }

    private static int NewBytes(TcpLab lab) => lab.Peer.Sent().Sum(s => s.Payload.Length);

    /// <summary>
    /// The worker is behind: an ACK of a 300 KB flight lets as much out, but the turn
    /// sends one share (64 KiB, give or take the last segment); each following turn another; once
    /// the worker has caught up, the rest of what the window allows at once.
    /// </summary>
    [Fact]
    public void A_busy_turn_sends_a_share_of_new_data_and_the_next_turn_the_next_share()
    {
        (TcpLab lab, uint flightEnd) = WithLargeWindow();
        WorkerContext context = lab.Host.Context;
        context.Saturated = true;
        context.BeginTurn();
        lab.Peer.StackNxt = flightEnd;
        lab.Peer.SendAck();
        Assert.InRange(NewBytes(lab), TcpSocket.TurnShare, TcpSocket.TurnShare + Mss);
        Assert.True(lab.Connection.WaitsForTurn);

        Assert.Equal(1, context.BeginTurn()); // the next turn: the connection goes on
        Assert.InRange(NewBytes(lab), TcpSocket.TurnShare, TcpSocket.TurnShare + Mss);

        context.Saturated = false; // caught up: what the window allows goes at once
        context.BeginTurn();
        int rest = NewBytes(lab);
        Assert.True(rest > 2 * TcpSocket.TurnShare, $"only {rest} bytes once the worker caught up");
        Assert.False(lab.Connection.WaitsForTurn);
    }

    /// <summary>While the worker keeps up, the same ACK lets out everything the window allows in one turn, as before turns were shared.</summary>
    [Fact]
    public void While_the_worker_keeps_up_a_turn_sends_all_the_window_allows()
    {
        (TcpLab lab, uint flightEnd) = WithLargeWindow();
        lab.Host.Context.BeginTurn();
        lab.Peer.StackNxt = flightEnd;
        lab.Peer.SendAck();
        Assert.True(NewBytes(lab) > 4 * TcpSocket.TurnShare);
        Assert.False(lab.Connection.WaitsForTurn);
    }

    /// <summary>
    /// The worker is behind: 150 segments (219 KB) arrive in one turn and the app reads them as
    /// they come, but the window's right edge moves one share; the next turn sends the held update,
    /// one ACK moving it one share more.
    /// </summary>
    [Fact]
    public void A_busy_turn_moves_the_offered_window_a_share_and_the_next_turn_sends_the_held_update()
    {
        TcpLab lab = TcpLab.Listening(tcpBuffer: 1 << 20);
        lab.App.ReadOnReceive = true;
        TcpSeg synAck = lab.Peer.Open(windowScale: 7);
        int scale = synAck.WindowScale ?? 0;
        uint slack = 2 * Mss; // an update moves the edge by whole segments read
        uint RightEdge(TcpSeg s) => s.Ack + ((uint)s.Window << scale);
        GrowReceiveBuffer(lab, scale, 1 << 20);
        byte[] segment = new byte[Mss];
        lab.Peer.SendData(segment);
        lab.Peer.SendData(segment); // the worker keeps up: the ACK offers the whole buffer
        uint edge = RightEdge(lab.Peer.SentOne());

        WorkerContext context = lab.Host.Context;
        context.Saturated = true;
        context.BeginTurn();
        uint busy = edge;
        for (int i = 0; i < 150; i++)
        {
            lab.Peer.SendData(segment);
            foreach (TcpSeg s in lab.Peer.Sent())
                busy = Math.Max(busy, RightEdge(s));
        }
        Assert.Equal(152 * Mss, lab.App.Received.Count);
        Assert.InRange(busy - edge, TcpSocket.TurnShare - slack, TcpSocket.TurnShare + slack);
        Assert.True(lab.Connection.WaitsForTurn);

        Assert.Equal(1, context.BeginTurn());
        TcpSeg update = lab.Peer.SentOne();
        Assert.Equal(lab.Peer.Nxt, update.Ack);
        Assert.InRange(RightEdge(update) - busy, TcpSocket.TurnShare - slack, TcpSocket.TurnShare + slack);
    }

    /// <summary>
    /// A window update held for the next turn is not sent once the peer's FIN came in the meantime:
    /// the peer sends nothing more, and the update, a bare ACK of what was acknowledged already,
    /// reached a peer that had closed by then, which answered it with a reset (seen through a relay:
    /// 2 % of wrk's short connections ended with a duplicate ACK and a reset under load).
    /// </summary>
    [Fact]
    public void A_held_window_update_is_not_sent_after_the_peers_fin()
    {
        TcpLab lab = TcpLab.Listening(tcpBuffer: 1 << 20);
        lab.App.ReadOnReceive = true;
        TcpSeg synAck = lab.Peer.Open(windowScale: 7);
        GrowReceiveBuffer(lab, synAck.WindowScale ?? 0, 1 << 20);
        byte[] segment = new byte[Mss];
        WorkerContext context = lab.Host.Context;
        context.Saturated = true;
        context.BeginTurn();
        for (int i = 0; i < 150; i++)
            lab.Peer.SendData(segment);
        Assert.True(lab.Connection.WaitsForTurn); // the window is held at the share
        lab.Peer.SendFin();
        Assert.Contains(lab.Peer.Sent(), s => s.Ack == lab.Peer.Nxt); // the FIN acknowledged

        context.BeginTurn();
        lab.Peer.NothingSent();
    }

    /// <summary>
    /// Busy turns allocate nothing per segment once warm: 60 segments (88 KB) a turn arrive and are
    /// read, the window is held at the share, the connection goes on the turn queue, and the next
    /// turn sends the held update.
    /// </summary>
    [Fact]
    public void Busy_turns_allocate_nothing_in_the_steady_state()
    {
        TcpLab lab = TcpLab.Listening(tcpBuffer: 1 << 20);
        TcpSeg synAck = lab.Peer.Open(windowScale: 7);
        GrowReceiveBuffer(lab, synAck.WindowScale ?? 0, 1 << 20);
        TcpSocket connection = lab.Connection;
        WorkerContext context = lab.Host.Context;
        byte[] payload = new byte[Mss];
        byte[] into = new byte[4096];
        byte[][] frames = new byte[180][];
        lab.Peer.SendData(payload);
        lab.Peer.SendData(payload);
        while (connection.Receive(into) > 0) // the worker keeps up: the window opens to the whole buffer
        {
        }
        lab.Host.Discard(0);
        context.Saturated = true;
        int held = 0;

        long allocated = Allocations.Least(3, () =>
        {
            for (int i = 0; i < frames.Length; i++)
            {
                if (i % 60 == 0)
                    context.BeginTurn();
                lab.Host.Receive(0, frames[i]);
                while (connection.Receive(into) > 0)
                {
                }
                held += connection.WaitsForTurn ? 1 : 0;
                lab.Host.Discard(0);
            }
        }, prepare: () =>
        {
            for (int i = 0; i < frames.Length; i++)
            {
                frames[i] = lab.Peer.Frame(lab.Peer.Seg(TcpFlags.Ack | TcpFlags.Psh, payload));
                lab.Peer.Nxt += (uint)payload.Length;
            }
        });

        Assert.Equal(0, allocated);
        Assert.True(held > 0, "the window was never held: the busy path did not run");
        Assert.Equal(TcpState.Established, connection.State);
        Assert.Equal(0, lab.Host.Count(TcpCounter.DataBeyondWindow));
    }
}
