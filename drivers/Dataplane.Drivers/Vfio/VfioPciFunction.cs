using System.Buffers.Binary;
using System.Globalization;
using Dataplane.Native;

namespace Dataplane.Drivers.Vfio;

/// <summary>
/// A PCI function taken from the kernel through VFIO (the kernel's Documentation/driver-api/vfio.rst):
/// the function bound to vfio-pci, its IOMMU group opened and put in a container of its own with the
/// type 1 v2 IOMMU, the device descriptor taken from the group. Config space is read and written with
/// pread/pwrite at the config region's offset, memory BARs are mapped, MSI-X vectors signal eventfds,
/// and DMA mappings go through the container (<see cref="VfioDmaMemory"/>). Dispose, and a failure
/// half-way through <see cref="Open"/>, give everything back in reverse order (interrupts off, DMA
/// unmapped, BARs unmapped, descriptors closed), so vfio-pci resets the function and the kernel
/// driver can take it again.
/// </summary>
internal sealed class VfioPciFunction : IPciFunction
{
    private readonly VfioContainer _container;
    private readonly VfioGroup _group;
    private readonly VfioDevice _device;
    private readonly VfioDmaMemory _dma;
    private readonly long _configOffset;
    private readonly bool _canReset;
    private readonly PinnedMemory?[] _bars = new PinnedMemory?[6];
    private readonly IMmioRegion?[] _regions = new IMmioRegion?[6];
    private EventFd[] _vectors = [];
    private bool _disposed;

    private VfioPciFunction(string address, VfioContainer container, VfioGroup group, VfioDevice device, VfioDmaMemory dma,
        long configOffset, bool canReset)
    {
        Address = address;
        _container = container;
        _group = group;
        _device = device;
        _dma = dma;
        _configOffset = configOffset;
        _canReset = canReset;
    }

    /// <inheritdoc/>
    public string Address { get; }

    /// <inheritdoc/>
    public IDmaMemory Dma => _dma;

    /// <summary>
    /// Opens the function at <paramref name="address"/> for port <paramref name="port"/>. Checks in
    /// sysfs first, so each way it can fail says what to do: no such function, bound to another
    /// driver (and how to give it to vfio-pci), no IOMMU group, no VFIO in the kernel, a group
    /// that is not viable (and which devices in it are held by other drivers). Throws
    /// <see cref="NativeException"/> naming the port and the address, with nothing left open.
    /// <paramref name="sysfs"/> and <paramref name="dev"/> are the roots of /sys and /dev (tests give others).
    /// </summary>
    public static VfioPciFunction Open(string port, string address, string sysfs = "/sys", string dev = "/dev")
    {
        address = address.ToLowerInvariant();
        string where = $"port {port}: vfio on PCI {address}";
        string group = GroupOf(where, address, sysfs);
        string containerPath = Path.Combine(dev, "vfio", "vfio");
        if (!File.Exists(containerPath))
            throw new NativeException($"{where}: no {containerPath}: the kernel has no VFIO or the module is not loaded (modprobe vfio-pci)");
        string groupPath = Path.Combine(dev, "vfio", group);

        VfioContainer? container = null;
        VfioGroup? vfioGroup = null;
        VfioDevice? device = null;
        VfioDmaMemory? dma = null;
        try
        {
            container = VfioContainer.Open(containerPath);
            try
            {
                vfioGroup = VfioGroup.Open(groupPath);
            }
            catch (NativeException e) when (e.Errno.Number == Errno.EBUSY)
            {
                throw new NativeException($"{where}: IOMMU group {group} is in use ({groupPath} is open elsewhere: another process, or another port on a function of the same group)", e);
            }
            if ((vfioGroup.Status() & VfioConstants.GroupFlagsViable) == 0)
                throw new NativeException($"{where}: IOMMU group {group} is not viable: every device in it must be bound to vfio-pci or to no driver; {GroupMembers(sysfs, group)}");
            vfioGroup.SetContainer(container);
            container.SetIommu();
            device = vfioGroup.GetDevice(address);
            VfioDeviceInfo info = device.GetInfo();
            if ((info.Flags & VfioConstants.DeviceFlagsPci) == 0)
                throw new NativeException($"{where}: not a vfio-pci device (flags 0x{info.Flags:x})");
            VfioRegionInfo config = device.GetRegionInfo(VfioConstants.PciConfigRegionIndex);
            dma = new VfioDmaMemory(container, where);
            return new VfioPciFunction(address, container, vfioGroup, device, dma, (long)config.Offset,
                (info.Flags & VfioConstants.DeviceFlagsReset) != 0);
        }
        catch (Exception e)
        {
            dma?.Dispose();
            device?.Dispose();
            vfioGroup?.Dispose();
            container?.Dispose();
            if (e is NativeException native && !native.Message.StartsWith(where, StringComparison.Ordinal))
                throw new NativeException($"{where}: {native.Message}", native);
            throw;
        }
    }

    /// <summary>
    /// The function's IOMMU group number from sysfs, after checking that the function exists and
    /// is bound to vfio-pci; each failure a message that says what to do.
    /// </summary>
    internal static string GroupOf(string where, string address, string sysfs)
    {
        string function = Path.Combine(sysfs, "bus", "pci", "devices", address);
        if (!Directory.Exists(function))
            throw new NativeException($"{where}: no such PCI function (not in {Path.Combine(sysfs, "bus", "pci", "devices")}; lspci -D lists them)");
        string? driver = LinkName(Path.Combine(function, "driver"));
        string bind = $"echo vfio-pci > {function}/driver_override; echo {address} > {sysfs}/bus/pci/drivers/vfio-pci/bind";
        if (driver is null)
            throw new NativeException($"{where}: not bound to vfio-pci (no driver holds it); bind it: modprobe vfio-pci; {bind}");
        if (driver != "vfio-pci")
            throw new NativeException($"{where}: held by the {driver} driver, not vfio-pci; give it to vfio-pci: echo {address} > {sysfs}/bus/pci/drivers/{driver}/unbind; {bind}");
        string? group = LinkName(Path.Combine(function, "iommu_group"));
        if (group is null)
            throw new NativeException($"{where}: no IOMMU group: the IOMMU is off (intel_iommu=on or amd_iommu=on on the kernel command line)");
        return group;
    }

    /// <summary>The devices of IOMMU group <paramref name="group"/> and their drivers, for the not-viable message.</summary>
    private static string GroupMembers(string sysfs, string group)
    {
        string directory = Path.Combine(sysfs, "kernel", "iommu_groups", group, "devices");
        if (!Directory.Exists(directory))
            return "its devices are in " + directory;
        IEnumerable<string> members = Directory.EnumerateFileSystemEntries(directory)
            .Select(d => $"{Path.GetFileName(d)} ({LinkName(Path.Combine(d, "driver")) ?? "no driver"})")
            .Order(StringComparer.Ordinal);
        return "the group holds " + string.Join(", ", members);
    }

    /// <summary>The last component of the symbolic link <paramref name="path"/> points to, or null when there is none.</summary>
    private static string? LinkName(string path)
    {
        try
        {
            FileSystemInfo? target = new FileInfo(path).ResolveLinkTarget(returnFinalTarget: false);
            return target is null ? null : Path.GetFileName(target.FullName.TrimEnd('/'));
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <inheritdoc/>
    public byte ReadConfig8(int offset)
    {
        Span<byte> b = stackalloc byte[1];
        _device.Read(b, _configOffset + offset);
        return b[0];
    }

    /// <inheritdoc/>
    public ushort ReadConfig16(int offset)
    {
        Span<byte> b = stackalloc byte[2];
        _device.Read(b, _configOffset + offset);
        return BinaryPrimitives.ReadUInt16LittleEndian(b);
    }

    /// <inheritdoc/>
    public uint ReadConfig32(int offset)
    {
        Span<byte> b = stackalloc byte[4];
        _device.Read(b, _configOffset + offset);
        return BinaryPrimitives.ReadUInt32LittleEndian(b);
    }

    /// <inheritdoc/>
    public void WriteConfig8(int offset, byte value) => _device.Write([value], _configOffset + offset);

    /// <inheritdoc/>
    public void WriteConfig16(int offset, ushort value)
    {
        Span<byte> b = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(b, value);
        _device.Write(b, _configOffset + offset);
    }

    /// <inheritdoc/>
    public void WriteConfig32(int offset, uint value)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, value);
        _device.Write(b, _configOffset + offset);
    }

    /// <inheritdoc/>
    public IMmioRegion Bar(int index)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)index, 6u, nameof(index));
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_regions[index] is { } region)
            return region;
        VfioRegionInfo info = _device.GetRegionInfo((uint)index);
        PinnedMemory mapping = _device.MapRegion(info);
        _bars[index] = mapping;
        return _regions[index] = new MappedMmioRegion(mapping);
    }

    /// <inheritdoc/>
    public void EnableBusMastering()
    {
        ushort command = ReadConfig16(PciConfigSpace.Command);
        WriteConfig16(PciConfigSpace.Command, (ushort)(command | PciConfigSpace.CommandBusMaster | PciConfigSpace.CommandMemorySpace));
    }

    /// <inheritdoc/>
    public bool Reset() => _canReset && _device.Reset() == 0;

    /// <inheritdoc/>
    public IReadOnlyList<EventFd> EnableMsix(int vectors)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(vectors, 1);
        DisableMsix();
        VfioIrqInfo info = _device.GetIrqInfo(VfioConstants.PciMsixIrqIndex);
        if (info.Count < (uint)vectors)
            throw new NativeException($"PCI {Address}: {vectors} MSI-X vectors wanted, the function has {info.Count}");
        var fds = new EventFd[vectors];
        try
        {
            for (int i = 0; i < vectors; i++)
                fds[i] = EventFd.Create();
            _device.SetIrqEventFds(VfioConstants.PciMsixIrqIndex, 0, fds.Select(f => f.Descriptor.Value).ToArray());
        }
        catch
        {
            foreach (EventFd? fd in fds)
                fd?.Dispose();
            throw;
        }
        _vectors = fds;
        return fds;
    }

    /// <inheritdoc/>
    public void DisableMsix()
    {
        if (_vectors.Length == 0)
            return;
        _device.DisableIrqs(VfioConstants.PciMsixIrqIndex);
        foreach (EventFd fd in _vectors)
            fd.Dispose();
        _vectors = [];
    }

    /// <summary>Interrupts off, bus mastering off, DMA unmapped, BARs unmapped, then the device, group and container closed.</summary>
    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        try
        {
            DisableMsix();
            ushort command = ReadConfig16(PciConfigSpace.Command);
            WriteConfig16(PciConfigSpace.Command, (ushort)(command & ~PciConfigSpace.CommandBusMaster));
        }
        catch (NativeException)
        {
            // the device is going away regardless; vfio-pci resets it on close
        }
        finally
        {
            _dma.Dispose();
            foreach (PinnedMemory? bar in _bars)
                bar?.Dispose();
            _device.Dispose();
            _group.Dispose();
            _container.Dispose();
        }
    }

    /// <summary>For messages: the address as given.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"PCI {Address}");
}
