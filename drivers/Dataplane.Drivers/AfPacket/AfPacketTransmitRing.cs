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
/// the kernel's: both advance one slot per frame, in order. Owned by one worker.
/// </summary>
internal sealed class AfPacketTransmitRing
{
    /// <summary>TP_STATUS_TS_*: how a sent slot was timestamped (only with PACKET_TIMESTAMP, which we leave off).</summary>
    private const uint TimestampBits = TpStatus.TimestampSoftware | TpStatus.TimestampSysHardware | TpStatus.TimestampRawHardware;

    private readonly PinnedMemory _mapping;
    private readonly int _ringOffset;
    private readonly int _slotSize;
    private readonly int _slotMask;
    private readonly int _frameRoom;
    private readonly PacketSocket _socket;
    private readonly QueueCounters _counters;
    private int _head; // the next slot to fill; the kernel's head is here too unless it stopped early

    /// <summary>The ring after the receive ring in <paramref name="mapping"/>, as <paramref name="geometry"/> shaped it.</summary>
    public AfPacketTransmitRing(PinnedMemory mapping, AfPacketGeometry geometry, PacketSocket socket, QueueCounters counters)
    {
        _mapping = mapping;
        _ringOffset = (int)geometry.Rx.RingSize;
        _slotSize = geometry.TxSlotSize;
        _slotMask = AfPacketGeometry.TxSlotCount - 1;
        _frameRoom = geometry.TxFrameRoom;
        _socket = socket;
        _counters = counters;
    }

    /// <summary>
    /// Copies the frames of <paramref name="burst"/> into free slots, releases their buffers to
    /// <paramref name="cache"/>, and kicks the kernel once. Returns how many it took from the front:
    /// fewer than the burst when the ring is full. A frame that cannot be sent (longer than a slot,
    /// offload fields outside it) is taken, released and counted as an error.
    /// </summary>
    public int Transmit(ReadOnlySpan<PacketBuffer> burst, BufferCache cache)
    {
        Span<byte> ring = _mapping.Span.Slice(_ringOffset, (_slotMask + 1) * _slotSize);
        BufferPool pool = cache.Pool;
        int taken = 0;
        int queued = 0;
        bool full = false;
        for (; taken < burst.Length; taken++)
        {
            Span<byte> slot = ring.Slice(_head * _slotSize, _slotSize);
            ref Tpacket3Hdr header = ref MemoryMarshal.AsRef<Tpacket3Hdr>(slot);
            // Acquire: a slot the kernel gave back is entirely ours after this read.
            if ((Volatile.Read(ref header.Status) & ~TimestampBits) != TpStatus.Available)
            {
                full = true; // still requested or being sent: the ring is full
                break;
            }
            PacketBuffer frame = burst[taken];
            int length = pool.Metadata(frame).PacketLength;
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
