using System.Numerics;
using Dataplane.Native;

namespace Dataplane.Drivers.AfPacket;

/// <summary>
/// The shape of one queue's TPACKET_V3 rings (the kernel's Documentation/networking/packet_mmap.rst).
/// Receive: 64 blocks of 128 KiB. The kernel hands a block over when it is full or 1 ms after it
/// opened, so a quiet link still delivers within a millisecond, and a burst of frames costs one
/// block hand-back. Because a block is retired after 1 ms however little it holds, the ring absorbs
/// a stalled reader for about (blocks x 1 ms) at low rates, not for its byte size: many smaller
/// blocks (64 ms) beat a few large ones (8 x 1 MiB would be 8 ms). 128 KiB still holds a 64 KiB
/// super-frame, and ~900 small frames (1 ms of 1 Mpps). Frames are packed into a block, so the
/// nominal frame size only sets tp_frame_nr. Transmit: 256 fixed slots, each large enough for the
/// slot header, the virtio-net header and a VLAN-tagged frame of the MTU, up to 16 KiB: a 9,216-byte
/// jumbo MTU still fits a slot (4 MiB of ring). A frame longer than a slot (a super-frame, or a
/// frame of a larger MTU) does not need one: it leaves by sendmsg straight from its buffer chain
/// (<see cref="AfPacketChainSender"/>), so the slots need not grow to 64 KiB. Both rings share one
/// mapping: receive first, then transmit (af_packet.c, packet_mmap).
/// </summary>
internal readonly record struct AfPacketGeometry
{
    /// <summary>Bytes per receive block: ~85 full-size frames, or one 64 KiB super-frame (a block holds whole frames only).</summary>
    public const uint RxBlockSize = 128 << 10;

    /// <summary>Receive blocks: 8 MiB of ring per queue, ~6 ms of 10 Gbit/s line rate, 64 ms of a stall at low rates.</summary>
    public const uint RxBlockCount = 64;

    /// <summary>The nominal receive frame size (TPACKET_V3 packs frames; this only sets tp_frame_nr).</summary>
    public const uint RxFrameSize = 2048;

    /// <summary>tp_retire_blk_tov: a partly filled block is handed over after this many milliseconds.</summary>
    public const uint RetireTimeoutMilliseconds = 1;

    /// <summary>Transmit slots, a power of two so the head wraps with a mask.</summary>
    public const int TxSlotCount = 256;

    /// <summary>Transmit slots per block: blocks stay small (contiguous pages are easy to find) and the ring linear.</summary>
    public const int TxSlotsPerBlock = 32;

    /// <summary>The smallest transmit slot: a standard frame with its headers, as a NIC ring's 2 KiB buffer.</summary>
    public const int MinTxSlotSize = 2048;

    /// <summary>The largest transmit slot: a 9,216-byte jumbo frame with its headers; longer frames go by sendmsg.</summary>
    public const int MaxTxSlotSize = 16 << 10;

    /// <summary>TP_FT_REQ_FILL_RXHASH (<c>linux/if_packet.h</c>): the kernel writes skb_get_hash into tp_rxhash.</summary>
    private const uint FillRxHash = 1;

    /// <summary>An Ethernet header with one 802.1Q tag.</summary>
    private const int TaggedEthernetHeader = 14 + 4;

    private AfPacketGeometry(TpacketReq3 rx, TpacketReq3 tx)
    {
        Rx = rx;
        Tx = tx;
    }

    /// <summary>The receive ring request.</summary>
    public TpacketReq3 Rx { get; }

    /// <summary>The transmit ring request.</summary>
    public TpacketReq3 Tx { get; }

    /// <summary>Bytes of one transmit slot.</summary>
    public int TxSlotSize => (int)Tx.FrameSize;

    /// <summary>The longest frame a transmit slot holds, after the slot header and the virtio-net header.</summary>
    public int TxFrameRoom => TxSlotSize - Tpacket3Hdr.TxDataOffset - VirtioNetHeader.Size;

    /// <summary>Bytes to map: the receive ring, then the transmit ring.</summary>
    public nuint MappingLength => Rx.RingSize + Tx.RingSize;

    /// <summary>The rings for an interface of MTU <paramref name="mtu"/>.</summary>
    public static AfPacketGeometry ForMtu(int mtu)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(mtu);
        TpacketReq3 rx = TpacketReq3.Create(RxBlockSize, RxBlockCount, RxFrameSize, RetireTimeoutMilliseconds);
        rx.FeatureRequestWord = FillRxHash;

        // A slot is its tpacket3_hdr (the data starts at TxDataOffset), the virtio-net header, then the
        // frame; rounded up to a power of two so slots never straddle a block.
        int needed = Tpacket3Hdr.TxDataOffset + VirtioNetHeader.Size + TaggedEthernetHeader + mtu;
        uint slot = Math.Clamp(BitOperations.RoundUpToPowerOf2((uint)needed), (uint)MinTxSlotSize, (uint)MaxTxSlotSize);
        // Transmit: no retire timeout, private area or feature word (af_packet.c, packet_set_ring).
        TpacketReq3 tx = TpacketReq3.Create(slot * TxSlotsPerBlock, TxSlotCount / TxSlotsPerBlock, slot);
        return new AfPacketGeometry(rx, tx);
    }
}
