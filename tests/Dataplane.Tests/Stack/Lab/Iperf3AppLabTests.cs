using System.Globalization;
using System.Text.Json;
using Dataplane.Tests.Control;
using Xunit.Abstractions;

namespace Dataplane.Tests.Stack.Lab;

/// <summary>
/// The built-in iperf3 server (<c>app iperf3 listen ...</c>) against the stock iperf3 client on the
/// left host, and <c>ctl iperf3 -c</c> against a stock <c>iperf3 -s</c> on the left host: TCP
/// (plain, -R, -P 4) and UDP, IPv4 and IPv6, on the tap lab with two workers, so that a test's
/// connections land on both. Each run is short (2 s) and bounded; the lab takes down what it
/// made, the stock peers by their PIDs, whatever happens.
/// </summary>
[Collection(StackLab.Collection)]
[Trait("Category", "Linux")]
public class Iperf3AppLabTests(ITestOutputHelper output)
{
    private const string Apps = $"app iperf3 listen {StackLab.DataplaneLeft}:5201\napp iperf3 listen [{StackLab.DataplaneLeft6}]:5201";

    /// <summary>
    /// The --bidir share tests run as users run (TSO and LRO on: super-frames, a few to a burst) and
    /// with frames one by one (both off). A worker is behind when a queue gives a full burst or a
    /// burst's worth of full-size frames in bytes: with frames alone as the signal, super-frames
    /// never filled a burst, the shares never engaged, and the split was 0.42 (3.4-3.6 against
    /// 8.7-8.9 Gbit/s).
    /// </summary>
    public static TheoryData<string> Offloads => ["", "set tso off\nset lro off"];

    [SkippableTheory]
    [InlineData(LabFamily.Ipv4, "")]
    [InlineData(LabFamily.Ipv6, "")]
    [InlineData(LabFamily.Ipv4, "-R")]
    [InlineData(LabFamily.Ipv6, "-R")]
    [InlineData(LabFamily.Ipv4, "-P 4")]
    [InlineData(LabFamily.Ipv4, "--bidir")]
    public void Stock_iperf3_client_runs_a_tcp_test_against_the_app_and_both_ends_count_the_bytes(LabFamily family, string options)
    {
        using StackLab lab = StackLab.Start(LabDriver.Tap, Apps);
        Dictionary<string, long> before = lab.Counters();
        string server = StackLab.Address(family, StackLab.DataplaneLeft, StackLab.DataplaneLeft6);

        using JsonDocument result = Client(lab, server, ["-t", "2", .. Split(options)]);

        JsonElement end = result.RootElement.GetProperty("end");
        long sent = end.GetProperty("sum_sent").GetProperty("bytes").GetInt64();
        long received = end.GetProperty("sum_received").GetProperty("bytes").GetInt64();
        string moved = StackLab.Moved(before, lab.Counters());
        output.WriteLine($"iperf3 -c {server} -t 2 {options}: sent {sent}, received {received}; {Rate(end.GetProperty("sum_received"))}; counters moved: {moved}");
        Assert.True(received > 0, $"nothing received; counters moved: {moved}");
        Assert.True(sent >= received, $"received {received} more than sent {sent}");
        int streams = options.Contains("-P 4", StringComparison.Ordinal) ? 4 : options.Contains("--bidir", StringComparison.Ordinal) ? 2 : 1;
        Assert.Equal(streams, end.GetProperty("streams").GetArrayLength());
        lab.AssertAlive();
    }

    /// <summary>
    /// The stock client's --bidir against the app on a dataplane of one worker, so that both data
    /// streams share it (with two they do half the time): each direction gets a comparable share of
    /// what the worker carries, neither under half of the other. The worker is the bottleneck, and
    /// its receive queue held the client's data behind the client's ACKs of a megabyte of ours (our
    /// window never meets a loss on this path): client to server got a third of server to client, a
    /// sixth on a loaded machine, until each connection got a share of each turn of a busy worker
    /// (TcpSocket.Share.cs).
    /// </summary>
    [SkippableTheory]
    [MemberData(nameof(Offloads))]
    public void Stock_iperf3_client_bidir_on_one_worker_gives_each_direction_a_comparable_share(string offloads)
    {
        using StackLab lab = StackLab.Start(LabDriver.Tap, Apps + "\n" + offloads, workers: 1);
        Dictionary<string, long> before = lab.Counters();

        using JsonDocument result = Client(lab, StackLab.DataplaneLeft, ["-t", "6", "--bidir"]);

        JsonElement end = result.RootElement.GetProperty("end");
        double up = end.GetProperty("sum_received").GetProperty("bits_per_second").GetDouble();
        double down = end.GetProperty("sum_received_bidir_reverse").GetProperty("bits_per_second").GetDouble();
        string moved = StackLab.Moved(before, lab.Counters());
        output.WriteLine($"iperf3 -c {StackLab.DataplaneLeft} -t 6 --bidir, one worker: client to server {Rate(end.GetProperty("sum_received"))}, server to client {Rate(end.GetProperty("sum_received_bidir_reverse"))}; counters moved: {moved}");
        Assert.True(Math.Min(up, down) * 2 >= Math.Max(up, down),
            $"one direction starves: client to server {up / 1e6:0.0} Mbit/s, server to client {down / 1e6:0.0} Mbit/s; counters moved: {moved}");
        lab.AssertAlive();
    }

    [SkippableTheory]
    [InlineData(LabFamily.Ipv4, "")]
    [InlineData(LabFamily.Ipv6, "")]
    [InlineData(LabFamily.Ipv4, "-R")]
    public void Stock_iperf3_client_runs_a_udp_test_against_the_app_and_loses_little(LabFamily family, string options)
    {
        using StackLab lab = StackLab.Start(LabDriver.Tap, Apps);
        Dictionary<string, long> before = lab.Counters();
        string server = StackLab.Address(family, StackLab.DataplaneLeft, StackLab.DataplaneLeft6);

        using JsonDocument result = Client(lab, server, ["-u", "-b", "100M", "-t", "2", .. Split(options)]);

        JsonElement sum = result.RootElement.GetProperty("end").GetProperty("sum");
        long packets = sum.GetProperty("packets").GetInt64();
        long lost = sum.GetProperty("lost_packets").GetInt64();
        string moved = StackLab.Moved(before, lab.Counters());
        output.WriteLine($"iperf3 -c {server} -u -b 100M -t 2 {options}: {packets} datagrams, {lost} lost; {Rate(sum)}; counters moved: {moved}");
        Assert.True(packets > 1000, $"only {packets} datagrams; counters moved: {moved}");
        Assert.True(lost * 10 < packets, $"{lost} of {packets} datagrams lost; counters moved: {moved}");
        lab.AssertAlive();
    }

    [SkippableTheory]
    [InlineData(LabFamily.Ipv4, "")]
    [InlineData(LabFamily.Ipv6, "")]
    [InlineData(LabFamily.Ipv4, "-R")]
    [InlineData(LabFamily.Ipv4, "-P 4")]
    [InlineData(LabFamily.Ipv4, "-u -b 50M")]
    public void Ctl_iperf3_runs_a_test_against_a_stock_server_and_prints_its_summary(LabFamily family, string options)
    {
        using StackLab lab = StackLab.Start(LabDriver.Tap);
        string host = StackLab.Address(family, StackLab.LeftHost, StackLab.LeftHost6);
        LabProcess listening = lab.StartInLeft("iperf3", "-s", "-1", "--forceflush", "-B", host);
        listening.WaitForOutput("Server listening", TimeSpan.FromSeconds(30));
        Dictionary<string, long> before = lab.Counters();

        string text = lab.Ctl(["iperf3", "-c", host, "-t", "2", .. Split(options)]);

        output.WriteLine(text);
        output.WriteLine($"counters moved: {StackLab.Moved(before, lab.Counters())}");
        Assert.Contains($"Connecting to host {host}, port 5201", text, StringComparison.Ordinal);
        Assert.Contains("sender", text, StringComparison.Ordinal);
        Assert.Contains("receiver", text, StringComparison.Ordinal);
        Assert.EndsWith("iperf Done.\n", text, StringComparison.Ordinal);
        Assert.DoesNotContain(" 0.00 Bytes ", text, StringComparison.Ordinal);
        lab.AssertAlive();
    }

    /// <summary>
    /// The other side of <see cref="Stock_iperf3_client_bidir_on_one_worker_gives_each_direction_a_comparable_share"/>:
    /// <c>ctl iperf3 --bidir</c> against a stock server, on one worker (the client's streams always
    /// share its worker: it picks their ports so). Each direction gets a comparable share, neither
    /// under half of the other; our sending stream used to take three to seven times the stock server's.
    /// </summary>
    [SkippableTheory]
    [MemberData(nameof(Offloads))]
    public void Ctl_iperf3_bidir_on_one_worker_gives_each_direction_a_comparable_share(string offloads)
    {
        using StackLab lab = StackLab.Start(LabDriver.Tap, offloads, workers: 1);
        LabProcess listening = lab.StartInLeft("iperf3", "-s", "-1", "--forceflush", "-B", StackLab.LeftHost);
        listening.WaitForOutput("Server listening", TimeSpan.FromSeconds(30));
        Dictionary<string, long> before = lab.Counters();

        using JsonDocument json = JsonDocument.Parse(lab.Ctl("iperf3", "-c", StackLab.LeftHost, "-t", "6", "--bidir", "-J"));

        JsonElement end = json.RootElement.GetProperty("end");
        double up = end.GetProperty("sum_received").GetProperty("bits_per_second").GetDouble();
        double down = end.GetProperty("sum_received_bidir_reverse").GetProperty("bits_per_second").GetDouble();
        string moved = StackLab.Moved(before, lab.Counters());
        output.WriteLine($"ctl iperf3 -c {StackLab.LeftHost} -t 6 --bidir, one worker: dataplane to server {Rate(end.GetProperty("sum_received"))}, server to dataplane {Rate(end.GetProperty("sum_received_bidir_reverse"))}; counters moved: {moved}");
        Assert.True(Math.Min(up, down) * 2 >= Math.Max(up, down),
            $"one direction starves: dataplane to server {up / 1e6:0.0} Mbit/s, server to dataplane {down / 1e6:0.0} Mbit/s; counters moved: {moved}");
        lab.AssertAlive();
    }

    [SkippableFact]
    public void Ctl_iperf3_json_has_the_sums()
    {
        using StackLab lab = StackLab.Start(LabDriver.Tap);
        LabProcess listening = lab.StartInLeft("iperf3", "-s", "-1", "--forceflush", "-B", StackLab.LeftHost);
        listening.WaitForOutput("Server listening", TimeSpan.FromSeconds(30));

        using JsonDocument json = JsonDocument.Parse(lab.Ctl("iperf3", "-c", StackLab.LeftHost, "-t", "2", "-J"));

        JsonElement end = json.RootElement.GetProperty("end");
        output.WriteLine($"{Rate(end.GetProperty("sum_sent"))} sent, {Rate(end.GetProperty("sum_received"))} received");
        Assert.True(end.GetProperty("sum_received").GetProperty("bytes").GetInt64() > 0);
    }

    /// <summary>
    /// <c>ctl iperf3 -c</c> to the left host, where nothing listens on 5201: its reset refuses the
    /// control connection and ctl fails at once (within 5 s, loaded machine or not), non-zero, with
    /// iperf3's words.
    /// </summary>
    [SkippableFact]
    public void Ctl_iperf3_to_a_port_nobody_listens_on_fails_at_once_as_refused()
    {
        using StackLab lab = StackLab.Start(LabDriver.Tap);
        var clock = System.Diagnostics.Stopwatch.StartNew();

        (int code, string text, string error) = RunningHost.Ctl("-s", lab.Host.Socket, "iperf3", "-c", StackLab.LeftHost, "-t", "2");

        output.WriteLine($"{clock.Elapsed.TotalSeconds:0.0} s, exit {code}: {text}{error}");
        Assert.NotEqual(0, code);
        Assert.Contains("iperf3: error - unable to connect to server: Connection refused", text + error, StringComparison.Ordinal);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"it took {clock.Elapsed.TotalSeconds:0.0} s");
        lab.AssertAlive();
    }

    /// <summary>
    /// <c>ctl iperf3 -c</c> to an address of the left net that nobody has, with --connect-timeout
    /// 1500: no ARP answer, no SYN-ACK; ctl fails after the 1.5 s (not before; within 10 s), non-zero,
    /// as stock iperf3 does: "unable to connect to server: Connection timed out". (Without the
    /// option it fails when TCP's SYN retransmissions run out, 127 s: Iperf3ClientSimulationTests.)
    /// </summary>
    [SkippableFact]
    public void Ctl_iperf3_to_a_host_that_does_not_answer_fails_at_the_connect_timeout()
    {
        using StackLab lab = StackLab.Start(LabDriver.Tap);
        var clock = System.Diagnostics.Stopwatch.StartNew();

        (int code, string text, string error) = RunningHost.Ctl("-s", lab.Host.Socket, "iperf3", "-c", "10.10.11.9", "-t", "2", "--connect-timeout", "1500");

        output.WriteLine($"{clock.Elapsed.TotalSeconds:0.0} s, exit {code}: {text}{error}");
        Assert.NotEqual(0, code);
        Assert.Contains("iperf3: error - unable to connect to server: Connection timed out", text + error, StringComparison.Ordinal);
        Assert.InRange(clock.Elapsed.TotalSeconds, 1.5, 10);
        lab.AssertAlive();
    }

    /// <summary>
    /// A receiving test (-R) whose server goes silent a second in (its link goes down): with
    /// --rcv-timeout 2000 ctl ends 2 s after the last data ("idle timeout for receiving data", as
    /// iperf3 says), not at the end of -t 30; within 10 s of the silence.
    /// </summary>
    [SkippableFact]
    public void Ctl_iperf3_receiving_from_a_server_gone_silent_ends_at_the_receive_timeout()
    {
        using StackLab lab = StackLab.Start(LabDriver.Tap);
        LabProcess listening = lab.StartInLeft("iperf3", "-s", "-1", "--forceflush", "-B", StackLab.LeftHost);
        listening.WaitForOutput("Server listening", TimeSpan.FromSeconds(30));

        (int code, string text, TimeSpan silent) = WithServerSilenced(lab, "-R", "-t", "30", "--rcv-timeout", "2000");

        output.WriteLine($"ended {silent.TotalSeconds:0.0} s after the silence, exit {code}: {text}");
        Assert.NotEqual(0, code);
        Assert.Contains("iperf3: error - idle timeout for receiving data", text, StringComparison.Ordinal);
        Assert.InRange(silent.TotalSeconds, 1.5, 10);
        lab.AssertAlive();
    }

    /// <summary>
    /// A sending test whose server goes silent a second in: iperf3 itself would wait for the
    /// server's results for as long as TCP holds the control connection (minutes); ctl ends when -t
    /// and the margin for exchanging results are over (3 + 15 s from connecting), and says so.
    /// </summary>
    [SkippableFact]
    public void Ctl_iperf3_sending_to_a_server_gone_silent_ends_within_the_test_and_its_margin()
    {
        using StackLab lab = StackLab.Start(LabDriver.Tap);
        LabProcess listening = lab.StartInLeft("iperf3", "-s", "-1", "--forceflush", "-B", StackLab.LeftHost);
        listening.WaitForOutput("Server listening", TimeSpan.FromSeconds(30));

        (int code, string text, TimeSpan silent) = WithServerSilenced(lab, "-t", "3");

        output.WriteLine($"ended {silent.TotalSeconds:0.0} s after the silence, exit {code}: {text}");
        Assert.NotEqual(0, code);
        Assert.Contains("iperf3: error - the test did not end within 18 s of connecting", text, StringComparison.Ordinal);
        Assert.InRange(silent.TotalSeconds, 10, 30);
        lab.AssertAlive();
    }

    /// <summary>Runs <c>ctl iperf3 -c LEFT-HOST OPTIONS</c> and takes the left host's link down once the test's data moves; ctl's exit code and output, and how long after the silence it ended.</summary>
    private static (int Code, string Text, TimeSpan AfterSilence) WithServerSilenced(StackLab lab, params string[] options)
    {
        Dictionary<string, long> before = lab.Counters();
        Task<(int Code, string Out, string Err)> ctl = Task.Run(() => RunningHost.Ctl(["-s", lab.Host.Socket, "iperf3", "-c", StackLab.LeftHost, .. options]));
        // The test runs once data moves, either way (a condition, not a guessed time).
        Assert.True(LinuxLab.Until(() =>
        {
            Dictionary<string, long> now = lab.Counters();
            return now["tcp.data_segments_sent"] - before["tcp.data_segments_sent"] + now["tcp.data_received_in_order"] - before["tcp.data_received_in_order"] > 10 || ctl.IsCompleted;
        }, TimeSpan.FromSeconds(30)), "no test data moved within 30 s");
        Assert.False(ctl.IsCompleted, $"ctl ended before the server went silent: {(ctl.IsCompleted ? ctl.Result.Out + ctl.Result.Err : "")}");
        LinuxLab.Run("ip", "-n", lab.Left, "link", "set", lab.LeftLink, "down");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        Assert.True(ctl.Wait(TimeSpan.FromSeconds(120)), "ctl did not end within 120 s of the silence");
        (int code, string stdout, string stderr) = ctl.Result;
        return (code, stdout + stderr, clock.Elapsed);
    }

    /// <summary>Runs the stock client on the left host against <paramref name="server"/>; its JSON report.</summary>
    private static JsonDocument Client(StackLab lab, string server, string[] options)
    {
        (int exit, string text) = lab.TryInLeft("timeout", ["60", "iperf3", "-c", server, "-J", "--connect-timeout", "10000", .. options]);
        Assert.True(exit == 0, $"iperf3 -c {server} {string.Join(' ', options)}: exit {exit}: {text}; netstat: {lab.Ctl("netstat", "-s")}");
        JsonDocument json = JsonDocument.Parse(text);
        Assert.False(json.RootElement.TryGetProperty("error", out JsonElement error), $"iperf3: {error}");
        return json;
    }

    private static string[] Split(string options) => options.Split(' ', StringSplitOptions.RemoveEmptyEntries);

    private static string Rate(JsonElement sum) =>
        string.Create(CultureInfo.InvariantCulture, $"{sum.GetProperty("bits_per_second").GetDouble() / 1e6:0.0} Mbit/s");
}
