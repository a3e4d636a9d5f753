using Dataplane.Buffers;
using Dataplane.Native;

namespace Dataplane.Drivers.Virtio;

/// <summary>
/// Translates between the virtio-net header that a TAP device or a PACKET_VNET_HDR socket puts in
/// front of each frame (virtio 1.x spec 5.1.6; the kernel's virtio_net_hdr_from_skb and
/// virtio_net_hdr_to_skb) and the offload fields of <see cref="BufferMetadata"/>: one translation
/// for every driver that speaks it.
/// </summary>
internal static class VirtioNetOffload
{
    /// <summary>
    /// Fills the offload fields of <paramref name="metadata"/> from a received header.
    /// <paramref name="shift"/> is added to csum_start: the bytes put back in front of the checksummed
    /// part (a VLAN tag the kernel had taken out of the frame).
    /// </summary>
    public static void Receive(in VirtioNetHeader header, ref BufferMetadata metadata, int shift = 0)
    {
        // NEEDS_CSUM: the skb was CHECKSUM_PARTIAL (a veth peer's stack left the transport checksum
        // to "hardware"): the pseudo-header sum is in the field, the rest is ours to fold in.
        if ((header.Flags & VirtioNetHeaderFlags.NeedsChecksum) != 0)
        {
            metadata.Offload |= OffloadFlags.L4ChecksumPartial;
            metadata.ChecksumStart = (ushort)(header.ChecksumStart + shift);
            metadata.ChecksumOffset = header.ChecksumOffset;
        }
        else if ((header.Flags & VirtioNetHeaderFlags.DataValid) != 0)
        {
            // DATA_VALID: CHECKSUM_UNNECESSARY, the device or the kernel checked the transport checksum.
            metadata.Offload |= OffloadFlags.L4ChecksumVerified;
        }

        GsoType gso = ToGsoType(header.GsoType);
        if (gso != GsoType.None)
        {
            // A super-frame: segments of a flow the peer's stack (TSO through veth) or GRO kept merged.
            metadata.Gso = gso;
            metadata.SegmentSize = header.GsoSize;
        }
    }

    /// <summary>
    /// The header for a frame of <paramref name="length"/> bytes whose head buffer holds
    /// <paramref name="head"/>; false when its offload fields point outside the frame (the kernel
    /// would refuse it).
    /// </summary>
    public static bool TryTransmit(in BufferMetadata metadata, ReadOnlySpan<byte> head, int length, out VirtioNetHeader header)
    {
        header = default;
        if ((metadata.Offload & OffloadFlags.L4ChecksumPartial) != 0
            && metadata.ChecksumStart + metadata.ChecksumOffset + sizeof(ushort) > length)
            return false;
        header = FromMetadata(metadata, head);
        return true;
    }

    /// <summary>
    /// The header for sending the frame <paramref name="m"/> describes; <paramref name="head"/> is the
    /// head buffer's data, where the transport header is read for <c>hdr_len</c> of a super-frame.
    /// </summary>
    public static VirtioNetHeader FromMetadata(in BufferMetadata m, ReadOnlySpan<byte> head)
    {
        VirtioNetHeader header = default;
        if ((m.Offload & OffloadFlags.L4ChecksumPartial) != 0)
        {
            header.Flags = VirtioNetHeaderFlags.NeedsChecksum;
            header.ChecksumStart = m.ChecksumStart;
            header.ChecksumOffset = m.ChecksumOffset;
        }
        if (m.Gso != GsoType.None)
        {
            header.GsoType = ToVirtio(m.Gso);
            header.GsoSize = m.SegmentSize;
            header.HeaderLength = HeadersLength(m, head);
        }
        return header;
    }

    /// <summary>virtio gso_type → <see cref="GsoType"/>; the ECN bit is dropped (we never ask for TUN_F_TSO_ECN).</summary>
    public static GsoType ToGsoType(VirtioNetGsoType type) => (VirtioNetGsoType)((byte)type & ~(byte)VirtioNetGsoType.Ecn) switch
    {
        VirtioNetGsoType.TcpV4 => GsoType.TcpV4,
        VirtioNetGsoType.TcpV6 => GsoType.TcpV6,
        VirtioNetGsoType.Udp or VirtioNetGsoType.UdpL4 => GsoType.Udp,
        _ => GsoType.None,
    };

    /// <summary>
    /// <see cref="GsoType"/> → virtio gso_type. UDP goes as GSO_UDP_L4 (segmentation, each piece
    /// with its own UDP header): UDP fragmentation offload (GSO_UDP) left Linux in 4.14.
    /// </summary>
    public static VirtioNetGsoType ToVirtio(GsoType type) => type switch
    {
        GsoType.TcpV4 => VirtioNetGsoType.TcpV4,
        GsoType.TcpV6 => VirtioNetGsoType.TcpV6,
        GsoType.Udp => VirtioNetGsoType.UdpL4,
        _ => VirtioNetGsoType.None,
    };

    /// <summary>
    /// <c>hdr_len</c> of a super-frame: Ethernet, IP and transport headers, the bytes copied in front
    /// of every segment. For TCP, the data offset read from the head buffer; for UDP, 8 bytes. The
    /// kernel only takes it as a hint of how much to copy into the skb's linear part (and raises it
    /// to csum_start + csum_offset + 2), so when the header is not in the head buffer 0 will do.
    /// </summary>
    private static ushort HeadersLength(in BufferMetadata m, ReadOnlySpan<byte> head)
    {
        int start = m.ChecksumStart;
        if ((m.Offload & OffloadFlags.L4ChecksumPartial) == 0 || start == 0)
            return 0;
        if (m.Gso == GsoType.Udp)
            return (ushort)(start + 8);
        // RFC 9293 3.1: the data offset is the high nibble of byte 12 of the TCP header, in words.
        int dataOffsetAt = start + 12;
        return (uint)dataOffsetAt < (uint)head.Length ? (ushort)(start + (head[dataOffsetAt] >> 4) * 4) : (ushort)0;
    }
}
