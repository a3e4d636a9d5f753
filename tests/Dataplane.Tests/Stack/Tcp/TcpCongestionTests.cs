using Dataplane.Stack.Transport.Tcp;

namespace Dataplane.Tests.Stack.Tcp;

/// <summary>
/// The congestion controllers alone (RFC 9438 CUBIC, RFC 5681 NewReno), driven by a fluid model of
/// a sender that is always window-limited: every round trip the whole window is acknowledged, one
/// segment per ACK, the ACKs spread evenly over the round trip.
/// </summary>
public class TcpCongestionTests
{
    private const int Mss = 1000;
    private const long Rtt = 100_000_000; // 100 ms
    private const long Start = 1_000_000_000_000;

    /// <summary>A controller in congestion avoidance after a loss at <paramref name="segments"/> segments and the end of its recovery.</summary>
    private static TcpCongestion AfterLoss(CongestionAlgorithm algorithm, int segments)
    {
        var cc = default(TcpCongestion);
        cc.Start(algorithm, Mss);
        cc.Window = segments * Mss;
        cc.OnLoss(segments * Mss, Mss);
        cc.OnRecoveryEnd();
        return cc;
    }

    /// <summary>Acknowledges the window of one round trip starting at <paramref name="now"/>, one segment per ACK; returns the time after it.</summary>
    private static long OneRoundTrip(ref TcpCongestion cc, long now)
    {
        int acks = Math.Max(1, cc.Window / Mss);
        for (int i = 0; i < acks; i++)
            cc.OnAck(Mss, Mss, now + Rtt * i / acks, Rtt);
        return now + Rtt;
    }

    /// <summary>RFC 9438 4.6: CUBIC's threshold after a loss is 0.7 of the window; RFC 6937: recovery ends with the window at the threshold.</summary>
    [Fact]
    public void Cubic_reduces_to_seven_tenths()
    {
        TcpCongestion cc = AfterLoss(CongestionAlgorithm.Cubic, 100);
        Assert.Equal(70 * Mss, cc.Threshold);
        Assert.Equal(70 * Mss, cc.Window);
    }

    /// <summary>
    /// RFC 9438 4.2 eq. 1 and 2: after a loss at W_max = 100 segments, the window follows
    /// W_cubic(t) = C (t - K)^3 + W_max, K = cbrt(W_max (1 - beta) / C) = 4.22 s: concave up to W_max,
    /// flat around K, convex beyond. The window lags W_cubic(t + RTT) by at most a round trip, so it
    /// is held within W_cubic(t) - 2 and W_cubic(t + RTT) + 2 segments.
    /// </summary>
    [Fact]
    public void Cubic_follows_the_cubic_function_after_a_loss()
    {
        const double wMax = 100;
        TcpCongestion cc = AfterLoss(CongestionAlgorithm.Cubic, (int)wMax);
        double k = Math.Cbrt(wMax * (1 - TcpCongestion.CubicBeta) / TcpCongestion.CubicC);
        Assert.InRange(k, 4.21, 4.23);
        static double WCubic(double t, double k) => TcpCongestion.CubicC * Math.Pow(t - k, 3) + wMax;

        long now = Start;
        for (int round = 0; round < 80; round++)
        {
            now = OneRoundTrip(ref cc, now);
            double t = (now - Start) / 1e9;
            double w = (double)cc.Window / Mss;
            Assert.True(w >= WCubic(t - Rtt / 1e9, k) - 2 && w <= WCubic(t + Rtt / 1e9, k) + 2,
                $"at t = {t:F1} s the window is {w:F1} segments; W_cubic(t) = {WCubic(t, k):F1}");
        }
        // Eight seconds on, well into the convex region: past W_max.
        Assert.True(cc.Window > 110 * Mss, $"{cc.Window / Mss} segments");
    }

    /// <summary>
    /// RFC 9438 4.3: with a small window and a long K, the Reno-friendly estimate
    /// W_est = W_max beta + alpha t / RTT, alpha = 3 (1 - beta) / (1 + beta), outgrows the cubic: the
    /// window follows W_est, growing about 0.53 segments per round trip.
    /// </summary>
    [Fact]
    public void Cubic_in_the_reno_friendly_region_grows_as_reno_would()
    {
        const int wMax = 10;
        TcpCongestion cc = AfterLoss(CongestionAlgorithm.Cubic, wMax);
        double alpha = 3 * (1 - TcpCongestion.CubicBeta) / (1 + TcpCongestion.CubicBeta);
        double k = Math.Cbrt(wMax * (1 - TcpCongestion.CubicBeta) / TcpCongestion.CubicC);
        long now = Start;
        for (int round = 1; round <= 10; round++)
        {
            now = OneRoundTrip(ref cc, now);
            double t = (now - Start) / 1e9;
            double wEst = wMax * TcpCongestion.CubicBeta + alpha * round;
            double wCubic = TcpCongestion.CubicC * Math.Pow(t - k, 3) + wMax;
            Assert.True(wEst > wCubic, $"round {round}: the test means the Reno-friendly region (W_est {wEst:F2}, W_cubic {wCubic:F2})");
            double w = (double)cc.Window / Mss;
            Assert.True(Math.Abs(w - wEst) <= 1.0, $"round {round}: window {w:F2} segments, W_est {wEst:F2}");
        }
    }

    /// <summary>
    /// RFC 9438 4.7: a loss below the last W_max releases bandwidth: W_max = cwnd (1 + beta) / 2.
    /// Losses at 1000 then 800 segments: W_max = 680, K = cbrt((680 - 560) / 0.4) = 6.7 s, and at K
    /// the window is near 680 (without fast convergence it would be near 800 by then).
    /// </summary>
    [Fact]
    public void Cubic_fast_convergence_lowers_w_max_after_a_loss_below_the_last_one()
    {
        var cc = default(TcpCongestion);
        cc.Start(CongestionAlgorithm.Cubic, Mss);
        cc.Window = 1000 * Mss;
        cc.OnLoss(cc.Window, Mss);
        cc.OnRecoveryEnd();
        cc.Window = 800 * Mss; // the next loss comes before W_max was reached
        cc.OnLoss(cc.Window, Mss);
        cc.OnRecoveryEnd();
        Assert.InRange(cc.Window, 560 * Mss - 1, 560 * Mss);

        long now = Start;
        while (now - Start < 6_700_000_000)
            now = OneRoundTrip(ref cc, now);
        double w = (double)cc.Window / Mss;
        Assert.InRange(w, 670, 700);
    }

    /// <summary>RFC 5681 3.2 eq. 4: NewReno's threshold is half the flight (at least 2 SMSS); after recovery, one segment per window acknowledged (3.1 eq. 3).</summary>
    [Fact]
    public void NewReno_halves_then_grows_one_segment_per_round_trip()
    {
        TcpCongestion cc = AfterLoss(CongestionAlgorithm.NewReno, 40);
        Assert.Equal(20 * Mss, cc.Threshold);
        Assert.Equal(20 * Mss, cc.Window);
        long now = Start;
        for (int round = 1; round <= 10; round++)
        {
            now = OneRoundTrip(ref cc, now);
            Assert.Equal((20 + round) * Mss, cc.Window);
        }

        var small = default(TcpCongestion);
        small.Start(CongestionAlgorithm.NewReno, Mss);
        small.OnLoss(Mss, Mss);
        Assert.Equal(2 * Mss, small.Threshold);
    }

    /// <summary>RFC 5681 3.1: slow start adds at most 2 SMSS (L) per ACK, whatever the ACK covers (RFC 3465 byte counting).</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Slow_start_adds_at_most_two_segments_per_ack(bool newReno)
    {
        var cc = default(TcpCongestion);
        cc.Start(newReno ? CongestionAlgorithm.NewReno : CongestionAlgorithm.Cubic, Mss);
        Assert.Equal(10 * Mss, cc.Window); // RFC 6928: min(10 MSS, max(2 MSS, 14600))
        cc.OnAck(20 * Mss, Mss, Start, Rtt);
        Assert.Equal(12 * Mss, cc.Window);
    }

    /// <summary>RFC 5681 3.1 and RFC 6298 5.5: a timeout leaves one segment; the first of a series sets the threshold, later ones do not.</summary>
    [Theory]
    [InlineData(false, 70)]
    [InlineData(true, 50)]
    public void A_timeout_leaves_one_segment(bool newReno, int threshold)
    {
        var cc = default(TcpCongestion);
        cc.Start(newReno ? CongestionAlgorithm.NewReno : CongestionAlgorithm.Cubic, Mss);
        cc.Window = 100 * Mss;
        cc.OnTimeout(100 * Mss, Mss, first: true);
        Assert.Equal(Mss, cc.Window);
        Assert.Equal(threshold * Mss, cc.Threshold);
        cc.OnTimeout(Mss, Mss, first: false);
        Assert.Equal(threshold * Mss, cc.Threshold);
    }

    /// <summary>
    /// The window is an int of bytes. A connection that never loses a segment stays in slow start
    /// (the threshold is int.MaxValue) and adds up to 2 SMSS per ACK without any bound: after about
    /// 2 GiB acknowledged the window wraps negative, the sender's allowance (cwnd - pipe) is
    /// negative, and the connection never sends again. Linux clamps snd_cwnd (snd_cwnd_clamp) and
    /// grows it only while cwnd-limited.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void The_window_never_overflows_however_long_acks_arrive_without_loss(bool newReno)
    {
        var cc = default(TcpCongestion);
        cc.Start(newReno ? CongestionAlgorithm.NewReno : CongestionAlgorithm.Cubic, 1460);
        long now = Start;
        for (int i = 0; i < 800_000; i++)
        {
            cc.OnAck(2920, 1460, now, Rtt);
            now += 10_000;
            Assert.True(cc.Window > 0, $"after {(long)i * 2920 / (1 << 20)} MiB acknowledged without loss the window is {cc.Window}");
        }
    }

    /// <summary>
    /// RFC 9438 4.9 and RFC 4015: a congestion event found spurious is undone: the window and the
    /// threshold come back, and CUBIC's W_max, K and epoch with them, so that the window goes on
    /// from there exactly as that of a connection that never had the event.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void An_undone_loss_leaves_the_controller_as_if_it_never_happened(bool newReno)
    {
        TcpCongestion cc = AfterLoss(newReno ? CongestionAlgorithm.NewReno : CongestionAlgorithm.Cubic, 100);
        long now = Start;
        for (int i = 0; i < 20; i++)
            now = OneRoundTrip(ref cc, now);
        TcpCongestion never = cc;
        TcpCongestion before = cc;
        cc.OnLoss(cc.Window, Mss);
        cc.OnRecoveryEnd();
        Assert.True(cc.Window < before.Window);

        cc.Undo(before);
        Assert.Equal(before.Window, cc.Window);
        Assert.Equal(before.Threshold, cc.Threshold);
        for (int i = 0; i < 20; i++)
        {
            now = OneRoundTrip(ref cc, now);
            OneRoundTrip(ref never, now - Rtt);
            Assert.Equal(never.Window, cc.Window);
        }
    }
}
