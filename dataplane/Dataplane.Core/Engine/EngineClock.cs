using System.Diagnostics;

namespace Dataplane.Engine;

/// <summary>The engine's clock: monotonic nanoseconds, the unit of the timer wheel and of packet timestamps.</summary>
internal static class EngineClock
{
    private static readonly double s_nanosecondsPerTick = 1e9 / Stopwatch.Frequency;

    /// <summary>Now, in monotonic nanoseconds.</summary>
    public static long Nanoseconds() => (long)(Stopwatch.GetTimestamp() * s_nanosecondsPerTick);
}
