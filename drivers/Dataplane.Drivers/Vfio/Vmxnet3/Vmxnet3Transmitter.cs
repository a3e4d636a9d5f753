using Dataplane.Buffers;
using Dataplane.Native;
using Dataplane.Ports;

namespace Dataplane.Drivers.Vfio.Vmxnet3;

/// <summary>
/// One vmxnet3 transmit queue: its command ring of <c>Vmxnet3_TxDesc</c> and its completion ring of
/// <c>Vmxnet3_TxCompDesc</c>. A frame goes out as one descriptor per non-empty buffer of its chain,
/// each pointing where the buffer lies in the pool (IOVA == address, no copy); the offload fields
/// (om, hlen, msscof) sit in the first, eop and cq in the last. The device owns a descriptor whose
/// gen equals the ring's generation, so the first descriptor's gen is written last, after a fence,
/// and the whole chain is handed over at once (as the Linux driver's vmxnet3_tq_xmit does). One
/// completion per frame names its eop descriptor (txdIdx); the buffers go back to the worker's
/// cache then. The doorbell (TXPROD) is written once a burst. Owned by one worker.
/// </summary>
internal sealed class Vmxnet3Transmitter
{
    private readonly DmaRegion _ring;       // Vmxnet3_TxDesc[Size]
    private readonly DmaRegion _completion; // Vmxnet3_TxCompDesc[Size]
    private readonly IMmioRegion _doorbells;
    private readonly int _doorbell;         // VMXNET3_REG_TXPROD + 8 q in BAR 0
    private readonly QueueCounters _counters;
    private readonly bool _tso;
    private readonly int[] _frames;         // by eop descriptor: the frame's head buffer, -1 when none
    private readonly ushort[] _count;       // by eop descriptor: the frame's descriptors
    private int _fill;                      // next2fill
    private uint _gen = Vmxnet3Layout.InitGen;
    private int _free;
    private int _completionNext;
    private uint _completionGen = Vmxnet3Layout.InitGen;

    /// <summary>The transmit side over <paramref name="ring"/> and <paramref name="completion"/>, both of <paramref name="size"/> entries, cleared here.</summary>
    public Vmxnet3Transmitter(DmaRegion ring, DmaRegion completion, int size, IMmioRegion doorbells, int queue, QueueCounters counters, bool tso)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(ring.Length, size * Vmxnet3Layout.DescriptorLength);
        ArgumentOutOfRangeException.ThrowIfLessThan(completion.Length, size * Vmxnet3Layout.DescriptorLength);
        Size = size;
        _ring = ring;
        _completion = completion;
        _doorbells = doorbells;
        _doorbell = Vmxnet3Layout.TxProd + queue * Vmxnet3Layout.RegisterStride;
        _counters = counters;
        _tso = tso;
        _frames = new int[size];
        Array.Fill(_frames, -1);
        _count = new ushort[size];
        _free = size - 1; // one slot always empty, as vmxnet3_cmd_ring_desc_avail keeps it
        ring.Span.Clear();
        completion.Span.Clear();
    }

    /// <summary>Entries of the command ring (and of the completion ring).</summary>
    public int Size { get; }

    /// <summary>Descriptors free now, after reclaiming what the device has completed (for tests).</summary>
    public int FreeDescriptors(BufferCache cache)
    {
        Reclaim(cache);
        return _free;
    }

    /// <summary>
    /// Puts the frames of <paramref name="burst"/> on the ring, from the front, and rings the
    /// doorbell once; returns how many it took. When the ring has no room for the next frame the
    /// burst stops there and the rest stay the caller's. A frame whose chain does not add up or
    /// whose offload the device cannot do is taken, released and counted as an error.
    /// </summary>
    public int Transmit(ReadOnlySpan<PacketBuffer> burst, BufferCache cache)
    {
        Reclaim(cache);
        BufferPool pool = cache.Pool;
        int taken = 0, queued = 0;
        for (; taken < burst.Length; taken++)
        {
            PacketBuffer frame = burst[taken];
            ref BufferMetadata m = ref pool.Metadata(frame);
            int pieces = Pieces(pool, frame, m.PacketLength, m.Gso != GsoType.None);
            if (pieces < 0 || !TryOffload(m, pool.Data(frame), out uint om, out uint hlen, out uint msscof))
            {
                _counters.Errors++;
                cache.Release(frame);
                continue;
            }
            if (_free < pieces)
                break; // full: the rest wait for completions
            Enqueue(pool, frame, pieces, om, hlen, msscof);
            _counters.TransmittedPackets++;
            _counters.TransmittedBytes += m.PacketLength;
            queued++;
        }
        if (queued > 0)
            _doorbells.Write32(_doorbell, (uint)_fill); // VMXNET3_REG_TXPROD: the device reads up to next2fill
        return taken;
    }

    /// <summary>
    /// The offload fields of the first descriptor: VMXNET3_OM_TSO with hlen = every header and
    /// msscof = the MSS, VMXNET3_OM_CSUM with hlen = the checksum start and msscof = where the sum
    /// goes (both from the frame start, as vmxnet3_parse_hdr), or none; false when the device cannot.
    /// </summary>
    private bool TryOffload(in BufferMetadata m, ReadOnlySpan<byte> head, out uint om, out uint hlen, out uint msscof)
    {
        om = 0;
        hlen = 0;
        msscof = 0;
        bool partial = (m.Offload & OffloadFlags.L4ChecksumPartial) != 0;
        if (m.Gso != GsoType.None)
        {
            if (!_tso || m.Gso == GsoType.Udp || !partial || m.SegmentSize == 0)
                return false;
            // RFC 9293 3.1: the TCP data offset, in words, in the high nibble of byte 12.
            int at = m.ChecksumStart + 12;
            if ((uint)at >= (uint)head.Length)
                return false;
            int headers = m.ChecksumStart + (head[at] >> 4) * 4;
            if (headers > Vmxnet3Layout.TxHlenMask || m.SegmentSize > 0x3fff)
                return false;
            om = Vmxnet3Layout.OmTso;
            hlen = (uint)headers;
            msscof = m.SegmentSize;
            return true;
        }
        if (!partial)
            return true;
        int end = m.ChecksumStart + m.ChecksumOffset;
        if (m.ChecksumStart > Vmxnet3Layout.MaxChecksumOffset || end + sizeof(ushort) > m.PacketLength)
            return false;
        om = Vmxnet3Layout.OmChecksum;
        hlen = m.ChecksumStart;
        msscof = (uint)end;
        return true;
    }

    /// <summary>
    /// The frame's descriptors from next2fill: each with the ring's gen but the first, whose dword 2
    /// is written last with it, after a fence, so the device sees the chain whole or not at all.
    /// </summary>
    private void Enqueue(BufferPool pool, PacketBuffer frame, int pieces, uint om, uint hlen, uint msscof)
    {
        Span<byte> ring = _ring.Span;
        int sop = _fill;
        uint sopGen = _gen;
        uint sopDword2 = 0;
        int k = 0;
        int eop = sop;
        for (PacketBuffer piece = frame; piece.IsValid; piece = new PacketBuffer(pool.Metadata(piece).Next))
        {
            ref BufferMetadata p = ref pool.Metadata(piece);
            if (p.DataLength == 0)
                continue;
            int at = _fill * Vmxnet3Layout.DescriptorLength;
            uint length = (uint)p.DataLength & Vmxnet3Layout.TxLengthMask; // len:14; 16384 would be 0
            uint dword3 = k == 0 ? (hlen & Vmxnet3Layout.TxHlenMask) | (om << Vmxnet3Layout.TxOmShift) : 0;
            if (k == pieces - 1)
                dword3 |= Vmxnet3Layout.TxEop | Vmxnet3Layout.TxCq;
            uint dword2 = length | (k == 0 ? msscof << Vmxnet3Layout.TxMsscofShift : 0);
            Mmio.Write64(ring, at, (ulong)(pool.Address(piece.Index) + p.DataOffset)); // addr
            Mmio.Write32(ring, at + 12, dword3);
            if (k == 0)
            {
                sopDword2 = dword2 | (sopGen << Vmxnet3Layout.TxGenShift);
                Mmio.Write32(ring, at + 8, dword2 | ((sopGen ^ 1) << Vmxnet3Layout.TxGenShift)); // not the device's yet
            }
            else
            {
                Mmio.Write32(ring, at + 8, dword2 | (_gen << Vmxnet3Layout.TxGenShift));
            }
            eop = _fill;
            Advance();
            k++;
        }
        _frames[eop] = frame.Index;
        _count[eop] = (ushort)pieces;
        _free -= pieces;
        Mmio.FullBarrier(); // every other descriptor before the first one's gen
        Mmio.Write32(ring, sop * Vmxnet3Layout.DescriptorLength + 8, sopDword2);
    }

    private void Advance()
    {
        if (++_fill == Size)
        {
            _fill = 0;
            _gen ^= 1; // VMXNET3_FLIP_RING_GEN
        }
    }

    /// <summary>The chain's non-empty pieces, or -1 when they do not add up to <paramref name="length"/>, one is too long, or there are too many.</summary>
    private int Pieces(BufferPool pool, PacketBuffer frame, int length, bool tso)
    {
        // VMXNET3_MAX_TXD_PER_PKT bounds a frame that is not TSO. A super-segment of 64 KiB in pool
        // buffers of 2 KiB takes ~33 descriptors, past the Linux driver's own 24 (its skb frags are
        // larger): as DPDK's vmxnet3 PMD, a TSO frame is bounded by the ring only (QEMU's model
        // takes as many fragments as its transmit rings hold).
        int most = tso ? Size - 1 : Vmxnet3Layout.MaxTxDescriptorsPerFrame;
        int pieces = 0, sum = 0;
        for (PacketBuffer piece = frame; piece.IsValid; piece = new PacketBuffer(pool.Metadata(piece).Next))
        {
            int data = pool.Metadata(piece).DataLength;
            sum += data;
            if (data > 0)
                pieces++;
            if (data >= Vmxnet3Layout.MaxTxBuffer || pieces > most || pieces >= Size || sum > length)
                return -1;
        }
        return sum == length && pieces > 0 ? pieces : -1;
    }

    /// <summary>Frames the device has completed: their buffers back to <paramref name="cache"/>, their descriptors free.</summary>
    public void Reclaim(BufferCache cache)
    {
        Span<byte> completion = _completion.Span;
        while (true)
        {
            int at = _completionNext * Vmxnet3Layout.DescriptorLength;
            uint dword3 = Mmio.Read32(completion, at + 12);
            if (dword3 >> Vmxnet3Layout.CompGenShift != _completionGen)
                return; // not written yet: the device's gen differs from ours
            uint eop = Mmio.Read32(completion, at) & Vmxnet3Layout.TxCompIndexMask; // txdIdx
            if (++_completionNext == Size)
            {
                _completionNext = 0;
                _completionGen ^= 1;
            }
            if (eop >= (uint)Size || _frames[eop] < 0)
            {
                _counters.Errors++;
                continue;
            }
            cache.Release(new PacketBuffer(_frames[eop]));
            _frames[eop] = -1;
            _free += _count[eop];
        }
    }

    /// <summary>Every frame still on the ring back to <paramref name="cache"/>, with the device quiesced. Control path.</summary>
    public void ReleaseAll(BufferCache cache)
    {
        for (int i = 0; i < _frames.Length; i++)
        {
            if (_frames[i] < 0)
                continue;
            cache.Release(new PacketBuffer(_frames[i]));
            _frames[i] = -1;
            _free += _count[i];
        }
    }
}
