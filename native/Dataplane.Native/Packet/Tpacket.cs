using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Dataplane.Native;

/// <summary>
/// <c>struct tpacket_req3</c> (<c>/usr/include/linux/if_packet.h</c>; the kernel's
/// Documentation/networking/packet_mmap.rst): the shape of a TPACKET_V3 ring for PACKET_RX_RING or
/// PACKET_TX_RING. 28 bytes. The block size is a multiple of the page size, the frame size a multiple
/// of 16 (TPACKET_ALIGNMENT), and <see cref="FrameCount"/> = (block size / frame size) x block count.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 28)]
public struct TpacketReq3
{
    /// <summary><c>tp_block_size</c>: bytes per block, a multiple of the page size.</summary>
    [FieldOffset(0)] public uint BlockSize;
    /// <summary><c>tp_block_nr</c>: blocks in the ring.</summary>
    [FieldOffset(4)] public uint BlockCount;
    /// <summary><c>tp_frame_size</c>: the frame slot size (transmit), the nominal one (receive: frames are packed).</summary>
    [FieldOffset(8)] public uint FrameSize;
    /// <summary><c>tp_frame_nr</c>: block size / frame size x block count.</summary>
    [FieldOffset(12)] public uint FrameCount;
    /// <summary><c>tp_retire_blk_tov</c>: receive: ms after which a partly filled block is handed over (0: the kernel picks). Transmit: 0.</summary>
    [FieldOffset(16)] public uint RetireBlockTimeout;
    /// <summary><c>tp_sizeof_priv</c>: private bytes per block after the block descriptor. Transmit: 0.</summary>
    [FieldOffset(20)] public uint PrivateSize;
    /// <summary><c>tp_feature_req_word</c>: TP_FT_REQ_FILL_RXHASH (1) fills tp_rxhash. Transmit: 0.</summary>
    [FieldOffset(24)] public uint FeatureRequestWord;

    /// <summary>A ring of <paramref name="blockCount"/> blocks of <paramref name="blockSize"/> bytes and frames of <paramref name="frameSize"/>.</summary>
    public static TpacketReq3 Create(uint blockSize, uint blockCount, uint frameSize, uint retireBlockTimeoutMilliseconds = 0) => new()
    {
        BlockSize = blockSize,
        BlockCount = blockCount,
        FrameSize = frameSize,
        FrameCount = blockSize / frameSize * blockCount,
        RetireBlockTimeout = retireBlockTimeoutMilliseconds,
    };

    /// <summary>The bytes the ring takes in the mapping: block size x block count.</summary>
    public readonly nuint RingSize => (nuint)BlockSize * BlockCount;
}

/// <summary>
/// <c>struct tpacket_req</c> (<c>/usr/include/linux/if_packet.h</c>): the shape of a TPACKET_V1 or
/// TPACKET_V2 ring, 16 bytes: fixed frame slots, <see cref="FrameSize"/> apart, in blocks of
/// <see cref="BlockSize"/> (a multiple of the page size and of the frame size, so that frame i sits
/// i frame sizes into the mapping).
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 16)]
public struct TpacketReq
{
    /// <summary><c>tp_block_size</c>: bytes per block, a multiple of the page size.</summary>
    [FieldOffset(0)] public uint BlockSize;
    /// <summary><c>tp_block_nr</c>: blocks in the ring.</summary>
    [FieldOffset(4)] public uint BlockCount;
    /// <summary><c>tp_frame_size</c>: bytes per frame slot, a multiple of 16 (TPACKET_ALIGNMENT).</summary>
    [FieldOffset(8)] public uint FrameSize;
    /// <summary><c>tp_frame_nr</c>: block size / frame size x block count.</summary>
    [FieldOffset(12)] public uint FrameCount;

    /// <summary>A ring of <paramref name="blockCount"/> blocks of <paramref name="blockSize"/> bytes, in slots of <paramref name="frameSize"/>.</summary>
    public static TpacketReq Create(uint blockSize, uint blockCount, uint frameSize) => new()
    {
        BlockSize = blockSize,
        BlockCount = blockCount,
        FrameSize = frameSize,
        FrameCount = blockSize / frameSize * blockCount,
    };

    /// <summary>The bytes the ring takes in the mapping: block size x block count.</summary>
    public readonly nuint RingSize => (nuint)BlockSize * BlockCount;
}

/// <summary>
/// <c>struct tpacket2_hdr</c> (<c>/usr/include/linux/if_packet.h</c>): the header of one frame slot
/// of a TPACKET_V2 ring, 32 bytes. Receive: the kernel fills a slot whose <see cref="Status"/> is
/// TP_STATUS_KERNEL and hands it over by setting TP_STATUS_USER, one frame at a time; the frame is at
/// <see cref="MacOffset"/> from the header, its <c>sockaddr_ll</c> at <see cref="AddressOffset"/>.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 32)]
public struct Tpacket2Hdr
{
    /// <summary>Where the slot's <c>sockaddr_ll</c> sits: TPACKET_ALIGN(sizeof(struct tpacket2_hdr)).</summary>
    public const int AddressOffset = 32;

    /// <summary><c>tp_status</c>: TP_STATUS_* bits and the slot's owner (read and written volatile).</summary>
    [FieldOffset(0)] public uint Status;
    /// <summary><c>tp_len</c>: the frame's length on the wire.</summary>
    [FieldOffset(4)] public uint Length;
    /// <summary><c>tp_snaplen</c>: bytes of it in the slot (fewer than <see cref="Length"/> when cut to the slot).</summary>
    [FieldOffset(8)] public uint SnapLength;
    /// <summary><c>tp_mac</c>: from this header to the frame's Ethernet header.</summary>
    [FieldOffset(12)] public ushort MacOffset;
    /// <summary><c>tp_net</c>: from this header to the frame's network header.</summary>
    [FieldOffset(14)] public ushort NetworkOffset;
    /// <summary><c>tp_sec</c>: receive timestamp, seconds.</summary>
    [FieldOffset(16)] public uint Seconds;
    /// <summary><c>tp_nsec</c>: receive timestamp, nanoseconds.</summary>
    [FieldOffset(20)] public uint Nanoseconds;
    /// <summary><c>tp_vlan_tci</c>: a stripped VLAN tag, with TP_STATUS_VLAN_VALID.</summary>
    [FieldOffset(24)] public ushort VlanTci;
    /// <summary><c>tp_vlan_tpid</c>: its TPID, with TP_STATUS_VLAN_TPID_VALID.</summary>
    [FieldOffset(26)] public ushort VlanTpid;
}

/// <summary>
/// <c>struct tpacket_hdr_v1</c> (<c>/usr/include/linux/if_packet.h</c>): the header of a TPACKET_V3
/// receive block, inside <see cref="TpacketBlockDesc"/>. 40 bytes.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 40)]
public struct TpacketHdrV1
{
    /// <summary><c>block_status</c>: TP_STATUS_KERNEL or TP_STATUS_USER (with LOSING, BLK_TMO); read and written volatile.</summary>
    [FieldOffset(0)] public uint BlockStatus;
    /// <summary><c>num_pkts</c>: frames in the block.</summary>
    [FieldOffset(4)] public uint PacketCount;
    /// <summary><c>offset_to_first_pkt</c>: from the block's start to its first <see cref="Tpacket3Hdr"/>.</summary>
    [FieldOffset(8)] public uint OffsetToFirstPacket;
    /// <summary><c>blk_len</c>: bytes of the block in use.</summary>
    [FieldOffset(12)] public uint BlockLength;
    /// <summary><c>seq_num</c>: the block's sequence number, increasing by one per retired block.</summary>
    [FieldOffset(16)] public ulong SequenceNumber;
    /// <summary><c>ts_first_pkt.ts_sec</c>.</summary>
    [FieldOffset(24)] public uint FirstPacketSeconds;
    /// <summary><c>ts_first_pkt.ts_nsec</c>.</summary>
    [FieldOffset(28)] public uint FirstPacketNanoseconds;
    /// <summary><c>ts_last_pkt.ts_sec</c>.</summary>
    [FieldOffset(32)] public uint LastPacketSeconds;
    /// <summary><c>ts_last_pkt.ts_nsec</c>.</summary>
    [FieldOffset(36)] public uint LastPacketNanoseconds;
}

/// <summary>
/// <c>struct tpacket_block_desc</c> (<c>/usr/include/linux/if_packet.h</c>): the start of every
/// TPACKET_V3 receive block. 48 bytes; the block's frames follow at
/// <see cref="TpacketHdrV1.OffsetToFirstPacket"/>.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 48)]
public unsafe struct TpacketBlockDesc
{
    /// <summary><c>version</c>: TPACKET_V3's block layout version.</summary>
    [FieldOffset(0)] public uint Version;
    /// <summary><c>offset_to_priv</c>: where the block's private area starts.</summary>
    [FieldOffset(4)] public uint OffsetToPrivate;
    /// <summary><c>hdr.bh1</c>: the block header.</summary>
    [FieldOffset(8)] public TpacketHdrV1 Header;

    /// <summary>
    /// The block's <c>block_status</c>, read with acquire semantics: once it shows TP_STATUS_USER, the
    /// frames the kernel wrote before setting it are visible.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint ReadStatus(TpacketBlockDesc* block) => Volatile.Read(ref block->Header.BlockStatus);

    /// <summary>Hands the block back: TP_STATUS_KERNEL, written with release semantics after the reader is done with it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void ReturnToKernel(TpacketBlockDesc* block) => Volatile.Write(ref block->Header.BlockStatus, TpStatus.Kernel);
}

/// <summary>
/// <c>struct tpacket3_hdr</c> (<c>/usr/include/linux/if_packet.h</c>): the header of one frame in a
/// TPACKET_V3 ring, 48 bytes with <c>hv1</c> (<c>struct tpacket_hdr_variant1</c>) inline. Receive:
/// the frame is at <see cref="MacOffset"/> from the header, the next header at <see cref="NextOffset"/>.
/// Transmit: the frame is at <see cref="TxDataOffset"/>, <see cref="NextOffset"/> must be 0.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 48)]
public unsafe struct Tpacket3Hdr
{
    /// <summary>
    /// Where a transmit frame's data starts: TPACKET3_HDRLEN - sizeof(struct sockaddr_ll) = 68 - 20
    /// (net/packet/af_packet.c, tpacket_parse_header, without PACKET_TX_HAS_OFF).
    /// </summary>
    public const int TxDataOffset = 48;

    /// <summary><c>tp_next_offset</c>: from this header to the next one in the block; 0 for the last.</summary>
    [FieldOffset(0)] public uint NextOffset;
    /// <summary><c>tp_sec</c>: receive timestamp, seconds.</summary>
    [FieldOffset(4)] public uint Seconds;
    /// <summary><c>tp_nsec</c>: receive timestamp, nanoseconds.</summary>
    [FieldOffset(8)] public uint Nanoseconds;
    /// <summary><c>tp_snaplen</c>: bytes of the frame in the ring.</summary>
    [FieldOffset(12)] public uint SnapLength;
    /// <summary><c>tp_len</c>: the frame's length on the wire (receive) or to send (transmit).</summary>
    [FieldOffset(16)] public uint Length;
    /// <summary><c>tp_status</c>: TP_STATUS_* bits; for transmit, the slot's owner (read and written volatile).</summary>
    [FieldOffset(20)] public uint Status;
    /// <summary><c>tp_mac</c>: from this header to the frame's Ethernet header.</summary>
    [FieldOffset(24)] public ushort MacOffset;
    /// <summary><c>tp_net</c>: from this header to the frame's network header.</summary>
    [FieldOffset(26)] public ushort NetworkOffset;
    /// <summary><c>hv1.tp_rxhash</c>: the flow hash, with TP_FT_REQ_FILL_RXHASH.</summary>
    [FieldOffset(28)] public uint RxHash;
    /// <summary><c>hv1.tp_vlan_tci</c>: a stripped VLAN tag, with TP_STATUS_VLAN_VALID.</summary>
    [FieldOffset(32)] public uint VlanTci;
    /// <summary><c>hv1.tp_vlan_tpid</c>: its TPID, with TP_STATUS_VLAN_TPID_VALID.</summary>
    [FieldOffset(36)] public ushort VlanTpid;

    /// <summary>A transmit slot's <c>tp_status</c>, read with acquire semantics.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint ReadStatus(Tpacket3Hdr* frame) => Volatile.Read(ref frame->Status);

    /// <summary>
    /// Sets a transmit slot's <c>tp_status</c> with release semantics: write TP_STATUS_SEND_REQUEST
    /// after the frame and its length, so the kernel never sees a half-written frame.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void WriteStatus(Tpacket3Hdr* frame, uint status) => Volatile.Write(ref frame->Status, status);
}

/// <summary>
/// <c>struct tpacket_stats_v3</c> (<c>/usr/include/linux/if_packet.h</c>): PACKET_STATISTICS on a
/// TPACKET_V3 socket, counted since the last read. 12 bytes.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 12)]
public struct TpacketStatsV3
{
    /// <summary><c>tp_packets</c>: frames received, the dropped ones included.</summary>
    [FieldOffset(0)] public uint Packets;
    /// <summary><c>tp_drops</c>: frames dropped for want of room.</summary>
    [FieldOffset(4)] public uint Drops;
    /// <summary><c>tp_freeze_q_cnt</c>: times the receive queue froze because every block was the reader's.</summary>
    [FieldOffset(8)] public uint FreezeQueueCount;
}
