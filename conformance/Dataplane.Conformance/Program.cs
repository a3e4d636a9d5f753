using System.Diagnostics;
using Dataplane.Conformance.Cases;
using Dataplane.Conformance.Labs;
using Dataplane.Conformance.Model;
using Dataplane.Conformance.Results;
using Dataplane.Conformance.Running;
using Dataplane.Labs;

namespace Dataplane.Conformance;

/// <summary>
/// <c>dataplane-conformance</c>: runs the conformance matrix (<c>run</c>), lists its tests
/// (<c>list</c>), or rewrites the results page from the stored runs (<c>page</c>). Exit codes: 0
/// every test passed or is known not to run yet, 1 a test did not pass, 2 usage or a lab file error,
/// 130 interrupted.
/// </summary>
internal static class Program
{
    private const string Usage = """
        usage: dataplane-conformance run [OPTIONS] [FILTER...]
               dataplane-conformance list [FILTER...]
               dataplane-conformance page [--results DIR]
               dataplane-conformance main-job [OPTIONS]   (./build.sh run; main-job --help lists its options)
               dataplane-conformance relay-bench [OPTIONS] (./build.sh relay-bench; TCP relays against Linux, HAProxy, socat)

        run: builds the lab, runs each test with the dataplane between the Linux hosts, then with Linux
        in the same place (the reference), one run per driver; writes RESULTS/RUN/ (run.json, logs,
        dataplane.txt and linux.txt in OpenBSD's STATUS<TAB>test<TAB>message / VALUE form) and the
        page RESULTS/index.html. A FILTER picks tests by a part of their name ('tcp4', 'udp6splice',
        '*-forward'); several are or-ed.

          --lab FILE|NAME     the lab definition, or the name of one next to the runner (netns, qemu: the
                              QEMU test guest as the system under test); default: netns
          --driver NAME       a driver of the lab to run (repeatable; default: all the lab's drivers); for the
                              qemu lab a device type, virtio-net, e1000e, vmxnet3, or its column: vio, em, vmx
          --modifier NAME     direct (no system under test: the hosts joined), jumbo (MTU 9000 on the hosts
                              and the system under test), nolro, notso (the system under test does not
                              merge, segment), nooffload (the hosts' checksum offload off, the dataplane's
                              TSO and LRO off: the column before super-frames), nopf, or a pseudo device
                              between the hosts: bridge, carp, gif, gif6, gre, trunk, veb, vlan, vxlan, wg
                              (repeatable; one not landed makes every test NORUN, saying so). Without one
                              the hosts keep their offloads, the dataplane its defaults (TSO, LRO on)
          --seconds N         length of a throughput test (default 10; ping sends 1000 a second of it)
          --timeout N         one time limit in seconds for every test (default: each test's own, >= 30)
          --results DIR       where runs and the page go (default: conformance/results)
          --binary FILE       the dataplane binary (default: out/dataplane)
          --tool NAME=CMD     the command of a peer tool (ping, iperf3, socat, udpbench, tcpdump, tshark)
          --no-capture        do not capture and judge the frames with tshark
          --quick             the quick subset of ./build.sh test: a few tests, 2 s each, first driver only

        Needs root (namespaces). Ctrl-C stops the run; everything made is removed.
        """;

    private static async Task<int> Main(string[] args)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            Console.Out.WriteLine(Usage);
            return args.Length == 0 ? 2 : 0;
        }
        string verb = args[0];
        string[] rest = args[1..];
        try
        {
            return verb switch
            {
                "run" => await RunAsync(rest).ConfigureAwait(false),
                "list" => List(rest),
                "page" => Page(rest),
                "main-job" => await Jobs.MainJob.RunAsync(rest).ConfigureAwait(false),
                "relay-bench" => await Jobs.RelayBench.RunAsync(rest).ConfigureAwait(false),
                _ => throw new UsageException($"unknown command '{verb}' (run, list, page, main-job, relay-bench)"),
            };
        }
        catch (UsageException e)
        {
            Console.Error.WriteLine($"dataplane-conformance: {e.Message}");
            Console.Error.WriteLine("dataplane-conformance --help lists the options");
            return 2;
        }
    }

    private static int List(string[] filters)
    {
        foreach (TestCase test in Select(filters, quick: false))
        {
            string missing = test.Needs.Select(DataplaneFeatures.Missing).FirstOrDefault(m => m is not null) is string m ? $"  [dataplane: NORUN, {m}]" : "";
            Console.Out.WriteLine($"{test.Name,-52} {test.Description}{missing}");
        }
        return 0;
    }

    private static int Page(string[] args)
    {
        string results = "conformance/results";
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i] == "--results" && i + 1 < args.Length)
                results = args[++i];
            else
                throw new UsageException($"page: unexpected '{args[i]}'");
        }
        Console.Out.WriteLine(HtmlPage.Write(results));
        return 0;
    }

    private static async Task<int> RunAsync(string[] args)
    {
        string labFile = Path.Combine(AppContext.BaseDirectory, "labs", "netns.lab");
        var drivers = new List<string>();
        var modifiers = new List<string>();
        var filters = new List<string>();
        var tools = new Dictionary<string, string>
        {
            ["udpbench"] = "python3 " + Path.Combine(Lab.ToolsFolder, "udpbench.py"),
        };
        int? seconds = null, timeout = null;
        string results = "conformance/results", binary = "out/dataplane";
        bool capture = true, quick = false;
        for (int i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new UsageException($"{args[i]} needs a value");
            int Number()
            {
                string name = args[i], v = Value();
                return int.TryParse(v, out int n) && n > 0 ? n : throw new UsageException($"{name} needs a whole number of seconds, not '{v}'");
            }
            switch (args[i])
            {
                case "--lab": labFile = LabFile(Value()); break;
                case "--driver": drivers.Add(LabDefinition.DriverOf(Value())); break;
                case "--modifier":
                    string modifier = Value();
                    if (!MatrixRunner.Known.Contains(modifier))
                        throw new UsageException($"unknown modifier '{modifier}' ({string.Join(", ", MatrixRunner.Known)})");
                    modifiers.Add(modifier);
                    break;
                case "--seconds": seconds = Number(); break;
                case "--timeout": timeout = Number(); break;
                case "--results": results = Value(); break;
                case "--binary": binary = Value(); break;
                case "--tool":
                    string[] kv = Value().Split('=', 2);
                    if (kv.Length != 2 || kv[0].Length == 0 || kv[1].Length == 0)
                        throw new UsageException("--tool takes NAME=COMMAND");
                    tools[kv[0]] = kv[1];
                    break;
                case "--no-capture": capture = false; break;
                case "--quick": quick = true; break;
                default:
                    if (args[i].StartsWith('-'))
                        throw new UsageException($"unknown option '{args[i]}'");
                    filters.Add(args[i]);
                    break;
            }
        }

        LabDefinition? lab = LabParser.Parse(labFile, out List<string> errors);
        if (lab is null)
        {
            foreach (string e in errors)
                Console.Error.WriteLine(e);
            return 2;
        }
        if (drivers.FirstOrDefault(d => !lab.Drivers.Contains(d)) is string unknown)
            throw new UsageException($"lab {lab.Name} runs the drivers {string.Join(", ", lab.Drivers)}, not {unknown}");
        // With direct no driver is between the hosts: one run says all there is.
        if (drivers.Count == 0)
            drivers.AddRange(quick || modifiers.Contains("direct") ? lab.Drivers.Take(1) : lab.Drivers);
        List<TestCase> tests = Select(filters, quick);
        if (tests.Count == 0)
            throw new UsageException($"no test matches {string.Join(' ', filters)} (dataplane-conformance list shows them)");
        if (Tmds.Linux.LibC.geteuid() != 0)
        {
            Console.Error.WriteLine("dataplane-conformance: the lab makes network namespaces and needs root");
            return 1;
        }
        if (!modifiers.Contains("direct") && !File.Exists(binary))
        {
            Console.Error.WriteLine($"dataplane-conformance: no dataplane binary at {binary} (./build.sh publish builds out/dataplane)");
            return 1;
        }
        if (lab.Sut.Kind == HostKind.Qemu && Dataplane.Labs.Guest.QemuGuest.CannotBootBecause() is string cannot)
        {
            Console.Error.WriteLine($"dataplane-conformance: lab {lab.Name}: the QEMU guest cannot boot here: {cannot}");
            return 2;
        }

        var settings = new RunSettings(seconds ?? (quick ? 2 : 10), timeout, tools, capture);
        bool terminal = !Console.IsOutputRedirected && Environment.GetEnvironmentVariable("CI") != "true";
        bool color = terminal && Environment.GetEnvironmentVariable("NO_COLOR") is null;
        string labLogPath = Path.Combine(results, "lab.log");
        Directory.CreateDirectory(results);
        using var labLog = TextWriter.Synchronized(new StreamWriter(labLogPath, append: true) { AutoFlush = true });

        // Ctrl-C, SIGTERM or SIGHUP cancels; the lab is removed on the way out, then exit 130.
        using var interruption = new Interruption("dataplane-conformance");
        CancellationToken cancel = interruption.Token;

        var options = new MatrixOptions(lab, drivers, modifiers, tests, settings, Path.GetFullPath(results),
            Path.GetFullPath(binary), Commit());
        var clock = Stopwatch.StartNew();
        using var progress = new Progress(Console.Out, terminal, color);
        // Whatever happens, the lab is removed on the way out (the runner's await using), and an
        // interrupt, whenever it came, is exit 130.
        int Interrupted()
        {
            progress.Dispose();
            Console.Error.WriteLine("dataplane-conformance: interrupted; the lab is removed");
            return Interruption.ExitCode;
        }
        try
        {
            Tally tally = await new MatrixRunner(options, progress, labLog).RunAsync(cancel).ConfigureAwait(false);
            if (cancel.IsCancellationRequested)
                return Interrupted();
            progress.Dispose();
            Console.Out.WriteLine($"conformance: {tally} in {clock.Elapsed.TotalMinutes:0.0} min");
            return tally.Failed == 0 ? 0 : 1;
        }
        catch (Exception) when (cancel.IsCancellationRequested)
        {
            return Interrupted();
        }
        catch (LabException e)
        {
            progress.Dispose();
            Console.Error.WriteLine($"dataplane-conformance: the lab could not be built: {e.Message} (see {labLogPath})");
            return 1;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            progress.Dispose();
            Console.Error.WriteLine($"dataplane-conformance: {e.Message}");
            return 1;
        }
    }

    /// <summary>A lab file, or (a plain name: <c>qemu</c>) the lab of that name next to the runner.</summary>
    internal static string LabFile(string value)
    {
        if (File.Exists(value) || value.Contains('/', StringComparison.Ordinal) || value.EndsWith(".lab", StringComparison.Ordinal))
            return value;
        return Path.Combine(AppContext.BaseDirectory, "labs", value + ".lab");
    }

    private static List<TestCase> Select(IReadOnlyList<string> filters, bool quick) =>
        Catalog.All.Where(t => (!quick || Catalog.Quick.Contains(t.Name)) && (filters.Count == 0 || filters.Any(f => Matches(t.Name, f)))).ToList();

    /// <summary>Whether <paramref name="name"/> holds <paramref name="filter"/>; '*' in it matches anything.</summary>
    internal static bool Matches(string name, string filter)
    {
        string[] parts = filter.Split('*');
        int at = 0;
        foreach (string part in parts)
        {
            int found = name.IndexOf(part, at, StringComparison.Ordinal);
            if (found < 0)
                return false;
            at = found + part.Length;
        }
        return true;
    }

    private static string Commit()
    {
        try
        {
            var git = Process.Start(new ProcessStartInfo("git", "rev-parse HEAD") { RedirectStandardOutput = true, RedirectStandardError = true });
            string output = git!.StandardOutput.ReadToEnd().Trim();
            git.WaitForExit();
            return git.ExitCode == 0 ? output : "";
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return "";
        }
    }

    private sealed class UsageException(string message) : Exception(message);
}
