using Dataplane.Buffers;

namespace Dataplane.Engine;

/// <summary>Counters of one worker, written only by its own thread.</summary>
internal sealed class WorkerCounters
{
    /// <summary>Packets received from its queues.</summary>
    public long Received;

    /// <summary>Packets this worker processed to completion (its own flows).</summary>
    public long Processed;

    /// <summary>Packets of another worker's flows handed to that worker.</summary>
    public long HandedOff;

    /// <summary>Packets other workers handed to this one.</summary>
    public long HandedIn;

    /// <summary>Hand-offs refused because the owner's ring was full: dropped.</summary>
    public long HandOffDrops;

    /// <summary>Packets transmitted.</summary>
    public long Transmitted;

    /// <summary>Packets dropped because a transmit queue stayed full.</summary>
    public long TransmitDrops;

    /// <summary>Packets the processor dropped.</summary>
    public long Dropped;

    /// <summary>Turns of the loop.</summary>
    public long Loops;

    /// <summary>Times the worker went to sleep on its queues' readiness.</summary>
    public long Sleeps;

    /// <summary>Capture copies dropped because the capture writer's ring was full (the packet itself went on).</summary>
    public long CaptureDrops;
}

/// <summary>
/// What a worker owns, as its packet processor sees it: the buffers, the timer wheel, the clock of
/// the current batch, and the transmit bursts per port. One per worker; no other thread touches it.
/// </summary>
internal sealed class WorkerContext
{
    /// <summary>Packets gathered per port before a transmit burst.</summary>
    public const int BurstSize = 32;

    private readonly PendingBurst[] _bursts; // by port

    /// <summary>A port's transmit queue of this worker and the burst gathered for it: one bounds check a packet.</summary>
    private struct PendingBurst
    {
        public QueuePoller? Queue;
        public PacketBuffer[] Packets;
        public int Count;
    }

    internal WorkerContext(int index, BufferPool pool, BufferCache cache, TimerWheel timers, QueuePoller?[] transmit, CaptureTap?[]? captureSlots = null)
    {
        CaptureSlots = captureSlots ?? new CaptureTap?[transmit.Length];
        Index = index;
        Pool = pool;
        Cache = cache;
        Timers = timers;
        _bursts = new PendingBurst[transmit.Length];
        for (int i = 0; i < transmit.Length; i++)
            _bursts[i] = new PendingBurst { Queue = transmit[i], Packets = new PacketBuffer[BurstSize] };
    }

    /// <summary>The worker's number, 0 to workers - 1; it owns queue <see cref="Index"/> of every port.</summary>
    public int Index { get; }

    /// <summary>The packet memory.</summary>
    public BufferPool Pool { get; }

    /// <summary>This worker's buffers.</summary>
    public BufferCache Cache { get; }

    /// <summary>This worker's timers.</summary>
    public TimerWheel Timers { get; }

    /// <summary>
    /// The symmetric Toeplitz hash the engine steers flows by, and <see cref="FlowOwners"/> the table
    /// that maps a hash to its worker: the stack picks the local port of an outgoing flow with them,
    /// so that the replies come back to this worker. Null for a context that stands alone (tests):
    /// then this worker owns every flow.
    /// </summary>
    public ToeplitzHash? FlowHash { get; init; }

    /// <summary>The indirection table the engine steers flows by; see <see cref="FlowHash"/>.</summary>
    public RssIndirectionTable? FlowOwners { get; init; }

    /// <summary>
    /// The hand-off rings of the engine, for a packet whose flow the stack learns only after the
    /// engine steered it (a datagram reassembled from fragments, which were steered by addresses
    /// alone); null when this worker stands alone.
    /// </summary>
    internal IFlowHandOff? FlowHandOff { get; set; }

    /// <summary>
    /// Hands <paramref name="packet"/> to the worker that owns flow hash <paramref name="hash"/>,
    /// through the engine's ring to it (which counts it, and drops it when the ring is full); false,
    /// with the packet still the caller's, when this worker owns the flow or stands alone.
    /// </summary>
    internal bool TryHandToOwner(uint hash, PacketBuffer packet)
    {
        if (FlowHandOff is not { } handOff || FlowOwners is not { } owners)
            return false;
        int owner = owners.OwnerOf(hash);
        if (owner == Index)
            return false;
        handOff.HandOff(owner, packet);
        return true;
    }

    /// <summary>
    /// Where other threads hand work to this worker (<see cref="WorkerMailbox"/>); set by the
    /// engine's worker, null for a context that stands alone (tests, the simulation).
    /// </summary>
    internal WorkerMailbox? Mailbox { get; set; }

    /// <summary>Every worker's mailbox by index (this one's too), for waking a peer; empty when this worker stands alone.</summary>
    internal WorkerMailbox[] Mailboxes { get; set; } = [];

    /// <summary>
    /// Where the stack of this worker draws its unpredictable starting points (IP identifications,
    /// ephemeral ports) at construction. A simulation gives a seeded one, so that a run replays exactly.
    /// </summary>
    public Random Random { get; init; } = new();

    /// <summary>The clock of the current batch, in nanoseconds; read once per turn of the loop.</summary>
    public long Now { get; internal set; }

    /// <summary>The number of the current turn of the loop, counted by <see cref="BeginTurn"/> (0 before the first).</summary>
    public long Turn { get; private set; }

    /// <summary>
    /// Whether the worker is behind: in its last turn a queue (or a hand-off ring) gave a full burst,
    /// so more was waiting than one burst takes. Then whatever is waiting queues in its receive rings,
    /// one FIFO for every flow, and what a flow gets of the worker follows what it keeps in flight
    /// there; the stack shares each turn between its connections instead (TCP's
    /// <c>TcpSocket.TurnShare</c>). Never set for a context that stands alone (tests, the simulation).
    /// </summary>
    public bool Saturated { get; internal set; }

    /// <summary>
    /// The stack's software LRO (<see cref="IReceiveMerger"/>), which the receive paths of queues with
    /// <see cref="QueuePoller.SoftLro"/> call once per burst; null when the processor has none.
    /// </summary>
    internal IReceiveMerger? ReceiveMerger { get; set; }

    /// <summary>What the stack put off to the next turn; run by <see cref="BeginTurn"/>. Null when nothing registered.</summary>
    internal ITurnWork? TurnWork { get; set; }

    /// <summary>Starts a turn of the loop: counts it, then runs the work the last turn put off; returns how many items that was.</summary>
    internal int BeginTurn()
    {
        Turn++;
        return TurnWork?.RunDeferred() ?? 0;
    }

    /// <summary>The worker's counters.</summary>
    public WorkerCounters Counters { get; } = new();

    /// <summary>
    /// The armed capture of each port, by port index, shared by every worker; null while the port
    /// is not captured. Written by the control thread, read once per packet here.
    /// </summary>
    internal CaptureTap?[] CaptureSlots { get; }

    // How many captures the control thread has armed (CaptureService raises it before it fills a
    // slot, and lowers it once the slot is empty again): while it is 0, which is always but during
    // `ctl capture`, a packet costs one compare here instead of a look into the shared slots.
    private int _captures;

    /// <summary>Tells this worker that a capture is being armed (+1) or was disarmed (-1); the control thread's.</summary>
    internal void CapturesChanged(int by) => Interlocked.Add(ref _captures, by);

    /// <summary>How many captures this worker counts armed: 0 but while <c>ctl capture</c> runs.</summary>
    internal int ArmedCaptures => Volatile.Read(ref _captures);

    /// <summary>Hands a copy of <paramref name="packet"/> to the capture of <paramref name="port"/> when one is armed.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    internal void Capture(int port, PacketBuffer packet, bool outbound)
    {
        if (Volatile.Read(ref _captures) != 0)
            CaptureArmed(port, packet, outbound);
    }

    // Out of line, so that the inlined Capture is one load and one compare a packet, and the
    // registers around it are not spent on the armed case.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private void CaptureArmed(int port, PacketBuffer packet, bool outbound)
    {
        CaptureTap?[] slots = CaptureSlots;
        if ((uint)port < (uint)slots.Length && Volatile.Read(ref slots[port]) is { } tap)
            tap.Offer(this, packet, outbound);
    }

    /// <summary>
    /// Queues <paramref name="packet"/> for sending on <paramref name="port"/> (this worker's queue
    /// of it). Bursts go out when full, and partial ones at the end of the turn.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public void Transmit(int port, PacketBuffer packet)
    {
        PendingBurst[] bursts = _bursts;
        if ((uint)port >= (uint)bursts.Length || bursts[port].Queue is null)
        {
            Drop(packet);
            return;
        }
        Capture(port, packet, outbound: true); // before the queue owns it: the copy's reference keeps it alive
        ref PendingBurst burst = ref bursts[port];
        int n = burst.Count;
        burst.Packets[n++] = packet;
        burst.Count = n;
        if (n == BurstSize)
            Flush(port);
    }

    /// <summary>Releases <paramref name="packet"/> and counts it as dropped by the processor.</summary>
    public void Drop(PacketBuffer packet)
    {
        Counters.Dropped++;
        Cache.Release(packet);
    }

    /// <summary>Sends every partial burst (the flush deadline of a turn).</summary>
    public void FlushAll()
    {
        for (int port = 0; port < _bursts.Length; port++)
        {
            if (_bursts[port].Count > 0)
                Flush(port);
        }
    }

    private void Flush(int port)
    {
        ref PendingBurst pending = ref _bursts[port];
        int n = pending.Count;
        Span<PacketBuffer> burst = pending.Packets.AsSpan(0, n);
        int sent = pending.Queue!.Transmit(burst);
        Counters.Transmitted += sent;
        if (sent < n)
        {
            // The queue stayed full: drop the rest rather than hold the loop (DPDK's l3fwd does the same).
            Counters.TransmitDrops += n - sent;
            Cache.Release(burst[sent..]);
        }
        pending.Count = 0;
    }
}
