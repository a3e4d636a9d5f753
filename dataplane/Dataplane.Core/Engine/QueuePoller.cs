using Dataplane.Buffers;
using Dataplane.Ports;

namespace Dataplane.Engine;

/// <summary>
/// One port's queue pair as its worker drives it. The subclasses are emitted by the packet-path
/// generator, one per driver (<c>TapQueuePath</c> for <c>[PacketPath("tap")] TapQueue</c>): each holds
/// the driver's queue struct and calls it directly, and hands every packet to the worker's processor
/// compiled for the driver's receive facts (<c>TapQueuePath.Facts</c>, an <see cref="IReceiveFacts"/>),
/// so a burst costs one virtual call here and nothing inside it is dispatched per packet.
/// </summary>
internal abstract class QueuePoller
{
    /// <summary>Index of the port in the engine.</summary>
    public int Port { get; internal set; }

    /// <summary>
    /// Whether the worker merges this queue's received TCP segments in software before dispatching
    /// them (<see cref="IReceiveMerger"/>): set by the engine at start from the port's lro switch
    /// (<see cref="PortBinding.Lro"/>) where the port does not merge itself; off by default.
    /// </summary>
    public bool SoftLro { get; internal set; }

    /// <summary>The driver's counters of this queue, which the worker watches for errors.</summary>
    public QueueCounters? Counters { get; internal set; }

    /// <summary>
    /// Set by the owning worker when the queue kept failing (the interface went away): the worker
    /// stops polling it and the other ports keep running. Read by the control thread to log it.
    /// </summary>
    public bool Failed => Volatile.Read(ref _failed);

    private bool _failed;

    // Errors seen at the last turn, and how many turns in a row brought new ones.
    internal long ErrorsSeen;
    internal int ErrorTurns;

    internal void MarkFailed() => Volatile.Write(ref _failed, true);

    /// <summary>Transmits from the front of <paramref name="burst"/>; returns how many the queue took.</summary>
    public abstract int Transmit(ReadOnlySpan<PacketBuffer> burst);

    /// <summary>The queue's readiness descriptor, if the driver has one.</summary>
    public abstract Native.FileDescriptor? ReadinessDescriptor { get; }

    /// <summary>
    /// The receive path of this queue compiled for the processor of the worker that owns it. A generic
    /// virtual call, made once per queue when the worker is built, so that every burst afterwards is
    /// one plain virtual call (<see cref="ReceivePath{TProcessor}.Poll"/>).
    /// </summary>
    public abstract ReceivePath<TProcessor> BindReceive<TProcessor>() where TProcessor : struct, IPacketProcessor;
}

/// <summary>
/// The receive side of one queue, compiled for one driver and one processor: the emitted loop that
/// takes a burst from the driver's struct and dispatches every packet of it through the worker.
/// </summary>
internal abstract class ReceivePath<TProcessor>(QueuePoller queue) where TProcessor : struct, IPacketProcessor
{
    /// <summary>The queue this path receives from.</summary>
    public QueuePoller Queue { get; } = queue;

    /// <summary>
    /// Receives one burst into <paramref name="burst"/> and dispatches every packet: stamps the port,
    /// hashes the flow where the driver did not, offers the packet to capture, and has the worker
    /// process it with the driver's facts (<see cref="Worker{TProcessor}.Deliver{TFacts}"/>) or hand it
    /// to the worker that owns its flow. Returns how many arrived.
    /// </summary>
    public abstract int Poll(Worker<TProcessor> worker, Span<PacketBuffer> burst);
}
