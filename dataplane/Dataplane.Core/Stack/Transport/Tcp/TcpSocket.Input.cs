using Dataplane.Buffers;
using Dataplane.Stack.Ip;
using Dataplane.Wire;

namespace Dataplane.Stack.Transport.Tcp;

/// <summary>A segment for this connection: RFC 9293 3.10.7, SEGMENT ARRIVES, state by state.</summary>
internal sealed partial class TcpSocket
{
    /// <summary>
    /// Handles a segment of this connection that passed the layer's checks. The socket takes the
    /// packet: it queues the payload or releases it.
    /// </summary>
    internal void Input(in IpDatagram datagram, TcpSegment tcp, in TcpOptions options)
    {
        if (State == TcpState.SynSent)
        {
            SynSentInput(datagram, tcp, options);
            return;
        }
        TcpFlags flags = tcp.Flags;
        var seq = new TcpSequence(tcp.SequenceNumber);
        int length = datagram.TransportLength - tcp.HeaderLength;
        int payloadOffset = datagram.TransportFrameOffset + tcp.HeaderLength;
        PacketBuffer packet = datagram.Packet;
        bool queued = false;
        try
        {
            // RFC 7323 5.3 R1: PAWS. A segment whose timestamp is older than TS.Recent is an old
            // duplicate (its sequence numbers may have wrapped): acknowledge and drop it; a reset
            // is never answered.
            if (_timestamps && options.Timestamps is var (tsVal, _) && (flags & TcpFlags.Rst) == 0
                && (int)(tsVal - _tsRecent) < 0 && Now - _tsRecentAge < PawsIdle)
            {
                Table.Counters.Count(TcpCounter.PawsDropped);
                _ackNow = true;
                Output();
                return;
            }
            uint window = ReceiveWindow;
            bool acceptable = length == 0
                ? window == 0 ? seq == _rcvNxt : seq.IsInWindow(_rcvNxt, window) || seq == _rcvNxt
                : window != 0 && (seq.IsInWindow(_rcvNxt, window) || (seq + (length - 1)).IsInWindow(_rcvNxt, window) || (seq < _rcvNxt && seq + length > _rcvNxt));
            // A segment that starts before the window but carries a FIN at RCV.NXT is a retransmitted FIN: acceptable.
            if (!acceptable && length == 0 && (flags & TcpFlags.Fin) != 0 && seq + 1 == _rcvNxt)
                acceptable = true;

            // RFC 9293 3.10.7.4 second, with RFC 5961 3.2: a reset is taken only at exactly
            // RCV.NXT; one elsewhere in the window gets a challenge ACK (a blind attacker must
            // guess the exact number); one outside is dropped.
            if ((flags & TcpFlags.Rst) != 0)
            {
                if (seq == _rcvNxt)
                {
                    Table.Counters.Count(TcpCounter.ResetsReceived);
                    // A connection still in its handshake from a listener just goes (RFC 9293: back to LISTEN).
                    EnterClosed(State == TcpState.SynReceived && Parent is not null ? TcpError.Refused : TcpError.Reset, notify: State != TcpState.TimeWait);
                }
                else if (seq.IsInWindow(_rcvNxt, Math.Max(window, 1)))
                {
                    ChallengeAck(TcpCounter.ChallengeAcksRst);
                }
                else
                {
                    Table.Counters.Count(TcpCounter.ResetsOutOfWindow);
                }
                return;
            }
            // RFC 5961 4.2: a SYN in a synchronized state gets a challenge ACK, wherever it lies;
            // in SYN-RECEIVED, the peer's retransmitted SYN gets our SYN-ACK again.
            if ((flags & TcpFlags.Syn) != 0)
            {
                if (State == TcpState.SynReceived && seq == _irs)
                {
                    if ((flags & TcpFlags.Ack) != 0 && new TcpSequence(tcp.AcknowledgmentNumber) == _iss + 1 && Parent is null)
                    {
                        // Simultaneous open (RFC 9293 3.5, figure 7): the peer's SYN-ACK to our SYN
                        // acknowledges it; its SYN is known already: taken as the ACK it also is.
                        seq += 1;
                        flags &= ~TcpFlags.Syn;
                        acceptable = true;
                    }
                    else
                    {
                        SendSyn();
                        return;
                    }
                }
                else
                {
                    ChallengeAck(TcpCounter.ChallengeAcksSyn);
                    return;
                }
            }
            if (!acceptable && window == 0 && seq == _rcvNxt && (flags & TcpFlags.Ack) != 0)
            {
                // RFC 9293 3.10.7.4 first: with our window at zero no segment is acceptable, "but
                // special allowance should be made to accept valid ACKs": its acknowledgment and
                // window are taken, its data is not; it is answered with an ACK.
                Table.Counters.Count(TcpCounter.DataBeyondWindow);
                if (AckInput(tcp, seq, 0, options) && State != TcpState.Closed)
                {
                    _ackNow = true;
                    Output();
                }
                return;
            }
            if (!acceptable)
            {
                // RFC 9293 3.10.7.4 first: an unacceptable segment is answered with an ACK and dropped.
                Table.Counters.Count(length > 0 ? TcpCounter.DataOutOfWindow : TcpCounter.OutOfWindow);
                if (length > 0 && seq < _rcvNxt)
                    NoteDuplicate(seq, length);
                if (length == 0 && (flags & TcpFlags.Fin) == 0)
                {
                    // A bare ACK out of the window is answered at most twice a second (Linux's
                    // tcp_invalid_ratelimit): an ACK flood with forged numbers is not reflected at
                    // the real peer, and two ends that disagree do not loop. Data is always answered.
                    if (_lastInvalidAckAt != 0 && Now - _lastInvalidAckAt < InvalidAckInterval)
                    {
                        Table.Counters.Count(TcpCounter.OutOfWindowAcksLimited);
                        return;
                    }
                    _lastInvalidAckAt = Now;
                }
                _ackNow = true;
                Output();
                return;
            }
            if ((flags & TcpFlags.Ack) == 0)
            {
                Table.Counters.Count(TcpCounter.NoAck); // RFC 9293 3.10.7.4 fifth: no ACK, drop
                return;
            }
            _lastHeard = Now; // the peer is alive: keepalive waits its idle time from here
            // RFC 7323 4.3: TS.Recent follows the segment that covers the last ACK we sent.
            if (_timestamps && options.Timestamps is var (value, _) && (int)(value - _tsRecent) >= 0 && seq <= _lastAckSent)
            {
                _tsRecent = value;
                _tsRecentAge = Now;
            }
            if (!AckInput(tcp, seq, length, options))
                return;
            if (State == TcpState.Closed)
                return;

            // RFC 9293 3.10.7.4 sixth: the urgent pointer. Urgent data is delivered inline, as
            // SO_OOBINLINE does (RFC 6093 recommends it); the pointer needs nothing more.

            // Seventh: segment text.
            bool fin = (flags & TcpFlags.Fin) != 0;
            if (length > 0 || fin)
                queued = TextInput(packet, payloadOffset, seq, length, fin);
            if (length > 0)
                MeasureReceiverRtt(options, length);
            Output();
        }
        finally
        {
            if (!queued)
                Table.Cache.Release(packet);
        }
    }

    /// <summary>
    /// RFC 6191 2 (and RFC 9293 3.6.1): a SYN for this four-tuple in TIME-WAIT may open a new
    /// incarnation when it cannot be an old duplicate: its timestamp is newer than the last one
    /// seen, or, without timestamps, its sequence number lies past RCV.NXT. Then the TIME-WAIT ends
    /// here and the SYN goes to the listener. False for anything else (handled as in TIME-WAIT).
    /// </summary>
    internal bool TryEndTimeWaitFor(TcpSegment tcp, in TcpOptions options)
    {
        if (State != TcpState.TimeWait || (tcp.Flags & (TcpFlags.Syn | TcpFlags.Ack | TcpFlags.Rst)) != TcpFlags.Syn)
            return false;
        bool newer = _timestamps && options.Timestamps is var (value, _)
            ? (int)(value - _tsRecent) > 0
            : new TcpSequence(tcp.SequenceNumber) > _rcvNxt;
        if (!newer)
            return false;
        Table.Counters.Count(TcpCounter.TimeWaitReused);
        EnterClosed(TcpError.None, notify: false);
        return true;
    }

    /// <summary>
    /// RFC 9293 3.10.7.4 fifth, the ACK field, for SYN-RECEIVED and the synchronized states; with
    /// RFC 5961 5.2's acceptable range. False when the segment is done with (dropped or answered).
    /// </summary>
    private bool AckInput(TcpSegment tcp, TcpSequence seq, int length, in TcpOptions options)
    {
        var ack = new TcpSequence(tcp.AcknowledgmentNumber);
        if (State == TcpState.SynReceived)
        {
            if (!(_sndUna < ack && ack <= _sndMax))
            {
                // RFC 9293 3.10.7.4: an unacceptable ACK in SYN-RECEIVED gets <SEQ=SEG.ACK><CTL=RST>.
                Table.SendReset(this, ack, default, TcpFlags.Rst);
                return false;
            }
            // Our SYN is acknowledged: the connection is established.
            _sndUna = _iss + 1;
            if (_timing)
            {
                // The handshake's RTT (RFC 6298 2.2); not when the SYN-ACK was sent again (Karn) or came from a cookie.
                SampleRtt(Now - _timedAt);
                _timing = false;
            }
            SetState(_finQueued ? TcpState.FinWait1 : TcpState.Established);
            _events |= TcpEvents.Established;
            Table.Counters.Count(TcpCounter.ConnectionsEstablished);
            HandshakeDone();
            UpdateWindow(tcp, seq, ack, force: true);
        }
        // RFC 5961 5.2: an ACK for data never sent, or older than the largest window the peer
        // offered, is answered with an ACK and dropped (blind data injection needs both numbers right).
        if (ack > _sndMax)
        {
            // Answered as a challenge (RFC 5961 5.2), within the worker's budget: a spray of such
            // ACKs must not draw an answer each.
            Table.Counters.Count(TcpCounter.AckTooMuch);
            ChallengeAck(TcpCounter.ChallengeAcksData);
            return false;
        }
        if (ack < _sndUna - (int)Math.Max(_maxSndWnd, 1))
        {
            Table.Counters.Count(TcpCounter.AckTooOld);
            ChallengeAck(TcpCounter.ChallengeAcksData);
            return false;
        }
        // RFC 5681 2's duplicate ACK: nothing new acknowledged, no data, no FIN, the same window, data outstanding.
        bool duplicate = ack == _sndUna && length == 0 && (tcp.Flags & TcpFlags.Fin) == 0 && _sndMax > _sndUna && Scaled(tcp.Window) == _sndWnd;
        if (ack > _sndUna || duplicate || (options.SackBlockCount > 0 && _sackPermitted))
            AckArrived(ack, options, duplicate);
        UpdateWindow(tcp, seq, ack, force: false);
        switch (State)
        {
            case TcpState.FinWait1 when FinAcknowledged:
                SetState(TcpState.FinWait2);
                if (Released)
                {
                    _stateAt = Now + FinWait2Timeout; // nobody will close it further: do not wait forever
                    ArmTimer(_stateAt);
                }
                break;
            case TcpState.Closing when FinAcknowledged:
                EnterTimeWait();
                break;
            case TcpState.LastAck when FinAcknowledged:
                EnterClosed(TcpError.None);
                return false;
            case TcpState.TimeWait:
                // A retransmitted FIN: acknowledge it and restart the 2 MSL timeout (RFC 9293 3.10.7.4).
                if ((tcp.Flags & TcpFlags.Fin) != 0)
                {
                    _stateAt = Now + TimeWaitDuration;
                    ArmTimer(_stateAt);
                    _ackNow = true;
                }
                Output();
                return false;
        }
        return true;
    }

    /// <summary>
    /// The handshake is over: the retransmission count starts afresh; and when our SYN or SYN-ACK
    /// had to be sent again (no RTT sample, by Karn), RFC 6298 5.7 sets the RTO to 3 seconds for
    /// the data that follows.
    /// </summary>
    private void HandshakeDone()
    {
        if (_retransmits > 0 && _srtt == 0)
            _rto = 3_000_000_000;
        _retransmits = 0;
        _retransmitAt = 0;
        StartReceiveTuning();
    }

    /// <summary>True once the peer acknowledged our FIN.</summary>
    private bool FinAcknowledged => _finAcked;

    /// <summary>RFC 9293 3.10.7.4: SND.WND follows the segment unless it is older than the one the window last came from.</summary>
    private void UpdateWindow(TcpSegment tcp, TcpSequence seq, TcpSequence ack, bool force)
    {
        if (force || _sndWl1 < seq || (_sndWl1 == seq && _sndWl2 <= ack))
        {
            uint window = Scaled(tcp.Window);
            bool opened = window > _sndWnd;
            _sndWnd = window;
            _sndWl1 = seq;
            _sndWl2 = ack;
            _maxSndWnd = Math.Max(_maxSndWnd, window);
            if (opened && window > 0)
            {
                _persistAt = 0;
                _persistBackoff = 0;
            }
        }
    }

    private uint Scaled(ushort window) => (uint)window << _sndScale;

    /// <summary>
    /// RFC 9293 3.10.7.4 seventh and eighth: queues the payload (in its packet buffer) or holds it
    /// out of order, and takes the FIN. Returns true when the packet is queued (no longer the caller's).
    /// </summary>
    private bool TextInput(PacketBuffer packet, int offset, TcpSequence seq, int length, bool fin)
    {
        if (State is not (TcpState.Established or TcpState.FinWait1 or TcpState.FinWait2))
        {
            // CLOSE-WAIT, CLOSING, LAST-ACK: the peer's FIN came already; this cannot be new data.
            if (length > 0)
                NoteDuplicate(seq, length);
            _ackNow = true;
            return false;
        }
        if (Released && Parent is null && length > 0 && seq + length > _rcvNxt)
        {
            // RFC 9293 3.10.7.4 (and RFC 2525 2.17): data for a connection the app closed cannot be
            // delivered; reset, so the peer knows.
            Table.Counters.Count(TcpCounter.DataAfterClose);
            SendReset(_sndNxt);
            EnterClosed(TcpError.Aborted, notify: false);
            return false;
        }
        // Trim what was received already (a retransmission overlapping RCV.NXT).
        if (seq < _rcvNxt)
        {
            int duplicate = _rcvNxt - seq;
            NoteDuplicate(seq, Math.Min(duplicate, length));
            if (duplicate >= length)
            {
                if (!(fin && duplicate == length))
                {
                    _ackNow = true;
                    return false;
                }
                duplicate = length;
            }
            offset += duplicate;
            length -= duplicate;
            seq = _rcvNxt;
        }
        // Trim what lies past the window we offered.
        int beyond = seq + length - (_rcvNxt + (int)ReceiveWindow);
        if (beyond > 0)
        {
            length -= beyond;
            fin = false;
            Table.Counters.Count(TcpCounter.DataBeyondWindow);
            _ackNow = true;
            if (length <= 0)
                return false;
        }
        if (_receive.Bytes + length > ReceiveQueueLimit)
        {
            // In the window, but past what the buffer takes: the window's rounding walked the edge
            // out (TcpSocket.Buffers.cs). Dropped and acknowledged; the peer sends it again.
            Table.Counters.Count(TcpCounter.ReceiveBufferFull);
            _ackNow = true;
            return false;
        }
        _latestReceived = seq;
        if (seq != _rcvNxt)
        {
            // RFC 5681 4.2 and RFC 2018: a segment ahead of a hole is held and acknowledged at once,
            // with SACK blocks, so the sender learns of the hole.
            _ackNow = true;
            if (length <= 0 && !fin)
                return false;
            if (!Table.MayHoldOutOfOrder || !_receive.InsertOutOfOrder(packet, offset, length, seq, fin, MaxOutOfOrder, Table.Cache))
            {
                Table.Counters.Count(TcpCounter.OutOfOrderDropped);
                return false;
            }
            Table.Counters.Count(TcpCounter.OutOfOrder);
            return true;
        }
        bool queued = false;
        int segments = SegmentsIn(packet, length); // read before the queue takes the packet
        if (length > 0)
        {
            _receive.Append(packet, offset, length, Table.Cache);
            queued = true;
            _rcvNxt += length;
            BytesReceived += length;
            Table.Counters.Count(TcpCounter.DataReceivedInOrder);
            _events |= TcpEvents.Readable;
        }
        if (_receive.OutOfOrderCount > 0)
        {
            // The hole may be filled: what waited behind it joins the queue; acknowledge at once (RFC 5681 4.2).
            TcpSequence before = _rcvNxt;
            _rcvNxt = _receive.Drain(_rcvNxt, out bool drainedFin, Table.Cache);
            BytesReceived += _rcvNxt - before;
            fin |= drainedFin;
            _ackNow = true;
            if (_rcvNxt != before)
                _events |= TcpEvents.Readable;
        }
        else if (length > 0)
        {
            // RFC 9293 3.8.6.3 / RFC 5681 4.2: an ACK for at least every second segment; otherwise within the delayed-ACK time.
            // A super-frame counts as the segments it holds, so it is acknowledged at once (Linux's
            // __tcp_ack_snd_check: more than one full segment received).
            if ((_unackedSegments += segments) >= 2)
                _ackNow = true;
            else if (_delayedAckAt == 0)
            {
                _delayedAckAt = Now + DelayedAckTimeout;
                ArmTimer(_delayedAckAt);
            }
        }
        if (fin)
            FinInput();
        return queued;
    }

    /// <summary>RFC 9293 3.10.7.4 eighth: the peer's FIN, in order.</summary>
    private void FinInput()
    {
        _rcvNxt += 1;
        _finReceived = true;
        _ackNow = true;
        _events |= TcpEvents.Readable;
        switch (State)
        {
            case TcpState.SynReceived:
            case TcpState.Established:
                SetState(TcpState.CloseWait);
                break;
            case TcpState.FinWait1:
                // Our FIN not acknowledged yet (else we would be in FIN-WAIT-2): simultaneous close.
                SetState(TcpState.Closing);
                break;
            case TcpState.FinWait2:
                EnterTimeWait();
                break;
        }
    }

    /// <summary>RFC 2883: a duplicate segment is reported in the first SACK block of the next ACK.</summary>
    private void NoteDuplicate(TcpSequence seq, int length)
    {
        Table.Counters.Count(TcpCounter.DuplicateData);
        if (!_sackPermitted || length <= 0)
            return;
        _dsackLeft = seq;
        _dsackRight = seq + length;
        _dsackPending = true;
    }

    /// <summary>RFC 5961 3.2, 4.2, 5.2: an ACK in answer to a segment that may be forged, rate-limited per worker (never a global count: CVE-2016-5696).</summary>
    private void ChallengeAck(TcpCounter why)
    {
        if (!Table.TryTakeChallengeAck())
        {
            Table.Counters.Count(TcpCounter.ChallengeAcksRateLimited);
            return;
        }
        Table.Counters.Count(why);
        _ackNow = true;
        Output();
    }

    /// <summary>RFC 9293 3.10.7.3: SYN-SENT.</summary>
    private void SynSentInput(in IpDatagram datagram, TcpSegment tcp, in TcpOptions options)
    {
        TcpFlags flags = tcp.Flags;
        var ack = new TcpSequence(tcp.AcknowledgmentNumber);
        var seq = new TcpSequence(tcp.SequenceNumber);
        Table.Cache.Release(datagram.Packet); // data on a SYN-ACK is not taken: the peer sends it again
        if ((flags & TcpFlags.Ack) != 0 && (ack <= _iss || ack > _sndMax))
        {
            // An ACK for something we never sent: reset it, unless it is a reset.
            if ((flags & TcpFlags.Rst) == 0)
                Table.SendReset(this, ack, default, TcpFlags.Rst);
            return;
        }
        if ((flags & TcpFlags.Rst) != 0)
        {
            // RFC 9293 3.10.7.3 (and RFC 5961 3.2): a reset counts only when it acknowledges our SYN.
            if ((flags & TcpFlags.Ack) != 0)
            {
                Table.Counters.Count(TcpCounter.ConnectionsRefused);
                EnterClosed(TcpError.Refused);
            }
            return;
        }
        if ((flags & TcpFlags.Syn) == 0)
            return;
        _irs = seq;
        _rcvNxt = seq + 1;
        _rcvAdv = _rcvNxt + (int)ReceiveWindowFor(syn: true);
        TakeSynOptions(options, active: true);
        if ((flags & TcpFlags.Ack) != 0)
        {
            _sndUna = ack;
            if (_timing)
                SampleRtt(Now - _timedAt); // the SYN went once (Karn): its round trip is the first sample
            _timing = false;
            HandshakeDone();
            SetState(_finQueued ? TcpState.FinWait1 : TcpState.Established);
            // RFC 7323 2.2: the window of a SYN-ACK is never scaled.
            _sndWnd = _maxSndWnd = tcp.Window;
            _sndWl1 = seq;
            _sndWl2 = ack;
            if (_timestamps && options.Timestamps is var (value, _))
            {
                _tsRecent = value;
                _tsRecentAge = Now;
            }
            Table.Counters.Count(TcpCounter.ConnectionsEstablished);
            _events |= TcpEvents.Established;
            _ackNow = true;
            Output();
            return;
        }
        // A SYN without ACK: simultaneous open (RFC 9293 3.5, figure 7). Answer with SYN-ACK from the same ISS.
        SetState(TcpState.SynReceived);
        if (_timestamps && options.Timestamps is var (tsValue, _))
        {
            _tsRecent = tsValue;
            _tsRecentAge = Now;
        }
        _sndWnd = tcp.Window; // never scaled in a SYN (RFC 7323 2.2)
        _sndWl1 = seq;
        _sndWl2 = ack;
        SendSyn();
    }

    /// <summary>
    /// Takes the options of the peer's SYN (RFC 9293 3.7.1 MSS, RFC 7323 window scale and
    /// timestamps, RFC 2018 SACK-permitted); each is in force only when both SYNs carried it.
    /// </summary>
    internal void TakeSynOptions(in TcpOptions options, bool active)
    {
        int ipHeader = IsIpv6 ? 40 : 20;
        // RFC 9293 3.7.1: without the option, 536 (IPv4) or 1220 (IPv6, RFC 8200 5); an MSS below
        // what any path carries is raised to the floor Linux uses (48 is useless and dangerous:
        // CVE-2019-11479), and the peer's MSS never exceeds what our route carries.
        int peer = options.MaximumSegmentSize is ushort mss ? mss : IsIpv6 ? 1220 : 536;
        _peerMss = Math.Max(peer, TcpSocketTable.MinMss);
        _sendMss = Math.Min(_peerMss, Table.RouteMss(Remote, Scope, ipHeader));
        if (options.WindowScale is byte shift && (active ? _windowScaling : true))
        {
            _windowScaling = true;
            _sndScale = Math.Min((int)shift, 14); // RFC 7323 2.3: a shift above 14 is taken as 14
        }
        else
        {
            _windowScaling = false;
            _sndScale = 0;
            _rcvScale = 0;
        }
        _timestamps = options.Timestamps.HasValue && (!active || _timestamps);
        _sackPermitted = options.SackPermitted && (active ? _sackPermitted : Table.Sack);
        if (_timestamps)
            _sendMss -= 12; // every segment carries the option (RFC 7323 3.2)
        _cc.Start(Congestion, _sendMss);
        _recover = _iss;
        _dsackRound = _iss;
    }

    /// <summary>
    /// How many of the sender's segments <paramref name="length"/> bytes of <paramref name="packet"/>
    /// stand for: those of a super-frame (a port's LRO or GRO, or the worker's merge), cut at its
    /// segment size; 1 for any other.
    /// </summary>
    private int SegmentsIn(PacketBuffer packet, int length)
    {
        ref BufferMetadata m = ref Table.Cache.Pool.Metadata(packet);
        return m.Gso != GsoType.None && m.SegmentSize > 0 && length > m.SegmentSize ? (length + m.SegmentSize - 1) / m.SegmentSize : 1;
    }
}
