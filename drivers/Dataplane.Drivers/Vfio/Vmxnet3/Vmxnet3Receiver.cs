using System.Diagnostics;
using Dataplane.Buffers;
using Dataplane.Native;
using Dataplane.Ports;
using Dataplane.Wire;

namespace Dataplane.Drivers.Vfio.Vmxnet3;

/// <summary>
/// One vmxnet3 receive queue: rx ring 1 of <c>Vmxnet3_RxDesc</c> holding head buffers (btype
/// VMXNET3_RXD_BTYPE_HEAD) from the pool, each at the buffer's headroom (IOVA == address, no copy);
/// rx ring 2 holding body buffers (VMXNET3_RXD_BTYPE_BODY) with LRO, else left empty (one buffer a
/// frame); and the completion ring of <c>Vmxnet3_RxCompDesc</c>. A completion whose gen equals ours
/// is the device's word that descriptor rxdIdx of ring rqID (q: ring 1, q + numRxQueues: ring 2)
/// holds len bytes; sop to eop make one frame, a chain of its buffers, whose checksum facts (cnc,
/// ipc, tuc) go into its metadata, and which is marked a TCP super-frame when LRO made it longer
/// than the MTU. The rings are refilled from the worker's cache after every burst. Owned by one worker.
/// </summary>
internal sealed class Vmxnet3Receiver
{
    /// <summary>Idle polls with the vector unmasked between two drains of its eventfd (as the virtio-net receiver).</summary>
    private const int DrainEveryIdlePolls = 1024;

    private readonly DmaRegion _ring;       // ring 1: Vmxnet3_RxDesc[Size]
    private readonly DmaRegion _ring2;      // ring 2: Vmxnet3_RxDesc[Ring2Size], body buffers with LRO
    private readonly DmaRegion _completion; // Vmxnet3_RxCompDesc[CompletionSize]
    private readonly IMmioRegion _registers;
    private readonly int _producer;         // VMXNET3_REG_RXPROD + 8 q
    private readonly int _producer2;        // VMXNET3_REG_RXPROD2 + 8 q
    private readonly int _mask;             // VMXNET3_REG_IMR + 8 vector
    private readonly DmaRegion _queueDesc;  // this queue's Vmxnet3_RxQueueDesc (ctrl.updateRxProd)
    private readonly EventFd _interrupt;
    private readonly QueueCounters _counters;
    private readonly Vmxnet3ReceiveCounters _named;
    private readonly int[] _buffers;        // ring 1 slot → pool buffer, -1 when empty
    private readonly int[] _bodies;         // ring 2 slot → pool buffer, -1 when empty; empty array without LRO
    private readonly ushort _port;
    private readonly ushort _queue;
    private readonly int _ring2Id;          // rqID of ring 2: queue + numRxQueues
    private readonly int _maxBuffers;       // misc.maxNumRxSG: buffers one frame may span
    private readonly int _mtu;
    private readonly bool _lro;
    private int _fill, _fill2;
    private uint _fillGen = Vmxnet3Layout.InitGen, _fillGen2 = Vmxnet3Layout.InitGen;
    private int _posted, _posted2;
    private int _completionNext;
    private uint _completionGen = Vmxnet3Layout.InitGen;
    private int _head = -1, _tail = -1;     // a frame whose eop has not come yet
    private long _total;
    private int _segments;
    private bool _bad;                      // the frame's err bit, or a piece longer than its buffer
    private bool _outOfBuffers;             // err with fewer buffers than maxNumRxSG: the device had no more
    private bool _tooMany;                  // the frame spans more than _maxBuffers: its pieces go back as they come
    private bool _armed;
    private int _idlePolls;

    /// <summary>
    /// The receive side of queue <paramref name="queue"/> of <paramref name="queues"/>; rings cleared
    /// here, the vector masked until the first idle poll. With <paramref name="lro"/> ring 2 takes
    /// body buffers and a frame may span <paramref name="maxBuffers"/> of them (misc.maxNumRxSG);
    /// frames longer than <paramref name="mtu"/> are super-frames.
    /// </summary>
    public Vmxnet3Receiver(DmaRegion ring, int size, DmaRegion ring2, int ring2Size, DmaRegion completion, int completionSize,
        DmaRegion queueDesc, IMmioRegion registers, int queue, int queues, int vector, EventFd interrupt, QueueCounters counters,
        Vmxnet3ReceiveCounters named, ushort port, bool lro, int maxBuffers, int mtu)
    {
        _ring = ring;
        Size = size;
        _ring2 = ring2;
        Ring2Size = lro ? ring2Size : 0;
        _completion = completion;
        CompletionSize = completionSize;
        _queueDesc = queueDesc;
        _registers = registers;
        _producer = Vmxnet3Layout.RxProd + queue * Vmxnet3Layout.RegisterStride;
        _producer2 = Vmxnet3Layout.RxProd2 + queue * Vmxnet3Layout.RegisterStride;
        _mask = Vmxnet3Layout.Imr + vector * Vmxnet3Layout.RegisterStride;
        _interrupt = interrupt;
        _counters = counters;
        _named = named;
        _port = port;
        _queue = (ushort)queue;
        _ring2Id = queue + queues;
        _lro = lro;
        _maxBuffers = lro ? maxBuffers : 1;
        _mtu = mtu;
        _buffers = new int[size];
        Array.Fill(_buffers, -1);
        _bodies = new int[Ring2Size];
        Array.Fill(_bodies, -1);
        ring.Span.Clear();
        ring2.Span.Clear(); // gen 0 everywhere: without LRO no descriptor of ring 2 is ever the device's
        completion.Span.Clear();
    }

    /// <summary>Entries of ring 1.</summary>
    public int Size { get; }

    /// <summary>Entries of ring 2 used (body buffers): 0 without LRO.</summary>
    public int Ring2Size { get; }

    /// <summary>Entries of the completion ring.</summary>
    public int CompletionSize { get; }

    /// <summary>Buffers on ring 1 now.</summary>
    public int Posted => _posted;

    /// <summary>Buffers on ring 2 now.</summary>
    public int Posted2 => _posted2;

    /// <summary>
    /// Up to <paramref name="burst"/>.Length frames the device completed, then both rings refilled
    /// from <paramref name="cache"/>. A frame with err set, one naming a slot we did not fill, a
    /// piece without its head, a frame without its eop or of too many buffers is dropped and counted
    /// (<see cref="Vmxnet3ReceiveCounters"/>, and as an error). When nothing has arrived the queue's
    /// vector is unmasked (VMXNET3_REG_IMR) and the completion ring looked at once more.
    /// </summary>
    public int Receive(Span<PacketBuffer> burst, BufferCache cache)
    {
        if (_posted < Size - 1 || _posted2 < Ring2Size - 1)
            Refill(cache); // a ring the cache left short: nothing else would top it up
        if (!Ready())
        {
            if (_armed && ++_idlePolls < DrainEveryIdlePolls)
                return 0;
            // Drain, unmask, look again: a completion written before the unmask raised nothing
            // (QEMU keeps it pending and raises it at the unmask; real hardware may not).
            _idlePolls = 0;
            _interrupt.Drain();
            _registers.Write32(_mask, 0);
            _armed = true;
            Mmio.FullBarrier();
            if (!Ready())
                return 0;
        }
        if (_armed)
        {
            _registers.Write32(_mask, 1); // busy: polled, no interrupts
            _armed = false;
            _idlePolls = 0;
        }

        BufferPool pool = cache.Pool;
        Span<byte> completion = _completion.Span;
        long now = Stopwatch.GetTimestamp();
        int n = 0;
        while (n < burst.Length && Ready())
        {
            if (TakeCompletion(pool, cache, completion, now, out PacketBuffer frame))
                burst[n++] = frame;
        }
        _counters.ReceivedPackets += n;
        Refill(cache);
        return n;
    }

    /// <summary>
    /// The completion at next, its buffer taken off its ring (rqID: ring 1 or ring 2) and linked to
    /// the frame being built: true with the frame when it was the eop of a good one; false for a
    /// piece of a frame still coming or one dropped, counted by what was wrong.
    /// </summary>
    private bool TakeCompletion(BufferPool pool, BufferCache cache, Span<byte> completion, long now, out PacketBuffer frame)
    {
        frame = PacketBuffer.None;
        int at = _completionNext * Vmxnet3Layout.DescriptorLength;
        uint dword0 = Mmio.Read32(completion, at);
        uint dword2 = Mmio.Read32(completion, at + 8);
        uint dword3 = Mmio.Read32(completion, at + 12);
        if (++_completionNext == CompletionSize)
        {
            _completionNext = 0;
            _completionGen ^= 1;
        }
        int slot = (int)(dword0 & Vmxnet3Layout.RxCompIndexMask);
        int ring = (int)((dword0 >> Vmxnet3Layout.RxCompRqIdShift) & 0x3ff);
        int[] buffers = ring == _queue ? _buffers : ring == _ring2Id ? _bodies : [];
        if ((uint)slot >= (uint)buffers.Length || buffers[slot] < 0)
        {
            Count(ref _named.UnknownBuffer); // a ring or slot we did not fill: a sane device never names one
            return false;
        }
        var buffer = new PacketBuffer(buffers[slot]);
        buffers[slot] = -1;
        if (ring == _queue)
            _posted--;
        else
            _posted2--;
        bool sop = (dword0 & Vmxnet3Layout.RxCompSop) != 0;
        if (sop && _head >= 0)
            Drop(cache, ref _named.MissingEop); // the frame before ended without its eop
        if ((sop && ring != _queue) || (!sop && _head < 0))
        {
            // A body without its head (QEMU's head is always a ring 1 buffer): nothing to attach it to;
            // the pieces after it until an eop follow it here one by one.
            Count(ref _named.BodyWithoutHead);
            cache.Release(buffer);
            return false;
        }
        int length = (int)(dword2 & Vmxnet3Layout.RxCompLengthMask);
        int room = pool.BufferSize - pool.Headroom;
        ref BufferMetadata piece = ref pool.Metadata(buffer);
        piece.DataOffset = (ushort)pool.Headroom;
        piece.DataLength = (ushort)Math.Min(length, room);
        piece.Next = -1;
        if (sop)
        {
            _head = _tail = buffer.Index;
            piece.Offload = OffloadFlags.None;
        }
        else if (_segments == _maxBuffers)
        {
            // More buffers than misc.maxNumRxSG lets a frame have: the frame is dropped at its eop,
            // and its pieces go back now, so a device that never ends one cannot drain the pool.
            _tooMany = true;
            cache.Release(buffer);
        }
        else
        {
            pool.Metadata(new PacketBuffer(_tail)).Next = buffer.Index;
            _tail = buffer.Index;
        }
        if (!_tooMany)
        {
            _total += piece.DataLength;
            _segments++;
        }
        _outOfBuffers |= (dword2 & Vmxnet3Layout.RxCompErr) != 0 && length <= room && _segments < _maxBuffers;
        _bad |= (dword2 & Vmxnet3Layout.RxCompErr) != 0 || length > room;
        if ((dword0 & Vmxnet3Layout.RxCompEop) == 0)
            return false;
        return TakeFrame(pool, cache, dword0, dword3, Mmio.Read32(completion, at + 4), now, out frame);
    }

    /// <summary>
    /// At the eop: the chain built since the sop as one frame, its metadata from the eop completion
    /// (<paramref name="dword0"/>, <paramref name="dword3"/>, the hash <paramref name="rssHash"/>),
    /// or dropped and counted when it spanned too many buffers or ended early.
    /// </summary>
    private bool TakeFrame(BufferPool pool, BufferCache cache, uint dword0, uint dword3, uint rssHash, long now, out PacketBuffer frame)
    {
        frame = PacketBuffer.None;
        if (_tooMany)
        {
            Drop(cache, ref _named.TooManyBuffers);
            return false;
        }
        if (_bad || _total < EthernetFrame.FixedLength)
        {
            // err: the frame did not fit the buffers posted. With fewer than maxNumRxSG the device ran
            // out of buffers (QEMU's vmxnet3_indicate_packet: VMXNET3_PKT_STATUS_OUT_OF_BUF), a drop for
            // want of buffers as a full ring is; with maxNumRxSG, or a piece longer than its buffer, or
            // less than an Ethernet header, the frame itself is wrong: an error.
            Drop(cache, ref _named.Truncated, error: !_outOfBuffers || _total < EthernetFrame.FixedLength);
            return false;
        }
        var head = new PacketBuffer(_head);
        ref BufferMetadata m = ref pool.Metadata(head);
        m.PacketLength = (int)_total;
        m.Segments = (byte)_segments;
        m.Offload = Checksums(dword0, dword3);
        m.Gso = GsoType.None;
        m.SegmentSize = 0;
        if (_lro && _total - EthernetFrame.FixedLength > _mtu && (dword3 & Vmxnet3Layout.RxCompTcp) != 0)
            MarkSuperFrame(pool.Data(head), (int)_total, dword3, ref m);
        if (TakeHash)
            TakeReportedHash(pool, head, dword0, rssHash, ref m);
        m.Port = _port;
        m.Queue = _queue;
        m.Timestamp = now;
        _counters.ReceivedBytes += _total;
        frame = head;
        _head = _tail = -1;
        _total = 0;
        _segments = 0;
        return true;
    }

    /// <summary>
    /// A frame longer than the MTU that LRO made: before revision 3 (VMXNET3_CDTYPE_RXCOMP_LRO) the
    /// completion says nothing of its segments, so, as the Linux driver's vmxnet3_rq_rx_complete, it
    /// is a TCP super-frame (TCPV4 or TCPV6 by the completion's v4) of segments of MTU less the IP
    /// and TCP headers (vmxnet3_get_hdr_len); the engine checks the rest (SuperFrame.TryRead) and
    /// cuts it where it must. Headers that are not plain IPv4 or IPv6 then TCP leave it unmarked, as Linux does.
    /// </summary>
    private void MarkSuperFrame(Span<byte> data, int length, uint dword3, ref BufferMetadata m)
    {
        if (!EthernetFrame.TryCreate(data, out EthernetFrame eth))
            return;
        Span<byte> l3 = data[EthernetFrame.FixedLength..];
        int available = length - EthernetFrame.FixedLength;
        bool v4 = (dword3 & Vmxnet3Layout.RxCompV4) != 0;
        int networkHeader;
        if (v4 && eth.EtherType == EtherType.Ipv4)
        {
            if (!Ipv4Packet.TryCreate(l3, available, out Ipv4Packet ip4, out _) || ip4.Protocol != IpProtocol.Tcp)
                return;
            networkHeader = ip4.HeaderLength;
        }
        else if (!v4 && (dword3 & Vmxnet3Layout.RxCompV6) != 0 && eth.EtherType == EtherType.Ipv6)
        {
            if (!Ipv6Packet.TryCreate(l3, available, out Ipv6Packet ip6, out _) || ip6.NextHeader != IpProtocol.Tcp)
                return;
            networkHeader = Ipv6Packet.FixedLength;
        }
        else
        {
            return;
        }
        int transportOffset = EthernetFrame.FixedLength + networkHeader;
        if (data.Length < transportOffset + TcpSegment.FixedLength || !TcpSegment.TryCreate(data[transportOffset..], out TcpSegment tcp))
            return;
        int headers = networkHeader + tcp.HeaderLength;
        if (headers >= _mtu)
            return;
        m.Gso = v4 ? GsoType.TcpV4 : GsoType.TcpV6;
        m.SegmentSize = (ushort)(_mtu - headers);
        _named.SuperFrames++;
    }

    /// <summary>
    /// Whether the eop completion's rssType and rssHash are taken for the flow's owner where they are
    /// the engine's hash of the frame (<see cref="DeviceRss.MatchesEngine"/>): set by the port when the
    /// device was given the engine's symmetric key (UPT1_RSSConf), with the workers stopped.
    /// </summary>
    public bool TakeHash { get; set; }

    /// <summary>
    /// rssType (dword 0) says what the device hashed, rssHash (dword 1) the hash; taken as
    /// <see cref="OffloadFlags.RssHashValid"/> when it is the tuple the engine would hash for this
    /// frame. vmxnet3's UPT1 hash types have no UDP, so a UDP datagram comes with the 2-tuple, which
    /// is not the engine's: the engine hashes it.
    /// </summary>
    private void TakeReportedHash(BufferPool pool, PacketBuffer head, uint dword0, uint hash, ref BufferMetadata m)
    {
        DeviceHashKind kind = ((dword0 >> Vmxnet3Layout.RxCompRssTypeShift) & 0xf) switch
        {
            Vmxnet3Layout.RssTypeIpv4 => DeviceHashKind.Ipv4,
            Vmxnet3Layout.RssTypeTcpIpv4 or Vmxnet3Layout.RssTypeUdpIpv4 => DeviceHashKind.Ipv4Ports,
            Vmxnet3Layout.RssTypeIpv6 => DeviceHashKind.Ipv6,
            Vmxnet3Layout.RssTypeTcpIpv6 or Vmxnet3Layout.RssTypeUdpIpv6 => DeviceHashKind.Ipv6Ports,
            _ => DeviceHashKind.None, // NONE, or ESP
        };
        if (kind == DeviceHashKind.None || !DeviceRss.MatchesEngine(pool.Data(head), kind))
            return;
        m.RssHash = hash;
        m.Offload |= OffloadFlags.RssHashValid;
        _counters.ReceivedHashed++;
    }

    /// <summary>The checksum facts of the eop completion: ipc for IPv4 (v4), tuc for TCP or UDP; nothing when cnc.</summary>
    private static OffloadFlags Checksums(uint dword0, uint dword3)
    {
        if ((dword0 & Vmxnet3Layout.RxCompCnc) != 0)
            return OffloadFlags.None;
        OffloadFlags flags = OffloadFlags.None;
        if ((dword3 & (Vmxnet3Layout.RxCompV4 | Vmxnet3Layout.RxCompIpc)) == (Vmxnet3Layout.RxCompV4 | Vmxnet3Layout.RxCompIpc))
            flags |= OffloadFlags.Ipv4ChecksumVerified;
        if ((dword3 & (Vmxnet3Layout.RxCompTcp | Vmxnet3Layout.RxCompUdp)) != 0 && (dword3 & Vmxnet3Layout.RxCompTuc) != 0)
            flags |= OffloadFlags.L4ChecksumVerified;
        return flags;
    }

    /// <summary>The frame being built back to <paramref name="cache"/>, counted in <paramref name="reason"/> and as an error (else as a receive drop).</summary>
    private void Drop(BufferCache cache, ref long reason, bool error = true)
    {
        if (error)
            Count(ref reason);
        else
            reason++;
        if (!error)
            _counters.ReceiveDrops++;
        cache.Release(new PacketBuffer(_head));
        _head = _tail = -1;
        _total = 0;
        _segments = 0;
        _bad = false;
        _outOfBuffers = false;
        _tooMany = false;
    }

    private void Count(ref long reason)
    {
        reason++;
        _counters.Errors++;
    }

    /// <summary>Whether the completion at next has our gen: the device wrote it.</summary>
    private bool Ready() =>
        Mmio.Read32(_completion.Span, _completionNext * Vmxnet3Layout.DescriptorLength + 12) >> Vmxnet3Layout.CompGenShift == _completionGen;

    /// <summary>
    /// A fresh buffer of <paramref name="cache"/> in every free slot of ring 1 (head buffers) and,
    /// with LRO, of ring 2 (body buffers) but one (a ring is never filled whole, as
    /// vmxnet3_cmd_ring_desc_avail), each descriptor's dword 2 (len, btype, gen) written after its
    /// address; RXPROD and RXPROD2 written when the device asks (ctrl.updateRxProd).
    /// </summary>
    public void Refill(BufferCache cache)
    {
        BufferPool pool = cache.Pool;
        uint room = (uint)Math.Min(pool.BufferSize - pool.Headroom, Vmxnet3Layout.MaxRxBuffer);
        int added = Fill(_ring.Span, _buffers, ref _fill, ref _fillGen, ref _posted, cache, room);
        if (added > 0 && Mmio.Read8(_queueDesc.Span, Vmxnet3Layout.RxUpdateProd) != 0)
            _registers.Write32(_producer, (uint)_fill);
        if (Ring2Size == 0)
            return;
        // Ring 2 holds body buffers only (QEMU's vmxnet3_get_next_body_rx_descr asserts the btype).
        added = Fill(_ring2.Span, _bodies, ref _fill2, ref _fillGen2, ref _posted2, cache, room | Vmxnet3Layout.RxBodyBuffer);
        if (added > 0 && Mmio.Read8(_queueDesc.Span, Vmxnet3Layout.RxUpdateProd) != 0)
            _registers.Write32(_producer2, (uint)_fill2);
    }

    /// <summary>Buffers into the free slots of one ring, <paramref name="dword2"/> (len and btype) with the ring's gen; the number added.</summary>
    private static int Fill(Span<byte> ring, int[] slots, ref int fill, ref uint gen, ref int posted, BufferCache cache, uint dword2)
    {
        BufferPool pool = cache.Pool;
        int added = 0;
        while (posted < slots.Length - 1 && cache.TryAllocate(out PacketBuffer buffer))
        {
            int at = fill * Vmxnet3Layout.DescriptorLength;
            slots[fill] = buffer.Index;
            Mmio.Write64(ring, at, (ulong)(pool.Address(buffer.Index) + pool.Headroom));
            Mmio.Write32(ring, at + 12, 0);
            Mmio.Write32(ring, at + 8, dword2 | (gen << Vmxnet3Layout.RxGenShift)); // the gen last: the device's from here
            if (++fill == slots.Length)
            {
                fill = 0;
                gen ^= 1;
            }
            posted++;
            added++;
        }
        return added;
    }

    /// <summary>Every buffer on rings 1 and 2, and a frame half taken, back to <paramref name="cache"/>, with the device quiesced. Control path.</summary>
    public void ReleaseAll(BufferCache cache)
    {
        foreach (int[] slots in (ReadOnlySpan<int[]>)[_buffers, _bodies])
        {
            for (int i = 0; i < slots.Length; i++)
            {
                if (slots[i] < 0)
                    continue;
                cache.Release(new PacketBuffer(slots[i]));
                slots[i] = -1;
            }
        }
        _posted = 0;
        _posted2 = 0;
        if (_head >= 0)
            cache.Release(new PacketBuffer(_head));
        _head = _tail = -1;
        _total = 0;
        _segments = 0;
        _bad = false;
        _outOfBuffers = false;
        _tooMany = false;
    }
}
