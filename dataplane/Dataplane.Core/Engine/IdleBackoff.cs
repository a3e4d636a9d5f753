namespace Dataplane.Engine;

/// <summary>
/// When an idle worker stops polling and sleeps: it spins (polls between short pauses) for an
/// idle spell of <see cref="SpinNanoseconds"/>, then sleeps on its queues until traffic, a
/// hand-off or a timer wakes it.
/// </summary>
/// <remarks>
/// <para>
/// 20 us: traffic that comes back within microseconds finds the worker awake, and a worker that
/// shares its cores with the applications it serves (a two-core machine, an iperf3 client and
/// server) gives them the core soon. A count of turns was the bound before, 256 spun then 768
/// yielded, each a poll of every queue (a tap's readv, EAGAIN): milliseconds of a core per idle
/// spell, so that a worker with an ACK every ~0.5 ms never slept. Measured on the main job's lab, one
/// TCP stream through the dataplane with both cores loaded, 3 runs of 4 s: 1.0-3.3 Gbit/s with the
/// turns, 2.9-4.5 with 20 us.
/// </para>
/// <para>
/// After a sleep that traffic ended (not the timeout), the first idle spell may spin longer: an
/// eighth of the sleep, at most <see cref="LongSpinNanoseconds"/>. Sparse traffic is mostly a
/// request whose answer comes back through the same worker within tens of microseconds (a ping, a
/// DNS query, a TCP handshake), and a worker asleep again by then pays a second wake-up (tens of
/// microseconds on a virtual machine's idle core) on the round trip. An eighth of the sleep keeps
/// the spinning under that share of a core; busy traffic, whose sleeps are short, keeps about the
/// 20 us; and once the long spell has caught what it waited for, the next spells are short again.
/// Each long spell that catches nothing halves the next one's (one-way traffic: no answer comes),
/// down to the 20 us, until one catches something again.
/// </para>
/// </remarks>
internal struct IdleBackoff
{
    /// <summary>How long an idle spell spins.</summary>
    public const long SpinNanoseconds = 20_000;

    /// <summary>The longest the first idle spell after a sleep that traffic ended spins.</summary>
    public const long LongSpinNanoseconds = 200_000;

    private long _idleSince; // when the idle spell began (EngineClock); 0 while busy
    private long _spin;      // how long this idle spell may spin; 0 for the usual
    private int _misses;     // long spells in a row that ended in a sleep, caught nothing (at most 4)

    /// <summary>How long the current (or next) idle spell spins.</summary>
    public readonly long SpellNanoseconds => _spin == 0 ? SpinNanoseconds : _spin;

    /// <summary>A turn did work: the idle spell, if any, is over.</summary>
    public void Busy()
    {
        if (_idleSince != 0)
        {
            _spin = 0; // a spell caught what it waited for: the next ones are short
            _misses = 0;
        }
        _idleSince = 0;
    }

    /// <summary>A turn did nothing at <paramref name="now"/>: whether to spin on (true) or sleep.</summary>
    public bool KeepSpinning(long now)
    {
        if (_idleSince == 0)
            _idleSince = now;
        return now - _idleSince < SpellNanoseconds;
    }

    /// <summary>
    /// The worker slept for <paramref name="nanoseconds"/>; <paramref name="woken"/> when traffic or a
    /// hand-off ended the sleep, not its timeout.
    /// </summary>
    public void Slept(long nanoseconds, bool woken)
    {
        if (_spin != 0 && _misses < 4)
            _misses++; // the long spell before this sleep caught nothing
        _spin = woken ? Math.Clamp((nanoseconds / 8) >> _misses, SpinNanoseconds, LongSpinNanoseconds) : 0;
        _idleSince = 0; // woken: poll for another spell before sleeping again
    }
}
