using Dataplane.Drivers.Virtio;
using System.Buffers.Binary;
using System.Diagnostics;
using System.Runtime.InteropServices;
using Dataplane.Buffers;
using Dataplane.Native;
using Dataplane.Ports;

namespace Dataplane.Drivers.AfPacket;

/// <summary>
/// The receive side of one queue: a TPACKET_V3 ring of blocks the kernel fills with frames and
/// hands over one block at a time (block_status TP_STATUS_USER), and we hand back (TP_STATUS_KERNEL)
/// once every frame in it is copied out. A burst may end in the middle of a block; the next burst
/// resumes at the frame it stopped at. Owned by one worker; nothing here is shared.
/// </summary>
/// <remarks>
/// Each frame is copied into pool buffers rather than handed up in place: a block goes back to the
/// kernel only when all its frames are done, so lending its memory to the stack would let one slow
/// packet (queued for reassembly, a TCP out-of-order queue) hold a whole block of the ring hostage.
/// One copy per frame is what the kernel's own recv() does; it is the simplest correct choice, and
/// AF_XDP is the driver for zero copy.
/// </remarks>
internal sealed class AfPacketReceiveRing
{
    /// <summary>Where the <c>sockaddr_ll</c> sits after each frame's header: TPACKET_ALIGN(sizeof(tpacket3_hdr)).</summary>
    private const int AddressOffset = 48;

    /// <summary><c>sll_pkttype</c> within <c>sockaddr_ll</c>.</summary>
    private const int PacketTypeOffset = 10;

    /// <summary>PACKET_OUTGOING (<c>linux/if_packet.h</c>): a frame this host sent out of the interface.</summary>
    private const byte PacketOutgoing = 4;

    /// <summary>An 802.1Q tag: TPID and TCI.</summary>
    private const int VlanTagLength = 4;

    /// <summary>The two MAC addresses, after which a tag goes.</summary>
    private const int MacAddressesLength = 12;

    private readonly PinnedMemory _mapping;
    private readonly int _blockSize;
    private readonly int _blockCount;
    private readonly PacketSocket _socket;
    private readonly QueueCounters _counters;
    private readonly ushort _port;
    private readonly ushort _queue;
    private int _block;       // the block to read next
    private int _frame;       // frames of that block already consumed
    private int _frameOffset; // from the block start to the next frame's tpacket3_hdr

    /// <summary>The ring at the start of <paramref name="mapping"/>, as <paramref name="geometry"/> shaped it.</summary>
    public AfPacketReceiveRing(PinnedMemory mapping, AfPacketGeometry geometry, PacketSocket socket, QueueCounters counters, ushort port, ushort queue)
    {
        _mapping = mapping;
        _blockSize = (int)geometry.Rx.BlockSize;
        _blockCount = (int)geometry.Rx.BlockCount;
        _socket = socket;
        _counters = counters;
        _port = port;
        _queue = queue;
    }

    /// <summary>
    /// Copies up to <paramref name="burst"/>.Length frames out of the ring into buffers of
    /// <paramref name="cache"/>; returns how many. A frame with no buffer for it is dropped and counted.
    /// </summary>
    public int Receive(Span<PacketBuffer> burst, BufferCache cache)
    {
        Span<byte> ring = _mapping.Span;
        long now = Stopwatch.GetTimestamp(); // one clock read per burst
        int n = 0;
        while (n < burst.Length)
        {
            Span<byte> block = ring.Slice(_block * _blockSize, _blockSize);
            ref TpacketBlockDesc descriptor = ref MemoryMarshal.AsRef<TpacketBlockDesc>(block);
            // Acquire: once the block reads TP_STATUS_USER, every frame the kernel wrote into it is visible.
            uint status = Volatile.Read(ref descriptor.Header.BlockStatus);
            if ((status & TpStatus.User) == 0)
                break;
            int count = (int)descriptor.Header.PacketCount;
            if (_frame == 0)
            {
                _frameOffset = (int)descriptor.Header.OffsetToFirstPacket;
                // TP_STATUS_LOSING: the kernel dropped frames (the ring was full) since the statistics were read.
                if ((status & TpStatus.Losing) != 0)
                    FoldKernelDrops();
            }
            while (_frame < count && n < burst.Length)
            {
                ref Tpacket3Hdr header = ref MemoryMarshal.AsRef<Tpacket3Hdr>(block[_frameOffset..]);
                if (TryCopy(block, _frameOffset, ref header, cache, now, out PacketBuffer buffer))
                    burst[n++] = buffer;
                _frameOffset += (int)header.NextOffset;
                _frame++;
            }
            if (_frame < count)
                break; // the burst is full: the rest of this block waits for the next one
            // Release: every read of the block happens before the kernel may fill it again.
            Volatile.Write(ref descriptor.Header.BlockStatus, TpStatus.Kernel);
            _frame = 0;
            _block = _block + 1 == _blockCount ? 0 : _block + 1;
        }
        _counters.ReceivedPackets += n;
        return n;
    }

    /// <summary>
    /// Hands every block we hold back unread and clears the kernel's counters: what arrived while the
    /// port was stopped is not delivered. Control path, with the worker stopped.
    /// </summary>
    public void Discard()
    {
        Span<byte> ring = _mapping.Span;
        for (int i = 0; i < _blockCount; i++)
        {
            ref TpacketBlockDesc descriptor = ref MemoryMarshal.AsRef<TpacketBlockDesc>(ring.Slice(_block * _blockSize, _blockSize));
            if ((Volatile.Read(ref descriptor.Header.BlockStatus) & TpStatus.User) == 0)
                break;
            Volatile.Write(ref descriptor.Header.BlockStatus, TpStatus.Kernel);
            _block = _block + 1 == _blockCount ? 0 : _block + 1;
        }
        _frame = 0;
        _socket.GetStatistics(); // reading resets them
    }

    /// <summary>Adds the frames the kernel dropped for want of ring space (PACKET_STATISTICS, cleared on read) to ReceiveDrops.</summary>
    public void FoldKernelDrops() => _counters.ReceiveDrops += _socket.GetStatistics().Drops;

    private bool TryCopy(Span<byte> block, int at, ref Tpacket3Hdr header, BufferCache cache, long now, out PacketBuffer buffer)
    {
        buffer = PacketBuffer.None;
        // A frame the host itself sent out of this interface: a NIC's receive queue never sees those.
        if (block[at + AddressOffset + PacketTypeOffset] == PacketOutgoing)
            return false;
        int mac = at + header.MacOffset;
        int captured = (int)header.SnapLength;
        // Cut short (longer than a block) or too short for an Ethernet header: not a frame we can pass on.
        if (captured < header.Length || captured < MacAddressesLength + 2)
        {
            _counters.ReceiveDrops++;
            return false;
        }
        ReadOnlySpan<byte> frame = block.Slice(mac, captured);
        // PACKET_VNET_HDR: the virtio-net header sits right before the frame (af_packet.c, tpacket_rcv).
        ref readonly VirtioNetHeader vnet = ref MemoryMarshal.AsRef<VirtioNetHeader>(block.Slice(mac - VirtioNetHeader.Size, VirtioNetHeader.Size));

        // The kernel takes a VLAN tag out of the frame into tp_vlan_tci before packet sockets see it
        // (__netif_receive_skb_core, skb_vlan_untag); put it back where it was on the wire.
        bool tagged = (header.Status & TpStatus.VlanValid) != 0;
        var writer = new BufferChainWriter(cache);
        bool copied;
        if (tagged)
        {
            Span<byte> tag = stackalloc byte[VlanTagLength];
            ushort tpid = (header.Status & TpStatus.VlanTpidValid) != 0 ? header.VlanTpid : (ushort)0x8100;
            BinaryPrimitives.WriteUInt16BigEndian(tag, tpid);
            BinaryPrimitives.WriteUInt16BigEndian(tag[2..], (ushort)header.VlanTci);
            copied = frame.Length + VlanTagLength <= BufferPool.MaxPacketLength && writer.TryStart()
                && writer.TryWrite(frame[..MacAddressesLength]) && writer.TryWrite(tag) && writer.TryWrite(frame[MacAddressesLength..]);
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
        ref BufferMetadata m = ref cache.Pool.Metadata(buffer);
        m.Port = _port;
        m.Queue = _queue;
        m.Timestamp = now;
        // tp_rxhash is skb_get_hash: the device's RSS hash, or the kernel's symmetric flow hash, the one
        // PACKET_FANOUT_HASH spread the flows with. 0 means none.
        if (header.RxHash != 0)
        {
            // The kernel's flow hash is not the symmetric Toeplitz hash the engine places flows by
            // (and fanout picks the queue from its high bits), so it is kept for reference but not
            // claimed: the worker hashes the flow itself and hands it to its owner.
            m.RssHash = header.RxHash;
        }
        VirtioNetOffload.Receive(vnet, ref m, tagged ? VlanTagLength : 0);
        _counters.ReceivedBytes += writer.Length;
        return true;
    }
}
