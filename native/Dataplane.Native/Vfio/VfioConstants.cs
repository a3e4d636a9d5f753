namespace Dataplane.Native;

/// <summary>
/// The numbers of <c>/usr/include/linux/vfio.h</c> this project uses. The requests are
/// <c>_IO(VFIO_TYPE, VFIO_BASE + n)</c>: ';' (0x3b) in the type byte, 100 + n in the number byte, no
/// size or direction bits (VFIO passes <c>argsz</c> inside each struct instead).
/// </summary>
public static class VfioConstants
{
    /// <summary>VFIO_API_VERSION: what VFIO_GET_API_VERSION answers on every kernel since 3.6.</summary>
    public const int ApiVersion = 0;

    /// <summary>VFIO_TYPE1v2_IOMMU: the x86 IOMMU model with the v2 unmap semantics (an extension and the SET_IOMMU argument).</summary>
    public const int Type1v2Iommu = 3;

    /// <summary>VFIO_GET_API_VERSION, on the container.</summary>
    public const uint GetApiVersion = 0x3b64;

    /// <summary>VFIO_CHECK_EXTENSION, on the container: &gt; 0 when the extension is supported.</summary>
    public const uint CheckExtension = 0x3b65;

    /// <summary>VFIO_SET_IOMMU, on the container, after a group has joined it.</summary>
    public const uint SetIommu = 0x3b66;

    /// <summary>VFIO_GROUP_GET_STATUS.</summary>
    public const uint GroupGetStatus = 0x3b67;

    /// <summary>VFIO_GROUP_SET_CONTAINER: argument a pointer to the container's descriptor.</summary>
    public const uint GroupSetContainer = 0x3b68;

    /// <summary>VFIO_GROUP_GET_DEVICE_FD: argument the device's name (the PCI address), answer its descriptor.</summary>
    public const uint GroupGetDeviceFd = 0x3b6a;

    /// <summary>VFIO_DEVICE_GET_INFO.</summary>
    public const uint DeviceGetInfo = 0x3b6b;

    /// <summary>VFIO_DEVICE_GET_REGION_INFO.</summary>
    public const uint DeviceGetRegionInfo = 0x3b6c;

    /// <summary>VFIO_DEVICE_GET_IRQ_INFO.</summary>
    public const uint DeviceGetIrqInfo = 0x3b6d;

    /// <summary>VFIO_DEVICE_SET_IRQS.</summary>
    public const uint DeviceSetIrqs = 0x3b6e;

    /// <summary>VFIO_DEVICE_RESET: a function-level reset when the device has one.</summary>
    public const uint DeviceReset = 0x3b6f;

    /// <summary>VFIO_IOMMU_MAP_DMA, on the container.</summary>
    public const uint IommuMapDma = 0x3b71;

    /// <summary>VFIO_IOMMU_UNMAP_DMA, on the container.</summary>
    public const uint IommuUnmapDma = 0x3b72;

    /// <summary>VFIO_GROUP_FLAGS_VIABLE: every device of the group is bound to vfio (or to no driver).</summary>
    public const uint GroupFlagsViable = 1 << 0;

    /// <summary>VFIO_GROUP_FLAGS_CONTAINER_SET.</summary>
    public const uint GroupFlagsContainerSet = 1 << 1;

    /// <summary>VFIO_DEVICE_FLAGS_RESET: VFIO_DEVICE_RESET works.</summary>
    public const uint DeviceFlagsReset = 1 << 0;

    /// <summary>VFIO_DEVICE_FLAGS_PCI: a vfio-pci device.</summary>
    public const uint DeviceFlagsPci = 1 << 1;

    /// <summary>VFIO_REGION_INFO_FLAG_READ.</summary>
    public const uint RegionFlagRead = 1 << 0;

    /// <summary>VFIO_REGION_INFO_FLAG_WRITE.</summary>
    public const uint RegionFlagWrite = 1 << 1;

    /// <summary>VFIO_REGION_INFO_FLAG_MMAP: the region may be mapped (a memory BAR; an I/O BAR or config space may not).</summary>
    public const uint RegionFlagMmap = 1 << 2;

    /// <summary>VFIO_IRQ_SET_DATA_NONE.</summary>
    public const uint IrqSetDataNone = 1 << 0;

    /// <summary>VFIO_IRQ_SET_DATA_EVENTFD: data is one <c>s32</c> eventfd per vector (-1: that vector off).</summary>
    public const uint IrqSetDataEventFd = 1 << 2;

    /// <summary>VFIO_IRQ_SET_ACTION_TRIGGER.</summary>
    public const uint IrqSetActionTrigger = 1 << 5;

    /// <summary>VFIO_DMA_MAP_FLAG_READ: the device may read the memory.</summary>
    public const uint DmaMapFlagRead = 1 << 0;

    /// <summary>VFIO_DMA_MAP_FLAG_WRITE: the device may write it.</summary>
    public const uint DmaMapFlagWrite = 1 << 1;

    /// <summary>VFIO_PCI_CONFIG_REGION_INDEX: config space (after BAR0-5 = 0-5 and ROM = 6).</summary>
    public const uint PciConfigRegionIndex = 7;

    /// <summary>VFIO_PCI_MSIX_IRQ_INDEX (after INTx = 0, MSI = 1).</summary>
    public const uint PciMsixIrqIndex = 2;
}
