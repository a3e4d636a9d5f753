using Dataplane.Stack.Ip;
using Dataplane.Wire;

namespace Dataplane.Stack.Transport.Tcp;

/// <summary>
/// Acknowledgments and loss recovery: the cumulative ACK and SACK blocks update the scoreboard
/// (RFC 2018, RFC 6675); RACK (RFC 8985 6) judges a segment lost when one sent after it was
/// delivered and its own time is up; with a peer that does not SACK, three duplicate ACKs do (RFC
/// 5681 3.2, RFC 6582); recovery sends at PRR's pace (RFC 6937); a tail loss probe (RFC 8985 7)
/// turns a lost tail into SACK feedback instead of a timeout; DSACKs widen RACK's reordering window.
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
            _tlpOutstanding = false;
            // RTT (RFC 6298 3, RFC 7323 4): from the echoed timestamp, or the timed segment (Karn).
            if (_timestamps && options.Timestamps is var (_, echo) && echo != 0)
                SampleRtt(TimestampAge(echo));
            else if (_timing && ack > _timedSequence)
                SampleRtt(Now - _timedAt);
            if (_timing && ack > _timedSequence)
                _timing = false;
        }
        if (_sackPermitted)
            SackInput(options, ack, ref delivered);
        RackUpdate(delivered);
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

        // Judge losses: RACK and RFC 6675 with SACK; without it, the third duplicate ACK (or a
        // partial ACK in recovery) says the first segment is lost.
        if (_sackPermitted)
        {
            if (_scoreboard.MarkLostBySack(mss) > 0 | RackDetectLoss())
                Table.Counters.Count(TcpCounter.SackRecoveryLosses);
        }
        else if (duplicate && _scoreboard.Count > 0)
        {
            Table.Counters.Count(TcpCounter.DuplicateAcks);
            if (++_dupAcks == 3 && !_scoreboard[0].Lost)
                _scoreboard.MarkLost(0);
        }
        if (acked > 0)
        {
            _dupAcks = 0;
            if (_inRecovery && !_sackPermitted && ack < _recoveryPoint && _scoreboard.Count > 0 && !_scoreboard[0].Lost)
                _scoreboard.MarkLost(0); // RFC 6582 3.2 step 4: a partial ACK, the next hole
        }
        if (duplicate && _sackPermitted)
            Table.Counters.Count(TcpCounter.DuplicateAcks);

        if (_inRecovery)
        {
            if (_sndUna >= _recoveryPoint)
            {
                // RFC 6675 5 / RFC 6937: recovery ends; the window is the threshold.
                _inRecovery = false;
                _cc.OnRecoveryEnd();
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
        else if (acked > 0 && !_inRecovery && CongestionWindowLimited(outstandingBefore))
        {
            _cc.OnAck(acked, mss, Now, _srtt);
        }
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
    /// taught). Returns the bytes newly SACKed.
    /// </summary>
    private int SackInput(in TcpOptions options, TcpSequence ack, ref DeliveryInfo delivered)
    {
        int newly = 0;
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

    /// <summary>RFC 8985 6.2 steps 1-2: RACK.xmit_ts and RACK.rtt follow the most recently sent segment delivered.</summary>
    private void RackUpdate(in DeliveryInfo delivered)
    {
        if (delivered.LatestSentAt == 0)
            return;
        long rtt = Now - delivered.LatestSentAt;
        // A retransmitted segment delivered sooner than the least RTT was delivered by its first
        // transmission: no sample (step 2).
        if (delivered.LatestRetransmitted && rtt < _minRtt)
            return;
        if (!delivered.LatestRetransmitted && (_minRtt == 0 || rtt < _minRtt))
            _minRtt = Math.Max(rtt, 1);
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
    /// </summary>
    private bool RackDetectLoss()
    {
        if (_rackSentAt == 0)
            return false;
        long reorderWindow = ReorderWindow;
        long now = Now;
        long wait = 0;
        bool marked = false;
        for (int i = 0; i < _scoreboard.Count; i++)
        {
            ref SentSegment s = ref _scoreboard[i];
            if (s.Sacked || (s.Lost && !s.Retransmitted))
                continue; // delivered, or waiting to be sent again
            if (s.SentAt > _rackSentAt || (s.SentAt == _rackSentAt && s.End >= _rackEnd))
            {
                // Sent after the delivered one. Originals are in sequence order, so none after it
                // can be older; a retransmission can be, and the originals behind it must still be seen.
                if (s.Retransmitted)
                    continue;
                break;
            }
            long remaining = s.SentAt + _rackRtt + reorderWindow - now;
            if (remaining <= 0)
                marked |= _scoreboard.MarkLost(i);
            else if (wait == 0 || remaining < wait)
                wait = remaining;
        }
        if (wait > 0)
        {
            _rackTimerAt = now + wait;
            ArmTimer(_rackTimerAt);
        }
        return marked;
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
                return _minRtt / 4; // RFC 8985 allows 0 here; a quarter RTT costs little and spares a spurious recovery
            return Math.Min(_reorderWindowMultiplier * _minRtt / 4, Math.Max(_srtt, 1));
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
        _cc.OnLoss(flight, _sendMss);
        _prrDelivered = 0;
        _prrOut = 0;
        _recoverFs = Math.Max(flight, 1);
        // RFC 6937 3: the first retransmission goes at once.
        _prrAllowance = _sendMss;
        _tlpAt = 0;
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
        if (!_sackPermitted || _inRecovery || _tlpOutstanding || _srtt == 0 || _sndNxt == _sndUna)
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
    /// </summary>
    private void LossProbe()
    {
        if (_sndNxt == _sndUna || _inRecovery)
            return;
        Table.Counters.Count(TcpCounter.LossProbes);
        _tlpOutstanding = true;
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
            }
        }
        else if (_scoreboard.LastUnsacked() is var last and >= 0)
        {
            Retransmit(last);
        }
        ArmRetransmit();
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
