using Dataplane.Buffers;
using Dataplane.Native;

namespace Dataplane.Drivers.Vfio;

/// <summary>
/// The memory a device may read and write. Every mapping is made with IOVA == the process's virtual
/// address, so a ring's address and a pool buffer's address are what the device is given: no
/// translation table on the data path (as DPDK's IOVA-as-VA mode).
/// </summary>
internal interface IDmaMemory
{
    /// <summary>
    /// <paramref name="bytes"/> (rounded up to pages) of zeroed, page-aligned memory mapped for the
    /// device, for rings; freed (unmapped first) when the provider is disposed.
    /// </summary>
    DmaRegion Allocate(int bytes);

    /// <summary>
    /// Maps <paramref name="pool"/>'s packet memory for the device, once (a second call for the same
    /// pool does nothing): a buffer's address is then its IOVA. The pool's memory never moves.
    /// </summary>
    void MapPool(BufferPool pool);
}

/// <summary>A piece of DMA memory: its span for the driver and its IOVA (== its address) for the device.</summary>
internal sealed class DmaRegion
{
    internal DmaRegion(nint address, int length)
    {
        Address = address;
        Length = length;
    }

    /// <summary>The first byte's virtual address, which is also its IOVA.</summary>
    public nint Address { get; }

    /// <summary>The device's address of the first byte.</summary>
    public ulong Iova => (ulong)Address;

    /// <summary>Bytes.</summary>
    public int Length { get; }

    /// <summary>The bytes, for volatile access through <see cref="Mmio"/>.</summary>
    public Span<byte> Span => PinnedAddress.Span(Address, Length);

    /// <summary><paramref name="length"/> bytes at <paramref name="offset"/>: a part of this region (owned by it).</summary>
    public DmaRegion Slice(int offset, int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        ArgumentOutOfRangeException.ThrowIfGreaterThan((long)offset + length, Length, nameof(length));
        return new DmaRegion(Address + offset, length);
    }
}
