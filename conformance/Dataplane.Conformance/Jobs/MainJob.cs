using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Dataplane.Conformance.Labs;
using Dataplane.Labs;

namespace Dataplane.Conformance.Jobs;

/// <summary>
/// The main job of <c>./build.sh run</c>: a left and a right Linux host in network namespaces,
/// traffic from left to right first through the Linux kernel as the router, then through the
/// dataplane as the router on the same hosts and addresses; a table of both side by side.
/// <code>
///   LEFT 10.10.11.1 --- .2 [ dataplane | Linux ] .3 --- 10.10.12.4 RIGHT
///        fdd7:e83e:66bd:1011::1  ::2           ::3  fdd7:e83e:66bd:1012::4
/// </code>
/// The addresses are line 1 of OpenBSD's netlink regression test. Each test ends in one of OpenBSD's
/// statuses: PASS; FAIL (no value: no reply, nothing parsed; or a loss over its bound); NOEXIT (the
/// tool exited non-zero); NOTERM (stopped after its time limit); NORUN (could not be started: the
/// router did not come up, the path is down, the server did not listen).
/// <para>
/// Loss is judged, not only shown, and judged against Linux doing the same job in the same run
/// (<see cref="MainJobReport.LossMargin"/>). Both routers are offered the same load on the same hosts a
/// minute apart, so what the machine costs both is in Linux's figure; the margin is for what it costs
/// a userspace router only: its workers wait for a CPU like any process (up to ~0.3 s at a time with
/// both cores busy), where Linux forwards in the sender's softirq, and what arrives meanwhile is
/// lost once the dataplane's queues are full.
/// </para>
/// <list type="bullet">
/// <item>ping: 1000 echo requests 1 ms apart, a light flood; its loss as ping counts it.</item>
/// <item>UDP iperf3: a fixed offered rate (50 Mbit/s) that both routers carry on a loaded two-core
/// machine, so that what is lost is a fault and not the machine's limit. (At 1 Gbit/s both ran at what
/// the machine gave them, and the dataplane, a process competing for the cores with the two iperf3s,
/// lost 4 to 24 % on the way where Linux lost none; that is throughput, which the TCP rows show.) Its
/// cell is judged by the loss on the way: iperf3's lost datagrams less those the right host counted
/// as its own drops (UDP receive errors: iperf3 did not read its socket in time; its NIC's receive
/// drops), which are the receiver's, whoever routed, and move from run to run.</item>
/// <item>TCP iperf3 retransmits what it loses; its cells pass when its throughput is there. One stream
/// and 15 (-P 15): the one flow's path, and what both workers carry with the flows spread over them.</item>
/// </list>
/// Linux's own cells are held to an absolute bound: it loses nothing on the way and no ping on an
/// idle machine, and with --linux-only (no reference row) that bound is all there is. Everything the
/// job creates is removed on exit, also when interrupted; the logs stay in a folder it names.
/// </summary>
internal sealed partial class MainJob
{
    private const string Left4 = "10.10.11.1", Left6 = "fdd7:e83e:66bd:1011::1";
    private const string RouterLeft4 = "10.10.11.2", RouterLeft6 = "fdd7:e83e:66bd:1011::2";
    private const string RouterRight4 = "10.10.12.3", RouterRight6 = "fdd7:e83e:66bd:1012::3";
    private const string Right4 = "10.10.12.4", Right6 = "fdd7:e83e:66bd:1012::4";
    private const string LeftNet4 = "10.10.11.0/24", LeftNet6 = "fdd7:e83e:66bd:1011::/64";
    private const string RightNet4 = "10.10.12.0/24", RightNet6 = "fdd7:e83e:66bd:1012::/64";

    private readonly MainJobOptions _options;
    private readonly NetnsLab _lab;
    private readonly MainJobReport _report;
    private readonly TextWriter _jobLog;
    private readonly Colors _colors;
    private readonly CancellationToken _cancel;
    private readonly Dictionary<(string Phase, int Family), bool> _pathUp = [];
    private readonly string _left, _right;
    private readonly JobPort _leftPort, _rightPort; // the config's ports (the Linux phase uses its own veths)
    private string _rightNic = "right0"; // RIGHT's NIC in the running phase, whose drops count as the receiver's
    private string? _dataplaneLog;
    private bool _dataplaneRan;

    private MainJob(MainJobOptions options, (JobPort Left, JobPort Right) ports, NetnsLab lab, MainJobReport report, TextWriter jobLog, Colors colors, CancellationToken cancel)
    {
        _options = options;
        (_leftPort, _rightPort) = ports;
        _lab = lab;
        _report = report;
        _jobLog = jobLog;
        _colors = colors;
        _cancel = cancel;
        _left = $"{lab.Id}-left";
        _right = $"{lab.Id}-right";
    }

    /// <summary>Runs the main job with <paramref name="args"/>; its exit status (0 every cell passed, 1 not, or it could not start; 2 usage; 130 interrupted).</summary>
    public static async Task<int> RunAsync(IReadOnlyList<string> args)
    {
        MainJobOptions options;
        try
        {
            if (args.Any(a => a is "-h" or "--help"))
            {
                Console.Out.WriteLine(MainJobOptions.Usage);
                return 0;
            }
            options = MainJobOptions.Parse(args);
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine($"main-job: {e.Message}\n\n{MainJobOptions.Usage}");
            return 2;
        }
        Colors colors = Colors.ForOutput();
        if (CannotStartBecause(options) is string why)
        {
            Console.Error.WriteLine($"{colors.Red}main-job: {why}{colors.Reset}");
            return 1;
        }
        (JobPort Left, JobPort Right) ports = (new("left", "tap", "dpl0", 1), new("right", "afpacket", "dpr0", 1));
        if (!options.LinuxOnly)
        {
            try
            {
                ports = MainJobPorts.Read(File.ReadAllText(options.Config));
            }
            catch (ArgumentException e)
            {
                Console.Error.WriteLine($"{colors.Red}main-job: {options.Config}: {e.Message}{colors.Reset}");
                return 1;
            }
        }
        string folder;
        try
        {
            folder = LogFolder(options.Logs);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            Console.Error.WriteLine($"main-job: {e.Message}");
            return 1;
        }

        using var interruption = new Interruption("main-job");
        string[] phases = options.LinuxOnly ? ["linux"] : ["dataplane", "linux"];
        string[] order = options.LinuxOnly ? ["linux"] : ["linux", "dataplane"];
        using var jobLog = new StreamWriter(Path.Combine(folder, "job.log")) { AutoFlush = true };
        string results = Path.Combine(folder, "results.txt");
        File.WriteAllText(results, "");
        var report = new MainJobReport(phases, results, jobLog, colors);
        report.Say($"lab {options.Id}, logs in {folder}");
        report.Say($"iperf3 tests {options.Duration}s each, UDP at {options.UdpRate}; phases: {string.Join(' ', order)}");
        var lab = new NetnsLab(options.Id, folder: folder);
        var job = new MainJob(options, ports, lab, report, jobLog, colors, interruption.Token);
        try
        {
            try
            {
                job.HostNamespace("left");
                job.HostNamespace("right");
            }
            catch (LabException e)
            {
                Console.Error.WriteLine($"{colors.Red}main-job: could not create the namespaces {options.Id}-left and {options.Id}-right: {e.Message}{colors.Reset}");
                return 1;
            }
            foreach (string phase in order)
            {
                if (phase == "linux")
                    await job.LinuxPhaseAsync().ConfigureAwait(false);
                else
                    await job.DataplanePhaseAsync().ConfigureAwait(false);
            }
            report.Table();
        }
        catch (LabException e)
        {
            Console.Error.WriteLine($"{colors.Red}main-job: {e.Message}{colors.Reset}");
            return 1;
        }
        catch (OperationCanceledException) when (interruption.Requested)
        {
            lab.Dispose();
            Console.Error.WriteLine($"main-job: interrupted; the lab is removed; logs: {folder}");
            return Interruption.ExitCode;
        }
        finally
        {
            lab.Dispose();
        }
        (int passed, int total) = report.Count();
        Console.Out.WriteLine();
        Console.Out.WriteLine($"logs: {folder} (job.log, results.txt{(job._dataplaneLog is null ? "" : ", dataplane.log")})");
        Console.Out.WriteLine($"{(passed == total ? colors.Green : colors.Red)}{passed} of {total} cells passed{colors.Reset}");
        return passed == total ? 0 : 1;
    }

    /// <summary>Why the job cannot run here (not root, a tool missing, no binary), or null.</summary>
    private static string? CannotStartBecause(MainJobOptions options)
    {
        if (Tmds.Linux.LibC.geteuid() != 0)
            return "needs root (network namespaces); run it as root or through sudo";
        string[] missing = [.. ((string[])["ip", "ss", "ping", "iperf3", "sysctl"]).Where(t => NetnsLab.Missing(t) is not null)];
        if (missing.Length > 0)
            return $"missing tools: {string.Join(' ', missing)} (Debian: apt-get install iproute2 iputils-ping iperf3 procps; or ./build.sh deps)";
        if (options.LinuxOnly)
            return null;
        if (!File.Exists(options.Binary))
            return $"no dataplane binary at {options.Binary} (./build.sh publish builds out/dataplane)";
        if (!File.Exists(options.Config))
            return $"no configuration at {options.Config}";
        (int code, string said) = NetnsLab.Execute(options.Binary, "check", "-c", options.Config);
        return code == 0 ? null : $"{options.Config} does not check clean: {string.Join('\n', said.Split('\n').Take(3))}";
    }

    /// <summary>The logs' folder: <paramref name="logs"/>, which must be empty or new, or a new temp folder.</summary>
    private static string LogFolder(string? logs)
    {
        if (logs is null)
            return Directory.CreateTempSubdirectory("dataplane-lab.").FullName;
        Directory.CreateDirectory(logs);
        if (Directory.EnumerateFileSystemEntries(logs).Any())
            throw new ArgumentException($"{logs} is not an empty directory");
        return Path.GetFullPath(logs);
    }

    /// <summary>A namespace of the lab (ID-ROLE) with no duplicate address detection (addresses usable at once; the lab's are unique by construction).</summary>
    private string HostNamespace(string role)
    {
        string ns = _lab.Namespace(role);
        _lab.Sysctl(ns, "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0");
        return ns;
    }

    // --- the phases ------------------------------------------------------------------------------

    /// <summary>Linux as the router (the first phase: the reference), on veths of a router namespace.</summary>
    private async Task LinuxPhaseAsync()
    {
        _report.Say("Linux as the router", _colors.Bold);
        string router;
        try
        {
            router = HostNamespace("router");
            _lab.Sysctl(router, "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1");
            _lab.Veth(router, "rtl0", _left, "left0");
            _lab.Veth(router, "rtr0", _right, "right0");
            _lab.Address(router, "rtl0", $"{RouterLeft4}/24", $"{RouterLeft6}/64");
            _lab.Address(router, "rtr0", $"{RouterRight4}/24", $"{RouterRight6}/64");
            HostsUp("left0", "right0");
        }
        catch (LabException e)
        {
            Console.Error.WriteLine(e.Message);
            _report.NotRun("linux", "could not set up the router namespace and the hosts (see above)");
            RemoveRouter(_lab.Namespaces.Contains($"{_lab.Id}-router") ? $"{_lab.Id}-router" : null);
            return;
        }
        await RunTestsAsync("linux").ConfigureAwait(false);
        // Its veth pairs go with it, the hosts' ends too, before the next phase makes its own.
        RemoveRouter(router);
    }

    private void RemoveRouter(string? router)
    {
        if (router is not null)
            _lab.DeleteNamespace(router);
        WaitQuietly(30, "left0 to leave LEFT", () => LinkGone(_left, "left0"));
        WaitQuietly(30, "right0 to leave RIGHT", () => LinkGone(_right, "right0"));
    }

    /// <summary>
    /// The dataplane as the router, on the config's ports: a tap port becomes its host's NIC once
    /// the dataplane made it; an afpacket or afxdp port sits on a veth whose far end (left0,
    /// right0) is its host's NIC, made before the dataplane starts with as many queues as the port.
    /// </summary>
    private async Task DataplanePhaseAsync()
    {
        _report.Say($"{_colors.Bold}the dataplane as the router{_colors.Reset} ({_options.Binary} run -c {_options.Config}; " +
            $"left {_leftPort.Driver}, right {_rightPort.Driver})");
        _dataplaneLog = _lab.File("dataplane.log");
        string socket = _lab.File("ctl.sock");
        string dp;
        try
        {
            // The kernel of DP stays off the wire: IPv6 off on DP's interfaces (no link-local
            // address, no router or MLD solicitations); DP has no IPv4 address and does not forward.
            dp = HostNamespace("dp");
            _lab.Sysctl(dp, "net.ipv6.conf.default.disable_ipv6=1");
            foreach ((JobPort port, string host, string end) in (ValueTuple<JobPort, string, string>[])[(_leftPort, _left, "left0"), (_rightPort, _right, "right0")])
            {
                if (!port.IsTap)
                    _lab.Veth(dp, port.IfName, host, end, queues: port.Queues);
            }
        }
        catch (LabException e)
        {
            Console.Error.WriteLine(e.Message);
            _report.NotRun("dataplane", $"could not create the namespace {_lab.Id}-dp and the veths of its ports (see above)");
            if (_lab.Namespaces.Contains($"{_lab.Id}-dp"))
                _lab.DeleteNamespace($"{_lab.Id}-dp");
            return;
        }
        await using var log = new StreamWriter(_dataplaneLog, append: true) { AutoFlush = true };
        TextWriter dataplaneLog = TextWriter.Synchronized(log);
        dataplaneLog.WriteLine($"$ ip netns exec {dp} {_options.Binary} run -c {_options.Config} -s {socket}");
        LabProcess dataplane = _lab.Start(dp, _options.Binary, ["run", "-c", _options.Config, "-s", socket], dataplaneLog, ownSession: true);
        try
        {
            await RunDataplaneAsync(dp, socket, dataplane, dataplaneLog).ConfigureAwait(false);
        }
        finally
        {
            // Interrupted too: it stops (SIGINT, as Ctrl-C would) while its log is open, and says how it ended.
            int status = await dataplane.StopAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
            await dataplane.DisposeAsync().ConfigureAwait(false);
            dataplaneLog.WriteLine($"dataplane exit status {status}");
            if (status != 0 && _dataplaneRan)
                _report.Say($"  the dataplane exited with status {status} after SIGINT (see {_dataplaneLog})", _colors.Yellow);
        }
        // A tap goes with the dataplane's descriptors, a veth pair with DP.
        _lab.DeleteNamespace(dp);
        string leftNic = _leftPort.HostInterface("left0"), rightNic = _rightPort.HostInterface("right0");
        WaitQuietly(30, $"{leftNic} to leave LEFT", () => LinkGone(_left, leftNic));
        WaitQuietly(30, $"{rightNic} to leave RIGHT", () => LinkGone(_right, rightNic));
        _rightNic = "right0";
    }

    /// <summary>Waits for the dataplane to come up, gives the hosts its ports, runs the tests through it, and asks it for its counters.</summary>
    private async Task RunDataplaneAsync(string dp, string socket, LabProcess dataplane, TextWriter dataplaneLog)
    {
        JobPort[] taps = [.. ((JobPort[])[_leftPort, _rightPort]).Where(p => p.IsTap)];
        bool Up() => dataplane.AllOutput.Contains("dataplane: running:", StringComparison.Ordinal) && taps.All(t => !LinkGone(dp, t.IfName));
        string made = taps.Length == 0 ? "" : $" and create {string.Join(" and ", taps.Select(t => t.IfName))}";
        await WaitAsync(60, $"the dataplane to say 'running:'{made}", () => Up() || dataplane.HasExited).ConfigureAwait(false);
        string why = "";
        if (dataplane.HasExited || !Up())
        {
            string last = dataplane.AllOutput.Trim().Split('\n').LastOrDefault()?.Trim() ?? "";
            why = $"the dataplane did not come up{(last.Length > 0 ? ": " + last : "")}";
        }
        else
        {
            try
            {
                // A tap is its host's NIC; the dataplane keeps working on its descriptors after the move.
                if (_leftPort.IsTap)
                    _lab.Move(_leftPort.IfName, dp, _left);
                if (_rightPort.IsTap)
                    _lab.Move(_rightPort.IfName, dp, _right);
                HostsUp(_leftPort.HostInterface("left0"), _rightPort.HostInterface("right0"));
                foreach ((JobPort port, string host, string end) in (ValueTuple<JobPort, string, string>[])[(_leftPort, _left, "left0"), (_rightPort, _right, "right0")])
                {
                    // A veth with tx checksumming on hands XDP frames with a partial checksum (only
                    // the pseudo-header's sum in the field): an AF_XDP socket gets no skb state to
                    // say so, and the stack rightly finds them bad. A NIC's wire never carries those,
                    // so the host in front of an afxdp port sends its checksums complete.
                    if (port.Driver == "afxdp" && NetnsLab.Execute("ip", "netns", "exec", host, "ethtool", "-K", end, "tx", "off") is { ExitCode: not 0 } failed)
                        throw new LabException($"ethtool -K {end} tx off in {host}: {failed.Output.Trim()}");
                }
            }
            catch (LabException e)
            {
                Console.Error.WriteLine(e.Message);
                why = "could not give the hosts their NICs and addresses (see above)";
            }
        }
        if (why.Length > 0)
        {
            _report.NotRun("dataplane", why);
        }
        else
        {
            _dataplaneRan = true;
            await RunTestsAsync("dataplane").ConfigureAwait(false);
            if (dataplane.HasExited)
                _report.Say($"  the dataplane ended during the tests (see {_dataplaneLog})", _colors.Red);
            (int code, string netstat) = NetnsLab.Execute(_options.Binary, "ctl", "-s", socket, "netstat", "-s");
            dataplaneLog.WriteLine($"$ dataplane ctl -s {socket} netstat -s\n{netstat.TrimEnd()}{(code == 0 ? "" : $"\nctl netstat -s failed (exit {code})")}");
        }
    }

    /// <summary>The hosts' side, the same in both phases: LEFT's NIC is <paramref name="leftInterface"/>, RIGHT's <paramref name="rightInterface"/>.</summary>
    private void HostsUp(string leftInterface, string rightInterface)
    {
        _rightNic = rightInterface;
        _lab.Up(_left, leftInterface);
        _lab.Address(_left, leftInterface, $"{Left4}/24", $"{Left6}/64");
        _lab.Route(_left, RightNet4, RouterLeft4);
        _lab.Route(_left, RightNet6, RouterLeft6);
        _lab.Up(_right, rightInterface);
        _lab.Address(_right, rightInterface, $"{Right4}/24", $"{Right6}/64");
        _lab.Route(_right, LeftNet4, RouterRight4);
        _lab.Route(_right, LeftNet6, RouterRight6);
    }

    private async Task RunTestsAsync(string phase)
    {
        int port = 5201;
        foreach (JobTest test in JobTest.All)
        {
            if (test.Pings is not null)
                await PingTestAsync(phase, test).ConfigureAwait(false);
            else
                await Iperf3TestAsync(phase, test, port++).ConfigureAwait(false);
        }
    }

    // --- the tests -------------------------------------------------------------------------------

    private static string Destination(int family) => family == 4 ? Right4 : Right6;

    /// <summary>
    /// First the path must answer a ping (within 30 s: the router's neighbour discovery and duplicate
    /// address detection take their time on a loaded machine); if it never does, the path is down and
    /// the iperf3 tests of the family do not run. Then 1000 echo requests, 1 ms apart.
    /// </summary>
    private async Task PingTestAsync(string phase, JobTest test)
    {
        string destination = Destination(test.Family);
        string probe = _lab.File($"{phase}-{test.Key}-probe.txt");
        if (!_pathUp.ContainsKey((phase, test.Family)))
        {
            bool answered = await WaitAsync(30, $"a ping reply from {destination}", async () =>
                (await ToolAsync(_left, 5, probe, "ping", $"-{test.Family}", "-n", "-c", "1", "-W", "1", destination).ConfigureAwait(false)).Exit == 0).ConfigureAwait(false);
            _pathUp[(phase, test.Family)] = answered;
        }
        if (!_pathUp[(phase, test.Family)])
        {
            _report.Result(phase, test, "FAIL", "", "no reply", $"no reply to a ping to {destination} within 30 s");
            return;
        }
        (int count, string interval) = test.Pings!.Value;
        string[] pace = interval == "flood" ? ["-f"] : ["-i", interval];
        (int exit, bool timedOut, string output) = await ToolAsync(_left, 60, _lab.File($"{phase}-{test.Key}.txt"),
            ["ping", $"-{test.Family}", "-n", "-q", "-c", count.ToString(CultureInfo.InvariantCulture), .. pace, "-W", "1", destination]).ConfigureAwait(false);
        string loss = PingLoss().Match(output) is { Success: true } l ? l.Groups[1].Value : "";
        Match rtt = PingRtt().Match(output);
        string avg = rtt.Success ? rtt.Groups["avg"].Value : "";
        string shown = $"{(loss.Length > 0 ? loss : "?")}% loss{(avg.Length > 0 ? $", {avg} ms (max {rtt.Groups["max"].Value})" : "")}";
        string judged = "";
        if (loss.Length > 0)
        {
            _report.Loss(phase, test, loss);
            judged = _report.JudgeLoss(phase, test, loss);
        }
        if (timedOut)
            _report.Result(phase, test, "NOTERM", "", shown, "ping did not end within 60s");
        else if (exit != 0)
            _report.Result(phase, test, "NOEXIT", avg, shown, $"ping exit {exit}");
        else if (avg.Length == 0 || loss.Length == 0)
            _report.Result(phase, test, "FAIL", "", shown, $"no statistics in ping's output ({_lab.File($"{phase}-{test.Key}.txt")})");
        else if (judged.Length > 0)
            _report.Result(phase, test, "FAIL", avg, shown, judged);
        else
            _report.Result(phase, test, "PASS", avg, shown, "");
    }

    /// <summary>An iperf3 client in LEFT to a one-off server in RIGHT.</summary>
    private async Task Iperf3TestAsync(string phase, JobTest test, int port)
    {
        string destination = Destination(test.Family);
        bool udp = test.Kind == "udp";
        if (!_pathUp.GetValueOrDefault((phase, test.Family)))
        {
            _report.Result(phase, test, "NORUN", "", "-", $"path down (no ping reply over IPv{test.Family})");
            return;
        }
        string serverLog = _lab.File($"{phase}-{test.Key}-server.txt");
        await using var serverWriter = new StreamWriter(serverLog) { AutoFlush = true };
        LabProcess server = _lab.Start(_right, "iperf3", ["-s", "-1", "-p", port.ToString(CultureInfo.InvariantCulture)],
            TextWriter.Synchronized(serverWriter), ownSession: true);
        await using (server.ConfigureAwait(false))
        {
            if (!await WaitAsync(30, $"iperf3 -s on port {port} in RIGHT", () => Listening(_right, port)).ConfigureAwait(false))
            {
                await server.StopAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false);
                _report.Result(phase, test, "NORUN", "", "-", $"the iperf3 server did not listen ({serverLog})");
                return;
            }
            // Bounds for a loaded machine: the connection is made as soon as it can be.
            string log = _lab.File($"{phase}-{test.Key}.json");
            int limit = _options.Duration + 60;
            long receiverBefore = ReceiverDrops(test.Family), senderBefore = SenderDrops();
            string[] client =
            [
                "iperf3", $"-{test.Family}", "-c", destination, "-p", port.ToString(CultureInfo.InvariantCulture),
                "-t", _options.Duration.ToString(CultureInfo.InvariantCulture), "-J", "--connect-timeout", "30000",
                .. udp ? (string[])["-u", "-b", _options.UdpRate, "-l", "1400"] : [], // 1400 + 8 + 40 fits a 1500 MTU over IPv6 too
                .. test.Streams > 1 ? (string[])["-P", test.Streams.ToString(CultureInfo.InvariantCulture)] : [],
            ];
            (int exit, bool timedOut, string json) = await ToolAsync(_left, limit, log, client).ConfigureAwait(false);
            await server.StopAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false);

            Iperf3Figures f = Iperf3Figures.Parse(json, udp);
            string shown = "-", onWay = "", judged = "";
            if (f.BitsPerSecond is double bps)
            {
                shown = bps >= 1e9 ? string.Create(CultureInfo.InvariantCulture, $"{bps / 1e9:0.00} Gbit/s") : string.Create(CultureInfo.InvariantCulture, $"{bps / 1e6:0} Mbit/s");
                if (udp && f.LostPackets is long lost && f.Packets is long packets && packets > 0)
                {
                    // On the way: what iperf3 lost less what the receiver counted as its own drops.
                    long atReceiver = ReceiverDrops(test.Family) - receiverBefore;
                    onWay = string.Create(CultureInfo.InvariantCulture, $"{100.0 * Math.Max(0, lost - atReceiver) / packets:0.0}");
                    shown += string.Create(CultureInfo.InvariantCulture, $", {f.LostPercent ?? 0:0.0}% loss, {onWay}% on the way");
                    _jobLog.WriteLine($"{phase} {test.Key}: {lost} of {packets} datagrams lost: {atReceiver} at the receiver, " +
                        $"{SenderDrops() - senderBefore} not taken by the router (the left host NIC tx dropped)");
                    _report.Loss(phase, test, onWay);
                    judged = _report.JudgeLoss(phase, test, onWay);
                }
            }
            string number = f.BitsPerSecond is double n ? n.ToString("R", CultureInfo.InvariantCulture) : "";
            string error = f.Error.Length > 0 ? ": " + f.Error : "";
            if (timedOut)
                _report.Result(phase, test, "NOTERM", "", shown, $"iperf3 did not end within {limit}s");
            else if (exit != 0)
                _report.Result(phase, test, "NOEXIT", number, shown, $"iperf3 exit {exit}{error}");
            else if (f.BitsPerSecond is null or 0)
                _report.Result(phase, test, "FAIL", "", shown, $"no bits/s in iperf3's output{error}");
            else if (udp && onWay.Length == 0)
                _report.Result(phase, test, "FAIL", number, shown, $"no lost and sent datagrams in iperf3's output ({log})");
            else if (judged.Length > 0)
                _report.Result(phase, test, "FAIL", number, shown, judged);
            else
                _report.Result(phase, test, "PASS", number, shown, "");
        }
    }

    /// <summary>
    /// The datagrams RIGHT counted as its own drops so far: its UDP receive errors (a socket buffer
    /// full: iperf3 did not read in time) and its NIC's receive drops.
    /// </summary>
    private long ReceiverDrops(int family)
    {
        long udp = 0;
        string snmp = NetnsLab.Execute("ip", "netns", "exec", _right, "cat", family == 4 ? "/proc/net/snmp" : "/proc/net/snmp6").Output;
        if (family == 4)
        {
            string[] lines = [.. snmp.Split('\n').Where(l => l.StartsWith("Udp:", StringComparison.Ordinal))];
            if (lines.Length >= 2)
            {
                int column = Array.IndexOf(lines[0].Split(' '), "InErrors");
                string[] values = lines[1].Split(' ');
                if (column > 0 && column < values.Length)
                    _ = long.TryParse(values[column], out udp);
            }
        }
        else if (Udp6InErrors().Match(snmp) is { Success: true } m)
        {
            udp = long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
        }
        _ = long.TryParse(NetnsLab.Execute("ip", "netns", "exec", _right, "cat", $"/sys/class/net/{_rightNic}/statistics/rx_dropped").Output.Trim(), out long nic);
        return udp + nic;
    }

    /// <summary>The frames LEFT's NIC could not hand to the router so far (its tx dropped: the dataplane's tap queue full, Linux's veth backlog).</summary>
    private long SenderDrops() =>
        NetnsLab.Execute("ip", "netns", "exec", _left, "sh", "-c", "cat /sys/class/net/*/statistics/tx_dropped").Output
            .Split('\n', StringSplitOptions.RemoveEmptyEntries).Sum(l => long.TryParse(l.Trim(), out long v) ? v : 0);

    // --- the lab's tools and waits ---------------------------------------------------------------

    /// <summary>
    /// Runs a tool inside <paramref name="ns"/>, bounded: SIGTERM after <paramref name="seconds"/>
    /// (SIGKILL 2 s later); its output and errors to <paramref name="log"/>. Its exit status, whether
    /// it was stopped for the time, and its standard output.
    /// </summary>
    private async Task<(int Exit, bool TimedOut, string Output)> ToolAsync(string ns, int seconds, string log, params string[] command)
    {
        _cancel.ThrowIfCancellationRequested();
        await using var writer = new StreamWriter(log) { AutoFlush = true };
        LabProcess process = _lab.Start(ns, command[0], command[1..], TextWriter.Synchronized(writer), ownSession: true);
        await using (process.ConfigureAwait(false))
        {
            bool ended = await process.WaitAsync(TimeSpan.FromSeconds(seconds), _cancel).ConfigureAwait(false);
            if (!ended)
                await process.StopAsync(TimeSpan.FromSeconds(2), Signal.Term).ConfigureAwait(false);
            // Interrupted, whether or not the tool ended meanwhile: no more cells.
            _cancel.ThrowIfCancellationRequested();
            return (ended ? process.ExitCode : -1, !ended, process.Output);
        }
    }

    /// <summary>Polls <paramref name="condition"/> every 0.1 s until it holds (true); after <paramref name="seconds"/> says what did not happen (false).</summary>
    private async Task<bool> WaitAsync(int seconds, string what, Func<Task<bool>> condition)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition().ConfigureAwait(false))
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(seconds))
            {
                Console.Error.WriteLine($"lab: timed out after {seconds}s waiting for: {what}");
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
            Console.Error.WriteLine($"lab: timed out after {seconds}s waiting for: {what}");
    }

    private static bool LinkGone(string ns, string name) => NetnsLab.Execute("ip", "-n", ns, "link", "show", "dev", name).ExitCode != 0;

    /// <summary>Whether something listens on TCP <paramref name="port"/> inside <paramref name="ns"/> (iperf3's control connection).</summary>
    private static bool Listening(string ns, int port) =>
        NetnsLab.Execute("ip", "netns", "exec", ns, "ss", "-Hlnt", $"sport = :{port}").Output.Trim().Length > 0;

    [GeneratedRegex(@" ([0-9.]+)% packet loss")]
    private static partial Regex PingLoss();

    [GeneratedRegex(@"(?m)^rtt min/avg/max/mdev = [0-9.]+/(?<avg>[0-9.]+)/(?<max>[0-9.]+)/")]
    private static partial Regex PingRtt();

    [GeneratedRegex(@"(?m)^Udp6InErrors\s+(\d+)")]
    private static partial Regex Udp6InErrors();
}

/// <summary>What an iperf3 <c>-J</c> run reports: received bits/s; for UDP the lost share, lost and sent datagrams; its error.</summary>
internal sealed record Iperf3Figures(double? BitsPerSecond, double? LostPercent, long? LostPackets, long? Packets, string Error)
{
    /// <summary>The figures in <paramref name="json"/>; all null, and the reason as the error, when it is no JSON.</summary>
    public static Iperf3Figures Parse(string json, bool udp)
    {
        try
        {
            using JsonDocument doc = JsonDocument.Parse(json);
            JsonElement root = doc.RootElement;
            string error = root.TryGetProperty("error", out JsonElement e) && e.ValueKind == JsonValueKind.String ? e.GetString()! : "";
            if (!root.TryGetProperty("end", out JsonElement end) || end.ValueKind != JsonValueKind.Object)
                return new(null, null, null, null, error);
            JsonElement sum = end.TryGetProperty("sum_received", out JsonElement r) ? r
                : udp && end.TryGetProperty("sum", out JsonElement s) ? s : default;
            if (sum.ValueKind != JsonValueKind.Object)
                return new(null, null, null, null, error);
            double? Real(string name) => sum.TryGetProperty(name, out JsonElement v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : null;
            long? Whole(string name) => sum.TryGetProperty(name, out JsonElement v) && v.ValueKind == JsonValueKind.Number ? v.GetInt64() : null;
            return udp
                ? new(Real("bits_per_second"), Real("lost_percent"), Whole("lost_packets"), Whole("packets"), error)
                : new(Real("bits_per_second"), null, null, null, error);
        }
        catch (JsonException e)
        {
            return new(null, null, null, null, $"no JSON from iperf3: {e.Message}");
        }
    }
}
