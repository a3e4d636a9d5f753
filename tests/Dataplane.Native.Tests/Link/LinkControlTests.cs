using Dataplane.Native.Tests.Support;

namespace Dataplane.Native.Tests.Link;

[Trait("Category", "Linux")]
public unsafe class LinkControlTests
{
    [SkippableFact]
    public void Loopback_is_found_by_name_and_reports_its_flags_and_mtu()
    {
        Lab.RequireLinux();
        Assert.Equal(int.Parse(Lab.ReadSys("lo", "ifindex"), System.Globalization.CultureInfo.InvariantCulture), LinkControl.IndexOf("lo"));
        Assert.True(LinkControl.Exists("lo"));
        Assert.True(LinkControl.GetFlags("lo").HasFlag(InterfaceFlags.Loopback));
        Assert.Equal(int.Parse(Lab.ReadSys("lo", "mtu"), System.Globalization.CultureInfo.InvariantCulture), LinkControl.GetMtu("lo"));
    }

    [SkippableFact]
    public void An_unknown_interface_is_ENODEV()
    {
        Lab.RequireLinux();
        Assert.False(LinkControl.Exists("dpnnosuch0"));
        Assert.Equal(Errno.ENODEV, Assert.Throws<NativeException>(() => LinkControl.IndexOf("dpnnosuch0")).Errno.Number);
        Assert.Equal(Errno.ENODEV, Assert.Throws<NativeException>(() => LinkControl.GetMtu("dpnnosuch0")).Errno.Number);
    }

    [Theory]
    [InlineData("")]
    [InlineData("sixteen-chars-xx")]
    [InlineData("a/b")]
    [InlineData("a b")]
    public void A_name_the_kernel_would_refuse_is_refused_before_the_call(string name)
    {
        Assert.Throws<ArgumentException>(() => IfReq.For(name));
    }

    [Fact]
    public void An_ifreq_carries_the_name_NUL_terminated()
    {
        IfReq request = IfReq.For("dpl0");
        Assert.Equal("dpl0", request.GetName());
        Assert.Equal(0, request.Name[4]);
        Assert.Equal("fifteen-chars-x", IfReq.For("fifteen-chars-x").GetName());
    }

    [SkippableFact]
    public void Loopback_has_no_Ethernet_address()
    {
        Lab.RequireLinux();
        var e = Assert.Throws<NativeException>(() => LinkControl.GetHardwareAddress("lo"));
        Assert.Contains("not Ethernet", e.Message, StringComparison.Ordinal);
    }

    [SkippableFact]
    public void Index_and_hardware_address_of_a_veth_match_sysfs()
    {
        Lab.RequireRoot();
        using var veth = new VethPair();
        Assert.Equal(int.Parse(Lab.ReadSys(veth.A, "ifindex"), System.Globalization.CultureInfo.InvariantCulture), veth.IndexA);
        string sysAddress = Lab.ReadSys(veth.A, "address");
        Assert.Equal(sysAddress, string.Join(':', LinkControl.GetHardwareAddress(veth.A).Select(b => b.ToString("x2", System.Globalization.CultureInfo.InvariantCulture))));
    }

    [SkippableFact]
    public void Mtu_set_is_the_mtu_read_back()
    {
        Lab.RequireRoot();
        using var veth = new VethPair();
        LinkControl.SetMtu(veth.A, 1400);
        Assert.Equal(1400, LinkControl.GetMtu(veth.A));
        Assert.Equal("1400", Lab.ReadSys(veth.A, "mtu"));
        var e = Assert.Throws<NativeException>(() => LinkControl.SetMtu(veth.A, 10));
        Assert.Equal(Errno.EINVAL, e.Errno.Number);
    }

    [SkippableFact]
    public void Up_and_promiscuous_are_set_and_cleared_without_touching_other_flags()
    {
        Lab.RequireRoot();
        using var veth = new VethPair();
        InterfaceFlags before = LinkControl.GetFlags(veth.A);
        Assert.True(before.HasFlag(InterfaceFlags.Up));

        LinkControl.SetUp(veth.A, false);
        Assert.Equal(before & ~(InterfaceFlags.Up | InterfaceFlags.Running), LinkControl.GetFlags(veth.A) & ~InterfaceFlags.Running);
        Assert.Equal("down", Lab.ReadSys(veth.A, "operstate"));

        LinkControl.SetUp(veth.A, true);
        LinkControl.SetPromiscuous(veth.A, true);
        Assert.True(LinkControl.GetFlags(veth.A).HasFlag(InterfaceFlags.Promiscuous | InterfaceFlags.Up));
        Assert.NotEqual(0, Lab.ParseHex(Lab.ReadSys(veth.A, "flags")) & (int)InterfaceFlags.Promiscuous);

        LinkControl.SetPromiscuous(veth.A, false);
        Assert.False(LinkControl.GetFlags(veth.A).HasFlag(InterfaceFlags.Promiscuous));
    }
}
