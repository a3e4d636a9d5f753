using Dataplane.Engine;

namespace Dataplane.Tests.Engine.Timers;

/// <summary>
/// The in-place sort the wheel fires a tick's timers in: by deadline, ties in the order they were
/// scheduled (sequence), each timer's index and generation travelling with its keys. Every
/// expectation is worked out from the timers as they went in, never from what the sort gave back,
/// so a sort that loses, duplicates or mixes up timers fails as surely as one that misorders them.
/// </summary>
public class DueTimerTests
{
    [Fact]
    public void A_short_run_is_ordered_by_deadline_then_by_the_order_of_scheduling()
    {
        DueTimer[] timers =
        [
            new(Deadline: 30, Sequence: 4, Index: 0, Generation: 10),
            new(Deadline: 10, Sequence: 7, Index: 1, Generation: 11),
            new(Deadline: 30, Sequence: 2, Index: 2, Generation: 12),
            new(Deadline: 20, Sequence: 9, Index: 3, Generation: 13),
            new(Deadline: 10, Sequence: 3, Index: 4, Generation: 14),
            new(Deadline: 30, Sequence: 3, Index: 5, Generation: 15),
        ];

        DueTimer.Sort(timers);

        Assert.Equal(
        [
            new DueTimer(10, 3, 4, 14),
            new DueTimer(10, 7, 1, 11),
            new DueTimer(20, 9, 3, 13),
            new DueTimer(30, 2, 2, 12),
            new DueTimer(30, 3, 5, 15),
            new DueTimer(30, 4, 0, 10),
        ], timers);
    }

    [Fact]
    public void A_run_too_long_for_the_insertion_sort_is_ordered_the_same_way()
    {
        // 20 timers, past the insertion sort's 16: the heapsort. Deadlines 0..3, sequences 0..19
        // dealt out of order; the index is the position it went in at.
        long[] deadlines = [3, 1, 0, 2, 1, 3, 0, 0, 2, 1, 3, 2, 0, 1, 3, 2, 1, 0, 3, 2];
        long[] sequences = [5, 17, 2, 11, 0, 19, 8, 14, 3, 9, 1, 16, 12, 6, 13, 4, 18, 7, 10, 15];
        DueTimer[] timers = [.. deadlines.Select((d, i) => new DueTimer(d, sequences[i], i, (uint)(100 + i)))];

        DueTimer.Sort(timers);

        // Deadline 0: sequences 2, 7, 8, 12, 14 (indices 2, 17, 6, 12, 7); deadline 1: 0, 6, 9, 17, 18
        // (4, 13, 9, 1, 16); deadline 2: 3, 4, 11, 15, 16 (8, 15, 3, 19, 11); deadline 3: 1, 5, 10, 13, 19 (10, 0, 18, 14, 5).
        Assert.Equal([2, 17, 6, 12, 7, 4, 13, 9, 1, 16, 8, 15, 3, 19, 11, 10, 0, 18, 14, 5], timers.Select(t => t.Index));
        Assert.All(timers, t => Assert.Equal((deadlines[t.Index], sequences[t.Index], 100u + (uint)t.Index), (t.Deadline, t.Sequence, t.Generation)));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(16)]  // the largest insertion sort
    [InlineData(17)]  // the smallest heapsort
    [InlineData(1000)]
    public void Sorting_orders_by_deadline_then_by_sequence(int length)
    {
        const int Deadlines = 8;
        var random = new Random(length);
        for (int round = 0; round < 20; round++)
        {
            // Few distinct deadlines, so ties are common and the sequence decides them. The
            // sequences are 0..length-1 dealt out in random order, as a tick collects its timers
            // from the wheel's lists in no particular order.
            long[] deadlineOf = [.. Enumerable.Range(0, length).Select(_ => (long)random.Next(0, Deadlines))]; // by sequence
            int[] sequences = [.. Enumerable.Range(0, length)];
            random.Shuffle(sequences);
            DueTimer[] timers = new DueTimer[length];
            for (int i = 0; i < length; i++)
                timers[i] = new DueTimer(deadlineOf[sequences[i]], sequences[i], i, (uint)random.Next());
            DueTimer[] before = [.. timers];

            // The expected order without comparing anything: every deadline from the earliest, and
            // within it every sequence number counted up, each naming the one timer that has it.
            int[] indexOf = new int[length];
            for (int i = 0; i < length; i++)
                indexOf[sequences[i]] = i;
            var expected = new List<DueTimer>(length);
            for (long deadline = 0; deadline < Deadlines; deadline++)
            {
                for (int sequence = 0; sequence < length; sequence++)
                {
                    if (deadlineOf[sequence] == deadline)
                        expected.Add(before[indexOf[sequence]]);
                }
            }

            DueTimer.Sort(timers);

            Assert.Equal(length, expected.Count);
            Assert.Equal(expected, timers);
        }
    }
}
