using System.Runtime.CompilerServices;
using Dataplane.Buffers;
using Dataplane.Native;
using Dataplane.Wire;

namespace Dataplane.Engine;

/// <summary>
/// One per-core run-to-completion loop, as in DPDK's l3fwd: run what the last turn put off, receive
/// a burst from each owned queue (up to <see cref="MaxBurstsPerTurn"/> while they come back full),
/// send every packet of another worker's flow to that worker, process the rest to completion,
/// take in what other workers handed over, run due timers, flush partial transmit bursts, and when
/// there was nothing to do for a while, sleep until a queue or a hand-off wakes it.
/// </summary>
internal sealed class Worker<TProcessor> : IFlowHandOff where TProcessor : struct, IPacketProcessor
{
    // Bursts a turn takes from one queue (or hand-off ring) at most, while they come back full: 128
    // frames, more than a TCP connection's share of a turn each way (64 KiB, 45 segments), so that a
    // busy queue does not hold a connection to less than its share, and the turn still ends soon
    // enough for the other queues and the timers.
    internal const int MaxBurstsPerTurn = 4;

    // An Ethernet frame of the standard MTU, for judging a turn's bytes against a full burst.
    private const int FullSizeFrame = 1514;

    // A queue whose every burst for this many turns in a row reported a new error is given up on:
    // the interface is gone, and polling it would only spin (its descriptor polls as always ready).
    private const int FailAfterErrorTurns = 1000;

    private readonly QueuePoller[] _queues;
    private readonly ReceivePath<TProcessor>[] _receive;
    private readonly RssIndirectionTable _owners;
    private readonly ToeplitzHash _hash;
    private readonly PacketBuffer[] _burst = new PacketBuffer[WorkerContext.BurstSize];
    private readonly PacketBuffer[] _handOffBurst = new PacketBuffer[WorkerContext.BurstSize];
    private TProcessor _processor;
    private SpscRing<PacketBuffer>?[] _inbound = [];
    private SpscRing<PacketBuffer>?[] _outbound = [];
    private Worker<TProcessor>[] _peers = [];
    private bool _alone = true; // no peers: every flow is this worker's, and no owner is looked up
    private readonly int _index; // Context.Index, one load nearer
    private bool[] _wakeOwed = []; // peers handed packets this turn, by index
    private bool _anyWakeOwed;
    private IdleBackoff _idle; // when to stop polling and sleep
    private long _involuntarySwitches; // the thread's ru_nivcsw at its last sleep
    private Epoll? _sleep;
    private readonly int _sleepMilliseconds;
    private volatile bool _sleeping;

    internal Worker(WorkerContext context, QueuePoller[] receive, RssIndirectionTable owners, ToeplitzHash hash, TProcessor processor)
    {
        Context = context;
        _index = context.Index;
        _queues = receive;
        // Each queue's emitted receive path, compiled for this worker's processor.
        _receive = Array.ConvertAll(receive, q => q.BindReceive<TProcessor>());
        _owners = owners;
        _hash = hash;
        _processor = processor;
        // With a descriptor for every queue, epoll wakes the worker as soon as a frame arrives and a
        // long timeout costs nothing; queues without one are looked at again within 1 ms.
        _sleepMilliseconds = Array.TrueForAll(receive, q => q.ReadinessDescriptor is not null) ? 100 : 1;
        Wakeup = EventFd.Create();
        context.Mailbox = new WorkerMailbox(Wakeup);
    }

    /// <summary>The queues this worker receives from.</summary>
    public IReadOnlyList<QueuePoller> Queues => _queues;

    /// <summary>What the worker owns.</summary>
    public WorkerContext Context { get; }

    /// <summary>Signalled to wake the worker from its idle sleep (a hand-off, or stop).</summary>
    public EventFd Wakeup { get; }

    /// <summary>Joins the workers by rings: one from every worker to every other (single producer, single consumer each).</summary>
    internal void Connect(Worker<TProcessor>[] peers, SpscRing<PacketBuffer>?[] inbound, SpscRing<PacketBuffer>?[] outbound)
    {
        _peers = peers;
        _alone = peers.Length <= 1;
        _wakeOwed = new bool[peers.Length];
        _inbound = inbound;
        _outbound = outbound;
        Context.FlowHandOff = peers.Length > 1 ? this : null;
        Context.Mailboxes = Array.ConvertAll(peers, p => p.Context.Mailbox!);
    }

    /// <inheritdoc/>
    void IFlowHandOff.HandOff(int owner, PacketBuffer packet) => HandOff(owner, packet);

    /// <summary>Runs turns until <paramref name="stop"/> is set.</summary>
    public void Run(StrongBox<bool> stop, Epoll sleep)
    {
        _sleep = sleep;
        Span<EpollEvent> events = stackalloc EpollEvent[8];
        while (!Volatile.Read(ref stop.Value))
        {
            if (RunOnce() > 0 || Context.TurnWork is { HasDeferred: true })
            {
                _idle.Busy();
                continue;
            }
            // Back off: spin a little (traffic usually comes back within microseconds), then
            // sleep until a queue is readable or a peer hands over packets.
            if (_idle.KeepSpinning(Context.Now))
                Thread.SpinWait(32);
            else
                Sleep(sleep, events);
        }
    }

    /// <summary>One turn of the loop; returns how many packets it moved.</summary>
    public int RunOnce()
    {
        WorkerContext context = Context;
        context.Now = EngineClock.Nanoseconds(); // once per batch
        Volatile.Write(ref context.Counters.Loops, context.Counters.Loops + 1); // with release: CaptureService's grace period reads it
        int work = context.BeginTurn(); // what the last turn put off (TCP connections past their share)
        bool saturated = false;
        for (int q = 0; q < _receive.Length; q++)
        {
            ReceivePath<TProcessor> path = _receive[q];
            QueuePoller queue = path.Queue;
            if (queue.Failed)
                continue;
            // The burst's one virtual call: the driver's emitted loop receives and dispatches every packet.
            long bytesBefore = queue.Counters?.ReceivedBytes ?? 0;
            int n = path.Poll(this, _burst);
            if (n == 0)
            {
                CheckHealth(queue);
                continue;
            }
            queue.ErrorTurns = 0;
            int received = n;
            for (int burst = 1; burst < MaxBurstsPerTurn && n == _burst.Length; burst++)
            {
                n = path.Poll(this, _burst);
                received += n;
            }
            // Behind: a full burst came back, or a burst's worth of full-size frames in bytes (super-frames
            // come a few to a burst, and the burst is rarely full while the worker is just as busy).
            saturated |= received >= _burst.Length || (queue.Counters?.ReceivedBytes ?? 0) - bytesBefore >= _burst.Length * FullSizeFrame;
            context.Counters.Received += received;
            work += received;
        }
        work += DrainHandOffs(ref saturated);
        context.Saturated = saturated;
        work += context.Mailbox!.RunPending(); // a ctl request's work: one acquire load when there is none
        context.Timers.Advance(context.Now, ref _processor);
        context.FlushAll();
        if (_anyWakeOwed)
            WakeSleepingPeers();
        return work;
    }

    /// <summary>
    /// Wakes every peer handed packets this turn that has gone to sleep. The unfenced look in
    /// <see cref="HandOff"/> wakes a peer early, but alone it can miss one: x86 lets a load pass an
    /// earlier store, so our read of the peer's flag may precede our ring write's visibility while
    /// the peer's read of its rings precedes its flag's, each seeing the other's old value, and the
    /// peer sleeps on a packet for the whole sleep bound (100 ms with descriptors for every queue).
    /// A full fence on both sides (here and in <see cref="Sleep"/>) makes one of them see the
    /// other: Dekker's pattern. Once a turn, not once a packet.
    /// </summary>
    private void WakeSleepingPeers()
    {
        _anyWakeOwed = false;
        Interlocked.MemoryBarrier();
        for (int p = 0; p < _wakeOwed.Length; p++)
        {
            if (!_wakeOwed[p])
                continue;
            _wakeOwed[p] = false;
            if (_peers[p]._sleeping)
                _peers[p].Wakeup.Signal();
        }
    }

    /// <summary>Counts turns in a row in which the queue's driver reported new errors; gives up on it after enough.</summary>
    private void CheckHealth(QueuePoller queue)
    {
        long errors = queue.Counters is { } counters ? counters.Errors : 0;
        if (errors == queue.ErrorsSeen)
        {
            queue.ErrorTurns = 0;
            return;
        }
        queue.ErrorsSeen = errors;
        if (++queue.ErrorTurns < FailAfterErrorTurns)
            return;
        queue.MarkFailed();
        if (queue.ReadinessDescriptor is { } descriptor && _sleep is { } sleep)
            sleep.Delete(descriptor); // or the idle sleep would wake at once, forever
    }

    /// <summary>
    /// Processes <paramref name="packet"/> here, or hands it to the worker that owns its flow by
    /// <paramref name="hash"/>. Called by the emitted receive paths for every packet, after they
    /// stamped, hashed and offered it to capture; a direct call, inlined into them. The processor is
    /// compiled for <typeparamref name="TFacts"/>, the driver's receive facts (<see cref="IReceiveFacts"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void Deliver<TFacts>(int port, PacketBuffer packet, uint hash) where TFacts : struct, IReceiveFacts
    {
        if (!_alone)
        {
            int owner = _owners.OwnerOf(hash);
            if (owner != _index)
            {
                HandOff(owner, packet);
                return;
            }
        }
        Context.Counters.Processed++;
        _processor.Process<TFacts>(Context, port, packet);
    }

    private void HandOff(int owner, PacketBuffer packet)
    {
        if (_outbound[owner]!.TryEnqueue(packet))
        {
            Context.Counters.HandedOff++;
            if (_peers[owner]._sleeping)
                _peers[owner].Wakeup.Signal();
            _wakeOwed[owner] = true; // looked at again, fenced, at the end of the turn
            _anyWakeOwed = true;
        }
        else
        {
            Context.Counters.HandOffDrops++;
            Context.Cache.Release(packet);
        }
    }

    private int DrainHandOffs(ref bool saturated)
    {
        int total = 0;
        for (int from = 0; from < _inbound.Length; from++)
        {
            SpscRing<PacketBuffer>? ring = _inbound[from]; // null for the worker itself
            if (ring is null)
                continue;
            for (int burst = 0; burst < MaxBurstsPerTurn; burst++)
            {
                int n = ring.TryDequeue(_handOffBurst);
                total += n;
                Context.Counters.HandedIn += n;
                Context.Counters.Processed += n;
                for (int i = 0; i < n; i++)
                {
                    // The ring carries the buffer, not the type of the path it came in on, so the
                    // driver's facts are lost here and every flag is read per frame.
                    PacketBuffer packet = _handOffBurst[i];
                    _processor.Process<UnknownDriverFacts>(Context, Context.Pool.Metadata(packet).Port, packet);
                }
                if (n < _handOffBurst.Length)
                    break;
                saturated = true;
            }
        }
        return total;
    }

    /// <summary>
    /// The symmetric Toeplitz hash of the flow, so both directions land on one worker; frames that
    /// are not IP (ARP) hash to 0, the first worker's entry. <paramref name="frame"/> is the first
    /// buffer of a frame of <paramref name="frameLength"/> bytes, which holds its headers.
    /// </summary>
    internal uint SoftwareHash(Span<byte> frame, int frameLength) => FlowKey.FrameHash(_hash, frame, frameLength);

    private void Sleep(Epoll sleep, Span<EpollEvent> events)
    {
        // Whether another task took this core since the last sleep: then the spin stays short
        // (IdleBackoff). Asked before the flag goes up, so that peers do not signal meanwhile; a
        // failed call counts as preempted, the cautious answer.
        long switches = CurrentThread.InvoluntarySwitches;
        bool preempted = switches < 0 || switches != _involuntarySwitches;
        _involuntarySwitches = switches;
        _sleeping = true;
        Context.Mailbox!.Sleeping = true;
        // Check once more after raising the flag: a peer that handed over just before saw it down.
        // The fence keeps the rings' reads after the flag's store (WakeSleepingPeers).
        Interlocked.MemoryBarrier();
        bool woken = false; // the sleep happened, and a queue or a peer ended it (not the bound, not EINTR)
        if (!HasHandOffs())
        {
            Context.Counters.Sleeps++;
            int ready = sleep.Wait(events, SleepMilliseconds());
            // The wake-up counter is read only when it is what woke us (data 0): a queue's frame
            // needs no read of it, and a peer's signal that came after is seen at the next sleep,
            // whose epoll_wait then returns at once. A failed wait (EINTR) drains, to be safe.
            bool signalled = ready < 0;
            for (int i = 0; i < ready; i++)
                signalled |= events[i].Data == 0;
            if (signalled)
                Wakeup.Drain();
            woken = ready > 0;
        }
        _sleeping = false;
        Context.Mailbox!.Sleeping = false;
        _idle.Slept(EngineClock.Nanoseconds(), preempted, woken);
    }

    /// <summary>
    /// How long the idle sleep may last: the usual bound, cut short by the next timer due, so that
    /// an idle worker's timers (TCP's retransmissions and delayed ACKs, an app's pacing tick) run
    /// on time rather than when traffic or the bound wakes it.
    /// </summary>
    private int SleepMilliseconds()
    {
        long next = Context.Timers.NextExpiry;
        if (next == long.MaxValue)
            return _sleepMilliseconds;
        long milliseconds = (next - EngineClock.Nanoseconds() + 999_999) / 1_000_000;
        return (int)Math.Clamp(milliseconds, 0, _sleepMilliseconds);
    }

    private bool HasHandOffs()
    {
        if (Context.Mailbox!.HasWork || Context.TurnWork is { HasDeferred: true })
            return true;
        foreach (SpscRing<PacketBuffer>? ring in _inbound)
        {
            if (ring is not null && ring.Count > 0)
                return true;
        }
        return false;
    }


}
