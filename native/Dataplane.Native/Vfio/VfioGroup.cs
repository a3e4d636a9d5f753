using System.Text;

namespace Dataplane.Native;

/// <summary>
/// A VFIO group (<c>/dev/vfio/N</c>): the devices an IOMMU cannot tell apart, taken together. It joins
/// a <see cref="VfioContainer"/>, then hands out device descriptors by name. Control path only.
/// </summary>
public sealed unsafe class VfioGroup : IDisposable
{
    private VfioGroup(FileDescriptor descriptor, string path)
    {
        Descriptor = descriptor;
        Path = path;
    }

    /// <summary>The group's descriptor.</summary>
    public FileDescriptor Descriptor { get; }

    /// <summary>The group device it was opened from.</summary>
    public string Path { get; }

    /// <summary>Opens <paramref name="path"/> (<c>/dev/vfio/N</c>).</summary>
    public static VfioGroup Open(string path) => new(FileDescriptor.Open(path), path);

    /// <summary>VFIO_GROUP_GET_STATUS: the group's flags (<see cref="VfioConstants.GroupFlagsViable"/>, ...).</summary>
    public uint Status()
    {
        var status = new VfioGroupStatus { ArgumentSize = (uint)sizeof(VfioGroupStatus) };
        Descriptor.IoControl(VfioConstants.GroupGetStatus, &status, $"ioctl(VFIO_GROUP_GET_STATUS) on {Path}");
        return status.Flags;
    }

    /// <summary>VFIO_GROUP_SET_CONTAINER: the group joins <paramref name="container"/>.</summary>
    public void SetContainer(VfioContainer container)
    {
        int fd = container.Descriptor.Value;
        Descriptor.IoControl(VfioConstants.GroupSetContainer, &fd, $"ioctl(VFIO_GROUP_SET_CONTAINER) on {Path}");
    }

    /// <summary>VFIO_GROUP_GET_DEVICE_FD: the device named <paramref name="name"/> (a PCI address, 0000:00:03.0).</summary>
    public VfioDevice GetDevice(string name)
    {
        byte[] z = new byte[Encoding.ASCII.GetByteCount(name) + 1];
        Encoding.ASCII.GetBytes(name, z);
        int fd;
        fixed (byte* p = z)
            fd = Descriptor.IoControl(VfioConstants.GroupGetDeviceFd, p, $"ioctl(VFIO_GROUP_GET_DEVICE_FD, {name}) on {Path}");
        return new VfioDevice(new FileDescriptor(fd), name);
    }

    /// <summary>Closes the group; it leaves its container.</summary>
    public void Dispose() => Descriptor.Dispose();
}
