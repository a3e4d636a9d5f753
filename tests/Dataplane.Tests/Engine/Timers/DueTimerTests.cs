using Dataplane.Engine;

namespace Dataplane.Tests.Engine.Timers;

/// <summary>The in-place sort the wheel fires a tick's timers in.</summary>
public class DueTimerTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(16)]  // the largest insertion sort
    [InlineData(17)]  // the smallest heapsort
    [InlineData(1000)]
    public void Sorting_orders_by_deadline_then_by_sequence(int length)
    {
        var random = new Random(length);
        for (int round = 0; round < 20; round++)
        {
            // Few distinct deadlines, so ties are common and the sequence decides them.
            DueTimer[] timers = [.. Enumerable.Range(0, length).Select(i => new DueTimer(random.Next(0, 8), i, i, 0))];
            random.Shuffle(timers);
            DueTimer.Sort(timers);
            Assert.Equal(timers.OrderBy(t => t.Deadline).ThenBy(t => t.Sequence), timers);
        }
    }
}
