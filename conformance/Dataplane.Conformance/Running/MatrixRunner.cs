using System.Diagnostics;
using Dataplane.Conformance.Cases;
using Dataplane.Conformance.Labs;
using Dataplane.Conformance.Model;
using Dataplane.Conformance.Results;
using Dataplane.Labs;

namespace Dataplane.Conformance.Running;

/// <summary>What one invocation of the runner runs.</summary>
/// <param name="Lab">The lab.</param>
/// <param name="Drivers">The dataplane drivers, one run (a column of the page) each.</param>
/// <param name="Modifiers">The modifiers of every run.</param>
/// <param name="Tests">The tests, in catalog order.</param>
/// <param name="Settings">Test length, limits, tools, capture.</param>
/// <param name="ResultsFolder">Where runs and the page go.</param>
/// <param name="Binary">The dataplane binary.</param>
/// <param name="Commit">The source's commit, for the page.</param>
public sealed record MatrixOptions(
    LabDefinition Lab,
    IReadOnlyList<string> Drivers,
    IReadOnlyList<string> Modifiers,
    IReadOnlyList<TestCase> Tests,
    RunSettings Settings,
    string ResultsFolder,
    string Binary,
    string Commit);

/// <summary>The tally of an invocation: passed, failed, and skipped (NORUN for a feature the dataplane lacks).</summary>
public sealed record Tally(int Passed, int Failed, int Skipped)
{
    /// <summary>The line <c>./build.sh test</c> reads.</summary>
    public override string ToString() => $"{Passed} passed, {Failed} failed{(Skipped > 0 ? $", {Skipped} skipped" : "")}";
}

/// <summary>
/// Runs the matrix: for each driver a fresh lab, the tests with the dataplane (or nothing, with
/// modifier direct) between the hosts, then the same tests with Linux in the same place, one row per
/// test with both results; the run is stored and the page rewritten after each driver.
/// </summary>
internal sealed class MatrixRunner(MatrixOptions options, Progress progress, TextWriter labLog)
{
    /// <summary>
    /// The modifiers the runner knows, OpenBSD's (direct, jumbo, nolro, notso, nopf) and its pseudo
    /// devices stacked between the hosts, and nooffload, the hosts' checksum offload off and the
    /// dataplane's TSO and LRO off (the column before the dataplane took the hosts' super-frames;
    /// <see cref="RunModifiers"/>); one whose feature has not landed makes every test NORUN.
    /// </summary>
    public static readonly string[] Known =
    [
        "direct", "jumbo", "nolro", "notso", "nopf", "nooffload",
        "bridge", "carp", "gif", "gif6", "gre", "trunk", "veb", "vlan", "vxlan", "wg",
    ];

    /// <summary>Why a modifier cannot run yet; null for one that can.</summary>
    public static string? Missing(string modifier) => modifier switch
    {
        "direct" or "jumbo" or "nolro" or "notso" or "nooffload" => null,
        "nopf" => "modifier nopf: the dataplane has no packet filter yet to switch off",
        _ when Known.Contains(modifier) => $"pseudo device {modifier}: not in the dataplane yet",
        _ => $"unknown modifier {modifier}",
    };

    /// <summary>The prefix of what the runner names: its namespaces are dplcPID-left, -right, -sut.</summary>
    public static string LabId { get; } = $"dplc{Environment.ProcessId}";

    public async Task<Tally> RunAsync(CancellationToken cancel)
    {
        int passed = 0, failed = 0, skipped = 0;
        bool direct = options.Modifiers.Contains("direct");
        string? modifierMissing = options.Modifiers.Select(Missing).FirstOrDefault(m => m is not null);
        foreach (string driver in options.Drivers)
        {
            DateTimeOffset started = DateTimeOffset.UtcNow;
            string column = LabDefinition.Column(driver);
            string id = $"{started:yyyy-MM-ddTHH-mm-ss}-{options.Lab.Name}-{column}{string.Concat(options.Modifiers.Select(m => "-" + m))}";
            string runFolder = Path.Combine(options.ResultsFolder, id);
            Directory.CreateDirectory(runFolder);
            progress.Say($"run {id}: {options.Tests.Count} tests, lab {options.Lab.Name}, driver {driver}" +
                $"{(options.Modifiers.Count > 0 ? ", modifiers " + string.Join(' ', options.Modifiers) : "")}; logs in {runFolder}" +
                (options.Lab.Sut.Kind == HostKind.Netns ? $"; namespaces {LabId}-*" : ""));

            SutKind first = direct ? SutKind.Direct : SutKind.Dataplane;
            bool reference = modifierMissing is null;
            progress.Expect(options.Tests.Count * (reference ? 2 : 1));
            var ours = new Dictionary<string, Result>();
            var linux = new Dictionary<string, Result>();
            if (modifierMissing is not null)
            {
                foreach (TestCase test in options.Tests)
                {
                    ours[test.Name] = new Result(test.Name, Status.Norun, modifierMissing, null, null, null, 0, Known: true);
                    progress.End(Label(first), ours[test.Name], "");
                }
            }
            else
            {
                await using var lab = await Labs.Lab.CreateAsync(options.Lab, LabId, labLog, cancel,
                    RunModifiers.From(options.Modifiers), options.Binary).ConfigureAwait(false);
                RunSettings settings = options.Settings with
                {
                    Tools = await lab.ProvideToolsAsync(options.Settings.Tools, cancel).ConfigureAwait(false),
                };
                await PhaseAsync(lab, first, driver, settings, runFolder, ours, null, cancel).ConfigureAwait(false);
                await PhaseAsync(lab, SutKind.Linux, driver, settings, runFolder, linux, ours, cancel, first).ConfigureAwait(false);
            }

            cancel.ThrowIfCancellationRequested(); // an interrupted run is not stored as if it had run
            var rows = options.Tests.Select(t => new Row(t.Name, t.Description, ours[t.Name], linux.GetValueOrDefault(t.Name))).ToList();
            var run = new Run(id, started, options.Lab.Name, column, options.Modifiers, options.Commit, Environment.MachineName, rows);
            RunStore.Save(run, runFolder);
            string page = HtmlPage.Write(options.ResultsFolder);

            foreach (Row row in rows)
            {
                foreach (Result? r in (Result?[])[row.Dataplane, row.Linux])
                {
                    if (r is null)
                        continue;
                    if (r.Status == Status.Pass)
                        passed++;
                    else if (r.Status == Status.Norun && r.Known)
                        skipped++;
                    else
                        failed++;
                }
            }
            progress.Say(Summary(run, page));
        }
        return new Tally(passed, failed, skipped);
    }

    private static string Label(SutKind kind) => kind switch { SutKind.Dataplane => "dataplane", SutKind.Linux => "linux", _ => "direct" };

    private async Task PhaseAsync(Lab lab, SutKind kind, string driver, RunSettings settings, string runFolder, Dictionary<string, Result> results,
        Dictionary<string, Result>? compare, CancellationToken cancel, SutKind compareKind = SutKind.Dataplane)
    {
        string label = Label(kind);
        progress.Say($"{label}{(kind == SutKind.Dataplane ? " on " + driver : "")} between the hosts");
        SutSession session;
        try
        {
            session = await lab.AttachAsync(kind, driver, options.Binary, runFolder, cancel).ConfigureAwait(false);
        }
        catch (LabException e) when (!cancel.IsCancellationRequested)
        {
            progress.Say($"  {label} could not be attached: {e.Message}");
            foreach (TestCase test in options.Tests)
            {
                results[test.Name] = new Result(test.Name, Status.Norun, $"{label} could not be attached: {e.Message}", null, null, null, 0);
                progress.End(label, results[test.Name], "");
            }
            return;
        }
        try
        {
            foreach (TestCase test in options.Tests)
            {
                cancel.ThrowIfCancellationRequested();
                progress.Begin(label, test.Name);
                Result result = await CaseRunner.RunAsync(test, lab, session, settings, runFolder, cancel).ConfigureAwait(false);
                results[test.Name] = result;
                string extra = "";
                if (compare is not null && compare.TryGetValue(test.Name, out Result? ours) && ours.BitsPerSecond is double d &&
                    result.BitsPerSecond is double l && l > 0)
                {
                    extra = $"  ({Label(compareKind)} {100 * d / l:0.0}%)";
                }
                progress.End(label, result, extra);
            }
            // An interrupt in the last test's clean-up ends the run here, not as a finished phase.
            cancel.ThrowIfCancellationRequested();
        }
        finally
        {
            await lab.DetachAsync(session, interrupted: cancel.IsCancellationRequested).ConfigureAwait(false);
        }
    }

    private static string Summary(Run run, string page)
    {
        var counts = StatusInfo.All
            .Select(s => (s, n: run.Rows.Count(r => r.Dataplane.Status == s)))
            .Where(x => x.n > 0)
            .Select(x => $"{x.n} {x.s.Name()}");
        int pass = run.Rows.Count(r => r.Dataplane.Status == Status.Pass);
        double rate = run.Rows.Count == 0 ? 0 : 100.0 * pass / run.Rows.Count;
        Status worst = StatusInfo.Worst(run.Rows.Select(r => r.Dataplane.Status));
        return $"run {run.Id}: dataplane {string.Join(", ", counts)} ({rate:0.#}% pass; worst {worst.Name()}); page: {page}";
    }
}
