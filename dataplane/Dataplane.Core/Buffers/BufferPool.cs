using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Dataplane.Buffers;

/// <summary>
/// Fixed-size packet buffers in pinned memory, with their metadata beside them. Buffers
/// are handed out through per-core <see cref="BufferCache"/>s, which refill from and spill to the
/// shared <see cref="RefillRing"/> in bursts; frames longer than one buffer are chains.
/// </summary>
internal sealed class BufferPool
{
    /// <summary>
    /// Bytes reserved in front of the data for headers prepended on the way out: XDP's 256
    /// (XDP_PACKET_HEADROOM), so that an AF_XDP UMEM over the pool puts a received frame where a
    /// fresh buffer's data starts.
    /// </summary>
    public const int DefaultHeadroom = 256;

    /// <summary>Data bytes of a buffer: a standard frame with its virtio-net header.</summary>
    public const int DefaultDataRoom = 2048;

    /// <summary>
    /// The longest frame a chain carries: the longest IP packet (an IPv6 header and a payload of
    /// 65535 bytes, or an IPv4 packet of 65535) behind an Ethernet header and a VLAN tag, and a TSO
    /// or LRO super-frame.
    /// </summary>
    public const int MaxPacketLength = 64 * 1024 + 64;

    // Packet memory is 2 MiB huge pages when the machine has enough reserved, otherwise an array on
    // the pinned object heap; neither ever moves, so drivers can hand addresses to the kernel or a
    // device. Buffers start on a page (AF_XDP's UMEM wants page-aligned frames). The pool lives as
    // long as the process: the mapping is never unmapped, the array never collected.
    private readonly byte[]? _memory;
    private readonly Native.PinnedMemory? _hugePages;
    private readonly nint _memoryAddress;
    private readonly byte[] _metadata; // pinned; kept here so that it lives as long as the pool
    private readonly nint _metadataAddress; // its first cache line: entries are found from it without the array's bounds

    /// <summary>
    /// A pool of <paramref name="count"/> buffers of <paramref name="headroom"/> + <paramref name="dataRoom"/>
    /// bytes, on huge pages when <paramref name="hugePages"/> is set and the machine has them reserved.
    /// </summary>
    public BufferPool(int count, int headroom = DefaultHeadroom, int dataRoom = DefaultDataRoom, bool hugePages = false)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(headroom);
        ArgumentOutOfRangeException.ThrowIfLessThan(dataRoom, 64);
        Count = count;
        Headroom = headroom;
        DataRoom = dataRoom;
        // Each buffer starts on a cache line.
        BufferSize = (headroom + dataRoom + 63) & ~63;
        MemoryBytes = (long)count * BufferSize;
        ArgumentOutOfRangeException.ThrowIfGreaterThan(MemoryBytes, Array.MaxLength - 2 * PageSize, nameof(count));
        if (hugePages && Native.HugePages.FreeCount() * Native.HugePages.Size >= MemoryBytes)
        {
            Native.PinnedMemory mapped = Native.HugePages.Allocate((nuint)MemoryBytes);
            if (mapped.Pages == Native.PageKind.HugePages)
            {
                _hugePages = mapped;
                _memoryAddress = Native.PinnedAddress.Of(mapped);
            }
            else
            {
                mapped.Dispose(); // another process took the reserved pages first
            }
        }
        if (_hugePages is null)
        {
            // A page of slack for the alignment, and one after the last buffer: a driver that maps the
            // pool for a device (VFIO) rounds the mapping up to a page, which must stay in this array.
            _memory = GC.AllocateUninitializedArray<byte>((int)MemoryBytes + 2 * PageSize, pinned: true);
            _memoryAddress = AddressOf(_memory) + AlignmentPadding(_memory, PageSize);
        }
        _metadata = GC.AllocateArray<byte>(count * MetadataSize + CacheLine, pinned: true);
        _metadataAddress = AddressOf(_metadata) + AlignmentPadding(_metadata, CacheLine);

        Shared = new RefillRing(count);
        Span<int> all = new int[count];
        for (int i = 0; i < count; i++)
            all[i] = i;
        Shared.Enqueue(all);
    }

    /// <summary>True when the packet memory is 2 MiB huge pages, false when it is the pinned heap.</summary>
    public bool OnHugePages => _hugePages is not null;

    /// <summary>Buffers in the pool.</summary>
    public int Count { get; }

    /// <summary>Headroom of a fresh buffer.</summary>
    public int Headroom { get; }

    /// <summary>Data bytes after the headroom.</summary>
    public int DataRoom { get; }

    /// <summary>Bytes between the starts of two buffers.</summary>
    public int BufferSize { get; }

    /// <summary>Bytes of packet memory.</summary>
    public long MemoryBytes { get; }

    /// <summary>
    /// Receive rings that keep pool buffers lent to the kernel (AF_XDP fill rings), so that each
    /// can size its share of the pool by how many there are.
    /// </summary>
    internal int FillRings;

    /// <summary>The free buffers not held by any cache.</summary>
    internal RefillRing Shared { get; }

    /// <summary>The metadata of <paramref name="buffer"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref BufferMetadata Metadata(PacketBuffer buffer)
    {
        Check(buffer);
        return ref MetadataAt(buffer.Index);
    }

    // Checked by the caller: index is below Count, so the entry lies inside the array.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ref BufferMetadata MetadataAt(int index)
        => ref Native.PinnedAddress.Ref<BufferMetadata>(_metadataAddress + (nint)index * Unsafe.SizeOf<BufferMetadata>());

    /// <summary>The data bytes of <paramref name="buffer"/>: this buffer's piece of the frame.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Span<byte> Data(PacketBuffer buffer)
    {
        ref BufferMetadata m = ref Metadata(buffer);
        if (m.DataOffset + m.DataLength > BufferSize)
            ThrowCorrupt(buffer);
        // The index is checked and the offsets lie inside the buffer, so the span lies in the pool.
        return Native.PinnedAddress.Span(_memoryAddress + (nint)buffer.Index * BufferSize + m.DataOffset, m.DataLength);
    }

    /// <summary>The room from the data start to the end of the buffer, for a driver or builder to fill.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Span<byte> Room(PacketBuffer buffer)
    {
        ref BufferMetadata m = ref Metadata(buffer);
        if (m.DataOffset > BufferSize)
            ThrowCorrupt(buffer);
        return Native.PinnedAddress.Span(_memoryAddress + (nint)buffer.Index * BufferSize + m.DataOffset, BufferSize - m.DataOffset);
    }

    /// <summary>Moves the data start back by <paramref name="bytes"/> of headroom, for a header; false when there is not enough.</summary>
    public bool TryPrepend(PacketBuffer buffer, int bytes)
    {
        ref BufferMetadata m = ref Metadata(buffer);
        if ((uint)bytes > m.DataOffset)
            return false;
        m.DataOffset -= (ushort)bytes;
        m.DataLength += (ushort)bytes;
        m.PacketLength += bytes;
        return true;
    }

    /// <summary>Drops <paramref name="bytes"/> from the front of the data (a header that was consumed).</summary>
    public bool TryTrimFront(PacketBuffer buffer, int bytes)
    {
        ref BufferMetadata m = ref Metadata(buffer);
        if ((uint)bytes > m.DataLength)
            return false;
        m.DataOffset += (ushort)bytes;
        m.DataLength -= (ushort)bytes;
        m.PacketLength -= bytes;
        return true;
    }

    /// <summary>Metadata of a buffer just taken from the free list: empty, one reference, headroom in front.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void Reset(int index)
    {
        ref BufferMetadata m = ref MetadataAt(index);
        m = default;
        m.DataOffset = (ushort)Headroom;
        m.Next = -1;
        m.ReferenceCount = 1;
        m.Segments = 1;
    }

    /// <summary>The address of the first byte of buffer <paramref name="index"/>, for a device or the kernel.</summary>
    public nint Address(int index)
    {
        Check(new PacketBuffer(index));
        return _memoryAddress + (nint)index * BufferSize;
    }

    private const int PageSize = 4096;
    private const int CacheLine = 64;
    private static readonly int MetadataSize = Unsafe.SizeOf<BufferMetadata>();

    // Bytes to skip from the start of a pinned array's data to the next multiple of alignment.
    private static int AlignmentPadding(byte[] pinned, int alignment)
        => (int)((alignment - (AddressOf(pinned) & (alignment - 1))) & (alignment - 1));

    private static nint AddressOf(byte[] pinned)
    {
        // The array is on the pinned object heap, so its address stays valid after the handle goes.
        GCHandle handle = GCHandle.Alloc(pinned, GCHandleType.Pinned);
        try
        {
            return handle.AddrOfPinnedObject();
        }
        finally
        {
            handle.Free();
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Check(PacketBuffer buffer)
    {
        // A bad handle is a bug in the stack, never input: fail loudly rather than scribble.
        if ((uint)buffer.Index >= (uint)Count)
            ThrowBadHandle(buffer);
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private static void ThrowCorrupt(PacketBuffer buffer) => throw new InvalidOperationException($"buffer {buffer.Index}: data offset and length reach past the buffer");

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private static void ThrowBadHandle(PacketBuffer buffer) => throw new ArgumentOutOfRangeException(nameof(buffer), buffer.Index, "not a buffer of this pool");
}
