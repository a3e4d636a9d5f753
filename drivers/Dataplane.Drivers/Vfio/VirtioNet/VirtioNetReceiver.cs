using System.Diagnostics;
using System.Runtime.InteropServices;
using Dataplane.Buffers;
using Dataplane.Drivers.Virtio;
using Dataplane.Native;
using Dataplane.Ports;

namespace Dataplane.Drivers.Vfio.VirtioNet;

/// <summary>
/// The receive virtqueue of one queue pair: every descriptor holds a pool buffer the device writes
/// into (IOVA == the buffer's address, no copy), the virtio-net header first (§5.1.6.3). What the
/// device used goes up the stack as it lies in the buffers; with MRG_RXBUF a frame spanning
/// <c>num_buffers</c> buffers becomes a chain of them (§5.1.6.4.2). The ring is refilled from the
/// worker's cache after every burst. Owned by one worker.
/// </summary>
/// <remarks>
/// A buffer is offered from <c>headroom - 12</c>, so the 12-byte header lands in the headroom and
/// the frame at the headroom as every driver leaves it; a merged buffer after the first has no
/// header, so its data starts at <c>headroom - 12</c>. With VIRTIO_NET_F_HASH_REPORT the header is
/// the 20-byte <c>virtio_net_hdr_v1_hash</c> and every 12 above is 20.
/// </remarks>
internal sealed class VirtioNetReceiver
{
    /// <summary>Idle polls with interrupts armed between two drains of the eventfd: bounds the spin a late, stale interrupt could cause.</summary>
    private const int DrainEveryIdlePolls = 1024;

    private readonly Virtqueue _ring;
    private readonly Action _notify;
    private readonly EventFd _interrupt;
    private readonly QueueCounters _counters;
    private readonly int[] _buffers; // the pool buffer behind each descriptor id, -1 when free
    private readonly bool _mergeable;
    private readonly ushort _port;
    private readonly ushort _queue;
    private readonly int _headerLength; // 12, or 20 with HASH_REPORT
    private bool _armed;
    private int _idlePolls;

    /// <summary>
    /// The receive side over <paramref name="ring"/>; <paramref name="notify"/> rings its doorbell,
    /// <paramref name="interrupt"/> is its MSI-X vector's eventfd; <paramref name="headerLength"/> is
    /// the header's size (12, or 20 with HASH_REPORT).
    /// </summary>
    public VirtioNetReceiver(Virtqueue ring, Action notify, EventFd interrupt, QueueCounters counters, bool mergeable, ushort port, ushort queue,
        int headerLength = VirtioNetLayout.HeaderLength)
    {
        _headerLength = headerLength;
        _ring = ring;
        _notify = notify;
        _interrupt = interrupt;
        _counters = counters;
        _mergeable = mergeable;
        _port = port;
        _queue = queue;
        _buffers = new int[ring.Size];
        Array.Fill(_buffers, -1);
        ring.SetInterrupts(false); // polled while busy; armed when a poll finds nothing
    }

    /// <summary>
    /// Whether a frame's reported hash (hash_report, hash_value) is taken for its flow's owner, where
    /// it is the engine's hash of the frame (<see cref="DeviceRss.MatchesEngine"/>): set by the port
    /// once the device took the engine's key and hash types (VIRTIO_NET_CTRL_MQ_RSS_CONFIG), with the
    /// workers stopped.
    /// </summary>
    public bool TakeHash { get; set; }

    /// <summary>
    /// Whether the queue notifies the device each time it goes idle, with no buffer to offer: set
    /// while the device steers by RSS. QEMU 7.2's software RSS (hw/net/virtio-net.c,
    /// virtio_net_receive_rcu) moves a frame that came in on the backend's queue i to queue j; when
    /// queue j has no buffer at that moment, the frame is held on queue i and the backend's queue i
    /// is no longer read until the driver notifies receive queue i, which a driver with buffers on
    /// it has no reason to do (and QEMU asks for no notification). Seen: not one ARP reply reached
    /// the second port in 60 s. One notify per idle spell bounds such a stall by the queue's next
    /// idle poll.
    /// </summary>
    public bool KickWhenIdle { get; set; }

    /// <summary>Notifies the device of this queue, whatever it asked (control path: after a start, see <see cref="KickWhenIdle"/>).</summary>
    public void Kick() => _notify();

    /// <summary>
    /// Up to <paramref name="burst"/>.Length frames the device has written, as buffers (chains) of
    /// the pool, then the ring refilled from <paramref name="cache"/>. A frame whose used entry does
    /// not add up (too short, longer than its buffers) is dropped and counted as an error; one that
    /// cannot be chained (too long, 255 buffers) as a receive drop. When nothing has arrived, the
    /// queue's interrupt is armed and the ring looked at once more (so a frame that came in between
    /// does not wait for the next interrupt). A ring left short by an empty cache is topped up first.
    /// </summary>
    public int Receive(Span<PacketBuffer> burst, BufferCache cache)
    {
        // A ring the cache could not fill last time (the pool ran dry) is topped up first: with
        // no buffers posted the device receives nothing, and nothing else would ever refill it.
        if (_ring.FreeDescriptors > 0)
            Refill(cache);
        int available = _ring.UsedCount();
        if (available == 0)
        {
            if (_armed && ++_idlePolls < DrainEveryIdlePolls)
                return 0;
            // §2.7.7: clear NO_INTERRUPT, then look again: a buffer used before the device saw the
            // flag raised no interrupt. The eventfd is drained first, so it next reads ready for
            // what the device uses from now on, and the worker's sleep waits on it. Armed already,
            // the same every DrainEveryIdlePolls polls: a signal that came after we had taken its
            // frames would otherwise keep the eventfd ready and the worker awake. Looking again
            // after the drain means a frame whose signal it took is not left waiting.
            _idlePolls = 0;
            _interrupt.Drain();
            if (!_armed)
            {
                _ring.SetInterrupts(true);
                _armed = true;
                if (KickWhenIdle)
                    _notify(); // frames QEMU holds for this queue (KickWhenIdle) are delivered now
            }
            Mmio.FullBarrier();
            available = _ring.UsedCount();
            if (available == 0)
                return 0;
        }
        if (_armed)
        {
            _ring.SetInterrupts(false); // busy again: polled, no interrupts
            _armed = false;
            _idlePolls = 0;
        }

        BufferPool pool = cache.Pool;
        long now = Stopwatch.GetTimestamp(); // one clock read per burst
        int n = 0;
        int consumed = 0;
        while (consumed < available && n < burst.Length)
        {
            int taken = TakeFrame(pool, cache, available - consumed, consumed, now, out PacketBuffer frame);
            if (taken == 0)
                break; // the rest of a merged frame is not published yet
            consumed += taken;
            if (frame.IsValid)
                burst[n++] = frame;
        }
        _ring.ConsumeUsed(consumed);
        _counters.ReceivedPackets += n;
        Refill(cache);
        return n;
    }

    /// <summary>
    /// The frame starting at used entry <paramref name="first"/>, its buffers taken off the ring
    /// and linked into a chain: returns the used entries it took (0 when it spans more than are
    /// published yet), with <paramref name="frame"/> None when it was dropped.
    /// </summary>
    private int TakeFrame(BufferPool pool, BufferCache cache, int available, int first, long now, out PacketBuffer frame)
    {
        frame = PacketBuffer.None;
        uint headId = _ring.Used(first).Id;
        if (!Holds(headId))
        {
            _counters.Errors++; // a descriptor the device was not given: cannot happen with a sane device
            return 1;
        }
        var head = new PacketBuffer(_buffers[headId]);
        // §5.1.6.4: num_buffers, in the header in front of the first buffer; 1 without MRG_RXBUF.
        Span<byte> raw = PinnedAddress.Span(pool.Address(head.Index) + pool.Headroom - _headerLength, _headerLength);
        int count = _mergeable ? Math.Max((int)MemoryMarshal.Read<ushort>(raw[10..]), 1) : 1;
        if (count > _ring.Size)
        {
            // More buffers than the ring holds: never to be published, and waiting for them would
            // stop the queue for good. The head is dropped and counted; the queue goes on.
            _counters.Errors++;
            _buffers[headId] = -1;
            _ring.FreeDescriptor((ushort)headId);
            cache.Release(head);
            return 1;
        }
        if (count > available)
            return 0;

        int room = Room(pool);
        bool bad = false;
        int tail = -1;
        long total = 0;
        int segments = 0;
        for (int k = 0; k < count; k++)
        {
            (uint id, uint length) = _ring.Used(first + k);
            if (!Holds(id))
            {
                bad = true;
                continue;
            }
            int index = _buffers[id];
            _buffers[id] = -1;
            _ring.FreeDescriptor((ushort)id);
            int data = k == 0 ? (int)length - _headerLength : (int)length;
            if (length > room || (k == 0 && data < 14))
                bad = true;
            ref BufferMetadata piece = ref pool.Metadata(new PacketBuffer(index));
            piece.DataOffset = (ushort)(k == 0 ? pool.Headroom : pool.Headroom - _headerLength);
            piece.DataLength = (ushort)Math.Clamp(data, 0, room);
            piece.Next = -1;
            if (tail >= 0)
                pool.Metadata(new PacketBuffer(tail)).Next = index;
            tail = index;
            total += piece.DataLength;
            segments++;
        }

        ref BufferMetadata m = ref pool.Metadata(head);
        m.PacketLength = (int)Math.Min(total, int.MaxValue);
        m.Segments = (byte)Math.Min(segments, byte.MaxValue);
        if (bad)
        {
            _counters.Errors++; // a used entry that does not add up
            cache.Release(head);
            return count;
        }
        if (total > BufferPool.MaxPacketLength || segments > byte.MaxValue)
        {
            _counters.ReceiveDrops++;
            cache.Release(head);
            return count;
        }
        VirtioNetOffload.Receive(MemoryMarshal.Read<VirtioNetHeader>(raw), ref m);
        if (TakeHash)
            TakeReportedHash(raw, pool, head, ref m);
        m.Port = _port;
        m.Queue = _queue;
        m.Timestamp = now;
        _counters.ReceivedBytes += total;
        frame = head;
        return count;
    }

    /// <summary>
    /// §5.1.6.4.3.4: hash_report says what the device hashed, hash_value the hash. Taken, as
    /// <see cref="OffloadFlags.RssHashValid"/>, when it is the tuple the engine would hash for this
    /// frame; otherwise the engine hashes the frame.
    /// </summary>
    private void TakeReportedHash(Span<byte> header, BufferPool pool, PacketBuffer head, ref BufferMetadata m)
    {
        DeviceHashKind kind = MemoryMarshal.Read<ushort>(header[VirtioNetLayout.HashReport..]) switch
        {
            VirtioNetLayout.HashReportIpv4 => DeviceHashKind.Ipv4,
            VirtioNetLayout.HashReportTcpv4 or VirtioNetLayout.HashReportUdpv4 => DeviceHashKind.Ipv4Ports,
            VirtioNetLayout.HashReportIpv6 => DeviceHashKind.Ipv6,
            VirtioNetLayout.HashReportTcpv6 or VirtioNetLayout.HashReportUdpv6 => DeviceHashKind.Ipv6Ports,
            _ => DeviceHashKind.None, // NONE, or an _EX hash the engine does not compute
        };
        if (kind == DeviceHashKind.None || !DeviceRss.MatchesEngine(pool.Data(head), kind))
            return;
        m.RssHash = MemoryMarshal.Read<uint>(header[VirtioNetLayout.HashValue..]);
        m.Offload |= OffloadFlags.RssHashValid;
        _counters.ReceivedHashed++;
    }

    /// <summary>Whether descriptor <paramref name="id"/> is one of ours with a buffer behind it.</summary>
    private bool Holds(uint id) => id < (uint)_buffers.Length && _buffers[id] >= 0;

    /// <summary>Bytes a buffer offers the device: from <c>headroom - 12</c> (20 with HASH_REPORT) to its end.</summary>
    private int Room(BufferPool pool) => pool.BufferSize - (pool.Headroom - _headerLength);

    /// <summary>
    /// Puts a fresh buffer of <paramref name="cache"/> behind every free descriptor, publishes them
    /// and notifies the device if it asks (§2.7.13). Stops when the cache runs dry: the next burst tries again.
    /// </summary>
    public void Refill(BufferCache cache)
    {
        if (_ring.FreeDescriptors == 0)
            return;
        BufferPool pool = cache.Pool;
        uint room = (uint)Room(pool);
        int added = 0;
        while (_ring.FreeDescriptors > 0 && cache.TryAllocate(out PacketBuffer buffer))
        {
            ushort id = _ring.TakeDescriptor();
            _buffers[id] = buffer.Index;
            ulong address = (ulong)(pool.Address(buffer.Index) + pool.Headroom - _headerLength);
            _ring.WriteDescriptor(id, address, room, Virtqueue.DescriptorWrite, 0);
            _ring.MakeAvailable(id);
            added++;
        }
        if (added == 0)
            return;
        _ring.Publish();
        if (_ring.NeedsNotification())
            _notify();
    }

    /// <summary>Every buffer on the ring back to <paramref name="cache"/>, with the device reset (it no longer writes them). Control path.</summary>
    public void ReleaseAll(BufferCache cache)
    {
        for (int id = 0; id < _buffers.Length; id++)
        {
            if (_buffers[id] < 0)
                continue;
            cache.Release(new PacketBuffer(_buffers[id]));
            _buffers[id] = -1;
        }
    }
}
