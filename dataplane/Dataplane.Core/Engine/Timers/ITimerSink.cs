namespace Dataplane.Engine;

/// <summary>
/// Receives the timers a <see cref="TimerWheel"/> fires. Implemented by a struct and passed by
/// reference to <see cref="TimerWheel.Advance{TSink}(long, ref TSink)"/>, so the JIT specialises
/// the expiry loop for it and each call is direct, with no delegate or virtual dispatch (the
/// pattern of Kestrel's <c>HttpParser&lt;TRequestHandler&gt;</c>).
/// </summary>
internal interface ITimerSink
{
    /// <summary>
    /// A timer expired. Its handle is already stale; the callback may schedule, reschedule and
    /// cancel timers on <paramref name="wheel"/>, including timers due in this same tick.
    /// </summary>
    void OnTimer(TimerWheel wheel, in ExpiredTimer timer);
}

/// <summary>What an expired timer carried.</summary>
/// <param name="Handle">The handle the timer was scheduled under (stale now).</param>
/// <param name="Kind">The caller's callback identifier: which kind of timer this is.</param>
/// <param name="Payload">The caller's value: a connection index, a buffer handle, ...</param>
/// <param name="Deadline">When the timer was due, in nanoseconds of the wheel's clock.</param>
internal readonly record struct ExpiredTimer(TimerHandle Handle, int Kind, long Payload, long Deadline);
