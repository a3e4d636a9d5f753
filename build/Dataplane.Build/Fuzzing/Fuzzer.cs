using System.Globalization;
using System.Text.RegularExpressions;
using static Dataplane.Build.Commands;

namespace Dataplane.Build.Fuzzing;

/// <summary>
/// SharpFuzz and AFL++ over the fuzz targets. The recipe: publish the harness (framework-dependent:
/// SharpFuzz rewrites IL, so no NativeAOT) to .fuzz/bin; let <c>dotnet sharpfuzz</c> add AFL edge
/// coverage to Dataplane.Wire.dll in place there; run afl-fuzz on the harness's apphost. The harness
/// is its own fork server (SharpFuzz speaks AFL's protocol on fds 198/199 and runs every input in
/// the same process), so AFL_SKIP_BIN_CHECK is needed: the apphost carries no AFL marker. An
/// exception escaping a target is reported as a crash.
/// </summary>
/// <param name="terminal">Colors for what it says.</param>
/// <param name="say">Where it says it: the terminal, or the smoke's log.</param>
internal sealed partial class Fuzzer(Terminal terminal, TextWriter say)
{
    /// <summary>Where the harness, the runs and their findings go: <c>.fuzz/</c>.</summary>
    public static string Folder { get; } = Path.Combine(Root, ".fuzz");

    private const string Project = "tests/Dataplane.Fuzz/Dataplane.Fuzz.csproj";

    /// <summary>The assemblies SharpFuzz instruments for AFL's coverage map (inside the published harness).</summary>
    private static readonly string[] Instrumented = ["Dataplane.Wire.dll"];

    /// <summary>The uninstrumented harness, for --list, --replay and --seeds.</summary>
    private static readonly string Runner = Path.Combine(Root, "tests/Dataplane.Fuzz/bin", Configuration, "net10.0/Dataplane.Fuzz");

    private string[]? _targets;

    /// <summary>Publishes and instruments the harness; null when it is ready, else what failed.</summary>
    public string? Prepare()
    {
        if (!Has("afl-fuzz"))
            return "afl-fuzz not found (./build.sh deps installs afl++)";
        Directory.CreateDirectory(Folder);
        if (Execute("dotnet", "tool", "restore").ExitCode != 0)
            return "dotnet tool restore failed (SharpFuzz.CommandLine)";
        foreach (string old in (string[])["bin", "pcap-seeds"])
        {
            if (Directory.Exists(Path.Combine(Folder, old)))
                Directory.Delete(Path.Combine(Folder, old), recursive: true);
        }
        string publishLog = Path.Combine(Folder, "publish.log");
        if (Logged(publishLog, TimeSpan.FromMinutes(30), TimeSpan.FromSeconds(10), "dotnet",
            ["publish", Project, "-c", Configuration, "-o", Path.Combine(Folder, "bin"), .. MsBuild]) != 0)
        {
            say.WriteLine(File.ReadAllText(publishLog));
            return "building the harness failed";
        }
        foreach (string dll in Instrumented)
        {
            string log = Path.Combine(Folder, "instrument.log");
            if (Logged(log, TimeSpan.FromMinutes(10), TimeSpan.FromSeconds(10), "dotnet", ["sharpfuzz", Path.Combine(Folder, "bin", dll)]) != 0)
            {
                say.WriteLine(File.ReadAllText(log));
                return $"dotnet sharpfuzz {dll} failed";
            }
        }
        return null;
    }

    /// <summary>The harness's targets.</summary>
    public string[] Targets() => _targets ??= Execute(Runner, "--list").Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>What is wrong with the named targets (one the harness does not have), or null.</summary>
    public string? Unknown(IEnumerable<string> names) =>
        names.FirstOrDefault(t => !Targets().Contains(t)) is string unknown
            ? $"unknown target '{unknown}' (targets: {string.Join(' ', Targets())})"
            : null;

    /// <summary>For each target (every one by default): its committed seeds and regressions replayed, then <paramref name="seconds"/> of AFL. Whether none failed.</summary>
    public bool All(int seconds, IReadOnlyList<string> targets)
    {
        bool ok = true;
        foreach (string target in targets.Count > 0 ? targets : Targets())
        {
            ok &= Replay(target);
            ok &= Fuzz(target, seconds);
        }
        return ok;
    }

    /// <summary>The committed seeds and regression inputs of <paramref name="target"/>, run without AFL; what the harness said when one throws.</summary>
    private bool Replay(string target)
    {
        string[] paths = [.. ((string[])["Seeds", "Regressions"]).Select(d => Path.Combine(Root, "tests/Dataplane.Fuzz", d, target)).Where(Directory.Exists)];
        if (paths.Length == 0)
            return true;
        (int code, string output) = Execute(Runner, ["--replay", target, .. paths]);
        if (code != 0)
            say.WriteLine(string.Join('\n', output.TrimEnd('\n').Split('\n').TakeLast(20)));
        return code == 0;
    }

    /// <summary>One bounded afl-fuzz run: a result line; false on a crash or when AFL could not run.</summary>
    private bool Fuzz(string target, int seconds)
    {
        string dir = Path.Combine(Folder, target), input = Path.Combine(dir, "in");
        if (Directory.Exists(dir))
            Directory.Delete(dir, recursive: true);
        Directory.CreateDirectory(input);
        string seeds = Path.Combine(Root, "tests/Dataplane.Fuzz/Seeds", target);
        if (Directory.Exists(seeds))
        {
            foreach (string seed in Directory.EnumerateFiles(seeds).Where(f => !Path.GetFileName(f).StartsWith("README", StringComparison.Ordinal)))
                File.Copy(seed, Path.Combine(input, Path.GetFileName(seed)));
        }
        if (Environment.GetEnvironmentVariable("FUZZ_SEEDS_FROM_PCAP") is { Length: > 0 } pcap)
        {
            // Each frame cut at its layers: the IPv4 packets seed "ipv4", the TCP segments "transport", ...
            string cut = Path.Combine(Folder, "pcap-seeds");
            if (!Directory.Exists(cut) && Execute(Runner, "--seeds", pcap, cut, "32").ExitCode != 0)
            {
                say.WriteLine($"{terminal.Red}fuzz: cannot take seeds from {pcap}{terminal.Reset}");
                return false;
            }
            if (Directory.Exists(Path.Combine(cut, target)))
            {
                foreach (string seed in Directory.EnumerateFiles(Path.Combine(cut, target)))
                    File.Copy(seed, Path.Combine(input, Path.GetFileName(seed)), overwrite: true);
            }
        }
        if (!Directory.EnumerateFileSystemEntries(input).Any())
            File.WriteAllText(Path.Combine(input, "zero"), "0");

        // -V bounds the fuzzing time; the limit here bounds the whole run (calibration included) in
        // case AFL itself stalls. AFL_NO_AFFINITY: the cores are shared with the build and other jobs.
        string log = Path.Combine(dir, "afl.log");
        int status = Logged(log, TimeSpan.FromSeconds(seconds + 120), TimeSpan.FromSeconds(10), "env",
        [
            "AFL_SKIP_BIN_CHECK=1", "AFL_SKIP_CPUFREQ=1", "AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1", "AFL_NO_UI=1",
            "AFL_NO_AFFINITY=1", "AFL_FAST_CAL=1", "AFL_NO_CRASH_README=1",
            "afl-fuzz", "-i", input, "-o", dir, "-V", seconds.ToString(CultureInfo.InvariantCulture), "-t", "5000", "-m", "none",
            "--", Path.Combine(Folder, "bin/Dataplane.Fuzz"), target,
        ]);
        string stats = Path.Combine(dir, "default/fuzzer_stats");
        string shown = Path.GetRelativePath(Root, dir);
        if (status != 0 || !File.Exists(stats))
        {
            say.WriteLine($"{terminal.Red}{target}: afl-fuzz failed (exit {status}); last lines of {shown}/afl.log:{terminal.Reset}");
            string[] last = [.. File.ReadAllLines(log).Select(l => Escapes().Replace(l, "")).Where(l => l.Trim().Length > 0).TakeLast(8)];
            foreach (string line in last)
                say.WriteLine("    " + line);
            return false;
        }
        Dictionary<string, string> stat = File.ReadAllLines(stats).Select(l => l.Split(':', 2)).Where(p => p.Length == 2)
            .GroupBy(p => p[0].Trim()).ToDictionary(g => g.Key, g => g.First()[1].Trim());
        string[] crashes = Findings(Path.Combine(dir, "default/crashes"));
        int hangs = Findings(Path.Combine(dir, "default/hangs")).Length;
        say.WriteLine($"{target}: {stat.GetValueOrDefault("execs_done")} execs in {seconds}s, {stat.GetValueOrDefault("corpus_count")} inputs in corpus, " +
            $"stability {stat.GetValueOrDefault("stability")}, {crashes.Length} crashes, {hangs} hangs");
        if (crashes.Length == 0)
            return true;
        say.WriteLine($"{terminal.Red}{target}: crashing inputs in {shown}/default/crashes/; the first, replayed:{terminal.Reset}");
        foreach (string line in Execute(Runner, "--replay", target, crashes[0]).Output.Split('\n').Take(12))
            say.WriteLine("    " + line);
        return false;
    }

    /// <summary>AFL's findings in <paramref name="folder"/> (files named id:...), sorted.</summary>
    private static string[] Findings(string folder) =>
        Directory.Exists(folder) ? [.. Directory.EnumerateFiles(folder, "id:*").Order(StringComparer.Ordinal)] : [];

    /// <summary>Terminal escapes in AFL's log.</summary>
    [GeneratedRegex(@"\e\[[0-9;?]*[A-Za-z]|\e\(B")]
    private static partial Regex Escapes();
}
