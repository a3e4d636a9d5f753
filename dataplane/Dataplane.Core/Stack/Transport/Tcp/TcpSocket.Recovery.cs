using Dataplane.Stack.Ip;
using Dataplane.Wire;

namespace Dataplane.Stack.Transport.Tcp;

/// <summary>
/// Acknowledgments and loss recovery: the cumulative ACK and SACK blocks update the scoreboard
/// (RFC 2018, RFC 6675); RACK (RFC 8985 6) judges a segment lost when one sent after it was
/// delivered and its own time is up; with a peer that does not SACK, three duplicate ACKs do (RFC
/// 5681 3.2, RFC 6582); recovery sends at PRR's pace (RFC 6937); a tail loss probe (RFC 8985 7)
/// turns a lost tail into SACK feedback instead of a timeout; DSACKs widen RACK's reordering window;
/// a recovery whose retransmissions all proved needless is undone (RFC 3708, RFC 3522, RFC 4015).
/// </summary>
internal sealed partial class TcpSocket
{
    /// <summary>
    /// An acceptable ACK that acknowledges new data, or a duplicate, or carries SACK blocks: SND.UNA
    /// moves, the buffer frees, RTT is sampled, losses are judged, the window and recovery move.
    /// </summary>
    private void AckArrived(TcpSequence ack, in TcpOptions options, bool duplicate)
    {
        int acked = ack - _sndUna;
        int outstandingBefore = _sndNxt - _sndUna;
        int sackedBefore = _scoreboard.SackedBytes;
        var delivered = default(DeliveryInfo);
        if (acked > 0)
        {
            if (_spurious.Watching && _timestamps && options.Timestamps is var (_, echoed) && echoed != 0)
                EifelCheck(ack, echoed);
            int dataAcked = Math.Min(acked, _send.Bytes);
            if (_finQueued && acked > dataAcked && _send.Bytes == dataAcked)
                _finAcked = true; // the acknowledgment covers our FIN, one past the last byte
            if (dataAcked > 0)
            {
                _send.Consume(dataAcked, Table.Cache);
                BytesAcked += dataAcked;
                _events |= TcpEvents.Writable;
            }
            _scoreboard.Acknowledge(ack, ref delivered);
            _sndUna = ack;
            _retransmits = 0;
            // RTT (RFC 6298 3, RFC 7323 4): from the echoed timestamp, or the timed segment (Karn).
            if (_timestamps && options.Timestamps is var (_, echo) && echo != 0)
                SampleRtt(TimestampAge(echo));
            else if (_timing && ack > _timedSequence)
                SampleRtt(Now - _timedAt);
            if (_timing && ack > _timedSequence)
                _timing = false;
        }
        bool probeDuplicated = false;
        if (_sackPermitted)
            SackInput(options, ack, ref delivered, out probeDuplicated);
        RackUpdate(delivered);
        bool probeRepairedLoss = _tlpInFlight && LossProbeAcknowledged(ack, probeDuplicated, duplicate && options.SackBlockCount == 0);
        int mss = _sendMss;
        // RFC 6937 3: DeliveredData is the change in SND.UNA plus the change in SACKed bytes (a
        // cumulative ACK over SACKed data delivers it once); without SACK, each duplicate ACK
        // stands for one segment delivered, taken back from the cumulative ACK that follows.
        int deliveredData = Math.Max(acked, 0) + (_scoreboard.SackedBytes - sackedBefore);
        if (!_sackPermitted)
        {
            if (duplicate)
            {
                deliveredData += mss;
                _dupDelivered += mss;
            }
            else if (acked > 0)
            {
                deliveredData = Math.Max(deliveredData - _dupDelivered, 0);
                _dupDelivered = 0;
            }
        }
        JudgeLosses(ack, acked > 0, duplicate);

        if (_inRecovery)
        {
            if (_sndUna >= _recoveryPoint)
            {
                // RFC 6675 5 / RFC 6937: recovery ends; the window is the threshold.
                _inRecovery = false;
                _cc.OnRecoveryEnd();
                _spurious.RecoveryEnded(_sndNxt);
            }
            else
            {
                PrrUpdate(deliveredData);
            }
        }
        else if (_scoreboard.LostBytes > 0 && _sndUna > _recover)
        {
            EnterRecovery(outstandingBefore);
        }
        else if (acked > 0 && !_inRecovery && !probeRepairedLoss && CongestionWindowLimited(outstandingBefore))
        {
            _cc.OnAck(acked, mss, Now, _srtt);
        }
        if (_spurious.Watching && _spurious.Over)
            UndoIfSpurious();
        // Outside recovery and a timeout's episode, RFC 6582's recover trails SND.UNA, so that its
        // modular comparison never goes stale however many bytes pass.
        // (After a timeout it stays where the timeout put it until SND.UNA passes it: a fresh value,
        // within a window, so the comparison holds.)
        if (_afterTimeout && _sndUna > _recover)
            _afterTimeout = false;
        if (!_inRecovery && !_afterTimeout)
            _recover = _sndUna - 1;

        // RFC 6298 5.2 and 5.3: the timer stops when everything is acknowledged, and restarts when new data is.
        if (_sndUna == _sndNxt)
        {
            _retransmitAt = 0;
            _tlpAt = 0;
            _rackTimerAt = 0;
        }
        else if (acked > 0)
        {
            ArmRetransmit();
        }
        if (acked > 0)
            ArmKeepalive();
    }

    /// <summary>
    /// Judges losses: RACK and RFC 6675 with SACK; without it, the third duplicate ACK (or a
    /// partial ACK in recovery) says the first segment is lost, and the first two let new data go.
    /// </summary>
    private void JudgeLosses(TcpSequence ack, bool advanced, bool duplicate)
    {
        if (_sackPermitted)
        {
            if (_scoreboard.MarkLostBySack(_sendMss) > 0 | RackDetectLoss())
                Table.Counters.Count(TcpCounter.SackRecoveryLosses);
            if (duplicate)
                Table.Counters.Count(TcpCounter.DuplicateAcks);
        }
        else if (duplicate && _scoreboard.Count > 0)
        {
            Table.Counters.Count(TcpCounter.DuplicateAcks);
            if (++_dupAcks == 1)
                _limitedTransmitStart = _sndNxt;
            if (_dupAcks == 3 && !_scoreboard[0].Lost)
                _scoreboard.MarkLost(0);
        }
        // RFC 3042 (RFC 5681 3.2): the first and second duplicate ACK each let one segment of new
        // data go beyond the window, the window itself unchanged, so that a small window still
        // draws the third duplicate. With SACK the SACKed segment leaves the pipe and makes the room
        // itself (RFC 6675 5 step 3).
        _limitedTransmit = !_sackPermitted && duplicate && _dupAcks is 1 or 2 && !_inRecovery && !_afterTimeout && _scoreboard.LostBytes == 0
            ? _dupAcks * _sendMss
            : 0;
        if (advanced)
        {
            _dupAcks = 0;
            if (_inRecovery && !_sackPermitted && ack < _recoveryPoint && _scoreboard.Count > 0 && !_scoreboard[0].Lost)
                _scoreboard.MarkLost(0); // RFC 6582 3.2 step 4: a partial ACK, the next hole
        }
    }

    /// <summary>
    /// Bytes that may enter the network now: in recovery, PRR's allowance (RFC 6937); otherwise
    /// the congestion window less the pipe (RFC 6675 5, RFC 5681), and on the first two duplicate
    /// ACKs without SACK up to two segments more (RFC 3042 limited transmit).
    /// </summary>
    private int Allowance => _inRecovery ? _prrAllowance : _cc.Window + _limitedTransmit - _scoreboard.Pipe(_sndNxt - _sndUna);

    /// <summary>
    /// Whether the window was the limit on what was in flight (RFC 9438 4.6, RFC 7661): it grows
    /// only then, as Linux's tcp_is_cwnd_limited has it (in slow start, while the flight is at least
    /// half the window), not while the app leaves it unused.
    /// </summary>
    private bool CongestionWindowLimited(int flight)
        => _cc.Window < _cc.Threshold ? 2 * flight >= _cc.Window : flight + _sendMss >= _cc.Window;

    /// <summary>
    /// Takes the SACK blocks of an ACK (RFC 2018 4): a first block below the cumulative ACK or
    /// inside the second one is a DSACK (RFC 2883 4), a duplicate the peer received; blocks outside
    /// SND.UNA..SND.NXT or inverted are ignored (never trusted, as the CVE-2019-11477 family
    /// taught). Returns the bytes newly SACKed; <paramref name="probeDuplicated"/> says the DSACK
    /// ends at TLP.end_seq (RFC 8985 7.4.2: the peer had what the loss probe sent again).
    /// </summary>
    private int SackInput(in TcpOptions options, TcpSequence ack, ref DeliveryInfo delivered, out bool probeDuplicated)
    {
        int newly = 0;
        probeDuplicated = false;
        for (int i = 0; i < options.SackBlockCount; i++)
        {
            TcpSackBlock block = options.SackBlock(i);
            var left = new TcpSequence(block.Left);
            var right = new TcpSequence(block.Right);
            if (right <= left)
            {
                Table.Counters.Count(TcpCounter.SackBlocksInvalid);
                continue;
            }
            bool belowAck = right <= ack && left >= _sndUna - (int)Math.Max(_maxSndWnd, (uint)_sendMss);
            if (i == 0 && (belowAck || (options.SackBlockCount > 1 && left >= new TcpSequence(options.SackBlock(1).Left) && right <= new TcpSequence(options.SackBlock(1).Right))))
            {
                // A DSACK: something arrived twice, so either our retransmission was spurious or
                // the network reorders. RACK's reordering window widens, once a round trip (RFC
                // 8985 6.2 step 4's dsack_round).
                Table.Counters.Count(TcpCounter.DsacksReceived);
                probeDuplicated = _tlpInFlight && right == _tlpEndSeq;
                _spurious.Duplicated(left, right);
                _reorderingSeen = true;
                if (_sndUna >= _dsackRound)
                {
                    _reorderWindowMultiplier = Math.Min(_reorderWindowMultiplier + 1, 8);
                    _dsackRound = _sndNxt;
                }
                continue;
            }
            if (left < _sndUna || right > _sndNxt)
            {
                Table.Counters.Count(TcpCounter.SackBlocksInvalid);
                continue;
            }
            newly += _scoreboard.Sack(left, right, ref delivered);
        }
        return newly;
    }

    /// <summary>
    /// How long RACK's min_RTT remembers a measurement: Linux's tcp_min_rtt_wlen, 300 s. RFC 8985
    /// 6.2 step 1 asks for a windowed minimum rather than the least of the connection's life, so
    /// that a path whose RTT rose (a route change, a longer queue that stays) is followed.
    /// </summary>
    public const long MinRttWindow = 300_000_000_000;

    /// <summary>RFC 8985 6.2 steps 1-2: min_RTT, and RACK.xmit_ts and RACK.rtt follow the most recently sent segment delivered.</summary>
    private void RackUpdate(in DeliveryInfo delivered)
    {
        if (delivered.LatestSentAt == 0)
            return;
        long rtt = Now - delivered.LatestSentAt;
        // A retransmitted segment delivered sooner than the least RTT was delivered by its first
        // transmission: no sample (step 2).
        if (delivered.LatestRetransmitted && rtt < _minRtt.Value)
            return;
        if (!delivered.LatestRetransmitted)
            _minRtt.Update(Now, Math.Max(rtt, 1), MinRttWindow);
        if (delivered.LatestSentAt > _rackSentAt || (delivered.LatestSentAt == _rackSentAt && delivered.LatestEnd > _rackEnd))
        {
            _rackSentAt = delivered.LatestSentAt;
            _rackEnd = delivered.LatestEnd;
            _rackRtt = rtt;
        }
    }

    /// <summary>
    /// RFC 8985 6.2 step 5, RACK_detect_loss: a segment sent before the most recently delivered one
    /// is lost once RACK.rtt plus the reordering window has passed since it was sent; one whose
    /// time has not come yet arms the reordering timer. True when any segment was newly judged lost.
    /// The segments are taken in the order they were sent (Linux's tsorted_sent_queue), the
    /// originals and those sent again each in their own order, and each walk stops at the first
    /// not yet due, whose wait is the least: the work is the segments judged lost, not the window.
    /// </summary>
    private bool RackDetectLoss()
    {
        if (_rackSentAt == 0)
            return false;
        long reorderWindow = ReorderWindow;
        long now = Now;
        long wait = long.MaxValue;
        bool marked = false;
        // Originals in flight: in sequence order, which is the order sent.
        for (int i = _scoreboard.FirstInFlightOnce(); i < _scoreboard.Count; i = _scoreboard.FirstInFlightOnce())
        {
            long remaining = RackRemaining(_scoreboard[i], reorderWindow, now);
            if (remaining > 0)
            {
                wait = remaining;
                break;
            }
            marked |= _scoreboard.MarkLost(i); // no longer in flight once: the walk moves past it
        }
        // Segments sent again, in the order last sent.
        for (int i = _scoreboard.FirstResent(); i >= 0; i = _scoreboard.FirstResent())
        {
            _scoreboard.Visited();
            long remaining = RackRemaining(_scoreboard[i], reorderWindow, now);
            if (remaining > 0)
            {
                wait = Math.Min(wait, remaining);
                break;
            }
            marked |= _scoreboard.MarkLost(i); // off the list: the next one sent again is first
        }
        if (wait != long.MaxValue)
        {
            _rackTimerAt = now + wait;
            ArmTimer(_rackTimerAt);
        }
        return marked;
    }

    /// <summary>
    /// RFC 8985 6.2 step 5: how long until segment <paramref name="s"/> is lost by RACK's
    /// reckoning (at most 0: lost now); long.MaxValue when it was sent after the most recently
    /// delivered one, and so is judged by a later delivery.
    /// </summary>
    private long RackRemaining(in SentSegment s, long reorderWindow, long now)
    {
        if (s.SentAt > _rackSentAt || (s.SentAt == _rackSentAt && s.End >= _rackEnd))
            return long.MaxValue;
        return s.SentAt + _rackRtt + reorderWindow - now;
    }

    /// <summary>
    /// RFC 8985 6.2 step 4: the reordering window, a quarter of the least RTT times a multiplier
    /// that DSACKs raise, at most SRTT; none before any reordering was seen, outside recovery.
    /// </summary>
    private long ReorderWindow
    {
        get
        {
            if (!_reorderingSeen && !_inRecovery)
                return _minRtt.Value / 4; // RFC 8985 allows 0 here; a quarter RTT costs little and spares a spurious recovery
            return Math.Min(_reorderWindowMultiplier * _minRtt.Value / 4, Math.Max(_srtt, 1));
        }
    }

    /// <summary>
    /// Fast recovery begins (RFC 6675 5, RFC 6937): the congestion controller lowers the threshold,
    /// recovery lasts until SND.UNA passes what was sent so far, and PRR sets the pace from here.
    /// </summary>
    private void EnterRecovery(int flight)
    {
        Table.Counters.Count(TcpCounter.FastRetransmits);
        _inRecovery = true;
        _recoveryPoint = _sndNxt;
        _spurious.Begin(_cc);
        // RFC 5681 3.2 step 2: what limited transmit sent does not count in the flight that sets ssthresh.
        _cc.OnLoss(_dupAcks > 0 ? Math.Min(flight, _limitedTransmitStart - _sndUna) : flight, _sendMss);
        _prrDelivered = 0;
        _prrOut = 0;
        _recoverFs = Math.Max(flight, 1);
        // RFC 6937 3: the first retransmission goes at once.
        _prrAllowance = _sendMss;
        _tlpAt = 0;
        _tlpInFlight = false; // RFC 8985 7.1: fast recovery starts a new TLP episode
    }

    /// <summary>RFC 6937 3.1: how much may be sent for what this ACK delivered (with the slow-start reduction bound, SSRB).</summary>
    private void PrrUpdate(int deliveredData)
    {
        _prrDelivered += deliveredData;
        int pipe = _scoreboard.Pipe(_sndNxt - _sndUna);
        int ssthresh = _cc.Threshold;
        long sndcnt;
        if (pipe > ssthresh)
        {
            sndcnt = ((long)_prrDelivered * ssthresh + _recoverFs - 1) / _recoverFs - _prrOut;
        }
        else
        {
            long limit = Math.Max(_prrDelivered - _prrOut, deliveredData) + _sendMss;
            sndcnt = Math.Min(ssthresh - pipe, limit);
        }
        _prrAllowance = (int)Math.Max(sndcnt, 0);
        _cc.Window = pipe + _prrAllowance;
    }

    /// <summary>
    /// RFC 8985 7.2: arms the tail loss probe after new data went out, when SACK is in use, no
    /// recovery runs and no probe is out: 2 SRTT (plus the peer's delayed-ACK time when one segment
    /// is in flight), never later than the RTO.
    /// </summary>
    private void ArmLossProbe()
    {
        if (!_sackPermitted || _inRecovery || _tlpInFlight || _srtt == 0 || _sndNxt == _sndUna)
            return;
        long pto = 2 * _srtt;
        if (_sndNxt - _sndUna <= _sendMss)
            pto += DelayedAckTimeout * 5; // the peer may hold its ACK up to 200 ms (RFC 8985 7.2's WCDelAckT)
        pto = Math.Max(pto, 10_000_000);
        if (_retransmitAt != 0)
            pto = Math.Min(pto, _retransmitAt - Now);
        _tlpAt = Now + Math.Max(pto, 1);
        ArmTimer(_tlpAt);
    }

    /// <summary>
    /// RFC 8985 7.3: the probe timeout fired: send one new segment if the windows let one go, else
    /// the last segment again, so that the peer's SACK tells what was lost; then the RTO stands.
    /// TLP.end_seq and TLP.is_retrans remember the probe until its ACK says whether it repaired a loss.
    /// </summary>
    private void LossProbe()
    {
        if (_sndNxt == _sndUna || _inRecovery || _tlpInFlight)
            return;
        Table.Counters.Count(TcpCounter.LossProbes);
        TcpSequence dataEnd = DataEnd;
        int peerRoom = _sndUna + (int)Math.Min(_sndWnd, int.MaxValue) - _sndNxt;
        int length = Math.Min(Math.Min(dataEnd - _sndNxt, peerRoom), SegmentPayloadRoom);
        if (length > 0)
        {
            bool fin = _finQueued && !_finAcked && _sndNxt + length == dataEnd;
            if (SendSegment(_sndNxt, TcpFlags.Ack | TcpFlags.Psh | (fin ? TcpFlags.Fin : 0), length, retransmit: false))
            {
                _scoreboard.Append(_sndNxt, length + (fin ? 1 : 0), Now);
                _sndNxt += length + (fin ? 1 : 0);
                _sndMax = _sndNxt;
                _tlpInFlight = true;
                _tlpRetransmitted = false;
                _tlpEndSeq = _sndNxt;
            }
        }
        else if (_scoreboard.LastUnsacked() is var last and >= 0 && Retransmit(last))
        {
            _tlpInFlight = true;
            _tlpRetransmitted = true;
            _tlpEndSeq = _sndNxt;
        }
        ArmRetransmit();
    }

    /// <summary>
    /// RFC 8985 7.4.2, TLP_process_ack: whether the ACK settles the probe's episode, and how. A
    /// probe of new data leaves loss detection to RACK; a probe that sent data again repaired a
    /// loss unless the peer had that data already: a DSACK for it (the original arrived too), or a
    /// duplicate ACK without SACK. Settled only when the ACK goes past TLP.end_seq without either
    /// (an ACK of TLP.end_seq itself may be followed by the DSACK): then the loss the probe
    /// repaired is answered as fast recovery would answer it, a reduction to ssthresh that ends at
    /// once (Linux's tcp_process_tlp_ack: CWR). True when it was.
    /// </summary>
    private bool LossProbeAcknowledged(TcpSequence ack, bool probeDuplicated, bool duplicateWithoutSack)
    {
        if (ack < _tlpEndSeq)
            return false;
        if (!_tlpRetransmitted || probeDuplicated || duplicateWithoutSack)
        {
            _tlpInFlight = false;
            return false;
        }
        if (ack == _tlpEndSeq)
            return false;
        _tlpInFlight = false;
        _spurious.Stop(); // a loss after the last recovery: its reduction stands
        Table.Counters.Count(TcpCounter.LossProbeRecoveries);
        // Linux's ssthresh callbacks for a CWR go from the window (tcp_reno_ssthresh, bictcp_recalc_ssthresh),
        // not the flight: at the probe's ACK the flight is the tail alone.
        _cc.OnLoss(_cc.Window, _sendMss);
        _cc.OnRecoveryEnd();
        return true;
    }

    /// <summary>
    /// RFC 3522 3.2, Eifel detection: the ACK that acknowledges a retransmitted segment (here the
    /// one at SND.UNA, the hole whose filling the ACK's timestamp echoes, RFC 7323 4.3) echoes a
    /// timestamp older than the retransmission: the original filled the hole, the retransmission
    /// was needless. Equal timestamps (sent in the same millisecond) prove nothing.
    /// </summary>
    private void EifelCheck(TcpSequence ack, uint echoed)
    {
        if (_scoreboard.Count == 0)
            return;
        ref SentSegment first = ref _scoreboard[0];
        if (!first.Retransmitted || first.End > ack)
            return;
        uint resentTsval = unchecked((uint)(first.SentAt / 1_000_000) + _tsOffset);
        if (unchecked((int)(echoed - resentTsval)) < 0)
            _spurious.AcknowledgedOriginal(first.Start, first.End);
    }

    /// <summary>
    /// After a fast recovery, while its evidence can still come: when every retransmission it made
    /// proved needless (RFC 3708 2 by DSACK, RFC 3522 by timestamp), nothing was lost and its
    /// reduction is undone (RFC 4015 3, RFC 9438 4.9): the congestion state before it comes back.
    /// The watch ends with the ACK of data sent after the recovery ended, a round trip later.
    /// </summary>
    private void UndoIfSpurious()
    {
        if (_spurious.AllNeedless)
        {
            Table.Counters.Count(TcpCounter.SpuriousRecoveriesUndone);
            _cc.Undo(_spurious.Before);
            _spurious.Stop();
        }
        else if (_sndUna > _spurious.Until)
        {
            _spurious.Stop();
        }
    }

    /// <summary>
    /// A retransmission timeout starts a new episode for the tail loss probe (RFC 8985 7.1), and
    /// ends the watch over the last fast recovery: the timeout's reduction stands.
    /// </summary>
    private void TimeoutEndsEpisodes()
    {
        _tlpInFlight = false;
        _spurious.Stop();
    }

    /// <summary>RFC 1191 7's plateau table: the MTU to try when an old router's error leaves the next-hop MTU out.</summary>
    private static ReadOnlySpan<int> MtuPlateaus => [32000, 17914, 8166, 4352, 2002, 1492, 1006, 508, 296, 68];

    /// <summary>
    /// An ICMP error about a segment of this connection. It is believed only when the sequence
    /// number it quotes is in flight (RFC 5927 4.1: a blind attacker must guess it). Packet too
    /// big lowers the MSS to what the path carries (RFC 1191, RFC 8201, RFC 9293 3.7.2) and sends
    /// again what no longer fits, at once; a port or protocol unreachable during the handshake ends
    /// it (RFC 1122 4.2.3.9's hard errors); other errors are soft and only counted.
    /// </summary>
    internal void IcmpError(in IcmpError error)
    {
        var seq = new TcpSequence(error.Sequence);
        bool inFlight = seq >= _sndUna && seq < _sndNxt;
        if (!inFlight)
        {
            Table.Counters.Count(TcpCounter.IcmpErrorsIgnored);
            return;
        }
        switch (error.Kind)
        {
            case IcmpErrorKind.PacketTooBig:
                PathMtu(error.Mtu);
                break;
            case IcmpErrorKind.Unreachable when State == TcpState.SynSent && IsHardUnreachable(error):
                Table.Counters.Count(TcpCounter.ConnectionsRefused);
                EnterClosed(TcpError.Refused);
                break;
            default:
                Table.Counters.Count(TcpCounter.IcmpSoftErrors);
                break;
        }
    }

    /// <summary>Port or protocol unreachable (ICMP codes 3 and 2; ICMPv6 code 4): nobody there will ever answer.</summary>
    private bool IsHardUnreachable(in IcmpError error) => IsIpv6 ? error.Code == 4 : error.Code is 2 or 3;

    private void PathMtu(int mtu)
    {
        int ipHeader = IsIpv6 ? 40 : 20;
        int current = _sendMss + ipHeader + TcpSegment.FixedLength + (_timestamps ? 12 : 0);
        if (mtu == 0)
        {
            // RFC 1191 5: an old router's error without the MTU; guess the next plateau down.
            foreach (int plateau in MtuPlateaus)
            {
                if (plateau < current)
                {
                    mtu = plateau;
                    break;
                }
            }
        }
        // Never below what every path of the family carries (RFC 8200 5's 1280; for IPv4 Linux's
        // 552-byte floor rather than RFC 791's 68, or a forged error could shrink segments to nothing).
        mtu = Math.Max(mtu, IsIpv6 ? 1280 : 552);
        int mss = mtu - ipHeader - TcpSegment.FixedLength - (_timestamps ? 12 : 0);
        if (mss >= _sendMss)
            return; // a packet too big can only lower the MSS
        _sendMss = mss;
        Table.Counters.Count(TcpCounter.PathMtuUpdates);
        // What was sent at the old size will never arrive: send it again, cut to the new one.
        for (int i = 0; i < _scoreboard.Count; i++)
        {
            if (_scoreboard[i].Length > mss)
                _scoreboard.MarkLost(i);
        }
        Output();
    }
}
