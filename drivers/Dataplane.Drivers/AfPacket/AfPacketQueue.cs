using Dataplane.Buffers;
using Dataplane.Native;
using Dataplane.Ports;

namespace Dataplane.Drivers.AfPacket;

/// <summary>
/// The data path of one queue of an <see cref="AfPacketPort"/>, for the worker that owns it: frames
/// are received into and released to that worker's <see cref="BufferCache"/>. A struct, so the
/// engine's loop is compiled for it and nothing is dispatched per packet.
/// </summary>
/// <remarks>
/// Receive facts: checksum state and merged frames come from each frame's virtio-net header (per
/// frame). The kernel's flow hash is not the symmetric Toeplitz hash the engine places flows by
/// (and a TPACKET_V2 slot has none), so the engine hashes every frame.
/// </remarks>
[PacketPath("afpacket", Checksum = OffloadReport.PerFrame, RssHash = OffloadReport.Never, Lro = OffloadReport.PerFrame)]
internal readonly struct AfPacketQueue : IQueuePair
{
    private readonly AfPacketChannel _channel;
    private readonly BufferCache _cache;

    internal AfPacketQueue(AfPacketChannel channel, BufferCache cache)
    {
        _channel = channel;
        _cache = cache;
    }

    /// <summary>The socket's descriptor: readable (EPOLLIN) when a receive slot is ours, for the worker's sleep.</summary>
    public FileDescriptor Descriptor => _channel.Socket.Descriptor;

    /// <inheritdoc/>
    public FileDescriptor? ReadinessDescriptor => Descriptor;

    /// <inheritdoc/>
    public int Receive(Span<PacketBuffer> burst) =>
        _channel.Started ? _channel.Receiver.Receive(burst, _cache) : 0;

    /// <inheritdoc/>
    public int Transmit(ReadOnlySpan<PacketBuffer> burst) =>
        _channel.Started ? _channel.Transmitter.Transmit(burst, _cache) : 0;
}
