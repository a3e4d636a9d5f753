using System.Reflection;

namespace Dataplane.Build.Pgo;

/// <summary>
/// <c>dataplane-build pgo [FOLDER]</c>: the static profile <c>./build.sh publish</c> compiles the
/// binary with, so that the shipped binary is laid out as the JIT lays out the code it has watched
/// run. The JIT build forwards under tiered PGO (<c>dataplane bench forward</c>, one worker), one
/// process a family, and the runtime writes the counts its instrumented code gathered (while it
/// warmed up, before tier 1 replaced it) when each process ends; summed, they become
/// <c>FOLDER/dataplane.mibc</c> (default <c>out/pgo/</c>), which NativeAOT's compiler reads. One
/// process a family: in one process the IPv6 frames would come after the code the families share
/// had stopped counting, and its IPv6 branches would look cold.
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
        foreach (string old in Directory.GetFiles(folder, "dataplane-*.mibc"))
            File.Delete(old); // build.sh's content-named copies of earlier profiles
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
        var writer = new MibcWriter();
        (int carried, List<string> notCarried, HashSet<string> names) = Carry(methods, new MethodResolver(MethodResolver.LoadProgram(ProgramDirectory)), writer);
        File.WriteAllLines(unresolved, notCarried);
        string[] missing = [.. Required.Where(r => !names.Contains(r))];
        if (missing.Length > 0)
            return terminal.Die($"pgo: the profile lacks {string.Join(", ", missing)} (see {unresolved})");
        File.WriteAllBytes(mibc, writer.Write());
        Console.Out.WriteLine($"{Path.GetRelativePath(Commands.Root, mibc)}: {carried} of {methods.Count} profiled methods carried " +
            $"({writer.Methods} with a generic method's instantiations); the rest, without counts or not found: {Path.GetRelativePath(Commands.Root, unresolved)}");
        return 0;
    }

    /// <summary>
    /// Writes each record's counts into <paramref name="writer"/>: how many records it carried, why
    /// each other was not, and the carried methods' names (<c>&lt;&gt;</c> after a generic method's).
    /// </summary>
    public static (int Carried, List<string> NotCarried, HashSet<string> Names) Carry(IEnumerable<PgoMethod> methods, MethodResolver resolver, MibcWriter writer)
    {
        int carried = 0;
        var notCarried = new List<string>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (PgoMethod method in methods)
        {
            PgoSchema[] counts = [.. method.Counts];
            Type? type = null;
            MethodBase? definition = null;
            string? why = counts.Length == 0 ? "no block or edge counts" : resolver.Resolve(method, out type, out definition);
            if (why is null && !writer.Add(type!, definition!, counts, definition is MethodInfo { IsGenericMethodDefinition: true } generic ? resolver.Instantiations(generic) : []))
                why = "a type its signature has that a profile cannot say, or no instantiation";
            if (why is not null)
            {
                notCarried.Add($"{method.Name} {method.Signature}: {why}");
                continue;
            }
            carried++;
            names.Add(method.IsGenericMethod ? method.Name + "<>" : method.Name);
        }
        return (carried, notCarried, names);
    }
}
