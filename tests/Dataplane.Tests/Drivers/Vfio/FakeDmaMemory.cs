using Dataplane.Buffers;
using Dataplane.Drivers.Vfio;
using Dataplane.Native;

namespace Dataplane.Tests.Drivers.Vfio;

/// <summary>
/// DMA memory for a fake device: rings on pages of their own, the pool's memory recorded as mapped.
/// The fake reaches memory only through <see cref="Span"/>, which refuses an IOVA outside what the
/// driver mapped: a driver that hands the device an unmapped address fails the test, as an IOMMU
/// fault would fail the real device.
/// </summary>
internal sealed class FakeDmaMemory : IDmaMemory, IDisposable
{
    private readonly List<PinnedMemory> _allocations = [];
    private readonly List<(ulong Start, ulong Length)> _mapped = [];
    private readonly List<BufferPool> _pools = [];

    /// <summary>Pools mapped, for tests.</summary>
    public int MappedPools => _pools.Count;

    /// <summary>Whether everything was given back.</summary>
    public bool Disposed { get; private set; }

    /// <inheritdoc/>
    public DmaRegion Allocate(int bytes)
    {
        PinnedMemory memory = HugePages.Allocate((nuint)bytes, lockMemory: false);
        _allocations.Add(memory);
        _mapped.Add(((ulong)PinnedAddress.Of(memory), memory.Length));
        return new DmaRegion(PinnedAddress.Of(memory), bytes);
    }

    /// <inheritdoc/>
    public void MapPool(BufferPool pool)
    {
        if (_pools.Contains(pool))
            return;
        _pools.Add(pool);
        _mapped.Add(((ulong)pool.Address(0), (ulong)pool.MemoryBytes));
    }

    /// <summary>The device's view of <paramref name="length"/> bytes at <paramref name="iova"/>; throws when any of them is not mapped.</summary>
    public Span<byte> Span(ulong iova, int length)
    {
        foreach ((ulong start, ulong size) in _mapped)
        {
            if (iova >= start && iova + (ulong)length <= start + size)
                return PinnedAddress.Span((nint)iova, length);
        }
        throw new InvalidOperationException($"the device was given IOVA 0x{iova:x} (+{length}), which is not mapped");
    }

    /// <summary>Frees the rings.</summary>
    public void Dispose()
    {
        foreach (PinnedMemory memory in _allocations)
            memory.Dispose();
        _allocations.Clear();
        _mapped.Clear();
        Disposed = true;
    }
}
