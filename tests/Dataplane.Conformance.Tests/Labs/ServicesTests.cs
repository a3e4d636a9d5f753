using Dataplane.Conformance.Labs;
using Dataplane.Labs;

namespace Dataplane.Conformance.Tests.Labs;

public class ServicesTests
{
    private static string[] Config(params string[] modifiers) =>
        Services.DataplaneConfig(new Addressing(1), "port left driver tap ifname dpl0 queues 2", "port right driver tap ifname dpr0 queues 2", 2,
                RunModifiers.From(modifiers))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries);

    [Fact]
    public void Without_a_modifier_the_dataplane_keeps_its_defaults_tso_and_lro_on_and_its_mtu()
    {
        string[] config = Config();
        Assert.DoesNotContain(config, l => l.StartsWith("set tso", StringComparison.Ordinal) || l.StartsWith("set lro", StringComparison.Ordinal));
        Assert.DoesNotContain(config, l => l.StartsWith("mtu ", StringComparison.Ordinal));
    }

    [Fact]
    public void Notso_nolro_and_jumbo_each_change_their_own_line_of_the_config()
    {
        Assert.Contains("set tso off", Config("notso"));
        Assert.DoesNotContain("set lro off", Config("notso"));
        Assert.Contains("set lro off", Config("nolro"));
        Assert.DoesNotContain("set tso off", Config("nolro"));
        string[] jumbo = Config("jumbo");
        Assert.Contains("mtu left 9000", jumbo);
        Assert.Contains("mtu right 9000", jumbo);
        Assert.DoesNotContain(jumbo, l => l.StartsWith("set tso", StringComparison.Ordinal) || l.StartsWith("set lro", StringComparison.Ordinal));
        string[] both = Config("notso", "jumbo");
        Assert.Contains("set tso off", both);
        Assert.Contains("mtu left 9000", both);
    }

    [Fact]
    public void Nooffload_is_the_old_column_the_dataplanes_tso_and_lro_off()
    {
        string[] config = Config("nooffload");
        Assert.Contains("set tso off", config);
        Assert.Contains("set lro off", config);
    }

    [Fact]
    public void By_default_the_hosts_keep_their_offloads_only_a_namespace_interface_is_brought_up()
    {
        Assert.Equal(["ip link set eth0 up"], Lab.HostInterfaceCommands(namespaced: true, "eth0", RunModifiers.None));
        Assert.Empty(Lab.HostInterfaceCommands(namespaced: false, "ens2f0", RunModifiers.None));
        Assert.Empty(RunModifiers.None.LinuxRouterCommands("sl0"));
        Assert.Null(RunModifiers.None.RemoteUndo("sl0", router: true));
    }

    [Fact]
    public void Nooffload_turns_the_hosts_checksum_offload_off_and_nothing_else_does()
    {
        Assert.Equal(["ip link set eth0 up", "ethtool -K eth0 tx off >/dev/null"],
            Lab.HostInterfaceCommands(namespaced: true, "eth0", RunModifiers.From(["nooffload"])));
        foreach (string m in (string[])["notso", "nolro", "jumbo", "direct"])
            Assert.DoesNotContain(Lab.HostInterfaceCommands(true, "eth0", RunModifiers.From([m])), c => c.Contains("tx off", StringComparison.Ordinal));
        Assert.Equal("ethtool -K ens2f0 tx on", RunModifiers.From(["nooffload"]).RemoteUndo("ens2f0", router: false));
    }

    [Fact]
    public void Jumbo_sets_the_mtu_of_the_hosts_and_of_linux_in_the_routers_place_and_undoes_it_remotely()
    {
        RunModifiers jumbo = RunModifiers.From(["jumbo"]);
        Assert.Equal(["ip link set eth0 up", "ip link set eth0 mtu 9000"], Lab.HostInterfaceCommands(true, "eth0", jumbo));
        Assert.Equal(["ip link set sl0 mtu 9000"], jumbo.LinuxRouterCommands("sl0"));
        Assert.Equal("ip link set ens2f0 mtu 1500", jumbo.RemoteUndo("ens2f0", router: false));
    }

    [Fact]
    public void Notso_and_nolro_switch_linux_in_the_routers_place_as_the_dataplane_is_switched()
    {
        Assert.Equal(["ethtool -K sl0 tso off gso off >/dev/null"], RunModifiers.From(["notso"]).LinuxRouterCommands("sl0"));
        Assert.Equal(["ethtool -K sr0 gro off lro off >/dev/null"], RunModifiers.From(["nolro"]).LinuxRouterCommands("sr0"));
        Assert.Equal("ethtool -K sl0 tso on gso on", RunModifiers.From(["notso"]).RemoteUndo("sl0", router: true));
        Assert.Empty(RunModifiers.From(["notso"]).HostInterfaceCommands("eth0"));
    }

    [Fact]
    public void The_dataplane_config_has_an_iperf3_app_on_the_left_address_of_each_family()
    {
        string[] config = Config();
        Assert.Contains("app iperf3 listen 10.10.11.2:5201", config);
        Assert.Contains("app iperf3 listen [fdd7:e83e:66bd:1011::2]:5201", config);
        Assert.Equal(2, config.Count(l => l.StartsWith("app iperf3 ", StringComparison.Ordinal)));
    }

    [Fact]
    public void The_dataplane_config_has_the_udp_apps_and_the_tcp_relays_to_the_right_hosts_iperf3()
    {
        string[] config = Config();
        Assert.Contains("app echo udp listen 10.10.11.2:7", config);
        Assert.Contains($"app relay udp listen [fdd7:e83e:66bd:1011::2]:{Services.RelaySplice} connect [fdd7:e83e:66bd:1012::4]:{Services.Sink} mode splice", config);
        Assert.Contains($"app relay tcp listen 10.10.11.2:{Services.TcpRelaySplice} connect 10.10.12.4:{Services.Iperf3} mode splice", config);
        Assert.Contains($"app relay tcp listen [fdd7:e83e:66bd:1011::2]:{Services.TcpRelayCopy} connect [fdd7:e83e:66bd:1012::4]:{Services.Iperf3} mode copy", config);
    }

    [Fact]
    public void The_sessions_ctl_command_quotes_the_binary_and_socket_and_linux_has_none()
    {
        var host = new NetnsHost("sut", "ns");
        var ours = new SutSession(SutKind.Dataplane, host, null, "/tmp/a b/dataplane", "/tmp/a b/ctl.sock");
        Assert.Equal("'/tmp/a b/dataplane' ctl -s '/tmp/a b/ctl.sock'", ours.Ctl);
        Assert.Null(new SutSession(SutKind.Linux, host, null, null, null).Ctl);
    }
}
