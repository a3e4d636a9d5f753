using System.Diagnostics;
using Dataplane.Buffers;
using Dataplane.Native;
using Dataplane.Ports;

namespace Dataplane.Drivers.AfXdp;

/// <summary>
/// The receive side of one queue: the fill ring holds pool buffers for the kernel to receive into
/// (<see cref="AfXdpUmem"/>: the pool is the UMEM); each frame the kernel puts on the RX ring is
/// passed up in the buffer it landed in, with its metadata, and the fill ring is topped up from the
/// worker's cache. No copy. Owned by one worker; nothing here is shared.
/// </summary>
/// <remarks>
/// What XDP hands over is the frame as it was on the wire: no checksum state (an XDP frame has no
/// skb, and no metadata comes with a copy-mode descriptor), no flow hash, no merged segments (a
/// frame is one chunk: without XDP_USE_SG a frame longer than the chunk is dropped by the kernel,
/// counted in rx_dropped), and any VLAN tag still in it. A buffer held up the stack is simply not
/// on the fill ring until the cache gives another: the fill ring is kept at
/// <see cref="FillTarget"/> buffers, from whatever the worker's cache has.
/// </remarks>
internal sealed class AfXdpReceiver
{
    /// <summary>Idle bursts between two reads of XDP_STATISTICS on the data path: a system call, so only when there is nothing to do.</summary>
    private const int StatisticsEveryIdleBursts = 1024;

    /// <summary>Buffers taken from the cache at a time to top up the fill ring.</summary>
    private const int RefillBatch = 64;

    private readonly XdpSocket _socket;
    private readonly XdpRing _rx;
    private readonly XdpRing _fill;
    private readonly AfXdpUmem _umem;
    private readonly QueueCounters _counters;
    private readonly ushort _port;
    private readonly ushort _queue;
    private readonly PacketBuffer[] _refill = new PacketBuffer[RefillBatch];
    private XdpStatistics _folded; // the cumulative kernel counters already added to ours
    private int _idleBursts;
    private int _lent; // buffers on the fill ring or in the kernel's hands for receiving

    /// <summary>The receive side of <paramref name="socket"/> over <paramref name="umem"/>.</summary>
    public AfXdpReceiver(XdpSocket socket, AfXdpUmem umem, QueueCounters counters, ushort port, ushort queue)
    {
        _socket = socket;
        _rx = socket.Rx!;
        _fill = socket.Fill!;
        _umem = umem;
        _counters = counters;
        _port = port;
        _queue = queue;
    }

    /// <summary>
    /// How many buffers the fill ring is kept at: the ring's size, or less, so that the fill rings
    /// on the pool together hold at most a quarter of it, and the stack keeps the rest to build
    /// frames in and to hold what it has not sent yet. Read at every top-up: a queue bound later
    /// shrinks the others' share.
    /// </summary>
    public int FillTarget => (int)Math.Min(AfXdpChannel.RingSize, (uint)Math.Max(1, _umem.Pool.Count / 4 / Math.Max(1, _umem.Pool.FillRings)));

    /// <summary>Buffers lent to the kernel for receiving now.</summary>
    public int Lent => _lent;

    /// <summary>
    /// Takes up to <paramref name="burst"/>.Length frames off the RX ring, each in its own buffer;
    /// returns how many. Then tops the fill ring up from <paramref name="cache"/>: when the cache is
    /// empty the fill ring runs short, and the kernel drops what it has no buffer for (rx_dropped,
    /// folded into ReceiveDrops).
    /// </summary>
    public int Receive(Span<PacketBuffer> burst, BufferCache cache)
    {
        uint available = _rx.Peek((uint)burst.Length, out uint index);
        if (available == 0)
        {
            if (++_idleBursts == StatisticsEveryIdleBursts)
            {
                _idleBursts = 0;
                FoldKernelDrops();
            }
            if (_lent < FillTarget)
                Refill(cache); // and kicks, if the kernel asks for it
            else if (_fill.NeedsWakeup)
                _socket.KickReceive(); // a zero-copy driver that found the fill ring empty waits for a kick (copy mode never sets the flag)
            return 0;
        }
        BufferPool pool = cache.Pool;
        long now = Stopwatch.GetTimestamp(); // one clock read per burst
        int n = 0;
        long bytes = 0;
        for (uint k = 0; k < available; k++)
        {
            XdpDesc d = _rx.Descriptor(index + k);
            ulong start = d.Address & AfXdpUmem.AddressMask;
            ulong offset = start + (d.Address >> AfXdpUmem.OffsetShift);
            // The kernel wrote the descriptor: a frame outside the pool, not where a buffer's data
            // can start, or too short for Ethernet, is not one to pass on (it cannot happen).
            if (!_umem.TryLocate(offset, out PacketBuffer buffer, out int within)
                || (ulong)buffer.Index * _umem.ChunkSize != start
                || d.Length < 14 || within + d.Length > _umem.ChunkSize)
            {
                _counters.Errors++;
                if (_umem.TryLocate(start, out PacketBuffer chunk, out int at) && at == 0)
                {
                    _umem.Return(chunk); // back to the pool, and the fill ring is topped up below
                    cache.Release(chunk);
                }
                continue;
            }
            _umem.Return(buffer);
            ref BufferMetadata m = ref pool.Metadata(buffer);
            m.DataOffset = (ushort)within;
            m.DataLength = (ushort)d.Length;
            m.PacketLength = (int)d.Length;
            m.Port = _port;
            m.Queue = _queue;
            m.Timestamp = now;
            bytes += d.Length;
            burst[n++] = buffer;
        }
        // Release: the descriptors are read before the kernel may reuse their RX slots.
        _rx.Release(available);
        _lent -= (int)available;
        _counters.ReceivedPackets += n;
        _counters.ReceivedBytes += bytes;
        Refill(cache);
        return n;
    }

    /// <summary>
    /// Tops the fill ring up to <see cref="FillTarget"/> from <paramref name="cache"/>, as far as the
    /// cache and the ring's room allow, and kicks a zero-copy driver that waits for it.
    /// </summary>
    public void Refill(BufferCache cache)
    {
        while (_lent < FillTarget)
        {
            // Only what the fill ring has room for: the kernel publishes how far it has read the
            // fill ring only at a flush, after the RX producer (net/xdp/xsk.c, xsk_flush), so a
            // buffer can come back on the RX ring before its fill-ring entry reads as free.
            uint room = _fill.FreeCount((uint)Math.Min(RefillBatch, FillTarget - _lent));
            int wanted = (int)Math.Min(room, (uint)Math.Min(RefillBatch, FillTarget - _lent));
            if (wanted == 0)
                return;
            int got = cache.Allocate(_refill.AsSpan(0, wanted));
            if (got == 0)
                return; // the pool is empty: the next burst tries again
            _fill.Reserve((uint)got, out uint fillIndex);
            for (int k = 0; k < got; k++)
            {
                _fill.Address(fillIndex + (uint)k) = _umem.ChunkOf(_refill[k]);
                _umem.Lend(_refill[k]);
            }
            // Release: the addresses are written before the kernel sees the producer index.
            _fill.Submit((uint)got);
            _lent += got;
            if (got < wanted)
                break;
        }
        if (_fill.NeedsWakeup)
            _socket.KickReceive();
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
            uint n = _rx.Peek(_fill.FreeCount(AfXdpChannel.RingSize), out uint index); // only what the fill ring has room for
            if (n == 0)
                break;
            _fill.Reserve(n, out uint fillIndex);
            for (uint k = 0; k < n; k++)
                _fill.Address(fillIndex + k) = _rx.Descriptor(index + k).Address & AfXdpUmem.AddressMask; // the chunk's start
            _rx.Release(n);
            _fill.Submit(n);
        }
        _folded = _socket.GetStatistics();
    }

    /// <summary>The socket's XDP_STATISTICS now (cumulative since it was opened).</summary>
    public XdpStatistics Statistics() => _socket.GetStatistics();

    /// <summary>
    /// Adds what the kernel dropped since the last fold to the counters: rx_dropped (no fill-ring
    /// buffer, a frame longer than a chunk) and rx_ring_full to ReceiveDrops, descriptors it refused
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
}
