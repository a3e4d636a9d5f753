using static Tmds.Linux.LibC;

namespace Dataplane.Native;

/// <summary>What backs a <see cref="PinnedMemory"/>.</summary>
public enum PageKind
{
    /// <summary>Anonymous 2 MiB huge pages (MAP_HUGETLB): few TLB entries for a whole buffer pool.</summary>
    HugePages,
    /// <summary>Anonymous 4 KiB pages, faulted in up front (MAP_POPULATE): the fallback when no huge page is reserved.</summary>
    NormalPages,
    /// <summary>A shared mapping of a file descriptor (MAP_SHARED), such as a packet socket's rings.</summary>
    SharedMapping,
}

/// <summary>
/// A region mapped with mmap(2) that never moves: the garbage collector does not know it, so a pointer
/// into it stays valid until <see cref="Dispose"/> unmaps it (munmap(2)). There is no finalizer on
/// purpose: raw pointers into the region are not references the collector could see, so only the
/// owner may decide when it ends. Made by <see cref="HugePages.Allocate"/> and <see cref="MapShared"/>.
/// </summary>
public sealed unsafe class PinnedMemory : IDisposable
{
    private byte* _pointer;

    internal PinnedMemory(byte* pointer, nuint length, PageKind pages, bool locked)
    {
        _pointer = pointer;
        Length = length;
        Pages = pages;
        Locked = locked;
    }

    /// <summary>The first byte; throws <see cref="ObjectDisposedException"/> after <see cref="Dispose"/>.</summary>
    public byte* Pointer
    {
        get
        {
            ObjectDisposedException.ThrowIf(_pointer is null, this);
            return _pointer;
        }
    }

    /// <summary>The mapped length in bytes (the request rounded up to whole pages).</summary>
    public nuint Length { get; }

    /// <summary>What backs the region.</summary>
    public PageKind Pages { get; }

    /// <summary>True when mlock(2) succeeded: the pages cannot be swapped out.</summary>
    public bool Locked { get; }

    /// <summary>The whole region as a span; regions of 2 GiB or more must use <see cref="Slice"/>.</summary>
    public Span<byte> Span
    {
        get
        {
            if (Length > int.MaxValue)
                throw new InvalidOperationException($"the region is {Length} bytes, too large for one span; use Slice");
            return new Span<byte>(Pointer, (int)Length);
        }
    }

    /// <summary><paramref name="length"/> bytes at <paramref name="offset"/>, bounds checked.</summary>
    public Span<byte> Slice(nuint offset, int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        if (offset > Length || (nuint)length > Length - offset)
            throw new ArgumentOutOfRangeException(nameof(offset), $"[{offset}, +{length}) is outside the {Length}-byte region");
        return new Span<byte>(Pointer + offset, length);
    }

    /// <summary>
    /// mmap(2) <paramref name="length"/> bytes of <paramref name="descriptor"/> at
    /// <paramref name="offset"/>, shared and read-write, such as a packet socket's rings or an AF_XDP
    /// socket's (whose offset selects the ring). Throws
    /// <see cref="NativeException"/> on failure.
    /// </summary>
    public static PinnedMemory MapShared(FileDescriptor descriptor, nuint length, long offset = 0)
    {
        ArgumentNullException.ThrowIfNull(descriptor);
        ArgumentOutOfRangeException.ThrowIfZero(length);
        void* p = mmap(null, (Tmds.Linux.size_t)(ulong)length, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
            descriptor.Value, offset);
        if (p == MAP_FAILED)
            NativeException.Throw(offset == 0
                ? $"mmap({length} bytes, MAP_SHARED, fd {descriptor.Value})"
                : $"mmap({length} bytes, MAP_SHARED, fd {descriptor.Value}, offset 0x{offset:x})", Errno.Last);
        return new PinnedMemory((byte*)p, length, PageKind.SharedMapping, locked: false);
    }

    /// <summary>munmap(2); a second call does nothing.</summary>
    public void Dispose()
    {
        byte* p = _pointer;
        _pointer = null;
        if (p is not null)
            munmap(p, (Tmds.Linux.size_t)(ulong)Length);
    }
}
