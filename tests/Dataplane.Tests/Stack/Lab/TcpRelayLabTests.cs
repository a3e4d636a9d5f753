using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace Dataplane.Tests.Stack.Lab;

/// <summary>
/// <c>app relay tcp</c> between real Linux peers: a client on the left host connects to the relay
/// on the dataplane's left address, the relay connects on to a server on the right host, and the
/// peers (TcpRelayLab.py, python3's sockets, so Linux's TCP with its defaults) judge what arrives
/// by SHA-256 at both ends. Splice and copy mode each; the streams over both drivers and both
/// families; then a thousand sessions at once, half-closes both ways, a refused connect, a server
/// reset, the idle timeout, the maximum and a far side that went away. Every test ends with the
/// dataplane holding no connection but its listeners and TIME-WAITs (<c>ctl netstat -an</c>).
/// </summary>
[Collection(StackLab.Collection)]
[Trait("Category", "Linux")]
public partial class TcpRelayLabTests(ITestOutputHelper output)
{
    private const int RelayPort = 8001;
    private const int ServerPort = 9001;
    private const int Mi = 1 << 20;

    private static readonly string Script = Path.Combine(AppContext.BaseDirectory, "Stack", "Lab", "TcpRelayLab.py");

    /// <summary>How long a peer may wait for anything: a bound for a loaded machine, not a measure.</summary>
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);

    /// <summary>
    /// The stream matrix: both modes, both families, both drivers, each a client sending a seeded
    /// random stream and a server sending one back at the same time, the SHA-256 of each direction
    /// computed where it was sent and where it arrived. 256 MiB each way runs on one combination per
    /// mode (tap IPv4 splice, afpacket IPv6 copy); the other six move 16 MiB each way: the full
    /// matrix at 256 MiB (512 MiB through the relay and four SHA-256 passes in python per row, on
    /// two cores shared with the dataplane) would add about a minute to <c>./build.sh test</c>, and
    /// what 256 MiB adds over 16 MiB (sequence wrap-around is not reached either way; long runs of
    /// full windows and the splice's buffer accounting) does not depend on the driver or family.
    /// </summary>
    public static TheoryData<LabDriver, LabFamily, string, int> Streams => new()
    {
        { LabDriver.Tap, LabFamily.Ipv4, "splice", 256 },
        { LabDriver.AfPacket, LabFamily.Ipv6, "copy", 256 },
        { LabDriver.Tap, LabFamily.Ipv6, "splice", 16 },
        { LabDriver.AfPacket, LabFamily.Ipv4, "splice", 16 },
        { LabDriver.AfPacket, LabFamily.Ipv6, "splice", 16 },
        { LabDriver.Tap, LabFamily.Ipv4, "copy", 16 },
        { LabDriver.Tap, LabFamily.Ipv6, "copy", 16 },
        { LabDriver.AfPacket, LabFamily.Ipv4, "copy", 16 },
        { LabDriver.AfXdp, LabFamily.Ipv4, "splice", 16 },
        { LabDriver.AfXdp, LabFamily.Ipv6, "copy", 16 },
    };

    [SkippableTheory]
    [MemberData(nameof(Streams))]
    public void A_stream_each_way_arrives_whole_through_the_relay(LabDriver driver, LabFamily family, string mode, int mebibytes)
    {
        using StackLab lab = StackLab.Start(driver, Relay(family, mode));
        long length = (long)mebibytes * Mi;
        LabProcess server = Server(lab, "--send", Number(length), "--seed", "2");
        Dictionary<string, long> before = lab.Counters();
        var clock = System.Diagnostics.Stopwatch.StartNew();

        LabProcess client = Client(lab, family, "--send", Number(length), "--seed", "1");
        // While it runs, the sockets of a splice session show their splices (netstat -an): the
        // client's toward the server, the server's toward the client.
        string? spliceLines = null;
        if (mode == "splice" && mebibytes >= 256)
            spliceLines = WaitForSpliceLines(lab, family, client);

        JsonElement up = Report(client), down = Report(server);
        Dictionary<string, long> after = lab.Counters();
        string moved = StackLab.Moved(before, after);
        output.WriteLine($"{driver} {family} {mode}: {mebibytes} MiB each way in {clock.Elapsed.TotalSeconds:0.0} s; counters moved: {moved}");
        AssertClean(up, "client", moved);
        AssertClean(down, "server", moved);
        Assert.Equal(length, up.GetProperty("sent").GetInt64());
        Assert.Equal(length, down.GetProperty("received").GetInt64());
        Assert.Equal(up.GetProperty("sent_sha").GetString(), down.GetProperty("received_sha").GetString());
        Assert.Equal(length, down.GetProperty("sent").GetInt64());
        Assert.Equal(length, up.GetProperty("received").GetInt64());
        Assert.Equal(down.GetProperty("sent_sha").GetString(), up.GetProperty("received_sha").GetString());
        Assert.Equal(1, after["tcp.relay_sessions"] - before["tcp.relay_sessions"]);
        if (mode == "splice")
        {
            Assert.Equal(2, after["tcp.splices_started"] - before["tcp.splices_started"]);
            Assert.Equal(2 * length, after["tcp.spliced_bytes"] - before["tcp.spliced_bytes"]);
        }
        else
        {
            Assert.Equal(0, after["tcp.splices_started"] - before["tcp.splices_started"]);
        }
        if (spliceLines is not null)
            output.WriteLine(spliceLines);
        AssertNothingLeft(lab);
    }

    /// <summary>
    /// A thousand connections at once through the relay to an echo server on the right host, each
    /// with its own payload of 2 to 6 KiB: every one comes back whole (its SHA-256 checked by the
    /// client), a thousand sessions opened, none failed.
    /// </summary>
    [SkippableTheory]
    [InlineData("splice")]
    [InlineData("copy")]
    public void A_thousand_concurrent_sessions_each_get_their_own_bytes_back(string mode)
    {
        using StackLab lab = StackLab.Start(LabDriver.Tap, Relay(LabFamily.Ipv4, mode));
        EchoServer(lab);
        Dictionary<string, long> before = lab.Counters();
        var clock = System.Diagnostics.Stopwatch.StartNew();

        (int exit, string text) = lab.TryInLeft("timeout", "150", StackLab.Scapy, Script, "many", StackLab.DataplaneLeft, Number(RelayPort), "--count", "1000", "--timeout", "120");

        Dictionary<string, long> after = lab.Counters();
        string moved = StackLab.Moved(before, after);
        output.WriteLine($"{mode}: 1000 sessions in {clock.Elapsed.TotalSeconds:0.0} s: {text}; counters moved: {moved}");
        Assert.True(exit == 0, $"exit {exit}: {text}");
        using JsonDocument json = JsonDocument.Parse(LastLine(text));
        Assert.True(json.RootElement.GetProperty("ok").GetInt32() == 1000, $"{text}; counters moved: {moved}");
        Assert.Equal(1000, after["tcp.relay_sessions"] - before["tcp.relay_sessions"]);
        Assert.Equal(0, after["tcp.relay_connect_failed"] - before["tcp.relay_connect_failed"]);
        AssertNothingLeft(lab);
    }

    /// <summary>
    /// Half-close both ways. The client sends 5 MiB and shuts its sending side down; the server
    /// reads to that end of stream and only then answers 3 MiB, which the client still receives
    /// whole. Then the reverse: the server sends first and shuts down, the client reads to the end
    /// and only then sends, and the server still receives it whole.
    /// </summary>
    [SkippableTheory]
    [InlineData("splice")]
    [InlineData("copy")]
    public void A_half_closed_direction_leaves_the_other_open_both_ways(string mode)
    {
        using StackLab lab = StackLab.Start(LabDriver.Tap, Relay(LabFamily.Ipv4, mode));
        foreach ((string clientOrder, string serverOrder) in new[] { ("send-first", "recv-first"), ("recv-first", "send-first") })
        {
            LabProcess server = Server(lab, "--send", Number(3 * Mi), "--seed", "2", "--order", serverOrder);
            LabProcess client = Client(lab, LabFamily.Ipv4, "--send", Number(5 * Mi), "--seed", "1", "--order", clientOrder);

            JsonElement up = Report(client), down = Report(server);
            output.WriteLine($"{mode}, client {clientOrder}, server {serverOrder}: client {up}, server {down}");
            AssertClean(up, "client", "");
            AssertClean(down, "server", "");
            Assert.Equal(5 * Mi, down.GetProperty("received").GetInt64());
            Assert.Equal(up.GetProperty("sent_sha").GetString(), down.GetProperty("received_sha").GetString());
            Assert.Equal(3 * Mi, up.GetProperty("received").GetInt64());
            Assert.Equal(down.GetProperty("sent_sha").GetString(), up.GetProperty("received_sha").GetString());
        }
        AssertNothingLeft(lab);
    }

    /// <summary>
    /// Nothing listens on the right host's port: Linux refuses the relay's connect with a reset,
    /// and the client, whose connection the relay had accepted, is reset (within the bound), and
    /// the relay counts a connection to the far side failed.
    /// </summary>
    [SkippableTheory]
    [InlineData("splice")]
    [InlineData("copy")]
    public void A_refused_connect_to_the_far_side_resets_the_client(string mode)
    {
        using StackLab lab = StackLab.Start(LabDriver.Tap, Relay(LabFamily.Ipv4, mode));
        Dictionary<string, long> before = lab.Counters();

        JsonElement up = Report(Client(lab, LabFamily.Ipv4, "--order", "recv-first", "--timeout", "30"));

        Dictionary<string, long> after = lab.Counters();
        string moved = StackLab.Moved(before, after);
        output.WriteLine($"{mode}: client {up}; counters moved: {moved}");
        Assert.True(up.GetProperty("error").GetString() == "reset", $"client {up}; counters moved: {moved}");
        Assert.Equal(1, after["tcp.relay_connect_failed"] - before["tcp.relay_connect_failed"]);
        AssertNothingLeft(lab);
    }

    /// <summary>
    /// The server resets its connection (SO_LINGER 0) a mebibyte into a 64 MiB stream from the
    /// client: the client is reset, long before its stream is through.
    /// </summary>
    [SkippableTheory]
    [InlineData("splice")]
    [InlineData("copy")]
    public void A_server_reset_mid_stream_resets_the_client(string mode)
    {
        using StackLab lab = StackLab.Start(LabDriver.Tap, Relay(LabFamily.Ipv4, mode));
        LabProcess server = Server(lab, "--order", "recv-first", "--reset-after", Number(Mi));

        JsonElement up = Report(Client(lab, LabFamily.Ipv4, "--send", Number(64 * Mi)));

        JsonElement down = Report(server);
        output.WriteLine($"{mode}: client {up}, server {down}");
        Assert.Equal("we reset", down.GetProperty("error").GetString());
        Assert.True(up.GetProperty("error").GetString() == "reset", $"client {up}");
        Assert.True(up.GetProperty("sent").GetInt64() < 64 * Mi, $"the client sent its whole stream: {up}");
        AssertNothingLeft(lab);
    }

    /// <summary>
    /// <c>idle 2</c>: a session in which nothing moves after its first five bytes is reset on both
    /// sides, 2 s after the last move (at least 1.5 s: the sweep's granularity; at most 15 s, a
    /// bound for a loaded machine), counted once; a session beside it that moves 100 bytes each way
    /// every 0.3 s for 4.2 s (twice the timeout) is not, and its bytes come back whole. netstat
    /// shows the splices' idle timeout.
    /// </summary>
    [SkippableTheory]
    [InlineData("splice")]
    [InlineData("copy")]
    public void An_idle_session_is_reset_on_both_sides_and_a_moving_one_is_not(string mode)
    {
        const int EchoPort = 9002;
        using StackLab lab = StackLab.Start(LabDriver.Tap, Relay(LabFamily.Ipv4, mode, "idle 2") + "\n" +
            $"app relay tcp listen {StackLab.DataplaneLeft}:8002 connect {StackLab.RightHost}:{EchoPort} mode {mode} idle 2");
        EchoServer(lab, EchoPort);
        LabProcess server = Server(lab, "--order", "recv-first", "--timeout", "60");
        Dictionary<string, long> before = lab.Counters();

        LabProcess idle = Client(lab, LabFamily.Ipv4, "--send", "5", "--order", "send-first", "--no-shutdown", "--timeout", "60");
        LabProcess moving = lab.StartInLeft("timeout", "90", StackLab.Scapy, Script, "trickle", StackLab.DataplaneLeft, "8002", "--count", "14", "--interval", "0.3", "--timeout", "60");
        string? netstat = null;
        if (mode == "splice")
        {
            Assert.True(LinuxLab.Until(() => IdleSplice().IsMatch(netstat = lab.Ctl("netstat", "-an")) || idle.HasExited, Patience),
                "no splice line with idle 2s");
        }

        JsonElement up = Report(idle), down = Report(server), trickle = Report(moving);
        Dictionary<string, long> after = lab.Counters();
        string moved = StackLab.Moved(before, after);
        output.WriteLine($"{mode}: idle client {up}, its server {down}, moving client {trickle}; counters moved: {moved}");
        if (netstat is not null)
            output.WriteLine(netstat);
        Assert.True(up.GetProperty("error").GetString() == "reset", $"the idle client was not reset: {up}; counters moved: {moved}");
        Assert.True(down.GetProperty("error").GetString() == "reset", $"the idle server was not reset: {down}; counters moved: {moved}");
        Assert.Equal(5, down.GetProperty("received").GetInt64());
        double quiet = up.GetProperty("error_at").GetDouble() - up.GetProperty("last_move").GetDouble();
        Assert.InRange(quiet, 1.5, 15);
        Assert.True(trickle.GetProperty("error").ValueKind == JsonValueKind.Null, $"the moving session ended with {trickle}; counters moved: {moved}");
        Assert.Equal(1400, trickle.GetProperty("received").GetInt64());
        Assert.Equal(trickle.GetProperty("sent_sha").GetString(), trickle.GetProperty("received_sha").GetString());
        Assert.Equal(1, after["tcp.relay_idle_closed"] - before["tcp.relay_idle_closed"]);
        if (mode == "splice")
            Assert.Matches(IdleSplice(), netstat);
        AssertNothingLeft(lab);
    }

    /// <summary>
    /// <c>max 1000003</c>: the client sends 1,200,000 bytes, and the server receives exactly the
    /// first 1,000,003 of them (their SHA-256 is that of the client's first 1,000,003) and then end
    /// of stream. How the client's connection ends is left open: the rest of its bytes wait unread
    /// in the relay; today its connection closes with a FIN once both sides are done (the server's
    /// 1,000-byte answer reaches it), which a reset for the unread bytes (RFC 2525 2.17) would change.
    /// </summary>
    [SkippableTheory]
    [InlineData("splice")]
    [InlineData("copy")]
    public void The_server_receives_exactly_the_maximum_and_then_end_of_stream(string mode)
    {
        const int Max = 1_000_003;
        using StackLab lab = StackLab.Start(LabDriver.Tap, Relay(LabFamily.Ipv4, mode, $"max {Max}"));
        LabProcess server = Server(lab, "--order", "recv-first", "--send", "1000", "--timeout", "60");
        Dictionary<string, long> before = lab.Counters();

        JsonElement up = Report(Client(lab, LabFamily.Ipv4, "--send", "1200000", "--prefix", Number(Max), "--timeout", "60"));

        JsonElement down = Report(server);
        Dictionary<string, long> after = lab.Counters();
        string moved = StackLab.Moved(before, after);
        output.WriteLine($"{mode}: client {up}, server {down}; counters moved: {moved}");
        AssertClean(down, "server", moved);
        Assert.Equal(Max, down.GetProperty("received").GetInt64());
        Assert.Equal(up.GetProperty("prefix_sha").GetString(), down.GetProperty("received_sha").GetString());
        if (mode == "splice")
            Assert.Equal(1, after["tcp.splice_maximum"] - before["tcp.splice_maximum"]);
        AssertNothingLeft(lab);
    }

    /// <summary>
    /// The far side is gone: the right host's addresses are removed before the client connects,
    /// so the relay's SYNs reach a host that drops them without a word (forwarding is off there:
    /// no ICMP). Left alone the relay's connect gives up when its SYN retransmissions run out,
    /// after 127 s, too long for a test; with <c>idle 2</c> the session, in which nothing moves,
    /// is reset after 2 s (within 15 s on a loaded machine), and the client with it. Deterministic:
    /// no ICMP whose arrival or rate limit could decide it.
    /// </summary>
    [SkippableTheory]
    [InlineData("splice")]
    [InlineData("copy")]
    public void A_relay_whose_far_side_is_gone_resets_the_client_at_the_idle_timeout(string mode)
    {
        using StackLab lab = StackLab.Start(LabDriver.Tap, Relay(LabFamily.Ipv4, mode, "idle 2"));
        LinuxLab.Run("ip", "-n", lab.Right, "addr", "del", $"{StackLab.RightHost}/24", "dev", lab.RightLink);
        LinuxLab.Run("ip", "-n", lab.Right, "addr", "del", $"{StackLab.RightHost6}/64", "dev", lab.RightLink);
        Dictionary<string, long> before = lab.Counters();
        var clock = System.Diagnostics.Stopwatch.StartNew();

        JsonElement up = Report(Client(lab, LabFamily.Ipv4, "--order", "recv-first", "--timeout", "60"));

        Dictionary<string, long> after = lab.Counters();
        string moved = StackLab.Moved(before, after);
        output.WriteLine($"{mode}: client {up} after {clock.Elapsed.TotalSeconds:0.0} s; counters moved: {moved}");
        Assert.True(up.GetProperty("error").GetString() == "reset", $"client {up}; counters moved: {moved}");
        Assert.InRange(clock.Elapsed.TotalSeconds, 1.5, 15);
        Assert.Equal(1, after["tcp.relay_idle_closed"] - before["tcp.relay_idle_closed"]);
        AssertNothingLeft(lab);
    }

    /// <summary>A relay on the dataplane's left address, port 8001, to the right host's port 9001, in <paramref name="family"/>.</summary>
    private static string Relay(LabFamily family, string mode, string options = "") => family == LabFamily.Ipv4
        ? $"app relay tcp listen {StackLab.DataplaneLeft}:{RelayPort} connect {StackLab.RightHost}:{ServerPort} mode {mode} {options}".TrimEnd()
        : $"app relay tcp listen [{StackLab.DataplaneLeft6}]:{RelayPort} connect [{StackLab.RightHost6}]:{ServerPort} mode {mode} {options}".TrimEnd();

    /// <summary>Starts one <c>stream --listen</c> server on the right host (it takes one connection) and waits until it listens.</summary>
    private static LabProcess Server(StackLab lab, params string[] args)
    {
        LabProcess server = lab.StartInRight("timeout", ["300", StackLab.Scapy, Script, "stream", "--listen", Number(ServerPort), .. args]);
        server.WaitForOutput("listening", TimeSpan.FromSeconds(60));
        return server;
    }

    /// <summary>Starts the echo server on the right host and waits until it listens.</summary>
    private static void EchoServer(StackLab lab, int port = ServerPort) =>
        lab.StartInRight(StackLab.Scapy, Script, "echo-server", Number(port)).WaitForOutput("listening", TimeSpan.FromSeconds(60));

    /// <summary>Starts one <c>stream --connect</c> client on the left host toward the relay.</summary>
    private static LabProcess Client(StackLab lab, LabFamily family, params string[] args) =>
        lab.StartInLeft("timeout", ["300", StackLab.Scapy, Script, "stream", "--connect", StackLab.Address(family, StackLab.DataplaneLeft, StackLab.DataplaneLeft6), Number(RelayPort), .. args]);

    /// <summary>Waits for a peer to end (bounded) and returns its JSON report.</summary>
    private static JsonElement Report(LabProcess peer)
    {
        int exit = peer.WaitForExit(TimeSpan.FromSeconds(310));
        Assert.True(exit == 0, $"{peer.CommandLine}: exit {exit}: {peer.AllOutput}");
        using JsonDocument json = JsonDocument.Parse(LastLine(peer.Output));
        return json.RootElement.Clone();
    }

    private static void AssertClean(JsonElement report, string who, string moved) =>
        Assert.True(report.GetProperty("error").ValueKind == JsonValueKind.Null && report.GetProperty("eof_at").ValueKind != JsonValueKind.Null,
            $"the {who} did not end cleanly: {report}; counters moved: {moved}");

    /// <summary>Polls <c>ctl netstat -an</c> while <paramref name="client"/> runs until both splices of its session show; their lines.</summary>
    private static string WaitForSpliceLines(StackLab lab, LabFamily family, LabProcess client)
    {
        string local = StackLab.Address(family, StackLab.DataplaneLeft, StackLab.DataplaneLeft6);
        string right = StackLab.Address(family, StackLab.DataplaneRight, StackLab.DataplaneRight6);
        string server = StackLab.Address(family, StackLab.RightHost, StackLab.RightHost6);
        var toServer = new Regex($@"(?m)^ +splice to {Regex.Escape(right)}\.\d+ {Regex.Escape(server)}\.{ServerPort} moved \d+ max - idle -$");
        var toClient = new Regex($@"(?m)^ +splice to {Regex.Escape(local)}\.{RelayPort} {Regex.Escape(StackLab.Address(family, StackLab.LeftHost, StackLab.LeftHost6))}\.\d+ moved \d+ max - idle -$");
        string netstat = "";
        Assert.True(LinuxLab.Until(() => (toServer.IsMatch(netstat = lab.Ctl("netstat", "-an")) && toClient.IsMatch(netstat)) || client.HasExited, Patience),
            $"no splice lines within {Patience.TotalSeconds} s: {netstat}");
        Assert.True(toServer.IsMatch(netstat) && toClient.IsMatch(netstat), $"the transfer ended before netstat showed both splices: {netstat}");
        return netstat;
    }

    /// <summary>Waits (bounded) until the dataplane holds no TCP socket but its listeners and TIME-WAITs, and no splice.</summary>
    private static void AssertNothingLeft(StackLab lab)
    {
        string netstat = "";
        bool clean = LinuxLab.Until(() => !Leftover().IsMatch(netstat = lab.Ctl("netstat", "-an")), TimeSpan.FromSeconds(30));
        Assert.True(clean, $"connections left on the dataplane 30 s after the test: {netstat}");
        lab.AssertAlive();
    }

    /// <summary>The idle session's splice toward the server, with its idle timeout.</summary>
    [GeneratedRegex(@"(?m)^ +splice to 10\.10\.12\.3\.\d+ 10\.10\.12\.4\.9001 moved \d+ max - idle 2s$")]
    private static partial Regex IdleSplice();

    [GeneratedRegex(@"(?m)^tcp6? .*(SYN_SENT|SYN_RCVD|ESTABLISHED|FIN_WAIT_1|FIN_WAIT_2|CLOSE_WAIT|CLOSING|LAST_ACK|CLOSED)|^ +splice to")]
    private static partial Regex Leftover();

    private static string LastLine(string text) => text.TrimEnd().Split('\n')[^1];

    private static string Number(long n) => n.ToString(CultureInfo.InvariantCulture);
}
