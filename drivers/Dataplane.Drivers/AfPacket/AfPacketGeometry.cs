using System.Numerics;
using Dataplane.Native;

namespace Dataplane.Drivers.AfPacket;

/// <summary>
/// The shape of one queue's rings (the kernel's Documentation/networking/packet_mmap.rst).
/// Receive: a TPACKET_V2 ring of fixed slots, 8 MiB of them: 4,096 slots of 2 KiB for a standard
/// MTU, fewer and larger (up to 16 KiB) for a jumbo one. The kernel hands a slot over the moment its
/// frame is in (TP_STATUS_USER) and wakes the socket's poller, so a lone frame waits for nothing:
/// TPACKET_V3's blocks were handed over only when full or after their retire timeout, at least 1 ms,
/// which every ping and every TCP acknowledgement through a quiet port paid. A frame longer than a
/// slot (a super-frame GRO or the peer's GSO built, a frame above the MTU the slots were sized
/// for) is cut to the slot, marked TP_STATUS_COPY, and queued whole on the socket
/// (PACKET_COPY_THRESH), whose receive buffer holds <see cref="RxQueueBytes"/> of them; the reader
/// takes it from there by recvmsg straight into its buffers, at the slot where it came, so frames
/// keep their order. Transmit: 256 fixed slots, each large enough for the
/// slot header, the virtio-net header and a VLAN-tagged frame of the MTU, up to 16 KiB: a 9,216-byte
/// jumbo MTU still fits a slot (4 MiB of ring). A frame longer than a slot (a super-frame, or a
/// frame of a larger MTU) does not need one: it leaves by sendmsg straight from its buffer chain
/// (<see cref="AfPacketChainSender"/>), so the slots need not grow to 64 KiB. Each ring is on a
/// socket and in a mapping of its own (a socket's rings share one version, and the transmit ring
/// keeps TPACKET_V3's slot layout).
/// </summary>
internal readonly record struct AfPacketGeometry
{
    /// <summary>Bytes of receive slots per queue: ~6 ms of 10 Gbit/s of full-size frames.</summary>
    public const int RxRingBytes = 8 << 20;

    /// <summary>Bytes per receive block: the unit the kernel allocates the ring in (a multiple of the page and slot sizes).</summary>
    public const uint RxBlockSize = 128 << 10;

    /// <summary>The smallest receive slot: a standard frame with its headers.</summary>
    public const int MinRxSlotSize = 2048;

    /// <summary>The largest receive slot: a 9,216-byte jumbo frame with its headers; longer frames come by recvmsg.</summary>
    public const int MaxRxSlotSize = 16 << 10;

    /// <summary>
    /// Where the kernel puts a received frame in its slot (af_packet.c, tpacket_rcv, for a SOCK_RAW
    /// socket with PACKET_VNET_HDR): the network header at TPACKET_ALIGN(TPACKET2_HDRLEN + 16) + 10 =
    /// TPACKET_ALIGN(52 + 16) + 10 = 90, the 14-byte Ethernet header before it.
    /// </summary>
    public const int RxMacOffset = 76;

    /// <summary>
    /// The receive buffer for frames longer than a slot, queued whole until the reader takes them:
    /// about 100 super-frames of 64 KiB by their truesize. Past it, such a frame is only cut, and dropped.
    /// </summary>
    public const int RxQueueBytes = 8 << 20;

    /// <summary>Transmit slots, a power of two so the head wraps with a mask.</summary>
    public const int TxSlotCount = 256;

    /// <summary>Transmit slots per block: blocks stay small (contiguous pages are easy to find) and the ring linear.</summary>
    public const int TxSlotsPerBlock = 32;

    /// <summary>The smallest transmit slot: a standard frame with its headers, as a NIC ring's 2 KiB buffer.</summary>
    public const int MinTxSlotSize = 2048;

    /// <summary>The largest transmit slot: a 9,216-byte jumbo frame with its headers; longer frames go by sendmsg.</summary>
    public const int MaxTxSlotSize = 16 << 10;

    /// <summary>An Ethernet header with one 802.1Q tag.</summary>
    private const int TaggedEthernetHeader = 14 + 4;

    private AfPacketGeometry(TpacketReq rx, TpacketReq3 tx)
    {
        Rx = rx;
        Tx = tx;
    }

    /// <summary>The receive ring request.</summary>
    public TpacketReq Rx { get; }

    /// <summary>Bytes of one receive slot.</summary>
    public int RxSlotSize => (int)Rx.FrameSize;

    /// <summary>The transmit ring request.</summary>
    public TpacketReq3 Tx { get; }

    /// <summary>Bytes of one transmit slot.</summary>
    public int TxSlotSize => (int)Tx.FrameSize;

    /// <summary>The longest frame a transmit slot holds, after the slot header and the virtio-net header.</summary>
    public int TxFrameRoom => TxSlotSize - Tpacket3Hdr.TxDataOffset - VirtioNetHeader.Size;

    /// <summary>The rings for an interface of MTU <paramref name="mtu"/>.</summary>
    public static AfPacketGeometry ForMtu(int mtu)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(mtu);
        // A receive slot holds its header, the virtio-net header and a frame of the MTU (the kernel
        // takes a VLAN tag out of the frame; a second one stays in).
        int rxNeeded = RxMacOffset + TaggedEthernetHeader + mtu;
        uint rxSlot = Math.Clamp(BitOperations.RoundUpToPowerOf2((uint)rxNeeded), (uint)MinRxSlotSize, (uint)MaxRxSlotSize);
        TpacketReq rx = TpacketReq.Create(RxBlockSize, (uint)RxRingBytes / RxBlockSize, rxSlot);

        // A transmit slot is its tpacket3_hdr (the data starts at TxDataOffset), the virtio-net
        // header, then the frame; rounded up to a power of two so slots never straddle a block.
        int needed = Tpacket3Hdr.TxDataOffset + VirtioNetHeader.Size + TaggedEthernetHeader + mtu;
        uint slot = Math.Clamp(BitOperations.RoundUpToPowerOf2((uint)needed), (uint)MinTxSlotSize, (uint)MaxTxSlotSize);
        // Transmit: no retire timeout, private area or feature word (af_packet.c, packet_set_ring).
        TpacketReq3 tx = TpacketReq3.Create(slot * TxSlotsPerBlock, TxSlotCount / TxSlotsPerBlock, slot);
        return new AfPacketGeometry(rx, tx);
    }
}
