using System.Globalization;
using System.Text.RegularExpressions;

namespace Dataplane.Conformance.Jobs;

/// <summary>What one relay benchmark runs: the binary, the test length, the iperf3 stream counts, the idle pairs, the families, where the logs go.</summary>
/// <param name="Binary">The dataplane binary (its rows are NORUN when it is not there).</param>
/// <param name="Duration">Seconds per iperf3 and wrk test.</param>
/// <param name="Streams">The iperf3 connection counts (<c>-P</c>), one column each.</param>
/// <param name="Pairs">How many idle connections the memory test opens through a relay.</param>
/// <param name="Families">4, or 4 and 6.</param>
/// <param name="Logs">The logs' folder (empty or new); null for a new temp folder.</param>
/// <param name="Id">The lab's id: its namespaces are ID-left, ID-right, ...</param>
/// <param name="Install">Whether to apt-get the missing peers (haproxy, nginx-light, wrk, ...) at start when root.</param>
internal sealed partial record RelayBenchOptions(
    string Binary, int Duration, IReadOnlyList<int> Streams, int Pairs, IReadOnlyList<int> Families, string? Logs, string Id, bool Install)
{
    public const string Usage = """
        usage: dataplane-conformance relay-bench [--binary FILE] [--duration SECONDS] [--streams N,N,...]
                                                 [--pairs N] [--ipv6] [--no-install] [--logs DIR] [--id NAME]

          --binary FILE       the dataplane binary (default: out/dataplane, from ./build.sh publish)
          --duration SECONDS  length of each iperf3 and wrk test (default: $LAB_DURATION, or 5)
          --streams N,N,...   iperf3 connection counts, one column each (default: 1,2,4,10)
          --pairs N           idle connections the memory test opens through a relay (default: 1000)
          --ipv6              IPv6 rows too (default: IPv4 only)
          --no-install        do not apt-get missing peers (haproxy, nginx-light, wrk, iperf3, socat) as root
          --logs DIR          keep the logs in DIR (empty or new; default: a new temp dir)
          --id NAME           name the lab's namespaces NAME-left, NAME-right, ... (default: $LAB_ID, or rb-PID)

        The TCP relay benchmark of issue 14, on the main job's lab (left host -- router -- right host).
        The router is Linux (forwarding; HAProxy in TCP mode with splicing; socat, fork per
        connection), then the dataplane with 'app relay tcp ... mode splice' and 'mode copy'. Three
        tables: iperf3 Gbit/s for each stream count; wrk connections/s of 1 KiB HTTP requests, each
        on a new connection, from nginx; RSS bytes per idle connection pair of HAProxy and of the
        dataplane's splice relay. Each with the dataplane rows' ratio to Linux and to HAProxy.
        A cell that cannot run (a tool missing, the dataplane's TCP relay not there) is NORUN with
        the reason. Runs as root. Exit 0 when every runnable cell ran (PASS or NORUN), 1 when one
        failed or the job could not start, 2 for usage, 130 when interrupted (everything made is removed).
        """;

    /// <summary>Reads the options (and the LAB_* environment defaults); a usage error is an <see cref="ArgumentException"/>.</summary>
    public static RelayBenchOptions Parse(IReadOnlyList<string> args)
    {
        string binary = "out/dataplane";
        string duration = Environment.GetEnvironmentVariable("LAB_DURATION") is { Length: > 0 } d ? d : "5";
        string id = Environment.GetEnvironmentVariable("LAB_ID") is { Length: > 0 } i ? i : $"rb-{Environment.ProcessId}";
        string streams = "1,2,4,10", pairs = "1000";
        string? logs = null;
        bool ipv6 = false, install = true;
        for (int k = 0; k < args.Count; k++)
        {
            string Value() => k + 1 < args.Count ? args[++k] : throw new ArgumentException($"{args[k]} needs a value");
            switch (args[k])
            {
                case "--binary": binary = Value(); break;
                case "--duration": duration = Value(); break;
                case "--streams": streams = Value(); break;
                case "--pairs": pairs = Value(); break;
                case "--ipv6": ipv6 = true; break;
                case "--no-install": install = false; break;
                case "--logs": logs = Value(); break;
                case "--id": id = Value(); break;
                default: throw new ArgumentException($"unknown argument '{args[k]}'");
            }
        }
        int seconds = Whole(duration, 1, 3600) ?? throw new ArgumentException($"--duration must be a whole number of seconds (1-3600), not '{duration}'");
        int count = Whole(pairs, 1, 20000) ?? throw new ArgumentException($"--pairs must be a whole number (1-20000), not '{pairs}'");
        int?[] columns = [.. streams.Split(',').Select(s => Whole(s.Trim(), 1, 128))];
        if (columns.Length == 0 || columns.Any(c => c is null) || columns.Distinct().Count() != columns.Length)
            throw new ArgumentException($"--streams must be distinct whole numbers 1-128 joined by commas (1,2,4,10), not '{streams}'");
        if (!NameForm().IsMatch(id) || id.Length > 20)
            throw new ArgumentException($"--id must be letters, digits and dashes, at most 20, not '{id}'");
        return new RelayBenchOptions(Path.GetFullPath(binary), seconds, [.. columns.Select(c => c!.Value)], count,
            ipv6 ? [4, 6] : [4], logs, id, install);
    }

    /// <summary>A whole number from <paramref name="min"/> to <paramref name="max"/> written plainly (no sign, no leading zero), or null.</summary>
    private static int? Whole(string s, int min, int max) =>
        s.Length > 0 && s[0] != '0' && s.All(char.IsAsciiDigit) && int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out int v) && v >= min && v <= max
            ? v
            : null;

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9-]*$")]
    private static partial Regex NameForm();
}
