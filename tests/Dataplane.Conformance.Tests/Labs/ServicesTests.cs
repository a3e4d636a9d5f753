using Dataplane.Conformance.Labs;
using Dataplane.Labs;

namespace Dataplane.Conformance.Tests.Labs;

public class ServicesTests
{
    private static string[] Config() =>
        Services.DataplaneConfig(new Addressing(1), "port left driver tap ifname dpl0 queues 2", "port right driver tap ifname dpr0 queues 2", 2)
            .Split('\n', StringSplitOptions.RemoveEmptyEntries);

    [Fact]
    public void The_dataplane_config_has_an_iperf3_app_on_the_left_address_of_each_family()
    {
        string[] config = Config();
        Assert.Contains("app iperf3 listen 10.10.11.2:5201", config);
        Assert.Contains("app iperf3 listen [fdd7:e83e:66bd:1011::2]:5201", config);
        Assert.Equal(2, config.Count(l => l.StartsWith("app iperf3 ", StringComparison.Ordinal)));
    }

    [Fact]
    public void The_dataplane_config_keeps_the_udp_apps_and_has_no_tcp_relay_yet()
    {
        string[] config = Config();
        Assert.Contains("app echo udp listen 10.10.11.2:7", config);
        Assert.Contains($"app relay udp listen [fdd7:e83e:66bd:1011::2]:{Services.RelaySplice} connect [fdd7:e83e:66bd:1012::4]:{Services.Sink} mode splice", config);
        Assert.DoesNotContain(config, l => l.StartsWith("app relay tcp", StringComparison.Ordinal));
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
