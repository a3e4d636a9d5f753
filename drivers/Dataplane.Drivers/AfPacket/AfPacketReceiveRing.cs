using Dataplane.Drivers.Virtio;
using System.Buffers.Binary;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Dataplane.Buffers;
using Dataplane.Native;
using Dataplane.Ports;

namespace Dataplane.Drivers.AfPacket;

/// <summary>
/// The receive side of one queue: a TPACKET_V2 ring of fixed slots the kernel fills one frame at a
/// time and hands over (tp_status TP_STATUS_USER), and we hand back (TP_STATUS_KERNEL) once the
/// frame is copied out. A frame longer than a slot comes whole by recvmsg
/// (<see cref="AfPacketLongFrameReader"/>) when its slot says so (TP_STATUS_COPY). Owned by one
/// worker; nothing here is shared.
/// </summary>
/// <remarks>
/// Each frame is copied into pool buffers rather than handed up in place: lending the ring's memory
/// to the stack would let one slow packet (queued for reassembly, a TCP out-of-order queue) hold its
/// slot, and the kernel fills slots in order only. One copy per frame is what the kernel's own
/// recv() does; it is the simplest correct choice, and AF_XDP is the driver for zero copy.
/// </remarks>
internal sealed class AfPacketReceiveRing
{
    /// <summary><c>sll_pkttype</c> within the slot's <c>sockaddr_ll</c>.</summary>
    private const int PacketTypeOffset = Tpacket2Hdr.AddressOffset + 10;

    /// <summary>PACKET_OUTGOING (<c>linux/if_packet.h</c>): a frame this host sent out of the interface.</summary>
    private const byte PacketOutgoing = 4;

    /// <summary>An 802.1Q tag: TPID and TCI.</summary>
    private const int VlanTagLength = 4;

    /// <summary>The two MAC addresses, after which a tag goes.</summary>
    private const int MacAddressesLength = 12;

    private readonly PinnedMemory _mapping;
    private readonly int _slotSize;
    private readonly int _slotCount;
    private readonly PacketSocket _socket;
    private readonly QueueCounters _counters;
    private readonly AfPacketLongFrameReader _longFrames = new();
    private readonly ushort _port;
    private readonly ushort _queue;
    private int _slot; // the slot to read next; the kernel fills them in the same order

    /// <summary>The ring in <paramref name="mapping"/>, as <paramref name="geometry"/> shaped it, of <paramref name="socket"/>.</summary>
    public AfPacketReceiveRing(PinnedMemory mapping, AfPacketGeometry geometry, PacketSocket socket, QueueCounters counters, ushort port, ushort queue)
    {
        _mapping = mapping;
        _slotSize = geometry.RxSlotSize;
        _slotCount = (int)geometry.Rx.FrameCount;
        _socket = socket;
        _counters = counters;
        _port = port;
        _queue = queue;
    }

    /// <summary>
    /// Copies up to <paramref name="burst"/>.Length frames out of the ring into buffers of
    /// <paramref name="cache"/>; returns how many. A frame with no buffer for it is dropped and
    /// counted. Frames not delivered (dropped, or sent by this host) count against the burst too, so
    /// a flood of them cannot hold the worker here.
    /// </summary>
    public int Receive(Span<PacketBuffer> burst, BufferCache cache)
    {
        Span<byte> ring = _mapping.Span;
        long now = 0;
        int n = 0;
        for (int reads = 0; reads < burst.Length; reads++)
        {
            Span<byte> slot = ring.Slice(_slot * _slotSize, _slotSize);
            ref Tpacket2Hdr header = ref MemoryMarshal.AsRef<Tpacket2Hdr>(slot);
            // Acquire: once the slot reads TP_STATUS_USER, the frame the kernel wrote into it is visible.
            uint status = Volatile.Read(ref header.Status);
            if ((status & TpStatus.User) == 0)
                break;
            // TP_STATUS_LOSING: the kernel dropped frames (the ring was full) since the statistics were
            // read; reading them clears it.
            if ((status & TpStatus.Losing) != 0)
                FoldKernelDrops();
            if (now == 0)
                now = Stopwatch.GetTimestamp(); // one clock read per burst
            if (TryTake(slot, ref header, status, cache, now, out PacketBuffer buffer))
                burst[n++] = buffer;
            // Release: every read of the slot happens before the kernel may fill it again.
            Volatile.Write(ref header.Status, TpStatus.Kernel);
            _slot = _slot + 1 == _slotCount ? 0 : _slot + 1;
        }
        _counters.ReceivedPackets += n;
        return n;
    }

    /// <summary>
    /// Hands every slot we hold back unread, with the whole frames queued for those marked
    /// TP_STATUS_COPY, and clears the kernel's counters: what arrived while the port was stopped is
    /// not delivered. A slot still being filled keeps its queued frame, so the queue stays in step
    /// with the slots. Control path, with the worker stopped.
    /// </summary>
    public void Discard()
    {
        Span<byte> ring = _mapping.Span;
        for (int i = 0; i < _slotCount; i++)
        {
            ref Tpacket2Hdr header = ref MemoryMarshal.AsRef<Tpacket2Hdr>(ring.Slice(_slot * _slotSize, _slotSize));
            uint status = Volatile.Read(ref header.Status);
            if ((status & TpStatus.User) == 0)
                break;
            if ((status & TpStatus.Copy) != 0)
                _longFrames.Discard(_socket);
            Volatile.Write(ref header.Status, TpStatus.Kernel);
            _slot = _slot + 1 == _slotCount ? 0 : _slot + 1;
        }
        _socket.GetStatistics(); // reading resets them
    }

    /// <summary>Adds the frames the kernel dropped for want of ring space (PACKET_STATISTICS, cleared on read) to ReceiveDrops.</summary>
    public void FoldKernelDrops() => _counters.ReceiveDrops += _socket.GetStatistics().Drops;

    /// <summary>
    /// The frame of a slot the kernel handed over, as a chain of <paramref name="cache"/>'s buffers
    /// with its metadata: false when it is not delivered (sent by this host, cut short, no buffers).
    /// </summary>
    private bool TryTake(Span<byte> slot, ref Tpacket2Hdr header, uint status, BufferCache cache, long now, out PacketBuffer buffer)
    {
        buffer = PacketBuffer.None;
        bool queued = (status & TpStatus.Copy) != 0;
        // A frame the host itself sent out of this interface: a NIC's receive queue never sees those.
        if (slot[PacketTypeOffset] == PacketOutgoing)
        {
            if (queued)
                _longFrames.Discard(_socket);
            return false;
        }
        // The kernel takes a VLAN tag out of the frame into tp_vlan_tci before packet sockets see it
        // (__netif_receive_skb_core, skb_vlan_untag); it goes back where it was on the wire.
        uint tag = 0;
        if ((status & TpStatus.VlanValid) != 0)
            tag = (uint)((status & TpStatus.VlanTpidValid) != 0 ? header.VlanTpid : 0x8100) << 16 | header.VlanTci;
        ref BufferMetadata m = ref Unsafe.NullRef<BufferMetadata>();
        if (queued)
        {
            // Longer than a slot: the whole frame is on the socket's queue.
            buffer = _longFrames.Read(_socket, cache, (int)header.Length, tag);
            if (!buffer.IsValid)
            {
                _counters.ReceiveDrops++;
                return false;
            }
            m = ref cache.Pool.Metadata(buffer);
            VirtioNetOffload.Receive(_longFrames.Header, ref m, tag == 0 ? 0 : VlanTagLength);
        }
        else
        {
            if (!TryCopy(slot, ref header, tag, cache, out buffer))
                return false;
            m = ref cache.Pool.Metadata(buffer);
            // PACKET_VNET_HDR: the virtio-net header sits right before the frame (af_packet.c, tpacket_rcv).
            ref readonly VirtioNetHeader vnet = ref MemoryMarshal.AsRef<VirtioNetHeader>(slot.Slice(header.MacOffset - VirtioNetHeader.Size, VirtioNetHeader.Size));
            VirtioNetOffload.Receive(vnet, ref m, tag == 0 ? 0 : VlanTagLength);
        }
        m.Port = _port;
        m.Queue = _queue;
        m.Timestamp = now;
        _counters.ReceivedBytes += m.PacketLength;
        return true;
    }

    /// <summary>Copies the frame in <paramref name="slot"/>, with <paramref name="tag"/> put back (0: none), into buffers of <paramref name="cache"/>.</summary>
    private bool TryCopy(Span<byte> slot, ref Tpacket2Hdr header, uint tag, BufferCache cache, out PacketBuffer buffer)
    {
        buffer = PacketBuffer.None;
        int mac = header.MacOffset;
        int captured = (int)header.SnapLength;
        // Cut to the slot with no room to queue it whole (the receive buffer was full), or too short
        // for an Ethernet header: not a frame we can pass on.
        if (captured < header.Length || captured < MacAddressesLength + 2 || mac + captured > slot.Length)
        {
            _counters.ReceiveDrops++;
            return false;
        }
        ReadOnlySpan<byte> frame = slot.Slice(mac, captured);
        var writer = new BufferChainWriter(cache);
        bool copied;
        if (tag != 0)
        {
            Span<byte> tagBytes = stackalloc byte[VlanTagLength];
            BinaryPrimitives.WriteUInt32BigEndian(tagBytes, tag);
            copied = frame.Length + VlanTagLength <= BufferPool.MaxPacketLength && writer.TryStart()
                && writer.TryWrite(frame[..MacAddressesLength]) && writer.TryWrite(tagBytes) && writer.TryWrite(frame[MacAddressesLength..]);
        }
        else
        {
            copied = frame.Length <= BufferPool.MaxPacketLength && writer.TryStart() && writer.TryWrite(frame);
        }
        if (!copied)
        {
            writer.Abandon();
            _counters.ReceiveDrops++;
            return false;
        }
        writer.Finish();
        buffer = writer.Head;
        return true;
    }
}
