using System.Numerics;
using System.Runtime.CompilerServices;
using static Tmds.Linux.LibC;

namespace Dataplane.Native;

/// <summary>
/// An AF_XDP socket (the kernel's Documentation/networking/af_xdp.rst; net/xdp/xsk.c): frames of one
/// queue of one interface, exchanged through four rings mapped into this process, over packet memory
/// (UMEM) the process provides. The set-up order the kernel wants: <see cref="Open"/>,
/// <see cref="RegisterUmem(nint, ulong, uint, uint, XdpUmemFlags, uint)"/>, <see cref="SetRingSize"/>
/// for the fill and completion rings and for RX and/or TX, <see cref="MapRings"/>, <see cref="Bind"/>;
/// then an XDP program must redirect the queue's frames into the socket (<see cref="XskMap"/>,
/// <see cref="XdpProgram"/>). Control path throws <see cref="NativeException"/>; the kicks return
/// <c>-errno</c>.
/// </summary>
public sealed unsafe class XdpSocket : IDisposable
{
    private readonly uint[] _ringSizes = new uint[4];

    private XdpSocket(FileDescriptor descriptor) => Descriptor = descriptor;

    /// <summary>The socket's descriptor: for poll(2) (POLLIN: RX ring not empty) and for <see cref="XskMap.Set"/>.</summary>
    public FileDescriptor Descriptor { get; }

    /// <summary>The RX ring once mapped, if its size was set.</summary>
    public XdpRing? Rx { get; private set; }

    /// <summary>The TX ring once mapped, if its size was set.</summary>
    public XdpRing? Tx { get; private set; }

    /// <summary>The fill ring once mapped.</summary>
    public XdpRing? Fill { get; private set; }

    /// <summary>The completion ring once mapped.</summary>
    public XdpRing? Completion { get; private set; }

    /// <summary>The registered UMEM's chunk size (0 before <see cref="RegisterUmem(nint, ulong, uint, uint, XdpUmemFlags, uint)"/>).</summary>
    public uint ChunkSize { get; private set; }

    /// <summary>The registered UMEM's length in bytes.</summary>
    public ulong UmemLength { get; private set; }

    /// <summary>socket(AF_XDP, SOCK_RAW | SOCK_CLOEXEC, 0). Needs CAP_NET_RAW.</summary>
    public static XdpSocket Open()
    {
        int fd = socket(XdpConstants.AddressFamily, SOCK_RAW | SOCK_CLOEXEC, 0);
        NativeException.ThrowIfFailed(fd, "socket(AF_XDP, SOCK_RAW)");
        return new XdpSocket(new FileDescriptor(fd));
    }

    /// <summary>XDP_UMEM_REG over <paramref name="memory"/>, the whole region; see the other overload.</summary>
    public void RegisterUmem(PinnedMemory memory, uint chunkSize, uint headroom = 0)
    {
        ArgumentNullException.ThrowIfNull(memory);
        ArgumentOutOfRangeException.ThrowIfZero(chunkSize);
        ulong length = memory.Length / chunkSize * chunkSize;
        RegisterUmem((nint)memory.Pointer, length, chunkSize, headroom);
    }

    /// <summary>
    /// XDP_UMEM_REG: registers <paramref name="length"/> bytes at <paramref name="address"/> as this
    /// socket's UMEM, cut into <paramref name="chunkSize"/>-byte chunks, each received frame starting
    /// <paramref name="headroom"/> + <see cref="XdpConstants.PacketHeadroom"/> bytes into its chunk. The
    /// memory is the caller's, pinned (a <see cref="PinnedMemory"/>), and must outlive the socket; the
    /// kernel pins its pages (and charges them to RLIMIT_MEMLOCK). Aligned mode (no
    /// <see cref="XdpUmemFlags.UnalignedChunks"/>) wants a page-aligned address, a power-of-two chunk size
    /// of at least 2048 and a length that is a whole number of chunks: checked here, before the kernel's
    /// EINVAL (net/xdp/xdp_umem.c, xdp_umem_reg). Always passes the 32-byte <see cref="XdpUmemReg"/>.
    /// </summary>
    public void RegisterUmem(nint address, ulong length, uint chunkSize, uint headroom = 0,
        XdpUmemFlags flags = XdpUmemFlags.None, uint txMetadataLength = 0)
    {
        ArgumentOutOfRangeException.ThrowIfZero(length);
        if ((flags & XdpUmemFlags.UnalignedChunks) == 0)
        {
            if (!BitOperations.IsPow2(chunkSize) || chunkSize < XdpConstants.MinimumChunkSize)
                throw new ArgumentOutOfRangeException(nameof(chunkSize), chunkSize, "aligned chunks must be a power of two of at least 2048 bytes");
            if (length % chunkSize != 0)
                throw new ArgumentOutOfRangeException(nameof(length), length, $"not a whole number of {chunkSize}-byte chunks");
        }
        if (address % Environment.SystemPageSize != 0)
            throw new ArgumentOutOfRangeException(nameof(address), $"0x{address:x} is not page aligned");
        if (headroom >= chunkSize)
            throw new ArgumentOutOfRangeException(nameof(headroom), headroom, $"no room left in a {chunkSize}-byte chunk");

        var reg = new XdpUmemReg
        {
            Address = (ulong)address,
            Length = length,
            ChunkSize = chunkSize,
            Headroom = headroom,
            Flags = flags,
            TxMetadataLength = txMetadataLength,
        };
        int result = TryRegisterUmem(reg, XdpUmemReg.Size);
        if (result < 0)
            NativeException.Throw($"setsockopt(SOL_XDP, XDP_UMEM_REG, {length} bytes at 0x{address:x}, chunk {chunkSize}, headroom {headroom})", new Errno(-result));
        ChunkSize = chunkSize;
        UmemLength = length;
    }

    /// <summary>XDP_UMEM_REG with the first <paramref name="optionLength"/> bytes of <paramref name="reg"/>: 0 or <c>-errno</c>.</summary>
    internal int TryRegisterUmem(in XdpUmemReg reg, int optionLength)
    {
        fixed (XdpUmemReg* p = &reg)
            return SystemCall.Result(setsockopt(Descriptor.Value, XdpConstants.SolXdp, (int)XdpSocketOption.UmemRegister, p, optionLength));
    }

    /// <summary>
    /// XDP_RX_RING, XDP_TX_RING, XDP_UMEM_FILL_RING or XDP_UMEM_COMPLETION_RING: creates that ring with
    /// <paramref name="entries"/> entries, a power of two. Once per ring, before <see cref="Bind"/>.
    /// </summary>
    public void SetRingSize(XdpRingKind ring, uint entries)
    {
        if (!BitOperations.IsPow2(entries))
            throw new ArgumentOutOfRangeException(nameof(entries), entries, "a ring's size must be a power of two");
        XdpSocketOption option = RingOption(ring);
        int value = (int)entries;
        int result = setsockopt(Descriptor.Value, XdpConstants.SolXdp, (int)option, &value, sizeof(int));
        NativeException.ThrowIfFailed(result, $"setsockopt(SOL_XDP, {OptionName(option)}, {entries})");
        _ringSizes[(int)ring] = entries;
    }

    /// <summary>XDP_MMAP_OFFSETS: where each ring's indices, flags and entries lie in its mapping.</summary>
    public XdpMmapOffsets GetMmapOffsets()
    {
        XdpMmapOffsets offsets = default;
        Tmds.Linux.socklen_t length = sizeof(XdpMmapOffsets);
        int result = getsockopt(Descriptor.Value, XdpConstants.SolXdp, (int)XdpSocketOption.MmapOffsets, &offsets, &length);
        NativeException.ThrowIfFailed(result, "getsockopt(SOL_XDP, XDP_MMAP_OFFSETS)");
        // A kernel before 5.4 answers the 96-byte xdp_mmap_offsets_v1, without the flags words that need-wakeup reads.
        if ((int)length != sizeof(XdpMmapOffsets))
            throw new NativeException($"getsockopt(SOL_XDP, XDP_MMAP_OFFSETS) returned {(int)length} bytes, not {sizeof(XdpMmapOffsets)}: a kernel before 5.4");
        return offsets;
    }

    /// <summary>
    /// mmap(2) every ring whose size was set, each at its page offset (XDP_PGOFF_RX_RING, ...), and
    /// makes <see cref="Rx"/>, <see cref="Tx"/>, <see cref="Fill"/> and <see cref="Completion"/>.
    /// Before or after <see cref="Bind"/>; xsk.h maps them before.
    /// </summary>
    public void MapRings()
    {
        if (Fill is not null || Completion is not null || Rx is not null || Tx is not null)
            throw new InvalidOperationException("the rings are mapped already");
        XdpMmapOffsets offsets = GetMmapOffsets();
        Fill = MapRing(XdpRingKind.Fill, offsets.Fill, XdpConstants.PageOffsetFillRing);
        Completion = MapRing(XdpRingKind.Completion, offsets.Completion, XdpConstants.PageOffsetCompletionRing);
        Rx = MapRing(XdpRingKind.Rx, offsets.Rx, XdpConstants.PageOffsetRxRing);
        Tx = MapRing(XdpRingKind.Tx, offsets.Tx, XdpConstants.PageOffsetTxRing);
    }

    /// <summary>
    /// bind(2) to queue <paramref name="queueId"/> of interface <paramref name="interfaceIndex"/>: from then
    /// on, frames an XDP program redirects to this socket land in the RX ring, and the TX ring sends
    /// on that queue. Needs the UMEM and the fill and completion rings (EINVAL otherwise); ENODEV for
    /// an unknown interface; EOPNOTSUPP with <see cref="XdpBindFlags.ZeroCopy"/> on a driver without it.
    /// </summary>
    public void Bind(int interfaceIndex, uint queueId, XdpBindFlags flags)
    {
        var address = new SockaddrXdp
        {
            Family = XdpConstants.AddressFamily,
            Flags = flags,
            InterfaceIndex = (uint)interfaceIndex,
            QueueId = queueId,
        };
        int result = bind(Descriptor.Value, (Tmds.Linux.sockaddr*)&address, sizeof(SockaddrXdp));
        NativeException.ThrowIfFailed(result, $"bind(AF_XDP, ifindex {interfaceIndex}, queue {queueId}, {flags})");
    }

    /// <summary>
    /// bind(2) with XDP_SHARED_UMEM: use <paramref name="owner"/>'s UMEM (bound already). On the owner's
    /// own interface and queue the fill and completion rings are shared too, and this socket needs only
    /// RX and/or TX; elsewhere it needs its own fill and completion rings.
    /// </summary>
    public void BindShared(int interfaceIndex, uint queueId, XdpSocket owner)
    {
        ArgumentNullException.ThrowIfNull(owner);
        var address = new SockaddrXdp
        {
            Family = XdpConstants.AddressFamily,
            Flags = XdpBindFlags.SharedUmem,
            InterfaceIndex = (uint)interfaceIndex,
            QueueId = queueId,
            SharedUmemDescriptor = (uint)owner.Descriptor.Value,
        };
        int result = bind(Descriptor.Value, (Tmds.Linux.sockaddr*)&address, sizeof(SockaddrXdp));
        NativeException.ThrowIfFailed(result, $"bind(AF_XDP, ifindex {interfaceIndex}, queue {queueId}, XDP_SHARED_UMEM of fd {owner.Descriptor.Value})");
    }

    /// <summary>XDP_STATISTICS: the socket's drop and empty-ring counters (cumulative).</summary>
    public XdpStatistics GetStatistics()
    {
        XdpStatistics stats = default;
        Tmds.Linux.socklen_t length = sizeof(XdpStatistics);
        int result = getsockopt(Descriptor.Value, XdpConstants.SolXdp, (int)XdpSocketOption.Statistics, &stats, &length);
        NativeException.ThrowIfFailed(result, "getsockopt(SOL_XDP, XDP_STATISTICS)");
        return stats;
    }

    /// <summary>XDP_OPTIONS: true when the bound socket runs in zero-copy mode.</summary>
    public bool IsZeroCopy()
    {
        XdpOptions options = default;
        Tmds.Linux.socklen_t length = sizeof(XdpOptions);
        int result = getsockopt(Descriptor.Value, XdpConstants.SolXdp, (int)XdpSocketOption.Options, &options, &length);
        NativeException.ThrowIfFailed(result, "getsockopt(SOL_XDP, XDP_OPTIONS)");
        return (options.Flags & XdpConstants.OptionsZeroCopy) != 0;
    }

    /// <summary>
    /// sendto(fd, NULL, 0, MSG_DONTWAIT, NULL, 0): makes the kernel look at the TX ring (in copy mode it
    /// sends from it in this call, net/xdp/xsk.c __xsk_generic_xmit). Call it when
    /// <see cref="XdpRing.NeedsWakeup"/> of the TX ring is set, or after every submit without need-wakeup.
    /// Returns 0 or <c>-errno</c>; EAGAIN, EBUSY, ENOBUFS and ENETDOWN are passing (xsk.h's kick_tx
    /// ignores them: try again on the next turn), anything else is a fault.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public nint KickTransmit() =>
        SystemCall.Result((nint)(long)sendto(Descriptor.Value, null, 0, MSG_DONTWAIT, null, 0));

    /// <summary>
    /// recvfrom(fd, NULL, 0, MSG_DONTWAIT, NULL, NULL): wakes the driver to refill from the fill ring,
    /// when <see cref="XdpRing.NeedsWakeup"/> of the fill ring is set (zero-copy drivers; in copy mode
    /// the flag is not set and this is a no-op). poll(2) on <see cref="Descriptor"/> does the same.
    /// Returns 0 or <c>-errno</c>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public nint KickReceive() =>
        SystemCall.Result((nint)(long)recvfrom(Descriptor.Value, null, 0, MSG_DONTWAIT, null, null));

    /// <summary>Unmaps the rings and closes the socket (which leaves every XSKMAP it was in).</summary>
    public void Dispose()
    {
        Rx?.Dispose();
        Tx?.Dispose();
        Fill?.Dispose();
        Completion?.Dispose();
        Descriptor.Dispose();
    }

    private XdpRing? MapRing(XdpRingKind kind, in XdpRingOffset offsets, long pageOffset)
    {
        uint size = _ringSizes[(int)kind];
        if (size == 0)
            return null;
        PinnedMemory mapping = PinnedMemory.MapShared(Descriptor, XdpRing.MappingLength(offsets, size, kind), pageOffset);
        return new XdpRing(mapping, offsets, size, kind);
    }

    private static XdpSocketOption RingOption(XdpRingKind ring) => ring switch
    {
        XdpRingKind.Rx => XdpSocketOption.RxRing,
        XdpRingKind.Tx => XdpSocketOption.TxRing,
        XdpRingKind.Fill => XdpSocketOption.UmemFillRing,
        XdpRingKind.Completion => XdpSocketOption.UmemCompletionRing,
        _ => throw new ArgumentOutOfRangeException(nameof(ring)),
    };

    private static string OptionName(XdpSocketOption option) => option switch
    {
        XdpSocketOption.RxRing => "XDP_RX_RING",
        XdpSocketOption.TxRing => "XDP_TX_RING",
        XdpSocketOption.UmemFillRing => "XDP_UMEM_FILL_RING",
        XdpSocketOption.UmemCompletionRing => "XDP_UMEM_COMPLETION_RING",
        _ => ((int)option).ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}
