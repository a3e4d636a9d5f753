namespace Dataplane.Build.Pgo;

/// <summary>
/// <c>dataplane-build pgo [FOLDER]</c>: the static profile <c>./build.sh publish</c> compiles the
/// binary with (the issue's AOT at least as fast as the JIT). The JIT build forwards under tiered
/// PGO (<c>dataplane bench forward</c>, one worker), one process a family, and the runtime writes
/// the counts it gathered when each process ends; merged, they become <c>FOLDER/dataplane.mibc</c>
/// (default <c>out/pgo/</c>), which NativeAOT's compiler reads. One process a family, because a
/// method counts only until tier 1 replaces it: in one process the IPv6 frames would come after
/// the code the families share had stopped counting, and its IPv6 branches would look cold. The dynamic PGO the JIT does at run time,
/// done once at build time: hot paths laid out straight, rare blocks moved out, inlining where the
/// counts are. The profile is made from the same build it is applied to, so its IL always matches.
/// </summary>
internal static class ProfileTraining
{
    /// <summary>The workload of a family's run: the forwarding benchmark's whole stack, one worker.</summary>
    public static string[] Workload(string family) => ["bench", "forward", "--workers", "1", "--family", family, "--runs", "1", "--packets", "4000000"];

    /// <summary>The training runs, one process each.</summary>
    public static readonly string[] Families = ["inet", "inet6"];

    /// <summary>
    /// Methods the profile must carry, or it profiles nothing that matters: the forwarding path, each
    /// compiled per driver (a generic method, hence the <c>&lt;&gt;</c>).
    /// </summary>
    public static readonly string[] Required =
    [
        "Dataplane.Stack.StackWorker.Input<>",
        "Dataplane.Stack.Ip.Ipv4Layer.Input<>",
        "Dataplane.Stack.Ip.Ipv6Layer.Input<>",
    ];

    /// <summary>The JIT build of the binary (<c>dotnet build</c>'s output).</summary>
    public static string ProgramDirectory { get; } = Path.Combine(Commands.Root, "dataplane/Dataplane/bin", Commands.Configuration, "net10.0");

    public static int Run(Terminal terminal, string[] args)
    {
        if (args.Length > 1)
            throw new UsageException("pgo: at most one folder");
        string folder = Path.GetFullPath(args.Length == 1 ? args[0] : Path.Combine(Commands.Out, "pgo"));
        Directory.CreateDirectory(folder);
        string log = Path.Combine(folder, "training.log");
        string mibc = Path.Combine(folder, "dataplane.mibc");
        string unresolved = Path.Combine(folder, "unresolved.txt");
        File.Delete(log);
        File.Delete(mibc);
        string program = Path.Combine(ProgramDirectory, "dataplane.dll");
        if (!File.Exists(program))
            return terminal.Die($"pgo: no {program}: build the solution first (./build.sh build)");

        var runs = new List<List<PgoMethod>>();
        foreach (string family in Families)
        {
            string text = Path.Combine(folder, $"forward-{family}.pgo.txt");
            File.Delete(text);
            terminal.Step($"pgo: the JIT build forwarding with its profile written (dataplane {string.Join(' ', Workload(family))})");
            int exit = Commands.Logged(log, TimeSpan.FromMinutes(5), TimeSpan.FromSeconds(10), "env",
                ["DOTNET_TieredCompilation=1", "DOTNET_TieredPGO=1", "DOTNET_WritePGOData=1", $"DOTNET_PGODataPath={text}", "dotnet", program, .. Workload(family)],
                append: true);
            if (exit != 0 || !File.Exists(text))
                return terminal.Die($"pgo: the {family} run exited {exit}{(File.Exists(text) ? "" : " and wrote no profile")} (log: {log})");
            runs.Add(PgoText.Parse(File.ReadLines(text)));
        }

        List<PgoMethod> methods = PgoText.Merge(runs);
        var writer = new MibcWriter(MibcWriter.LoadProgram(ProgramDirectory));
        var carried = new HashSet<string>(StringComparer.Ordinal);
        foreach (PgoMethod method in methods)
        {
            if (writer.Add(method))
                carried.Add(method.IsGenericMethod ? method.Name + "<>" : method.Name);
        }
        File.WriteAllLines(unresolved, writer.Unresolved);
        string[] missing = [.. Required.Where(r => !carried.Contains(r))];
        if (missing.Length > 0)
            return terminal.Die($"pgo: the profile lacks {string.Join(", ", missing)} (see {unresolved})");
        File.WriteAllBytes(mibc, writer.Write());
        Console.Out.WriteLine($"{Path.GetRelativePath(Commands.Root, mibc)}: {carried.Count} of {methods.Count} profiled methods carried " +
            $"({writer.Methods} with a generic method's instantiations); the rest, without counts or not found: {Path.GetRelativePath(Commands.Root, unresolved)}");
        return 0;
    }
}
