using Dataplane.Conformance.Labs;

namespace Dataplane.Conformance.Tests.Labs;

public class LabParserTests
{
    private static LabDefinition? Parse(string text, out List<string> errors)
    {
        errors = [];
        return LabParser.Parse("t.lab", text.Split('\n'), errors);
    }

    [Fact]
    public void The_shipped_namespace_lab_reads_clean()
    {
        LabDefinition lab = LabParser.Parse(Path.Combine(AppContext.BaseDirectory, "labs", "netns.lab"), out List<string> errors)!;
        Assert.Empty(errors);
        Assert.Equal("netns", lab.Name);
        Assert.Equal(["tap", "afpacket", "afxdp"], lab.Drivers);
        Assert.Equal(HostKind.Netns, lab.Sut.Kind);
        Assert.Equal("10.10.11.2", lab.Addresses.Of("sutleft", 4));
        Assert.Equal("fdd7:e83e:66bd:1012::4", lab.Addresses.Of("right", 6));
    }

    [Fact]
    public void A_remote_lab_names_machines_interfaces_and_ports()
    {
        LabDefinition lab = Parse("""
            lab bare
            host left  ssh root@lt13 ifname ix0
            host right ssh root@lt16 ifname ix1   # the cable to the right
            sut ssh root@ot14
            drivers vfio
            port left pci 0000:01:00.0 ifname enp1s0f0
            port right pci 0000:01:00.1
            line 3
            """, out List<string> errors)!;
        Assert.Empty(errors);
        Assert.Equal(new HostSpec("left", HostKind.Ssh, "root@lt13", "ix0"), lab.Left);
        Assert.Equal("0000:01:00.1", lab.Port("right")!.Pci);
        Assert.Null(lab.Port("right")!.Interface);
        Assert.Equal("10.10.31.1", lab.Addresses.Of("left", 4));
    }

    [Fact]
    public void Every_mistake_is_reported_with_file_and_line()
    {
        Assert.Null(Parse("""
            lab x y
            host left ssh root@a
            host middle netns
            sut netns
            drivers tap vfio
            colour blue
            line 12
            """, out List<string> errors));
        Assert.Contains("t.lab:1: usage: lab NAME", errors);
        Assert.Contains(errors, e => e.StartsWith("t.lab:2: left: a remote host needs the interface", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("t.lab:3: usage: host", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("t.lab:6: unknown statement 'colour'", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("t.lab:7: usage: line N", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("no right host", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("not vfio", StringComparison.Ordinal));
    }

    [Fact]
    public void The_shipped_qemu_lab_reads_clean_and_its_columns_are_openbsds_names()
    {
        LabDefinition lab = LabParser.Parse(Dataplane.Conformance.Program.LabFile("qemu"), out List<string> errors)!;
        Assert.Empty(errors);
        Assert.Equal("qemu", lab.Name);
        Assert.Equal(HostKind.Qemu, lab.Sut.Kind);
        Assert.Equal(HostKind.Netns, lab.Left.Kind);
        Assert.Equal(["virtio-net", "e1000e", "vmxnet3"], lab.Drivers);
        Assert.Equal(["vio", "em", "vmx"], lab.Drivers.Select(LabDefinition.Column));
        Assert.Equal("tap", LabDefinition.Column("tap"));
        Assert.Equal("e1000e", LabDefinition.DriverOf("em"));
        Assert.Equal("vmxnet3", LabDefinition.DriverOf("vmxnet3"));
        Assert.Equal("afxdp", LabDefinition.DriverOf("afxdp"));
        Assert.Equal("labs/x.lab", Dataplane.Conformance.Program.LabFile("labs/x.lab"));
    }

    [Fact]
    public void A_qemu_lab_takes_device_types_namespace_hosts_and_no_ports()
    {
        Assert.Null(Parse("""
            lab q
            host left qemu
            host right ssh a ifname e0
            sut qemu now
            drivers tap e1000e
            port left pci 0000:00:03.0
            """, out List<string> errors));
        Assert.Contains(errors, e => e.StartsWith("t.lab:2: left: the QEMU guest is a system under test only", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("t.lab:4: sut: qemu takes no further words ('now')", StringComparison.Ordinal));

        Assert.Null(Parse("lab q\nhost left netns\nhost right ssh a ifname e0\nsut qemu\ndrivers tap e1000e\nport left pci 0000:00:03.0\n", out errors));
        Assert.Contains(errors, e => e.Contains("runs the device types virtio-net, e1000e, vmxnet3, not tap", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("the QEMU guest's are its NICs", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("a QEMU guest system under test needs namespace hosts", StringComparison.Ordinal));

        Assert.Null(Parse("lab n\nhost left netns\nhost right netns\nsut netns\ndrivers tap vmxnet3\n", out errors));
        Assert.Contains(errors, e => e.Contains("driver vmxnet3 is a device type of the QEMU guest (sut qemu)", StringComparison.Ordinal));
        Assert.Null(Parse("lab n\nhost left netns\nhost right netns\nsut netns\ndrivers bogus\n", out errors));
        Assert.Contains(errors, e => e.Contains("unknown driver 'bogus'", StringComparison.Ordinal));
    }

    [Fact]
    public void A_remote_system_under_test_needs_its_ports()
    {
        Assert.Null(Parse("lab r\nhost left ssh a ifname e0\nhost right ssh b ifname e0\nsut ssh c\ndrivers vfio\n", out List<string> errors));
        Assert.Contains(errors, e => e.Contains("needs its ports", StringComparison.Ordinal));
    }
}
