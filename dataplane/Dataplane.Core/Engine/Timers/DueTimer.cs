namespace Dataplane.Engine;

/// <summary>
/// A timer collected from the wheel for firing, with the keys that order it: deadline, then the
/// order of scheduling. Sorted in place with no allocation and no comparer object.
/// </summary>
internal readonly record struct DueTimer(long Deadline, long Sequence, int Index, uint Generation)
{
    // Insertion sort is fastest on the short, mostly ordered runs one tick holds; heapsort bounds the
    // rare long run (a whole revolution after a long stall) at n log n without recursion.
    private const int InsertionSortLimit = 16;

    /// <summary>True when <paramref name="a"/> fires before <paramref name="b"/>.</summary>
    public static bool Before(in DueTimer a, in DueTimer b)
        => a.Deadline < b.Deadline || (a.Deadline == b.Deadline && a.Sequence < b.Sequence);

    /// <summary>Orders <paramref name="timers"/> by deadline, ties in the order they were scheduled.</summary>
    public static void Sort(Span<DueTimer> timers)
    {
        if (timers.Length <= InsertionSortLimit)
            InsertionSort(timers);
        else
            HeapSort(timers);
    }

    private static void InsertionSort(Span<DueTimer> timers)
    {
        for (int i = 1; i < timers.Length; i++)
        {
            DueTimer item = timers[i];
            int j = i - 1;
            while (j >= 0 && Before(item, timers[j]))
            {
                timers[j + 1] = timers[j];
                j--;
            }
            timers[j + 1] = item;
        }
    }

    private static void HeapSort(Span<DueTimer> timers)
    {
        for (int i = timers.Length / 2 - 1; i >= 0; i--)
            SiftDown(timers, i, timers.Length);
        for (int end = timers.Length - 1; end > 0; end--)
        {
            (timers[0], timers[end]) = (timers[end], timers[0]);
            SiftDown(timers, 0, end);
        }
    }

    // A max-heap on the firing order, so the latest timer goes to the end first.
    private static void SiftDown(Span<DueTimer> timers, int root, int length)
    {
        while (true)
        {
            int child = 2 * root + 1;
            if (child >= length)
                return;
            if (child + 1 < length && Before(timers[child], timers[child + 1]))
                child++;
            if (!Before(timers[root], timers[child]))
                return;
            (timers[root], timers[child]) = (timers[child], timers[root]);
            root = child;
        }
    }
}
