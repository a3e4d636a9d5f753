using Dataplane.Build.Fuzzing;
using Dataplane.Labs;
using Dataplane.Labs.Guest;
using static Dataplane.Build.Commands;

namespace Dataplane.Build.Testing;

/// <summary>
/// <c>./build.sh test</c> once the packages are there: restore and build, the binary first (the
/// conformance tests start it in their labs), every test project, the labs' quick runs, a fuzz
/// smoke; then a line per part and the sum. A part that cannot run is one failure, never the end:
/// the summary comes last whatever happened.
/// </summary>
/// <param name="terminal">Colors.</param>
/// <param name="deps">How build.sh's package installation went: ok, failed, skipped.</param>
/// <param name="only">The parts to run after the build (binary, a test project's name, lab, conformance, fuzz); null for all.</param>
internal sealed class TestRun(Terminal terminal, string deps, string[]? only = null)
{
    /// <summary>The test projects, in the order they run.</summary>
    public static readonly string[] Projects =
    [
        "tests/Dataplane.Wire.Tests/Dataplane.Wire.Tests.csproj",
        "tests/Dataplane.Tests/Dataplane.Tests.csproj",
        "tests/Dataplane.Generators.Tests/Dataplane.Generators.Tests.csproj",
        "tests/Dataplane.Native.Tests/Dataplane.Native.Tests.csproj",
        "tests/Dataplane.Packetdrill.Tests/Dataplane.Packetdrill.Tests.csproj",
        "tests/Dataplane.Conformance.Tests/Dataplane.Conformance.Tests.csproj",
    ];

    private readonly Tally _tally = new();

    /// <summary>Runs it all; 0 when nothing failed.</summary>
    public int Run()
    {
        if (deps == "skipped")
            _tally.Record("deps", 0, 0, 1, "not root, packages missing");
        else if (deps == "failed")
            _tally.Record("deps", 0, 1, 0, "Debian packages missing; see above");
        string results = Path.Combine(Out, "test-results");
        if (Directory.Exists(results))
            Directory.Delete(results, recursive: true);
        Directory.CreateDirectory(results);

        terminal.Step("restore");
        bool built = Attached("dotnet", ["restore", Solution, .. MsBuild]) == 0;
        if (built)
        {
            terminal.Step($"dotnet build {Solution} -c {Configuration}");
            built = Attached("dotnet", ["build", Solution, "-c", Configuration, .. MsBuild, "--no-restore"]) == 0;
        }
        if (!built)
            _tally.Record($"build {Solution}", 0, 1, 0, "does not build");

        if (Runs("binary"))
            new BinaryChecks(terminal, _tally).Run();
        if (Runs("guest"))
            GuestImageStep();
        foreach (string project in Projects)
        {
            string name = Path.GetFileNameWithoutExtension(project);
            if (!Runs(name))
                continue;
            if (!built)
            {
                // The solution does not build: still run the test projects that do.
                terminal.Step($"build {name} alone");
                if (Attached("dotnet", ["build", project, "-c", Configuration, .. MsBuild]) != 0)
                {
                    _tally.Record(name, 0, 1, 0, "does not build");
                    continue;
                }
            }
            TestProject(project, name, results);
        }
        if (Runs("lab"))
            LabChecks.MainJob(terminal, _tally);
        if (Runs("conformance"))
            LabChecks.ConformanceQuick(terminal, _tally);
        if (Runs("conformance") || Runs("conformance-qemu"))
            LabChecks.ConformanceQuickQemu(terminal, _tally);
        if (Runs("fuzz"))
            FuzzSmoke();

        terminal.Step("results");
        foreach (string line in _tally.Lines)
            Console.Out.WriteLine(line);
        Console.Out.WriteLine($"{(_tally.Failed == 0 ? terminal.Green : terminal.Red)}{_tally.Summary}{terminal.Reset}");
        return _tally.Failed == 0 ? 0 : 1;
    }

    private bool Runs(string part) => only is null || only.Contains(part);

    /// <summary>
    /// One test project, its results from its TRX file: a run with no file, or with no test in it
    /// (nothing discovered, or a filter that matched none, which dotnet test calls a success), or
    /// with results that have no verdict, or that ended non-zero with no failing test (a crashed or
    /// aborted test host) fails.
    /// </summary>
    private void TestProject(string project, string name, string results)
    {
        terminal.Step($"test {name}");
        int status = Attached("dotnet", ["test", project, "-c", Configuration, "--no-build", "--no-restore",
            "--logger", $"trx;LogFileName={name}.trx", "--results-directory", results,
            "--blame-hang-timeout", "15m", "--blame-hang-dump-type", "none", .. MsBuild]);
        if (TrxResults.Read(Path.Combine(results, $"{name}.trx")) is not TrxResults trx)
        {
            _tally.Record(name, 0, 1, 0, $"no results: the test run did not complete, exit {status}");
            return;
        }
        if (trx.Total == 0)
        {
            _tally.Record(name, 0, 1, 0, $"no test ran: none was discovered or a filter matched none (exit {status})");
            return;
        }
        var notes = new List<string>();
        int failed = trx.Failed;
        int other = trx.Other.Sum(o => o.Count);
        if (other > 0)
        {
            failed += other;
            notes.Add($"{other} with no verdict: {string.Join(", ", trx.Other.Select(o => $"{o.Count} {o.Outcome}"))}");
        }
        if (status != 0 && failed == 0)
        {
            failed = 1;
            notes.Add($"test run aborted, exit {status}");
        }
        _tally.Record(name, trx.Passed, failed, trx.Skipped, string.Join("; ", notes));
    }

    /// <summary>
    /// The VFIO test guest's kernel (downloaded into .qemu/ the first time) and initramfs (with the
    /// binary just published), before the tests that boot it: a download that fails is one failure
    /// named here, and the time it took is said here rather than inside a test's.
    /// </summary>
    private void GuestImageStep()
    {
        const string name = "guest image";
        terminal.Step("guest image: kernel (.qemu/) and initramfs (out/guest/)");
        if (QemuGuest.CannotBootBecause() is string why)
        {
            _tally.Record(name, 0, 0, 1, why);
            return;
        }
        if (!File.Exists(Binary))
        {
            _tally.Record(name, 0, 1, 0, "no out/dataplane (see above)");
            return;
        }
        var log = new StringWriter();
        try
        {
            GuestImage image = GuestImage.Prepare(Root, Binary, log);
            if (log.ToString().Length > 0)
                Console.Out.WriteLine(Indented(log.ToString()));
            Console.Out.WriteLine($"    {image.Kernel.Package}, initramfs {new FileInfo(image.Initramfs).Length / 1024} KiB, {image.Took.TotalSeconds:0.0} s");
            _tally.Record(name, 1, 0, 0);
        }
        catch (Exception e) when (e is LabException or IOException or TimeoutException) // a slow mirror: apt-get past its bound
        {
            if (log.ToString().Length > 0)
                Console.Out.WriteLine(Indented(log.ToString()));
            Console.Out.WriteLine($"    {terminal.Red}FAILED: {e.Message}{terminal.Reset}");
            _tally.Record(name, 0, 1, 0, "the guest's kernel or initramfs could not be made");
        }
    }

    /// <summary>About a minute of fuzzing in all, at most 5 s and at least 2 s per target, after the committed seeds and regressions replay clean.</summary>
    private void FuzzSmoke()
    {
        terminal.Step("fuzz smoke");
        if (!Has("afl-fuzz"))
        {
            _tally.Record("fuzz smoke", 0, 0, 1, "afl-fuzz not installed");
            return;
        }
        Directory.CreateDirectory(Fuzzer.Folder);
        string log = Path.Combine(Fuzzer.Folder, "smoke.log");
        bool ok;
        using (var writer = new StreamWriter(log) { AutoFlush = true })
        {
            var fuzzer = new Fuzzer(new Terminal("", "", "", "", ""), writer);
            if (fuzzer.Prepare() is string failed)
            {
                writer.WriteLine($"fuzz: {failed}");
                ok = false;
            }
            else if (fuzzer.Targets().Length == 0)
            {
                writer.WriteLine("fuzz: the harness lists no targets");
                ok = false;
            }
            else
            {
                int seconds = Math.Clamp(60 / fuzzer.Targets().Length, 2, 5);
                ok = fuzzer.All(seconds, []);
            }
        }
        Console.Out.WriteLine(Indented(File.ReadAllText(log)));
        if (ok)
            _tally.Record("fuzz smoke", 1, 0, 0);
        else
            _tally.Record("fuzz smoke", 0, 1, 0, "see .fuzz/");
    }
}
