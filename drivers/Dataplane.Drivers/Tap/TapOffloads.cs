using System.Buffers.Binary;
using Dataplane.Buffers;
using Dataplane.Native;
using Dataplane.Ports;

namespace Dataplane.Drivers.Tap;

/// <summary>
/// The offloads across the tap boundary: which TUN_F_* bits a port asks for, what that lets the
/// stack leave undone, and the translation between the virtio-net header in front of every frame
/// (<c>linux/virtio_net.h</c>; virtio 1.x spec 5.1.6) and <see cref="BufferMetadata"/>.
/// </summary>
/// <remarks>
/// TUNSETOFFLOAD names what the reader of the tap (we) can take from the kernel: with TUN_F_CSUM
/// the kernel may hand us frames whose checksum is partial (it turns on the tap's tx-checksumming,
/// so its stack stops computing checksums of what it sends us); with TUN_F_TSO4/6 it may hand us
/// TCP super-frames (the tap's TSO). The other direction needs no setting: a write with
/// VIRTIO_NET_HDR_F_NEEDS_CSUM or a gso_type is always accepted and finished by the kernel
/// (tun.c, tun_get_user and virtio_net_hdr_to_skb), whatever TUNSETOFFLOAD said.
/// </remarks>
internal static class TapOffloads
{
    /// <summary>
    /// The virtio-net header size the port sets (TUNSETVNETHDRSZ): the 10-byte <c>virtio_net_hdr</c>.
    /// The 12-byte form only adds <c>num_buffers</c>, which a tap never uses (tun.c writes the 10
    /// bytes and skips the rest: a tap has no mergeable receive buffers). The header is read and
    /// written through its own iovec, so its size does not move the frame's alignment in a buffer.
    /// </summary>
    public const int HeaderSize = VirtioNetHeader.Size;

    /// <summary>
    /// TUNSETOFFLOAD for <paramref name="tso"/>. On: TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6, the
    /// kernel sends us partial checksums and super-frames. Off: TUN_F_CSUM alone. Checksum offload
    /// stays on because on a tap it is free on both sides: the frame never crosses a wire, so a
    /// partial checksum means "the data is intact" (the host's own stack treats CHECKSUM_PARTIAL so),
    /// and the host skips a checksum over every frame it sends us. Turning it off would only move
    /// that work into the host without checking anything more. TSO is what <c>set tso</c> switches.
    /// </summary>
    public static TunOffloads For(bool tso) =>
        tso ? TunOffloads.Checksum | TunOffloads.Tso4 | TunOffloads.Tso6 : TunOffloads.Checksum;

    /// <summary>
    /// What the stack may leave to the port: checksums either way (received ones arrive verified,
    /// partial or to be checked, as each frame's flags say; sent ones may be partial); with
    /// <paramref name="tso"/>, also TCP super-frames both ways.
    /// </summary>
    public static PortCapabilities Capabilities(bool tso, int queues)
    {
        PortCapabilities capabilities = PortCapabilities.ReceiveChecksum | PortCapabilities.TransmitChecksum;
        if (tso)
            capabilities |= PortCapabilities.Tso;
        if (queues > 1)
            capabilities |= PortCapabilities.MultiQueue;
        return capabilities;
    }

    /// <summary>
    /// Copies the offload state of a received frame's header into the head buffer's metadata:
    /// NEEDS_CSUM → <see cref="OffloadFlags.L4ChecksumPartial"/> with its start and offset,
    /// DATA_VALID → <see cref="OffloadFlags.L4ChecksumVerified"/>, gso_type and gso_size →
    /// <see cref="BufferMetadata.Gso"/> and <see cref="BufferMetadata.SegmentSize"/>.
    /// </summary>
    public static void ToMetadata(in VirtioNetHeader header, ref BufferMetadata m)
    {
        OffloadFlags offload = OffloadFlags.None;
        if ((header.Flags & VirtioNetHeaderFlags.NeedsChecksum) != 0)
        {
            offload |= OffloadFlags.L4ChecksumPartial;
            m.ChecksumStart = header.ChecksumStart;
            m.ChecksumOffset = header.ChecksumOffset;
        }
        if ((header.Flags & VirtioNetHeaderFlags.DataValid) != 0)
            offload |= OffloadFlags.L4ChecksumVerified;
        m.Offload = offload;
        m.Gso = ToGsoType(header.GsoType);
        m.SegmentSize = m.Gso == GsoType.None ? (ushort)0 : header.GsoSize;
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

    /// <summary>Reads the little-endian header a tap wrote (x86-64: the legacy native order is virtio 1.x's).</summary>
    public static VirtioNetHeader Read(ReadOnlySpan<byte> bytes) => new()
    {
        Flags = (VirtioNetHeaderFlags)bytes[0],
        GsoType = (VirtioNetGsoType)bytes[1],
        HeaderLength = BinaryPrimitives.ReadUInt16LittleEndian(bytes[2..]),
        GsoSize = BinaryPrimitives.ReadUInt16LittleEndian(bytes[4..]),
        ChecksumStart = BinaryPrimitives.ReadUInt16LittleEndian(bytes[6..]),
        ChecksumOffset = BinaryPrimitives.ReadUInt16LittleEndian(bytes[8..]),
    };

    /// <summary>Writes <paramref name="header"/> as the tap reads it.</summary>
    public static void Write(in VirtioNetHeader header, Span<byte> bytes)
    {
        bytes[0] = (byte)header.Flags;
        bytes[1] = (byte)header.GsoType;
        BinaryPrimitives.WriteUInt16LittleEndian(bytes[2..], header.HeaderLength);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes[4..], header.GsoSize);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes[6..], header.ChecksumStart);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes[8..], header.ChecksumOffset);
    }
}
