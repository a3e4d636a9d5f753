using Dataplane.Engine;

namespace Dataplane.Tests.Engine;

/// <summary>The idle worker's policy: how long it spins before it sleeps.</summary>
public class IdleBackoffTests
{
    private const long Microsecond = 1_000;

    [Fact]
    public void An_idle_spell_spins_20_us_then_sleeps()
    {
        var idle = new IdleBackoff();

        Assert.True(idle.KeepSpinning(1_000_000));
        Assert.True(idle.KeepSpinning(1_000_000 + 19 * Microsecond));
        Assert.False(idle.KeepSpinning(1_000_000 + 20 * Microsecond));
    }

    [Fact]
    public void Work_ends_the_spell_and_the_next_one_starts_afresh()
    {
        var idle = new IdleBackoff();
        Assert.True(idle.KeepSpinning(1_000_000));
        idle.Busy();

        Assert.True(idle.KeepSpinning(1_000_000 + 50 * Microsecond)); // a new spell from here
        Assert.False(idle.KeepSpinning(1_000_000 + 70 * Microsecond));
    }

    [Fact]
    public void A_sleep_ends_the_spell_so_a_woken_worker_polls_for_a_whole_spell_again()
    {
        var idle = new IdleBackoff();
        Assert.True(idle.KeepSpinning(1_000_000));
        Assert.False(idle.KeepSpinning(1_000_000 + 30 * Microsecond)); // it sleeps now
        idle.Slept(5_000_000, preempted: true, woken: true);

        Assert.True(idle.KeepSpinning(5_000_000));
        Assert.True(idle.KeepSpinning(5_000_000 + 19 * Microsecond));
    }

    [Fact]
    public void Sleeps_that_end_within_200_us_double_the_spin_up_to_200_us()
    {
        var idle = new IdleBackoff();

        // Woken by traffic 10 us into each sleep: a longer spin would have caught it.
        List<long> spins = Spells(ref idle, 1_000_000, 6, sleep: 10 * Microsecond);

        Assert.Equal(new[] { 20 * Microsecond, 40 * Microsecond, 80 * Microsecond, 160 * Microsecond, 200 * Microsecond, 200 * Microsecond }, spins);
    }

    [Fact]
    public void Sleeps_longer_than_200_us_halve_the_spin_down_to_20_us()
    {
        var idle = Grown();

        List<long> spins = Spells(ref idle, 10_000_000, 5, sleep: 201 * Microsecond);

        Assert.Equal(new[] { 200 * Microsecond, 100 * Microsecond, 50 * Microsecond, 25 * Microsecond, 20 * Microsecond }, spins);
    }

    [Fact]
    public void A_worker_preempted_since_its_last_sleep_spins_20_us_again_however_short_the_spell()
    {
        var idle = Grown();
        long now = 10_000_000;
        Assert.Equal(200 * Microsecond, SpinOf(ref idle, now));

        idle.Slept(now + 200 * Microsecond + Microsecond, preempted: true, woken: true);

        Assert.Equal(20 * Microsecond, SpinOf(ref idle, now + 1_000_000));
    }

    [Fact]
    public void After_a_preemption_the_spin_stays_at_20_us_for_10_ms_then_grows_again()
    {
        var idle = Grown();
        long now = 10_000_000;
        SpinOf(ref idle, now);
        idle.Slept(now + 200 * Microsecond + Microsecond, preempted: true, woken: true);

        // Short sleeps that traffic ended, 100 us apart: no growing until 10 ms after the preemption.
        var spins = new List<long>();
        for (now += 100 * Microsecond; now < 10_000_000 + 10_400 * Microsecond; now += 100 * Microsecond)
        {
            spins.Add(SpinOf(ref idle, now));
            idle.Slept(now + idle.Spin + 5 * Microsecond, preempted: false, woken: true);
        }

        int held = spins.FindIndex(s => s > 20 * Microsecond);
        Assert.InRange(held, 98, 104); // about 10 ms of spells at 20 us, 100 us apart
        Assert.Equal(40 * Microsecond, spins[held]);
    }

    [Fact]
    public void A_short_wait_that_nothing_of_ours_ended_leaves_the_spin_as_it_is()
    {
        var idle = new IdleBackoff();
        long now = 1_000_000;
        SpinOf(ref idle, now);
        idle.Slept(now + idle.Spin + 10 * Microsecond, preempted: false, woken: true);
        Assert.Equal(40 * Microsecond, idle.Spin);

        // A timer due at once, or a wait skipped for hand-offs: no news of traffic.
        now += 1_000_000;
        SpinOf(ref idle, now);
        idle.Slept(now + idle.Spin, preempted: false, woken: false);
        Assert.Equal(40 * Microsecond, idle.Spin);

        // A long wait that its bound ended still halves it.
        now += 1_000_000;
        SpinOf(ref idle, now);
        idle.Slept(now + idle.Spin + 1_000 * Microsecond, preempted: false, woken: false);
        Assert.Equal(20 * Microsecond, idle.Spin);
    }

    /// <summary>How long a spell starting at <paramref name="start"/> spins, found by asking as the worker does, a microsecond apart.</summary>
    private static long SpinOf(ref IdleBackoff idle, long start)
    {
        long t = start;
        while (idle.KeepSpinning(t))
            t += Microsecond;
        return t - start;
    }

    /// <summary>
    /// <paramref name="count"/> idle spells a millisecond apart from <paramref name="start"/>, each
    /// a spin and then a sleep of <paramref name="sleep"/> that traffic ends: the spin of each.
    /// </summary>
    private static List<long> Spells(ref IdleBackoff idle, long start, int count, long sleep)
    {
        var spins = new List<long>();
        for (long now = start; spins.Count < count; now += 1_000_000)
        {
            spins.Add(SpinOf(ref idle, now));
            idle.Slept(now + idle.Spin + sleep, preempted: false, woken: true);
        }
        return spins;
    }

    private static IdleBackoff Grown()
    {
        var idle = new IdleBackoff();
        Spells(ref idle, 1_000_000, 8, sleep: Microsecond);
        Assert.Equal(200 * Microsecond, idle.Spin);
        return idle;
    }
}
