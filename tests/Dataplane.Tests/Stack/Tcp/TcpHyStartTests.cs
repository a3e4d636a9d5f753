using Dataplane.Stack.Transport.Tcp;

namespace Dataplane.Tests.Stack.Tcp;

/// <summary>
/// HyStart's delay detection in the initial slow start (<see cref="TcpHyStart"/>, through
/// <see cref="TcpCongestion"/>), driven round by round: every round acknowledges the whole window,
/// one segment per ACK, each ACK carrying the round trip the test chooses.
/// </summary>
public class TcpHyStartTests
{
    private const int Mss = 1000;
    private const long Ms = 1_000_000;
    private const long Start = 1_000_000_000_000;

    private sealed class Sender
    {
        public TcpCongestion Cc;
        public TcpSequence Una = new(1000);
        public TcpSequence Nxt;
        public long Now = Start;
        public int Exits;

        public Sender(CongestionAlgorithm algorithm = CongestionAlgorithm.Cubic)
        {
            Cc.Start(algorithm, Mss);
            Nxt = Una + Cc.Window;
        }

        /// <summary>
        /// One round as HyStart counts it: from an ACK past the last round's end to the ACK of what
        /// had been sent when it began (SND.NXT then), one segment per ACK, the window kept full, the
        /// i-th ACK measuring <paramref name="rtt"/>(i). Returns the ACK (1-based) that ended slow start, or 0.
        /// </summary>
        public int Round(Func<int, long> rtt)
        {
            int ended = 0;
            TcpSequence end = default;
            int i = 0;
            do
            {
                Una += Mss;
                Nxt = TcpSequence.Max(Nxt, Una + Cc.Window);
                if (i == 0)
                    end = Nxt;
                long sample = rtt(i);
                Now += Math.Max(sample, 1_000_000) / 16;
                if (Cc.OnAck(Mss, Mss, Now, sample, sample, Una, Nxt) && ended == 0)
                {
                    ended = i + 1;
                    Exits++;
                }
                i++;
            }
            while (Una + Mss <= end);
            return ended;
        }

        public int Round(long rtt) => Round(_ => rtt);

        public bool InSlowStart => Cc.Window < Cc.Threshold;
    }

    /// <summary>A round trip that stays where it was: slow start goes on, the window (at least) doubling every round (RFC 5681 3.1), until a loss.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_steady_round_trip_leaves_slow_start_alone(bool newReno)
    {
        var s = new Sender(newReno ? CongestionAlgorithm.NewReno : CongestionAlgorithm.Cubic);
        for (int round = 0; round < 8; round++)
        {
            int before = s.Cc.Window;
            Assert.Equal(0, s.Round(200_000));
            Assert.True(s.Cc.Window >= 2 * before, $"round {round}: {before} to {s.Cc.Window}");
        }
        Assert.Equal(int.MaxValue, s.Cc.Threshold);
    }

    /// <summary>
    /// The queue grows: a round whose least RTT is 4 ms (the floor of an eighth of the least RTT,
    /// 0.2 ms) above the connection's least ends slow start on its ninth sample (the first eight
    /// are taken before the round is judged), with the threshold at the window then.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_round_trip_risen_by_4_ms_ends_slow_start_at_the_ninth_sample_of_the_round(bool newReno)
    {
        var s = new Sender(newReno ? CongestionAlgorithm.NewReno : CongestionAlgorithm.Cubic);
        s.Round(200_000);
        s.Round(200_000); // 40 segments: above the low window of 16
        int window = s.Cc.Window;
        Assert.Equal(9, s.Round(200_000 + 4 * Ms + 1));
        Assert.Equal(window + 8 * Mss, s.Cc.Threshold); // 8 ACKs grew it 1 segment each before the ninth ended it
        Assert.False(s.InSlowStart); // the rest of the round is congestion avoidance
        Assert.Equal(1, s.Exits);
    }

    /// <summary>A rise below the 4 ms floor is jitter, not a queue: slow start goes on.</summary>
    [Fact]
    public void A_rise_below_4_ms_is_not_a_queue()
    {
        var s = new Sender();
        s.Round(200_000);
        s.Round(200_000);
        Assert.Equal(0, s.Round(200_000 + 4 * Ms));
        Assert.True(s.InSlowStart);
    }

    /// <summary>The rise asked for is an eighth of the least RTT when that is between 4 and 16 ms: 10 ms for 80 ms.</summary>
    [Fact]
    public void The_rise_asked_for_is_an_eighth_of_the_least_round_trip()
    {
        var s = new Sender();
        s.Round(80 * Ms);
        s.Round(80 * Ms);
        Assert.Equal(0, s.Round(89 * Ms));
        Assert.True(s.InSlowStart);
        Assert.NotEqual(0, s.Round(91 * Ms));
        Assert.False(s.InSlowStart);
    }

    /// <summary>The rise asked for is at most 16 ms, however long the round trip.</summary>
    [Fact]
    public void The_rise_asked_for_is_at_most_16_ms()
    {
        var s = new Sender();
        s.Round(400 * Ms);
        s.Round(400 * Ms);
        Assert.NotEqual(0, s.Round(417 * Ms));
    }

    /// <summary>A round is judged by its least RTT: one sample without the queue's delay keeps it from ending slow start.</summary>
    [Fact]
    public void One_quick_sample_keeps_the_round_from_counting()
    {
        var s = new Sender();
        s.Round(200_000);
        s.Round(200_000);
        Assert.Equal(0, s.Round(i => i == 3 ? 300_000 : 10 * Ms));
        Assert.True(s.InSlowStart);
    }

    /// <summary>Below 16 segments (Linux's hystart_low_window) a rise does not end slow start.</summary>
    [Fact]
    public void A_small_window_stays_in_slow_start()
    {
        var s = new Sender();
        Assert.Equal(0, s.Round(i => i == 0 ? 200_000 : 50 * Ms)); // 10 segments
        Assert.True(s.InSlowStart);
    }

    /// <summary>Segments sent twice give no sample (Karn, RFC 6298 3): rounds of them cannot end slow start.</summary>
    [Fact]
    public void Retransmitted_segments_give_no_sample()
    {
        var s = new Sender();
        s.Round(200_000);
        s.Round(200_000);
        Assert.Equal(0, s.Round(_ => 0));
        Assert.Equal(0, s.Round(_ => 0));
        Assert.True(s.InSlowStart);
    }

    /// <summary>RFC 9406 4.3: only the initial slow start. After a timeout the window climbs back to the threshold whatever the round trip does.</summary>
    [Fact]
    public void The_slow_start_after_a_timeout_runs_to_the_threshold()
    {
        var s = new Sender();
        s.Round(200_000);
        s.Round(200_000);
        s.Round(200_000);
        s.Cc.OnTimeout(s.Cc.Window, Mss, first: true); // threshold 0.7 of 80 segments
        int threshold = s.Cc.Threshold;
        while (s.InSlowStart)
            Assert.Equal(0, s.Round(100 * Ms));
        Assert.Equal(threshold, s.Cc.Threshold);
        Assert.Equal(0, s.Exits);
    }
}
