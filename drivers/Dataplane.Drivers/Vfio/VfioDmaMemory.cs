using Dataplane.Buffers;
using Dataplane.Native;

namespace Dataplane.Drivers.Vfio;

/// <summary>
/// DMA memory through a VFIO container: rings on pages of their own, the buffer pool where it is,
/// each mapped with VFIO_IOMMU_MAP_DMA at IOVA == its virtual address. Dispose unmaps every mapping
/// first (so the device can no longer reach it), then frees the rings.
/// </summary>
/// <remarks>
/// IOVA == VA asks the IOMMU to take user-space addresses, up to 2^47 on x86-64: a guest IOMMU of
/// 39 address bits (QEMU's intel-iommu before 9.0, aw-bits=39) refuses mappings above 512 GiB, where
/// mmap places them; QEMU's guest needs <c>-device intel-iommu,aw-bits=48</c>.
/// </remarks>
internal sealed class VfioDmaMemory(VfioContainer container, string where) : IDmaMemory, IDisposable
{
    private readonly List<(ulong Iova, ulong Size)> _mappings = [];
    private readonly List<PinnedMemory> _allocations = [];
    private readonly List<BufferPool> _pools = [];

    /// <inheritdoc/>
    public DmaRegion Allocate(int bytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bytes, 1);
        PinnedMemory memory = HugePages.Allocate((nuint)bytes);
        try
        {
            Map(PinnedAddress.Of(memory), memory.Length);
        }
        catch
        {
            memory.Dispose();
            throw;
        }
        _allocations.Add(memory);
        return new DmaRegion(PinnedAddress.Of(memory), bytes);
    }

    /// <inheritdoc/>
    public void MapPool(BufferPool pool)
    {
        if (_pools.Contains(pool))
            return;
        // Address(0) is page aligned (huge pages, or the pinned array's first page boundary); the
        // mapping is rounded up to whole pages, the last one partly the pool's.
        ulong page = (ulong)HugePages.NormalPageSize;
        Map(pool.Address(0), (nuint)(((ulong)pool.MemoryBytes + page - 1) & ~(page - 1)));
        _pools.Add(pool);
    }

    private void Map(nint address, nuint length)
    {
        try
        {
            container.MapDma(address, (ulong)address, length);
        }
        catch (NativeException e)
        {
            string hint = e.Errno.Number switch
            {
                Errno.ENOMEM or Errno.EPERM => " (the pages are pinned against RLIMIT_MEMLOCK: ulimit -l, or run as root)",
                _ => " (IOVA == VA: the IOMMU must take 48-bit addresses; QEMU: -device intel-iommu,aw-bits=48)",
            };
            throw new NativeException($"{where}: {e.Message}{hint}", e);
        }
        _mappings.Add(((ulong)address, length));
    }

    /// <summary>Unmaps everything (the device loses access), then frees the rings.</summary>
    public void Dispose()
    {
        foreach ((ulong iova, ulong size) in _mappings)
            container.UnmapDma(iova, size);
        _mappings.Clear();
        _pools.Clear();
        foreach (PinnedMemory memory in _allocations)
            memory.Dispose();
        _allocations.Clear();
    }
}
