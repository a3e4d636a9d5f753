using Dataplane.Engine;

namespace Dataplane.Tests.Engine.Timers;

/// <summary>The per-core timing wheel: when timers fire, in what order, and what callbacks may do.</summary>
public class TimerWheelTests
{
    internal const long Ms = 1_000_000;

    /// <summary>Records every expiry with the wheel's clock at the time; optionally acts on it.</summary>
    internal struct Recorder(List<(ExpiredTimer Timer, long Now)> log, Action<TimerWheel, ExpiredTimer>? action = null) : ITimerSink
    {
        public readonly void OnTimer(TimerWheel wheel, in ExpiredTimer timer)
        {
            log.Add((timer, wheel.Now));
            action?.Invoke(wheel, timer);
        }
    }

    internal static (TimerWheel Wheel, List<(ExpiredTimer Timer, long Now)> Log, Recorder Sink) Make(
        int capacity = 64, long tick = Ms, int slots = 256, Action<TimerWheel, ExpiredTimer>? action = null)
    {
        var log = new List<(ExpiredTimer, long)>();
        return (new TimerWheel(0, capacity, tick, slots), log, new Recorder(log, action));
    }

    [Fact]
    public void A_timer_fires_once_its_deadline_has_passed_and_never_before()
    {
        var (wheel, log, sink) = Make();
        TimerHandle handle = wheel.Schedule(5 * Ms, kind: 7, payload: 42);

        Assert.Equal(0, wheel.Advance(5 * Ms - 1, ref sink));
        Assert.Empty(log);
        Assert.Equal(1, wheel.Advance(5 * Ms, ref sink));
        Assert.Equal(new ExpiredTimer(handle, 7, 42, 5 * Ms), log.Single().Timer);
        Assert.Equal(0, wheel.Advance(100 * Ms, ref sink));
        Assert.Single(log);
    }

    [Fact]
    public void A_deadline_inside_a_tick_fires_at_the_end_of_that_tick()
    {
        var (wheel, log, sink) = Make();
        wheel.Schedule(5 * Ms + Ms / 2, 0, 0);
        Assert.Equal(0, wheel.Advance(5 * Ms + Ms * 9 / 10, ref sink));
        Assert.Equal(1, wheel.Advance(6 * Ms, ref sink));
        Assert.Equal(5 * Ms + Ms / 2, log[0].Timer.Deadline);
    }

    [Fact]
    public void Timers_of_one_tick_fire_in_deadline_order_ties_in_scheduling_order()
    {
        var (wheel, log, sink) = Make();
        long[] offsets = [900_000, 100_000, 500_000, 100_000, 999_999, 1, 500_000];
        for (int i = 0; i < offsets.Length; i++)
            wheel.ScheduleAt(9 * Ms + offsets[i], kind: i, payload: 0);

        Assert.Equal(7, wheel.Advance(10 * Ms, ref sink));
        Assert.Equal([5, 1, 3, 2, 6, 0, 4], log.Select(e => e.Timer.Kind));
    }

    [Theory]
    [InlineData(200)]   // under one revolution of 256 ticks: tick by tick
    [InlineData(5_000)] // many revolutions in one call: every slot at once
    public void Timers_due_across_many_ticks_fire_in_deadline_order_in_one_advance(int spanMs)
    {
        var (wheel, log, sink) = Make(capacity: 1000);
        var random = new Random(spanMs);
        for (int i = 0; i < 1000; i++)
            wheel.Schedule(random.NextInt64(0, spanMs * Ms), i, 0);

        Assert.Equal(1000, wheel.Advance(spanMs * Ms, ref sink));
        long[] deadlines = [.. log.Select(e => e.Timer.Deadline)];
        Assert.Equal(deadlines.Order(), deadlines);
        Assert.Equal(0, wheel.Count);
    }

    [Fact]
    public void A_cancelled_timer_does_not_fire_and_cancel_works_once()
    {
        var (wheel, log, sink) = Make();
        TimerHandle a = wheel.Schedule(3 * Ms, 1, 0);
        TimerHandle b = wheel.Schedule(3 * Ms, 2, 0);
        Assert.True(wheel.Cancel(a));
        Assert.False(wheel.Cancel(a));
        Assert.False(wheel.IsPending(a));
        Assert.True(wheel.IsPending(b));

        wheel.Advance(10 * Ms, ref sink);
        Assert.Equal([2], log.Select(e => e.Timer.Kind));
        Assert.False(wheel.Cancel(b)); // already fired
        Assert.Equal((1L, 1L), (wheel.Cancelled, wheel.Fired));
    }

    [Fact]
    public void Next_expiry_is_the_end_of_the_tick_of_the_earliest_armed_timer()
    {
        var (wheel, _, sink) = Make(slots: 16);
        Assert.Equal(long.MaxValue, wheel.NextExpiry);
        TimerHandle soon = wheel.Schedule(3 * Ms + 1, 1, 0);
        wheel.Schedule(40 * Ms, 2, 0); // rounds of the wheel away
        Assert.Equal(4 * Ms, wheel.NextExpiry);

        Assert.Equal(0, wheel.Advance(wheel.NextExpiry - 1, ref sink));
        wheel.Cancel(soon);
        Assert.Equal(40 * Ms, wheel.NextExpiry);
        Assert.Equal(1, wheel.Advance(wheel.NextExpiry, ref sink));
        Assert.Equal(long.MaxValue, wheel.NextExpiry);
    }

    [Fact]
    public void A_stale_handle_cannot_cancel_the_next_timer_of_its_entry()
    {
        var (wheel, log, sink) = Make(capacity: 1);
        TimerHandle first = wheel.Schedule(Ms, 1, 0);
        wheel.Advance(Ms, ref sink);
        TimerHandle second = wheel.Schedule(Ms, 2, 0);
        Assert.Equal(first.Index, second.Index); // the one entry, reused
        Assert.NotEqual(first, second);

        Assert.False(wheel.Cancel(first));
        Assert.False(wheel.Reschedule(first, 50 * Ms));
        Assert.True(wheel.IsPending(second));
        wheel.Advance(2 * Ms, ref sink);
        Assert.Equal([1, 2], log.Select(e => e.Timer.Kind));
    }

    [Fact]
    public void The_none_handle_and_foreign_handles_are_never_pending()
    {
        var (wheel, _, _) = Make();
        Assert.True(TimerHandle.None.IsNone);
        Assert.False(wheel.IsPending(TimerHandle.None));
        Assert.False(wheel.Cancel(TimerHandle.None));
        Assert.False(wheel.Cancel(new TimerHandle(1_000_000, 0)));
        Assert.False(wheel.IsPending(new TimerHandle(3, 0))); // a free entry
    }

    [Fact]
    public void In_its_callback_a_timer_is_no_longer_pending_and_its_handle_cancels_nothing()
    {
        bool? pending = null, cancelled = null;
        var (wheel, log, sink) = Make(action: (w, t) => (pending, cancelled) = (w.IsPending(t.Handle), w.Cancel(t.Handle)));
        TimerHandle handle = wheel.Schedule(Ms, 3, -7);
        Assert.True(wheel.IsPending(handle));
        wheel.Advance(Ms, ref sink);
        Assert.Equal((false, false), (pending, cancelled));
        Assert.Equal((handle, 3, -7L), (log[0].Timer.Handle, log[0].Timer.Kind, log[0].Timer.Payload));
        Assert.Equal((0, 1L, 0L), (wheel.Count, wheel.Fired, wheel.Cancelled));
    }

    [Fact]
    public void A_callback_may_cancel_a_timer_due_later_in_the_same_tick()
    {
        TimerHandle victim = default;
        var (wheel, log, sink) = Make(action: (w, t) => { if (t.Kind == 1) Assert.True(w.Cancel(victim)); });
        wheel.ScheduleAt(3 * Ms + 10, 1, 0);
        victim = wheel.ScheduleAt(3 * Ms + 20, 2, 0);
        wheel.ScheduleAt(3 * Ms + 30, 3, 0);

        Assert.Equal(2, wheel.Advance(4 * Ms, ref sink));
        Assert.Equal([1, 3], log.Select(e => e.Timer.Kind));
    }

    [Fact]
    public void A_timer_cancelled_and_its_entry_reused_in_the_same_tick_is_not_fired_in_its_place()
    {
        TimerHandle victim = default;
        var (wheel, log, sink) = Make(capacity: 2, action: (w, t) =>
        {
            if (t.Kind == 1)
            {
                Assert.True(w.Cancel(victim));
                Assert.False(w.Schedule(0, 9, 0).IsNone); // takes the victim's entry, due next tick
            }
        });
        wheel.ScheduleAt(4 * Ms - 2, 1, 0);
        victim = wheel.ScheduleAt(4 * Ms - 1, 2, 0);

        Assert.Equal(1, wheel.Advance(4 * Ms, ref sink));
        Assert.Equal(1, wheel.Advance(5 * Ms, ref sink));
        Assert.Equal([1, 9], log.Select(e => e.Timer.Kind));
    }

    [Fact]
    public void A_timer_re_armed_from_its_callback_fires_periodically()
    {
        var (wheel, log, sink) = Make(action: (w, t) => w.Schedule(10 * Ms, t.Kind, t.Payload + 1));
        wheel.Schedule(10 * Ms, 5, 0);
        for (long now = 0; now <= 1000 * Ms; now += Ms)
            wheel.Advance(now, ref sink);

        Assert.Equal(100, log.Count);
        Assert.Equal(Enumerable.Range(1, 100).Select(i => i * 10 * Ms), log.Select(e => e.Timer.Deadline));
        Assert.Equal(Enumerable.Range(0, 100).Select(i => (long)i), log.Select(e => e.Timer.Payload));
        Assert.Equal(1, wheel.Count);
    }

    [Fact]
    public void A_timer_re_armed_with_no_delay_waits_for_the_next_tick_instead_of_looping()
    {
        var (wheel, log, sink) = Make(action: (w, t) => w.Schedule(0, 0, 0));
        wheel.Schedule(Ms, 0, 0);
        Assert.Equal(1, wheel.Advance(Ms, ref sink));
        Assert.Equal(0, wheel.Advance(Ms, ref sink)); // same time: the re-armed timer waits for the next tick
        Assert.Equal(1, wheel.Advance(2 * Ms, ref sink));
        // Due in tick 3 and late: it fires there, is re-armed at the clock (50 ms, in tick 50, not
        // yet expired) and fires again in this call; the next re-arm goes to tick 51.
        Assert.Equal(2, wheel.Advance(50 * Ms, ref sink));
        Assert.Equal(0, wheel.Advance(50 * Ms, ref sink));
        Assert.Equal(1, wheel.Advance(51 * Ms, ref sink));
        Assert.Equal([Ms, Ms, 2 * Ms, 50 * Ms, 50 * Ms], log.Select(e => e.Timer.Deadline));
    }

    [Fact]
    public void Rescheduling_moves_a_pending_timer_and_keeps_its_handle()
    {
        var (wheel, log, sink) = Make();
        TimerHandle rto = wheel.Schedule(200 * Ms, 1, 0);
        wheel.Advance(150 * Ms, ref sink);
        Assert.True(wheel.Reschedule(rto, 200 * Ms)); // an acknowledgment pushes it back
        wheel.Advance(349 * Ms, ref sink);
        Assert.Empty(log);
        wheel.Advance(350 * Ms, ref sink);
        Assert.Equal(rto, log.Single().Timer.Handle);
        Assert.Equal(350 * Ms, log.Single().Timer.Deadline);
        Assert.False(wheel.Reschedule(rto, Ms));
    }

    [Fact]
    public void A_timer_rescheduled_by_a_callback_of_its_own_tick_fires_at_its_new_time()
    {
        TimerHandle later = default;
        var (wheel, log, sink) = Make(action: (w, t) => { if (t.Kind == 1) Assert.True(w.Reschedule(later, 5 * Ms)); });
        wheel.ScheduleAt(3 * Ms - 5, 1, 0);
        later = wheel.ScheduleAt(3 * Ms, 2, 0);

        Assert.Equal(1, wheel.Advance(3 * Ms, ref sink));
        Assert.Equal(0, wheel.Advance(8 * Ms - 1, ref sink));
        Assert.Equal(1, wheel.Advance(8 * Ms, ref sink));
        Assert.Equal([1, 2], log.Select(e => e.Timer.Kind));
    }

    [Fact]
    public void A_delay_of_many_revolutions_waits_out_its_rounds()
    {
        var (wheel, log, sink) = Make(slots: 64);
        wheel.Schedule(10_000 * Ms + 3, 1, 0); // 156 revolutions of 64 ticks
        for (long now = 0; now < 10_001 * Ms; now += Ms)
            Assert.Equal(0, wheel.Advance(now, ref sink));
        Assert.Equal(1, wheel.Advance(10_001 * Ms, ref sink));
        Assert.Equal(10_000 * Ms + 3, log[0].Timer.Deadline);
    }

    [Fact]
    public void A_delay_of_hours_fires_after_one_long_jump_of_the_clock()
    {
        var (wheel, log, sink) = Make();
        wheel.Schedule(2 * 3600 * 1000 * Ms, 1, 0);
        wheel.Schedule(30 * Ms, 2, 0);
        Assert.Equal(1, wheel.Advance(3600 * 1000 * Ms, ref sink));
        Assert.Equal(0, wheel.Advance(2 * 3600 * 1000 * Ms - 1, ref sink));
        Assert.Equal(1, wheel.Advance(2 * 3600 * 1000 * Ms, ref sink));
        Assert.Equal([2, 1], log.Select(e => e.Timer.Kind));
    }

    [Fact]
    public void A_delay_past_the_end_of_time_saturates_instead_of_wrapping_to_now()
    {
        var (wheel, log, sink) = Make();
        wheel.Advance(5 * Ms, ref sink);
        TimerHandle never = wheel.Schedule(long.MaxValue, 1, 0);
        Assert.Equal(0, wheel.Advance(long.MaxValue / 2, ref sink));
        Assert.Equal(0, wheel.Advance(long.MaxValue, ref sink));
        Assert.Empty(log);
        Assert.True(wheel.Cancel(never));
    }

    [Fact]
    public void A_hundred_thousand_timers_each_fire_once_never_early_and_at_most_a_tick_late()
    {
        const int N = 100_000;
        var fired = new int[N];
        var log = new List<(ExpiredTimer Timer, long Now)>(N);
        var sink = new Recorder(log);
        var wheel = new TimerWheel(0, N, Ms, 1024);
        var random = new Random(5);
        for (int i = 0; i < N; i++)
            Assert.False(wheel.Schedule(random.NextInt64(0, 10_000 * Ms), 0, i).IsNone);

        long previous = 0;
        for (long now = 0; wheel.Count > 0; )
        {
            now += random.NextInt64(1, 3 * Ms);
            int before = log.Count;
            wheel.Advance(now, ref sink);
            foreach (var (timer, at) in log.Skip(before))
            {
                fired[timer.Payload]++;
                Assert.True(timer.Deadline <= at, "fired early");
                long dueTickEnd = (timer.Deadline + Ms - 1) / Ms * Ms;
                Assert.True(previous < Math.Max(dueTickEnd, Ms), "fired a call late");
            }
            previous = now;
        }
        Assert.All(fired, n => Assert.Equal(1, n));
        Assert.Equal(N, wheel.Fired);
    }

    [Fact]
    public void Advancing_from_a_callback_does_nothing()
    {
        int inner = -1;
        var (wheel, log, sink) = Make(action: (w, _) =>
        {
            var nested = new Recorder([]);
            inner = w.Advance(100 * Ms, ref nested);
        });
        wheel.Schedule(Ms, 0, 0);
        wheel.Schedule(50 * Ms, 0, 0);
        Assert.Equal(1, wheel.Advance(Ms, ref sink));
        Assert.Equal(0, inner);
        Assert.Equal(Ms, wheel.Now);
    }

    [Fact]
    public void A_clock_going_backwards_is_held_where_it_was()
    {
        var (wheel, log, sink) = Make();
        wheel.Advance(10 * Ms, ref sink);
        wheel.Advance(4 * Ms, ref sink);
        Assert.Equal(10 * Ms, wheel.Now);
        wheel.Schedule(Ms, 0, 0);
        Assert.Equal(1, wheel.Advance(11 * Ms, ref sink));
    }

    [Fact]
    public void Delays_count_from_the_clock_of_the_last_advance()
    {
        var (wheel, log, sink) = Make(slots: 16);
        wheel.Advance(123_456 * Ms, ref sink); // an idle wheel skips the empty ticks at once
        wheel.Schedule(2 * Ms, 0, 0);
        Assert.Equal(0, wheel.Advance(123_457 * Ms, ref sink));
        Assert.Equal(1, wheel.Advance(123_458 * Ms, ref sink));
        Assert.Equal(123_458 * Ms, log[0].Timer.Deadline);
    }

    [Fact]
    public void A_wheel_started_at_a_late_time_fires_relative_to_it()
    {
        var log = new List<(ExpiredTimer, long)>();
        var sink = new Recorder(log);
        var wheel = new TimerWheel(now: 7_777 * Ms + 3, capacity: 4);
        wheel.Schedule(0, 0, 0);
        wheel.Schedule(-5, 0, 0);
        Assert.Equal(0, wheel.Advance(7_777 * Ms + 10, ref sink));
        Assert.Equal(2, wheel.Advance(7_778 * Ms, ref sink));
    }
}
