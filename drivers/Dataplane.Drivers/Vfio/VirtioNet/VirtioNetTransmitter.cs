using System.Runtime.InteropServices;
using Dataplane.Buffers;
using Dataplane.Drivers.Virtio;
using Dataplane.Native;
using Dataplane.Ports;

namespace Dataplane.Drivers.Vfio.VirtioNet;

/// <summary>
/// The transmit virtqueue of one queue pair: each frame goes out as a descriptor chain, its
/// virtio-net header (offloads, §5.1.6.2) from a slot of a header table in DMA memory, then every
/// buffer of its chain where it lies in the pool (IOVA == address: no copy). The buffers stay on the
/// ring until the device has used them, and go back to the worker's cache when their used entries
/// are read, at the next burst. The device is notified once a burst, only when it asks (§2.7.13.4).
/// Owned by one worker.
/// </summary>
/// <remarks>
/// The header has a table of its own rather than the head buffer's headroom: a buffer on the ring
/// may be held elsewhere too (a TCP segment kept for retransmission), and the driver writes nothing
/// into memory it does not own. One descriptor more per frame is the price.
/// </remarks>
internal sealed class VirtioNetTransmitter
{
    /// <summary>Bytes of one header-table slot: the 12-byte header, or the 20-byte one with HASH_REPORT, rounded to 32.</summary>
    public const int HeaderSlot = 32;

    private readonly Virtqueue _ring;
    private readonly DmaRegion _headers; // slot i belongs to the chain whose head is descriptor i
    private readonly Action _notify;
    private readonly QueueCounters _counters;
    private readonly int[] _frames;    // the frame (head buffer) of each chain, by head descriptor id; -1 when none
    private readonly ushort[] _next;   // the chain's links as we wrote them (never read back from the ring)
    private readonly ushort[] _length; // descriptors in the chain at each head
    private readonly VirtioFeatures _features;
    private readonly int _headerLength; // 12; 20 with HASH_REPORT, which sizes the header both ways (§5.1.6)

    /// <summary>The transmit side over <paramref name="ring"/>, with <paramref name="headers"/> (<see cref="HeaderSlot"/> bytes per entry).</summary>
    public VirtioNetTransmitter(Virtqueue ring, DmaRegion headers, Action notify, QueueCounters counters, VirtioFeatures features)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(headers.Length, ring.Size * HeaderSlot);
        _ring = ring;
        _headers = headers;
        _notify = notify;
        _counters = counters;
        _frames = new int[ring.Size];
        Array.Fill(_frames, -1);
        _next = new ushort[ring.Size];
        _length = new ushort[ring.Size];
        _features = features;
        _headerLength = (features & VirtioFeatures.HashReport) != 0 ? VirtioNetLayout.HashHeaderLength : VirtioNetLayout.HeaderLength;
        ring.SetInterrupts(false); // used buffers are reclaimed by polling, never on an interrupt
    }

    /// <summary>Descriptors free now, after reclaiming what the device has used (for tests).</summary>
    public int FreeDescriptors(BufferCache cache)
    {
        Reclaim(cache);
        return _ring.FreeDescriptors;
    }

    /// <summary>
    /// Puts the frames of <paramref name="burst"/> on the ring, from the front, and notifies the
    /// device if it asks; returns how many it took. When the ring has no room for the next frame's
    /// chain the burst stops there and the rest stay the caller's (nothing is dropped or counted).
    /// A frame whose chain does not add up, or whose offload fields point outside it, is taken,
    /// released and counted as an error.
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
            if (pieces < 0 || !VirtioNetOffload.TryTransmit(m, pool.Data(frame), m.PacketLength, out VirtioNetHeader header) || !Negotiated(header))
            {
                _counters.Errors++;
                cache.Release(frame);
                continue;
            }
            if (_ring.FreeDescriptors < pieces + 1)
                break; // the ring is full: the rest wait for the device to use what it has
            Enqueue(pool, frame, pieces, header);
            _counters.TransmittedPackets++;
            _counters.TransmittedBytes += m.PacketLength;
            queued++;
        }
        if (queued > 0)
        {
            _ring.Publish();
            if (_ring.NeedsNotification())
                _notify();
        }
        return taken;
    }

    /// <summary>
    /// Whether the device agreed to what <paramref name="header"/> asks (§5.1.6.2.1: NEEDS_CSUM only
    /// with CSUM, a gso_type only with its HOST_ feature). QEMU takes a header that asks for more as
    /// a broken driver and marks the device DEVICE_NEEDS_RESET, so such a frame is an error here.
    /// </summary>
    private bool Negotiated(in VirtioNetHeader header)
    {
        if ((header.Flags & VirtioNetHeaderFlags.NeedsChecksum) != 0 && (_features & VirtioFeatures.Checksum) == 0)
            return false;
        return header.GsoType switch
        {
            VirtioNetGsoType.None => true,
            VirtioNetGsoType.TcpV4 => (_features & VirtioFeatures.HostTso4) != 0,
            VirtioNetGsoType.TcpV6 => (_features & VirtioFeatures.HostTso6) != 0,
            _ => false, // HOST_UFO / HOST_USO are not negotiated
        };
    }

    /// <summary>The chain at <paramref name="head"/> as descriptors: the header slot, then every non-empty piece.</summary>
    private void Enqueue(BufferPool pool, PacketBuffer frame, int pieces, in VirtioNetHeader header)
    {
        ushort head = _ring.TakeDescriptor();
        int slot = head * HeaderSlot;
        Span<byte> h = _headers.Span.Slice(slot, _headerLength);
        h[VirtioNetLayout.HeaderLength..].Clear(); // hash_value, hash_report: receive only (§5.1.6.2)
        MemoryMarshal.Write(h, in header);
        h[10] = 0; // num_buffers: 0 on transmit (§5.1.6.2)
        h[11] = 0;
        _frames[head] = frame.Index;
        _length[head] = (ushort)(pieces + 1);
        ushort previous = head;
        ulong previousAddress = _headers.Iova + (ulong)slot;
        uint previousLength = (uint)_headerLength;
        for (PacketBuffer piece = frame; piece.IsValid; piece = new PacketBuffer(pool.Metadata(piece).Next))
        {
            ref BufferMetadata p = ref pool.Metadata(piece);
            if (p.DataLength == 0)
                continue;
            ushort id = _ring.TakeDescriptor();
            _ring.WriteDescriptor(previous, previousAddress, previousLength, Virtqueue.DescriptorNext, id);
            _next[previous] = id;
            previous = id;
            previousAddress = (ulong)(pool.Address(piece.Index) + p.DataOffset);
            previousLength = p.DataLength;
        }
        _ring.WriteDescriptor(previous, previousAddress, previousLength, 0, 0);
        _ring.MakeAvailable(head);
    }

    /// <summary>The chain's non-empty pieces, or -1 when its lengths do not add up to <paramref name="length"/> (or it loops).</summary>
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
            if (pieces >= _ring.Size || sum > length)
                return -1;
        }
        return sum == length && pieces > 0 ? pieces : -1;
    }

    /// <summary>Frames the device has sent: their buffers back to <paramref name="cache"/>, their descriptors free.</summary>
    public void Reclaim(BufferCache cache)
    {
        int used = _ring.UsedCount();
        if (used == 0)
            return;
        for (int k = 0; k < used; k++)
        {
            uint head = _ring.Used(k).Id;
            if (head >= (uint)_frames.Length || _frames[head] < 0)
            {
                _counters.Errors++;
                continue;
            }
            Free((ushort)head, cache);
        }
        _ring.ConsumeUsed(used);
    }

    private void Free(ushort head, BufferCache cache)
    {
        cache.Release(new PacketBuffer(_frames[head]));
        _frames[head] = -1;
        ushort id = head;
        for (int k = _length[head]; k > 0; k--)
        {
            _ring.FreeDescriptor(id);
            id = _next[id];
        }
    }

    /// <summary>Every frame still on the ring back to <paramref name="cache"/>, with the device reset. Control path.</summary>
    public void ReleaseAll(BufferCache cache)
    {
        for (int head = 0; head < _frames.Length; head++)
        {
            if (_frames[head] >= 0)
                Free((ushort)head, cache);
        }
    }
}
