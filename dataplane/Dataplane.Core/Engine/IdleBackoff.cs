namespace Dataplane.Engine;

/// <summary>
/// When an idle worker stops polling and sleeps: it spins (polls between short pauses) for an
/// idle spell, then sleeps on its queues until traffic, a hand-off or a timer wakes it. The spell
/// is <see cref="SpinNanoseconds"/>, and grows toward <see cref="MaxSpinNanoseconds"/> while the
/// worker's sleeps stay short and nobody else wants its core, as Linux's cpuidle haltpoll governor
/// grows a vCPU's poll before it halts.
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
/// Growing: a request and its answer a few tens of microseconds apart (a ping flood, a
/// request-response exchange) found the worker asleep every time with 20 us, and the wake-up (an
/// interrupt to a halted vCPU, the scheduler, epoll's return) doubled the round trip. So a sleep
/// that traffic ended within <see cref="MaxSpinNanoseconds"/> doubles the next spells' spin, up to
/// that bound (haltpoll's grow); a longer one halves it, down to 20 us (haltpoll's shrink), so an
/// idle dataplane spins 20 us a wake-up, as before. The spin grows
/// only when the worker was not preempted in the last <see cref="HoldNanoseconds"/> (its
/// <c>ru_nivcsw</c> unchanged at each sleep): a process that wants the worker's core (iperf3 beside
/// it on a two-core machine) keeps the spell at 20 us, where spinning would take the core from it.
/// Only a wait that traffic or a peer ended grows the spin; a wait the sleep's bound ended (a timer
/// due) or one skipped for pending hand-offs says nothing of traffic.
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
    /// <summary>How long an idle spell spins at least.</summary>
    public const long SpinNanoseconds = 20_000;

    /// <summary>How long an idle spell spins at most, and the longest sleep that grows the spin.</summary>
    public const long MaxSpinNanoseconds = 200_000;

    /// <summary>How long after a preemption the spin stays at its least: a busy neighbour is seen once in many of its time slices.</summary>
    public const long HoldNanoseconds = 10_000_000;

    private long _idleSince; // when the idle spell began (EngineClock); 0 while busy
    private long _spin; // this spell's spin; 0 until the first (SpinNanoseconds)
    private long _shortUntil; // no growing before this (EngineClock): the worker was preempted lately

    /// <summary>How long an idle spell spins now.</summary>
    public readonly long Spin => _spin == 0 ? SpinNanoseconds : _spin;

    /// <summary>A turn did work: the idle spell, if any, is over.</summary>
    public void Busy() => _idleSince = 0;

    /// <summary>A turn did nothing at <paramref name="now"/>: whether to spin on (true) or sleep.</summary>
    public bool KeepSpinning(long now)
    {
        if (_idleSince == 0)
            _idleSince = now;
        return now - _idleSince < Spin;
    }

    /// <summary>
    /// The worker's sleep ended at <paramref name="now"/>. <paramref name="preempted"/>: another task
    /// took its core since its last sleep; <paramref name="woken"/>: it waited, and a queue or a peer
    /// ended the wait (not its bound, not a signal, nor a wait skipped for pending hand-offs). Adjusts
    /// the spin by how long the sleep lasted (the idle spell less its spin), and starts a fresh spell
    /// for the next idle turn.
    /// </summary>
    public void Slept(long now, bool preempted, bool woken)
    {
        long slept = now - _idleSince - Spin;
        if (preempted)
        {
            _spin = SpinNanoseconds;
            _shortUntil = now + HoldNanoseconds;
        }
        else if (slept > MaxSpinNanoseconds)
        {
            _spin = Math.Max(Spin / 2, SpinNanoseconds);
        }
        else if (woken && now >= _shortUntil)
        {
            _spin = Math.Min(Spin * 2, MaxSpinNanoseconds); // a spin that much longer would have caught the wake-up
        }
        // Otherwise no news: a short wait that nothing of ours ended, or none at all.
        _idleSince = 0;
    }
}
