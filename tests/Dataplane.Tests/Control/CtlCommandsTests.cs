using System.Text.Json;

namespace Dataplane.Tests.Control;

/// <summary>ctl against a running host on memory ports: what each command prints.</summary>
public sealed class CtlCommandsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("dpctl-").FullName;
    private readonly RunningHost _host;

    public CtlCommandsTests()
    {
        _host = new RunningHost(Path.Combine(_dir, "dp.sock"));
        Assert.True(_host.WaitServing(), _host.Stderr.ToString());
    }

    public void Dispose()
    {
        _host.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private (int Code, string Out, string Err) Ctl(params string[] command) => RunningHost.Ctl(["-s", _host.Socket, .. command]);

    [Fact]
    public void A_port_whose_link_goes_down_and_up_while_running_is_logged_once_each_way_and_counted_in_ifconfig()
    {
        // After the watch's first look (which takes the links as they are), a memory port's link
        // is down while it is stopped (its peer, itself, not started).
        Assert.True(LinuxLab.Until(() => _host.Host.Watch?.Looks > 0, TimeSpan.FromSeconds(30)), "the watch never looked");
        _host.Host.Ports![1].Stop();
        Assert.True(LinuxLab.Until(() => Ctl("ifconfig").Out.Contains("\tstatus: no carrier\n\tlink: 1 down, 0 up\n", StringComparison.Ordinal), TimeSpan.FromSeconds(30)),
            Ctl("ifconfig").Out);
        Assert.Contains("m1: flags=<UP> mtu", Ctl("ifconfig").Out, StringComparison.Ordinal);
        _host.Host.Ports[1].Start();
        Assert.True(LinuxLab.Until(() => Ctl("ifconfig").Out.Contains("\tstatus: active\n\tlink: 1 down, 1 up\n", StringComparison.Ordinal), TimeSpan.FromSeconds(30)),
            Ctl("ifconfig").Out);
        Assert.Contains("\tlink: 0 down, 0 up\n", Ctl("ifconfig").Out, StringComparison.Ordinal); // m0 untouched
        using JsonDocument stats = JsonDocument.Parse(Ctl("stats", "--json").Out);
        Assert.Equal(1, stats.RootElement.GetProperty("errors").GetProperty("port.m1.link_downs").GetInt64());

        Assert.Equal(0, _host.Stop());
        string log = _host.Stderr.ToString();
        Assert.Equal(1, System.Text.RegularExpressions.Regex.Count(log, "dataplane: port m1: link down\n"));
        Assert.Equal(1, System.Text.RegularExpressions.Regex.Count(log, "dataplane: port m1: link up\n"));
        Assert.DoesNotContain("port m0: link", log, StringComparison.Ordinal);
    }

    [Fact]
    public void Ifconfig_shows_every_port_with_its_link_queues_features_and_counters()
    {
        var (code, stdout, stderr) = Ctl("ifconfig");

        Assert.Equal(0, code);
        Assert.Equal("", stderr);
        Assert.Matches(@"(?m)^m0: flags=<UP(,RUNNING)?> mtu \d+$", stdout);
        Assert.Matches(@"(?m)^m1: flags=<UP(,RUNNING)?> mtu \d+$", stdout);
        Assert.Matches(@"(?m)^\tlladdr [0-9a-f]{2}(:[0-9a-f]{2}){5}$", stdout);
        Assert.Contains("\tdriver memory queues 2\n", stdout);
        Assert.Contains("\tdriver memory queues 1\n", stdout);
        Assert.Matches(@"(?m)^\thwfeatures=<[A-Z,]+>$", stdout);
        // A memory port neither segments nor merges: TSO is cut in software, LRO merged in software (set lro is on).
        Assert.Contains("\toffload: tso off (super-frames cut in software), lro on (merged in software)\n", stdout);
        Assert.Matches(@"(?m)^\tstatus: (active|no carrier)$", stdout);
        Assert.Contains("\tqueue 0: rx 0 packets 0 bytes, tx 0 packets 0 bytes, rx drops 0, tx drops 0, errors 0\n", stdout);
        Assert.Contains("\tqueue 1: rx 0 packets", stdout);
        Assert.True(stdout.IndexOf("m0:", StringComparison.Ordinal) < stdout.IndexOf("m1:", StringComparison.Ordinal));
    }

    [Fact]
    public void Netstat_s_names_every_worker_and_port_counter_including_the_zeros()
    {
        var (code, stdout, stderr) = Ctl("netstat", "-s");

        Assert.Equal(0, code);
        Assert.Equal("", stderr);
        Assert.Contains("worker 0 (cpu 0):\n", stdout);
        Assert.Contains("worker 1 (cpu 1):\n", stdout);
        foreach (string counter in new[]
        {
            "packets received from its queues", "packets processed", "packets handed off to the worker of their flow",
            "packets handed in by other workers", "hand-off drops", "packets transmitted", "transmit drops",
            "packets dropped by the processor", "buffer allocations failed (pool exhausted)", "turns of the loop", "sleeps on queue readiness", "capture copies dropped",
        })
            Assert.Matches($@"(?m)^\t\d+ {System.Text.RegularExpressions.Regex.Escape(counter)}", stdout);
        // Then one section per protocol, every counter of it on a line, zeros too.
        foreach (Dataplane.Stack.CounterGroup group in Dataplane.Stack.CounterNames.Groups)
        {
            int at = stdout.IndexOf($"\n{Dataplane.Stack.CounterNames.Heading(group)}:\n", StringComparison.Ordinal);
            Assert.True(at >= 0, $"no {group} section");
            foreach (string text in Dataplane.Stack.CounterNames.Texts(group))
                Assert.Matches($@"(?m)^\t\d+ {System.Text.RegularExpressions.Regex.Escape(text)}$", stdout[at..]);
        }
        Assert.Contains("\n\t0 bad header checksums\n", stdout);
    }

    [Fact]
    public void Stats_json_is_one_valid_object_with_every_counter_under_a_stable_name()
    {
        var (code, stdout, stderr) = Ctl("stats", "--json");

        Assert.Equal(0, code);
        Assert.Equal("", stderr);
        using JsonDocument doc = JsonDocument.Parse(stdout);
        JsonElement ports = doc.RootElement.GetProperty("ports");
        Assert.Equal(2, ports.GetArrayLength());
        JsonElement m0 = ports[0];
        Assert.Equal("m0", m0.GetProperty("name").GetString());
        Assert.Equal("memory", m0.GetProperty("driver").GetString());
        Assert.Matches("^[0-9a-f]{2}(:[0-9a-f]{2}){5}$", m0.GetProperty("mac").GetString());
        Assert.True(m0.GetProperty("mtu").GetInt32() > 0);
        Assert.True(m0.GetProperty("link_up").ValueKind is JsonValueKind.True or JsonValueKind.False);
        Assert.Equal(2, m0.GetProperty("queue_count").GetInt32());
        Assert.Equal(JsonValueKind.Array, m0.GetProperty("capabilities").ValueKind);
        Assert.Equal(2, m0.GetProperty("queues").GetArrayLength());
        JsonElement queue = m0.GetProperty("queues")[1];
        Assert.Equal(1, queue.GetProperty("queue").GetInt32());
        foreach (string name in new[] { "rx_packets", "rx_bytes", "tx_packets", "tx_bytes", "rx_drops", "tx_drops", "errors" })
            Assert.Equal(0, queue.GetProperty(name).GetInt64());
        Assert.Equal("m1", ports[1].GetProperty("name").GetString());

        JsonElement workers = doc.RootElement.GetProperty("workers");
        Assert.Equal(2, workers.GetArrayLength());
        Assert.Equal(1, workers[1].GetProperty("index").GetInt32());
        Assert.Equal(1, workers[1].GetProperty("cpu").GetInt32());
        foreach (string name in new[] { "received", "processed", "handed_off", "handed_in", "hand_off_drops", "transmitted", "transmit_drops", "dropped", "buffer_exhaustion", "loops", "sleeps", "capture_drops" })
            Assert.True(workers[0].GetProperty(name).GetInt64() >= 0, name);

        JsonElement protocols = doc.RootElement.GetProperty("protocols");
        Assert.Equal(0, protocols.GetProperty("ip").GetProperty("bad_checksum").GetInt64());
        Assert.True(protocols.GetProperty("icmp6").GetProperty("dad_probes_sent").GetInt64() >= 0);
        Assert.Equal(Enum.GetValues<Dataplane.Stack.UdpCounter>().Length, protocols.GetProperty("udp").EnumerateObject().Count());

        JsonElement errors = doc.RootElement.GetProperty("errors");
        Assert.Equal(0, errors.GetProperty("ip.bad_checksum").GetInt64());
        Assert.Equal(0, errors.GetProperty("port.m1.tx_drops").GetInt64());
        Assert.True(errors.GetProperty("worker.1.buffer_exhaustion").GetInt64() >= 0);
    }

    [Fact]
    public void A_request_the_server_does_not_know_gets_an_error_reply()
    {
        using var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified);
        socket.Connect(new System.Net.Sockets.UnixDomainSocketEndPoint(_host.Socket));
        socket.Send("reboot now\n"u8);
        socket.Shutdown(System.Net.Sockets.SocketShutdown.Send);
        byte[] buffer = new byte[4096];
        int length = 0, n;
        while ((n = socket.Receive(buffer.AsSpan(length))) > 0)
            length += n;

        Assert.Equal("error\nunknown command 'reboot now'\n", System.Text.Encoding.UTF8.GetString(buffer, 0, length));
    }

    [Fact]
    public void A_request_of_more_than_nine_words_reaches_its_command_word_by_word()
    {
        // The tenth word is the one iperf3's parser rejects; a request cut into at most nine pieces
        // would hand it "-l 100 -J --bogus" as one word and fail on that instead.
        string reply = Raw("iperf3 -c 10.0.0.1 -t 1 -u -b 0 -l 100 -J --bogus\n");

        Assert.Equal("error\niperf3: parameter error - unrecognized option '--bogus'\n", reply);
    }

    private string Raw(string request)
    {
        using var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified);
        socket.Connect(new System.Net.Sockets.UnixDomainSocketEndPoint(_host.Socket));
        socket.Send(System.Text.Encoding.UTF8.GetBytes(request));
        socket.Shutdown(System.Net.Sockets.SocketShutdown.Send);
        byte[] buffer = new byte[4096];
        int length = 0, n;
        while ((n = socket.Receive(buffer.AsSpan(length))) > 0)
            length += n;
        return System.Text.Encoding.UTF8.GetString(buffer, 0, length);
    }

    [Fact]
    public void The_server_answers_one_request_after_another()
    {
        for (int i = 0; i < 5; i++)
            Assert.Equal(0, Ctl(i % 2 == 0 ? ["ifconfig"] : ["stats", "--json"]).Code);
    }
}
