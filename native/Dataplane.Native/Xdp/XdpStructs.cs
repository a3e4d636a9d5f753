using System.Runtime.InteropServices;

namespace Dataplane.Native;

/// <summary>
/// <c>struct xdp_umem_reg</c>, the argument of XDP_UMEM_REG: the packet memory (UMEM) an AF_XDP socket
/// shares with the kernel. 32 bytes as Linux 6.8 and later declare it (<c>tx_metadata_len</c> at 28;
/// Debian 12's 6.1 header stops at <c>flags</c>, whose 4 bytes of tail padding are that field's place).
/// The kernel (net/xdp/xsk.c, xsk_setsockopt) takes the whole 32 bytes, or the first
/// <see cref="V1Size"/> (<c>xdp_umem_reg_v1</c>, no flags) from a shorter option; anything shorter is
/// EINVAL. Kernels 5.4 to 6.7 read the 32 bytes too, the last 4 as padding that must be zero.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 32)]
public struct XdpUmemReg
{
    /// <summary>The size of <c>struct xdp_umem_reg_v1</c> (addr, len, chunk_size, headroom): 24 bytes.</summary>
    public const int V1Size = 24;

    /// <summary>The size of the current <c>struct xdp_umem_reg</c>: 32 bytes.</summary>
    public const int Size = 32;

    /// <summary><c>addr</c>: the start of the packet memory, page aligned.</summary>
    [FieldOffset(0)] public ulong Address;

    /// <summary><c>len</c>: its length in bytes; in aligned mode a multiple of <see cref="ChunkSize"/>.</summary>
    [FieldOffset(8)] public ulong Length;

    /// <summary><c>chunk_size</c>: the size of one frame buffer; in aligned mode a power of two, 2048 to the page size.</summary>
    [FieldOffset(16)] public uint ChunkSize;

    /// <summary><c>headroom</c>: bytes the kernel leaves free at the start of each chunk before a received frame.</summary>
    [FieldOffset(20)] public uint Headroom;

    /// <summary><c>flags</c>: <see cref="XdpUmemFlags"/>.</summary>
    [FieldOffset(24)] public XdpUmemFlags Flags;

    /// <summary><c>tx_metadata_len</c> (Linux 6.8): bytes of <c>struct xsk_tx_metadata</c> in front of each TX frame.</summary>
    [FieldOffset(28)] public uint TxMetadataLength;
}

/// <summary>
/// <c>struct xdp_ring_offset</c> (<c>/usr/include/linux/if_xdp.h</c>): where one ring's producer index,
/// consumer index, descriptor array and flags word lie, as byte offsets into its mapping. 32 bytes.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 32)]
public struct XdpRingOffset
{
    /// <summary><c>producer</c>: offset of the <c>u32</c> producer index.</summary>
    [FieldOffset(0)] public ulong Producer;

    /// <summary><c>consumer</c>: offset of the <c>u32</c> consumer index.</summary>
    [FieldOffset(8)] public ulong Consumer;

    /// <summary><c>desc</c>: offset of the descriptor array (<see cref="XdpDesc"/> or <c>u64</c> addresses).</summary>
    [FieldOffset(16)] public ulong Descriptors;

    /// <summary><c>flags</c> (Linux 5.4): offset of the <c>u32</c> flags word (<see cref="XdpConstants.RingNeedWakeup"/>).</summary>
    [FieldOffset(24)] public ulong Flags;
}

/// <summary>
/// <c>struct xdp_mmap_offsets</c> (<c>/usr/include/linux/if_xdp.h</c>), the result of XDP_MMAP_OFFSETS:
/// the <see cref="XdpRingOffset"/> of the RX, TX, fill and completion rings. 128 bytes; a kernel
/// older than 5.4 answers the 96-byte <c>xdp_mmap_offsets_v1</c> (no flags) instead.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 128)]
public struct XdpMmapOffsets
{
    /// <summary><c>rx</c>.</summary>
    [FieldOffset(0)] public XdpRingOffset Rx;

    /// <summary><c>tx</c>.</summary>
    [FieldOffset(32)] public XdpRingOffset Tx;

    /// <summary><c>fr</c>: the fill ring.</summary>
    [FieldOffset(64)] public XdpRingOffset Fill;

    /// <summary><c>cr</c>: the completion ring.</summary>
    [FieldOffset(96)] public XdpRingOffset Completion;
}

/// <summary>
/// <c>struct xdp_desc</c> (<c>/usr/include/linux/if_xdp.h</c>): one RX or TX ring entry, a frame in the
/// UMEM. 16 bytes. (Fill and completion ring entries are a bare <c>u64</c> address.)
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 16)]
public struct XdpDesc
{
    /// <summary><c>addr</c>: the frame's offset in the UMEM (RX: chunk start + headroom + XDP_PACKET_HEADROOM in aligned mode).</summary>
    [FieldOffset(0)] public ulong Address;

    /// <summary><c>len</c>: the frame's length in bytes.</summary>
    [FieldOffset(8)] public uint Length;

    /// <summary><c>options</c>: XDP_PKT_CONTD (1) for a multi-buffer frame's non-last part, XDP_TX_METADATA (2); 0 otherwise.</summary>
    [FieldOffset(12)] public uint Options;
}

/// <summary>
/// <c>struct xdp_statistics</c> (<c>/usr/include/linux/if_xdp.h</c>), the result of XDP_STATISTICS.
/// 48 bytes; with a shorter buffer the kernel answers the first three counters only (<c>xdp_statistics_v1</c>).
/// The counters are cumulative (not reset on read).
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 48)]
public struct XdpStatistics
{
    /// <summary><c>rx_dropped</c>: frames dropped for other reasons (a frame larger than a chunk, for one).</summary>
    [FieldOffset(0)] public ulong RxDropped;

    /// <summary><c>rx_invalid_descs</c>: fill-ring addresses the kernel refused.</summary>
    [FieldOffset(8)] public ulong RxInvalidDescriptors;

    /// <summary><c>tx_invalid_descs</c>: TX descriptors the kernel refused (outside the UMEM, too long).</summary>
    [FieldOffset(16)] public ulong TxInvalidDescriptors;

    /// <summary><c>rx_ring_full</c>: frames dropped because the RX ring was full.</summary>
    [FieldOffset(24)] public ulong RxRingFull;

    /// <summary><c>rx_fill_ring_empty_descs</c>: times a frame found the fill ring empty.</summary>
    [FieldOffset(32)] public ulong RxFillRingEmpty;

    /// <summary><c>tx_ring_empty_descs</c>: times the kernel looked for a TX descriptor and found none.</summary>
    [FieldOffset(40)] public ulong TxRingEmpty;
}

/// <summary><c>struct xdp_options</c> (<c>/usr/include/linux/if_xdp.h</c>), the result of XDP_OPTIONS. 4 bytes.</summary>
[StructLayout(LayoutKind.Explicit, Size = 4)]
public struct XdpOptions
{
    /// <summary><c>flags</c>: <see cref="XdpConstants.OptionsZeroCopy"/> when the bound socket is zero-copy.</summary>
    [FieldOffset(0)] public uint Flags;
}
