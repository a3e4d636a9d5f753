namespace Dataplane.Engine;

/// <summary>
/// Work a worker's stack put off to its next turn (TCP: a connection that used its share of the
/// last one, <see cref="WorkerContext.Saturated"/>). Run once at the start of every turn, before
/// the queues are polled; one interface call per turn, none per packet.
/// </summary>
internal interface ITurnWork
{
    /// <summary>Whether anything waits for the next turn (the loop takes it at once rather than idling).</summary>
    bool HasDeferred { get; }

    /// <summary>Does what was put off; returns how many items it ran (the loop counts them as work, and does not sleep on them).</summary>
    int RunDeferred();
}
