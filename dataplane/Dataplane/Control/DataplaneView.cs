using Dataplane.Buffers;
using Dataplane.Engine;
using Dataplane.Ports;
using Dataplane.Runtime;

namespace Dataplane.Control;

/// <summary>One worker as the control socket sees it: its number, its CPU, its counters and its buffer cache.</summary>
internal sealed record WorkerView(int Index, int Cpu, WorkerCounters Counters, BufferCache Cache);

/// <summary>
/// What a running dataplane shows over its control socket: the ports, the workers and the frame
/// counts of <see cref="FrameCounter"/>.
/// </summary>
/// <remarks>
/// Every counter here is a plain <c>long</c> field written by the one worker that owns it, without
/// locks or barriers, so the fast path pays nothing for being watched. The control thread reads
/// them from another thread: an aligned 64-bit read on x64 and arm64 is never torn, so each value is
/// one the worker really wrote, only perhaps a little stale, and two counters read one after the
/// other need not be from the same instant. That is what monitoring needs, as it is for DPDK's
/// rte_eth_stats_get.
/// </remarks>
internal sealed class DataplaneView(IReadOnlyList<IPort> ports, IReadOnlyList<WorkerView> workers, FrameCounts[][] frames)
{
    /// <summary>The ports, in config order.</summary>
    public IReadOnlyList<IPort> Ports => ports;

    /// <summary>The workers, by index.</summary>
    public IReadOnlyList<WorkerView> Workers => workers;

    /// <summary>The frames of port <paramref name="port"/> summed over the workers.</summary>
    public FrameCounts Frames(int port)
    {
        var sum = new FrameCounts();
        foreach (FrameCounts[] worker in frames)
        {
            // A worker fills its row as it is built; until then there is nothing to add.
            if (worker is null || (uint)port >= (uint)worker.Length || worker[port] is not { } c)
                continue;
            sum.Arp += c.Arp;
            sum.Ipv4 += c.Ipv4;
            sum.Ipv6 += c.Ipv6;
            sum.Other += c.Other;
            sum.Bytes += c.Bytes;
        }
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
