using Dataplane.Engine;
using static Dataplane.Tests.Engine.Timers.TimerWheelTests;

namespace Dataplane.Tests.Engine.Timers;

/// <summary>The timer pool: bounded at setup, refused and counted when exhausted, and free of allocation in use.</summary>
public class TimerWheelPoolTests
{
    [Fact]
    public void An_exhausted_pool_refuses_and_counts_until_a_timer_frees_its_entry()
    {
        var (wheel, _, sink) = Make(capacity: 2);
        Assert.False(wheel.Schedule(Ms, 0, 0).IsNone);
        Assert.False(wheel.Schedule(2 * Ms, 0, 0).IsNone);
        Assert.True(wheel.Schedule(3 * Ms, 0, 0).IsNone);
        Assert.Equal(1, wheel.ScheduleFailures);

        wheel.Advance(Ms, ref sink);
        Assert.False(wheel.Schedule(3 * Ms, 0, 0).IsNone);
        wheel.EnsureCapacity(4);
        Assert.Equal(4, wheel.Capacity);
        Assert.False(wheel.Schedule(3 * Ms, 0, 0).IsNone);
        Assert.False(wheel.Schedule(3 * Ms, 0, 0).IsNone);
        Assert.Equal(4, wheel.Count);
    }

    [Fact]
    public void Growing_the_pool_from_a_callback_is_refused()
    {
        Exception? error = null;
        var (wheel, _, sink) = Make(action: (w, _) => error = Record.Exception(() => w.EnsureCapacity(1000)));
        wheel.Schedule(Ms, 0, 0);
        wheel.Advance(Ms, ref sink);
        Assert.IsType<InvalidOperationException>(error);
    }

    [Theory]
    [InlineData(-1L, 16, 1_000_000L, 16)]
    [InlineData(0L, -1, 1_000_000L, 16)]
    [InlineData(0L, 16, 0L, 16)]
    [InlineData(0L, 16, 1_000_000L, 100)]
    [InlineData(0L, 16, 1_000_000L, 0)]
    public void Impossible_wheels_are_refused(long now, int capacity, long tick, int slots)
        => Assert.Throws<ArgumentOutOfRangeException>(() => new TimerWheel(now, capacity, tick, slots));

    /// <summary>A sink with no references and no allocation: each timer re-arms itself up to three times.</summary>
    private struct Rearming : ITimerSink
    {
        public long Seen;

        public void OnTimer(TimerWheel wheel, in ExpiredTimer timer)
        {
            Seen++;
            if (timer.Payload % 4 != 3)
                wheel.Schedule((1 + timer.Payload % 20) * Ms, timer.Kind, timer.Payload + 1);
        }
    }

    [Fact]
    public void Steady_state_schedule_cancel_reschedule_and_expiry_allocate_nothing()
    {
        var wheel = new TimerWheel(0, capacity: 4096, tickNanoseconds: Ms, slotCount: 1024);
        var sink = new Rearming();
        TimerHandle[] handles = new TimerHandle[256];
        long now = 0;
        for (int round = 0; round < 40; round++)
            Run(500); // past the JIT's tiering thresholds, Run's own included
        Assert.Equal(0, Allocations.Least(3, () => Run(50_000)));
        Assert.True(sink.Seen > 4 * 50_000);
        Assert.Equal(0, wheel.ScheduleFailures);

        void Run(int rounds)
        {
            for (int i = 0; i < rounds; i++)
            {
                int h = i % handles.Length;
                if (!wheel.Reschedule(handles[h], (i % 37) * Ms))
                    handles[h] = wheel.Schedule((i % 29) * Ms + i % 1000, i % 3, 4L * i);
                if (i % 5 == 0)
                    wheel.Cancel(handles[(h * 7) % handles.Length]);
                if (i % 100 == 0)
                {
                    for (int j = 0; j < 40; j++) // a tick with more timers than an insertion sort takes
                        wheel.Schedule(7 * Ms + j, 0, 3);
                }
                now += Ms / 2;
                wheel.Advance(now, ref sink);
            }
        }
    }
}
