namespace Dataplane.Tests;

/// <summary>
/// The managed allocation of a hot path, as the allocation tests measure it: the bytes the calling
/// thread allocates (<see cref="GC.GetAllocatedBytesForCurrentThread"/>) in the least allocating of
/// several windows of the same work, after a warm-up. A one-off of the runtime (a method tiering up,
/// a type loading while other tests load the machine; seen in CI as a few KB) lands in one window and
/// is not the code's; an allocation per packet shows in every window, so the least is still not zero.
/// A file of its own so that the wire tests link it (as the conformance tests link the lab's commands).
/// </summary>
internal static class Allocations
{
    /// <summary>
    /// A little longer than tiered compilation's delay (100 ms without new tier-0 activity before it
    /// promotes methods): after a window that allocated, the runtime finishes its work before the next.
    /// </summary>
    private static readonly TimeSpan TieringDelay = TimeSpan.FromMilliseconds(150);

    /// <summary>
    /// Runs <paramref name="window"/> once to warm up, then <paramref name="windows"/> times measured
    /// (always all of them, so the work done is the same whatever the windows show); returns the
    /// fewest bytes one window allocated on the calling thread. <paramref name="prepare"/>, when given,
    /// runs unmeasured before each run (the warm-up's too): what a window needs that is not the code
    /// under test, such as traffic a peer sends. Every window must do the per-packet work itself.
    /// </summary>
    public static long Least(int windows, Action window, Action? prepare = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(windows, 2); // one window is what this replaces
        ArgumentNullException.ThrowIfNull(window);
        prepare?.Invoke();
        window();
        long least = long.MaxValue;
        for (int i = 0; i < windows; i++)
        {
            prepare?.Invoke();
            long before = GC.GetAllocatedBytesForCurrentThread();
            window();
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            least = Math.Min(least, allocated);
            if (allocated != 0)
                Thread.Sleep(TieringDelay);
        }
        return least;
    }
}
