using Dataplane.Conformance.Jobs;

namespace Dataplane.Conformance.Tests.Jobs;

public class RelayBenchOptionsTests
{
    [Fact]
    public void Defaults_are_four_stream_counts_a_thousand_pairs_ipv4_and_installing()
    {
        RelayBenchOptions o = RelayBenchOptions.Parse(["--duration", "3", "--id", "rb-test"]);
        Assert.Equal([1, 2, 4, 10], o.Streams);
        Assert.Equal(1000, o.Pairs);
        Assert.Equal([4], o.Families);
        Assert.Equal(3, o.Duration);
        Assert.True(o.Install);
        Assert.Equal("rb-test", o.Id);
        Assert.Equal(Path.GetFullPath("out/dataplane"), o.Binary);
        Assert.Null(o.Logs);
    }

    [Fact]
    public void Every_option_is_taken()
    {
        RelayBenchOptions o = RelayBenchOptions.Parse(
            ["--binary", "/x/dataplane", "--duration", "7", "--streams", "1, 8", "--pairs", "50", "--ipv6", "--no-install", "--logs", "/tmp/l", "--id", "a-1"]);
        Assert.Equal("/x/dataplane", o.Binary);
        Assert.Equal(7, o.Duration);
        Assert.Equal([1, 8], o.Streams);
        Assert.Equal(50, o.Pairs);
        Assert.Equal([4, 6], o.Families);
        Assert.False(o.Install);
        Assert.Equal("/tmp/l", o.Logs);
        Assert.Equal("a-1", o.Id);
    }

    [Theory]
    [InlineData("--duration", "0")]
    [InlineData("--duration", "05")]
    [InlineData("--duration", "-1")]
    [InlineData("--duration", "x")]
    [InlineData("--pairs", "0")]
    [InlineData("--pairs", "20001")]
    [InlineData("--streams", "1,1")]
    [InlineData("--streams", "1,,2")]
    [InlineData("--streams", "129")]
    [InlineData("--id", "-x")]
    [InlineData("--id", "a_b")]
    [InlineData("--id", "a-very-long-lab-name-indeed")]
    public void A_bad_value_is_a_usage_error(string option, string value) =>
        Assert.Throws<ArgumentException>(() => RelayBenchOptions.Parse([option, value]));

    [Fact]
    public void An_unknown_option_or_a_missing_value_is_a_usage_error()
    {
        Assert.Throws<ArgumentException>(() => RelayBenchOptions.Parse(["--seconds", "5"]));
        Assert.Throws<ArgumentException>(() => RelayBenchOptions.Parse(["--pairs"]));
    }
}

public class RelayBenchFiguresTests
{
    private const string WrkOutput = """
        Running 5s test @ http://10.10.11.2:8080/1k.bin
          2 threads and 50 connections
          Thread Stats   Avg      Stdev     Max   +/- Stdev
            Latency    10.47ms    4.45ms  29.58ms   67.32%
            Req/Sec     2.28k   276.18     3.06k    75.00%
          9178 requests in 2.03s, 11.02MB read
          Socket errors: connect 3, read 2, write 0, timeout 1
          Non-2xx or 3xx responses: 4
        Requests/sec:   4530.42
        Transfer/sec:      5.44MB
        """;

    [Fact]
    public void Wrk_gives_requests_rate_socket_errors_and_non_2xx()
    {
        WrkFigures w = WrkFigures.Parse(WrkOutput);
        Assert.Equal(9178, w.Requests);
        Assert.Equal(4530.42, w.RequestsPerSecond);
        Assert.Equal(6, w.SocketErrors);
        Assert.Equal(4, w.Non2xx);
    }

    [Fact]
    public void Wrk_without_errors_counts_none()
    {
        WrkFigures w = WrkFigures.Parse("  156 requests in 2.03s, 191.80KB read\nRequests/sec:     76.99\nTransfer/sec:     94.66KB\n");
        Assert.Equal(156, w.Requests);
        Assert.Equal(76.99, w.RequestsPerSecond);
        Assert.Equal(0, w.SocketErrors);
        Assert.Equal(0, w.Non2xx);
    }

    [Fact]
    public void Wrk_that_could_not_run_gives_no_figures()
    {
        WrkFigures w = WrkFigures.Parse("unable to connect to 10.10.11.2:8080 Connection refused\n");
        Assert.Null(w.Requests);
        Assert.Null(w.RequestsPerSecond);
    }

    [Fact]
    public void Rss_is_read_from_the_vmrss_line_in_bytes()
    {
        const string status = "Name:\thaproxy\nVmPeak:\t  100000 kB\nVmRSS:\t   12345 kB\nRssAnon:\t    8000 kB\n";
        Assert.Equal(12345L * 1024, ProcFigures.ResidentBytes(status));
        Assert.Null(ProcFigures.ResidentBytes("Name:\tkthreadd\n"));
    }

    [Fact]
    public void Rss_of_this_process_is_there_and_of_no_process_is_null()
    {
        Assert.True(ProcFigures.ResidentBytes(Environment.ProcessId) > 0);
        Assert.Null(ProcFigures.ResidentBytes(int.MaxValue));
    }

    [Fact]
    public void Iperf3_with_parallel_streams_takes_the_received_sum()
    {
        const string json = """{"start":{},"end":{"streams":[{},{}],"sum_sent":{"bits_per_second":9.0e9},"sum_received":{"bits_per_second":8.5e9}}}""";
        Assert.Equal(8.5e9, Iperf3Figures.Parse(json, udp: false).BitsPerSecond);
        Assert.Contains("refused", Iperf3Figures.Parse("""{"start":{},"error":"unable to connect to server: Connection refused"}""", udp: false).Error, StringComparison.Ordinal);
    }
}

public class BenchTableTests
{
    private static BenchTable Table() => RelayBenchReport.Iperf3Table(4, [1, 4]);

    [Fact]
    public void A_passed_cell_shows_its_figure_and_the_others_their_status()
    {
        BenchTable t = Table();
        t.Set(RelayBench.LinuxRow, "P1", new BenchCell("PASS", 11.466, "11.47 Gbit/s", ""));
        t.Set(RelayBench.LinuxRow, "P4", new BenchCell("NOEXIT", 1, "1.00 Gbit/s", "iperf3 exit 1"));
        IReadOnlyList<string> lines = t.Lines();
        string linux = lines.Single(l => l.StartsWith(RelayBench.LinuxRow, StringComparison.Ordinal));
        Assert.Matches(@"^linux forward\s+11\.47\s+NOEXIT$", linux);
        Assert.Contains("  linux forward P4: NOEXIT: iperf3 exit 1", lines);
        Assert.Matches(@"^haproxy splice\s+NORUN\s+NORUN$", lines.Single(l => l.StartsWith(RelayBench.HaProxyRow, StringComparison.Ordinal)));
    }

    [Fact]
    public void Ratios_are_shown_where_both_cells_passed()
    {
        BenchTable t = Table();
        t.Set(RelayBench.LinuxRow, "P1", new BenchCell("PASS", 10, "", ""));
        t.Set(RelayBench.LinuxRow, "P4", new BenchCell("PASS", 8, "", ""));
        t.Set(RelayBench.HaProxyRow, "P1", new BenchCell("PASS", 5, "", ""));
        t.Set(RelayBench.SpliceRow, "P1", new BenchCell("PASS", 4, "", ""));
        t.Set(RelayBench.SpliceRow, "P4", new BenchCell("FAIL", null, "-", "no bits/s"));
        Assert.Equal("0.40", t.Ratio(RelayBench.SpliceRow, RelayBench.LinuxRow, "P1"));
        Assert.Equal("0.80", t.Ratio(RelayBench.SpliceRow, RelayBench.HaProxyRow, "P1"));
        Assert.Equal("-", t.Ratio(RelayBench.SpliceRow, RelayBench.LinuxRow, "P4"));
        Assert.Equal("-", t.Ratio(RelayBench.CopyRow, RelayBench.LinuxRow, "P1"));
        Assert.Matches(@"^dataplane splice / linux forward\s+0\.40\s+-$", t.Lines().Single(l => l.StartsWith("dataplane splice / linux", StringComparison.Ordinal)));
    }

    [Fact]
    public void A_row_whose_cells_share_a_reason_says_it_once()
    {
        BenchTable t = Table();
        t.Set(RelayBench.SpliceRow, "P1", BenchCell.NotRun("no TCP relay yet"));
        t.Set(RelayBench.SpliceRow, "P4", BenchCell.NotRun("no TCP relay yet"));
        IReadOnlyList<string> lines = t.Lines();
        Assert.Single(lines, l => l.Contains("no TCP relay yet", StringComparison.Ordinal));
        Assert.Contains("  dataplane splice: NORUN: no TCP relay yet", lines);
        Assert.Contains("  dataplane copy: NORUN: not run", lines);
    }

    [Fact]
    public void The_columns_line_up_under_their_header()
    {
        BenchTable t = Table();
        t.Set(RelayBench.LinuxRow, "P1", new BenchCell("PASS", 123.456, "", ""));
        IReadOnlyList<string> lines = t.Lines();
        string header = lines[1], linux = lines.Single(l => l.StartsWith(RelayBench.LinuxRow, StringComparison.Ordinal));
        Assert.Equal(header.IndexOf("P1", StringComparison.Ordinal) + 2, linux.IndexOf("123.46", StringComparison.Ordinal) + 6);
        Assert.Equal(header.Length, lines.Single(l => l.StartsWith(RelayBench.SocatRow, StringComparison.Ordinal)).Length);
    }

    [Fact]
    public void Only_failed_cells_count_against_the_run()
    {
        Assert.False(BenchCell.NotRun("x").Failed);
        Assert.False(new BenchCell("PASS", 1, "", "").Failed);
        Assert.True(new BenchCell("FAIL", null, "", "").Failed);
        Assert.True(new BenchCell("NOTERM", null, "", "").Failed);
        Assert.True(new BenchCell("NOEXIT", null, "", "").Failed);
    }

    [Fact]
    public void A_cell_outside_the_table_is_refused()
    {
        BenchTable memory = RelayBenchReport.MemoryTable(4, 1000);
        Assert.Throws<ArgumentException>(() => memory.Set(RelayBench.SocatRow, "bytes/pair", BenchCell.NotRun("x")));
        Assert.Throws<ArgumentException>(() => memory.Set(RelayBench.HaProxyRow, "P1", BenchCell.NotRun("x")));
    }
}

public class RelayBenchConfigsTests
{
    [Fact]
    public void The_dataplane_config_has_the_example_ports_two_workers_offloads_and_both_relay_modes()
    {
        string c = RelayBenchConfigs.Dataplane();
        Assert.Contains("port left  driver tap      ifname dpl0 queues 2", c, StringComparison.Ordinal);
        Assert.Contains("port right driver afpacket ifname dpr0 queues 2", c, StringComparison.Ordinal);
        Assert.Contains("set cores 0-1", c, StringComparison.Ordinal);
        Assert.Contains("set tso on", c, StringComparison.Ordinal);
        Assert.Contains("set lro on", c, StringComparison.Ordinal);
        Assert.Contains("app relay tcp listen 10.10.11.2:5202 connect 10.10.12.4:5201 mode splice", c, StringComparison.Ordinal);
        Assert.Contains("app relay tcp listen 10.10.11.2:5203 connect 10.10.12.4:5201 mode copy", c, StringComparison.Ordinal);
        Assert.Contains("app relay tcp listen 10.10.11.2:8081 connect 10.10.12.4:80 mode copy", c, StringComparison.Ordinal);
        Assert.Contains("app relay tcp listen 10.10.11.2:5301 connect 10.10.12.4:5301 mode splice", c, StringComparison.Ordinal);
        Assert.Contains("app relay tcp listen [fdd7:e83e:66bd:1011::2]:5202 connect [fdd7:e83e:66bd:1012::4]:5201 mode splice", c, StringComparison.Ordinal);
    }

    [Fact]
    public void Haproxy_splices_both_ways_in_tcp_mode_for_each_family_asked()
    {
        string c = RelayBenchConfigs.HaProxy([4], 1000);
        Assert.Contains("mode tcp", c, StringComparison.Ordinal);
        Assert.Contains("option splice-request", c, StringComparison.Ordinal);
        Assert.Contains("option splice-response", c, StringComparison.Ordinal);
        Assert.Contains("bind 10.10.11.2:5202", c, StringComparison.Ordinal);
        Assert.Contains("server right 10.10.12.4:80", c, StringComparison.Ordinal);
        Assert.DoesNotContain("fdd7", c, StringComparison.Ordinal);
        Assert.Contains("bind [fdd7:e83e:66bd:1011::2]:8080", RelayBenchConfigs.HaProxy([4, 6], 1000), StringComparison.Ordinal);
    }

    [Fact]
    public void Socat_forks_a_child_per_connection_on_the_routers_left_address()
    {
        Assert.Equal(["TCP4-LISTEN:5202,bind=10.10.11.2,fork,reuseaddr,backlog=1024", "TCP4:10.10.12.4:5201"], RelayBenchConfigs.Socat(4, 5202, 5201));
        Assert.Equal("TCP6:[fdd7:e83e:66bd:1012::4]:80", RelayBenchConfigs.Socat(6, 8080, 80)[1]);
    }
}
