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
    /// <typeparamref name="TFacts"/> is what the packet's driver promises of its offloads (the
    /// emitted path's <c>Facts</c>, or <see cref="UnknownDriverFacts"/> for a packet another worker
    /// handed over), to be asked through <see cref="ReceiveFacts"/>.
    /// </summary>
    /// <remarks>
    /// A generic method on a struct processor called through a struct type parameter: the call is
    /// constrained to the exact struct, so it is direct, and the method is compiled once per facts
    /// struct (see <see cref="IReceiveFacts"/>); no generic virtual dispatch happens per packet.
    /// </remarks>
    void Process<TFacts>(WorkerContext context, int port, PacketBuffer packet) where TFacts : struct, IReceiveFacts;
}
