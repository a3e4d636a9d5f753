using Dataplane.Engine;
using Dataplane.Wire;

namespace Dataplane.Stack.Transport.Tcp;

/// <summary>The transmission control block (RFC 9293 3.3.1) and the transitions every part of the protocol shares.</summary>
internal sealed partial class TcpSocket
{
    /// <summary>RFC 6298 2.1: the RTO before the first measurement.</summary>
    public const long InitialRto = 1_000_000_000;

    /// <summary>
    /// The least RTO: 200 ms, as Linux and the BSDs use (RFC 6298 2.4 says one second, written for
    /// coarse clocks; a one-second floor would stall a LAN for a second on every timeout).
    /// </summary>
    public const long MinRto = 200_000_000;

    /// <summary>The most RTO after backoff (RFC 6298 2.5 allows a maximum of at least 60 s; Linux's TCP_RTO_MAX).</summary>
    public const long MaxRto = 120_000_000_000;

    /// <summary>Retransmissions of a segment before the connection is given up (Linux's tcp_retries2).</summary>
    public const int MaxRetransmits = 15;

    /// <summary>Retransmissions of a SYN or SYN-ACK before the handshake is given up (Linux's tcp_syn_retries).</summary>
    public const int MaxSynRetransmits = 6;

    /// <summary>How long an acknowledgment may wait for company (RFC 9293 3.8.6.3: under 0.5 s; Linux's 40 ms floor).</summary>
    public const long DelayedAckTimeout = 40_000_000;

    /// <summary>2 MSL, the TIME-WAIT (RFC 9293 3.4.2 with Linux's 30-second MSL).</summary>
    public const long TimeWaitDuration = 60_000_000_000;

    /// <summary>How long a connection the app closed waits in FIN-WAIT-2 for the peer's FIN (Linux's tcp_fin_timeout).</summary>
    public const long FinWait2Timeout = 60_000_000_000;

    /// <summary>RFC 1122 4.2.3.6: keepalive probes start after two hours idle by default.</summary>
    public const long DefaultKeepaliveIdle = 7_200_000_000_000;

    /// <summary>Between unanswered keepalive probes (Linux's tcp_keepalive_intvl).</summary>
    public const long KeepaliveInterval = 75_000_000_000;

    /// <summary>Unanswered keepalive probes before the connection is given up (Linux's tcp_keepalive_probes).</summary>
    public const int KeepaliveProbes = 9;

    /// <summary>RFC 7323 5.5: a TS.Recent older than 24 days is no longer used to reject segments.</summary>
    public const long PawsIdle = 24L * 24 * 3600 * 1_000_000_000;

    /// <summary>The least time between ACKs answering bare ACKs out of the window (Linux's tcp_invalid_ratelimit).</summary>
    public const long InvalidAckInterval = 500_000_000;

    /// <summary>Segments a connection holds out of order, at most (the holes a peer can make us keep).</summary>
    public const int MaxOutOfOrder = 1024;

    // Send sequence space (RFC 9293 3.3.1).
    private TcpSequence _iss;
    private TcpSequence _sndUna;
    private TcpSequence _sndNxt;
    private TcpSequence _sndMax; // the highest SND.NXT so far: a timeout sends again from SND.UNA
    private uint _sndWnd;
    private uint _maxSndWnd;
    private TcpSequence _sndWl1;
    private TcpSequence _sndWl2;
    private int _sndScale; // the peer's shift, applied to windows it sends
    private int _sendMss;
    private bool _finQueued;
    private bool _finAcked;
    private readonly TcpSendQueue _send = new();
    private int _sendLimit;
    private bool _wantSendSpace;

    // Receive sequence space.
    private TcpSequence _irs;
    private TcpSequence _rcvNxt;
    private TcpSequence _rcvAdv; // the right edge of the window last advertised: never moved back (RFC 9293 3.8.6.2.1)
    private int _rcvScale; // our shift, applied to windows we send
    private int _receiveLimit;  // set tcp buffer: the most the receive buffer grows to
    private int _receiveBuffer; // the receive buffer as tuned so far (TcpSocket.Buffers.cs)
    private int _rcvSpace;      // the most the app read in one receiver round trip
    private long _rcvSpaceRead; // bytes the app had read when this round trip began
    private long _rcvSpaceAt;
    private long _rcvRtt;       // the receiver's round trip: what the tuning measures over
    private uint _rcvRttEcho;
    private TcpSequence _rcvRttEdge;
    private long _rcvRttAt;
    private int _peerMss;
    private bool _finReceived;
    private TcpSequence _latestReceived;
    private readonly TcpReceiveQueue _receive = new();
    private TcpSequence _dsackLeft, _dsackRight; // RFC 2883: a duplicate to report once
    private bool _dsackPending;

    // Options agreed in the handshake.
    private bool _timestamps;
    private bool _sackPermitted;
    private bool _windowScaling;
    private uint _tsRecent;
    private long _tsRecentAge;
    private uint _tsOffset;
    private TcpSequence _lastAckSent;

    // Round-trip time and the retransmission timer (RFC 6298).
    private long _srtt;
    private long _rttvar;
    private long _rto;
    private int _retransmits;
    private bool _timing;
    private TcpSequence _timedSequence;
    private long _timedAt;

    // Congestion control (RFC 9438 CUBIC or RFC 5681 NewReno) and loss recovery: the scoreboard
    // of segments in flight (RFC 6675), RACK-TLP (RFC 8985), PRR (RFC 6937).
    private TcpCongestion _cc;
    private readonly TcpScoreboard _scoreboard = new();
    private int _dupAcks;
    private bool _inRecovery;
    private TcpSequence _recoveryPoint; // recovery ends when SND.UNA reaches it (RFC 6675's RecoveryPoint)
    private TcpSequence _recover;       // after a timeout, no new recovery for what was sent before it (RFC 6582 4.2)
    private int _prrDelivered;
    private int _prrOut;
    private int _recoverFs;
    private int _prrAllowance;
    private long _rackSentAt;           // RACK.xmit_ts: the latest send time of a delivered segment
    private TcpSequence _rackEnd;
    private long _rackRtt;
    private WindowedMinimum _minRtt;    // RACK.min_RTT (RFC 8985 6.2 step 1): the least RTT of the last MinRttWindow
    private int _reorderWindowMultiplier;
    private bool _reorderingSeen;
    private long _rackTimerAt;
    private long _tlpAt;
    private bool _tlpInFlight;          // RFC 8985 7: TLP.end_seq is set: the episode of the last probe is not settled
    private TcpSequence _tlpEndSeq;     // TLP.end_seq: SND.NXT when the probe went
    private bool _tlpRetransmitted;     // TLP.is_retrans: the probe sent data again rather than new data
    private SpuriousRetransmissions _spurious; // the last fast recovery's retransmissions, until they prove needless or the episode is past
    private int _dupDelivered;
    private int _limitedTransmit;       // RFC 3042: bytes of new data the first two duplicate ACKs let go beyond the window
    private TcpSequence _limitedTransmitStart; // SND.NXT at the first duplicate ACK: what limited transmit sent lies past it
    private bool _afterTimeout;
    private TcpSequence _dsackRound;

    // Acknowledgments and timers.
    private bool _ackNow;
    private int _unackedSegments;
    private long _retransmitAt;
    private long _delayedAckAt;
    private long _persistAt;
    private long _keepaliveAt;
    private long _stateAt;
    private long _keepaliveIdle;
    private long _lastHeard;
    private long _lastInvalidAckAt; // when a bare ACK out of the window was last answered
    private int _keepaliveProbesSent;
    private int _persistBackoff;
    private TimerHandle _timer;
    private long _timerAt;

    // What the app is to hear of, gathered while a segment or timer is handled and told after.
    private TcpEvents _events;
    private uint _parentGeneration;

    /// <summary>Whether the connection sends keepalive probes when idle (SO_KEEPALIVE, RFC 1122 4.2.3.6); off by default.</summary>
    public bool KeepAlive
    {
        get => _keepaliveIdle > 0;
        set
        {
            _keepaliveIdle = value ? DefaultKeepaliveIdle : 0;
            ArmKeepalive();
        }
    }

    /// <summary>The congestion control of the connection (CUBIC unless <c>set tcp congestion</c> or the app says otherwise); set it before the handshake.</summary>
    public CongestionAlgorithm Congestion { get; set; }

    /// <summary>Sets the idle time before keepalive probes start, and turns them on.</summary>
    public void SetKeepAlive(TimeSpan idle)
    {
        _keepaliveIdle = Math.Max(1_000_000_000, idle.Ticks * 100);
        ArmKeepalive();
    }

    /// <summary>Packet buffers the connection's queues hold.</summary>
    internal int BuffersHeld => _send.Buffers + _receive.Buffers;

    /// <summary>RFC 9293 3.10.1, active OPEN: SYN-SENT from <paramref name="iss"/>, offering every option we have.</summary>
    internal void BeginActiveOpen(TcpSequence iss, uint timestampOffset, int receiveScale)
    {
        _iss = _sndUna = _sndNxt = _sndMax = _recover = iss;
        _tsOffset = timestampOffset;
        _timestamps = _windowScaling = true; // offered; the SYN-ACK says which hold
        _sackPermitted = Table.Sack;
        _rcvScale = receiveScale;
        _sendMss = Table.RouteMss(Remote, Scope, IsIpv6 ? 40 : 20);
        SetState(TcpState.SynSent);
    }

    /// <summary>
    /// RFC 9293 3.10.7.2, a SYN to a listener: SYN-RECEIVED, the peer's numbers and options taken,
    /// our ISS chosen; the SYN-ACK is sent next.
    /// </summary>
    internal void BeginPassiveOpen(TcpSocket listener, TcpSequence iss, TcpSequence irs, ushort window, in TcpOptions options, uint timestampOffset, int receiveScale)
    {
        Parent = listener;
        _parentGeneration = listener.Generation;
        _iss = _sndUna = _sndNxt = _sndMax = _recover = iss;
        _irs = irs;
        _rcvNxt = irs + 1;
        _tsOffset = timestampOffset;
        TakeSynOptions(options, active: false);
        _rcvScale = _windowScaling ? receiveScale : 0;
        _sndWnd = _maxSndWnd = window; // a SYN's window is never scaled (RFC 7323 2.2)
        _sndWl1 = irs;
        _sndWl2 = iss;
        if (_timestamps && options.Timestamps is var (value, _))
        {
            _tsRecent = value;
            _tsRecentAge = Now;
        }
        _rcvAdv = _rcvNxt + (int)ReceiveWindowFor(syn: true);
        SetState(TcpState.SynReceived);
    }

    /// <summary>A connection rebuilt from a SYN cookie: our SYN-ACK went out (statelessly); the ACK comes next.</summary>
    internal void CookieSynSent() => _sndNxt = _sndMax = _iss + 1;

    /// <summary>A listener stops: it is closed, and connections still in their handshake through it will be reset when they complete.</summary>
    internal void AbandonListening() => SetState(TcpState.Closed);

    /// <summary>True while the listener this passive connection came through still listens (and is the same socket life).</summary>
    private bool ParentListens => Parent is { } parent && parent.Generation == _parentGeneration && parent.State == TcpState.Listen && !parent.Released;

    /// <summary>Gives back every buffer the queues hold.</summary>
    internal void ReleaseQueues()
    {
        _send.Clear(Table.Cache);
        _receive.Clear(Table.Cache);
    }

    private void ResetProtocol()
    {
        _iss = _sndUna = _sndNxt = _sndMax = _sndWl1 = _sndWl2 = _recover = default;
        _sndWnd = _maxSndWnd = 0;
        _sndScale = _rcvScale = 0;
        _sendMss = _peerMss = 536;
        _finQueued = _finAcked = _finReceived = _wantSendSpace = false;
        _irs = _rcvNxt = _rcvAdv = _latestReceived = _lastAckSent = default;
        _dsackPending = false;
        _timestamps = _sackPermitted = _windowScaling = false;
        _tsRecent = 0;
        _tsRecentAge = 0;
        _tsOffset = 0;
        _srtt = _rttvar = 0;
        _rto = InitialRto;
        _retransmits = 0;
        _timing = false;
        _cc = default;
        _scoreboard.Clear();
        _dupAcks = 0;
        _inRecovery = false;
        _recoveryPoint = default;
        _prrDelivered = _prrOut = _recoverFs = _prrAllowance = 0;
        _rackSentAt = _rackRtt = 0;
        _minRtt.Clear();
        _rackEnd = default;
        _reorderWindowMultiplier = 1;
        _reorderingSeen = false;
        _rackTimerAt = _tlpAt = 0;
        _tlpInFlight = _tlpRetransmitted = false;
        _tlpEndSeq = default;
        _spurious = default;
        _dupDelivered = 0;
        _limitedTransmit = 0;
        _limitedTransmitStart = default;
        _afterTimeout = false;
        _dsackRound = default;
        Congestion = Table.Congestion;
        _ackNow = false;
        _unackedSegments = 0;
        _retransmitAt = _delayedAckAt = _persistAt = _keepaliveAt = _stateAt = 0;
        _keepaliveIdle = 0;
        _lastHeard = 0;
        _lastInvalidAckAt = 0;
        _keepaliveProbesSent = 0;
        _persistBackoff = 0;
        _timer = default;
        _timerAt = 0;
        _events = TcpEvents.None;
        _sendLimit = Table.SendBufferLimit;
        _receiveLimit = Table.ReceiveBufferLimit;
        _receiveBuffer = Math.Min(InitialBuffer, _receiveLimit);
        _rcvSpace = 0;
        _rcvSpaceRead = _rcvSpaceAt = _rcvRtt = _rcvRttAt = 0;
        _rcvRttEcho = 0;
        _rcvRttEdge = default;
        BytesAcked = BytesReceived = Retransmits = 0;
        Backlog = 0;
    }

    /// <summary>
    /// The connection is over (RFC 9293: "enter the CLOSED state, delete the TCB"): its buffers go
    /// back, its timers stop, it leaves the connection table; the app hears of it unless it let go
    /// already or <paramref name="notify"/> is false. The object itself returns to the pool once the app lets go.
    /// </summary>
    private void EnterClosed(TcpError reason, bool notify = true)
    {
        TcpState was = State;
        Error = reason;
        SetState(TcpState.Closed);
        DissolveSplices(appLetGo: false);
        _send.Clear(Table.Cache);
        _scoreboard.Clear();
        if (Released)
            _receive.Clear(Table.Cache); // nobody will read it; an app that holds the socket may still
        _retransmitAt = _delayedAckAt = _persistAt = _keepaliveAt = _stateAt = _rackTimerAt = _tlpAt = 0;
        Table.Cancel(ref _timer);
        _timerAt = 0;
        if (_spliceDrain is not null && _spliceIdleAt != 0)
            ArmTimer(_spliceIdleAt); // still spliced (the stream's last bytes wait for the drain): its idle timeout holds
        if (Parent is { } listener)
        {
            if (listener.Generation == _parentGeneration)
                listener.Pending--;
            Parent = null;
        }
        Table.Remove(this, was);
        if (notify && !Released)
            _events |= TcpEvents.Closed;
    }

    /// <summary>RFC 9293 3.10.7.4: a connection in a synchronized state enters TIME-WAIT; everything but the 2 MSL timer stops.</summary>
    private void EnterTimeWait()
    {
        SetState(TcpState.TimeWait);
        _retransmitAt = _persistAt = _keepaliveAt = _rackTimerAt = _tlpAt = 0;
        _send.Clear(Table.Cache);
        _scoreboard.Clear();
        _stateAt = Now + TimeWaitDuration;
        Table.Counters.Count(TcpCounter.TimeWaitEntered);
        ArmTimer(_stateAt);
        if (!Released)
            _events |= TcpEvents.Closed; // both sides closed: the app may let go
    }

    private long Now => Table.Context.Now;

    /// <summary>Tells the app what happened while a segment or timer was handled; nothing touches the socket after this.</summary>
    internal void Dispatch()
    {
        TcpEvents events = _events;
        _events = TcpEvents.None;
        if (events == TcpEvents.None)
            return;
        uint generation = Generation;
        if ((events & TcpEvents.Established) != 0)
        {
            if (Parent is { } listener)
            {
                if (!ParentListens)
                {
                    // The listener went away during the handshake: nobody will accept this connection.
                    Table.Counters.Count(TcpCounter.ListenerGone);
                    SendReset(_sndNxt);
                    EnterClosed(TcpError.Aborted, notify: false);
                    return;
                }
                TcpApp app = listener.App!;
                listener.Pending--;
                Adopt(app);
                Table.Counters.Count(TcpCounter.Accepts);
                app.OnAccept(listener, this);
            }
            else if (App is { } app)
            {
                app.OnConnected(this);
            }
        }
        if ((events & TcpEvents.Readable) != 0 && _spliceDrain is not null)
        {
            // Spliced: what arrived goes on to the drain, not to the app (TcpSocket.Splice.cs).
            SpliceMove();
            events = (events & ~TcpEvents.Readable) | (_events & TcpEvents.Unspliced);
            _events &= ~TcpEvents.Unspliced;
        }
        if ((events & TcpEvents.Writable) != 0 && _spliceSource is { } source)
        {
            // Room opened in a drain: the source moves more.
            source.SpliceMove();
            source.Dispatch();
        }
        if (Generation == generation && !Released && (events & TcpEvents.Unspliced) != 0 && _spliceDrain is null)
            App!.OnSpliceEnded(this, SpliceEnded);
        if (Generation == generation && !Released && (events & TcpEvents.Readable) != 0)
            App!.OnReceive(this);
        if (Generation == generation && !Released && (events & TcpEvents.Writable) != 0 && _wantSendSpace && SendSpace > 0)
        {
            _wantSendSpace = false;
            App!.OnSendSpace(this);
        }
        if (Generation == generation && !Released && (events & TcpEvents.Closed) != 0)
            App!.OnClosed(this, Error);
    }
}

/// <summary>What the app is to be told after the stack handled a segment or a timer.</summary>
[Flags]
internal enum TcpEvents : byte
{
    /// <summary>Nothing.</summary>
    None = 0,

    /// <summary>The handshake completed.</summary>
    Established = 1,

    /// <summary>Data or a FIN arrived.</summary>
    Readable = 2,

    /// <summary>Acknowledgments freed room in the send buffer.</summary>
    Writable = 4,

    /// <summary>The connection ended (or reached TIME-WAIT).</summary>
    Closed = 8,

    /// <summary>The splice this socket is the source of dissolved.</summary>
    Unspliced = 16,
}
