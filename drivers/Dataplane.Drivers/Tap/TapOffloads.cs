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
    /// TUNSETOFFLOAD for <paramref name="tso"/> (what the port's receive side takes: the stack passes
    /// its <c>lro</c> switch). On: TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6, the
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
    /// <paramref name="tso"/>, TCP super-frames sent whole (the kernel segments what we write,
    /// whatever TUNSETOFFLOAD said); with <paramref name="lro"/> (as <paramref name="tso"/> unless
    /// given), super-frames received (the TUN_F_TSO4/6 that <see cref="For"/> asks for).
    /// </summary>
    public static PortCapabilities Capabilities(bool tso, int queues, bool? lro = null)
    {
        PortCapabilities capabilities = PortCapabilities.ReceiveChecksum | PortCapabilities.TransmitChecksum;
        if (tso)
            capabilities |= PortCapabilities.Tso;
        if (lro ?? tso)
            capabilities |= PortCapabilities.Lro;
        if (queues > 1)
            capabilities |= PortCapabilities.MultiQueue;
        return capabilities;
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
