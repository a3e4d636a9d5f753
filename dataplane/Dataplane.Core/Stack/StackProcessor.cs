using Dataplane.Buffers;
using Dataplane.Engine;

namespace Dataplane.Stack;

/// <summary>The network stack as the packet processor of a worker: every packet it owns goes up the stack.</summary>
internal readonly struct StackProcessor(StackWorker worker) : IPacketProcessor
{
    /// <summary>The worker's stack.</summary>
    public StackWorker Worker => worker;

    /// <summary>Takes <paramref name="packet"/> up the stack, compiled for its driver's receive facts.</summary>
    public void Process<TFacts>(WorkerContext context, int port, PacketBuffer packet) where TFacts : struct, IReceiveFacts
        => worker.Input<TFacts>(port, packet);

    /// <inheritdoc/>
    public void OnTimer(TimerWheel wheel, in ExpiredTimer timer) => worker.OnTimer(timer);
}
