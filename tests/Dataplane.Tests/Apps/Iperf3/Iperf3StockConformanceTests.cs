using System.Globalization;
using System.Net.Sockets;
using System.Text.Json;
using Dataplane.Stack.Apps.Iperf3;
using Xunit.Abstractions;

namespace Dataplane.Tests.Apps.Iperf3;

/// <summary>
/// The sessions against stock iperf3 (3.12, /usr/bin/iperf3) over loopback sockets, driven by
/// <see cref="Iperf3SocketHost"/>: a stock client against this server, and this client against a
/// stock server (-s -1). Each test is bounded (-t 1, a 60 s limit for the process, killed by its pid
/// when it overruns) and skipped where iperf3 is not installed. Filter: Category=Iperf3Stock.
/// </summary>
[Trait("Category", "Iperf3Stock")]
[Collection(nameof(Iperf3StockConformanceTests))]
public class Iperf3StockConformanceTests(ITestOutputHelper output)
{
    private const string Iperf3 = "/usr/bin/iperf3";
    private static readonly TimeSpan ProcessLimit = TimeSpan.FromSeconds(60);

    private static void SkipWithoutIperf3() => Skip.IfNot(File.Exists(Iperf3), "iperf3 is not installed");

    /// <summary>Runs a stock client against this server; the client's -J document and the server's session.</summary>
    private (JsonDocument Client, Iperf3ServerSession Server) StockClient(params string[] args)
    {
        SkipWithoutIperf3();
        (Socket listener, Socket udp) = Iperf3SocketHost.OpenServerPort();
        using (listener)
        using (udp)
        {
            int port = ((System.Net.IPEndPoint)listener.LocalEndPoint!).Port;
            Iperf3ServerSession? session = null;
            var server = new Thread(() => session = Iperf3SocketHost.Serve(listener, udp, ProcessLimit)) { IsBackground = true };
            server.Start();
            using var client = new LabProcess(Iperf3, ["-c", "127.0.0.1", "-p", port.ToString(CultureInfo.InvariantCulture), "-J", .. args]);
            int exit = client.WaitForExit(ProcessLimit);
            Assert.True(server.Join(ProcessLimit), "the server session did not finish");
            output.WriteLine($"iperf3 {string.Join(' ', args)}: exit {exit}\n{client.Error}");
            Assert.True(exit == 0, $"stock iperf3 client exited {exit}: {client.AllOutput}");
            Assert.NotNull(session);
            Assert.True(session!.Error is null, $"server session: {session.Error}");
            return (JsonDocument.Parse(client.Output), session);
        }
    }

    private static long Sum(JsonDocument d, string name, string field = "bytes") =>
        d.RootElement.GetProperty("end").GetProperty(name).GetProperty(field).GetInt64();

    private static long Counted(Iperf3ServerSession s, bool senders) =>
        s.Streams.Where(x => x.IsSender == senders).Sum(x => x.Bytes - x.OmittedBytes);

    [SkippableFact]
    public void Stock_client_tcp_1s_receives_exit_0_and_reports_the_bytes_this_server_counted()
    {
        (JsonDocument client, Iperf3ServerSession server) = StockClient("-t", "1");
        using (client)
        {
            Assert.Equal(Counted(server, false), Sum(client, "sum_received"));
            Assert.True(Counted(server, false) > 0);
            Assert.Equal(Sum(client, "sum_sent"), server.ClientResults!.Streams.Sum(x => x.Bytes));
        }
    }

    [SkippableFact]
    public void Stock_client_bytes_1M_ends_after_a_megabyte_and_reports_this_server_count()
    {
        (JsonDocument client, Iperf3ServerSession server) = StockClient("-n", "1M");
        using (client)
        {
            Assert.True(Sum(client, "sum_sent") >= 1 << 20);
            Assert.Equal(Counted(server, false), Sum(client, "sum_received"));
        }
    }

    [SkippableFact]
    public void Stock_client_three_parallel_streams_sum_to_this_server_count()
    {
        (JsonDocument client, Iperf3ServerSession server) = StockClient("-t", "1", "-P", "3");
        using (client)
        {
            Assert.Equal(3, server.Streams.Count);
            Assert.Equal([1, 3, 4], server.Streams.Select(s => s.Id));
            Assert.Equal(Counted(server, false), Sum(client, "sum_received"));
            Assert.Equal(3, client.RootElement.GetProperty("end").GetProperty("streams").GetArrayLength());
        }
    }

    [SkippableFact]
    public void Stock_client_reverse_receives_what_this_server_sent()
    {
        (JsonDocument client, Iperf3ServerSession server) = StockClient("-t", "1", "-R");
        using (client)
        {
            Assert.All(server.Streams, s => Assert.True(s.IsSender));
            Assert.True(Counted(server, true) > 0);
            Assert.Equal(Counted(server, true), Sum(client, "sum_sent"));
            Assert.Equal(Sum(client, "sum_received"), server.ClientResults!.Streams.Sum(x => x.Bytes));
        }
    }

    [SkippableFact]
    public void Stock_client_bidir_counts_both_directions_as_this_server_did()
    {
        (JsonDocument client, Iperf3ServerSession server) = StockClient("-t", "1", "--bidir");
        using (client)
        {
            Assert.Equal(2, server.Streams.Count);
            Assert.False(server.Streams[0].IsSender);
            Assert.True(server.Streams[1].IsSender);
            Assert.Equal(Counted(server, false), Sum(client, "sum_received"));
            Assert.Equal(Counted(server, true), Sum(client, "sum_sent_bidir_reverse"));
        }
    }

    [SkippableFact]
    public void Stock_client_udp_10M_reports_this_server_bytes_packets_and_loss()
    {
        (JsonDocument client, Iperf3ServerSession server) = StockClient("-t", "1", "-u", "-b", "10M");
        using (client)
        {
            Iperf3Stream s = Assert.Single(server.Streams);
            Assert.True(s.PacketCount > 0);
            Assert.Equal(s.Bytes, Sum(client, "sum_received"));
            Assert.Equal(s.Errors, Sum(client, "sum_received", "lost_packets"));
            Assert.Equal(s.PacketCount, Sum(client, "sum_received", "packets"));
        }
    }

    [SkippableFact]
    public void Stock_client_is_refused_while_this_server_runs_a_test()
    {
        SkipWithoutIperf3();
        (Socket listener, Socket udp) = Iperf3SocketHost.OpenServerPort();
        using (listener)
        using (udp)
        {
            string port = ((System.Net.IPEndPoint)listener.LocalEndPoint!).Port.ToString(CultureInfo.InvariantCulture);
            string? secondOutput = null;
            int secondExit = -1;
            Iperf3ServerSession? session = null;
            var server = new Thread(() => session = Iperf3SocketHost.Serve(listener, udp, ProcessLimit, onRunning: () =>
            {
                // Started on its own thread: the server must keep serving while it connects.
                new Thread(() =>
                {
                    using var second = new LabProcess(Iperf3, ["-c", "127.0.0.1", "-p", port, "-t", "1"]);
                    secondExit = second.WaitForExit(ProcessLimit);
                    secondOutput = second.AllOutput;
                }) { IsBackground = true }.Start();
            })) { IsBackground = true };
            server.Start();
            using var first = new LabProcess(Iperf3, ["-c", "127.0.0.1", "-p", port, "-t", "2"]);
            Assert.Equal(0, first.WaitForExit(ProcessLimit));
            Assert.True(server.Join(ProcessLimit));
            SpinWait.SpinUntil(() => secondOutput is not null, ProcessLimit);
            output.WriteLine(secondOutput);
            Assert.Equal(1, secondExit);
            Assert.Contains("the server is busy running a test", secondOutput, StringComparison.Ordinal);
            Assert.Null(session!.Error);
        }
    }

    /// <summary>Runs this client against a stock server -s -1 -J; the server's document and the client session.</summary>
    private (JsonDocument Server, Iperf3ClientSession Client, string Summary) StockServer(params string[] args)
    {
        SkipWithoutIperf3();
        int port = Iperf3SocketHost.FreePort();
        using var server = new LabProcess(Iperf3, ["-s", "-1", "-J", "-p", port.ToString(CultureInfo.InvariantCulture)]);
        Assert.True(SpinWait.SpinUntil(() => IsListening(port) || server.HasExited, TimeSpan.FromSeconds(20)), "stock server not listening");
        Iperf3ClientOptions? options = Iperf3ClientOptions.Parse(["-c", "127.0.0.1", "-p", port.ToString(CultureInfo.InvariantCulture), .. args], out string? error);
        Assert.True(options is not null, error);
        var session = new Iperf3ClientSession(options!.Parameters);
        Iperf3SocketHost.RunClient(session, port, ProcessLimit);
        int exit = server.WaitForExit(ProcessLimit);
        string summary = Iperf3Report.FormatSummary(session);
        output.WriteLine(summary);
        output.WriteLine(server.Error);
        Assert.True(session.Error is null, $"client session: {session.Error}");
        Assert.True(exit == 0, $"stock iperf3 server exited {exit}: {server.AllOutput}");
        return (JsonDocument.Parse(server.Output), session, summary);
    }

    /// <summary>Whether a socket listens on the loopback TCP port (read from /proc, so as not to spend the one-off server's test on a probe).</summary>
    private static bool IsListening(int port)
    {
        string hex = ":" + port.ToString("X4", CultureInfo.InvariantCulture);
        return File.ReadLines("/proc/net/tcp").Concat(File.ReadLines("/proc/net/tcp6"))
            .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Any(f => f.Length > 3 && f[1].EndsWith(hex, StringComparison.Ordinal) && f[3] == "0A");
    }

    private static void AssertLine(string summary, long bytes, string side) =>
        Assert.Contains(summary.Split('\n'), l => l.EndsWith(side, StringComparison.Ordinal) && l.Contains($"{Iperf3Format.Unit(bytes, 'A')}s", StringComparison.Ordinal));

    [SkippableFact]
    public void This_client_tcp_against_stock_server_exit_0_and_the_summary_shows_its_counts()
    {
        (JsonDocument server, Iperf3ClientSession client, string summary) = StockServer("-t", "1");
        using (server)
        {
            // The stock server prints its report at TEST_END, before the results exchange: its
            // document holds its own side (sum_received) and 0 for the client's.
            long sent = client.Streams.Sum(s => s.Bytes);
            long received = Sum(server, "sum_received");
            Assert.True(sent > 0 && received > 0 && received <= sent);
            Assert.Equal(received, client.Streams.Sum(s => s.Peer!.Bytes));
            AssertLine(summary, sent, "sender");
            AssertLine(summary, received, "receiver");
            Assert.EndsWith("\niperf Done.\n", summary, StringComparison.Ordinal);
        }
    }

    [SkippableFact]
    public void This_client_reverse_against_stock_server_counts_what_it_sent()
    {
        (JsonDocument server, Iperf3ClientSession client, string summary) = StockServer("-t", "1", "-R");
        using (server)
        {
            long received = client.Streams.Sum(s => s.Bytes);
            Assert.True(received > 0);
            Assert.True(received <= Sum(server, "sum_sent"));
            Assert.Equal(Sum(server, "sum_sent"), client.Streams.Sum(s => s.Peer!.Bytes));
            AssertLine(summary, Sum(server, "sum_sent"), "sender");
            AssertLine(summary, received, "receiver");
        }
    }

    [SkippableFact]
    public void This_client_udp_against_stock_server_agrees_on_bytes_and_datagrams()
    {
        (JsonDocument server, Iperf3ClientSession client, string summary) = StockServer("-t", "1", "-u", "-b", "10M");
        using (server)
        {
            Iperf3Stream s = Assert.Single(client.Streams);
            Assert.True(s.PacketCount > 0);
            Assert.Equal(s.Peer!.Bytes, Sum(server, "sum_received"));
            Assert.Equal(s.Peer.Packets, Sum(server, "sum_received", "packets"));
            Assert.Equal(s.Peer.Errors, Sum(server, "sum_received", "lost_packets"));
            Assert.Contains($"{s.Peer.Errors}/{s.Peer.Packets} (", summary, StringComparison.Ordinal);
        }
    }
}
