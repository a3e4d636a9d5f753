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
        foreach (int f in (int[])[4, 6])
        {
            TestCase multicast = Catalog.All.Single(t => t.Name == $"linux-dataplane-mcast{f}bench-parallel-mtu");
            Assert.Contains("multicast", multicast.Needs.Select(DataplaneFeatures.Missing).First(m => m is not null));
        }
        foreach (string mode in (string[])["splice", "copy"])
        {
            // The TCP relays run: the dataplane's is its config's app relay tcp, Linux's socat.
            TestCase relay = Catalog.All.Single(t => t.Name == $"linux-dataplane-linux-tcp6iperf-parallel-{mode}");
            Assert.All(relay.Needs, n => Assert.Null(DataplaneFeatures.Missing(n)));
        }
        TestCase forward = Catalog.All.Single(t => t.Name == "linux-dataplane-linux-tcp4iperf-single-forward");
        Assert.All(forward.Needs, n => Assert.Null(DataplaneFeatures.Missing(n)));
        Assert.True(forward.ThroughSut);
        Assert.False(Catalog.All.Single(t => t.Name == "linux-dataplane-linux-udp4copy-mtu").ThroughSut);
    }

    [Fact]
    public void On_the_qemu_guest_Linux_runs_no_udpbench_and_says_why_but_every_other_sut_command_may_run()
    {
        // The guest has no python3: the runner asks each host whether it can run its part first.
        var guest = new Dataplane.Labs.Guest.GuestHost("sut", "ns", "/nonexistent/client", "/tmp/run", "/nonexistent/dataplane");
        var context = new PlanContext(new Addressing(1), SutKind.Linux, 3, new Dictionary<string, string>(), "eth0", "eth0", "sl0", "sr0");
        var refused = new List<string>();
        foreach (TestCase test in Catalog.All)
        {
            Plan plan = test.Make(context);
            if (plan.Unrunnable is not null)
                continue;
            IEnumerable<string> onSut = plan.Servers.Where(s => s.Place == Place.Sut).Select(s => s.Command)
                .Concat(plan.Client == Place.Sut ? [plan.ClientCommand] : []);
            if (onSut.Select(guest.CannotRun).FirstOrDefault(r => r is not null) is string reason)
            {
                Assert.Contains("python3", reason);
                refused.Add(test.Name);
            }
        }
        Assert.Equal(["dataplane-linux-mcast4bench-parallel-mtu", "dataplane-linux-mcast6bench-parallel-mtu",
            "linux-dataplane-mcast4bench-parallel-mtu", "linux-dataplane-mcast6bench-parallel-mtu"], refused.Order());
        Assert.Null(guest.CannotRun("exec socat UDP4-LISTEN:7,fork PIPE"));
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

    [Fact]
    public void The_dataplane_has_tcp_and_its_iperf3_app_so_receive_and_send_run_on_it()
    {
        foreach (int f in (int[])[4, 6])
        {
            foreach (string name in (string[])[
                         $"linux-dataplane-tcp{f}iperf-single-receive", $"linux-dataplane-tcp{f}iperf-parallel-receive",
                         $"dataplane-linux-tcp{f}iperf-single-send", $"dataplane-linux-tcp{f}iperf-parallel-send",
                         $"linux-dataplane-udp{f}iperf-single-receive", $"dataplane-linux-udp{f}iperf-single-send"])
            {
                TestCase test = Catalog.All.Single(t => t.Name == name);
                Assert.Contains(Feature.Iperf3, test.Needs);
                Assert.All(test.Needs, n => Assert.Null(DataplaneFeatures.Missing(n)));
            }
        }
    }

    private static PlanContext Context(SutKind sut) => new(new Addressing(1), sut, 3,
        new Dictionary<string, string> { ["iperf3"] = "/opt/iperf3" }, "eth0", "eth0", "sl0", "sr0",
        Ctl: sut == SutKind.Dataplane ? "'/out/data plane' ctl -s /run/ctl.sock" : null);

    private static Plan PlanOf(string name, SutKind sut) => Catalog.All.Single(t => t.Name == name).Make(Context(sut));

    [Fact]
    public void Receive_on_the_dataplane_has_no_server_to_start_its_config_has_the_iperf3_app()
    {
        Plan ours = PlanOf("linux-dataplane-tcp6iperf-parallel-receive", SutKind.Dataplane);
        Assert.Empty(ours.Servers);
        Assert.Equal(Place.Left, ours.Client);
        Assert.Equal("exec /opt/iperf3 -6 -c fdd7:e83e:66bd:1011::2 -p 5201 -t 3 -J -P15 -w200k", ours.ClientCommand);

        Plan udp = PlanOf("linux-dataplane-udp4iperf-single-receive", SutKind.Dataplane);
        Assert.Empty(udp.Servers);
        Assert.Equal("exec /opt/iperf3 -4 -c 10.10.11.2 -p 5201 -t 3 -J -u -b 0 -l 1472", udp.ClientCommand);
    }

    [Fact]
    public void Receive_on_linux_starts_iperf3_s_on_the_system_under_test()
    {
        Plan linux = PlanOf("linux-dataplane-tcp4iperf-single-receive", SutKind.Linux);
        Server server = Assert.Single(linux.Servers);
        Assert.Equal(Place.Sut, server.Place);
        Assert.Equal("exec /opt/iperf3 -s -4 -B 10.10.11.2 -p 5201", server.Command);
        Assert.Equal("tcp:5201", server.ListenPort);
        Assert.Equal("exec /opt/iperf3 -4 -c 10.10.11.2 -p 5201 -t 3 -J", linux.ClientCommand);
    }

    [Fact]
    public void Send_on_the_dataplane_runs_ctl_iperf3_with_the_options_linux_iperf3_gets()
    {
        foreach ((string name, string options) in (ValueTuple<string, string>[])[
                     ("dataplane-linux-tcp4iperf-single-send", "-4 -c 10.10.12.4 -p 5201 -t 3 -J"),
                     ("dataplane-linux-tcp6iperf-parallel-send", "-6 -c fdd7:e83e:66bd:1012::4 -p 5201 -t 3 -J -P15 -w200k"),
                     ("dataplane-linux-udp6iperf-single-send", "-6 -c fdd7:e83e:66bd:1012::4 -p 5201 -t 3 -J -u -b 0 -l 1452")])
        {
            Plan ours = PlanOf(name, SutKind.Dataplane), linux = PlanOf(name, SutKind.Linux);
            Assert.Equal(Place.Sut, ours.Client);
            Assert.Equal($"exec '/out/data plane' ctl -s /run/ctl.sock iperf3 {options}", ours.ClientCommand);
            Assert.Equal(Place.Sut, linux.Client);
            Assert.Equal($"exec /opt/iperf3 {options}", linux.ClientCommand);
            // The server is stock iperf3 on the right host for both.
            Assert.Equal(linux.Servers, ours.Servers);
            Assert.Equal(Place.Right, Assert.Single(ours.Servers).Place);
        }
    }

    [Fact]
    public void A_dataplane_plan_without_its_ctl_command_is_a_bug_not_a_linux_command()
    {
        PlanContext context = Context(SutKind.Dataplane) with { Ctl = null };
        Assert.Throws<InvalidOperationException>(() => Catalog.All.Single(t => t.Name == "dataplane-linux-tcp4iperf-single-send").Make(context));
    }
}
