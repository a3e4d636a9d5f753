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
    /// <summary>The devices known by ID: the driver's name, and whether it is here yet.</summary>
    public static readonly (ushort Vendor, ushort Device, string Name, bool Available)[] Known =
    [
        (VirtioPciLayout.VendorId, VirtioPciLayout.NetDeviceId, "virtio-net", true),
        (0x8086, 0x10d3, "e1000e", false),  // Intel 82574L, QEMU's -device e1000e
        (Vmxnet3Layout.VendorId, Vmxnet3Layout.DeviceId, "vmxnet3", true), // VMware VMXNET3, QEMU's -device vmxnet3
    ];

    /// <summary>
    /// Opens port <paramref name="name"/> on <paramref name="function"/> with the driver its IDs
    /// name; the port owns the function from here on. Throws <see cref="NativeException"/> naming
    /// the port and the address for a device no driver takes, or one whose driver is not there yet,
    /// with the function disposed.
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
        foreach ((ushort v, ushort d, string driver, bool available) in Known)
        {
            if (v != vendor || d != device)
                continue;
            if (!available)
            {
                function.Dispose();
                throw new NativeException($"{where}: a {driver} device; the {driver} driver is not available yet");
            }
            return driver == "vmxnet3"
                ? Vmxnet3Port.Open(name, function, queues, portIndex, tso, lro, mtu)
                : VirtioNetPort.Open(name, function, queues, portIndex, tso, lro, mtu);
        }
        function.Dispose();
        string transitional = vendor == VirtioPciLayout.VendorId && device == 0x1000
            ? " (a transitional virtio-net device: QEMU's virtio-net-pci needs disable-legacy=on to show 1041)"
            : "";
        throw new NativeException($"{where}: no driver for this device{transitional}; known: {string.Join(", ", Known.Select(k => $"{k.Name} {k.Vendor:x4}:{k.Device:x4}"))}");
    }
}
