using Dataplane.Buffers;
using Dataplane.Ports;

namespace Dataplane.Engine;

/// <summary>
/// One port's queue pair as its worker drives it. The worker calls through this base once per
/// burst; the subclass is generic over the driver's queue struct, so the per-packet calls inside
/// (receive and transmit bursts) are direct calls the compiler specializes for each driver.
/// </summary>
internal abstract class QueuePoller
{
    /// <summary>Index of the port in the engine.</summary>
    public int Port { get; internal set; }

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

    /// <summary>Receives one burst into <paramref name="burst"/>; returns how many arrived.</summary>
    public abstract int Receive(Span<PacketBuffer> burst);

    /// <summary>Transmits from the front of <paramref name="burst"/>; returns how many the queue took.</summary>
    public abstract int Transmit(ReadOnlySpan<PacketBuffer> burst);

    /// <summary>The queue's readiness descriptor, if the driver has one.</summary>
    public abstract Native.FileDescriptor? ReadinessDescriptor { get; }
}

/// <summary>The poller of one driver's queue type.</summary>
internal sealed class QueuePoller<TQueue>(TQueue queue) : QueuePoller where TQueue : struct, IQueuePair
{
    private TQueue _queue = queue;

    /// <inheritdoc/>
    public override int Receive(Span<PacketBuffer> burst) => _queue.Receive(burst);

    /// <inheritdoc/>
    public override int Transmit(ReadOnlySpan<PacketBuffer> burst) => _queue.Transmit(burst);

    /// <inheritdoc/>
    public override Native.FileDescriptor? ReadinessDescriptor => _queue.ReadinessDescriptor;
}
