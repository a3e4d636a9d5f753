using Dataplane.Buffers;
using Dataplane.Native;

namespace Dataplane.Drivers.AfPacket;

/// <summary>
/// Translates between the virtio-net header a PACKET_VNET_HDR socket puts in front of each frame
/// (virtio 1.x spec 5.1.6; the kernel's virtio_net_hdr_from_skb / virtio_net_hdr_to_skb) and the
/// offload fields of <see cref="BufferMetadata"/>.
/// </summary>
internal static class VirtioNetOffload
{
    /// <summary>VIRTIO_NET_HDR_GSO_ECN, OR'ed into gso_type.</summary>
    private const byte GsoEcn = (byte)VirtioNetGsoType.Ecn;

    /// <summary>
    /// Fills the offload fields of <paramref name="metadata"/> from a received header.
    /// <paramref name="shift"/> is added to csum_start: the bytes put back in front of the checksummed
    /// part (a VLAN tag the kernel had taken out of the frame).
    /// </summary>
    public static void Receive(in VirtioNetHeader header, ref BufferMetadata metadata, int shift)
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

        GsoType gso = (VirtioNetGsoType)((byte)header.GsoType & ~GsoEcn) switch
        {
            VirtioNetGsoType.TcpV4 => GsoType.TcpV4,
            VirtioNetGsoType.TcpV6 => GsoType.TcpV6,
            VirtioNetGsoType.Udp or VirtioNetGsoType.UdpL4 => GsoType.Udp,
            _ => GsoType.None,
        };
        if (gso != GsoType.None)
        {
            // A super-frame: segments of a flow the peer's stack (TSO through veth) or GRO kept merged.
            metadata.Gso = gso;
            metadata.SegmentSize = header.GsoSize;
        }
    }

    /// <summary>
    /// The header for a frame of <paramref name="length"/> bytes to send; false when its offload
    /// fields point outside the frame (the kernel would refuse it and stop the ring there).
    /// </summary>
    public static bool TryTransmit(in BufferMetadata metadata, int length, out VirtioNetHeader header)
    {
        header = default;
        if ((metadata.Offload & OffloadFlags.L4ChecksumPartial) != 0)
        {
            int end = metadata.ChecksumStart + metadata.ChecksumOffset + sizeof(ushort);
            if (end > length)
                return false;
            header.Flags = VirtioNetHeaderFlags.NeedsChecksum;
            header.ChecksumStart = metadata.ChecksumStart;
            header.ChecksumOffset = metadata.ChecksumOffset;
            // hdr_len is a hint of the headers' length; the kernel raises it to cover the checksum anyway.
            header.HeaderLength = (ushort)end;
        }
        if (metadata.Gso != GsoType.None)
        {
            header.GsoType = metadata.Gso switch
            {
                GsoType.TcpV4 => VirtioNetGsoType.TcpV4,
                GsoType.TcpV6 => VirtioNetGsoType.TcpV6,
                _ => VirtioNetGsoType.UdpL4, // UDP segmentation; UFO is gone from the kernel
            };
            header.GsoSize = metadata.SegmentSize;
        }
        return true;
    }
}
