using Dataplane.Conformance.Jobs;

namespace Dataplane.Conformance.Tests.Jobs;

public class MainJobPortsTests
{
    private static readonly string Repository = FindRepository();

    [Fact]
    public void The_example_config_has_a_tap_left_and_afpacket_right()
    {
        (JobPort left, JobPort right) = MainJobPorts.Read(File.ReadAllText(Path.Combine(Repository, "dataplane/Dataplane/examples/dataplane.conf")));
        Assert.Equal(new JobPort("left", "tap", "dpl0", 2), left);
        Assert.Equal(new JobPort("right", "afpacket", "dpr0", 2), right);
        Assert.Equal("dpl0", left.HostInterface("left0")); // the tap is the host's NIC
        Assert.Equal("right0", right.HostInterface("right0")); // the veth's far end is
    }

    [Fact]
    public void The_afxdp_example_puts_both_ports_on_veths()
    {
        (JobPort left, JobPort right) = MainJobPorts.Read(File.ReadAllText(Path.Combine(Repository, "dataplane/Dataplane/examples/dataplane-afxdp.conf")));
        Assert.Equal(new JobPort("left", "afxdp", "dpl0", 2), left);
        Assert.Equal(new JobPort("right", "afxdp", "dpr0", 2), right);
        Assert.False(left.IsTap);
    }

    [Fact]
    public void Sides_follow_the_addresses_not_the_order_or_the_names()
    {
        (JobPort left, JobPort right) = MainJobPorts.Read("""
            port b driver afpacket ifname x1   # comment
            port a driver tap ifname x0 queues 1
            inet b 10.10.12.3/24
            inet a 10.10.11.2/24
            """);
        Assert.Equal("a", left.Name);
        Assert.Equal("b", right.Name);
        Assert.Equal(1, right.Queues);
    }

    [Theory]
    [InlineData("port a driver vfio pci 0000:00:03.0\nport b driver tap ifname t\ninet a 10.10.11.2/24\ninet b 10.10.12.3/24", "not vfio")]
    [InlineData("port a driver tap ifname t0\ninet a 10.10.11.2/24", "right network (10.10.12.0/24)")]
    [InlineData("port a driver tap ifname t0\nport b driver tap ifname t0\ninet a 10.10.11.2/24\ninet b 10.10.12.3/24", "the same interface t0")]
    public void A_config_the_lab_cannot_cable_says_why(string config, string expected)
    {
        var e = Assert.Throws<ArgumentException>(() => MainJobPorts.Read(config));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    private static string FindRepository()
    {
        for (DirectoryInfo? d = new(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            if (File.Exists(Path.Combine(d.FullName, "Dataplane.sln")))
                return d.FullName;
        }
        throw new InvalidOperationException("no Dataplane.sln above " + AppContext.BaseDirectory);
    }
}
