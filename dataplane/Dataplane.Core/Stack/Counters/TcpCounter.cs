namespace Dataplane.Stack;

/// <summary>TCP counters, named as BSD's <c>struct tcpstat</c>.</summary>
/// <remarks>Errors: malformed segments; segments to a closed port and the resets that answer them are the protocol working.</remarks>
[Counters("tcp", order: 65)]
internal enum TcpCounter
{
    /// <summary>Segments received.</summary>
    [Counter("segments received")]
    Received,

    /// <summary>Segments shorter than the fixed header, or whose data offset is below it or beyond the segment (tcps_rcvbadoff, tcps_rcvshort).</summary>
    [Counter("segments with a bad header length", Error = true)]
    BadHeaderLength,

    /// <summary>Checksum did not verify (tcps_rcvbadsum).</summary>
    [Counter("bad checksums", Error = true)]
    BadChecksum,

    /// <summary>Segments that found no connection or listener (tcps_noport).</summary>
    [Counter("segments to a port nobody listens on")]
    NoPort,

    /// <summary>Segments to a broadcast or multicast address, or in a link-layer broadcast, which TCP never answers (RFC 1122 4.2.3.10, 3.3.6).</summary>
    [Counter("segments to a broadcast or multicast address")]
    Broadcast,

    /// <summary>Segments from the unspecified address, to which nothing is sent (RFC 4291 2.5.2).</summary>
    [Counter("segments from the unspecified address")]
    UnspecifiedSource,

    /// <summary>Resets received that found no connection: dropped, never answered (RFC 9293 3.10.7.1).</summary>
    [Counter("resets to a port nobody listens on")]
    ResetNoPort,

    /// <summary>Resets sent.</summary>
    [Counter("resets sent")]
    ResetsSent,

    /// <summary>Resets not sent, held back by the worker's rate limit (OpenBSD's tcps_rstppslimit, net.inet.tcp.rstppslimit).</summary>
    [Counter("resets not sent: rate limit")]
    ResetsRateLimited,

    /// <summary>Segments the stack could not send for want of a buffer.</summary>
    [Counter("segments not sent: no buffer", Error = true)]
    NoBuffer,

    /// <summary>A known option of the wrong length, or options running past the header (RFC 9293 3.2).</summary>
    [Counter("segments with malformed options", Error = true)]
    BadOptions,

    /// <summary>A SYN that also carries FIN: no stack opens a connection so; a probe or an attack.</summary>
    [Counter("SYN+FIN segments dropped", Error = true)]
    SynFin,

    /// <summary>Segments to a listening port that are neither a SYN nor an ACK (RFC 9293 3.10.7.2).</summary>
    [Counter("segments to a listener dropped")]
    ListenDropped,

    /// <summary>Segments sent, resets and acknowledgments included (tcps_sndtotal).</summary>
    [Counter("segments sent")]
    Sent,

    /// <summary>Segments sent that carried data (tcps_sndpack).</summary>
    [Counter("data segments sent")]
    DataSegmentsSent,

    /// <summary>Super-segments sent whole to a port that cuts them (TSO); their segments count in the two above.</summary>
    [Counter("super-segments sent for the port to cut (TSO)")]
    SuperSegmentsSent,

    /// <summary>Segments sent again: after a timeout, a fast retransmit, a partial acknowledgment (tcps_sndrexmitpack).</summary>
    [Counter("data segments retransmitted")]
    Retransmitted,

    /// <summary>SYNs that opened a connection on a listener (tcps_accepts counts those completed).</summary>
    [Counter("connections requested")]
    PassiveOpens,

    /// <summary>Connections through a listener whose handshake completed and reached their app (tcps_accepts).</summary>
    [Counter("connections accepted")]
    Accepts,

    /// <summary>Active opens: SYNs of connect (tcps_connattempt).</summary>
    [Counter("connection requests")]
    ConnectAttempts,

    /// <summary>Connections that completed their handshake, either way (tcps_connects).</summary>
    [Counter("connections established")]
    ConnectionsEstablished,

    /// <summary>Active opens answered by a reset (ECONNREFUSED).</summary>
    [Counter("connections refused")]
    ConnectionsRefused,

    /// <summary>SYNs dropped because the listener held its backlog of connections in their handshake (tcps_listendrop).</summary>
    [Counter("listen queue overflows")]
    ListenQueueOverflows,

    /// <summary>Connections that completed their handshake after their listener closed: reset.</summary>
    [Counter("connections reset: listener closed")]
    ListenerGone,

    /// <summary>Opens refused at set tcp connections, or with the worker short of buffers.</summary>
    [Counter("connections refused: limit")]
    ConnectionsRefusedLimit,

    /// <summary>Resets that closed a connection (RFC 5961 3.2: at exactly RCV.NXT).</summary>
    [Counter("resets received")]
    ResetsReceived,

    /// <summary>Resets outside the receive window: dropped (RFC 9293 3.10.7.4).</summary>
    [Counter("resets outside the window")]
    ResetsOutOfWindow,

    /// <summary>Resets in the window but not at RCV.NXT, answered with an ACK (RFC 5961 3.2).</summary>
    [Counter("challenge ACKs for resets")]
    ChallengeAcksRst,

    /// <summary>SYNs on a synchronized connection, answered with an ACK (RFC 5961 4.2).</summary>
    [Counter("challenge ACKs for SYNs")]
    ChallengeAcksSyn,

    /// <summary>Segments acknowledging data older than the peer's largest window, answered with an ACK (RFC 5961 5.2).</summary>
    [Counter("challenge ACKs for old ACKs")]
    ChallengeAcksData,

    /// <summary>Challenge ACKs held back by the worker's limit (RFC 5961 7; per worker, not global: CVE-2016-5696).</summary>
    [Counter("challenge ACKs not sent: rate limit")]
    ChallengeAcksRateLimited,

    /// <summary>Segments with a timestamp older than the connection's (RFC 7323 5, tcps_pawsdrop).</summary>
    [Counter("segments dropped by PAWS")]
    PawsDropped,

    /// <summary>Segments without data outside the receive window, answered with an ACK.</summary>
    [Counter("segments outside the window")]
    OutOfWindow,

    /// <summary>Segments with data wholly outside the receive window (tcps_rcvpackafterwin, tcps_rcvduppack).</summary>
    [Counter("data segments outside the window")]
    DataOutOfWindow,

    /// <summary>Segments whose tail lay beyond the receive window, cut there (tcps_rcvbyteafterwin).</summary>
    [Counter("data segments cut at the window")]
    DataBeyondWindow,

    /// <summary>Segments on a synchronized connection without the ACK bit (RFC 9293 3.10.7.4).</summary>
    [Counter("segments without ACK dropped")]
    NoAck,

    /// <summary>Acknowledgments beyond SND.NXT, answered with an ACK and dropped (tcps_rcvacktoomuch, RFC 5961 5.2).</summary>
    [Counter("ACKs for data never sent")]
    AckTooMuch,

    /// <summary>Acknowledgments below SND.UNA by more than the largest window (RFC 5961 5.2).</summary>
    [Counter("ACKs older than the window")]
    AckTooOld,

    /// <summary>Segments whose data arrived in order (tcps_rcvpack).</summary>
    [Counter("data segments received in order")]
    DataReceivedInOrder,

    /// <summary>Segments with data received already (tcps_rcvduppack, tcps_rcvpartduppack).</summary>
    [Counter("duplicate data segments")]
    DuplicateData,

    /// <summary>Segments held ahead of a hole (tcps_rcvoopack).</summary>
    [Counter("out-of-order segments")]
    OutOfOrder,

    /// <summary>Segments ahead of a hole that could not be held: the queue's bound, or buffers short.</summary>
    [Counter("out-of-order segments dropped")]
    OutOfOrderDropped,

    /// <summary>Bare ACKs out of the window left unanswered, the answer rate-limited per connection (Linux's TCPACKSkippedSeq).</summary>
    [Counter("out-of-window ACKs not answered (rate limit)")]
    OutOfWindowAcksLimited,

    /// <summary>Segments inside the window dropped because the receive buffer was full (Linux's TCPRcvQDrop): the window's rounding had walked past it.</summary>
    [Counter("segments dropped: receive buffer full")]
    ReceiveBufferFull,

    /// <summary>Receive buffers grown by auto-tuning: the app read more in a round trip than before.</summary>
    [Counter("receive buffer auto-tuning steps")]
    ReceiveBufferGrown,

    /// <summary>Data for a connection its app had closed: the connection is reset (RFC 9293 3.10.7.4).</summary>
    [Counter("connections reset: data after close")]
    DataAfterClose,

    /// <summary>Duplicate acknowledgments (RFC 5681 2, tcps_rcvdupack).</summary>
    [Counter("duplicate ACKs")]
    DuplicateAcks,

    /// <summary>Recoveries started by three duplicate acknowledgments (RFC 5681 3.2, RFC 6582).</summary>
    [Counter("fast retransmits")]
    FastRetransmits,

    /// <summary>Retransmission timer expiries (tcps_rexmttimeo).</summary>
    [Counter("retransmit timeouts")]
    RetransmitTimeouts,

    /// <summary>Connections given up after too many retransmissions (tcps_timeoutdrop).</summary>
    [Counter("connections dropped by retransmit timeout")]
    RetransmitTimeoutDrops,

    /// <summary>Acknowledgments sent when the delayed-ACK timer ran out (tcps_delack).</summary>
    [Counter("delayed ACKs sent")]
    DelayedAcks,

    /// <summary>Zero-window probes (RFC 9293 3.8.6.1, tcps_sndprobe).</summary>
    [Counter("window probes sent")]
    WindowProbes,

    /// <summary>Keepalive probes (RFC 1122 4.2.3.6, tcps_keepprobe).</summary>
    [Counter("keepalive probes sent")]
    KeepaliveProbes,

    /// <summary>Connections whose keepalive probes went unanswered (tcps_keepdrops).</summary>
    [Counter("connections dropped by keepalive")]
    KeepaliveDrops,

    /// <summary>Connections that entered TIME-WAIT.</summary>
    [Counter("connections in TIME-WAIT")]
    TimeWaitEntered,

    /// <summary>Closed connections whose peer never sent its FIN (Linux's tcp_fin_timeout).</summary>
    [Counter("connections dropped in FIN-WAIT-2")]
    FinWait2Timeouts,

    /// <summary>A connection's timer that the worker's wheel had no room for.</summary>
    [Counter("timers not armed: wheel full", Error = true)]
    NoTimer,

    /// <summary>SYN-ACKs carrying a SYN cookie, sent when a listener's queue was full (RFC 4987 3.6, tcps_sc_sendcookie).</summary>
    [Counter("SYN cookies sent")]
    SynCookiesSent,

    /// <summary>Handshakes completed from a valid SYN cookie (tcps_sc_recvcookie).</summary>
    [Counter("SYN cookies accepted")]
    SynCookiesAccepted,

    /// <summary>ACKs to a listener whose cookie did not check, while cookies were in use: reset.</summary>
    [Counter("SYN cookies failed")]
    SynCookiesFailed,

    /// <summary>ACKs whose SACK information judged segments lost (RFC 6675 IsLost, RFC 8985 RACK).</summary>
    [Counter("ACKs that judged segments lost")]
    SackRecoveryLosses,

    /// <summary>SACK blocks ignored: inverted, below SND.UNA or beyond SND.NXT (the CVE-2019-11477 family).</summary>
    [Counter("SACK blocks ignored")]
    SackBlocksInvalid,

    /// <summary>DSACKs received: a segment arrived twice at the peer (RFC 2883).</summary>
    [Counter("DSACKs received")]
    DsacksReceived,

    /// <summary>Tail loss probes sent (RFC 8985 7).</summary>
    [Counter("tail loss probes sent")]
    LossProbes,

    /// <summary>Tail loss probes that repaired a loss, answered with a congestion window reduction (RFC 8985 7.4.2; Linux's TCPLossProbeRecovery).</summary>
    [Counter("tail loss probes that repaired a loss")]
    LossProbeRecoveries,

    /// <summary>Fast recoveries whose every retransmission proved needless (DSACK, RFC 3708; timestamps, RFC 3522): the window reduction undone (RFC 4015; Linux's TCPDSACKUndo).</summary>
    [Counter("window reductions undone: spurious recovery")]
    SpuriousRecoveriesUndone,

    /// <summary>ICMP errors about TCP segments that found no connection, or quoted a sequence number not in flight (RFC 5927 4.1).</summary>
    [Counter("ICMP errors ignored")]
    IcmpErrorsIgnored,

    /// <summary>ICMP errors taken as soft (RFC 1122 4.2.3.9): counted, the connection goes on.</summary>
    [Counter("ICMP soft errors")]
    IcmpSoftErrors,

    /// <summary>Path MTU decreases taken from packet-too-big errors (RFC 1191, RFC 8201).</summary>
    [Counter("path MTU updates")]
    PathMtuUpdates,

    /// <summary>Connections in TIME-WAIT ended early by a new SYN past the old incarnation (RFC 6191).</summary>
    [Counter("TIME-WAIT connections reused")]
    TimeWaitReused,

    /// <summary>Splices started: a source socket's received bytes go to a drain socket inside the stack (OpenBSD's SO_SPLICE).</summary>
    [Counter("splices started")]
    SplicesStarted,

    /// <summary>Splices refused: a listening or unconnected socket, one spliced already, the drain on another worker, a bad maximum or timeout.</summary>
    [Counter("splices refused")]
    SplicesRefused,

    /// <summary>Bytes moved by splices from a source's receive queue to a drain's send queue, without a copy.</summary>
    [Counter("bytes moved by splice inside the stack")]
    SplicedBytes,

    /// <summary>Splices dissolved: the source's stream ended with nothing left to move.</summary>
    [Counter("splices dissolved: end of stream")]
    SpliceEndOfStream,

    /// <summary>Splices dissolved: the drain could not send any more (shut down, closed, reset; EPIPE).</summary>
    [Counter("splices dissolved: drain gone")]
    SpliceDrainGone,

    /// <summary>Splices dissolved: the maximum bytes were moved (EFBIG).</summary>
    [Counter("splices dissolved: maximum reached")]
    SpliceMaximum,

    /// <summary>Splices dissolved: nothing moved for the idle timeout (ETIMEDOUT).</summary>
    [Counter("splices dissolved: idle timeout")]
    SpliceIdleTimeout,

    /// <summary>Splices dissolved: the source's connection failed (reset, timed out, aborted).</summary>
    [Counter("splices dissolved: source error")]
    SpliceSourceError,

    /// <summary>Splices dissolved by their app.</summary>
    [Counter("splices dissolved by the app")]
    SpliceUnspliced,

    /// <summary>Relay sessions opened: an accepted connection and its outgoing one (<c>app relay tcp</c>).</summary>
    [Counter("relay sessions opened")]
    RelaySessions,

    /// <summary>Relay sessions whose outgoing connection failed (refused, timed out, no route or port): the client reset.</summary>
    [Counter("relay connections to the far side failed")]
    RelayConnectFailed,

    /// <summary>Relay sessions ended after their idle timeout, both sides reset.</summary>
    [Counter("relay sessions closed after their idle timeout")]
    RelayIdleClosed,
}
