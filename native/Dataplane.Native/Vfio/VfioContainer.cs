namespace Dataplane.Native;

/// <summary>
/// A VFIO container (<c>/dev/vfio/vfio</c>): one IOMMU context that groups join and DMA mappings are
/// made in (the kernel's Documentation/driver-api/vfio.rst, "VFIO Usage Example"). Control path only;
/// throws <see cref="NativeException"/>.
/// </summary>
public sealed unsafe class VfioContainer : IDisposable
{
    /// <summary>The container device.</summary>
    public const string DevicePath = "/dev/vfio/vfio";

    private VfioContainer(FileDescriptor descriptor) => Descriptor = descriptor;

    /// <summary>The container's descriptor, for <see cref="VfioGroup.SetContainer"/>.</summary>
    public FileDescriptor Descriptor { get; }

    /// <summary>
    /// Opens <paramref name="path"/> and checks that it speaks <see cref="VfioConstants.ApiVersion"/>
    /// and has the type 1 v2 IOMMU (x86's).
    /// </summary>
    public static VfioContainer Open(string path = DevicePath)
    {
        var container = new VfioContainer(FileDescriptor.Open(path));
        try
        {
            int version = container.Descriptor.IoControl(VfioConstants.GetApiVersion, null, "ioctl(VFIO_GET_API_VERSION)");
            if (version != VfioConstants.ApiVersion)
                throw new NativeException($"{path}: VFIO API version {version}, this program speaks {VfioConstants.ApiVersion}");
            if (container.Descriptor.IoControl(VfioConstants.CheckExtension, (void*)VfioConstants.Type1v2Iommu, "ioctl(VFIO_CHECK_EXTENSION)") <= 0)
                throw new NativeException($"{path}: no VFIO_TYPE1v2_IOMMU (the vfio_iommu_type1 module, an x86 IOMMU)");
            return container;
        }
        catch
        {
            container.Dispose();
            throw;
        }
    }

    /// <summary>VFIO_SET_IOMMU type 1 v2: once, after the first group joined.</summary>
    public void SetIommu() =>
        Descriptor.IoControl(VfioConstants.SetIommu, (void*)VfioConstants.Type1v2Iommu, "ioctl(VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU)");

    /// <summary>
    /// VFIO_IOMMU_MAP_DMA: the device may read and write <paramref name="size"/> bytes at
    /// <paramref name="virtualAddress"/> through <paramref name="iova"/>. The kernel pins the pages.
    /// </summary>
    public void MapDma(nint virtualAddress, ulong iova, ulong size)
    {
        var map = new VfioDmaMap
        {
            ArgumentSize = (uint)sizeof(VfioDmaMap),
            Flags = VfioConstants.DmaMapFlagRead | VfioConstants.DmaMapFlagWrite,
            VirtualAddress = (ulong)virtualAddress,
            Iova = iova,
            Size = size,
        };
        Descriptor.IoControl(VfioConstants.IommuMapDma, &map, $"ioctl(VFIO_IOMMU_MAP_DMA, iova 0x{iova:x}, {size} bytes)");
    }

    /// <summary>VFIO_IOMMU_UNMAP_DMA of a mapping <see cref="MapDma"/> made: the result or <c>-errno</c>, never thrown (clean-up).</summary>
    public int UnmapDma(ulong iova, ulong size)
    {
        var unmap = new VfioDmaUnmap { ArgumentSize = (uint)sizeof(VfioDmaUnmap), Iova = iova, Size = size };
        return Descriptor.TryIoControl(VfioConstants.IommuUnmapDma, &unmap);
    }

    /// <summary>Closes the container; the kernel drops what is still mapped in it.</summary>
    public void Dispose() => Descriptor.Dispose();
}
