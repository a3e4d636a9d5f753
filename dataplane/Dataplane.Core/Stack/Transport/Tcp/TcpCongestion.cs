namespace Dataplane.Stack.Transport.Tcp;

/// <summary>The congestion control algorithms a connection can use.</summary>
internal enum CongestionAlgorithm : byte
{
    /// <summary>RFC 9438 CUBIC, the default (as Linux's and FreeBSD's).</summary>
    Cubic,

    /// <summary>RFC 5681 with RFC 6582's NewReno: halve on loss, one segment per round trip after.</summary>
    NewReno,
}

/// <summary>
/// The congestion window of one connection: slow start and congestion avoidance by RFC 5681 (with
/// RFC 3465's byte counting) or RFC 9438 CUBIC, the threshold after a loss, the window after a
/// timeout. Loss recovery itself (which segments go when) is the sender's, with RFC 6937 PRR
/// setting the pace. A struct in the socket, chosen by a field: no virtual call per ACK.
/// </summary>
internal struct TcpCongestion
{
    /// <summary>RFC 9438 4.6: the multiplicative decrease factor.</summary>
    public const double CubicBeta = 0.7;

    /// <summary>RFC 9438 5: the cubic's scaling constant C, in segments per second cubed.</summary>
    public const double CubicC = 0.4;

    private CongestionAlgorithm _algorithm;
    private int _avoidanceBytes;
    private double _wMax;        // segments, at the last congestion event
    private double _wLastMax;    // for fast convergence (RFC 9438 4.7)
    private double _k;           // seconds from the epoch to W_max
    private long _epochStart;    // when the current avoidance epoch began; 0: none yet
    private double _wEst;        // RFC 9438 4.3's Reno-friendly estimate, in segments

    /// <summary>The most the window grows to: far beyond any buffer, and far from overflowing.</summary>
    public const int MaxWindow = 1 << 30;

    /// <summary>The congestion window, in bytes.</summary>
    public int Window;

    /// <summary>The slow-start threshold, in bytes.</summary>
    public int Threshold;

    /// <summary>The algorithm in use.</summary>
    public readonly CongestionAlgorithm Algorithm => _algorithm;

    /// <summary>Starts a connection's window: RFC 6928's initial window, no threshold yet.</summary>
    public void Start(CongestionAlgorithm algorithm, int mss)
    {
        this = default;
        _algorithm = algorithm;
        Window = Math.Min(10 * mss, Math.Max(2 * mss, 14_600));
        Threshold = int.MaxValue;
    }

    /// <summary>
    /// New data acknowledged outside recovery: slow start (RFC 5681 3.1, L = 2 SMSS) below the
    /// threshold; above it, one segment per window (NewReno) or the cubic toward the last maximum.
    /// </summary>
    public void OnAck(int acked, int mss, long now, long srtt)
    {
        if (Window >= MaxWindow)
            return;
        if (Window < Threshold)
        {
            Window += Math.Min(acked, 2 * mss);
            return;
        }
        if (_algorithm == CongestionAlgorithm.NewReno)
        {
            _avoidanceBytes += acked;
            if (_avoidanceBytes >= Window)
            {
                _avoidanceBytes -= Window;
                Window += mss;
            }
            return;
        }
        CubicOnAck(acked, mss, now, srtt);
    }

    /// <summary>
    /// A loss was detected (entering fast recovery): the threshold comes down, by half (NewReno,
    /// RFC 5681 3.2 eq. 4) or to 0.7 of the window (CUBIC, RFC 9438 4.6); <paramref name="flight"/> is the bytes in flight.
    /// </summary>
    public void OnLoss(int flight, int mss)
    {
        if (_algorithm == CongestionAlgorithm.NewReno)
        {
            Threshold = Math.Max(flight / 2, 2 * mss);
            return;
        }
        double segments = (double)Window / mss;
        // RFC 9438 4.7: fast convergence, releasing bandwidth to new flows.
        _wMax = segments < _wLastMax ? segments * (1 + CubicBeta) / 2 : segments;
        _wLastMax = segments;
        Threshold = Math.Max((int)(Window * CubicBeta), 2 * mss);
        _epochStart = 0;
    }

    /// <summary>Recovery ended (RFC 6937: the window is the threshold).</summary>
    public void OnRecoveryEnd() => Window = Threshold;

    /// <summary>
    /// A congestion event proved spurious (RFC 9438 4.9; RFC 4015 3 for any controller): the
    /// state goes back to <paramref name="before"/>, what it was when the event was taken (for
    /// CUBIC W_max, K and the epoch with it, as if the event never happened), the window and the
    /// threshold never lower than they are now (Linux's tcp_undo_cwnd_reduction).
    /// </summary>
    public void Undo(in TcpCongestion before)
    {
        int window = Math.Max(Window, before.Window);
        int threshold = Math.Max(Threshold, before.Threshold);
        this = before;
        Window = window;
        Threshold = threshold;
    }

    /// <summary>
    /// RFC 5681 3.1 eq. 4 and RFC 6298 5.5: after a retransmission timeout the window is one segment,
    /// and (on the first timeout of a series) the threshold comes down as after a loss.
    /// </summary>
    public void OnTimeout(int flight, int mss, bool first)
    {
        if (first)
            OnLoss(Math.Max(flight, Window), mss);
        Window = mss;
        _avoidanceBytes = 0;
        _epochStart = 0;
    }

    /// <summary>RFC 9438 4.2 to 4.5: the window after an acknowledgment in congestion avoidance.</summary>
    private void CubicOnAck(int acked, int mss, long now, long srtt)
    {
        double cwnd = (double)Window / mss;
        if (_epochStart == 0)
        {
            // A new epoch: the first ACK in avoidance after a congestion event (or ever).
            _epochStart = now;
            if (_wMax < cwnd)
            {
                _wMax = cwnd;
                _k = 0;
            }
            else
            {
                _k = Math.Cbrt((_wMax - cwnd) / CubicC);
            }
            _wEst = cwnd;
        }
        double t = (now - _epochStart) / 1e9;
        double rtt = Math.Max(srtt, 1_000_000) / 1e9;
        // RFC 9438 4.3: the Reno-friendly window grows by alpha per window acknowledged.
        double alpha = 3 * (1 - CubicBeta) / (1 + CubicBeta);
        _wEst += alpha * acked / Window;
        double target = CubicC * Math.Pow(t + rtt - _k, 3) + _wMax; // W_cubic(t + RTT)
        target = Math.Clamp(target, cwnd, 1.5 * cwnd);
        if (CubicC * Math.Pow(t - _k, 3) + _wMax < _wEst)
        {
            // The Reno-friendly region (RFC 9438 4.3): at least as fast as Reno would be.
            Window = Math.Max(Window, (int)(_wEst * mss));
            return;
        }
        // RFC 9438 4.4/4.5: (target - cwnd) / cwnd segments per segment acknowledged.
        _avoidanceBytes += (int)((target - cwnd) / cwnd * acked);
        if (_avoidanceBytes >= mss)
        {
            int grow = _avoidanceBytes / mss * mss;
            Window += grow;
            _avoidanceBytes -= grow;
        }
    }
}
