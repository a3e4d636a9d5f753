using System.Text.RegularExpressions;
using Dataplane.Conformance.Cases;
using Dataplane.Conformance.Labs;

namespace Dataplane.Conformance.Tests.Cases;

public class CatalogTests
{
    [Fact]
    public void Names_follow_openbsd_style_hosts_protocol_family_tool_streams_role()
    {
        var name = new Regex(@"^(linux-dataplane-linux|linux-dataplane|dataplane-linux)-(icmp|tcp|udp|mcast)[46](ping|iperf|splice|copy|echo|bench)(-[a-z0-9]+)*$");
        foreach (TestCase test in Catalog.All)
            Assert.Matches(name, test.Name);
        Assert.Equal(Catalog.All.Count, Catalog.All.Select(t => t.Name).Distinct().Count());
    }

    [Fact]
    public void Every_kind_and_role_the_issue_names_is_there_for_both_families()
    {
        foreach (int f in (int[])[4, 6])
        {
            string[] expected =
            [
                $"linux-dataplane-linux-icmp{f}ping-flood",
                $"linux-dataplane-linux-tcp{f}iperf-parallel-forward",
                $"linux-dataplane-linux-tcp{f}iperf-parallel-splice",
                $"linux-dataplane-linux-tcp{f}iperf-parallel-copy",
                $"linux-dataplane-tcp{f}iperf-parallel-receive",
                $"dataplane-linux-tcp{f}iperf-single-send",
                $"linux-dataplane-linux-udp{f}echo-copy",
                $"linux-dataplane-linux-udp{f}splice-mtu",
                $"linux-dataplane-mcast{f}bench-parallel-mtu",
                $"dataplane-linux-mcast{f}bench-parallel-mtu",
            ];
            foreach (string name in expected)
                Assert.Contains(Catalog.All, t => t.Name == name);
        }
        Assert.All(Catalog.Quick, q => Assert.Contains(Catalog.All, t => t.Name == q));
    }

    [Fact]
    public void Tests_of_missing_features_are_known_not_to_run_on_the_dataplane()
    {
        TestCase receive = Catalog.All.Single(t => t.Name == "linux-dataplane-tcp4iperf-single-receive");
        Assert.Contains(receive.Needs, n => DataplaneFeatures.Missing(n) is not null);
        TestCase forward = Catalog.All.Single(t => t.Name == "linux-dataplane-linux-tcp4iperf-single-forward");
        Assert.All(forward.Needs, n => Assert.Null(DataplaneFeatures.Missing(n)));
        Assert.True(forward.ThroughSut);
        Assert.False(Catalog.All.Single(t => t.Name == "linux-dataplane-linux-udp4copy-mtu").ThroughSut);
    }

    [Fact]
    public void Plans_use_the_lab_addresses_and_the_tool_overrides()
    {
        var context = new PlanContext(new Addressing(1), SutKind.Linux, 3,
            new Dictionary<string, string> { ["iperf3"] = "/opt/iperf3" }, "eth0", "eth0", "sl0", "sr0");
        Plan plan = Catalog.All.Single(t => t.Name == "linux-dataplane-linux-tcp6iperf-parallel-forward").Make(context);
        Assert.Equal(Place.Left, plan.Client);
        Assert.Contains("/opt/iperf3 -6 -c fdd7:e83e:66bd:1012::4 -p 5201 -t 3 -J -P15 -w200k", plan.ClientCommand);
        Assert.Equal(Place.Right, Assert.Single(plan.Servers).Place);

        Plan relay = Catalog.All.Single(t => t.Name == "linux-dataplane-linux-udp4splice-mtu").Make(context);
        Assert.Equal(2, relay.Servers.Count); // the sink, and Linux's relay on the system under test
        Assert.Contains("--overhead 28", relay.Servers[0].Command); // UDP and IPv4 headers count in the rate
        // socat, Linux's relay, cannot relay empty datagrams: no reference, and it says why.
        Assert.Contains("socat", Catalog.All.Single(t => t.Name == "linux-dataplane-linux-udp4splice-empty").Make(context).Unrunnable);
        Plan ours = Catalog.All.Single(t => t.Name == "linux-dataplane-linux-udp4splice-empty").Make(context with { Sut = SutKind.Dataplane });
        Assert.Single(ours.Servers); // the dataplane's relay is its own app
        Assert.Contains($"--to 10.10.11.2 --port {Services.RelaySplice} --size 0", ours.ClientCommand);
    }
}
