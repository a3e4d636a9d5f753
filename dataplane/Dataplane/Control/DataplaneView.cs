using Dataplane.Buffers;
using Dataplane.Engine;
using Dataplane.Ports;
using Dataplane.Stack;

namespace Dataplane.Control;

/// <summary>One worker as the control socket sees it: its number, its CPU, its counters and its buffer cache.</summary>
internal sealed record WorkerView(int Index, int Cpu, WorkerCounters Counters, BufferCache Cache);

/// <summary>
/// What a running dataplane shows over its control socket: the ports, the workers, the network
/// stack they run (interfaces, routes, neighbour caches) and the stack's counters of each worker.
/// </summary>
/// <remarks>
/// Every counter here is a plain <c>long</c> field written by the one worker that owns it, without
/// locks or barriers, so the fast path pays nothing for being watched. The control thread reads
/// them from another thread: an aligned 64-bit read on x64 and arm64 is never torn, so each value is
/// one the worker really wrote, only perhaps a little stale, and two counters read one after the
/// other need not be from the same instant. That is what monitoring needs, as it is for DPDK's
/// rte_eth_stats_get.
/// </remarks>
internal sealed class DataplaneView(IReadOnlyList<IPort> ports, IReadOnlyList<WorkerView> workers, NetworkStack stack, IReadOnlyList<StackCounters> counters)
{
    /// <summary>The ports, in config order.</summary>
    public IReadOnlyList<IPort> Ports => ports;

    /// <summary>The workers, by index.</summary>
    public IReadOnlyList<WorkerView> Workers => workers;

    /// <summary>The network stack.</summary>
    public NetworkStack Stack => stack;

    /// <summary>The control thread's watch over the ports' links and devices; null where none runs (tests).</summary>
    public PortWatch? Watch { get; init; }

    /// <summary>Counter <paramref name="counter"/> of <paramref name="group"/> summed over the workers.</summary>
    public long Sum(CounterGroup group, int counter)
    {
        long sum = 0;
        foreach (StackCounters c in counters)
            sum += c.Of(group)[counter];
        return sum;
    }

    /// <summary>The names of the capabilities of <paramref name="port"/>, as ifconfig and stats print them.</summary>
    public static IEnumerable<string> CapabilityNames(PortCapabilities capabilities)
    {
        if ((capabilities & PortCapabilities.ReceiveChecksum) != 0)
            yield return "rxcsum";
        if ((capabilities & PortCapabilities.TransmitChecksum) != 0)
            yield return "txcsum";
        if ((capabilities & PortCapabilities.Tso) != 0)
            yield return "tso";
        if ((capabilities & PortCapabilities.Lro) != 0)
            yield return "lro";
        if ((capabilities & PortCapabilities.RssHash) != 0)
            yield return "rsshash";
        if ((capabilities & PortCapabilities.MultiQueue) != 0)
            yield return "multiqueue";
    }
}
