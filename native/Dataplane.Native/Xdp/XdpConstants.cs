namespace Dataplane.Native;

/// <summary>
/// The AF_XDP numbers of <c>/usr/include/linux/if_xdp.h</c> and <c>linux/socket.h</c> that are not
/// flags: the address family, the socket option level and the mmap(2) page offsets of the four rings.
/// </summary>
public static class XdpConstants
{
    /// <summary>AF_XDP (<c>linux/socket.h</c>): the address family of XDP sockets.</summary>
    public const int AddressFamily = 44;

    /// <summary>SOL_XDP (<c>linux/socket.h</c>): the setsockopt / getsockopt level of <see cref="XdpSocketOption"/>.</summary>
    public const int SolXdp = 283;

    /// <summary>XDP_PGOFF_RX_RING: the mmap(2) offset that maps the RX ring.</summary>
    public const long PageOffsetRxRing = 0;

    /// <summary>XDP_PGOFF_TX_RING: the mmap(2) offset that maps the TX ring.</summary>
    public const long PageOffsetTxRing = 0x80000000;

    /// <summary>XDP_UMEM_PGOFF_FILL_RING: the mmap(2) offset that maps the UMEM fill ring.</summary>
    public const long PageOffsetFillRing = 0x100000000;

    /// <summary>XDP_UMEM_PGOFF_COMPLETION_RING: the mmap(2) offset that maps the UMEM completion ring.</summary>
    public const long PageOffsetCompletionRing = 0x180000000;

    /// <summary>XDP_RING_NEED_WAKEUP: the bit of a ring's flags word set when the kernel wants a kick (sendto or poll).</summary>
    public const uint RingNeedWakeup = 1;

    /// <summary>XDP_OPTIONS_ZEROCOPY: the bit of <see cref="XdpOptions.Flags"/> set when the socket runs in zero-copy mode.</summary>
    public const uint OptionsZeroCopy = 1;

    /// <summary>
    /// XDP_UMEM_MIN_CHUNK_SIZE (<c>include/net/xdp_sock.h</c>, not in the uapi): the smallest chunk the
    /// kernel accepts, 2 KiB.
    /// </summary>
    public const uint MinimumChunkSize = 2048;

    /// <summary>
    /// XDP_PACKET_HEADROOM (<c>include/uapi/linux/bpf.h</c>): the headroom the kernel leaves in front of a
    /// received frame in a chunk, on top of the UMEM's own headroom.
    /// </summary>
    public const uint PacketHeadroom = 256;
}

/// <summary>The SOL_XDP socket options (<c>/usr/include/linux/if_xdp.h</c>, "XDP socket options").</summary>
public enum XdpSocketOption
{
    /// <summary>XDP_MMAP_OFFSETS (get): where each ring's producer, consumer, descriptors and flags lie in its mapping.</summary>
    MmapOffsets = 1,
    /// <summary>XDP_RX_RING (set): the RX ring's entry count, a power of two.</summary>
    RxRing = 2,
    /// <summary>XDP_TX_RING (set): the TX ring's entry count, a power of two.</summary>
    TxRing = 3,
    /// <summary>XDP_UMEM_REG (set): register the packet memory, a <see cref="XdpUmemReg"/>.</summary>
    UmemRegister = 4,
    /// <summary>XDP_UMEM_FILL_RING (set): the fill ring's entry count, a power of two.</summary>
    UmemFillRing = 5,
    /// <summary>XDP_UMEM_COMPLETION_RING (set): the completion ring's entry count, a power of two.</summary>
    UmemCompletionRing = 6,
    /// <summary>XDP_STATISTICS (get): an <see cref="XdpStatistics"/>.</summary>
    Statistics = 7,
    /// <summary>XDP_OPTIONS (get): an <see cref="XdpOptions"/>.</summary>
    Options = 8,
}

/// <summary>The <c>sxdp_flags</c> bits of <see cref="SockaddrXdp"/> (<c>/usr/include/linux/if_xdp.h</c>).</summary>
[Flags]
public enum XdpBindFlags : ushort
{
    /// <summary>No flag: the kernel picks zero-copy if the driver has it, copy mode otherwise.</summary>
    None = 0,
    /// <summary>XDP_SHARED_UMEM: use the UMEM of the socket in <c>sxdp_shared_umem_fd</c>; no other flag may be set.</summary>
    SharedUmem = 1 << 0,
    /// <summary>XDP_COPY: force copy mode (frames copied between the driver's buffers and the UMEM).</summary>
    Copy = 1 << 1,
    /// <summary>XDP_ZEROCOPY: force zero-copy mode; bind fails if the driver cannot.</summary>
    ZeroCopy = 1 << 2,
    /// <summary>
    /// XDP_USE_NEED_WAKEUP: the kernel sets <see cref="XdpConstants.RingNeedWakeup"/> in the fill and TX
    /// rings' flags when it wants a kick, and the process kicks only then.
    /// </summary>
    UseNeedWakeup = 1 << 3,
    /// <summary>XDP_USE_SG (Linux 6.6): frames may span several chunks (multi-buffer).</summary>
    UseScatterGather = 1 << 4,
}

/// <summary>The <c>flags</c> bits of <see cref="XdpUmemReg"/> (the kernel's <c>include/uapi/linux/if_xdp.h</c>).</summary>
[Flags]
public enum XdpUmemFlags : uint
{
    /// <summary>Aligned chunks: a descriptor's address is rounded down to its chunk.</summary>
    None = 0,
    /// <summary>XDP_UMEM_UNALIGNED_CHUNK_FLAG: addresses are taken as they are (chunk size need not be a power of two).</summary>
    UnalignedChunks = 1 << 0,
    /// <summary>XDP_UMEM_TX_SW_CSUM (Linux 6.8): copy mode computes a requested TX checksum in software.</summary>
    TxSoftwareChecksum = 1 << 1,
    /// <summary>
    /// XDP_UMEM_TX_METADATA_LEN (Linux 6.11, and stable back to 6.8): <see cref="XdpUmemReg.TxMetadataLength"/>
    /// is honoured; without it the kernel ignores the field.
    /// </summary>
    TxMetadataLength = 1 << 2,
}
