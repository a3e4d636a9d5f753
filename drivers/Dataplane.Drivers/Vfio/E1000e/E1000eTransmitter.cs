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
/// holds (the device keeps it, §7.2.10.2.1). Other frames go as legacy descriptors.
/// A TCP super-frame (with TSO on) goes as a TSO context (§7.3.6: HDRLEN, MSS, PAYLEN, the IP and
/// TCP checksum offsets), then its headers from a slot of a header table in DMA memory, patched as
/// the device wants them (IPv4 total length and checksum 0, the TCP checksum the pseudo-header sum
/// without the length), then the rest of its buffers where they lie: the driver writes nothing
/// into a buffer it does not own (TCP may hold the frame for retransmission). Without TSO a
/// super-frame is an error here.
/// </remarks>
internal sealed class E1000eTransmitter
{
    /// <summary>Bytes of a header-table slot: the headers TSO repeats, 128 at most.</summary>
    public const int HeaderSlot = 128;

    private readonly DmaRegion _ring;
    private readonly DmaRegion? _headers; // slot i for the TSO frame whose context is descriptor i; null without TSO
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
    public E1000eTransmitter(DmaRegion ring, IMmioRegion registers, QueueCounters counters, DmaRegion? headers = null)
    {
        int size = ring.Length / Size;
        if (headers is not null && headers.Length < size * HeaderSlot)
            throw new ArgumentException("a header slot for every descriptor", nameof(headers));
        _headers = headers;
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
            if (m.Gso != GsoType.None && pieces > 0 && context != -2)
            {
                int header = _headers is null ? -1 : TsoHeaderLength(pool, frame, m);
                if (header > 0)
                {
                    if (_mask - _inFlight < pieces + 2)
                        break; // the ring is full
                    EnqueueTso(pool, frame, header, m);
                    _counters.TransmittedPackets++;
                    _counters.TransmittedBytes += m.PacketLength;
                    queued++;
                    continue;
                }
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
    /// The bytes TSO repeats in every segment of the super-frame at <paramref name="frame"/>:
    /// Ethernet, IPv4 (no other protocol than TCP) or IPv6 (TCP next, no extension header), TCP with
    /// its options; -1 when the frame is not such a TCP frame, its headers do not lie in its first
    /// buffer or a header slot, or its MSS or payload is out of range.
    /// </summary>
    private static int TsoHeaderLength(BufferPool pool, PacketBuffer frame, in BufferMetadata m)
    {
        ReadOnlySpan<byte> b = pool.Data(frame);
        if (b.Length < 14 + 40 + 20 || m.SegmentSize == 0)
            return -1;
        int l4;
        ushort type = (ushort)(b[12] << 8 | b[13]);
        if (m.Gso == GsoType.TcpV4 && type == 0x0800 && (b[14] >> 4) == 4 && b[14 + 9] == 6)
            l4 = 14 + (b[14] & 0xf) * 4;
        else if (m.Gso == GsoType.TcpV6 && type == 0x86dd && (b[14] >> 4) == 6 && b[14 + 6] == 6)
            l4 = 14 + 40;
        else
            return -1;
        if (l4 + 20 > b.Length)
            return -1;
        int header = l4 + (b[l4 + 12] >> 4) * 4;
        int payload = m.PacketLength - header;
        return header <= b.Length && header <= HeaderSlot && payload > 0 && payload <= 0xfffff && m.SegmentSize <= 0xffff - header ? header : -1;
    }

    /// <summary>
    /// A TSO frame: the context (§7.2.10.2 with TSE), the patched headers from the header slot of
    /// the context's descriptor, the rest of the first buffer, the other buffers; every data
    /// descriptor with TSE, TXSM, and IXSM for IPv4.
    /// </summary>
    private void EnqueueTso(BufferPool pool, PacketBuffer frame, int header, in BufferMetadata m)
    {
        Span<byte> ring = _ring.Span;
        int first = _tail;
        bool v4 = m.Gso == GsoType.TcpV4;
        int l4 = v4 ? 14 + (pool.Data(frame)[14] & 0xf) * 4 : 14 + 40;
        int payload = m.PacketLength - header;

        // The headers into our slot, patched (§7.3.6.2): the device writes each segment's lengths
        // and checksums, starting the TCP sum from the pseudo-header without a length.
        Span<byte> h = _headers!.Span.Slice(first * HeaderSlot, header);
        pool.Data(frame)[..header].CopyTo(h);
        uint pseudo;
        if (v4)
        {
            h[16] = h[17] = 0; // total length
            h[24] = h[25] = 0; // header checksum
            pseudo = Sum(h.Slice(26, 8)) + 6;
        }
        else
        {
            h[18] = h[19] = 0; // payload length
            pseudo = Sum(h.Slice(22, 32)) + 6;
        }
        while (pseudo > 0xffff)
            pseudo = (pseudo & 0xffff) + (pseudo >> 16);
        h[l4 + 16] = (byte)(pseudo >> 8);
        h[l4 + 17] = (byte)pseudo;

        int at = _tail * Size;
        Mmio.Write32(ring, at, v4 ? (uint)(14 | (14 + 10) << 8 | (l4 - 1) << 16) : 0u); // IPCSS, IPCSO, IPCSE
        Mmio.Write32(ring, at + ContextChecksumStart, (uint)(l4 | (l4 + 16) << 8)); // TUCSS, TUCSO, TUCSE 0
        Mmio.Write32(ring, at + TxLengthCommand, TxExtended | TxSegmentation | TxContextTcp | (v4 ? TxContextIpv4 : 0) | (uint)payload);
        Mmio.Write32(ring, at + ContextSegmentation, (uint)header << 8 | (uint)m.SegmentSize << 16);
        _tail = (_tail + 1) & _mask;
        _context = -1; // the checksum-only context is replaced
        int descriptors = 1;

        uint kind = TxExtended | TxDataType | TxSegmentation | TxInsertCrc;
        uint options = (uint)(TxInsertL4Checksum | (v4 ? TxInsertIpChecksum : 0)) << 8;
        // The pieces: the header slot, then every non-empty rest, EOP and RS on the last.
        int last = _tail;
        WriteData(ring, _headers.Iova + (ulong)(first * HeaderSlot), header, kind, options);
        _tail = (_tail + 1) & _mask;
        descriptors++;
        int skip = header;
        for (PacketBuffer piece = frame; piece.IsValid; piece = new PacketBuffer(pool.Metadata(piece).Next))
        {
            ref BufferMetadata p = ref pool.Metadata(piece);
            int length = p.DataLength - skip;
            ulong address = (ulong)(pool.Address(piece.Index) + p.DataOffset + skip);
            skip = 0;
            if (length <= 0)
                continue;
            WriteData(ring, address, length, kind, options);
            last = _tail;
            _tail = (_tail + 1) & _mask;
            descriptors++;
        }
        // EOP and RS on the last data descriptor.
        int lastAt = last * Size + TxLengthCommand;
        Mmio.Write32(ring, lastAt, Mmio.Read32(ring, lastAt) | TxEndOfPacket | TxReportStatus);
        _last[first] = last;
        _frames[first] = frame.Index;
        _inFlight += descriptors;
    }

    private void WriteData(Span<byte> ring, ulong address, int length, uint kind, uint options)
    {
        int at = _tail * Size;
        Mmio.Write64(ring, at + Address, address);
        Mmio.Write32(ring, at + TxLengthCommand, kind | (uint)length);
        Mmio.Write32(ring, at + TxStatus, options);
    }

    /// <summary>The one's-complement sum of big-endian 16-bit words (an even length), unfolded.</summary>
    private static uint Sum(ReadOnlySpan<byte> b)
    {
        uint sum = 0;
        for (int i = 0; i + 1 < b.Length; i += 2)
            sum += (uint)(b[i] << 8 | b[i + 1]);
        return sum;
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
