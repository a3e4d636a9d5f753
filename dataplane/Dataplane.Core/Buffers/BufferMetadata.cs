using System.Runtime.InteropServices;

namespace Dataplane.Buffers;

/// <summary>What a driver's offloads already did for a received frame, or ask of a sent one.</summary>
[Flags]
internal enum OffloadFlags : ushort
{
    /// <summary>Nothing: software checks and computes everything.</summary>
    None = 0,

    /// <summary>The IPv4 header checksum was verified (by the NIC or the kernel).</summary>
    Ipv4ChecksumVerified = 1 << 0,

    /// <summary>The transport checksum (TCP, UDP, ICMP) was verified.</summary>
    L4ChecksumVerified = 1 << 1,

    /// <summary>
    /// The transport checksum is partial: the pseudo-header sum is in place and the sum from
    /// <see cref="BufferMetadata.ChecksumStart"/> must still be folded in at
    /// <see cref="BufferMetadata.ChecksumOffset"/> (virtio-net's NEEDS_CSUM).
    /// </summary>
    L4ChecksumPartial = 1 << 2,

    /// <summary><see cref="BufferMetadata.RssHash"/> holds a hash the driver computed.</summary>
    RssHashValid = 1 << 3,

    /// <summary>
    /// Not a driver's: the stack's mark on a datagram it reassembled on one worker and handed whole
    /// to the worker that owns its flow. Its fragments were counted as received where they came in;
    /// the owner takes it up without counting it again. Cleared with the other flags when the
    /// buffer is reused for a reply.
    /// </summary>
    Reassembled = 1 << 4,
}

/// <summary>Generic segmentation offload type of a large frame (virtio-net gso_type).</summary>
internal enum GsoType : byte
{
    /// <summary>Not a segmentation super-frame.</summary>
    None = 0,

    /// <summary>TCP over IPv4, to be cut into segments of <see cref="BufferMetadata.SegmentSize"/>.</summary>
    TcpV4 = 1,

    /// <summary>TCP over IPv6.</summary>
    TcpV6 = 4,

    /// <summary>UDP fragmentation offload (UFO) or segmentation (USO).</summary>
    Udp = 3,
}

/// <summary>
/// The metadata of one buffer, in the pool's pinned memory next to the others (one cache line
/// each, so a burst touches one line per packet). The first buffer of a chain describes the frame;
/// the others only their own piece.
/// </summary>
[StructLayout(LayoutKind.Sequential, Size = 64)]
internal struct BufferMetadata
{
    /// <summary>Offset of the first data byte from the buffer start; headroom lets headers be prepended.</summary>
    public ushort DataOffset;

    /// <summary>Bytes of data in this buffer.</summary>
    public ushort DataLength;

    /// <summary>Bytes of the whole frame, over the chain (first buffer only).</summary>
    public int PacketLength;

    /// <summary>Index of the next buffer of the chain, or -1.</summary>
    public int Next;

    /// <summary>References held; the buffer returns to the pool when the last is released.</summary>
    public int ReferenceCount;

    /// <summary>Port the frame came in on.</summary>
    public ushort Port;

    /// <summary>Receive queue of that port.</summary>
    public ushort Queue;

    /// <summary>RSS hash, when <see cref="OffloadFlags.RssHashValid"/>.</summary>
    public uint RssHash;

    /// <summary>Offload state.</summary>
    public OffloadFlags Offload;

    /// <summary>Segmentation offload type.</summary>
    public GsoType Gso;

    /// <summary>Number of buffers in the chain (first buffer only).</summary>
    public byte Segments;

    /// <summary>Segment size (MSS) of a segmentation super-frame.</summary>
    public ushort SegmentSize;

    /// <summary>Where the partial checksum's sum starts, from the frame start.</summary>
    public ushort ChecksumStart;

    /// <summary>Where the checksum goes, from <see cref="ChecksumStart"/>.</summary>
    public ushort ChecksumOffset;

    /// <summary>Receive time, in <see cref="System.Diagnostics.Stopwatch"/> ticks of the batch.</summary>
    public long Timestamp;
}
