using Dataplane.Wire;

namespace Dataplane.Stack.Transport.Tcp;

/// <summary>
/// The connection's timers: retransmission (RFC 6298), delayed ACK, persist (zero-window probes,
/// RFC 9293 3.8.6.1), keepalive (RFC 1122 4.2.3.6), and the state timers of TIME-WAIT and an
/// orphaned FIN-WAIT-2. Each is a deadline; one timer of the worker's wheel stands for the
/// earliest, and when it fires every deadline that passed is handled and the next one armed.
/// </summary>
internal sealed partial class TcpSocket
{
    /// <summary>Arms the wheel timer for <paramref name="deadline"/> unless it fires before that already.</summary>
    private void ArmTimer(long deadline)
    {
        if (deadline == 0)
            return;
        if (_timerAt != 0 && _timerAt <= deadline && Table.IsPending(_timer))
            return;
        Table.Arm(this, ref _timer, deadline);
        _timerAt = deadline;
    }

    private void ArmRetransmit()
    {
        _retransmitAt = Now + _rto;
        _persistAt = 0;
        ArmTimer(_retransmitAt);
    }

    private void ArmKeepalive()
    {
        if (_keepaliveIdle <= 0 || State is not (TcpState.Established or TcpState.CloseWait or TcpState.FinWait2))
        {
            _keepaliveAt = 0;
            return;
        }
        _keepaliveProbesSent = 0;
        _lastHeard = Math.Max(_lastHeard, Now - 1);
        _keepaliveAt = Now + _keepaliveIdle;
        ArmTimer(_keepaliveAt);
    }

    /// <summary>The wheel timer fired: handles every deadline that passed and arms the next.</summary>
    internal void OnTimer()
    {
        _timerAt = 0;
        _timer = default;
        long now = Now;
        if (_stateAt != 0 && _stateAt <= now)
        {
            _stateAt = 0;
            if (State == TcpState.TimeWait)
            {
                EnterClosed(TcpError.None, notify: false);
                return;
            }
            if (State == TcpState.FinWait2 && Released)
            {
                Table.Counters.Count(TcpCounter.FinWait2Timeouts);
                EnterClosed(TcpError.TimedOut, notify: false);
                return;
            }
        }
        if (_retransmitAt != 0 && _retransmitAt <= now)
        {
            _retransmitAt = 0;
            RetransmitTimeout();
            if (State == TcpState.Closed)
                return;
        }
        if (_rackTimerAt != 0 && _rackTimerAt <= now)
        {
            // RFC 8985 6.3: the reordering window of a segment passed: judge again.
            _rackTimerAt = 0;
            if (RackDetectLoss() && !_inRecovery && _sndUna > _recover)
                EnterRecovery(_sndNxt - _sndUna);
            Output();
        }
        if (_tlpAt != 0 && _tlpAt <= now)
        {
            _tlpAt = 0;
            LossProbe();
        }
        if (_persistAt != 0 && _persistAt <= now)
        {
            _persistAt = 0;
            Probe(TcpCounter.WindowProbes);
            _persistBackoff = Math.Min(_persistBackoff + 1, 12);
            Output(); // the probe's answer may open the window; if not, the next probe is armed
        }
        if (_delayedAckAt != 0 && _delayedAckAt <= now)
        {
            _delayedAckAt = 0;
            Table.Counters.Count(TcpCounter.DelayedAcks);
            _ackNow = true;
            Output();
        }
        if (_keepaliveAt != 0 && _keepaliveAt <= now)
        {
            _keepaliveAt = 0;
            if (now - _lastHeard < (_keepaliveProbesSent == 0 ? _keepaliveIdle : KeepaliveInterval))
            {
                // Heard from the peer since (data, an ACK, the answer to a probe): idle again from then.
                _keepaliveProbesSent = 0;
                _keepaliveAt = _lastHeard + _keepaliveIdle;
            }
            else if (_keepaliveProbesSent >= KeepaliveProbes)
            {
                Table.Counters.Count(TcpCounter.KeepaliveDrops);
                SendReset(_sndNxt);
                EnterClosed(TcpError.TimedOut);
                return;
            }
            else
            {
                _keepaliveProbesSent++;
                Probe(TcpCounter.KeepaliveProbes);
                _keepaliveAt = now + KeepaliveInterval;
            }
        }
        if (_spliceIdleAt != 0 && _spliceIdleAt <= now)
            SpliceIdleCheck(now);
        long next = Earliest(_retransmitAt, _persistAt, _delayedAckAt, _keepaliveAt, _stateAt, _rackTimerAt, _tlpAt, _spliceIdleAt);
        if (next != 0)
            ArmTimer(next);
    }

    private static long Earliest(long a, long b, long c, long d, long e, long f, long g, long h)
    {
        long least = 0;
        foreach (long t in (ReadOnlySpan<long>)[a, b, c, d, e, f, g, h])
        {
            if (t != 0 && (least == 0 || t < least))
                least = t;
        }
        return least;
    }

    /// <summary>
    /// RFC 6298 5.4-5.7: the oldest unacknowledged segment is sent again, the timer backs off, and
    /// (RFC 5681 3.1) the congestion window drops to one segment, the threshold to half the flight.
    /// Sending goes back to SND.UNA. Too many in a row give up the connection.
    /// </summary>
    private void RetransmitTimeout()
    {
        bool handshake = State is TcpState.SynSent or TcpState.SynReceived;
        if (++_retransmits > (handshake ? MaxSynRetransmits : MaxRetransmits))
        {
            Table.Counters.Count(TcpCounter.RetransmitTimeoutDrops);
            if (!handshake)
                SendReset(_sndNxt);
            EnterClosed(TcpError.TimedOut);
            return;
        }
        Table.Counters.Count(TcpCounter.RetransmitTimeouts);
        _rto = Math.Min(_rto * 2, MaxRto);
        _timing = false; // Karn: no sample from a retransmitted segment
        if (handshake)
        {
            SendSyn();
            return;
        }
        // RFC 6675 5.1 and RFC 8985 6.3: everything not SACKed is lost; it goes again from the
        // oldest as the window (one segment now) allows. New recoveries wait until what was sent
        // before the timeout is acknowledged (RFC 6582 4.2).
        int flight = _scoreboard.Pipe(_sndNxt - _sndUna);
        _cc.OnTimeout(flight, _sendMss, first: _retransmits == 1);
        _inRecovery = false;
        _dupAcks = 0;
        _recover = _sndNxt;
        _afterTimeout = true;
        _tlpAt = 0;
        TimeoutEndsEpisodes();
        _rackTimerAt = 0;
        // RFC 2018 8: the data at SND.UNA goes again even when it was SACKed (the peer may have
        // discarded it: SACK is advisory); then everything not SACKed is lost (RFC 6675 5.1).
        _scoreboard.Unsack(0);
        _scoreboard.MarkAllLost();
        if (_scoreboard.Count == 0 && _sndNxt > _sndUna)
            _scoreboard.Append(_sndUna, _sndNxt - _sndUna, Now); // a window probe's byte, say
        Output();
        if (_retransmitAt == 0 && _sndNxt > _sndUna)
            ArmRetransmit();
    }

    /// <summary>A segment the peer must answer with an ACK: sequence number SND.UNA - 1, no data (as Linux probes a zero window and keepalives).</summary>
    private void Probe(TcpCounter counter)
    {
        Table.Counters.Count(counter);
        SendSegment(_sndUna - 1, TcpFlags.Ack, 0, retransmit: false);
    }
}
