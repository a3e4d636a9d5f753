using static Tmds.Linux.LibC;

namespace Dataplane.Native;

/// <summary>
/// A device descriptor from <see cref="VfioGroup.GetDevice"/>: its regions (config space read and
/// written with pread/pwrite at the region's offset, memory BARs mapped), its interrupts routed to
/// eventfds, its reset. Control path; throws <see cref="NativeException"/>.
/// </summary>
public sealed unsafe class VfioDevice : IDisposable
{
    internal VfioDevice(FileDescriptor descriptor, string name)
    {
        Descriptor = descriptor;
        Name = name;
    }

    /// <summary>The device's descriptor.</summary>
    public FileDescriptor Descriptor { get; }

    /// <summary>Its name (the PCI address).</summary>
    public string Name { get; }

    /// <summary>VFIO_DEVICE_GET_INFO.</summary>
    public VfioDeviceInfo GetInfo()
    {
        var info = new VfioDeviceInfo { ArgumentSize = (uint)sizeof(VfioDeviceInfo) };
        Descriptor.IoControl(VfioConstants.DeviceGetInfo, &info, $"ioctl(VFIO_DEVICE_GET_INFO) on {Name}");
        return info;
    }

    /// <summary>VFIO_DEVICE_GET_REGION_INFO of region <paramref name="index"/>.</summary>
    public VfioRegionInfo GetRegionInfo(uint index)
    {
        var info = new VfioRegionInfo { ArgumentSize = (uint)sizeof(VfioRegionInfo), Index = index };
        Descriptor.IoControl(VfioConstants.DeviceGetRegionInfo, &info, $"ioctl(VFIO_DEVICE_GET_REGION_INFO, {index}) on {Name}");
        return info;
    }

    /// <summary>VFIO_DEVICE_GET_IRQ_INFO of interrupt index <paramref name="index"/>.</summary>
    public VfioIrqInfo GetIrqInfo(uint index)
    {
        var info = new VfioIrqInfo { ArgumentSize = (uint)sizeof(VfioIrqInfo), Index = index };
        Descriptor.IoControl(VfioConstants.DeviceGetIrqInfo, &info, $"ioctl(VFIO_DEVICE_GET_IRQ_INFO, {index}) on {Name}");
        return info;
    }

    /// <summary>pread(2) of <paramref name="buffer"/>.Length bytes at <paramref name="offset"/> of the descriptor (a region's offset plus the register's).</summary>
    public void Read(Span<byte> buffer, long offset)
    {
        nint n;
        fixed (byte* p = buffer)
            n = (nint)(long)pread(Descriptor.Value, p, (Tmds.Linux.size_t)(ulong)buffer.Length, offset);
        if (n != buffer.Length)
            NativeException.Throw($"pread({buffer.Length} bytes at 0x{offset:x}) on {Name}", n < 0 ? Errno.Last : new Errno(Errno.EIO));
    }

    /// <summary>pwrite(2) of <paramref name="buffer"/> at <paramref name="offset"/> of the descriptor.</summary>
    public void Write(ReadOnlySpan<byte> buffer, long offset)
    {
        nint n;
        fixed (byte* p = buffer)
            n = (nint)(long)pwrite(Descriptor.Value, p, (Tmds.Linux.size_t)(ulong)buffer.Length, offset);
        if (n != buffer.Length)
            NativeException.Throw($"pwrite({buffer.Length} bytes at 0x{offset:x}) on {Name}", n < 0 ? Errno.Last : new Errno(Errno.EIO));
    }

    /// <summary>
    /// mmap(2) of <paramref name="region"/> (a memory BAR with <see cref="VfioConstants.RegionFlagMmap"/>),
    /// shared, read-write, not populated: the pages are the device's registers.
    /// </summary>
    public PinnedMemory MapRegion(in VfioRegionInfo region)
    {
        if ((region.Flags & VfioConstants.RegionFlagMmap) == 0 || region.Size == 0)
            throw new NativeException($"{Name}: region {region.Index} cannot be mapped (flags 0x{region.Flags:x}, {region.Size} bytes)");
        void* p = mmap(null, (Tmds.Linux.size_t)region.Size, PROT_READ | PROT_WRITE, MAP_SHARED, Descriptor.Value, (long)region.Offset);
        if (p == MAP_FAILED)
            NativeException.Throw($"mmap(region {region.Index}, {region.Size} bytes) on {Name}", Errno.Last);
        return new PinnedMemory((byte*)p, (nuint)region.Size, PageKind.SharedMapping, locked: false);
    }

    /// <summary>
    /// VFIO_DEVICE_SET_IRQS, DATA_EVENTFD | ACTION_TRIGGER: vector <c>start + i</c> of interrupt index
    /// <paramref name="index"/> signals <paramref name="eventFds"/>[i]. For MSI-X this enables MSI-X
    /// in the function with that many vectors.
    /// </summary>
    public void SetIrqEventFds(uint index, uint start, ReadOnlySpan<int> eventFds)
    {
        int size = VfioIrqSet.Size + eventFds.Length * sizeof(int);
        byte* buffer = stackalloc byte[size];
        var head = (VfioIrqSet*)buffer;
        *head = new VfioIrqSet
        {
            ArgumentSize = (uint)size,
            Flags = VfioConstants.IrqSetDataEventFd | VfioConstants.IrqSetActionTrigger,
            Index = index,
            Start = start,
            Count = (uint)eventFds.Length,
        };
        eventFds.CopyTo(new Span<int>(buffer + VfioIrqSet.Size, eventFds.Length));
        Descriptor.IoControl(VfioConstants.DeviceSetIrqs, buffer, $"ioctl(VFIO_DEVICE_SET_IRQS, index {index}, {eventFds.Length} eventfds) on {Name}");
    }

    /// <summary>VFIO_DEVICE_SET_IRQS, DATA_NONE | ACTION_TRIGGER, count 0: every vector of <paramref name="index"/> off. Clean-up: <c>-errno</c>, never thrown.</summary>
    public int DisableIrqs(uint index)
    {
        var set = new VfioIrqSet
        {
            ArgumentSize = VfioIrqSet.Size,
            Flags = VfioConstants.IrqSetDataNone | VfioConstants.IrqSetActionTrigger,
            Index = index,
        };
        return Descriptor.TryIoControl(VfioConstants.DeviceSetIrqs, &set);
    }

    /// <summary>VFIO_DEVICE_RESET: the result or <c>-errno</c>, never thrown (a device without reset answers ENOTTY or EINVAL).</summary>
    public int Reset() => Descriptor.TryIoControl(VfioConstants.DeviceReset, null);

    /// <summary>Closes the descriptor; vfio-pci resets the device if it can and gives it to the next user.</summary>
    public void Dispose() => Descriptor.Dispose();
}
