using Dataplane.Engine;

namespace Dataplane.Tests.Engine;

/// <summary>The idle worker's policy: how long it spins before it sleeps, and after which sleeps it spins longer.</summary>
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
    public void After_a_long_sleep_traffic_ended_the_first_spell_spins_up_to_200_us()
    {
        var idle = new IdleBackoff();

        idle.Slept(1_000_000_000, woken: true); // a ping a second woke it
        idle.Busy(); // the request is forwarded
        Assert.Equal(200 * Microsecond, idle.SpellNanoseconds);
        Assert.True(idle.KeepSpinning(5_000_000));
        Assert.True(idle.KeepSpinning(5_000_000 + 150 * Microsecond)); // the answer, still awake for it
        idle.Busy(); // it came

        Assert.Equal(20 * Microsecond, idle.SpellNanoseconds); // caught: back to short spells
        Assert.True(idle.KeepSpinning(6_000_000));
        Assert.False(idle.KeepSpinning(6_000_000 + 20 * Microsecond));
    }

    [Theory]
    [InlineData(80_000, 20_000)]      // a short sleep (busy traffic): the usual 20 us
    [InlineData(400_000, 50_000)]     // an eighth of the sleep
    [InlineData(1_000_000, 125_000)]  // a ping every millisecond
    [InlineData(100_000_000, 200_000)] // never more than 200 us
    public void The_long_spell_is_an_eighth_of_the_sleep_between_20_and_200_us(long slept, long spell)
    {
        var idle = new IdleBackoff();

        idle.Slept(slept, woken: true);

        Assert.Equal(spell, idle.SpellNanoseconds);
    }

    [Fact]
    public void Long_spells_that_catch_nothing_halve_until_one_catches_something()
    {
        var idle = new IdleBackoff();
        // One-way traffic a millisecond apart: each long spell runs out and the worker sleeps.
        idle.Slept(1_000_000, woken: true);
        Assert.Equal(125 * Microsecond, idle.SpellNanoseconds);
        idle.Slept(1_000_000, woken: true);
        Assert.Equal(62_500, idle.SpellNanoseconds);
        idle.Slept(1_000_000, woken: true);
        Assert.Equal(31_250, idle.SpellNanoseconds);
        idle.Slept(1_000_000, woken: true);
        Assert.Equal(20 * Microsecond, idle.SpellNanoseconds);

        // An answer caught in a spell: the next long sleep earns the whole long spell again.
        Assert.True(idle.KeepSpinning(9_000_000));
        idle.Busy();
        idle.Slept(1_000_000, woken: true);
        Assert.Equal(125 * Microsecond, idle.SpellNanoseconds);
    }

    [Fact]
    public void A_sleep_its_timeout_ended_keeps_the_short_spell_so_an_idle_worker_stays_idle()
    {
        var idle = new IdleBackoff();

        idle.Slept(100_000_000, woken: false); // the 100 ms bound, or a timer: nothing came

        Assert.Equal(20 * Microsecond, idle.SpellNanoseconds);
    }
}
