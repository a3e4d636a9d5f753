using System.Text.Json;
using System.Text.RegularExpressions;
using Dataplane.Labs;
using Dataplane.Labs.Guest;
using static Dataplane.Build.Commands;

namespace Dataplane.Build.Testing;

/// <summary>
/// The quick runs of the two lab programs, judged from the result files they write, not from what
/// they print: the main job's Linux-router phase (results.txt) and the conformance matrix's quick
/// subset (run.json). Each must also leave no namespace of its own behind.
/// </summary>
internal static partial class LabChecks
{
    /// <summary>
    /// The main job's Linux-router phase, 1 s per iperf3 test, under its own lab id: twelve passing
    /// results and no namespace left. (The dataplane phase needs the stack; <c>./build.sh run</c> runs it.)
    /// </summary>
    public static void MainJob(Terminal terminal, Tally tally)
    {
        const string name = "lab (linux router)";
        terminal.Step("lab: main job, Linux-router phase");
        if (!Environment.IsPrivilegedProcess)
        {
            tally.Record(name, 0, 0, 1, "needs root for network namespaces");
            return;
        }
        if (((string[])["ip", "ss", "ping", "iperf3"]).FirstOrDefault(t => !Has(t)) is string tool)
        {
            tally.Record(name, 0, 0, 1, $"{tool} not installed");
            return;
        }
        string id = $"dpl-test-{Environment.ProcessId}", log = Path.Combine(Out, "lab.log"), logs = Path.Combine(Out, "lab-logs");
        if (Directory.Exists(logs))
            Directory.Delete(logs, recursive: true);
        int status = Logged(log, TimeSpan.FromSeconds(300), TimeSpan.FromSeconds(5), "dotnet",
            [Conformance, "main-job", "--id", id, "--linux-only", "--duration", "1", "--logs", logs]);
        string results = Path.Combine(logs, "results.txt");
        // OpenBSD's result lines: STATUS<TAB>test<TAB>message, each followed by VALUE lines.
        int passes = File.Exists(results) ? File.ReadAllLines(results).Count(l => l.Split('\t') is ["PASS", _, _]) : 0;
        int passed = 0, failed = 0;
        void Expect(string what, bool holds)
        {
            if (holds)
            {
                passed++;
                return;
            }
            failed++;
            Console.Out.WriteLine($"    {terminal.Red}FAILED: lab: {what}{terminal.Reset}");
        }
        Expect($"exits 0 (exit {status})", status == 0);
        // One PASS per test of the main job (JobTest.All): ping at three paces and iperf3, IPv4 and IPv6.
        Expect($"twelve PASS results in {Path.GetRelativePath(Root, results)} ({passes})", passes == 12);
        Expect($"leaves no namespace {id}-*", !Namespaces().Any(n => n.StartsWith(id + "-", StringComparison.Ordinal)));
        string said = File.ReadAllText(log);
        Console.Out.WriteLine(failed > 0
            ? Indented(said, 25)
            : Indented(string.Join('\n', said.Split('\n').Where(l => TableRow().IsMatch(l)))));
        tally.Record(name, passed, failed, 0);
    }

    /// <summary>
    /// The quick subset of the conformance matrix (a few tests, 2 s each, the first driver of the
    /// namespace lab), with the dataplane and with Linux; each result counts once, a known NORUN as
    /// skipped, as the runner counts them.
    /// </summary>
    public static void ConformanceQuick(Terminal terminal, Tally tally)
    {
        const string name = "conformance (quick)";
        terminal.Step("conformance matrix, quick subset");
        if (!Environment.IsPrivilegedProcess)
        {
            tally.Record(name, 0, 0, 1, "needs root for network namespaces");
            return;
        }
        if (!File.Exists(Binary) || !File.Exists(Conformance))
        {
            tally.Record(name, 0, 1, 0, "no binary or no runner (see above)");
            return;
        }
        string results = Path.Combine(Out, "conformance-quick"), log = Path.Combine(Out, "conformance-quick.log");
        if (Directory.Exists(results))
            Directory.Delete(results, recursive: true);
        // The runner's namespaces are dplcPID-*, its own pid: the dotnet host runs it in-process.
        using var writer = new StreamWriter(log) { AutoFlush = true };
        using var runner = new LabProcess("dotnet", [Conformance, "run", "--quick", "--results", results, "--binary", Binary], TextWriter.Synchronized(writer));
        string prefix = $"dplc{runner.Id}-";
        int status = runner.WaitAsync(TimeSpan.FromSeconds(300)).GetAwaiter().GetResult() ? runner.ExitCode : -1;
        if (status == -1)
            runner.StopAsync(TimeSpan.FromSeconds(10), Signal.Term).GetAwaiter().GetResult();
        Console.Out.WriteLine(Indented(runner.AllOutput, 40, skipBlank: true));

        int passed = 0, failed = 0, skipped = 0, runs = 0;
        foreach (string file in Directory.Exists(results) ? Directory.EnumerateFiles(results, "run.json", SearchOption.AllDirectories) : [])
        {
            runs++;
            using JsonDocument run = JsonDocument.Parse(File.ReadAllText(file));
            foreach (JsonElement row in run.RootElement.GetProperty("rows").EnumerateArray())
            {
                foreach (string side in (string[])["dataplane", "linux"])
                {
                    if (!row.TryGetProperty(side, out JsonElement r) || r.ValueKind != JsonValueKind.Object)
                        continue;
                    string result = r.GetProperty("status").GetString() ?? "";
                    bool known = r.TryGetProperty("known", out JsonElement k) && k.ValueKind == JsonValueKind.True;
                    if (result == "PASS")
                        passed++;
                    else if (result == "NORUN" && known)
                        skipped++;
                    else
                        failed++;
                }
            }
        }
        if (runs == 0)
        {
            tally.Record(name, 0, 1, 0, $"no results: exit {status}");
            return;
        }
        if (passed + failed + skipped == 0)
        {
            tally.Record(name, 0, 1, 0, $"no test ran (exit {status})");
            return;
        }
        string note = "page: out/conformance-quick/index.html";
        if (status is not (0 or 1) && failed == 0)
        {
            // Stored results, but the runner did not end with its verdict (it crashed, or was stopped).
            failed++;
            note = $"the runner exited {status}; {note}";
        }
        if (Namespaces().Any(n => n.StartsWith(prefix, StringComparison.Ordinal)))
        {
            failed++;
            Console.Out.WriteLine($"    {terminal.Red}FAILED: the conformance runner left a namespace {prefix}* behind{terminal.Reset}");
        }
        tally.Record(name, passed, failed, skipped, note);
    }

    /// <summary>The rows of the qemu lab's quick run that must PASS for both systems under test: ping and iperf3 forwarded through the guest.</summary>
    internal static readonly string[] QemuMustPass =
    [
        "linux-dataplane-linux-icmp4ping-flood",
        "linux-dataplane-linux-tcp6iperf-single-forward",
    ];

    /// <summary>
    /// The quick subset on the qemu lab (issue 16): the QEMU test guest as the system under test
    /// with two virtio-nets, the dataplane on them through vfio-pci, then Linux on their kernel
    /// driver; two boots. It must end with results for both (run.json, column vio), PASS for the
    /// forwarded ping and iperf3 rows (<see cref="QemuMustPass"/>), and leave no namespace and no
    /// QEMU of its own. Skipped where the guest cannot boot (<see cref="QemuGuest.CannotBootBecause"/>).
    /// </summary>
    public static void ConformanceQuickQemu(Terminal terminal, Tally tally)
    {
        const string name = "conformance (quick, qemu vio)";
        terminal.Step("conformance matrix, quick subset, the QEMU guest as the system under test (virtio-net)");
        if (QemuGuest.CannotBootBecause() is string why)
        {
            tally.Record(name, 0, 0, 1, why);
            return;
        }
        if (!File.Exists(Binary) || !File.Exists(Conformance))
        {
            tally.Record(name, 0, 1, 0, "no binary or no runner (see above)");
            return;
        }
        string results = Path.Combine(Out, "conformance-quick-qemu"), log = Path.Combine(Out, "conformance-quick-qemu.log");
        if (Directory.Exists(results))
            Directory.Delete(results, recursive: true);
        using var writer = new StreamWriter(log) { AutoFlush = true };
        using var runner = new LabProcess("dotnet", [Conformance, "run", "--lab", "qemu", "--driver", "virtio-net", "--quick", "--results", results, "--binary", Binary],
            TextWriter.Synchronized(writer));
        string prefix = $"dplc{runner.Id}-";
        int status = runner.WaitAsync(TimeSpan.FromSeconds(420)).GetAwaiter().GetResult() ? runner.ExitCode : -1;
        if (status == -1)
            runner.StopAsync(TimeSpan.FromSeconds(60), Signal.Term).GetAwaiter().GetResult(); // its clean-up stops QEMU and its commands in the guest
        Console.Out.WriteLine(Indented(runner.AllOutput, 40, skipBlank: true));

        int passed = 0, failed = 0;
        void Expect(string what, bool holds)
        {
            if (holds)
            {
                passed++;
                return;
            }
            failed++;
            Console.Out.WriteLine($"    {terminal.Red}FAILED: conformance on the qemu lab: {what}{terminal.Reset}");
        }
        string[] runs = Directory.Exists(results) ? [.. Directory.EnumerateFiles(results, "run.json", SearchOption.AllDirectories)] : [];
        Expect($"exits 0 or 1, with its verdict (exit {status})", status is 0 or 1);
        Expect($"one run, in a folder named ...-qemu-vio ({runs.Length} runs)", runs.Length == 1 && Path.GetFileName(Path.GetDirectoryName(runs[0]))!.EndsWith("-qemu-vio", StringComparison.Ordinal));
        if (runs.Length == 1)
        {
            using JsonDocument run = JsonDocument.Parse(File.ReadAllText(runs[0]));
            JsonElement[] rows = [.. run.RootElement.GetProperty("rows").EnumerateArray()];
            string Status(string test, string side) =>
                rows.FirstOrDefault(r => r.GetProperty("test").GetString() == test) is { ValueKind: JsonValueKind.Object } row &&
                row.TryGetProperty(side, out JsonElement r) && r.ValueKind == JsonValueKind.Object ? r.GetProperty("status").GetString() ?? "" : "none";
            foreach (string side in (string[])["dataplane", "linux"])
            {
                // Real results: every row has a result of this side, and not all of them NORUN (a guest that did not come up).
                int ran = rows.Count(r => r.TryGetProperty(side, out JsonElement x) && x.ValueKind == JsonValueKind.Object && x.GetProperty("status").GetString() != "NORUN");
                Expect($"{side} ran tests in the guest ({ran} of {rows.Length} not NORUN)", ran > 0);
                foreach (string test in QemuMustPass)
                    Expect($"{side} PASS in {test} (got {Status(test, side)})", Status(test, side) == "PASS");
            }
        }
        Expect($"leaves no namespace {prefix}*", !Namespaces().Any(n => n.StartsWith(prefix, StringComparison.Ordinal)));
        Expect($"leaves no QEMU of its own (taps {prefix[..^1]}q*)", !QemuOf(prefix[..^1] + "q"));
        if (failed > 0)
            Console.Out.WriteLine(Indented(File.ReadAllText(log), 25));
        tally.Record(name, passed, failed, 0, "page: out/conformance-quick-qemu/index.html");
    }

    /// <summary>Whether a QEMU still runs with a tap whose name starts with <paramref name="tapPrefix"/>.</summary>
    private static bool QemuOf(string tapPrefix)
    {
        foreach (string dir in Directory.EnumerateDirectories("/proc"))
        {
            try
            {
                string cmdline = File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' ');
                if (cmdline.Contains(QemuGuest.Qemu, StringComparison.Ordinal) && cmdline.Contains("ifname=" + tapPrefix, StringComparison.Ordinal))
                    return true;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // gone meanwhile, or not a process
            }
        }
        return false;
    }

    /// <summary>The network namespaces of this machine, by name.</summary>
    private static string[] Namespaces() =>
        [.. Execute("ip", "netns", "list").Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ')[0])];

    [GeneratedRegex("^(icmp|tcp|udp)[46] ")]
    private static partial Regex TableRow();
}
