using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Dataplane.Conformance.Jobs;

/// <summary>One test of the main job: its key, its label in the table, its name in OpenBSD's form, and its iperf3 streams.</summary>
/// <param name="Key">icmp4, tcp6, tcp4-P15, udp4, ...: protocol, family, and the streams when more than one.</param>
/// <param name="Label">The table's row label.</param>
/// <param name="Name">OpenBSD's test name: protocol and family, tool, streams, role.</param>
/// <param name="Streams">iperf3's parallel streams (-P); 1 for one.</param>
/// <param name="Pings">A ping test's echo requests and their spacing as ping takes it (-i), or "flood" (-f).</param>
internal sealed record JobTest(string Key, string Label, string Name, int Streams = 1, (int Count, string Interval)? Pings = null)
{
    /// <summary>icmp, tcp or udp.</summary>
    public string Kind => Key[..Key.IndexOfAny(['4', '6'])];

    /// <summary>4 or 6.</summary>
    public int Family => Key[Key.IndexOfAny(['4', '6'])] - '0';

    /// <summary>
    /// The tests, in the table's order: ping at three paces (1000 at 1 ms; a flood, each request
    /// as soon as the last is answered, so the router never idles; one a second for 10 s, so each
    /// request finds an idle router that must wake), TCP with one stream and with 15 (as the
    /// conformance matrix's parallel tests: one stream shows what one flow's path costs, 15 what
    /// both workers carry when the flows spread over them), UDP at its fixed rate with one.
    /// </summary>
    public static readonly JobTest[] All =
    [
        new("icmp4", "icmp4 ping", "icmp4ping", Pings: (1000, "0.001")),
        new("icmp6", "icmp6 ping", "icmp6ping", Pings: (1000, "0.001")),
        new("icmp4-f", "icmp4 ping -f", "icmp4ping-flood", Pings: (5000, "flood")),
        new("icmp6-f", "icmp6 ping -f", "icmp6ping-flood", Pings: (5000, "flood")),
        new("icmp4-1s", "icmp4 ping -i 1", "icmp4ping-idle", Pings: (10, "1")),
        new("icmp6-1s", "icmp6 ping -i 1", "icmp6ping-idle", Pings: (10, "1")),
        new("tcp4", "tcp4 iperf3", "tcp4iperf-single-forward"),
        new("tcp4-P15", "tcp4 iperf3 -P15", "tcp4iperf-parallel-forward", Streams: 15),
        new("tcp6", "tcp6 iperf3", "tcp6iperf-single-forward"),
        new("tcp6-P15", "tcp6 iperf3 -P15", "tcp6iperf-parallel-forward", Streams: 15),
        new("udp4", "udp4 iperf3", "udp4iperf-single-forward"),
        new("udp6", "udp6 iperf3", "udp6iperf-single-forward"),
    ];

    /// <summary>The label column's width: the longest label.</summary>
    public static readonly int LabelWidth = All.Max(t => t.Label.Length);
}

/// <summary>A cell of the table: the status, the number compared (rtt in ms, received bits/s), what is shown, why it did not pass.</summary>
internal sealed record Cell(string Status, string Number, string Shown, string Message);

/// <summary>
/// The main job's results: each cell as it ends (a line on the terminal and in job.log, a result in
/// OpenBSD's form in results.txt), the loss judgement, and the table of both routers side by side.
/// </summary>
internal sealed partial class MainJobReport(string[] phases, string resultsFile, TextWriter jobLog, Colors colors)
{
    /// <summary>
    /// The loss bounds in percentage points. The dataplane may lose 5 points more than Linux: what
    /// one wait for a CPU of the length measured with both cores busy (~0.3 s) can cost once its
    /// queues are full. Its tap queue holds 1000 frames, 0.22 s of UDP at 50 Mbit/s; its afpacket
    /// ring 64 blocks, handed over one a kernel tick (4 ms at HZ=250), ~0.25 s of the ping flood's
    /// replies: a 0.3 s wait costs ~2 % of a 5 s UDP run, ~5 % of the 1 s flood. A fault that loses
    /// steadily shows above that (and the tests hold the dataplane to far less: PingFloodLabTests to
    /// no loss of 10,000 pings, IperfLabTests to under 1 % of UDP). Shorter runs than the default 5 s
    /// are judged more strictly, as a wait weighs more in them. Linux may lose 1 % (10 pings; 1 % of
    /// the datagrams on the way): it lost none in any run, loaded or not.
    /// </summary>
    public const double LossMargin = 5, LossLimit = 1;

    private readonly Dictionary<(string Phase, string Test), Cell> _cells = [];
    private readonly Dictionary<(string Phase, string Test), string> _loss = [];

    /// <summary>Says <paramref name="line"/> on the terminal and in job.log.</summary>
    public void Say(string line, string color = "")
    {
        Console.Out.WriteLine(color.Length > 0 ? $"{color}{line}{colors.Reset}" : line);
        jobLog.WriteLine(Escapes().Replace(line, ""));
    }

    /// <summary>Notes the loss figure of a cell (as shown: "0", "0.1"), for Linux's to be the dataplane's reference.</summary>
    public void Loss(string phase, JobTest test, string percent) => _loss[(phase, test.Key)] = percent;

    /// <summary>
    /// Nothing when <paramref name="percent"/> loss passes, else why not: Linux's own cells against
    /// the absolute bound, the dataplane's against Linux's figure in the same run plus the margin.
    /// </summary>
    public string JudgeLoss(string phase, JobTest test, string percent)
    {
        string what = test.Kind == "udp" ? "loss on the way" : "loss";
        double loss = Number(percent);
        if (phase == "linux")
            return loss > LossLimit ? $"{what} {percent}% is over the {Format(LossLimit)}% Linux may lose" : "";
        if (!_loss.TryGetValue(("linux", test.Key), out string? reference))
            return $"no loss figure of Linux to judge {percent}% against (Linux: {Status("linux", test)})";
        double bound = Number(reference) + LossMargin;
        return loss > bound ? $"{what} {percent}%: more than Linux's {reference}% + {Format(LossMargin)} points" : "";
    }

    /// <summary>Records a cell: a line now, and a result in results.txt (<c>STATUS&lt;TAB&gt;test&lt;TAB&gt;message</c>, then <c>VALUE n unit</c>).</summary>
    public void Result(string phase, JobTest test, string status, string number, string shown, string message)
    {
        _cells[(phase, test.Key)] = new Cell(status, number, shown, message);
        var result = new StringBuilder($"{status}\tlinux-{phase}-linux-{test.Name}\t{(message.Length > 0 ? message : shown)}\n");
        if (number.Length > 0)
            result.Append(test.Kind == "icmp" ? $"VALUE {number} ms rtt\n" : $"VALUE {number} bits/sec recv\n");
        File.AppendAllText(resultsFile, result.ToString());
        string color = status == "PASS" ? colors.Green : colors.Red;
        string note = message.Length > 0 ? $"  ({message})" : "";
        Console.Out.WriteLine($"  {phase,-10} {test.Label.PadRight(JobTest.LabelWidth)} {color}{status,-6}{colors.Reset} {shown}{note}");
        jobLog.WriteLine($"  {phase,-10} {test.Label.PadRight(JobTest.LabelWidth)} {status,-6} {shown}{note}");
    }

    /// <summary>Every cell of <paramref name="phase"/> NORUN, for <paramref name="why"/>.</summary>
    public void NotRun(string phase, string why)
    {
        foreach (JobTest test in JobTest.All)
            Result(phase, test, "NORUN", "", "-", why);
    }

    /// <summary>A cell's status; NORUN when it never ran.</summary>
    public string Status(string phase, JobTest test) => _cells.TryGetValue((phase, test.Key), out Cell? c) ? c.Status : "NORUN";

    /// <summary>How many cells of the table passed, of how many.</summary>
    public (int Passed, int Total) Count() =>
        (phases.Sum(p => JobTest.All.Count(t => Status(p, t) == "PASS")), phases.Length * JobTest.All.Length);

    /// <summary>The table, on the terminal and in job.log: a column per phase, their ratio, the bounds, and why each cell that did not pass did not.</summary>
    public void Table()
    {
        bool both = phases.Length == 2;
        Say("");
        string header = "test".PadRight(JobTest.LabelWidth) + string.Concat(phases.Select(p => $" | {p,-47}")) + (both ? " | dataplane/linux" : "");
        Say(header, colors.Bold);
        Say(new string([.. header.Select(c => c == '|' ? '|' : '-')]));
        foreach (JobTest test in JobTest.All)
        {
            var plain = new StringBuilder($"{test.Label.PadRight(JobTest.LabelWidth)}");
            var shown = new StringBuilder(plain.ToString());
            foreach (string phase in phases)
            {
                Cell? c = _cells.GetValueOrDefault((phase, test.Key));
                string status = c?.Status ?? "NORUN";
                string cell = $"{status,-6} {(c?.Shown is { Length: > 0 } s ? s : "-"),-40}";
                plain.Append($" | {cell}");
                shown.Append($" | {(status == "PASS" ? colors.Green : colors.Red)}{cell[..6]}{colors.Reset}{cell[6..]}");
            }
            if (both)
            {
                string ratio = Ratio(test);
                plain.Append($" | {ratio}");
                shown.Append($" | {ratio}");
            }
            Console.Out.WriteLine(shown);
            jobLog.WriteLine(plain);
        }
        Say("");
        Say("ping: loss and average rtt (the ratio compares rtt: lower is better); iperf3: received bits/s (higher is better)");
        Say("udp: iperf3's loss, and the part of it on the way (not the right host's own drops)");
        Say(both
            ? $"loss judged: the dataplane's at most Linux's + {Format(LossMargin)} points (ping) or + {Format(LossMargin)} points (udp on the way); Linux's at most {Format(LossLimit)}% (ping) and {Format(LossLimit)}% (udp on the way)"
            : $"loss judged: Linux's at most {Format(LossLimit)}% (ping) and {Format(LossLimit)}% (udp on the way)");
        bool first = true;
        foreach (string phase in phases)
        {
            foreach (JobTest test in JobTest.All)
            {
                if (Status(phase, test) == "PASS")
                    continue;
                if (first)
                    Say("not passed:");
                first = false;
                string message = _cells.GetValueOrDefault((phase, test.Key))?.Message is { Length: > 0 } m ? m : "not run";
                Say($"  {phase} {test.Label}: {Status(phase, test)}: {message}");
            }
        }
    }

    /// <summary>The dataplane's number over Linux's, when both cells passed.</summary>
    private string Ratio(JobTest test)
    {
        if (_cells.GetValueOrDefault(("dataplane", test.Key)) is not { Status: "PASS", Number.Length: > 0 } a ||
            _cells.GetValueOrDefault(("linux", test.Key)) is not { Status: "PASS", Number.Length: > 0 } b)
        {
            return "-";
        }
        double linux = Number(b.Number);
        return linux > 0 ? (Number(a.Number) / linux).ToString("0.00", CultureInfo.InvariantCulture) : "-";
    }

    [GeneratedRegex("\e\\[[0-9;]*m")]
    private static partial Regex Escapes();

    private static double Number(string s) => double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) ? v : 0;

    private static string Format(double v) => v.ToString(CultureInfo.InvariantCulture);
}

/// <summary>The terminal's colors: none in CI, with NO_COLOR, or when the output is not a terminal.</summary>
internal sealed record Colors(string Bold, string Red, string Green, string Yellow, string Reset)
{
    /// <summary>The colors for this process's standard output.</summary>
    public static Colors ForOutput() =>
        !Console.IsOutputRedirected && Environment.GetEnvironmentVariable("NO_COLOR") is null && Environment.GetEnvironmentVariable("CI") != "true"
            ? new Colors("\e[1m", "\e[31m", "\e[32m", "\e[33m", "\e[0m")
            : new Colors("", "", "", "", "");
}
