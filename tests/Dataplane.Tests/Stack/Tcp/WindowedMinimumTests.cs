using Dataplane.Stack.Transport.Tcp;

namespace Dataplane.Tests.Stack.Tcp;

/// <summary>
/// Kathleen Nichols' windowed min filter alone (Linux lib/win_minmax.c), on a window of 100 s and
/// times in seconds (nanoseconds in use, the same arithmetic): it keeps the least of the window,
/// lets it go when it ages out, and never answers with a measurement older than the window or
/// smaller than the least the window holds.
/// </summary>
public class WindowedMinimumTests
{
    private const long S = 1_000_000_000;
    private const long Window = 100 * S;

    [Fact]
    public void The_least_of_the_window_stands_against_larger_later_measurements()
    {
        var filter = default(WindowedMinimum);
        Assert.Equal(0, filter.Value);
        Assert.Equal(50, filter.Update(1 * S, 50, Window));
        Assert.Equal(50, filter.Update(10 * S, 80, Window));
        Assert.Equal(50, filter.Update(60 * S, 70, Window));
        Assert.Equal(40, filter.Update(70 * S, 40, Window)); // a new least takes over at once
        Assert.Equal(40, filter.Value);
    }

    /// <summary>
    /// The path's RTT rises from 50 to 200 and stays: one window after the last 50 the filter
    /// answers 200. A minimum of the connection's life would answer 50 forever.
    /// </summary>
    [Fact]
    public void A_rise_is_followed_once_the_old_least_ages_out_of_the_window()
    {
        var filter = default(WindowedMinimum);
        filter.Update(1 * S, 50, Window);
        for (long t = 2; t <= 100; t++)
            Assert.Equal(50, filter.Update(t * S, 200, Window));
        Assert.Equal(200, filter.Update(102 * S, 200, Window));
    }

    /// <summary>
    /// When the least ages out, the best candidate the filter kept from later in the window
    /// succeeds it (the second choice, from the second quarter of the window), not the newest measurement.
    /// </summary>
    [Fact]
    public void When_the_least_ages_out_a_kept_candidate_succeeds_it()
    {
        var filter = default(WindowedMinimum);
        filter.Update(0 * S + 1, 50, Window);
        filter.Update(30 * S, 90, Window);  // past a quarter of the window: the second choice
        filter.Update(60 * S, 120, Window); // past half: the third choice
        filter.Update(90 * S, 150, Window);
        Assert.Equal(90, filter.Update(101 * S, 150, Window));
    }

    /// <summary>
    /// Against a recount over random measurements: the answer is always one of the measurements of
    /// the window (never older than it, so never below the window's least), and never above the
    /// least of the last quarter window (the filter's staleness bound).
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void The_answer_lies_within_the_window_and_between_its_least_and_the_least_of_its_last_quarter(int seed)
    {
        var random = new Random(seed);
        var filter = default(WindowedMinimum);
        var samples = new List<(long At, long Value)>();
        long now = 1;
        long level = 100;
        for (int i = 0; i < 20_000; i++)
        {
            now += random.NextInt64(1, 3 * S);
            if (random.Next(500) == 0)
                level = random.Next(20, 400); // the path changes
            long value = level + random.Next(0, 50);
            samples.Add((now, value));
            long answer = filter.Update(now, value, Window);

            var window = samples.Where(x => now - x.At <= Window).ToList();
            Assert.Contains(window, x => x.Value == answer);
            Assert.True(answer >= window.Min(x => x.Value), $"step {i}");
            long recent = samples.Where(x => now - x.At <= Window / 4).Min(x => x.Value);
            Assert.True(answer <= recent, $"step {i}: answered {answer}, the last quarter window holds {recent}");
        }
    }
}
