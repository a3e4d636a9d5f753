using System.Diagnostics;
using Dataplane.Buffers;
using Dataplane.Native;
using Dataplane.Ports;

namespace Dataplane.Drivers.Vfio.Vmxnet3;

/// <summary>
/// One vmxnet3 receive queue: rx ring 1 of <c>Vmxnet3_RxDesc</c> holding head buffers (btype
/// VMXNET3_RXD_BTYPE_HEAD) from the pool, each at the buffer's headroom (IOVA == address, no copy),
/// rx ring 2 left empty (no body buffers: maxNumRxSG is 1, a frame fits one buffer), and the
/// completion ring of <c>Vmxnet3_RxCompDesc</c>. A completion whose gen equals ours is the device's
/// word that descriptor rxdIdx of ring rqID holds len bytes; sop to eop make one frame, whose
/// checksum facts (cnc, ipc, tuc) go into its metadata. The ring is refilled from the worker's
/// cache after every burst. Owned by one worker.
/// </summary>
internal sealed class Vmxnet3Receiver
{
    /// <summary>Idle polls with the vector unmasked between two drains of its eventfd (as the virtio-net receiver).</summary>
    private const int DrainEveryIdlePolls = 1024;

    private readonly DmaRegion _ring;       // ring 1: Vmxnet3_RxDesc[Size]
    private readonly DmaRegion _completion; // Vmxnet3_RxCompDesc[CompletionSize]
    private readonly IMmioRegion _registers;
    private readonly int _producer;         // VMXNET3_REG_RXPROD + 8 q
    private readonly int _mask;             // VMXNET3_REG_IMR + 8 vector
    private readonly DmaRegion _queueDesc;  // this queue's Vmxnet3_RxQueueDesc (ctrl.updateRxProd)
    private readonly EventFd _interrupt;
    private readonly QueueCounters _counters;
    private readonly int[] _buffers;        // ring 1 slot → pool buffer, -1 when empty
    private readonly ushort _port;
    private readonly ushort _queue;
    private int _fill;
    private uint _fillGen = Vmxnet3Layout.InitGen;
    private int _posted;
    private int _completionNext;
    private uint _completionGen = Vmxnet3Layout.InitGen;
    private int _head = -1, _tail = -1;     // a frame whose eop has not come yet
    private long _total;
    private int _segments;
    private bool _bad;
    private bool _armed;
    private int _idlePolls;

    /// <summary>The receive side of queue <paramref name="queue"/>; rings cleared here, the vector masked until the first idle poll.</summary>
    public Vmxnet3Receiver(DmaRegion ring, int size, DmaRegion completion, int completionSize, DmaRegion queueDesc, IMmioRegion registers,
        int queue, int vector, EventFd interrupt, QueueCounters counters, ushort port)
    {
        _ring = ring;
        Size = size;
        _completion = completion;
        CompletionSize = completionSize;
        _queueDesc = queueDesc;
        _registers = registers;
        _producer = Vmxnet3Layout.RxProd + queue * Vmxnet3Layout.RegisterStride;
        _mask = Vmxnet3Layout.Imr + vector * Vmxnet3Layout.RegisterStride;
        _interrupt = interrupt;
        _counters = counters;
        _port = port;
        _queue = (ushort)queue;
        _buffers = new int[size];
        Array.Fill(_buffers, -1);
        ring.Span.Clear();
        completion.Span.Clear();
    }

    /// <summary>Entries of ring 1.</summary>
    public int Size { get; }

    /// <summary>Entries of the completion ring.</summary>
    public int CompletionSize { get; }

    /// <summary>Buffers on ring 1 now.</summary>
    public int Posted => _posted;

    /// <summary>
    /// Up to <paramref name="burst"/>.Length frames the device completed, then ring 1 refilled from
    /// <paramref name="cache"/>. A completion with err set, or naming a slot we did not fill, is
    /// dropped and counted as an error. When nothing has arrived the queue's vector is unmasked
    /// (VMXNET3_REG_IMR) and the completion ring looked at once more.
    /// </summary>
    public int Receive(Span<PacketBuffer> burst, BufferCache cache)
    {
        if (_posted < Size - 1)
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
    /// The completion at next, its buffer taken off ring 1 and linked to the frame being built: true
    /// with the frame when it was the eop of a good one; false for a piece of a frame still coming
    /// or one dropped (err, a slot not ours, a body without its head), counted as an error.
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
        if (ring != _queue || slot >= Size || _buffers[slot] < 0)
        {
            _counters.Errors++; // ring 2 holds nothing of ours; a sane device never names it
            return false;
        }
        var buffer = new PacketBuffer(_buffers[slot]);
        _buffers[slot] = -1;
        _posted--;
        if ((dword0 & Vmxnet3Layout.RxCompSop) != 0 && _head >= 0)
            Drop(cache); // a frame without its eop
        int length = (int)(dword2 & Vmxnet3Layout.RxCompLengthMask);
        ref BufferMetadata piece = ref pool.Metadata(buffer);
        piece.DataOffset = (ushort)pool.Headroom;
        piece.DataLength = (ushort)Math.Min(length, pool.BufferSize - pool.Headroom);
        piece.Next = -1;
        if (_head < 0)
        {
            if ((dword0 & Vmxnet3Layout.RxCompSop) == 0)
            {
                _counters.Errors++; // a body without its head
                cache.Release(buffer);
                return false;
            }
            _head = _tail = buffer.Index;
            pool.Metadata(buffer).Offload = OffloadFlags.None;
        }
        else
        {
            pool.Metadata(new PacketBuffer(_tail)).Next = buffer.Index;
            _tail = buffer.Index;
        }
        _total += piece.DataLength;
        _segments++;
        _bad |= (dword2 & Vmxnet3Layout.RxCompErr) != 0 || length > pool.BufferSize - pool.Headroom;
        if ((dword0 & Vmxnet3Layout.RxCompEop) == 0)
            return false;

        var head = new PacketBuffer(_head);
        ref BufferMetadata m = ref pool.Metadata(head);
        if (_bad || _total < 14)
        {
            Drop(cache);
            return false;
        }
        m.PacketLength = (int)_total;
        m.Segments = (byte)Math.Min(_segments, byte.MaxValue);
        m.Offload = Checksums(dword0, dword3);
        if (TakeHash)
            TakeReportedHash(pool, head, dword0, Mmio.Read32(completion, at + 4), ref m);
        m.Gso = GsoType.None;
        m.Port = _port;
        m.Queue = _queue;
        m.Timestamp = now;
        _counters.ReceivedBytes += _total;
        frame = head;
        _head = _tail = -1;
        _total = 0;
        _segments = 0;
        _bad = false;
        return true;
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

    private void Drop(BufferCache cache)
    {
        _counters.Errors++;
        cache.Release(new PacketBuffer(_head));
        _head = _tail = -1;
        _total = 0;
        _segments = 0;
        _bad = false;
    }

    /// <summary>Whether the completion at next has our gen: the device wrote it.</summary>
    private bool Ready() =>
        Mmio.Read32(_completion.Span, _completionNext * Vmxnet3Layout.DescriptorLength + 12) >> Vmxnet3Layout.CompGenShift == _completionGen;

    /// <summary>
    /// A fresh buffer of <paramref name="cache"/> in every free slot of ring 1 but one (the ring is
    /// never filled whole, as vmxnet3_cmd_ring_desc_avail), each descriptor's dword 2 (len, btype,
    /// gen) written after its address; RXPROD written when the device asks (ctrl.updateRxProd).
    /// </summary>
    public void Refill(BufferCache cache)
    {
        BufferPool pool = cache.Pool;
        Span<byte> ring = _ring.Span;
        uint room = (uint)Math.Min(pool.BufferSize - pool.Headroom, Vmxnet3Layout.MaxRxBuffer);
        int added = 0;
        while (_posted < Size - 1 && cache.TryAllocate(out PacketBuffer buffer))
        {
            int at = _fill * Vmxnet3Layout.DescriptorLength;
            _buffers[_fill] = buffer.Index;
            Mmio.Write64(ring, at, (ulong)(pool.Address(buffer.Index) + pool.Headroom));
            Mmio.Write32(ring, at + 12, 0);
            Mmio.Write32(ring, at + 8, room | (_fillGen << Vmxnet3Layout.RxGenShift)); // btype 0: a head buffer
            if (++_fill == Size)
            {
                _fill = 0;
                _fillGen ^= 1;
            }
            _posted++;
            added++;
        }
        if (added > 0 && Mmio.Read8(_queueDesc.Span, Vmxnet3Layout.RxUpdateProd) != 0)
            _registers.Write32(_producer, (uint)_fill);
    }

    /// <summary>Every buffer on ring 1, and a frame half taken, back to <paramref name="cache"/>, with the device quiesced. Control path.</summary>
    public void ReleaseAll(BufferCache cache)
    {
        for (int i = 0; i < _buffers.Length; i++)
        {
            if (_buffers[i] < 0)
                continue;
            cache.Release(new PacketBuffer(_buffers[i]));
            _buffers[i] = -1;
        }
        _posted = 0;
        if (_head >= 0)
        {
            cache.Release(new PacketBuffer(_head));
            _head = _tail = -1;
        }
    }
}
