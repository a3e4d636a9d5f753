namespace Dataplane.Stack.Transport.Tcp;

/// <summary>
/// HyStart's delay detection (Ha and Rhee, "Taming the elephants", 2011; Linux's tcp_cubic.c
/// HYSTART_DELAY, on by default since 2.6.29): the initial slow start ends when the round trip
/// rises above the connection's least by an eighth of it, 4 to 16 ms (RFC 9406's thresholds), as
/// the least RTT of a round's acknowledgments (after the first 8) shows it. Without it a window that
/// never meets a loss (a path whose queues are deep or never drop, as a tap's or a packet ring's)
/// doubles every round until the send buffer stops it, and the whole buffer then waits in the
/// bottleneck's queue in front of whatever else shares it: in an iperf3 --bidir test whose streams
/// share a worker, the client's data queued behind a megabyte of our own data's acknowledgments in
/// the worker's receive ring, so that the client's direction got a third or less of ours.
/// </summary>
/// <remarks>
/// Not RFC 9406's HyStart++, which compares each round with the one before and then grows a
/// quarter as fast for five rounds (conservative slow start): on a path whose round trip starts far
/// below the 4 ms floor (a fraction of a millisecond here) the round trip climbs less than 4 ms from one
/// round to the next while the window doubles, and a worker's batches make a round's least RTT
/// jitter by milliseconds, so conservative slow start kept falling back to slow start: measured in
/// the iperf3 lab, it ended slow start in 1 run of 6, and let the window grow to twice the send
/// buffer in the others. The comparison with
/// the connection's least RTT ends it at the first round whose every sample waited behind a queue
/// of 4 ms. As RFC 9406 4.3 recommends, only the initial slow start (no threshold yet) is ended so;
/// <see cref="TcpCongestion"/> asks only then. A struct: the same for NewReno and CUBIC.
/// </remarks>
internal struct TcpHyStart
{
    /// <summary>RFC 9406 4.3 MIN_RTT_THRESH (Linux's HYSTART_DELAY_MIN): the least rise that counts, in nanoseconds.</summary>
    public const long MinDelayThreshold = 4_000_000;

    /// <summary>RFC 9406 4.3 MAX_RTT_THRESH (HYSTART_DELAY_MAX): the most rise asked for.</summary>
    public const long MaxDelayThreshold = 16_000_000;

    /// <summary>RFC 9406 4.3 MIN_RTT_DIVISOR: the rise asked for is the least RTT over this, within the two bounds.</summary>
    public const int DelayDivisor = 8;

    /// <summary>RFC 9406 4.3 N_RTT_SAMPLE (HYSTART_MIN_SAMPLES): samples a round takes before its least RTT is compared.</summary>
    public const int MinSamples = 8;

    /// <summary>Linux's hystart_low_window: no exit from slow start below this many segments.</summary>
    public const int LowWindowSegments = 16;

    private bool _started;
    private TcpSequence _roundEnd;  // the round ends with an ACK past this (SND.NXT when it began)
    private long _minRtt;           // the least RTT of the connection, nanoseconds; 0 before the first
    private long _roundMinRtt;      // the least of this round's samples; 0 before the first
    private int _samples;

    /// <summary>The least round trip seen, in nanoseconds (0 before the first sample).</summary>
    public readonly long MinRtt => _minRtt;

    /// <summary>
    /// An acknowledgment in the initial slow start: <paramref name="ack"/> and <paramref name="sndNxt"/>
    /// mark the rounds, <paramref name="rtt"/> is the round trip it measured in nanoseconds (0 for
    /// none: what it acknowledged was sent twice), <paramref name="windowSegments"/> the window.
    /// True when slow start is to end here.
    /// </summary>
    public bool OnAck(TcpSequence ack, TcpSequence sndNxt, long rtt, int windowSegments)
    {
        if (rtt > 0 && (_minRtt == 0 || rtt < _minRtt))
            _minRtt = rtt;
        if (!_started || ack > _roundEnd)
        {
            // A new round: it runs to what has been sent by now.
            _started = true;
            _roundEnd = sndNxt;
            _roundMinRtt = 0;
            _samples = 0;
        }
        if (rtt <= 0 || windowSegments < LowWindowSegments)
            return false;
        if (_roundMinRtt == 0 || rtt < _roundMinRtt)
            _roundMinRtt = rtt;
        if (++_samples <= MinSamples)
            return false;
        long threshold = Math.Clamp(_minRtt / DelayDivisor, MinDelayThreshold, MaxDelayThreshold);
        return _roundMinRtt > _minRtt + threshold;
    }
}
