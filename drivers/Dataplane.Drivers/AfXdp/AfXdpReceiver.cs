using System.Diagnostics;
using Dataplane.Buffers;
using Dataplane.Drivers.AfPacket;
using Dataplane.Native;
using Dataplane.Ports;

namespace Dataplane.Drivers.AfXdp;

/// <summary>
/// The receive side of one queue: takes the frames the kernel put in the RX ring, copies each into
/// a chain of the worker's pool buffers with its metadata, and gives its chunk straight back on the
/// fill ring, so the fill ring stays full (<see cref="AfXdpChannel"/>: the receive chunks are
/// exactly the fill ring's entries). Owned by one worker; nothing here is shared.
/// </summary>
/// <remarks>
/// What XDP hands over is the frame as it was on the wire: no checksum state (an XDP frame has no
/// skb, and no metadata comes with a copy-mode descriptor), no flow hash, no merged segments (a
/// frame is one chunk: without XDP_USE_SG a frame longer than the chunk is dropped by the kernel,
/// counted in rx_dropped), and any VLAN tag still in it.
/// </remarks>
internal sealed class AfXdpReceiver
{
    /// <summary>Idle bursts between two reads of XDP_STATISTICS on the data path: a system call, so only when there is nothing to do.</summary>
    private const int StatisticsEveryIdleBursts = 1024;

    private readonly XdpSocket _socket;
    private readonly XdpRing _rx;
    private readonly XdpRing _fill;
    private readonly PinnedMemory _umem;
    private readonly QueueCounters _counters;
    private readonly ushort _port;
    private readonly ushort _queue;
    private XdpStatistics _folded; // the cumulative kernel counters already added to ours
    private int _idleBursts;

    /// <summary>The receive side of <paramref name="socket"/> over <paramref name="umem"/>.</summary>
    public AfXdpReceiver(XdpSocket socket, PinnedMemory umem, QueueCounters counters, ushort port, ushort queue)
    {
        _socket = socket;
        _rx = socket.Rx!;
        _fill = socket.Fill!;
        _umem = umem;
        _counters = counters;
        _port = port;
        _queue = queue;
    }

    /// <summary>Hands every receive chunk to the kernel on the fill ring. Once, when the channel is opened.</summary>
    public void FillAll()
    {
        uint n = _fill.Reserve(AfXdpChannel.RingSize, out uint index);
        Debug.Assert(n == AfXdpChannel.RingSize);
        for (uint k = 0; k < n; k++)
            _fill.Address(index + k) = k * AfXdpChannel.ChunkSize;
        _fill.Submit(n);
    }

    /// <summary>
    /// Copies up to <paramref name="burst"/>.Length frames out of the RX ring into buffers of
    /// <paramref name="cache"/>; returns how many. A frame with no buffer for it is dropped and
    /// counted; it counts against the burst too, so a flood cannot hold the worker here.
    /// </summary>
    public int Receive(Span<PacketBuffer> burst, BufferCache cache)
    {
        // No more frames than the fill ring has room to take their chunks back. Every receive
        // chunk has a fill-ring entry, but the kernel publishes how far it has read the fill ring
        // only at a flush, and after the RX producer (net/xdp/xsk.c, xsk_flush: xskq_prod_submit
        // of RX, then __xskq_cons_release of the fill ring), so a chunk can reach the RX ring
        // before its old entry reads as free. Writing past the free
        // entries would overwrite ones the kernel has not read: a chunk lost, another given twice,
        // and two frames copied into one chunk. What is left waits in the RX ring for the next burst.
        uint room = _fill.FreeCount((uint)burst.Length);
        uint available = _rx.Peek(Math.Min((uint)burst.Length, room), out uint index);
        if (available == 0)
        {
            if (++_idleBursts == StatisticsEveryIdleBursts)
            {
                _idleBursts = 0;
                FoldKernelDrops();
            }
            // A zero-copy driver that found the fill ring empty waits for a kick (copy mode never sets the flag).
            if (_fill.NeedsWakeup)
                _socket.KickReceive();
            return 0;
        }
        // Every chunk read goes back on the fill ring, into the room counted above.
        uint reserved = _fill.Reserve(available, out uint fillIndex);
        Debug.Assert(reserved == available);
        Span<byte> umem = _umem.Span;
        long now = Stopwatch.GetTimestamp(); // one clock read per burst
        int n = 0;
        for (uint k = 0; k < available; k++)
        {
            XdpDesc d = _rx.Descriptor(index + k);
            if (TryCopy(umem, d, cache, now, out PacketBuffer buffer))
                burst[n++] = buffer;
            _fill.Address(fillIndex + k) = d.Address & ~(ulong)(AfXdpChannel.ChunkSize - 1);
        }
        // Release: the frames are read before the kernel may reuse their RX slots or their chunks.
        _rx.Release(available);
        _fill.Submit(available);
        if (_fill.NeedsWakeup)
            _socket.KickReceive();
        _counters.ReceivedPackets += n;
        return n;
    }

    /// <summary>
    /// Hands every frame the RX ring holds back to the fill ring unread and takes the kernel's
    /// counters as they are: what arrived while the port was stopped is neither delivered nor counted.
    /// Control path, with the worker stopped.
    /// </summary>
    public void Discard()
    {
        while (true)
        {
            uint n = _rx.Peek(_fill.FreeCount(AfXdpChannel.RingSize), out uint index); // as in Receive: only what the fill ring has room for
            if (n == 0)
                break;
            _fill.Reserve(n, out uint fillIndex);
            for (uint k = 0; k < n; k++)
                _fill.Address(fillIndex + k) = _rx.Descriptor(index + k).Address & ~(ulong)(AfXdpChannel.ChunkSize - 1);
            _rx.Release(n);
            _fill.Submit(n);
        }
        _folded = _socket.GetStatistics();
    }

    /// <summary>The socket's XDP_STATISTICS now (cumulative since it was opened).</summary>
    public XdpStatistics Statistics() => _socket.GetStatistics();

    /// <summary>
    /// Adds what the kernel dropped since the last fold to the counters: rx_dropped (no fill-ring
    /// chunk, a frame longer than a chunk) and rx_ring_full to ReceiveDrops, descriptors it refused
    /// (rx_invalid_descs, tx_invalid_descs) to Errors. The empty-ring counts
    /// (rx_fill_ring_empty_descs, tx_ring_empty_descs) are not losses and stay in
    /// <see cref="Statistics"/>. Nothing thrown: a failed read folds nothing.
    /// </summary>
    public void FoldKernelDrops()
    {
        XdpStatistics now;
        try
        {
            now = _socket.GetStatistics();
        }
        catch (NativeException)
        {
            return; // cannot happen on a bound socket; the data path does not throw
        }
        _counters.ReceiveDrops += (long)(now.RxDropped - _folded.RxDropped + now.RxRingFull - _folded.RxRingFull);
        _counters.Errors += (long)(now.RxInvalidDescriptors - _folded.RxInvalidDescriptors + now.TxInvalidDescriptors - _folded.TxInvalidDescriptors);
        _folded = now;
    }

    /// <summary>The frame <paramref name="d"/> points at, copied into a chain of <paramref name="cache"/>'s buffers with its metadata.</summary>
    private bool TryCopy(Span<byte> umem, in XdpDesc d, BufferCache cache, long now, out PacketBuffer buffer)
    {
        buffer = PacketBuffer.None;
        int length = (int)d.Length;
        // The kernel wrote the descriptor; a frame outside the UMEM or too short for Ethernet is not
        // one we can pass on (it cannot happen, but a bounds check is cheaper than trusting it).
        if ((ulong)length + d.Address > (ulong)umem.Length || length < 14)
        {
            _counters.Errors++;
            return false;
        }
        var writer = new BufferChainWriter(cache);
        if (length > BufferPool.MaxPacketLength || !writer.TryStart() || !writer.TryWrite(umem.Slice((int)d.Address, length)))
        {
            writer.Abandon();
            _counters.ReceiveDrops++;
            return false;
        }
        writer.Finish();
        buffer = writer.Head;
        ref BufferMetadata m = ref cache.Pool.Metadata(buffer);
        m.Port = _port;
        m.Queue = _queue;
        m.Timestamp = now;
        _counters.ReceivedBytes += length;
        return true;
    }
}
