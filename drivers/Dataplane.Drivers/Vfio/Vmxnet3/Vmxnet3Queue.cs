using Dataplane.Buffers;
using Dataplane.Native;
using Dataplane.Ports;

namespace Dataplane.Drivers.Vfio.Vmxnet3;

/// <summary>
/// Transmit queue i and receive queue i of a <see cref="Vmxnet3Port"/>, with the receive queue's
/// MSI-X eventfd. The port owns it and sets its rings up again after a reset; the worker of the
/// queue drives it through a <see cref="Vmxnet3Queue"/>.
/// </summary>
internal sealed class Vmxnet3Channel
{
    /// <summary>The queue's counters, written by its worker.</summary>
    public QueueCounters Counters { get; } = new();

    /// <summary>The receive queue's super-frames and its drops by name, written by its worker.</summary>
    public Vmxnet3ReceiveCounters Received { get; } = new();

    /// <summary>The receive side; replaced when the device is activated again.</summary>
    public Vmxnet3Receiver Receiver { get; set; } = null!;

    /// <summary>The transmit side; replaced with the receive side.</summary>
    public Vmxnet3Transmitter Transmitter { get; set; } = null!;

    /// <summary>The receive queue's MSI-X eventfd: readable when the device completed a frame with the vector unmasked.</summary>
    public EventFd Interrupt { get; set; } = null!;

    /// <summary>The worker's cache, bound by <see cref="Vmxnet3Port.Queue"/>.</summary>
    public BufferCache? Cache { get; set; }

    /// <summary>Set by the port between Start and Stop; bursts do nothing outside.</summary>
    public volatile bool Started;
}

/// <summary>
/// What one vmxnet3 receive queue took as super-frames and dropped, by what was wrong: each drop is
/// also one of the queue's <see cref="QueueCounters.Errors"/>, but a frame the device had no more
/// buffers for, which is one of its <see cref="QueueCounters.ReceiveDrops"/>. Written by the queue's worker.
/// </summary>
internal sealed class Vmxnet3ReceiveCounters
{
    /// <summary>Frames longer than the MTU marked TCP super-frames (LRO), with the segment size of MTU less headers.</summary>
    public long SuperFrames;

    /// <summary>Completions naming a ring or slot the driver did not fill.</summary>
    public long UnknownBuffer;

    /// <summary>Pieces without a head: a body buffer's completion with no frame begun, or a sop on ring 2.</summary>
    public long BodyWithoutHead;

    /// <summary>Frames whose eop never came: a sop arrived first.</summary>
    public long MissingEop;

    /// <summary>Frames of more buffers than misc.maxNumRxSG lets one have.</summary>
    public long TooManyBuffers;

    /// <summary>
    /// Frames that ended early: err on the eop, a piece longer than its buffer, or less than an
    /// Ethernet header. Err with fewer than maxNumRxSG buffers is the device out of buffers (QEMU's
    /// VMXNET3_PKT_STATUS_OUT_OF_BUF): counted as a receive drop, not an error.
    /// </summary>
    public long Truncated;
}

/// <summary>
/// The data path of one queue pair of a <see cref="Vmxnet3Port"/>, for the worker that owns it: a
/// struct, so the engine's loop is compiled for it and nothing is dispatched per packet.
/// </summary>
/// <remarks>
/// Receive facts: the checksum state comes from each frame's completion (cnc, ipc, tuc), so
/// PerFrame; so does the hash (rssType, rssHash), taken where it is the engine's (QEMU 7.2's model
/// has no RSS and reports none: the engine hashes those frames); so is LRO: with UPT1_F_LRO a frame
/// longer than the MTU comes marked a TCP super-frame, the others are not.
/// </remarks>
[PacketPath("vmxnet3", Checksum = OffloadReport.PerFrame, RssHash = OffloadReport.PerFrame, Lro = OffloadReport.PerFrame)]
internal readonly struct Vmxnet3Queue : IQueuePair
{
    private readonly Vmxnet3Channel _channel;
    private readonly BufferCache _cache;

    internal Vmxnet3Queue(Vmxnet3Channel channel, BufferCache cache)
    {
        _channel = channel;
        _cache = cache;
    }

    /// <summary>The receive queue's MSI-X eventfd, for the worker's sleep: the vector is unmasked by a receive that finds nothing.</summary>
    public FileDescriptor? ReadinessDescriptor => _channel.Interrupt.Descriptor;

    /// <inheritdoc/>
    public int Receive(Span<PacketBuffer> burst)
    {
        if (!_channel.Started)
            return 0;
        // Completed frames go back to the cache here too, so a worker that stopped sending frees them.
        _channel.Transmitter.Reclaim(_cache);
        return _channel.Receiver.Receive(burst, _cache);
    }

    /// <inheritdoc/>
    public int Transmit(ReadOnlySpan<PacketBuffer> burst) =>
        _channel.Started ? _channel.Transmitter.Transmit(burst, _cache) : 0;
}
