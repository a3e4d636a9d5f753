using Dataplane.Buffers;
using Dataplane.Engine;

namespace Dataplane.Stack;

/// <summary>The network stack as the packet processor of a worker: every packet it owns goes up the stack.</summary>
internal readonly struct StackProcessor(StackWorker worker) : IPacketProcessor
{
    /// <summary>The worker's stack.</summary>
    public StackWorker Worker => worker;

    /// <inheritdoc/>
    public void Process(WorkerContext context, int port, PacketBuffer packet) => worker.Input(port, packet);

    /// <inheritdoc/>
    public void OnTimer(TimerWheel wheel, in ExpiredTimer timer) => worker.OnTimer(timer);
}
