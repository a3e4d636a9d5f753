using Dataplane.Buffers;
using Dataplane.Engine;
using Dataplane.Wire;

namespace Dataplane.Runtime;

/// <summary>Frames one worker saw on one port, by kind; written only by that worker.</summary>
internal sealed class FrameCounts
{
    /// <summary>ARP frames.</summary>
    public long Arp;

    /// <summary>IPv4 packets.</summary>
    public long Ipv4;

    /// <summary>IPv6 packets.</summary>
    public long Ipv6;

    /// <summary>Anything else, or a frame too short for Ethernet.</summary>
    public long Other;

    /// <summary>Bytes of all of them.</summary>
    public long Bytes;
}

/// <summary>
/// The processor until the network layer lands (issue 4): counts every frame by kind, per port,
/// and releases it. It proves the path from the driver to a worker and back to the pool.
/// </summary>
internal readonly struct FrameCounter(FrameCounts[] perPort) : IPacketProcessor
{
    /// <summary>The counts, by port index.</summary>
    public FrameCounts[] PerPort => perPort;

    /// <inheritdoc/>
    public void Process(WorkerContext context, int port, PacketBuffer packet)
    {
        FrameCounts counts = perPort[port];
        Span<byte> frame = context.Pool.Data(packet);
        counts.Bytes += context.Pool.Metadata(packet).PacketLength;
        if (!EthernetFrame.TryCreate(frame, out EthernetFrame eth))
            counts.Other++;
        else if (eth.EtherType == EtherType.Arp)
            counts.Arp++;
        else if (eth.EtherType == EtherType.Ipv4)
            counts.Ipv4++;
        else if (eth.EtherType == EtherType.Ipv6)
            counts.Ipv6++;
        else
            counts.Other++;
        context.Cache.Release(packet);
    }

    /// <inheritdoc/>
    public void OnTimer(TimerWheel wheel, in ExpiredTimer timer)
    {
    }
}
