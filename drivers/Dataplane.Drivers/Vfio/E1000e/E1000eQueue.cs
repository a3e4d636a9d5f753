using Dataplane.Buffers;
using Dataplane.Native;
using Dataplane.Ports;

namespace Dataplane.Drivers.Vfio.E1000e;

/// <summary>
/// The queue pair of an <see cref="E1000ePort"/>: receive and transmit queue 0, their rings and the
/// receive queue's MSI-X eventfd. The port owns it; the worker of the queue drives it through an
/// <see cref="E1000eQueue"/>.
/// </summary>
internal sealed class E1000eChannel
{
    /// <summary>The queue's counters, written by its worker.</summary>
    public QueueCounters Counters { get; } = new();

    /// <summary>The receive side.</summary>
    public E1000eReceiver Receiver { get; set; } = null!;

    /// <summary>The transmit side.</summary>
    public E1000eTransmitter Transmitter { get; set; } = null!;

    /// <summary>The receive queue's MSI-X eventfd: readable when the device wrote a frame back with the interrupt armed.</summary>
    public EventFd Interrupt { get; set; } = null!;

    /// <summary>The worker's cache, bound by <see cref="E1000ePort.Queue"/>: the ring is filled from it at start.</summary>
    public BufferCache? Cache { get; set; }

    /// <summary>Set by the port between Start and Stop; bursts do nothing outside.</summary>
    public volatile bool Started;
}

/// <summary>
/// The data path of the queue pair of an <see cref="E1000ePort"/>, for the worker that owns it. A
/// struct, so the engine's loop is compiled for it and nothing is dispatched per packet.
/// </summary>
/// <remarks>
/// Receive facts: the checksum state comes from each descriptor's status and errors (IPCS, TCPCS,
/// UDPCS, IXSM; a frame the device did not check, IPv6's header, ARP, has none), so PerFrame; no
/// hash (the legacy descriptor carries the packet checksum where RSS would put it) and no
/// super-frames (no LRO in the 82574).
/// </remarks>
[PacketPath("e1000e", Checksum = OffloadReport.PerFrame, RssHash = OffloadReport.Never, Lro = OffloadReport.Never)]
internal readonly struct E1000eQueue : IQueuePair
{
    private readonly E1000eChannel _channel;
    private readonly BufferCache _cache;

    internal E1000eQueue(E1000eChannel channel, BufferCache cache)
    {
        _channel = channel;
        _cache = cache;
    }

    /// <summary>The receive queue's MSI-X eventfd, for the worker's sleep: armed by a receive that finds nothing.</summary>
    public FileDescriptor? ReadinessDescriptor => _channel.Interrupt.Descriptor;

    /// <inheritdoc/>
    public int Receive(Span<PacketBuffer> burst)
    {
        if (!_channel.Started)
            return 0;
        // Sent frames go back to the cache here too, so a worker that stopped sending frees them.
        _channel.Transmitter.Reclaim(_cache);
        return _channel.Receiver.Receive(burst, _cache);
    }

    /// <inheritdoc/>
    public int Transmit(ReadOnlySpan<PacketBuffer> burst) =>
        _channel.Started ? _channel.Transmitter.Transmit(burst, _cache) : 0;
}
