using System.Diagnostics;
using System.Globalization;
using System.Net;
using Dataplane.Labs;
using static Dataplane.Conformance.Jobs.RelayBenchConfigs;

namespace Dataplane.Conformance.Jobs;

/// <summary>
/// The TCP relay benchmark of issue 14 (<c>dataplane-conformance relay-bench</c>), on the main job's
/// lab: a left and a right Linux host in network namespaces and a router between them.
/// <code>
///   LEFT 10.10.11.1 --- .2 [ router ] .3 --- 10.10.12.4 RIGHT (iperf3 -s, nginx, an idle sink)
/// </code>
/// The router is first a namespace of Linux's (veths, forwarding on), on which run in turn: nothing
/// (Linux forwarding, the client talks to RIGHT directly), HAProxy in TCP mode with kernel splicing,
/// and socat with a child per connection; then the dataplane (its tap the left host's NIC, an
/// AF_PACKET port towards the right host, TSO and LRO on, two workers) with
/// <c>app relay tcp ... mode splice</c> and <c>mode copy</c>. The relays are reached at the
/// router's left address. Three measures, each a table with the dataplane rows' ratios to Linux and
/// to HAProxy: iperf3 throughput for each connection count; wrk connections a second, each request a
/// new connection (<c>Connection: close</c>) for a 1 KiB file; and the RSS growth per idle
/// connection pair of the relay's process, N pairs opened by this process (see
/// <see cref="IdleConnections"/>). A cell that cannot run (a tool missing, a relay not listening,
/// the dataplane's TCP relay not there) is NORUN with the reason; everything made is removed at the
/// end, also on failure and interrupt, and every run of a tool is bounded in time.
/// </summary>
internal sealed class RelayBench
{
    /// <summary>The rows, one per router.</summary>
    public const string LinuxRow = "linux forward", HaProxyRow = "haproxy splice", SocatRow = "socat fork",
        SpliceRow = "dataplane splice", CopyRow = "dataplane copy";

    /// <summary>The Debian packages the benchmark's peers come in, by the tool they give.</summary>
    public static readonly (string Tool, string Package)[] Peers =
    [
        ("ip", "iproute2"), ("ss", "iproute2"), ("ping", "iputils-ping"), ("iperf3", "iperf3"), ("socat", "socat"),
        ("haproxy", "haproxy"), ("nginx", "nginx-light"), ("wrk", "wrk"),
    ];

    private const int WrkConnections = 50, WrkThreads = 2;

    private readonly RelayBenchOptions _options;
    private readonly NetnsLab _lab;
    private readonly RelayBenchReport _report;
    private readonly Colors _colors;
    private readonly CancellationToken _cancel;
    private readonly string _left, _right;
    private readonly Dictionary<int, bool> _pathUp = [];
    private string? _dataplaneLog;

    private RelayBench(RelayBenchOptions options, NetnsLab lab, RelayBenchReport report, Colors colors, CancellationToken cancel)
    {
        _options = options;
        _lab = lab;
        _report = report;
        _colors = colors;
        _cancel = cancel;
        _left = $"{lab.Id}-left";
        _right = $"{lab.Id}-right";
    }

    /// <summary>Runs the benchmark with <paramref name="args"/>; its exit status (0 every runnable cell ran, 1 not or it could not start, 2 usage, 130 interrupted).</summary>
    public static async Task<int> RunAsync(IReadOnlyList<string> args)
    {
        RelayBenchOptions options;
        try
        {
            if (args.Any(a => a is "-h" or "--help"))
            {
                Console.Out.WriteLine(RelayBenchOptions.Usage);
                return 0;
            }
            options = RelayBenchOptions.Parse(args);
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine($"relay-bench: {e.Message}\n\n{RelayBenchOptions.Usage}");
            return 2;
        }
        Colors colors = Colors.ForOutput();
        if (Tmds.Linux.LibC.geteuid() != 0)
        {
            Console.Error.WriteLine($"{colors.Red}relay-bench: needs root (network namespaces); run it as root or through sudo{colors.Reset}");
            return 1;
        }
        string folder;
        try
        {
            folder = options.Logs is null ? Directory.CreateTempSubdirectory("dataplane-relay-bench.").FullName : EmptyFolder(options.Logs);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            Console.Error.WriteLine($"relay-bench: {e.Message}");
            return 1;
        }

        using var interruption = new Interruption("relay-bench");
        using var jobLog = new StreamWriter(Path.Combine(folder, "job.log")) { AutoFlush = true };
        var report = new RelayBenchReport(options, Path.Combine(folder, "results.txt"), jobLog, colors);
        report.Say($"relay-bench: lab {options.Id}, logs in {folder}");
        report.Say($"iperf3 -P {string.Join(',', options.Streams)} and wrk, {options.Duration}s each; {options.Pairs} idle pairs; IPv{string.Join(" and IPv", options.Families)}");
        if (options.Install)
            await InstallPeersAsync(report, folder, interruption.Token).ConfigureAwait(false);
        if (NetnsLab.Missing("ip", "ss", "ping") is string basic)
        {
            Console.Error.WriteLine($"{colors.Red}relay-bench: {basic}{colors.Reset}");
            return 1;
        }
        var lab = new NetnsLab(options.Id, jobLog, folder);
        var job = new RelayBench(options, lab, report, colors, interruption.Token);
        try
        {
            LabProcess? nginx;
            try
            {
                job.HostNamespace("left");
                job.HostNamespace("right");
                nginx = await job.StartNginxAsync().ConfigureAwait(false);
            }
            catch (LabException e)
            {
                Console.Error.WriteLine($"{colors.Red}relay-bench: could not set up the hosts {options.Id}-left and {options.Id}-right: {e.Message}{colors.Reset}");
                return 1;
            }
            await job.LinuxPhaseAsync(nginx).ConfigureAwait(false);
            await job.DataplanePhaseAsync(nginx).ConfigureAwait(false);
            if (nginx is not null)
                await nginx.StopAsync(TimeSpan.FromSeconds(5), Signal.Term).ConfigureAwait(false);
            report.Tables();
        }
        catch (LabException e)
        {
            Console.Error.WriteLine($"{colors.Red}relay-bench: {e.Message}{colors.Reset}");
            return 1;
        }
        catch (OperationCanceledException) when (interruption.Requested)
        {
            lab.Dispose();
            Console.Error.WriteLine($"relay-bench: interrupted; the lab is removed; logs: {folder}");
            return Interruption.ExitCode;
        }
        finally
        {
            lab.Dispose();
        }
        (int ran, int norun, int failed) = report.Count();
        Console.Out.WriteLine();
        Console.Out.WriteLine($"logs: {folder} (job.log, results.txt, a log per cell{(job._dataplaneLog is null ? "" : ", dataplane.log, dataplane.conf")})");
        Console.Out.WriteLine($"{(failed == 0 ? colors.Green : colors.Red)}relay-bench: {ran} cells ran, {failed} of them failed; {norun} could not run{colors.Reset}");
        return failed == 0 ? 0 : 1;
    }

    private static string EmptyFolder(string logs)
    {
        Directory.CreateDirectory(logs);
        if (Directory.EnumerateFileSystemEntries(logs).Any())
            throw new ArgumentException($"{logs} is not an empty directory");
        return Path.GetFullPath(logs);
    }

    /// <summary>apt-get install of the peers' packages that are missing (as build.sh deps does), bounded at 10 minutes; what stays missing makes its cells NORUN.</summary>
    private static async Task InstallPeersAsync(RelayBenchReport report, string folder, CancellationToken cancel)
    {
        string[] packages = [.. Peers.Where(p => NetnsLab.Missing(p.Tool) is not null).Select(p => p.Package).Distinct()];
        if (packages.Length == 0)
            return;
        if (NetnsLab.Missing("apt-get") is not null)
        {
            report.Say($"relay-bench: missing {string.Join(' ', packages)} and no apt-get; their cells do not run", "");
            return;
        }
        report.Say($"relay-bench: installing {string.Join(' ', packages)} (apt-get; log: {folder}/apt.log)");
        await using var log = new StreamWriter(Path.Combine(folder, "apt.log")) { AutoFlush = true };
        TextWriter writer = TextWriter.Synchronized(log);
        foreach (string[] step in (string[][])[["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "--no-install-recommends", .. packages]])
        {
            writer.WriteLine($"$ {string.Join(' ', step)}");
            await using var apt = new LabProcess("env", ["DEBIAN_FRONTEND=noninteractive", .. step], writer, ownSession: true);
            if (!await apt.WaitAsync(TimeSpan.FromMinutes(10), cancel).ConfigureAwait(false))
            {
                cancel.ThrowIfCancellationRequested();
                report.Say($"relay-bench: {step[1]} did not end within 10 minutes; going on with what is there");
                return;
            }
            if (apt.ExitCode != 0)
                report.Say($"relay-bench: apt-get {step[1]} exited {apt.ExitCode} (see {folder}/apt.log); going on with what is there");
        }
    }

    // --- the hosts -----------------------------------------------------------------------------

    /// <summary>A namespace of the lab (ID-ROLE) with no duplicate address detection.</summary>
    private string HostNamespace(string role)
    {
        string ns = _lab.Namespace(role);
        _lab.Sysctl(ns, "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0");
        return ns;
    }

    /// <summary>The hosts' addresses and routes, the same in both phases: LEFT's NIC is <paramref name="leftInterface"/>, RIGHT's is right0.</summary>
    private void HostsUp(string leftInterface)
    {
        _lab.Up(_left, leftInterface);
        foreach (int f in (int[])[4, 6])
        {
            _lab.Address(_left, leftInterface, $"{Left(f)}/{Prefix(f)}");
            _lab.Route(_left, RightNet(f), RouterLeft(f));
            _lab.Address(_right, "right0", $"{Right(f)}/{Prefix(f)}");
            _lab.Route(_right, LeftNet(f), RouterRight(f));
        }
    }

    /// <summary>nginx in RIGHT serving the small file on port 80 of every address, for the whole run; null (its cells NORUN) when it is missing or does not listen.</summary>
    private async Task<LabProcess?> StartNginxAsync()
    {
        if (NetnsLab.Missing("nginx") is not null)
            return null;
        string www = _lab.File("www");
        Directory.CreateDirectory(www);
        Directory.CreateDirectory(_lab.File("nginx-body"));
        await File.WriteAllBytesAsync(Path.Combine(www, SmallFile), new byte[SmallFileBytes], _cancel).ConfigureAwait(false);
        string config = _lab.File("nginx.conf");
        await File.WriteAllTextAsync(config, Nginx(_lab.Folder), _cancel).ConfigureAwait(false);
        LabProcess nginx = _lab.Start(_right, "nginx", ["-e", _lab.File("nginx-error.log"), "-c", config], ownSession: true);
        if (await WaitAsync(15, "nginx to listen on port 80 in RIGHT", () => Listening(_right, HttpPort) || nginx.HasExited).ConfigureAwait(false) && !nginx.HasExited)
            return nginx;
        _report.Say($"  nginx did not start: {LastLine(nginx)} (see {_lab.File("nginx-error.log")})", _colors.Yellow);
        await nginx.StopAsync(TimeSpan.FromSeconds(2), Signal.Term).ConfigureAwait(false);
        return null;
    }

    /// <summary>Whether each family's path from LEFT to RIGHT answers a ping within 30 s (the router's neighbour discovery takes its time on a loaded machine).</summary>
    private async Task PathsAsync(string phase)
    {
        foreach (int f in _options.Families)
        {
            string probe = _lab.File($"{phase}-ping{f}.txt");
            _pathUp[f] = await WaitAsync(30, $"a ping reply from {Right(f)}", async () =>
                (await ToolAsync(_left, 5, probe, "ping", $"-{f}", "-n", "-c", "1", "-W", "1", Right(f)).ConfigureAwait(false)).Exit == 0).ConfigureAwait(false);
        }
    }

    // --- the phases ----------------------------------------------------------------------------

    /// <summary>Linux as the router: forwarding, then HAProxy, then socat, on veths of a router namespace.</summary>
    private async Task LinuxPhaseAsync(LabProcess? nginx)
    {
        _report.Say("Linux as the router: forwarding, HAProxy, socat", _colors.Bold);
        string[] rows = [LinuxRow, HaProxyRow, SocatRow];
        string router;
        try
        {
            router = HostNamespace("router");
            _lab.Sysctl(router, "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1");
            _lab.Veth(router, "rtl0", _left, "left0");
            _lab.Veth(router, "rtr0", _right, "right0");
            foreach (int f in (int[])[4, 6])
            {
                _lab.Address(router, "rtl0", $"{RouterLeft(f)}/{Prefix(f)}");
                _lab.Address(router, "rtr0", $"{RouterRight(f)}/{Prefix(f)}");
            }
            HostsUp("left0");
        }
        catch (LabException e)
        {
            Console.Error.WriteLine(e.Message);
            foreach (string row in rows)
                _report.RowNotRun(row, "could not set up the router namespace and the hosts (see above)");
            if (_lab.Namespaces.Contains($"{_lab.Id}-router"))
                _lab.DeleteNamespace($"{_lab.Id}-router");
            return;
        }
        await PathsAsync("linux").ConfigureAwait(false);

        await MeasureAsync(LinuxRow, nginx, f => (Right(f), Iperf3Port, HttpPort, null), pid: null, blocked: _ => null).ConfigureAwait(false);
        await HaProxyAsync(router, nginx).ConfigureAwait(false);
        await SocatAsync(router, nginx).ConfigureAwait(false);

        // Its veth pairs go with it, the hosts' ends too, before the dataplane's phase makes its own.
        _lab.DeleteNamespace(router);
        WaitQuietly(30, "left0 to leave LEFT", () => LinkGone(_left, "left0"));
        WaitQuietly(30, "right0 to leave RIGHT", () => LinkGone(_right, "right0"));
    }

    private async Task HaProxyAsync(string router, LabProcess? nginx)
    {
        if (NetnsLab.Missing("haproxy") is string missing)
        {
            _report.RowNotRun(HaProxyRow, missing);
            return;
        }
        string config = _lab.File("haproxy.cfg");
        await File.WriteAllTextAsync(config, HaProxy(_options.Families, _options.Pairs), _cancel).ConfigureAwait(false);
        await using var log = new StreamWriter(_lab.File("haproxy.log")) { AutoFlush = true };
        LabProcess haproxy = _lab.Start(router, "haproxy", ["-db", "-f", config], TextWriter.Synchronized(log), ownSession: true);
        await using (haproxy.ConfigureAwait(false))
        {
            bool up = await WaitAsync(15, $"haproxy to listen on {Iperf3Relay} in the router", () =>
                haproxy.HasExited || (Listening(router, Iperf3Relay) && Listening(router, HttpRelay) && Listening(router, IdleRelay))).ConfigureAwait(false);
            if (!up || haproxy.HasExited)
            {
                _report.RowNotRun(HaProxyRow, $"haproxy did not start: {LastLine(haproxy)} (see {_lab.File("haproxy.log")})");
                return;
            }
            await MeasureAsync(HaProxyRow, nginx, f => (RouterLeft(f), Iperf3Relay, HttpRelay, IdleRelay), haproxy.Id,
                _ => haproxy.HasExited ? $"haproxy ended (exit {haproxy.ExitCode}; see {_lab.File("haproxy.log")})" : null).ConfigureAwait(false);
            await haproxy.StopAsync(TimeSpan.FromSeconds(5), Signal.Term).ConfigureAwait(false);
        }
    }

    private async Task SocatAsync(string router, LabProcess? nginx)
    {
        if (NetnsLab.Missing("socat") is string missing)
        {
            _report.RowNotRun(SocatRow, missing);
            return;
        }
        var relays = new List<LabProcess>();
        await using var log = new StreamWriter(_lab.File("socat.log")) { AutoFlush = true };
        TextWriter writer = TextWriter.Synchronized(log);
        try
        {
            foreach (int f in _options.Families)
            {
                foreach ((int relay, int target) in (ReadOnlySpan<(int, int)>)[(Iperf3Relay, Iperf3Port), (HttpRelay, HttpPort)])
                    relays.Add(_lab.Start(router, "socat", Socat(f, relay, target), writer, ownSession: true));
            }
            bool up = await WaitAsync(15, "socat to listen in the router", () =>
                relays.Any(r => r.HasExited) || (Listening(router, Iperf3Relay) && Listening(router, HttpRelay))).ConfigureAwait(false);
            if (!up || relays.Any(r => r.HasExited))
            {
                _report.RowNotRun(SocatRow, $"socat did not start (see {_lab.File("socat.log")})");
                return;
            }
            await MeasureAsync(SocatRow, nginx, f => (RouterLeft(f), Iperf3Relay, HttpRelay, null), pid: null,
                _ => relays.FirstOrDefault(r => r.HasExited) is { } r ? $"socat ended ({r.CommandLine})" : null).ConfigureAwait(false);
        }
        finally
        {
            foreach (LabProcess r in relays)
            {
                await r.StopAsync(TimeSpan.FromSeconds(3), Signal.Term).ConfigureAwait(false);
                await r.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>The dataplane as the router, with its splice and copy relays: the config written to the logs, its tap LEFT's NIC, its AF_PACKET port on a veth to RIGHT.</summary>
    private async Task DataplanePhaseAsync(LabProcess? nginx)
    {
        _report.Say($"{_colors.Bold}the dataplane as the router, relaying{_colors.Reset} ({_options.Binary})");
        string[] rows = [SpliceRow, CopyRow];
        void NotRun(string why)
        {
            foreach (string row in rows)
                _report.RowNotRun(row, why);
        }
        if (!File.Exists(_options.Binary))
        {
            NotRun($"no dataplane binary at {_options.Binary} (./build.sh publish builds out/dataplane)");
            return;
        }
        string config = _lab.File("dataplane.conf");
        await File.WriteAllTextAsync(config, RelayBenchConfigs.Dataplane(), _cancel).ConfigureAwait(false);
        (int code, string said) = NetnsLab.Execute(_options.Binary, "check", "-c", config);
        if (code != 0)
        {
            NotRun($"the dataplane refuses its config ({config}): {said.Trim().Split('\n')[0]}");
            return;
        }
        _dataplaneLog = _lab.File("dataplane.log");
        string socket = _lab.File("ctl.sock");
        string dp;
        try
        {
            // The kernel of DP stays off the wire: IPv6 off on DP's interfaces (as the main job does).
            dp = HostNamespace("dp");
            _lab.Sysctl(dp, "net.ipv6.conf.default.disable_ipv6=1");
            _lab.Veth(dp, "dpr0", _right, "right0");
        }
        catch (LabException e)
        {
            Console.Error.WriteLine(e.Message);
            NotRun($"could not create the namespace {_lab.Id}-dp and the veth dpr0 (see above)");
            if (_lab.Namespaces.Contains($"{_lab.Id}-dp"))
                _lab.DeleteNamespace($"{_lab.Id}-dp");
            return;
        }
        await using var log = new StreamWriter(_dataplaneLog, append: true) { AutoFlush = true };
        TextWriter dataplaneLog = TextWriter.Synchronized(log);
        dataplaneLog.WriteLine($"$ ip netns exec {dp} {_options.Binary} run -c {config} -s {socket}");
        LabProcess dataplane = _lab.Start(dp, _options.Binary, ["run", "-c", config, "-s", socket], dataplaneLog, ownSession: true);
        try
        {
            bool Up() => dataplane.AllOutput.Contains("dataplane: running:", StringComparison.Ordinal) && !LinkGone(dp, "dpl0");
            await WaitAsync(60, "the dataplane to say 'running:' and create dpl0", () => Up() || dataplane.HasExited).ConfigureAwait(false);
            if (dataplane.HasExited || !Up())
            {
                NotRun($"the dataplane did not come up: {LastLine(dataplane)} (see {_dataplaneLog})");
                return;
            }
            try
            {
                _lab.Move("dpl0", dp, _left);
                HostsUp("dpl0");
            }
            catch (LabException e)
            {
                Console.Error.WriteLine(e.Message);
                NotRun("could not move the tap dpl0 into LEFT and address the hosts (see above)");
                return;
            }
            await PathsAsync("dataplane").ConfigureAwait(false);
            // What the dataplane says at start about an app it does not run, in its words.
            string? notRunning = dataplane.AllOutput.Split('\n').FirstOrDefault(l =>
                l.Contains("app relay tcp", StringComparison.Ordinal) && l.Contains("not available", StringComparison.Ordinal))?.Trim();
            foreach (string row in rows)
            {
                bool copy = row == CopyRow;
                var probed = new Dictionary<int, string?>();
                string? Blocked(int f)
                {
                    if (dataplane.HasExited)
                        return $"the dataplane ended (exit {dataplane.ExitCode}; see {_dataplaneLog})";
                    if (notRunning is not null)
                        return $"the dataplane's TCP relay does not run yet: '{notRunning}'";
                    if (!probed.TryGetValue(f, out string? why))
                        probed[f] = why = Probe(f, DataplanePort(Iperf3Relay, copy));
                    return why;
                }
                await MeasureAsync(row, nginx, f => (RouterLeft(f), DataplanePort(Iperf3Relay, copy), DataplanePort(HttpRelay, copy), copy ? null : IdleRelay),
                    dataplane.Id, Blocked).ConfigureAwait(false);
            }
            (int c, string netstat) = NetnsLab.Execute(_options.Binary, "ctl", "-s", socket, "netstat", "-s");
            dataplaneLog.WriteLine($"$ dataplane ctl -s {socket} netstat -s\n{netstat.TrimEnd()}{(c == 0 ? "" : $"\nctl netstat -s failed (exit {c})")}");
        }
        finally
        {
            int status = await dataplane.StopAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
            await dataplane.DisposeAsync().ConfigureAwait(false);
            dataplaneLog.WriteLine($"dataplane exit status {status}");
            _lab.DeleteNamespace(dp);
            WaitQuietly(30, "the tap dpl0 to leave LEFT", () => LinkGone(_left, "dpl0"));
            WaitQuietly(30, "right0 to leave RIGHT", () => LinkGone(_right, "right0"));
        }
    }

    /// <summary>Null when a connection from LEFT to the relay port of <paramref name="family"/> is accepted within 10 s, else why not.</summary>
    private string? Probe(int family, int port)
    {
        string? why = IdleConnections.Probe(_left, new IPEndPoint(IPAddress.Parse(RouterLeft(family)), port), TimeSpan.FromSeconds(10));
        return why is null ? null : $"the relay on {Endpoint(RouterLeft(family), port)} does not accept connections: {why}";
    }

    // --- the cells -----------------------------------------------------------------------------

    /// <summary>
    /// Every cell of <paramref name="row"/>, for each family: the memory test (when the row has an
    /// idle port and a process), iperf3 for each stream count, wrk. <paramref name="target"/> gives a
    /// family's address and its iperf3, HTTP and idle ports; <paramref name="blocked"/> why a cell
    /// cannot run (the relay ended, it does not accept), asked before each.
    /// </summary>
    private async Task MeasureAsync(string row, LabProcess? nginx, Func<int, (string Address, int Iperf3, int Http, int? Idle)> target, int? pid, Func<int, string?> blocked)
    {
        foreach (int f in _options.Families)
        {
            (string address, int iperf3, int http, int? idle) = target(f);
            string? Why() => _pathUp.GetValueOrDefault(f) ? blocked(f) : $"path down (no ping reply over IPv{f} from {Right(f)})";
            if (idle is int idlePort && pid is int p && _report.HasMemoryRow(row))
                _report.Memory(row, f, Why() is string w ? BenchCell.NotRun(w) : await MemoryCellAsync(row, f, address, idlePort, p).ConfigureAwait(false));
            foreach (int streams in _options.Streams)
                _report.Iperf3(row, f, streams, Why() is string w ? BenchCell.NotRun(w) : await Iperf3CellAsync(row, f, address, iperf3, streams).ConfigureAwait(false));
            BenchCell wrk = Why() is string y ? BenchCell.NotRun(y)
                : NetnsLab.Missing("wrk") is string noWrk ? BenchCell.NotRun(noWrk)
                : nginx is null || nginx.HasExited ? BenchCell.NotRun("nginx does not run on the right host (nginx-light missing, or see nginx-error.log)")
                : await WrkCellAsync(row, f, address, http).ConfigureAwait(false);
            _report.Wrk(row, f, wrk);
        }
    }

    private static string Key(string row) => row.Replace(' ', '-');

    /// <summary>An iperf3 client in LEFT with <paramref name="streams"/> connections to <paramref name="address"/>:<paramref name="port"/>, a one-off server in RIGHT.</summary>
    private async Task<BenchCell> Iperf3CellAsync(string row, int family, string address, int port, int streams)
    {
        if (NetnsLab.Missing("iperf3") is string missing)
            return BenchCell.NotRun(missing);
        string name = $"{Key(row)}-tcp{family}-P{streams}";
        string serverLog = _lab.File($"{name}-server.txt");
        await using var serverWriter = new StreamWriter(serverLog) { AutoFlush = true };
        LabProcess server = _lab.Start(_right, "iperf3", ["-s", "-1", "-p", Iperf3Port.ToString(CultureInfo.InvariantCulture)],
            TextWriter.Synchronized(serverWriter), ownSession: true);
        await using (server.ConfigureAwait(false))
        {
            if (!await WaitAsync(30, $"iperf3 -s on port {Iperf3Port} in RIGHT", () => Listening(_right, Iperf3Port)).ConfigureAwait(false))
                return BenchCell.NotRun($"the iperf3 server did not listen ({serverLog})");
            string log = _lab.File($"{name}.json");
            int limit = _options.Duration + 40;
            (int exit, bool timedOut, string json) = await ToolAsync(_left, limit, log,
                "iperf3", $"-{family}", "-c", address, "-p", port.ToString(CultureInfo.InvariantCulture), "-P", streams.ToString(CultureInfo.InvariantCulture),
                "-t", _options.Duration.ToString(CultureInfo.InvariantCulture), "-J", "--connect-timeout", "10000").ConfigureAwait(false);
            await server.StopAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false);
            Iperf3Figures figures = Iperf3Figures.Parse(json, udp: false);
            double? gbits = figures.BitsPerSecond / 1e9;
            string shown = gbits is double g ? string.Create(CultureInfo.InvariantCulture, $"{g:0.00} Gbit/s") : "-";
            string error = figures.Error.Length > 0 ? ": " + figures.Error : "";
            return timedOut ? new BenchCell("NOTERM", null, shown, $"iperf3 did not end within {limit}s ({log})")
                : exit != 0 ? new BenchCell("NOEXIT", gbits, shown, $"iperf3 exit {exit}{error} ({log})")
                : gbits is null or 0 ? new BenchCell("FAIL", null, shown, $"no bits/s in iperf3's output{error} ({log})")
                : new BenchCell("PASS", gbits, shown, "");
        }
    }

    /// <summary>wrk in LEFT: <see cref="WrkConnections"/> connections on <see cref="WrkThreads"/> threads, each request on a new connection, for the small file.</summary>
    private async Task<BenchCell> WrkCellAsync(string row, int family, string address, int port)
    {
        string log = _lab.File($"{Key(row)}-http{family}-wrk.txt");
        int limit = _options.Duration + 30;
        // Every row relays from the router's one right address to nginx, which closes first and so
        // holds each connection of the row before in TIME-WAIT for a minute. A relay's SYN that
        // meets one (its sequence number and timestamp unrelated to the last relay's) is taken for
        // an old duplicate and answered with an ACK, and the relay tries again a second later: the
        // row measured that second, not itself (the dataplane's splice row, run right after
        // HAProxy's, made 340 connections a second; alone, 10,000). Each row starts as on a
        // machine of its own: the right host's TIME-WAIT emptied first (ss -K).
        NetnsLab.Execute("ip", "netns", "exec", _right, "ss", "-K", "state", "time-wait");
        (int exit, bool timedOut, string output) = await ToolAsync(_left, limit, log,
            "wrk", "-t", WrkThreads.ToString(CultureInfo.InvariantCulture), "-c", WrkConnections.ToString(CultureInfo.InvariantCulture),
            "-d", $"{_options.Duration}s", "--timeout", "5s", "-H", "Connection: close",
            $"http://{Endpoint(address, port)}/{SmallFile}").ConfigureAwait(false);
        WrkFigures w = WrkFigures.Parse(output);
        string shown = w.RequestsPerSecond is double r
            ? string.Create(CultureInfo.InvariantCulture, $"{r:0} conn/s, {w.Requests} requests, {w.SocketErrors} socket errors, {w.Non2xx} not 2xx")
            : "-";
        return timedOut ? new BenchCell("NOTERM", null, shown, $"wrk did not end within {limit}s ({log})")
            : exit != 0 ? new BenchCell("NOEXIT", w.RequestsPerSecond, shown, $"wrk exit {exit} ({log})")
            : w.RequestsPerSecond is null || w.Requests is null or 0 ? new BenchCell("FAIL", null, shown, $"no requests done ({log})")
            : w.Non2xx * 100 > w.Requests ? new BenchCell("FAIL", w.RequestsPerSecond, shown, $"{w.Non2xx} of {w.Requests} responses not 2xx or 3xx ({log})")
            : new BenchCell("PASS", w.RequestsPerSecond, shown, "");
    }

    /// <summary>
    /// RSS of <paramref name="pid"/> before and after <see cref="RelayBenchOptions.Pairs"/> idle
    /// connections from LEFT through the relay at <paramref name="address"/>:<paramref name="port"/>
    /// to a sink in RIGHT: its growth per pair.
    /// </summary>
    private async Task<BenchCell> MemoryCellAsync(string row, int family, string address, int port, int pid)
    {
        int pairs = _options.Pairs;
        using var idle = IdleConnections.Listen(_right, family, IdlePort, pairs + 128); // listening when it returns
        long? before = await SettledResidentBytesAsync(pid).ConfigureAwait(false);
        var clock = Stopwatch.StartNew();
        int connected = await idle.ConnectAsync(_left, new IPEndPoint(IPAddress.Parse(address), port), pairs, batch: 100, TimeSpan.FromSeconds(10), _cancel).ConfigureAwait(false);
        await WaitAsync(30, $"{connected} connections at the idle sink", () => idle.Accepted >= connected).ConfigureAwait(false);
        double seconds = clock.Elapsed.TotalSeconds;
        long? after = await SettledResidentBytesAsync(pid).ConfigureAwait(false);
        int accepted = idle.Accepted;
        _report.Log($"{row} IPv{family}: {connected} of {pairs} connected, {accepted} accepted at the sink in {seconds:0.0}s; RSS of pid {pid} {before} -> {after} bytes");
        if (before is null || after is null)
            return new BenchCell("FAIL", null, "-", $"could not read the RSS of pid {pid} (it ended?)");
        double perPair = (double)(after.Value - before.Value) / pairs;
        string shown = string.Create(CultureInfo.InvariantCulture, $"{perPair:0} bytes/pair (RSS {before / 1048576.0:0.0} -> {after / 1048576.0:0.0} MiB, {pairs} pairs)");
        return connected < pairs ? new BenchCell("FAIL", null, shown, $"{connected} of {pairs} connections made")
            : accepted < connected ? new BenchCell("FAIL", null, shown, $"{accepted} of {connected} connections reached the right host")
            : new BenchCell("PASS", perPair, shown, "");
    }

    // --- the lab's tools and waits (as the main job's) --------------------------------------------

    /// <summary>Runs a tool inside <paramref name="ns"/>, bounded: SIGTERM after <paramref name="seconds"/> (SIGKILL 2 s later); its output to <paramref name="log"/>.</summary>
    private async Task<(int Exit, bool TimedOut, string Output)> ToolAsync(string ns, int seconds, string log, params string[] command)
    {
        _cancel.ThrowIfCancellationRequested();
        await using var writer = new StreamWriter(log) { AutoFlush = true };
        await writer.WriteLineAsync($"$ ip netns exec {ns} {string.Join(' ', command.Select(Shell.Quote))}").ConfigureAwait(false);
        LabProcess process = _lab.Start(ns, command[0], command[1..], TextWriter.Synchronized(writer), ownSession: true);
        await using (process.ConfigureAwait(false))
        {
            bool ended = await process.WaitAsync(TimeSpan.FromSeconds(seconds), _cancel).ConfigureAwait(false);
            if (!ended)
                await process.StopAsync(TimeSpan.FromSeconds(2), Signal.Term).ConfigureAwait(false);
            _cancel.ThrowIfCancellationRequested();
            return (ended ? process.ExitCode : -1, !ended, process.Output);
        }
    }

    /// <summary>
    /// The RSS of <paramref name="pid"/> once it stopped moving (the same in two readings 100 ms
    /// apart: the relay has taken in what it was handed), or after 5 s whatever it is; null when
    /// it cannot be read.
    /// </summary>
    private async Task<long?> SettledResidentBytesAsync(int pid)
    {
        long? last = ProcFigures.ResidentBytes(pid);
        var clock = Stopwatch.StartNew();
        while (last is not null && clock.Elapsed < TimeSpan.FromSeconds(5))
        {
            await Task.Delay(100, _cancel).ConfigureAwait(false);
            long? now = ProcFigures.ResidentBytes(pid);
            if (now == last)
                break;
            last = now;
        }
        return last;
    }

    private async Task<bool> WaitAsync(int seconds, string what, Func<Task<bool>> condition)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition().ConfigureAwait(false))
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(seconds))
            {
                _report.Log($"lab: timed out after {seconds}s waiting for: {what}");
                return false;
            }
            await Task.Delay(100, _cancel).ConfigureAwait(false);
        }
        return true;
    }

    private Task<bool> WaitAsync(int seconds, string what, Func<bool> condition) => WaitAsync(seconds, what, () => Task.FromResult(condition()));

    private void WaitQuietly(int seconds, string what, Func<bool> condition)
    {
        _cancel.ThrowIfCancellationRequested();
        if (!NetnsLab.Until(condition, TimeSpan.FromSeconds(seconds)))
            _report.Log($"lab: timed out after {seconds}s waiting for: {what}");
    }

    private static string LastLine(LabProcess process) => process.AllOutput.Trim().Split('\n').LastOrDefault()?.Trim() is { Length: > 0 } l ? l : "no output";

    private static bool LinkGone(string ns, string name) => NetnsLab.Execute("ip", "-n", ns, "link", "show", "dev", name).ExitCode != 0;

    private static bool Listening(string ns, int port) =>
        NetnsLab.Execute("ip", "netns", "exec", ns, "ss", "-Hlnt", $"sport = :{port}").Output.Trim().Length > 0;
}
