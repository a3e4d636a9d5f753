using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Dataplane.Conformance.Jobs;

/// <summary>
/// The relay benchmark's results: each cell as it ends (a line on the terminal and in job.log, a
/// result in OpenBSD's form in results.txt), and at the end its tables, per family: iperf3 Gbit/s
/// by connection count, wrk connections a second, RSS bytes per idle pair.
/// </summary>
internal sealed partial class RelayBenchReport
{
    private static readonly string[] ThroughputRows = [RelayBench.LinuxRow, RelayBench.HaProxyRow, RelayBench.SocatRow, RelayBench.SpliceRow, RelayBench.CopyRow];
    private static readonly string[] MemoryRows = [RelayBench.HaProxyRow, RelayBench.SpliceRow];

    private readonly string _resultsFile;
    private readonly TextWriter _jobLog;
    private readonly Colors _colors;
    private readonly RelayBenchOptions _options;
    private readonly Dictionary<(string Kind, int Family), BenchTable> _tables = [];

    /// <summary>The report of a run of <paramref name="options"/>; results to <paramref name="resultsFile"/>, every line also to <paramref name="jobLog"/>.</summary>
    public RelayBenchReport(RelayBenchOptions options, string resultsFile, TextWriter jobLog, Colors colors)
    {
        _options = options;
        _resultsFile = resultsFile;
        _jobLog = jobLog;
        _colors = colors;
        File.WriteAllText(resultsFile, "");
        foreach (int f in options.Families)
        {
            _tables[("iperf3", f)] = Iperf3Table(f, options.Streams);
            _tables[("wrk", f)] = WrkTable(f);
            _tables[("memory", f)] = MemoryTable(f, options.Pairs);
        }
    }

    /// <summary>The iperf3 table of <paramref name="family"/>: a column per connection count.</summary>
    public static BenchTable Iperf3Table(int family, IReadOnlyList<int> streams) => new(
        $"iperf3 TCP over IPv{family}, left to right through the router: Gbit/s received, by connections (-P)",
        [.. streams.Select(Column)], ThroughputRows, Ratios, "0.00");

    /// <summary>The wrk table of <paramref name="family"/>: one column.</summary>
    public static BenchTable WrkTable(int family) => new(
        $"HTTP GET of {RelayBenchConfigs.SmallFileBytes} bytes from nginx, a new connection per request (wrk -c 50 -t 2, Connection: close), IPv{family}: connections/s",
        ["conn/s"], ThroughputRows, Ratios, "0");

    /// <summary>The memory table of <paramref name="family"/>: one column; lower is better.</summary>
    public static BenchTable MemoryTable(int family, int pairs) => new(
        $"memory per idle connection pair, {pairs} pairs through the relay, IPv{family}: RSS growth of the relay's process in bytes per pair (lower is better)",
        ["bytes/pair"], MemoryRows, [(RelayBench.SpliceRow, RelayBench.HaProxyRow)], "0");

    /// <summary>The ratio rows of the throughput tables: each dataplane row over Linux forwarding and over HAProxy.</summary>
    private static readonly (string, string)[] Ratios =
    [
        (RelayBench.SpliceRow, RelayBench.LinuxRow), (RelayBench.SpliceRow, RelayBench.HaProxyRow),
        (RelayBench.CopyRow, RelayBench.LinuxRow), (RelayBench.CopyRow, RelayBench.HaProxyRow),
    ];

    /// <summary>The iperf3 column of <paramref name="streams"/> connections.</summary>
    public static string Column(int streams) => $"P{streams}";

    /// <summary>Says <paramref name="line"/> on the terminal and in job.log.</summary>
    public void Say(string line, string color = "")
    {
        Console.Out.WriteLine(color.Length > 0 ? $"{color}{line}{_colors.Reset}" : line);
        _jobLog.WriteLine(Escapes().Replace(line, ""));
    }

    /// <summary>Writes <paramref name="line"/> to job.log only.</summary>
    public void Log(string line) => _jobLog.WriteLine(line);

    /// <summary>Whether the memory table has a row for <paramref name="row"/>.</summary>
    public bool HasMemoryRow(string row) => MemoryRows.Contains(row);

    /// <summary>Records an iperf3 cell.</summary>
    public void Iperf3(string row, int family, int streams, BenchCell cell) =>
        Record("iperf3", row, family, Column(streams), cell, $"tcp{family}iperf-P{streams}-relay", cell.Value is double g ? $"{(g * 1e9).ToString("R", CultureInfo.InvariantCulture)} bits/sec recv" : null);

    /// <summary>Records a wrk cell.</summary>
    public void Wrk(string row, int family, BenchCell cell) =>
        Record("wrk", row, family, "conn/s", cell, $"tcp{family}wrk-close-relay", cell.Value is double r ? $"{r.ToString("R", CultureInfo.InvariantCulture)} conn/sec" : null);

    /// <summary>Records a memory cell.</summary>
    public void Memory(string row, int family, BenchCell cell) =>
        Record("memory", row, family, "bytes/pair", cell, $"tcp{family}idle-{_options.Pairs}-relay", cell.Value is double b ? $"{b.ToString("0", CultureInfo.InvariantCulture)} bytes/pair rss" : null);

    /// <summary>Every cell of <paramref name="row"/>, in every table and family, NORUN for <paramref name="why"/>.</summary>
    public void RowNotRun(string row, string why)
    {
        foreach (int f in _options.Families)
        {
            if (HasMemoryRow(row))
                Memory(row, f, BenchCell.NotRun(why));
            foreach (int streams in _options.Streams)
                Iperf3(row, f, streams, BenchCell.NotRun(why));
            Wrk(row, f, BenchCell.NotRun(why));
        }
    }

    private void Record(string kind, string row, int family, string column, BenchCell cell, string test, string? value)
    {
        BenchTable table = _tables[(kind, family)];
        if (!table.Rows.Contains(row))
            return;
        table.Set(row, column, cell);
        var result = new StringBuilder($"{cell.Status}\tlinux-{row.Replace(' ', '-')}-linux-{test}\t{(cell.Message.Length > 0 ? cell.Message : cell.Shown)}\n");
        if (value is not null && cell.Status == "PASS")
            result.Append($"VALUE {value}\n");
        File.AppendAllText(_resultsFile, result.ToString());
        string color = cell.Status == "PASS" ? _colors.Green : cell.Status == "NORUN" ? _colors.Yellow : _colors.Red;
        string note = cell.Message.Length > 0 ? $"  ({cell.Message})" : "";
        string label = $"{kind} IPv{family} {column}";
        Console.Out.WriteLine($"  {row,-17} {label,-17} {color}{cell.Status,-6}{_colors.Reset} {cell.Shown}{note}");
        _jobLog.WriteLine($"  {row,-17} {label,-17} {cell.Status,-6} {cell.Shown}{note}");
    }

    /// <summary>The tables, on the terminal and in job.log.</summary>
    public void Tables()
    {
        foreach (int f in _options.Families)
        {
            foreach (string kind in (string[])["iperf3", "wrk", "memory"])
            {
                Say("");
                IReadOnlyList<string> lines = _tables[(kind, f)].Lines();
                Say(lines[0], _colors.Bold);
                foreach (string line in lines.Skip(1))
                    Say(line);
            }
        }
        Say("");
        Say("haproxy: TCP mode, option splice-request and splice-response (kernel splicing both ways), nbthread 2; socat: fork, a child per connection;");
        Say("the dataplane: tap left, afpacket right, TSO and LRO on, 2 workers, app relay tcp ... mode splice|copy; ratios where both cells passed");
    }

    /// <summary>How many cells ran (not NORUN), could not run, and failed (ran and did not pass).</summary>
    public (int Ran, int NotRun, int Failed) Count()
    {
        BenchCell[] all = [.. _tables.Values.SelectMany(t => t.Cells)];
        return (all.Count(c => c.Status != "NORUN"), all.Count(c => c.Status == "NORUN"), all.Count(c => c.Failed));
    }

    [GeneratedRegex("\e\\[[0-9;]*m")]
    private static partial Regex Escapes();
}
