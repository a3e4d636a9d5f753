using Dataplane.Stack.Ip;
using Dataplane.Wire;

namespace Dataplane.Stack.Transport.Tcp;

/// <summary>
/// Sending: what to send and when (RFC 9293 3.8.6 windows, 3.7.4 Nagle, silly-window avoidance),
/// acknowledgments, retransmission (RFC 6298) and congestion control (RFC 5681, RFC 6582 NewReno).
/// </summary>
internal sealed partial class TcpSocket
{
    /// <summary>The sequence number after the last byte queued to send (while our SYN is unacknowledged, it occupies SND.UNA).</summary>
    private TcpSequence DataEnd => _sndUna + _send.Bytes + (State is TcpState.SynSent or TcpState.SynReceived ? 1 : 0) - (_finAcked ? 1 : 0);

    /// <summary>
    /// Sends what the windows and the rules allow: segments judged lost first (RFC 6675 NextSeg
    /// rule 1), then new data, a FIN, or an acknowledgment that is due. What goes into the network
    /// is bounded by the congestion window less the pipe, or in recovery by PRR's allowance (RFC
    /// 6937); new data also by the peer's window. Called after every change that may allow a send.
    /// </summary>
    internal void Output()
    {
        switch (State)
        {
            case TcpState.Closed:
            case TcpState.Listen:
                return;
            case TcpState.SynSent:
                return; // the SYN is sent by connect and by the retransmission timer
            case TcpState.SynReceived:
                if (_ackNow)
                    SendSyn();
                return;
            case TcpState.TimeWait:
                if (_ackNow)
                    SendSegment(_sndNxt, TcpFlags.Ack, 0, retransmit: false);
                return;
        }
        bool sent = false;
        int? superRoom = null; // what one super-segment may carry, looked up once a call
        while (true)
        {
            int allowance = Allowance;
            if (allowance <= 0)
                break;
            int lost = _scoreboard.FirstLost();
            if (lost >= 0)
            {
                if (!Retransmit(lost))
                    break;
                sent = true;
                continue;
            }
            TcpSequence dataEnd = DataEnd;
            int unsent = dataEnd - _sndNxt;
            int peerRoom = _sndUna + (int)Math.Min(_sndWnd, int.MaxValue) - _sndNxt;
            int mss = SegmentPayloadRoom;
            int length = Math.Clamp(Math.Min(unsent, Math.Min(peerRoom, Math.Min(allowance, mss))), 0, mss);
            bool fin = _finQueued && !_finAcked && _sndNxt + length == dataEnd;
            if (length == 0 && !fin)
                break;
            if (length > 0 && length < mss && !fin)
            {
                // Sender-side silly window avoidance (RFC 9293 3.8.6.2.1) and Nagle (3.7.4): a short
                // segment goes only when it is all there is and nothing is in flight (or nodelay),
                // or when it fills at least half the largest window the peer offered.
                bool allThereIs = length == unsent;
                bool nothingInFlight = _sndNxt == _sndUna;
                if (!(allThereIs && (nothingInFlight || NoDelay)) && length < (int)(_maxSndWnd / 2))
                    break;
            }
            if (length > 0 && !MaySendNewData())
                break; // this turn's share is sent: the rest at the next (TcpSocket.Share.cs)
            int segmentSize = 0;
            if (length == mss)
            {
                // Whole segments while there are two or more to send: one super-segment for the
                // port to cut (TSO), when the route's port can.
                int room = Math.Min(Math.Min(unsent, peerRoom), Math.Min(allowance, ShareLeft));
                if (room >= 2 * mss && (superRoom ??= SuperSegmentRoom()) >= 2 * mss)
                {
                    length = Math.Min(room, superRoom.Value) / mss * mss;
                    segmentSize = mss;
                    fin = _finQueued && !_finAcked && _sndNxt + length == dataEnd;
                }
            }
            if (!SendSegment(_sndNxt, TcpFlags.Ack | (fin ? TcpFlags.Fin : 0) | (length > 0 && length == unsent ? TcpFlags.Psh : 0), length, retransmit: false, segmentSize))
                break;
            SentNewData(length);
            if (!_timing && length > 0 && !_timestamps)
            {
                // Karn: time one segment at a time, never a retransmitted one (RFC 6298 3).
                _timing = true;
                _timedSequence = _sndNxt;
                _timedAt = Now;
            }
            int consumed = length + (fin ? 1 : 0);
            if (segmentSize == 0)
            {
                _scoreboard.Append(_sndNxt, consumed, Now);
            }
            else
            {
                // One record per segment the port cuts, as if each were sent alone: SACK, RACK and
                // retransmission see the segments the peer sees.
                for (int at = 0; at < length; at += segmentSize)
                {
                    int piece = Math.Min(segmentSize, length - at);
                    _scoreboard.Append(_sndNxt + at, piece + (fin && at + piece == length ? 1 : 0), Now);
                }
            }
            _sndNxt += consumed;
            _sndMax = _sndNxt;
            if (_inRecovery)
                TakeAllowance(consumed);
            if (_retransmitAt == 0)
                ArmRetransmit();
            sent = true;
            if (fin)
                break;
        }
        // A bare ACK carries SND.MAX (here SND.NXT, which never goes back: retransmissions come
        // from the scoreboard), so the peer finds it in its window (RFC 9293 3.10.7.4 first).
        if (!sent && (_ackNow || _dsackPending))
            SendSegment(_sndMax, TcpFlags.Ack, 0, retransmit: false);
        if (sent)
            ArmLossProbe();
        // RFC 9293 3.8.6.1: with data waiting, a zero window and nothing in flight, probe.
        if (_sndWnd == 0 && DataEnd > _sndNxt && _sndNxt == _sndUna && _retransmitAt == 0 && _persistAt == 0)
        {
            _persistAt = Now + Math.Clamp(_rto << _persistBackoff, MinRto, 60_000_000_000);
            ArmTimer(_persistAt);
        }
    }

    /// <summary>
    /// The payload one super-segment may carry when the port the route leaves by cuts segments
    /// (TSO, <c>set tso on</c>): what fits an IP packet of 65,535 bytes behind the longest TCP
    /// header (Linux's GSO_MAX_SIZE); 0 when the port cannot.
    /// </summary>
    private int SuperSegmentRoom()
        => Table.Layer.Ip.RouteInterface(Remote.Ip, Scope) is { } output && (output.Capabilities & Ports.PortCapabilities.Tso) != 0
            ? 65535 - IpOutput.HeaderLength(IsIpv6) - 60
            : 0;

    /// <summary>
    /// The payload the next segment can carry: the MSS (already less the timestamp option) less
    /// the SACK blocks it will carry, so that no segment passes the path MTU (RFC 9293 3.7.1:
    /// the MSS counts data, and options beyond the usual come out of it, as Linux's tcp_current_mss).
    /// </summary>
    private int SegmentPayloadRoom
    {
        get
        {
            if (!_sackPermitted || (_receive.OutOfOrderCount == 0 && !_dsackPending))
                return _sendMss;
            int room = _timestamps ? 3 : 4;
            int blocks = (_dsackPending ? 1 : 0) + _receive.SackBlockCount(room - (_dsackPending ? 1 : 0));
            return blocks == 0 ? _sendMss : _sendMss - (4 + 8 * blocks);
        }
    }

    private void TakeAllowance(int bytes)
    {
        _prrOut += bytes;
        _prrAllowance -= bytes;
    }

    /// <summary>Sends segment <paramref name="index"/> of the scoreboard again, cut to the MSS; false when it could not be sent.</summary>
    private bool Retransmit(int index)
    {
        ref SentSegment segment = ref _scoreboard[index];
        TcpSequence finSeq = DataEnd;
        bool coversFin = _finQueued && segment.End == finSeq + 1;
        int data = segment.Length - (coversFin ? 1 : 0);
        int mss = SegmentPayloadRoom;
        if (data > mss)
        {
            _scoreboard.Split(index, mss);
            segment = ref _scoreboard[index];
            coversFin = false;
            data = mss;
        }
        TcpFlags flags = TcpFlags.Ack | (coversFin ? TcpFlags.Fin : 0);
        if (!SendSegment(segment.Start, flags, data, retransmit: true))
            return false;
        int length = segment.Length;
        _scoreboard.Resent(index, Now);
        _spurious.Sent(segment.Start, segment.End);
        if (_timing && _timedSequence >= segment.Start)
            _timing = false; // Karn
        if (_inRecovery)
            TakeAllowance(length);
        if (_retransmitAt == 0)
            ArmRetransmit();
        return true;
    }

    /// <summary>Sends our SYN (SYN-SENT) or SYN-ACK (SYN-RECEIVED) with the options we offer.</summary>
    internal void SendSyn()
    {
        bool synAck = State == TcpState.SynReceived;
        bool first = _sndMax <= _iss;
        SendSegment(_iss, synAck ? TcpFlags.Syn | TcpFlags.Ack : TcpFlags.Syn, 0, retransmit: !first);
        if (first)
        {
            _sndMax = _sndNxt = _iss + 1;
            // The handshake gives the first RTT sample (RFC 6298 2.2), unless the SYN is sent again (Karn).
            _timing = true;
            _timedSequence = _iss;
            _timedAt = Now;
        }
        if (_retransmitAt == 0)
            ArmRetransmit();
    }

    /// <summary>Resets the peer from this connection: <c>&lt;SEQ=seq&gt;&lt;CTL=RST&gt;</c>, with an ACK when synchronized.</summary>
    private void SendReset(TcpSequence seq) => Table.SendReset(this, seq, _rcvNxt, TcpFlags.Rst | TcpFlags.Ack);

    /// <summary>
    /// Builds and sends one segment from <paramref name="seq"/>: <paramref name="length"/> bytes of
    /// the send queue, the flags, our window and the options in force. Every segment carries the
    /// acknowledgment, so a pending ACK is sent with it.
    /// </summary>
    private bool SendSegment(TcpSequence seq, TcpFlags flags, int length, bool retransmit, int segmentSize = 0)
    {
        var options = default(TcpOptions);
        bool syn = (flags & TcpFlags.Syn) != 0;
        if (syn)
        {
            options.MaximumSegmentSize = (ushort)Table.RouteMss(Remote, Scope, IsIpv6 ? 40 : 20);
            if (_windowScaling)
                options.WindowScale = (byte)_rcvScale;
            options.SackPermitted = _sackPermitted;
        }
        if (_timestamps)
            options.Timestamps = (TimestampNow, (flags & TcpFlags.Ack) != 0 ? _tsRecent : 0);
        if (!syn && _sackPermitted)
        {
            int room = _timestamps ? 3 : 4;
            if (_dsackPending)
            {
                options.AddSackBlock(new TcpSackBlock(_dsackLeft.Value, _dsackRight.Value));
                room--;
            }
            _receive.AddSackBlocks(ref options, _latestReceived, room);
        }
        ushort window = AdvertiseWindow(syn);
        TcpSequence ack = (flags & TcpFlags.Ack) != 0 ? _rcvNxt : default;
        bool built = segmentSize == 0
            ? Table.Layer.Send(this, seq, ack, flags, window, options, length)
            : Table.Layer.SendSuper(this, seq, ack, flags, window, options, length, segmentSize);
        if (!built)
            return false;
        if ((flags & TcpFlags.Ack) != 0)
        {
            _lastAckSent = _rcvNxt;
            _ackNow = false;
            _dsackPending = false;
            _unackedSegments = 0;
            _delayedAckAt = 0;
        }
        if (retransmit)
        {
            Retransmits++;
            Table.Counters.Count(TcpCounter.Retransmitted);
        }
        return true;
    }

    /// <summary>Copies <paramref name="into"/>.Length queued bytes from sequence number <paramref name="seq"/> (the layer fills a segment with it).</summary>
    internal void CopyPayload(TcpSequence seq, Span<byte> into) => _send.CopyOut(Table.Cache.Pool, seq - _sndUna, into);

    /// <summary>RFC 7323 4.1: the timestamp clock, in milliseconds, from a per-connection offset.</summary>
    private uint TimestampNow => unchecked((uint)(Now / 1_000_000) + _tsOffset);

    /// <summary>The time since the peer's echoed timestamp <paramref name="echo"/> was ours, in nanoseconds.</summary>
    private long TimestampAge(uint echo) => (long)unchecked(TimestampNow - echo) * 1_000_000;

    /// <summary>RFC 6298 2.2 and 2.3: SRTT and RTTVAR from a measurement, and the RTO from them.</summary>
    private void SampleRtt(long rtt)
    {
        if (rtt < 0)
            return;
        if (_srtt == 0)
        {
            _srtt = Math.Max(rtt, 1);
            _rttvar = rtt / 2;
        }
        else
        {
            _rttvar = (3 * _rttvar + Math.Abs(_srtt - rtt)) / 4;
            _srtt = Math.Max((7 * _srtt + rtt) / 8, 1);
        }
        _rto = Math.Clamp(_srtt + Math.Max(1_000_000, 4 * _rttvar), MinRto, MaxRto);
    }
}
