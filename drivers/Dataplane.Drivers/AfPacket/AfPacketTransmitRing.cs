using Dataplane.Drivers.Virtio;
using System.Runtime.InteropServices;
using Dataplane.Buffers;
using Dataplane.Native;
using Dataplane.Ports;

namespace Dataplane.Drivers.AfPacket;

/// <summary>
/// The transmit side of one queue: a TPACKET_V3 ring of fixed slots. We fill a slot (virtio-net
/// header, then the frame), mark it TP_STATUS_SEND_REQUEST, and once per burst kick the kernel with
/// an empty send(MSG_DONTWAIT); it sends every requested slot from its own head onwards and marks
/// each TP_STATUS_AVAILABLE again when the frame has left (tpacket_destruct_skb). Our head follows
/// the kernel's: both advance one slot per frame, in order. A frame longer than a slot (a jumbo
/// frame above the slot size, a TSO super-frame) goes by sendmsg instead, from its buffers, on a
/// second socket of the queue without a ring (<see cref="AfPacketChainSender"/>), once the kernel
/// has taken every slot requested before it: frames leave in the order given. Owned by one worker.
/// </summary>
internal sealed class AfPacketTransmitRing
{
    /// <summary>TP_STATUS_TS_*: how a sent slot was timestamped (only with PACKET_TIMESTAMP, which we leave off).</summary>
    private const uint TimestampBits = TpStatus.TimestampSoftware | TpStatus.TimestampSysHardware | TpStatus.TimestampRawHardware;

    private readonly PinnedMemory _mapping;
    private readonly int _slotSize;
    private readonly int _slotMask;
    private readonly int _frameRoom;
    private readonly PacketSocket _socket;
    private readonly PacketSocket _chainSocket;
    private readonly QueueCounters _counters;
    private readonly AfPacketChainSender _chains = new();
    private int _head; // the next slot to fill; the kernel's head is here too unless it stopped early

    /// <summary>
    /// The ring in <paramref name="mapping"/>, as <paramref name="geometry"/>
    /// shaped it, kicked through <paramref name="socket"/>; frames longer than a slot go by sendmsg on
    /// <paramref name="chainSocket"/>, which has no ring.
    /// </summary>
    public AfPacketTransmitRing(PinnedMemory mapping, AfPacketGeometry geometry, PacketSocket socket, PacketSocket chainSocket, QueueCounters counters)
    {
        _chainSocket = chainSocket;
        _mapping = mapping;
        _slotSize = geometry.TxSlotSize;
        _slotMask = AfPacketGeometry.TxSlotCount - 1;
        _frameRoom = geometry.TxFrameRoom;
        _socket = socket;
        _counters = counters;
    }

    /// <summary>
    /// Copies the frames of <paramref name="burst"/> into free slots, or sends those longer than a
    /// slot by sendmsg, releases their buffers to <paramref name="cache"/>, and kicks the kernel once
    /// a run of slots. Returns how many it took from the front: fewer than the burst when the ring is
    /// full, or when the socket has no send-buffer room for a frame that goes by sendmsg (EAGAIN).
    /// A frame that cannot be sent (offload fields outside it, a chain that does not add up, one the
    /// kernel refuses) is taken, released and counted as an error; one the device's queue refused
    /// (ENOBUFS) as a transmit drop.
    /// </summary>
    public int Transmit(ReadOnlySpan<PacketBuffer> burst, BufferCache cache)
    {
        Span<byte> ring = _mapping.Span[..((_slotMask + 1) * _slotSize)];
        BufferPool pool = cache.Pool;
        int taken = 0;
        int queued = 0;
        bool full = false;
        for (; taken < burst.Length; taken++)
        {
            PacketBuffer frame = burst[taken];
            int length = pool.Metadata(frame).PacketLength;
            if ((uint)length > (uint)_frameRoom)
            {
                if (!SendOutsideRing(ring, pool, frame, length, cache))
                {
                    full = true;
                    break;
                }
                queued = 0; // kicked before it
                continue;
            }
            Span<byte> slot = ring.Slice(_head * _slotSize, _slotSize);
            ref Tpacket3Hdr header = ref MemoryMarshal.AsRef<Tpacket3Hdr>(slot);
            // Acquire: a slot the kernel gave back is entirely ours after this read.
            if ((Volatile.Read(ref header.Status) & ~TimestampBits) != TpStatus.Available)
            {
                full = true; // still requested or being sent: the ring is full
                break;
            }
            if (!TryFill(pool, frame, length, slot))
            {
                _counters.Errors++;
                cache.Release(frame);
                continue;
            }
            header.Length = (uint)(VirtioNetHeader.Size + length); // tp_len counts the virtio-net header
            header.NextOffset = 0; // TPACKET_V3 transmit has no variable-sized slots
            // Release: the frame and its length are written before the kernel can see the request.
            Volatile.Write(ref header.Status, TpStatus.SendRequest);
            cache.Release(frame);
            _counters.TransmittedPackets++;
            _counters.TransmittedBytes += length;
            _head = (_head + 1) & _slotMask;
            queued++;
        }
        // A full ring also gets a kick: slots requested by an earlier burst whose kick failed go now.
        if (queued > 0 || full)
            Kick(ring);
        return taken;
    }

    /// <summary>
    /// Sends a frame longer than a slot by sendmsg. The slots requested before it go first: the
    /// kernel sends them at a kick, in order (tpacket_snd), and the frame waits for that; if some
    /// are still requested after the kick (no send-buffer room), or the socket has no room for the
    /// frame either (EAGAIN), returns false and the frame stays the caller's. Otherwise the frame
    /// is released, sent or counted.
    /// </summary>
    private bool SendOutsideRing(Span<byte> ring, BufferPool pool, PacketBuffer frame, int length, BufferCache cache)
    {
        if (Requested(ring))
        {
            Kick(ring);
            if (Requested(ring))
                return false;
        }
        nint n = _chains.Send(_chainSocket, pool, frame, length);
        if (n == -Errno.EAGAIN)
            return false;
        if (n >= 0)
        {
            _counters.TransmittedPackets++;
            _counters.TransmittedBytes += length;
        }
        else if (n == -Errno.ENOBUFS)
        {
            // packet_snd hands the skb to the device (qdisc bypass: packet_xmit, dev_direct_xmit),
            // which dropped it: the kernel freed it, so it is lost, not ours to send again.
            _counters.TransmitDrops++;
        }
        else
        {
            _counters.Errors++; // EMSGSIZE: not a super-frame and longer than the interface's MTU; EINVAL: a header the kernel refuses
        }
        cache.Release(frame);
        return true;
    }

    /// <summary>
    /// Whether the slot before our head is still TP_STATUS_SEND_REQUEST: the kernel sends requested
    /// slots in order, so if the last one requested is not, none before it is.
    /// </summary>
    private bool Requested(Span<byte> ring)
    {
        ref Tpacket3Hdr last = ref Slot(ring, (_head - 1) & _slotMask);
        return (Volatile.Read(ref last.Status) & ~TimestampBits) == TpStatus.SendRequest;
    }

    private bool TryFill(BufferPool pool, PacketBuffer frame, int length, Span<byte> slot)
    {
        if ((uint)length > (uint)_frameRoom || !VirtioNetOffload.TryTransmit(pool.Metadata(frame), pool.Data(frame), length, out VirtioNetHeader vnet))
            return false;
        Span<byte> data = slot.Slice(Tpacket3Hdr.TxDataOffset, VirtioNetHeader.Size + length);
        MemoryMarshal.Write(data, in vnet);
        // A chain is gathered into the one slot.
        Span<byte> to = data[VirtioNetHeader.Size..];
        int copied = 0;
        for (PacketBuffer piece = frame; piece.IsValid; piece = new PacketBuffer(pool.Metadata(piece).Next))
        {
            Span<byte> bytes = pool.Data(piece);
            if (bytes.Length > to.Length - copied)
                return false; // the chain holds more than the head says
            bytes.CopyTo(to[copied..]);
            copied += bytes.Length;
        }
        return copied == length;
    }

    /// <summary>
    /// send(fd, NULL, 0, MSG_DONTWAIT): the kernel sends every requested slot from its head on
    /// (af_packet.c, tpacket_snd). When it fails part-way it stops with its head on the slot that
    /// failed. A slot it could not get memory or queue room for keeps SEND_REQUEST and goes with the
    /// next kick. A slot it refused is marked TP_STATUS_WRONG_FORMAT and would hold its head for good,
    /// so we take our head back to it and drop the requests behind it, which it never looked at.
    /// </summary>
    private void Kick(Span<byte> ring)
    {
        nint result = _socket.KickTransmit();
        if (result >= 0 || result == -Errno.EAGAIN || result == -Errno.ENOBUFS)
            return; // sent, or congestion: what is still requested goes with the next kick
        _counters.Errors++;
        // The refused slot is the one just before the run of requests that ends at our head.
        for (int back = 1; back <= _slotMask + 1; back++)
        {
            int index = (_head - back) & _slotMask;
            ref Tpacket3Hdr slot = ref Slot(ring, index);
            uint status = Volatile.Read(ref slot.Status) & ~TimestampBits;
            if (status == TpStatus.SendRequest)
                continue;
            if (status == TpStatus.WrongFormat)
            {
                for (int i = 0; i < back; i++)
                {
                    ref Tpacket3Hdr dropped = ref Slot(ring, (index + i) & _slotMask);
                    _counters.TransmittedPackets--;
                    _counters.TransmittedBytes -= dropped.Length - VirtioNetHeader.Size;
                    if (i > 0)
                        _counters.TransmitDrops++; // the refused one itself is the error counted above
                    Volatile.Write(ref dropped.Status, TpStatus.Available);
                }
                _head = index;
            }
            return;
        }
    }

    private ref Tpacket3Hdr Slot(Span<byte> ring, int index) => ref MemoryMarshal.AsRef<Tpacket3Hdr>(ring.Slice(index * _slotSize, _slotSize));
}
