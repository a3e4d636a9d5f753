using Dataplane.Buffers;
using Dataplane.Native;
using Dataplane.Ports;

namespace Dataplane.Drivers.AfXdp;

/// <summary>
/// The data path of one queue of an <see cref="AfXdpPort"/>, for the worker that owns it: frames
/// are received into and released to that worker's <see cref="BufferCache"/>. A struct, so the
/// engine's loop is compiled for it and nothing is dispatched per packet.
/// </summary>
/// <remarks>
/// Receive facts: an XDP frame carries no checksum state, no flow hash the engine could use and no
/// merged segments (a frame is one chunk, no multi-buffer), so every fact is Never: the stack
/// verifies every checksum and hashes every frame, and its input never looks for a super-frame.
/// </remarks>
[PacketPath("afxdp", Checksum = OffloadReport.Never, RssHash = OffloadReport.Never, Lro = OffloadReport.Never)]
internal readonly struct AfXdpQueue : IQueuePair
{
    private readonly AfXdpChannel _channel;
    private readonly BufferCache _cache;

    internal AfXdpQueue(AfXdpChannel channel, BufferCache cache)
    {
        _channel = channel;
        _cache = cache;
    }

    /// <summary>The socket's descriptor: readable (EPOLLIN) when the RX ring is not empty, for the worker's sleep.</summary>
    public FileDescriptor Descriptor => _channel.Socket!.Descriptor;

    /// <inheritdoc/>
    public FileDescriptor? ReadinessDescriptor => Descriptor;

    /// <inheritdoc/>
    public int Receive(Span<PacketBuffer> burst)
    {
        if (!_channel.Started)
            return 0;
        // Sent buffers come back, and frames an earlier kick left on the TX ring go now: the worker polls here every turn.
        _channel.Transmitter!.Service(_cache);
        return _channel.Receiver!.Receive(burst, _cache);
    }

    /// <inheritdoc/>
    public int Transmit(ReadOnlySpan<PacketBuffer> burst) =>
        _channel.Started ? _channel.Transmitter!.Transmit(burst, _cache) : 0;
}
