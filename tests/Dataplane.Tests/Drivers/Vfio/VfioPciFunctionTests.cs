using Dataplane.Drivers.Vfio;
using Dataplane.Native;

namespace Dataplane.Tests.Drivers.Vfio;

/// <summary>
/// What opening a PCI function through VFIO says when it cannot, checked over a sysfs and /dev of
/// the test's own making (the machine the tests run on has no VFIO): each message names the port
/// and the address and says what to do. And the driver table's answer for a device it does not know.
/// </summary>
public sealed class VfioPciFunctionTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("dpl-vfio-").FullName;
    private string Sys => Path.Combine(_root, "sys");
    private string Dev => Path.Combine(_root, "dev");

    public void Dispose() => Directory.Delete(_root, recursive: true);

    /// <summary>A function directory in the fake sysfs, bound to <paramref name="driver"/> (none when null), in <paramref name="group"/>.</summary>
    private void Function(string address, string? driver, string? group)
    {
        string function = Path.Combine(Sys, "bus", "pci", "devices", address);
        Directory.CreateDirectory(function);
        if (driver is not null)
        {
            string target = Path.Combine(Sys, "bus", "pci", "drivers", driver);
            Directory.CreateDirectory(target);
            File.CreateSymbolicLink(Path.Combine(function, "driver"), Path.GetRelativePath(function, target)); // relative, as sysfs's are
        }
        if (group is not null)
        {
            string target = Path.Combine(Sys, "kernel", "iommu_groups", group);
            Directory.CreateDirectory(target);
            File.CreateSymbolicLink(Path.Combine(function, "iommu_group"), Path.GetRelativePath(function, target));
        }
    }

    private NativeException OpenFails(string address) =>
        Assert.Throws<NativeException>(() => VfioPciFunction.Open("p0", address, Sys, Dev));

    [Fact]
    public void A_function_that_does_not_exist_is_named()
    {
        Directory.CreateDirectory(Path.Combine(Sys, "bus", "pci", "devices"));
        Assert.Equal($"port p0: vfio on PCI 0000:00:09.0: no such PCI function (not in {Sys}/bus/pci/devices; lspci -D lists them)",
            OpenFails("0000:00:09.0").Message);
    }

    [Fact]
    public void A_function_held_by_another_driver_says_which_and_how_to_give_it_to_vfio_pci()
    {
        Function("0000:00:03.0", "virtio-pci", "7");
        Assert.Equal("port p0: vfio on PCI 0000:00:03.0: held by the virtio-pci driver, not vfio-pci; give it to vfio-pci: "
            + $"echo 0000:00:03.0 > {Sys}/bus/pci/drivers/virtio-pci/unbind; echo vfio-pci > {Sys}/bus/pci/devices/0000:00:03.0/driver_override; "
            + $"echo 0000:00:03.0 > {Sys}/bus/pci/drivers/vfio-pci/bind",
            OpenFails("0000:00:03.0").Message);
    }

    [Fact]
    public void A_function_no_driver_holds_says_how_to_bind_it()
    {
        Function("0000:00:04.0", null, "8");
        string message = OpenFails("0000:00:04.0").Message;
        Assert.StartsWith("port p0: vfio on PCI 0000:00:04.0: not bound to vfio-pci (no driver holds it); bind it: modprobe vfio-pci; ", message, StringComparison.Ordinal);
        Assert.EndsWith($"echo 0000:00:04.0 > {Sys}/bus/pci/drivers/vfio-pci/bind", message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_function_without_an_iommu_group_says_the_iommu_is_off()
    {
        Function("0000:00:05.0", "vfio-pci", null);
        Assert.Equal("port p0: vfio on PCI 0000:00:05.0: no IOMMU group: the IOMMU is off (intel_iommu=on or amd_iommu=on on the kernel command line)",
            OpenFails("0000:00:05.0").Message);
    }

    [Fact]
    public void Without_dev_vfio_vfio_the_message_says_vfio_is_missing()
    {
        Function("0000:00:06.0", "vfio-pci", "9");
        Assert.Equal($"port p0: vfio on PCI 0000:00:06.0: no {Dev}/vfio/vfio: the kernel has no VFIO or the module is not loaded (modprobe vfio-pci)",
            OpenFails("0000:00:06.0").Message);
    }

    [Fact]
    public void An_address_is_looked_up_in_lower_case()
    {
        Function("0000:0a:00.0", "vfio-pci", null);
        Assert.Contains("PCI 0000:0a:00.0: no IOMMU group", OpenFails("0000:0A:00.0").Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_capability_walk_lists_msix_and_the_vendor_capabilities_in_order_and_ends_a_list_that_loops()
    {
        var function = new FakeVirtioNetDevice();

        Assert.Equal(
            [(PciConfigSpace.CapabilityMsix, 0x40), (PciConfigSpace.CapabilityVendor, 0x50), (PciConfigSpace.CapabilityVendor, 0x60),
             (PciConfigSpace.CapabilityVendor, 0x70), (PciConfigSpace.CapabilityVendor, 0x80)],
            PciConfigSpace.Capabilities(function));

        function.WriteConfig8(0x81, 0x43); // the last points back at the first (the reserved low bits ignored)
        Assert.Equal(48, PciConfigSpace.Capabilities(function).Count);
        function.WriteConfig8(0x81, 0x20); // into the header: the end
        Assert.Equal(5, PciConfigSpace.Capabilities(function).Count);
        function.WriteConfig16(PciConfigSpace.Status, 0); // no capability list at all
        Assert.Empty(PciConfigSpace.Capabilities(function));
        function.Dispose();
    }

    [Fact]
    public void An_unknown_device_lists_the_known_ones()
    {
        var function = new FakeVirtioNetDevice();
        function.WriteConfig16(2, 0x1000); // a transitional virtio-net

        var e = Assert.Throws<NativeException>(() => VfioDevices.Open("p0", function, 1, 0, false, false, null));

        Assert.Equal("port p0: vfio on PCI 0000:00:03.0 (1af4:1000): no driver for this device (a transitional virtio-net device: QEMU's "
            + "virtio-net-pci needs disable-legacy=on to show 1041); known: virtio-net 1af4:1041, e1000e 8086:10d3, vmxnet3 15ad:07b0", e.Message);
        Assert.True(function.Disposed);
    }

    [Fact]
    public void A_virtio_net_device_gets_the_virtio_net_driver()
    {
        var function = new FakeVirtioNetDevice();
        using var port = (Dataplane.Drivers.Vfio.VirtioNet.VirtioNetPort)VfioDevices.Open("p0", function, 1, 0, false, false, null);
        Assert.Equal("virtio-net", port.Mode);
        Assert.Empty(function.Violations);
        port.Dispose();
        Assert.True(function.Disposed);
        Assert.Equal(0, function.Status); // reset: the device no longer uses the rings that were freed
    }
}
