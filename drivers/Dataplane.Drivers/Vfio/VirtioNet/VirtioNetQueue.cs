using Dataplane.Buffers;
using Dataplane.Native;
using Dataplane.Ports;

namespace Dataplane.Drivers.Vfio.VirtioNet;

/// <summary>
/// One queue pair of a <see cref="VirtioNetPort"/>: receive virtqueue 2i and transmit virtqueue
/// 2i + 1 (virtio 1.2 §5.1.2), their DMA memory and the receive queue's MSI-X eventfd. The port owns
/// it and sets it up again after a device reset; the worker of the queue drives it through a
/// <see cref="VirtioNetQueue"/>.
/// </summary>
internal sealed class VirtioNetChannel
{
    /// <summary>The queue's counters, written by its worker.</summary>
    public QueueCounters Counters { get; } = new();

    /// <summary>The receive side; replaced when the device is set up again.</summary>
    public VirtioNetReceiver Receiver { get; set; } = null!;

    /// <summary>The transmit side; replaced with the receive side.</summary>
    public VirtioNetTransmitter Transmitter { get; set; } = null!;

    /// <summary>The receive queue's MSI-X eventfd: readable when the device used receive buffers with the interrupt armed.</summary>
    public EventFd Interrupt { get; set; } = null!;

    /// <summary>The worker's cache, bound by <see cref="VirtioNetPort.Queue"/>: the ring is filled from it at start.</summary>
    public BufferCache? Cache { get; set; }

    /// <summary>Set by the port between Start and Stop; bursts do nothing outside.</summary>
    public volatile bool Started;
}

/// <summary>
/// The data path of one queue pair of a <see cref="VirtioNetPort"/>, for the worker that owns it.
/// A struct, so the engine's loop is compiled for it and nothing is dispatched per packet.
/// </summary>
/// <remarks>
/// Receive facts: checksum state and super-frames come from each frame's virtio-net header
/// (DATA_VALID, NEEDS_CSUM, gso_type), so both are PerFrame; so is the hash: with HASH_REPORT and
/// the engine's RSS configuration a frame whose reported hash is the engine's carries it, the rest
/// (no HASH_REPORT, one queue, a hash of another tuple) the engine hashes.
/// </remarks>
[PacketPath("virtio", Checksum = OffloadReport.PerFrame, RssHash = OffloadReport.PerFrame, Lro = OffloadReport.PerFrame)]
internal readonly struct VirtioNetQueue : IQueuePair
{
    private readonly VirtioNetChannel _channel;
    private readonly BufferCache _cache;

    internal VirtioNetQueue(VirtioNetChannel channel, BufferCache cache)
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
