namespace Dataplane.Native;

/// <summary>The SOL_PACKET socket options this project sets (packet(7), <c>/usr/include/linux/if_packet.h</c>).</summary>
public enum PacketOption
{
    /// <summary>PACKET_ADD_MEMBERSHIP: a <see cref="PacketMreq"/>; PACKET_MR_PROMISC puts the interface in promiscuous mode while the socket lives.</summary>
    AddMembership = 1,
    /// <summary>PACKET_DROP_MEMBERSHIP.</summary>
    DropMembership = 2,
    /// <summary>PACKET_RX_RING: a <see cref="TpacketReq3"/> (with TPACKET_V3) describing the receive ring.</summary>
    RxRing = 5,
    /// <summary>
    /// PACKET_COPY_THRESH: an int, non-zero to turn it on. A TPACKET_V1/V2 receive ring whose slot is
    /// too short for a frame gets the frame cut to the slot and marked TP_STATUS_COPY, and the whole
    /// frame is queued on the socket for recvmsg (af_packet.c, tpacket_rcv), while the socket's
    /// receive buffer has room.
    /// </summary>
    CopyThreshold = 7,
    /// <summary>PACKET_STATISTICS: read a <see cref="TpacketStatsV3"/>; reading resets the counters.</summary>
    Statistics = 6,
    /// <summary>PACKET_VERSION: the ring header format, <see cref="TpacketVersion"/>; set before the rings.</summary>
    Version = 10,
    /// <summary>PACKET_TX_RING: a <see cref="TpacketReq3"/> describing the transmit ring (frames, no blocks).</summary>
    TxRing = 13,
    /// <summary>PACKET_VNET_HDR: an int; frames carry a <see cref="VirtioNetHeader"/> in front. Set before the rings.</summary>
    VnetHeader = 15,
    /// <summary>PACKET_FANOUT: an int, group id | (mode | flags) &lt;&lt; 16; spread one interface's traffic over the sockets of a group.</summary>
    Fanout = 18,
    /// <summary>PACKET_QDISC_BYPASS: an int; transmit straight to the driver, skipping the qdisc layer.</summary>
    QdiscBypass = 20,
    /// <summary>PACKET_FANOUT_DATA: for a group in <see cref="PacketFanoutMode.Ebpf"/> mode, an int: the descriptor of the program that picks the socket.</summary>
    FanoutData = 22,
}

/// <summary>The ring header formats of PACKET_VERSION (<c>enum tpacket_versions</c>).</summary>
public enum TpacketVersion
{
    /// <summary>TPACKET_V1: fixed frames, 32-bit fields.</summary>
    V1 = 0,
    /// <summary>TPACKET_V2: fixed frames.</summary>
    V2 = 1,
    /// <summary>TPACKET_V3: receive blocks holding variable-sized frames, retired on fill or timeout.</summary>
    V3 = 2,
}

/// <summary>How PACKET_FANOUT picks a socket of the group for a frame (<c>PACKET_FANOUT_*</c>).</summary>
public enum PacketFanoutMode
{
    /// <summary>PACKET_FANOUT_HASH: by the flow hash (skb_get_hash), so a flow stays on one socket.</summary>
    Hash = 0,
    /// <summary>PACKET_FANOUT_LB: round robin.</summary>
    LoadBalance = 1,
    /// <summary>PACKET_FANOUT_CPU: by the CPU the frame arrived on.</summary>
    Cpu = 2,
    /// <summary>PACKET_FANOUT_ROLLOVER: fill one socket, then the next.</summary>
    Rollover = 3,
    /// <summary>PACKET_FANOUT_RND: at random.</summary>
    Random = 4,
    /// <summary>PACKET_FANOUT_QM: by the device's receive queue (skb_get_rx_queue).</summary>
    QueueMapping = 5,
    /// <summary>
    /// PACKET_FANOUT_EBPF: by what a BPF_PROG_TYPE_SOCKET_FILTER program returns (modulo the group's
    /// size), set with PACKET_FANOUT_DATA; every frame goes to the first socket until one is set.
    /// </summary>
    Ebpf = 7,
}

/// <summary>Flags OR'ed into the PACKET_FANOUT mode (<c>PACKET_FANOUT_FLAG_*</c>).</summary>
[Flags]
public enum PacketFanoutFlags
{
    /// <summary>No flag.</summary>
    None = 0,
    /// <summary>PACKET_FANOUT_FLAG_ROLLOVER: when the chosen socket is full, try the next.</summary>
    Rollover = 0x1000,
    /// <summary>PACKET_FANOUT_FLAG_UNIQUEID: the kernel picks an unused group id (Linux 4.3).</summary>
    UniqueId = 0x2000,
    /// <summary>PACKET_FANOUT_FLAG_DEFRAG: reassemble IP fragments first, so they hash with their flow.</summary>
    Defrag = 0x8000,
}

/// <summary>
/// The TP_STATUS_* bits (<c>/usr/include/linux/if_packet.h</c>) of a receive block's
/// <c>block_status</c>, a received frame's <c>tp_status</c>, and a transmit frame's <c>tp_status</c>.
/// They decide who owns a block or frame: read and write them with <see cref="TpacketBlockDesc.ReadStatus"/>,
/// <see cref="TpacketBlockDesc.ReturnToKernel"/>, <see cref="Tpacket3Hdr.ReadStatus"/> and <see cref="Tpacket3Hdr.WriteStatus"/>.
/// </summary>
public static class TpStatus
{
    /// <summary>TP_STATUS_KERNEL (receive): the kernel owns the block.</summary>
    public const uint Kernel = 0;
    /// <summary>TP_STATUS_USER (receive): the block is the reader's until it writes Kernel back.</summary>
    public const uint User = 1 << 0;
    /// <summary>TP_STATUS_COPY (TPACKET_V1/V2 receive): the frame was cut to its slot and queued whole on the socket (PACKET_COPY_THRESH), for recvmsg.</summary>
    public const uint Copy = 1 << 1;
    /// <summary>TP_STATUS_LOSING: frames were dropped since the last PACKET_STATISTICS read.</summary>
    public const uint Losing = 1 << 2;
    /// <summary>TP_STATUS_CSUMNOTREADY: the frame's checksum is partial (a locally sent frame on its way out).</summary>
    public const uint ChecksumNotReady = 1 << 3;
    /// <summary>TP_STATUS_VLAN_VALID: tp_vlan_tci holds a stripped VLAN tag.</summary>
    public const uint VlanValid = 1 << 4;
    /// <summary>TP_STATUS_BLK_TMO: the block was retired by its timeout, not because it was full.</summary>
    public const uint BlockTimeout = 1 << 5;
    /// <summary>TP_STATUS_VLAN_TPID_VALID: tp_vlan_tpid is valid.</summary>
    public const uint VlanTpidValid = 1 << 6;
    /// <summary>TP_STATUS_CSUM_VALID: the checksum was validated (by the device or the kernel).</summary>
    public const uint ChecksumValid = 1 << 7;
    /// <summary>TP_STATUS_GSO_TCP: the frame is a TCP GSO super-frame (Linux 6.4, not in Debian 12's headers).</summary>
    public const uint GsoTcp = 1 << 8;

    /// <summary>TP_STATUS_AVAILABLE (transmit): the frame slot is free for the writer.</summary>
    public const uint Available = 0;
    /// <summary>TP_STATUS_SEND_REQUEST (transmit): filled, the kernel sends it on the next kick.</summary>
    public const uint SendRequest = 1 << 0;
    /// <summary>TP_STATUS_SENDING (transmit): the kernel is sending it.</summary>
    public const uint Sending = 1 << 1;
    /// <summary>TP_STATUS_WRONG_FORMAT (transmit): refused, e.g. a bad length (only with PACKET_LOSS set).</summary>
    public const uint WrongFormat = 1 << 2;

    /// <summary>TP_STATUS_TS_SOFTWARE: the timestamp is the kernel's.</summary>
    public const uint TimestampSoftware = 1u << 29;
    /// <summary>TP_STATUS_TS_SYS_HARDWARE: deprecated.</summary>
    public const uint TimestampSysHardware = 1u << 30;
    /// <summary>TP_STATUS_TS_RAW_HARDWARE: the timestamp is the device's.</summary>
    public const uint TimestampRawHardware = 1u << 31;
}
