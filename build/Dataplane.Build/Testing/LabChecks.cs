using System.Text.Json;
using System.Text.RegularExpressions;
using Dataplane.Labs;
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

    /// <summary>The network namespaces of this machine, by name.</summary>
    private static string[] Namespaces() =>
        [.. Execute("ip", "netns", "list").Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ')[0])];

    [GeneratedRegex("^(icmp|tcp|udp)[46] ")]
    private static partial Regex TableRow();
}
