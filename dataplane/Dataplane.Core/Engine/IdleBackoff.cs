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
/// Tried and not kept (the main job's lab by hand, a quiet machine, 9 TCP runs of 4 s each way,
/// interleaved): after a sleep that traffic ended, a first spell of an eighth of the sleep (20 to
/// 200 us), so that the answer to a sparse request would find the worker awake. TCP went from 11.6
/// to 10.3 Gbit/s on average, a ping every 0.5 s from 0.188 to 0.173 ms: in a lab of namespaces the
/// answer mostly comes back inside the worker's own send (the peer's softirq runs in it), so there
/// was little to catch, and the spinning took the core from iperf3. sched_yield in place of the
/// pause, so that a process waiting for the core gets it: UDP at 1 Gbit/s lost 27 % instead of
/// 2.5 %, TCP 7.2 Gbit/s instead of 10.3.
/// </para>
/// </remarks>
internal struct IdleBackoff
{
    /// <summary>How long an idle spell spins.</summary>
    public const long SpinNanoseconds = 20_000;

    private long _idleSince; // when the idle spell began (EngineClock); 0 while busy

    /// <summary>A turn did work: the idle spell, if any, is over.</summary>
    public void Busy() => _idleSince = 0;

    /// <summary>A turn did nothing at <paramref name="now"/>: whether to spin on (true) or sleep.</summary>
    public bool KeepSpinning(long now)
    {
        if (_idleSince == 0)
            _idleSince = now;
        return now - _idleSince < SpinNanoseconds;
    }

    /// <summary>The worker slept and was woken: poll for another spell before sleeping again.</summary>
    public void Slept() => _idleSince = 0;
}
