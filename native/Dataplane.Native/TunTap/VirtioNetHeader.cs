using System.Runtime.InteropServices;

namespace Dataplane.Native;

/// <summary>The <c>flags</c> of a virtio-net header (<c>/usr/include/linux/virtio_net.h</c>).</summary>
[Flags]
public enum VirtioNetHeaderFlags : byte
{
    /// <summary>No flag: the checksums in the frame are complete (or not known to be valid).</summary>
    None = 0,
    /// <summary>VIRTIO_NET_HDR_F_NEEDS_CSUM: checksum from csum_start to the end, store at csum_start + csum_offset.</summary>
    NeedsChecksum = 1,
    /// <summary>VIRTIO_NET_HDR_F_DATA_VALID: the receiver's side already validated the checksum.</summary>
    DataValid = 2,
    /// <summary>VIRTIO_NET_HDR_F_RSC_INFO: gso fields carry receive-segment-coalescing counts (device to driver).</summary>
    RscInfo = 4,
}

/// <summary>The <c>gso_type</c> of a virtio-net header (<c>/usr/include/linux/virtio_net.h</c>).</summary>
public enum VirtioNetGsoType : byte
{
    /// <summary>VIRTIO_NET_HDR_GSO_NONE: one frame, not to be segmented.</summary>
    None = 0,
    /// <summary>VIRTIO_NET_HDR_GSO_TCPV4: a TCP over IPv4 super-frame, to be cut into gso_size segments.</summary>
    TcpV4 = 1,
    /// <summary>VIRTIO_NET_HDR_GSO_UDP: UDP fragmentation offload (obsolete).</summary>
    Udp = 3,
    /// <summary>VIRTIO_NET_HDR_GSO_TCPV6: a TCP over IPv6 super-frame.</summary>
    TcpV6 = 4,
    /// <summary>VIRTIO_NET_HDR_GSO_UDP_L4: UDP segmentation (Linux 5.18, not in Debian 12's headers).</summary>
    UdpL4 = 5,
    /// <summary>VIRTIO_NET_HDR_GSO_ECN: OR'ed into the type when the segments carry ECN CWR.</summary>
    Ecn = 0x80,
}

/// <summary>
/// <c>struct virtio_net_hdr</c> (<c>/usr/include/linux/virtio_net.h</c>; virtio 1.x spec 5.1.6): the
/// 10 bytes in front of every frame on a tap opened with IFF_VNET_HDR (and a packet socket with
/// PACKET_VNET_HDR) that carry checksum and segmentation offload state. Fields are in the host's
/// byte order, which for a tap is the legacy "native" order unless TUNSETVNETLE says otherwise: on
/// x86-64 that is little-endian either way, the virtio 1.x order.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 10)]
public struct VirtioNetHeader
{
    /// <summary>sizeof(struct virtio_net_hdr), for TUNSETVNETHDRSZ.</summary>
    public const int Size = 10;

    /// <summary><c>flags</c>.</summary>
    [FieldOffset(0)] public VirtioNetHeaderFlags Flags;

    /// <summary><c>gso_type</c>.</summary>
    [FieldOffset(1)] public VirtioNetGsoType GsoType;

    /// <summary><c>hdr_len</c>: bytes of Ethernet, IP and TCP headers, to copy in front of every segment.</summary>
    [FieldOffset(2)] public ushort HeaderLength;

    /// <summary><c>gso_size</c>: the payload bytes per segment (the MSS for TCP).</summary>
    [FieldOffset(4)] public ushort GsoSize;

    /// <summary><c>csum_start</c>: where checksumming starts, from the start of the frame (the L4 header).</summary>
    [FieldOffset(6)] public ushort ChecksumStart;

    /// <summary><c>csum_offset</c>: where to store the checksum, from <see cref="ChecksumStart"/> (16 for TCP, 6 for UDP).</summary>
    [FieldOffset(8)] public ushort ChecksumOffset;
}

/// <summary>
/// <c>struct virtio_net_hdr_mrg_rxbuf</c> (<c>/usr/include/linux/virtio_net.h</c>): the header with
/// <c>num_buffers</c>, 12 bytes, the size a tap uses after TUNSETVNETHDRSZ 12 (and the one virtio 1.x
/// devices always use).
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 12)]
public struct VirtioNetMergeableHeader
{
    /// <summary>sizeof(struct virtio_net_hdr_mrg_rxbuf), for TUNSETVNETHDRSZ.</summary>
    public const int Size = 12;

    /// <summary><c>hdr</c>: the offload fields.</summary>
    [FieldOffset(0)] public VirtioNetHeader Header;

    /// <summary><c>num_buffers</c>: how many receive buffers the frame spans (1 on a tap).</summary>
    [FieldOffset(10)] public ushort BufferCount;
}
