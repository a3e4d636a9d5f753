using System.Runtime.InteropServices;

namespace Dataplane.Native;

/// <summary><c>struct vfio_group_status</c> (<c>/usr/include/linux/vfio.h</c>), the argument of VFIO_GROUP_GET_STATUS. 8 bytes.</summary>
[StructLayout(LayoutKind.Explicit, Size = 8)]
public struct VfioGroupStatus
{
    /// <summary><c>argsz</c>: the size of this struct, set by the caller.</summary>
    [FieldOffset(0)] public uint ArgumentSize;

    /// <summary><c>flags</c>: <see cref="VfioConstants.GroupFlagsViable"/>, <see cref="VfioConstants.GroupFlagsContainerSet"/>.</summary>
    [FieldOffset(4)] public uint Flags;
}

/// <summary><c>struct vfio_device_info</c>, the argument of VFIO_DEVICE_GET_INFO. 20 bytes.</summary>
[StructLayout(LayoutKind.Explicit, Size = 20)]
public struct VfioDeviceInfo
{
    /// <summary><c>argsz</c>.</summary>
    [FieldOffset(0)] public uint ArgumentSize;

    /// <summary><c>flags</c>: <see cref="VfioConstants.DeviceFlagsReset"/>, <see cref="VfioConstants.DeviceFlagsPci"/>, ...</summary>
    [FieldOffset(4)] public uint Flags;

    /// <summary><c>num_regions</c>: the largest region index + 1 (for PCI: BARs 0-5, ROM, config space, VGA).</summary>
    [FieldOffset(8)] public uint RegionCount;

    /// <summary><c>num_irqs</c>: the largest interrupt index + 1 (for PCI: INTx, MSI, MSI-X, ...).</summary>
    [FieldOffset(12)] public uint IrqCount;

    /// <summary><c>cap_offset</c>: where the first capability lies in a larger answer (not asked for here).</summary>
    [FieldOffset(16)] public uint CapabilityOffset;
}

/// <summary><c>struct vfio_region_info</c>, the argument of VFIO_DEVICE_GET_REGION_INFO. 32 bytes.</summary>
[StructLayout(LayoutKind.Explicit, Size = 32)]
public struct VfioRegionInfo
{
    /// <summary><c>argsz</c>.</summary>
    [FieldOffset(0)] public uint ArgumentSize;

    /// <summary><c>flags</c>: <see cref="VfioConstants.RegionFlagRead"/>, <see cref="VfioConstants.RegionFlagWrite"/>, <see cref="VfioConstants.RegionFlagMmap"/>.</summary>
    [FieldOffset(4)] public uint Flags;

    /// <summary><c>index</c>: the region asked for (<see cref="VfioConstants.PciConfigRegionIndex"/>, BAR n is n).</summary>
    [FieldOffset(8)] public uint Index;

    /// <summary><c>cap_offset</c>.</summary>
    [FieldOffset(12)] public uint CapabilityOffset;

    /// <summary><c>size</c>: the region's length in bytes (0: the BAR is not implemented).</summary>
    [FieldOffset(16)] public ulong Size;

    /// <summary><c>offset</c>: where the region lies in the device descriptor, for pread/pwrite and mmap.</summary>
    [FieldOffset(24)] public ulong Offset;
}

/// <summary><c>struct vfio_irq_info</c>, the argument of VFIO_DEVICE_GET_IRQ_INFO. 16 bytes.</summary>
[StructLayout(LayoutKind.Explicit, Size = 16)]
public struct VfioIrqInfo
{
    /// <summary><c>argsz</c>.</summary>
    [FieldOffset(0)] public uint ArgumentSize;

    /// <summary><c>flags</c>: VFIO_IRQ_INFO_EVENTFD and others.</summary>
    [FieldOffset(4)] public uint Flags;

    /// <summary><c>index</c>: the interrupt kind asked for (<see cref="VfioConstants.PciMsixIrqIndex"/>).</summary>
    [FieldOffset(8)] public uint Index;

    /// <summary><c>count</c>: vectors of that kind (MSI-X: the table size).</summary>
    [FieldOffset(12)] public uint Count;
}

/// <summary>
/// <c>struct vfio_irq_set</c> without its flexible <c>data[]</c>, the head of VFIO_DEVICE_SET_IRQS'
/// argument: 20 bytes, followed by <see cref="Count"/> <c>s32</c> eventfds for
/// <see cref="VfioConstants.IrqSetDataEventFd"/>.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 20)]
public struct VfioIrqSet
{
    /// <summary>sizeof(struct vfio_irq_set): where <c>data</c> starts.</summary>
    public const int Size = 20;

    /// <summary><c>argsz</c>: the head and the data.</summary>
    [FieldOffset(0)] public uint ArgumentSize;

    /// <summary><c>flags</c>: one data type and one action.</summary>
    [FieldOffset(4)] public uint Flags;

    /// <summary><c>index</c>: the interrupt kind.</summary>
    [FieldOffset(8)] public uint Index;

    /// <summary><c>start</c>: the first vector set.</summary>
    [FieldOffset(12)] public uint Start;

    /// <summary><c>count</c>: vectors set (0 with DATA_NONE and TRIGGER: all of the index off).</summary>
    [FieldOffset(16)] public uint Count;
}

/// <summary><c>struct vfio_iommu_type1_dma_map</c>, the argument of VFIO_IOMMU_MAP_DMA. 32 bytes.</summary>
[StructLayout(LayoutKind.Explicit, Size = 32)]
public struct VfioDmaMap
{
    /// <summary><c>argsz</c>.</summary>
    [FieldOffset(0)] public uint ArgumentSize;

    /// <summary><c>flags</c>: <see cref="VfioConstants.DmaMapFlagRead"/> | <see cref="VfioConstants.DmaMapFlagWrite"/>.</summary>
    [FieldOffset(4)] public uint Flags;

    /// <summary><c>vaddr</c>: the process's address of the memory, pinned by the kernel for as long as it is mapped.</summary>
    [FieldOffset(8)] public ulong VirtualAddress;

    /// <summary><c>iova</c>: the address the device uses for it.</summary>
    [FieldOffset(16)] public ulong Iova;

    /// <summary><c>size</c>: bytes, a multiple of the IOMMU page size.</summary>
    [FieldOffset(24)] public ulong Size;
}

/// <summary><c>struct vfio_iommu_type1_dma_unmap</c> without its flexible <c>data[]</c>, the argument of VFIO_IOMMU_UNMAP_DMA. 24 bytes.</summary>
[StructLayout(LayoutKind.Explicit, Size = 24)]
public struct VfioDmaUnmap
{
    /// <summary><c>argsz</c>.</summary>
    [FieldOffset(0)] public uint ArgumentSize;

    /// <summary><c>flags</c>: 0.</summary>
    [FieldOffset(4)] public uint Flags;

    /// <summary><c>iova</c>: the start of a mapping made earlier.</summary>
    [FieldOffset(8)] public ulong Iova;

    /// <summary><c>size</c>: its size; the kernel answers with what it unmapped.</summary>
    [FieldOffset(16)] public ulong Size;
}
