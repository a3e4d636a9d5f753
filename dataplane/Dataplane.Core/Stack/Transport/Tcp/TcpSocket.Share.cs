using Dataplane.Engine;

namespace Dataplane.Stack.Transport.Tcp;

/// <summary>
/// A connection's share of a worker that is behind (<see cref="WorkerContext.Saturated"/>). Then
/// the worker is the bottleneck, and its receive ring the queue in front of it: one FIFO for every
/// flow, each getting what it keeps in flight there. In an iperf3 --bidir test whose streams share
/// a worker, that ring holds the client's data and the client's ACKs of ours; our sender keeps its
/// whole send buffer in flight (a loss-based window on a path that never drops), the stock client
/// (BBR by default here) far less, so its data waited behind a megabyte of our ACK-clocked traffic
/// and its direction got a third of ours, a tenth on a loaded machine. Linux has no such FIFO: its
/// queues are per socket. So here each turn gives each connection a share, each way: it sends at
/// most <see cref="TurnShare"/> new bytes (the rest waits in its send buffer), and the right edge of
/// the window it offers moves at most as far (the peer sends no faster than that); a connection
/// that reaches its share goes on at the start of the next turn (<see cref="TcpTurnQueue"/>). The
/// worker drains a share's worth of every queue per turn (<c>Worker.MaxBurstsPerTurn</c>), so the
/// rings stop holding what is in flight, and every connection gets as much of the worker as the
/// next. While the worker keeps up, nothing is held back.
/// </summary>
internal sealed partial class TcpSocket
{
    /// <summary>
    /// What a connection moves each way in a turn of a worker that is behind: 64 KiB (45 segments),
    /// a TSO super-frame's worth, enough that a turn's fixed costs (polls, timers, flushes) stay
    /// small beside it.
    /// </summary>
    public const int TurnShare = 64 * 1024;

    private long _shareTurn;        // the turn the two below belong to
    private int _shareSent;         // new bytes sent in it
    private TcpSequence _shareEdge; // the right edge of the window offered when it began
    private bool _windowHeld;       // the window was held at the share: an update goes at the next turn

    /// <summary>Whether the socket is on its worker's <see cref="TcpTurnQueue"/>.</summary>
    internal bool WaitsForTurn { get; set; }

    /// <summary>The next socket on the <see cref="TcpTurnQueue"/>.</summary>
    internal TcpSocket? NextInTurn { get; set; }

    private bool Sharing => Table.Context.Saturated;

    private void ShareThisTurn()
    {
        long turn = Table.Context.Turn;
        if (turn == _shareTurn)
            return;
        _shareTurn = turn;
        _shareSent = 0;
        _shareEdge = _rcvAdv;
    }

    /// <summary>Whether new data may go out now: always while the worker keeps up; while it is behind, until this turn's share is sent, and then at the next turn.</summary>
    private bool MaySendNewData()
    {
        if (!Sharing)
            return true;
        ShareThisTurn();
        if (_shareSent < TurnShare)
            return true;
        Table.TurnQueue.Add(this);
        return false;
    }

    /// <summary>What is left of this turn's share (after <see cref="MaySendNewData"/>): unbounded while the worker keeps up.</summary>
    private int ShareLeft => Sharing ? Math.Max(0, TurnShare - _shareSent) : int.MaxValue;

    /// <summary>Counts <paramref name="bytes"/> of new data sent against this turn's share.</summary>
    private void SentNewData(int bytes)
    {
        if (!Sharing)
            return;
        ShareThisTurn();
        _shareSent += bytes;
    }

    /// <summary>
    /// <paramref name="right"/>, the right edge the receive buffer allows, held at this turn's
    /// share while the worker is behind: the window moves at most <see cref="TurnShare"/> a turn, and
    /// the rest of the update goes at the next turn.
    /// </summary>
    private TcpSequence ShareOfWindow(TcpSequence right)
    {
        if (!Sharing || State != TcpState.Established && State != TcpState.FinWait1 && State != TcpState.FinWait2)
            return right;
        ShareThisTurn();
        TcpSequence held = _shareEdge + TurnShare;
        if (right <= held)
            return right;
        if (!_windowHeld)
        {
            _windowHeld = true;
            Table.TurnQueue.Add(this);
        }
        return held;
    }

    private void ForgetShare()
    {
        _shareTurn = 0;
        _shareSent = 0;
        _windowHeld = false;
    }

    /// <summary>The next turn has come: the window update held back goes out, and new data up to the new share.</summary>
    internal void TakeTurn()
    {
        if (State is TcpState.Closed or TcpState.Listen or TcpState.SynSent or TcpState.SynReceived or TcpState.TimeWait)
        {
            _windowHeld = false;
            return;
        }
        if (_windowHeld)
        {
            // The held update; none once the peer's FIN came: it sends nothing more, and a bare
            // ACK of what was acknowledged already only draws a reset from a peer closed by then.
            _windowHeld = false;
            _ackNow |= !_finReceived;
        }
        Output();
        Dispatch();
        Table.Reap();
    }
}
