namespace Dataplane.Stack.Transport.Tcp;

/// <summary>
/// Socket splicing (OpenBSD's SO_SPLICE, sosplice and somove in sys/kern/uipc_socket.c): the
/// receive side of this socket, the source, feeds the send side of another, the drain, inside the
/// stack. What arrives in order moves from the source's receive queue to the drain's send queue in
/// the packet buffers it arrived in (<see cref="TcpReceiveQueue.MoveTo"/>); no app sees it and no
/// byte is copied on the way. Both sockets live on one worker (a relay opens its outgoing connection
/// from a port that hashes back to it), so a splice needs no lock and no hand-off.
/// </summary>
/// <remarks>
/// <para>Backpressure is the queues': the source moves what the drain's send buffer has room for;
/// the rest waits in the source's receive queue, and the window the source offers shrinks with it.
/// As the drain's peer acknowledges, room opens, the rest moves, and the source's window opens again.</para>
/// <para>The splice dissolves, as OpenBSD's does, when the source's stream ended with nothing left
/// to move, the drain cannot send, the maximum was moved, nothing moved for the idle timeout, or
/// the source's connection failed; the reason stays on the source (<see cref="SpliceEnded"/>), its
/// app hears of it (<see cref="TcpApp.OnSpliceEnded"/>), and the source is the app's to read again.
/// A splice carries no FIN and no reset: the app decides (a relay shuts down the drain when its
/// source's stream ended, and resets the other side when one fails).</para>
/// </remarks>
internal sealed partial class TcpSocket
{
    private TcpSocket? _spliceDrain;
    private TcpSocket? _spliceSource;
    private long _spliceMax;
    private long _spliceIdle;
    private long _spliceMovedAt;
    private long _spliceIdleAt;
    private InetEndpoint _spliceDrainLocal;  // what netstat shows of the drain
    private InetEndpoint _spliceDrainRemote;

    /// <summary>The socket this one's received bytes go to; null when not spliced.</summary>
    public TcpSocket? SpliceDrain => _spliceDrain;

    /// <summary>The socket whose received bytes this one sends; null when none is spliced to it.</summary>
    public TcpSocket? SpliceSource => _spliceSource;

    /// <summary>Bytes the current splice moved, or the last one when it dissolved (OpenBSD's SO_SPLICE getsockopt).</summary>
    public long SpliceMoved { get; private set; }

    /// <summary>The most bytes the current splice moves; 0 for no maximum.</summary>
    public long SpliceMaximum => _spliceMax;

    /// <summary>How long the current splice lives without moving a byte, in nanoseconds; 0 for no timeout.</summary>
    public long SpliceIdleTimeout => _spliceIdle;

    /// <summary>When the current splice last moved a byte (or began); what its idle timeout counts from.</summary>
    public long SpliceLastMove => _spliceMovedAt;

    /// <summary>Why the last splice of this source dissolved; <see cref="SpliceEnd.None"/> while spliced or never spliced.</summary>
    public SpliceEnd SpliceEnded { get; private set; }

    /// <summary>
    /// Splices this socket to <paramref name="drain"/>: from now on what this connection receives
    /// goes out of <paramref name="drain"/>, the bytes queued already first. One direction; a relay
    /// splices both ways. <paramref name="maxBytes"/> (0: none) ends the splice once that many moved,
    /// <paramref name="idleTimeout"/> (nanoseconds; 0: none) once none moved for that long.
    /// Refused (and counted) for a listening or unconnected socket on either side, a drain that has
    /// shut down, a socket spliced already in that role, a drain of another worker (its queues are
    /// another thread's), and a negative maximum or timeout. While spliced, the app cannot read the
    /// source nor write the drain.
    /// </summary>
    public TcpError Splice(TcpSocket drain, long maxBytes = 0, long idleTimeout = 0) => Splice(drain, maxBytes, idleTimeout, 0);

    /// <summary>
    /// As <see cref="Splice(TcpSocket, long, long)"/>, with the idle clock started at
    /// <paramref name="idleSince"/> (a time past, 0 for now): a relay splicing a direction again
    /// after its idle timeout, while the other direction moved, counts idleness from that move.
    /// </summary>
    public TcpError Splice(TcpSocket drain, long maxBytes, long idleTimeout, long idleSince)
    {
        TcpError refusal = SpliceRefusal(drain, maxBytes, idleTimeout);
        if (refusal != TcpError.None)
        {
            Table.Counters.Count(TcpCounter.SplicesRefused);
            return refusal;
        }
        BeginWrite();
        _spliceDrain = drain;
        _spliceDrainLocal = drain.Local;
        _spliceDrainRemote = drain.Remote;
        SpliceMoved = 0;
        _spliceMax = maxBytes;
        _spliceIdle = idleTimeout;
        EndWrite();
        drain._spliceSource = this;
        drain._reserved = 0; // a span the app reserved is no longer the end of the queue
        SpliceEnded = SpliceEnd.None;
        _spliceMovedAt = idleSince > 0 ? Math.Min(idleSince, Now) : Now;
        if (idleTimeout > 0)
        {
            _spliceIdleAt = _spliceMovedAt + idleTimeout;
            ArmTimer(_spliceIdleAt);
        }
        Table.Counters.Count(TcpCounter.SplicesStarted);
        SpliceMove(); // what waits already goes now; a stream that ended already dissolves the splice at once
        return TcpError.None;
    }

    /// <summary>Dissolves this source's splice (OpenBSD: splicing to no socket); the app reads the source again. Nothing when not spliced.</summary>
    public void Unsplice()
    {
        if (_spliceDrain is not null)
            EndSplice(SpliceEnd.Unspliced, notify: false);
    }

    private TcpError SpliceRefusal(TcpSocket drain, long maxBytes, long idleTimeout)
    {
        if (maxBytes < 0 || idleTimeout < 0 || drain == this)
            return TcpError.InvalidArgument;
        if (drain.Table != Table)
            return TcpError.OtherWorker;
        if (_spliceDrain is not null || drain._spliceSource is not null)
            return TcpError.Busy;
        // The source must be able to receive; the drain to send (a listener, a connection in its
        // handshake or closed, or a drain shut down, cannot).
        if (Released || State is not (TcpState.Established or TcpState.FinWait1 or TcpState.FinWait2 or TcpState.CloseWait))
            return TcpError.InvalidState;
        if (drain.Released || drain.State is not (TcpState.Established or TcpState.CloseWait) || drain._finQueued)
            return TcpError.InvalidState;
        return TcpError.None;
    }

    /// <summary>
    /// Moves what the drain has room for (and the maximum allows) from the receive queue to the
    /// drain's send queue and has the drain send it; then the source's window update goes, as after
    /// an app's read. Dissolves the splice when its work is done or cannot go on.
    /// </summary>
    private void SpliceMove()
    {
        TcpSocket drain = _spliceDrain!;
        if (!drain.CanSend || drain.State is not (TcpState.Established or TcpState.CloseWait))
        {
            EndSplice(SpliceEnd.DrainGone);
            return;
        }
        long left = _spliceMax > 0 ? _spliceMax - SpliceMoved : long.MaxValue;
        int room = (int)Math.Min(drain.SendSpace, left);
        if (room > 0 && _receive.Bytes > 0)
        {
            int moved = _receive.MoveTo(drain._send, room, Table.Cache);
            SpliceMoved += moved;
            _spliceMovedAt = Now;
            Table.Counters.Add(TcpCounter.SplicedBytes, moved);
            drain._wantSendSpace = false; // the splice, not the app, fills it
            drain.Output();
            AfterRead();
        }
        if (_spliceMax > 0 && SpliceMoved >= _spliceMax)
            EndSplice(SpliceEnd.MaximumReached);
        else if (_finReceived && _receive.Bytes == 0)
            EndSplice(SpliceEnd.EndOfStream);
    }

    /// <summary>The splice's idle deadline passed: dissolved if nothing moved since, otherwise the next deadline armed.</summary>
    private void SpliceIdleCheck(long now)
    {
        _spliceIdleAt = 0;
        if (_spliceDrain is null || _spliceIdle <= 0)
            return;
        if (now - _spliceMovedAt >= _spliceIdle)
        {
            EndSplice(SpliceEnd.IdleTimeout);
            return;
        }
        _spliceIdleAt = _spliceMovedAt + _spliceIdle;
    }

    /// <summary>Ends this source's splice for <paramref name="reason"/>; the app hears of it after the work at hand (<see cref="TcpSocketTable.DispatchLater"/>).</summary>
    private void EndSplice(SpliceEnd reason, bool notify = true)
    {
        TcpSocket drain = _spliceDrain!;
        drain._spliceSource = null;
        BeginWrite();
        _spliceDrain = null;
        EndWrite();
        _spliceIdleAt = 0;
        SpliceEnded = reason;
        Table.Counters.Count(reason switch
        {
            SpliceEnd.EndOfStream => TcpCounter.SpliceEndOfStream,
            SpliceEnd.DrainGone => TcpCounter.SpliceDrainGone,
            SpliceEnd.MaximumReached => TcpCounter.SpliceMaximum,
            SpliceEnd.IdleTimeout => TcpCounter.SpliceIdleTimeout,
            SpliceEnd.Unspliced => TcpCounter.SpliceUnspliced,
            _ => TcpCounter.SpliceSourceError,
        });
        if (notify && !Released)
        {
            _events |= TcpEvents.Unspliced;
            Table.DispatchLater(this);
        }
    }

    /// <summary>
    /// The connection ended, or the app let go: a splice it is the drain of dissolves (the drain is
    /// gone), and one it is the source of when the app let go or the connection failed before its
    /// stream was whole. A source whose stream is whole (its peer's FIN came in order) stays
    /// spliced while its receive queue holds bytes the drain had no room for yet, however the
    /// connection ended after (a reset in TIME-WAIT, say): they are the stream's last, acknowledged
    /// to the peer already, and move as the drain's peer acknowledges (the queue outlives the
    /// connection while the app holds the socket).
    /// </summary>
    private void DissolveSplices(bool appLetGo)
    {
        if (_spliceDrain is not null)
        {
            if (appLetGo)
                EndSplice(SpliceEnd.Unspliced, notify: false);
            else if (!_finReceived)
                EndSplice(SpliceEnd.SourceError);
            else if (_receive.Bytes == 0)
                EndSplice(SpliceEnd.EndOfStream);
        }
        _spliceSource?.EndSplice(SpliceEnd.DrainGone);
    }

    /// <summary>Clears what a splice left on a socket going back to the pool.</summary>
    private void ForgetSplice()
    {
        _spliceDrain = _spliceSource = null;
        _spliceMax = _spliceIdle = _spliceMovedAt = _spliceIdleAt = 0;
        _spliceDrainLocal = _spliceDrainRemote = default;
        SpliceMoved = 0;
        SpliceEnded = SpliceEnd.None;
    }
}
