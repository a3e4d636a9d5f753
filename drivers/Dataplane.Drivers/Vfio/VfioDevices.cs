using Dataplane.Drivers.Vfio.E1000e;
using Dataplane.Drivers.Vfio.VirtioNet;
using Dataplane.Drivers.Vfio.Vmxnet3;
using Dataplane.Native;
using Dataplane.Ports;

namespace Dataplane.Drivers.Vfio;

/// <summary>
/// The <c>vfio</c> driver's device table: the PCI vendor and device IDs in config space pick the
/// driver of a function, as a kernel driver's <c>pci_device_id</c> table does.
/// </summary>
internal static class VfioDevices
{
    /// <summary>The devices known by ID, and their drivers' names.</summary>
    public static readonly (ushort Vendor, ushort Device, string Name)[] Known =
    [
        (VirtioPciLayout.VendorId, VirtioPciLayout.NetDeviceId, "virtio-net"),
        (E1000eRegisters.VendorId, E1000eRegisters.DeviceId82574, "e1000e"), // Intel 82574L, QEMU's -device e1000e
        (Vmxnet3Layout.VendorId, Vmxnet3Layout.DeviceId, "vmxnet3"), // VMware VMXNET3, QEMU's -device vmxnet3
    ];

    /// <summary>
    /// Opens port <paramref name="name"/> on <paramref name="function"/> with the driver its IDs
    /// name; the port owns the function from here on. Throws <see cref="NativeException"/> naming
    /// the port and the address for a device no driver takes, with the function disposed.
    /// </summary>
    public static IPort Open(string name, IPciFunction function, int queues, ushort portIndex, bool tso, bool lro, int? mtu)
    {
        ushort vendor, device;
        try
        {
            vendor = function.ReadConfig16(PciConfigSpace.VendorId);
            device = function.ReadConfig16(PciConfigSpace.DeviceId);
        }
        catch
        {
            function.Dispose();
            throw;
        }
        string where = $"port {name}: vfio on PCI {function.Address} ({vendor:x4}:{device:x4})";
        foreach ((ushort v, ushort d, string driver) in Known)
        {
            if (v != vendor || d != device)
                continue;
            return driver switch
            {
                "e1000e" => E1000ePort.Open(name, function, queues, portIndex, mtu, tso), // no LRO in the 82574: the stack's own
                "vmxnet3" => Vmxnet3Port.Open(name, function, queues, portIndex, tso, lro, mtu),
                _ => VirtioNetPort.Open(name, function, queues, portIndex, tso, lro, mtu),
            };
        }
        function.Dispose();
        string transitional = vendor == VirtioPciLayout.VendorId && device == 0x1000
            ? " (a transitional virtio-net device: QEMU's virtio-net-pci needs disable-legacy=on to show 1041)"
            : "";
        throw new NativeException($"{where}: no driver for this device{transitional}; known: {string.Join(", ", Known.Select(k => $"{k.Name} {k.Vendor:x4}:{k.Device:x4}"))}");
    }
}
