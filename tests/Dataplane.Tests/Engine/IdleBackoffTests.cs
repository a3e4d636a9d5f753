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
        idle.Slept();

        Assert.True(idle.KeepSpinning(5_000_000));
        Assert.True(idle.KeepSpinning(5_000_000 + 19 * Microsecond));
    }
}
