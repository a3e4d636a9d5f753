using Dataplane.Conformance.Model;
using Dataplane.Conformance.Running;

namespace Dataplane.Conformance.Tests.Running;

public class StatusTests
{
    [Fact]
    public void Statuses_go_in_openbsds_severity_order_and_the_most_severe_wins()
    {
        Assert.Equal(["PASS", "FAIL", "XPASS", "NOEXIT", "NOTERM", "NORUN", "NOLOG"], StatusInfo.All.Select(s => s.Name()));
        Assert.Equal(Status.Noterm, StatusInfo.Worst([Status.Pass, Status.Noterm, Status.Fail]));
        Assert.Equal(Status.Pass, StatusInfo.Worst([]));
        Assert.True(StatusInfo.TryParse("XPASS", out Status x) && x == Status.Xpass);
        Assert.False(StatusInfo.TryParse("SKIP", out _));
    }

    [Fact]
    public void Result_lines_are_openbsds()
    {
        var r = new Result("linux-dataplane-linux-tcp4iperf-single-forward", Status.Pass, "", 1.5e9, "recv", "logs/x.log", 12);
        Assert.Equal("PASS\tlinux-dataplane-linux-tcp4iperf-single-forward\t\nVALUE 1500000000 bits/sec recv\n", r.ToResultLines());
    }

    [Fact]
    public void Only_counters_that_went_up_are_an_error()
    {
        var before = new Dictionary<string, long> { ["ip.bad_checksum"] = 2, ["udp.socket_full"] = 5 };
        var after = new Dictionary<string, long> { ["ip.bad_checksum"] = 5, ["udp.socket_full"] = 5, ["port.left.tx_drops"] = 1 };
        Assert.Equal("ip.bad_checksum +3", CaseRunner.Moved(before, after));
        Assert.Equal("port.left.tx_drops +1", CaseRunner.Moved(before, after, load: true));
        Assert.Null(CaseRunner.Moved(before, before));
        Assert.Null(CaseRunner.Moved(null, after));
    }

    [Fact]
    public void Drops_for_lack_of_room_are_load_not_errors()
    {
        Assert.True(CaseRunner.IsLoadDrop("worker.1.hand_off_drops"));
        Assert.True(CaseRunner.IsLoadDrop("Udp6RcvbufErrors"));
        Assert.False(CaseRunner.IsLoadDrop("UdpInCsumErrors"));
        Assert.False(CaseRunner.IsLoadDrop("ip.bad_checksum"));
        Assert.False(CaseRunner.IsLoadDrop("icmp6.held_dropped"));
    }

    [Fact]
    public void Modifiers_and_pseudo_devices_not_landed_say_why()
    {
        Assert.Null(MatrixRunner.Missing("direct"));
        Assert.Contains("packet filter", MatrixRunner.Missing("nopf"));
        Assert.Equal("pseudo device vxlan: not in the dataplane yet", MatrixRunner.Missing("vxlan"));
    }

    [Theory]
    [InlineData("jumbo")]
    [InlineData("notso")]
    [InlineData("nolro")]
    [InlineData("nooffload")]
    public void The_offload_and_jumbo_modifiers_are_known_and_run(string modifier)
    {
        Assert.Contains(modifier, MatrixRunner.Known);
        Assert.Null(MatrixRunner.Missing(modifier));
    }

    [Fact]
    public void Filters_match_a_part_of_the_name_and_stars_match_anything()
    {
        Assert.True(Program.Matches("linux-dataplane-linux-tcp4iperf-parallel-forward", "tcp4"));
        Assert.True(Program.Matches("linux-dataplane-linux-tcp4iperf-parallel-forward", "tcp*-forward"));
        Assert.False(Program.Matches("linux-dataplane-linux-tcp4iperf-parallel-forward", "tcp6"));
        Assert.False(Program.Matches("linux-dataplane-tcp4iperf-parallel-receive", "*-forward"));
    }

    [Fact]
    public void Linux_error_counters_are_read_from_nstat()
    {
        var counters = Dataplane.Conformance.Labs.SutSession.ParseNstat("#kernel\nIpInReceives 100 0.0\nUdpInCsumErrors 3 0.0\nIpInHdrErrors 0 0.0\n");
        Assert.Equal(3, counters["UdpInCsumErrors"]);
        Assert.Equal(0, counters["IpInHdrErrors"]);
        Assert.False(counters.ContainsKey("IpInReceives"));
        var ours = Dataplane.Conformance.Labs.SutSession.ParseStatsErrors("""{"ports":[],"errors":{"ip.bad_checksum":4}}""");
        Assert.Equal(4, ours!["ip.bad_checksum"]);
        Assert.Null(Dataplane.Conformance.Labs.SutSession.ParseStatsErrors("""{"ports":[]}"""));
    }
}
