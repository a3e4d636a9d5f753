using Dataplane.Buffers;
using Dataplane.Native;
using Dataplane.Ports;
using static Dataplane.Drivers.Vfio.E1000e.E1000eDescriptor;

namespace Dataplane.Drivers.Vfio.E1000e;

/// <summary>
/// Transmit queue 0 of an 82574 (§7.2): each frame goes out as legacy transmit descriptors
/// (§7.2.10.1), one per non-empty buffer of its chain, pointing where the data lies in the pool
/// (IOVA == address: no copy), EOP and RS on the last. The device writes DD back into that last
/// descriptor (TXDCTL: WTHRESH 1) once it has read the frame; its buffers then go back to the
/// worker's cache, at the next burst. TDT is written once a burst. Owned by one worker.
/// </summary>
/// <remarks>
/// A frame whose transport checksum is partial (the pseudo-header sum in place, as virtio-net's
/// NEEDS_CSUM) goes out as extended data descriptors with POPTS.TXSM, after a context descriptor
/// (§7.2.10.2) giving TUCSS and TUCSO, written only when they differ from the context the queue
/// holds (the device keeps it, §7.2.10.2.1). Other frames go as legacy descriptors. No TSO: the
/// stack cuts super-frames (the port has no Tso), so a super-frame is an error here.
/// </remarks>
internal sealed class E1000eTransmitter
{
    private readonly DmaRegion _ring;
    private readonly IMmioRegion _registers;
    private readonly QueueCounters _counters;
    private readonly int[] _frames;  // by a frame's first descriptor: its head buffer, -1 when none
    private readonly int[] _last;    // by a frame's first descriptor: its EOP descriptor
    private readonly int _mask;
    private int _tail;     // the next descriptor we write (TDT)
    private int _clean;    // the first descriptor of the oldest frame on the ring
    private int _inFlight; // descriptors on the ring
    private int _context = -1; // the checksum context the device holds: TUCSS | TUCSO << 8 | TCP << 16; -1 none

    /// <summary>The transmit side over <paramref name="ring"/> (a power of two of descriptors).</summary>
    public E1000eTransmitter(DmaRegion ring, IMmioRegion registers, QueueCounters counters)
    {
        int size = ring.Length / Size;
        if (size < 8 || (size & (size - 1)) != 0)
            throw new ArgumentException("a ring of a power of two of descriptors, 8 at least", nameof(ring));
        _ring = ring;
        _registers = registers;
        _counters = counters;
        _frames = new int[size];
        Array.Fill(_frames, -1);
        _last = new int[size];
        _mask = size - 1;
    }

    /// <summary>Descriptors free now, after reclaiming what the device has sent (for tests).</summary>
    public int FreeDescriptors(BufferCache cache)
    {
        Reclaim(cache);
        return _mask - _inFlight;
    }

    /// <summary>
    /// Puts the frames of <paramref name="burst"/> on the ring, from the front, and moves TDT past
    /// them; returns how many it took. When the ring has no room for the next frame the burst stops
    /// there and the rest stay the caller's (nothing dropped or counted). A frame whose chain does
    /// not add up, or that asks for an offload the port does not have, is taken, released and
    /// counted as an error.
    /// </summary>
    public int Transmit(ReadOnlySpan<PacketBuffer> burst, BufferCache cache)
    {
        Reclaim(cache);
        BufferPool pool = cache.Pool;
        int taken = 0;
        int queued = 0;
        for (; taken < burst.Length; taken++)
        {
            PacketBuffer frame = burst[taken];
            ref BufferMetadata m = ref pool.Metadata(frame);
            int pieces = Pieces(pool, frame, m.PacketLength);
            int context = -1;
            if ((m.Offload & OffloadFlags.L4ChecksumPartial) != 0)
            {
                int start = m.ChecksumStart, at = m.ChecksumStart + m.ChecksumOffset;
                // TUCSS and TUCSO are bytes; the checksum field must lie inside the frame.
                context = at <= byte.MaxValue - 2 && at + 2 <= m.PacketLength && start >= 14
                    ? start | (at << 8) | (m.ChecksumOffset == 16 ? 1 << 16 : 0) // 16: TCP's checksum; UDP's is at 6
                    : -2;
            }
            if (pieces < 0 || m.Gso != GsoType.None || context == -2)
            {
                _counters.Errors++;
                cache.Release(frame);
                continue;
            }
            int descriptors = pieces + (context >= 0 && context != _context ? 1 : 0);
            if (_mask - _inFlight < descriptors)
                break; // the ring is full: the rest wait for the device to send what it has
            Enqueue(pool, frame, pieces, context);
            _counters.TransmittedPackets++;
            _counters.TransmittedBytes += m.PacketLength;
            queued++;
        }
        if (queued > 0)
        {
            Mmio.FullBarrier(); // the descriptors before the tail that hands them over (§7.2.3)
            _registers.Write32(E1000eRegisters.Tdt, (uint)_tail);
        }
        return taken;
    }

    private void Enqueue(BufferPool pool, PacketBuffer frame, int pieces, int context)
    {
        Span<byte> ring = _ring.Span;
        int first = _tail;
        if (context >= 0 && context != _context)
        {
            WriteContext(ring, _tail * Size, context);
            _context = context;
            _tail = (_tail + 1) & _mask;
            _inFlight++;
        }
        uint kind = context >= 0 ? TxExtended | TxDataType : 0;
        uint options = context >= 0 ? (uint)TxInsertL4Checksum << 8 : 0; // POPTS, above the status byte
        int written = 0;
        for (PacketBuffer piece = frame; piece.IsValid; piece = new PacketBuffer(pool.Metadata(piece).Next))
        {
            ref BufferMetadata p = ref pool.Metadata(piece);
            if (p.DataLength == 0)
                continue;
            written++;
            int at = _tail * Size;
            uint command = kind | TxInsertCrc | (written == pieces ? TxEndOfPacket | TxReportStatus : 0);
            Mmio.Write64(ring, at + Address, (ulong)(pool.Address(piece.Index) + p.DataOffset));
            Mmio.Write32(ring, at + TxLengthCommand, command | p.DataLength); // legacy: CSO 0, no checksum insertion
            Mmio.Write32(ring, at + TxStatus, options); // status; POPTS (extended) or CSS (legacy, 0); special
            if (written == pieces)
                _last[first] = _tail;
            _tail = (_tail + 1) & _mask;
        }
        _frames[first] = frame.Index;
        _inFlight += pieces;
    }

    /// <summary>
    /// A context descriptor (§7.2.10.2) for the TCP/UDP checksum only: no IP checksum (IPCSS..IPCSE
    /// 0), TUCSS and TUCSO from <paramref name="context"/>, TUCSE 0 (to the end of the frame), no
    /// segmentation; TUCMD.TCP for TCP. No RS: the frame's last data descriptor reports for it.
    /// </summary>
    private static void WriteContext(Span<byte> ring, int at, int context)
    {
        Mmio.Write32(ring, at, 0); // IPCSS, IPCSO, IPCSE
        Mmio.Write32(ring, at + ContextChecksumStart, (uint)(context & 0xffff)); // TUCSS, TUCSO, TUCSE 0
        Mmio.Write32(ring, at + TxLengthCommand, TxExtended | ((context & 0x10000) != 0 ? TxContextTcp : 0));
        Mmio.Write32(ring, at + ContextSegmentation, 0);
    }

    /// <summary>The chain's non-empty pieces, or -1 when its lengths do not add up to <paramref name="length"/>, it loops, or it has more pieces than the ring.</summary>
    private int Pieces(BufferPool pool, PacketBuffer frame, int length)
    {
        int pieces = 0;
        int sum = 0;
        for (PacketBuffer piece = frame; piece.IsValid; piece = new PacketBuffer(pool.Metadata(piece).Next))
        {
            int data = pool.Metadata(piece).DataLength;
            sum += data;
            if (data > 0)
                pieces++;
            if (pieces >= _mask || sum > length)
                return -1;
        }
        return sum == length && pieces > 0 ? pieces : -1;
    }

    /// <summary>Frames the device has sent (DD in their EOP descriptor), oldest first: their buffers back to <paramref name="cache"/>.</summary>
    public void Reclaim(BufferCache cache)
    {
        Span<byte> ring = _ring.Span;
        while (_inFlight > 0)
        {
            int last = _last[_clean];
            if ((Mmio.Read8(ring, last * Size + TxStatus) & TxDone) == 0)
                return;
            cache.Release(new PacketBuffer(_frames[_clean]));
            _frames[_clean] = -1;
            int next = (last + 1) & _mask;
            _inFlight -= (next - _clean) & _mask;
            _clean = next;
        }
    }

    /// <summary>Every frame still on the ring back to <paramref name="cache"/>, the ring empty, with the transmitter off. Control path.</summary>
    public void ReleaseAll(BufferCache cache)
    {
        for (int i = 0; i < _frames.Length; i++)
        {
            if (_frames[i] < 0)
                continue;
            cache.Release(new PacketBuffer(_frames[i]));
            _frames[i] = -1;
        }
        _tail = _clean = _inFlight = 0;
        _context = -1; // the device was reset: it holds no context
        _ring.Span.Clear();
    }
}
