using Dataplane.Buffers;

namespace Dataplane.Engine;

/// <summary>
/// What a worker does with each packet it owns, to completion: the stack's entry point. A struct,
/// so that the worker's loop is compiled for it and the call is direct and can be inlined. It is
/// also the sink of the worker's timer wheel: it owns the timer kinds it schedules.
/// </summary>
internal interface IPacketProcessor : ITimerSink
{
    /// <summary>
    /// Handles <paramref name="packet"/>, received on <paramref name="port"/>: sends it on with
    /// <see cref="WorkerContext.Transmit"/>, keeps it, or releases it (counting the drop by name).
    /// </summary>
    void Process(WorkerContext context, int port, PacketBuffer packet);
}
