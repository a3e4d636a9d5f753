using Dataplane.Conformance.Labs;

namespace Dataplane.Conformance.Cases;

/// <summary>
/// Every test of the matrix, for IPv4 and IPv6: icmp (ping flood through and to the system under
/// test), tcp and udp iperf3 in the roles forward, splice, copy, receive and send, UDP relays
/// (splice, copy) with empty, MTU-sized and two-fragment datagrams from 10 senders, UDP echo, and
/// multicast receive and send. The hosts along the path start each name: <c>linux-dataplane-linux</c>
/// is through the system under test, <c>linux-dataplane</c> ends at it, <c>dataplane-linux</c> starts there.
/// </summary>
public static class Catalog
{
    /// <summary>
    /// The tests <c>./build.sh test</c> runs as the quick subset: one of each kind the dataplane has
    /// (its iperf3 app as the server and <c>ctl iperf3</c> as the client among them), and one it lacks.
    /// </summary>
    public static readonly string[] Quick =
    [
        "linux-dataplane-linux-icmp4ping-flood",
        "linux-dataplane-icmp6ping-flood",
        "linux-dataplane-linux-tcp6iperf-single-forward",
        "linux-dataplane-linux-udp4splice-mtu",
        "linux-dataplane-linux-udp6echo-copy",
        "linux-dataplane-udp4echo-receive",
        "linux-dataplane-tcp4iperf-single-receive",
        "dataplane-linux-tcp6iperf-single-send",
        "linux-dataplane-linux-tcp4iperf-single-splice",
    ];

    /// <summary>Every test, in the order of the results page.</summary>
    public static IReadOnlyList<TestCase> All => s_all.Value;

    // Lazy: the tables the builders read are static fields further down.
    private static readonly Lazy<List<TestCase>> s_all = new(Build);

    private static List<TestCase> Build()
    {
        var cases = new List<TestCase>();
        foreach (int f in (int[])[4, 6])
            cases.AddRange(Icmp(f));
        foreach (int f in (int[])[4, 6])
            cases.AddRange(TcpIperf(f));
        foreach (int f in (int[])[4, 6])
            cases.AddRange(UdpIperf(f));
        foreach (int f in (int[])[4, 6])
            cases.AddRange(UdpRelay(f));
        foreach (int f in (int[])[4, 6])
            cases.AddRange(UdpEcho(f));
        foreach (int f in (int[])[4, 6])
            cases.AddRange(Multicast(f));
        return cases;
    }

    private static int Limit(int seconds) => Math.Max(30, seconds + 20);

    private static string Ip(int f) => $"IPv{f}";

    private static int IpHeader(int f) => f == 4 ? 20 : 40;

    /// <summary>The UDP payload that fills a 1500-byte packet.</summary>
    private static int MtuPayload(int f) => 1500 - IpHeader(f) - 8;

    // --- icmp -----------------------------------------------------------------------------------

    private static IEnumerable<TestCase> Icmp(int f)
    {
        // ping -f: the next request goes as soon as the reply is in; 1000 per second of test length,
        // 10000 (OpenBSD's count) at the default 10 s.
        static string Ping(PlanContext c, int f, string to) =>
            $"exec {c.Tool("ping")} -{f} -n -q -f -c {Math.Min(10000, c.Seconds * 1000)} -w {Limit(c.Seconds) - 5} {to}";
        int ipBytes = IpHeader(f) + 8 + 56;

        yield return new TestCase($"linux-dataplane-linux-icmp{f}ping-flood", $"{Ip(f)} ICMP forward, ping -f",
            [Feature.Forwarding], ThroughSut: true, Limit,
            c => new Plan([], Place.Left, Ping(c, f, c.Address("right", f)), (o, _) => Parsers.Ping(o, ipBytes)));
        yield return new TestCase($"linux-dataplane-icmp{f}ping-flood", $"{Ip(f)} ICMP receive, ping -f to the system under test",
            [Feature.IcmpEcho], ThroughSut: false, Limit,
            c => new Plan([], Place.Left, Ping(c, f, c.Address("sutleft", f)), (o, _) => Parsers.Ping(o, ipBytes)));
    }

    // --- tcp iperf3 -----------------------------------------------------------------------------

    private static readonly (string Name, string Options, string Text)[] Streams =
    [
        ("single", "", "1 stream"),
        ("parallel", " -P15 -w200k", "15 streams"),
    ];

    private static string Iperf3Server(PlanContext c, int f, string bind) =>
        $"exec {c.Tool("iperf3")} -s -{f} -B {c.Address(bind, f)} -p {Services.Iperf3}";

    private static string Iperf3Client(PlanContext c, int f, string to, int port, string options, string? program = null) =>
        $"exec {program ?? c.Tool("iperf3")} -{f} -c {c.Address(to, f)} -p {port} -t {c.Seconds} -J{options}";

    /// <summary>
    /// The iperf3 server on the system under test's left address: Linux's <c>iperf3 -s</c>, or none
    /// for the dataplane, whose config has <c>app iperf3 listen</c> there (<see cref="Services.DataplaneConfig"/>).
    /// </summary>
    private static Server[] SutIperf3Server(PlanContext c, int f) =>
        c.Sut == SutKind.Dataplane ? [] : [new Server(Place.Sut, Iperf3Server(c, f, "sutleft"), ListenPort: $"tcp:{Services.Iperf3}")];

    /// <summary>
    /// The iperf3 client on the system under test toward the right host: Linux's iperf3, or the
    /// dataplane's <c>ctl iperf3</c>, which takes the same options and writes the same JSON.
    /// </summary>
    private static string SutIperf3Client(PlanContext c, int f, string options) =>
        Iperf3Client(c, f, "right", Services.Iperf3, options, c.Sut == SutKind.Dataplane
            ? $"{c.Ctl ?? throw new InvalidOperationException("a plan for the dataplane needs its ctl command")} iperf3"
            : null);

    private static IEnumerable<TestCase> TcpIperf(int f)
    {
        string listen = $"tcp:{Services.Iperf3}";
        foreach ((string streams, string options, string text) in Streams)
        {
            yield return new TestCase($"linux-dataplane-linux-tcp{f}iperf-{streams}-forward", $"{Ip(f)} TCP forward, iperf3, {text}",
                [Feature.Forwarding], ThroughSut: true, Limit,
                c => new Plan([new Server(Place.Right, Iperf3Server(c, f, "right"), ListenPort: listen)],
                    Place.Left, Iperf3Client(c, f, "right", Services.Iperf3, options), (o, _) => Parsers.Iperf3(o, udp: false)));

            foreach (string mode in (string[])["splice", "copy"])
            {
                int relay = mode == "copy" ? Services.TcpRelayCopy : Services.TcpRelaySplice;
                yield return new TestCase($"linux-dataplane-linux-tcp{f}iperf-{streams}-{mode}",
                    $"{Ip(f)} TCP {mode} relay, iperf3, {text}",
                    [Feature.Tcp, Feature.TcpRelay], ThroughSut: false, Limit,
                    c => new Plan(
                        c.Sut == SutKind.Linux
                            ? [
                                new Server(Place.Right, Iperf3Server(c, f, "right"), ListenPort: listen),
                                // Linux's relay: socat, one process per connection (Linux has no socket splicing).
                                new Server(Place.Sut, $"exec {c.Tool("socat")} TCP{f}-LISTEN:{relay},bind={Bracket(c.Address("sutleft", f), f)},fork,reuseaddr " +
                                    $"TCP{f}:{Bracket(c.Address("right", f), f)}:{Services.Iperf3}", ListenPort: $"tcp:{relay}"),
                            ]
                            // The dataplane's relay is its config's app relay tcp (Services.cs).
                            : [new Server(Place.Right, Iperf3Server(c, f, "right"), ListenPort: listen)],
                        Place.Left, Iperf3Client(c, f, "sutleft", relay, options), (o, _) => Parsers.Iperf3(o, udp: false)));
            }

            yield return new TestCase($"linux-dataplane-tcp{f}iperf-{streams}-receive", $"{Ip(f)} TCP receive, iperf3 server on the system under test, {text}",
                [Feature.Tcp, Feature.Iperf3], ThroughSut: false, Limit,
                c => new Plan(SutIperf3Server(c, f),
                    Place.Left, Iperf3Client(c, f, "sutleft", Services.Iperf3, options), (o, _) => Parsers.Iperf3(o, udp: false)));
            yield return new TestCase($"dataplane-linux-tcp{f}iperf-{streams}-send", $"{Ip(f)} TCP send, iperf3 client on the system under test, {text}",
                [Feature.Tcp, Feature.Iperf3], ThroughSut: false, Limit,
                c => new Plan([new Server(Place.Right, Iperf3Server(c, f, "right"), ListenPort: listen)],
                    Place.Sut, SutIperf3Client(c, f, options), (o, _) => Parsers.Iperf3(o, udp: false)));
        }
    }

    private static string Bracket(string address, int f) => f == 6 ? $"[{address}]" : address;

    // --- udp iperf3 -----------------------------------------------------------------------------

    private static IEnumerable<TestCase> UdpIperf(int f)
    {
        string listen = $"tcp:{Services.Iperf3}";
        // As fast as the sender can (-b 0), datagrams that fill a 1500-byte packet.
        string Udp(string streams) => $" -u -b 0 -l {MtuPayload(f)}{(streams == "parallel" ? " -P10" : "")}";
        foreach (string streams in (string[])["single", "parallel"])
        {
            yield return new TestCase($"linux-dataplane-linux-udp{f}iperf-{streams}-forward",
                $"{Ip(f)} UDP forward, iperf3, {(streams == "single" ? "1 stream" : "10 streams")}, MTU-sized",
                [Feature.Forwarding], ThroughSut: true, Limit,
                c => new Plan([new Server(Place.Right, Iperf3Server(c, f, "right"), ListenPort: listen)],
                    Place.Left, Iperf3Client(c, f, "right", Services.Iperf3, Udp(streams)), (o, _) => Parsers.Iperf3(o, udp: true)));
        }
        yield return new TestCase($"linux-dataplane-udp{f}iperf-single-receive", $"{Ip(f)} UDP receive, iperf3 server on the system under test",
            [Feature.Tcp, Feature.Iperf3], ThroughSut: false, Limit,
            c => new Plan(SutIperf3Server(c, f),
                Place.Left, Iperf3Client(c, f, "sutleft", Services.Iperf3, Udp("single")), (o, _) => Parsers.Iperf3(o, udp: true)));
        yield return new TestCase($"dataplane-linux-udp{f}iperf-single-send", $"{Ip(f)} UDP send, iperf3 client on the system under test",
            [Feature.Tcp, Feature.Iperf3], ThroughSut: false, Limit,
            c => new Plan([new Server(Place.Right, Iperf3Server(c, f, "right"), ListenPort: listen)],
                Place.Sut, SutIperf3Client(c, f, Udp("single")), (o, _) => Parsers.Iperf3(o, udp: true)));
    }

    // --- udp relays -----------------------------------------------------------------------------

    private static string UdpRelayServer(PlanContext c, int f, int port, int to) =>
        $"exec {c.Tool("socat")} UDP{f}-LISTEN:{port},bind={Bracket(c.Address("sutleft", f), f)},fork,reuseaddr UDP{f}:{Bracket(c.Address("right", f), f)}:{to}";

    private static string Sink(PlanContext c, int f, int seconds) =>
        $"exec {c.Tool("udpbench")} recv --bind {c.Address("right", f)} --port {Services.Sink} --seconds {seconds + 10} --idle 2 --overhead {IpHeader(f) + 8}";

    private static IEnumerable<TestCase> UdpRelay(int f)
    {
        foreach (string mode in (string[])["splice", "copy"])
        {
            foreach ((string size, int bytes, string text) in (ValueTuple<string, int, string>[])
                     [("empty", 0, "empty"), ("mtu", MtuPayload(f), "MTU-sized"), ("fragment", MtuPayload(f) + 1000, "two-fragment")])
            {
                Feature[] needs = size == "fragment"
                    ? [mode == "copy" ? Feature.UdpRelayCopy : Feature.UdpRelaySplice, Feature.LargeDatagrams]
                    : [mode == "copy" ? Feature.UdpRelayCopy : Feature.UdpRelaySplice];
                int relay = Services.Relay(mode, echo: false);
                yield return new TestCase($"linux-dataplane-linux-udp{f}{mode}-{size}", $"{Ip(f)} UDP {mode} relay, 10 senders, {text} datagrams",
                    needs, ThroughSut: false, Limit,
                    c => bytes == 0 && c.Sut == SutKind.Linux
                        ? Plan.NotRunnable("socat, Linux's relay, takes an empty datagram for the end of its input and relays none")
                        : new Plan(
                        c.Sut == SutKind.Linux
                            ? [new Server(Place.Right, Sink(c, f, c.Seconds), ReadyText: "ready", EndsItself: true),
                               new Server(Place.Sut, UdpRelayServer(c, f, relay, Services.Sink), ListenPort: $"udp:{relay}")]
                            : [new Server(Place.Right, Sink(c, f, c.Seconds), ReadyText: "ready", EndsItself: true)],
                        Place.Left,
                        $"exec {c.Tool("udpbench")} send --to {c.Address("sutleft", f)} --port {relay} --size {bytes} --seconds {c.Seconds} --parallel 10",
                        (_, servers) => Parsers.ValueLine(servers[0])));
            }
        }
    }

    // --- udp echo -------------------------------------------------------------------------------

    private static string Echo(PlanContext c, int f, string to, int port) =>
        $"exec {c.Tool("udpbench")} echo --to {c.Address(to, f)} --port {port} --size 64 --count {c.Seconds * 500} --timeout 0.5";

    private static string EchoServer(PlanContext c, int f, string at) =>
        $"exec {c.Tool("socat")} UDP{f}-LISTEN:{Services.Echo},bind={Bracket(c.Address(at, f), f)},fork,reuseaddr PIPE";

    private static IEnumerable<TestCase> UdpEcho(int f)
    {
        foreach (string mode in (string[])["copy", "splice"])
        {
            int relay = Services.Relay(mode, echo: true);
            yield return new TestCase($"linux-dataplane-linux-udp{f}echo-{mode}", $"{Ip(f)} UDP echo through a {mode} relay, one datagram at a time",
                [mode == "copy" ? Feature.UdpRelayCopy : Feature.UdpRelaySplice], ThroughSut: false, Limit,
                c => new Plan(
                    c.Sut == SutKind.Linux
                        ? [new Server(Place.Right, EchoServer(c, f, "right"), ListenPort: $"udp:{Services.Echo}"),
                           new Server(Place.Sut, UdpRelayServer(c, f, relay, Services.Echo), ListenPort: $"udp:{relay}")]
                        : [new Server(Place.Right, EchoServer(c, f, "right"), ListenPort: $"udp:{Services.Echo}")],
                    Place.Left, Echo(c, f, "sutleft", relay), (o, _) => Parsers.ValueLine(o)));
        }
        yield return new TestCase($"linux-dataplane-udp{f}echo-receive", $"{Ip(f)} UDP echo by the system under test, one datagram at a time",
            [Feature.UdpEcho], ThroughSut: false, Limit,
            c => new Plan(
                c.Sut == SutKind.Linux ? [new Server(Place.Sut, EchoServer(c, f, "sutleft"), ListenPort: $"udp:{Services.Echo}")] : [],
                Place.Left, Echo(c, f, "sutleft", Services.Echo), (o, _) => Parsers.ValueLine(o)));
    }

    // --- multicast ------------------------------------------------------------------------------

    private static IEnumerable<TestCase> Multicast(int f)
    {
        // IPv4 names the interface by its address, IPv6 by its name.
        string Receiver(PlanContext c, string who, string ifname) =>
            $"exec {c.Tool("udpbench")} recv --port {Services.Multicast} --group {c.Addresses.Group(f)} " +
            $"--ifaddr {(f == 4 ? c.Address(who, 4) : ifname)} --seconds {c.Seconds + 10} --idle 2 --overhead {IpHeader(f) + 8}";
        string Sender(PlanContext c, string who, string ifname) =>
            $"exec {c.Tool("udpbench")} send --to {c.Addresses.Group(f)} --port {Services.Multicast} --size {MtuPayload(f)} " +
            $"--seconds {c.Seconds} --parallel 10 --ttl 1 --ifaddr {(f == 4 ? c.Address(who, 4) : ifname)}";

        yield return new TestCase($"linux-dataplane-mcast{f}bench-parallel-mtu", $"{Ip(f)} multicast receive, 10 senders, MTU-sized",
            [Feature.Multicast], ThroughSut: false, Limit,
            c => new Plan([new Server(Place.Sut, Receiver(c, "sutleft", c.SutLeftInterface), ReadyText: "ready", EndsItself: true)],
                Place.Left, Sender(c, "left", c.LeftInterface), (_, servers) => Parsers.ValueLine(servers[0])));
        yield return new TestCase($"dataplane-linux-mcast{f}bench-parallel-mtu", $"{Ip(f)} multicast send, 10 senders, MTU-sized",
            [Feature.Multicast], ThroughSut: false, Limit,
            c => new Plan([new Server(Place.Right, Receiver(c, "right", c.RightInterface), ReadyText: "ready", EndsItself: true)],
                Place.Sut, Sender(c, "sutright", c.SutRightInterface), (_, servers) => Parsers.ValueLine(servers[0])));
    }
}
