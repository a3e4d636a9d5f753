using System.Diagnostics;
using System.Globalization;
using Dataplane.Bench;

namespace Dataplane.Cli;

/// <summary>
/// <c>dataplane bench forward</c>: the shipped binary's own forwarding rate, on memory ports through
/// the whole stack (<see cref="ForwardingRig"/>), in Mpps per worker core. What users run is what
/// is measured: under NativeAOT when this is the published binary, under the JIT when it runs as
/// <c>dotnet dataplane.dll</c>, the same code either way.
/// </summary>
internal static class BenchCommand
{
    /// <summary>The command's name.</summary>
    public const string Name = "bench";

    /// <summary>The line of the top-level help.</summary>
    public const string Summary = "measure this binary: 'bench forward' forwards 64-byte frames through the whole stack";

    private static readonly CommandOption[] Options =
    [
        new('w', "workers", "N[,N...]", "worker cores, one case each (default 1,2)"),
        new('f', "family", "inet|inet6|all", "the frames' address family (default all)"),
        new('r', "runs", "N", "timed runs per case; the median and the best are printed (default 10)"),
        new('n', "packets", "N", "packets forwarded per run, all workers together (default 10000000)"),
        new('c', "cores", "LIST", "pin worker w to the w-th CPU of LIST (e.g. 0-1); default: not pinned"),
    ];

    /// <summary>The full help of the command.</summary>
    public static string Help => $"""
        usage: dataplane bench forward [OPTIONS]

        Forward 64-byte frames through the whole stack on memory ports: the per-core loop, IPv4 or
        IPv6 validation (the IPv4 header checksum checked in software), a lookup in a table of
        1,000 routes of each family, the TTL or hop limit decrement, the neighbour lookup, the MAC
        rewrite and the transmit burst, with 1,024 frames in flight per worker. The frames go round
        between two ports cabled back to back, so no generator or traffic source is measured, and
        every packet is checked forwarded: a drop fails the run. For each case it prints Mpps per
        worker core, the median and the best of the runs, after a 2.5 s warm-up, and the bytes the
        process allocated on the managed heap per packet forwarded while timed (0 is the goal).

        The figure is this binary's: run the published binary for NativeAOT, 'dotnet dataplane.dll
        bench forward' for the JIT. perf/forwarding-vs-testpmd.sh (./build.sh bench-forwarding)
        prints both beside DPDK testpmd's.

        Options:
        {CommandOptions.Describe(Options)}
        Exit status: 0 with the figures, 1 when a run dropped a packet, 2 for usage.

        """;

    /// <summary>Runs the command on the arguments after its name.</summary>
    public static int Run(ReadOnlySpan<string> args, TextWriter stdout, TextWriter stderr)
    {
        if (CommandOptions.Parse(Name, args, Options, firstOperandEndsOptions: false, stderr) is not { } options)
            return ExitCodes.Usage;
        if (options.Help)
        {
            stdout.Write(Help);
            return ExitCodes.Ok;
        }
        if (options.Operands.Count != 1 || options.Operands[0] != "forward")
            return CommandOptions.WriteUsageError(stderr, Name, options.Operands.Count == 0 ? "missing what to measure: 'forward'" : $"unknown benchmark '{options.Operands[0]}'");
        if (!TryParseList(options.Get("workers") ?? "1,2", out int[] workers) || workers.Any(w => w is < 1 or > 64))
            return CommandOptions.WriteUsageError(stderr, Name, $"--workers: '{options.Get("workers")}' is not a list of worker counts from 1 to 64");
        ForwardingFamily[]? families = (options.Get("family") ?? "all") switch
        {
            "inet" => [ForwardingFamily.Ipv4],
            "inet6" => [ForwardingFamily.Ipv6],
            "all" => [ForwardingFamily.Ipv4, ForwardingFamily.Ipv6],
            _ => null,
        };
        if (families is null)
            return CommandOptions.WriteUsageError(stderr, Name, $"--family: '{options.Get("family")}' is not inet, inet6 or all");
        if (!int.TryParse(options.Get("runs") ?? "10", NumberStyles.None, CultureInfo.InvariantCulture, out int runs) || runs < 1)
            return CommandOptions.WriteUsageError(stderr, Name, $"--runs: '{options.Get("runs")}' is not a positive count");
        if (!long.TryParse(options.Get("packets") ?? "10000000", NumberStyles.None, CultureInfo.InvariantCulture, out long packets) || packets < 100_000)
            return CommandOptions.WriteUsageError(stderr, Name, $"--packets: '{options.Get("packets")}' is not a count of at least 100000");
        int[]? cpus = null;
        if (options.Get("cores") is { } cores && !TryParseCpus(cores, out cpus))
            return CommandOptions.WriteUsageError(stderr, Name, $"--cores: '{cores}' is not a CPU list such as 0-1 or 0,2");
        if (cpus is not null && cpus.Length < workers.Max())
            return CommandOptions.WriteUsageError(stderr, Name, $"--cores: {cpus.Length} CPUs for {workers.Max()} workers");

        stdout.WriteLine($"dataplane {VersionCommand.Version} bench forward: {VersionCommand.Engine}, 64-byte frames, whole stack, 1,000 routes, memory ports, {runs} runs of {packets:N0} packets");
        stdout.WriteLine($"{"family",-7}{"workers",8}{"Mpps/core median",18}{"Mpps/core best",16}{"B/packet",10}");
        foreach (ForwardingFamily family in families)
        {
            foreach (int w in workers)
            {
                double[] rates;
                double allocated;
                try
                {
                    (rates, allocated) = Measure(w, family, runs, packets, cpus);
                }
                catch (InvalidOperationException e)
                {
                    stderr.WriteLine($"dataplane: bench forward: {Label(family)} with {w} workers: {e.Message}");
                    return ExitCodes.Failure;
                }
                Array.Sort(rates);
                double median = rates.Length % 2 == 1 ? rates[rates.Length / 2] : (rates[rates.Length / 2 - 1] + rates[rates.Length / 2]) / 2;
                stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{Label(family),-7}{w,8}{median,18:F2}{rates[^1],16:F2}{allocated,10:F3}"));
                stdout.Flush();
            }
        }
        return ExitCodes.Ok;
    }

    /// <summary>Mpps per worker core of each run, and the bytes allocated per packet while timed.</summary>
    private static (double[] Rates, double Allocated) Measure(int workers, ForwardingFamily family, int runs, long packets, int[]? cpus)
    {
        long allocated = 0;
        // A thread of its own: the rig pins the thread that forwards as worker 0.
        double[] rates = new double[runs];
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                using var rig = new ForwardingRig(workers, family, cpus);
                for (int r = 0; r < runs; r++)
                {
                    long start = Stopwatch.GetTimestamp();
                    rig.Forward(packets);
                    double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
                    allocated += rig.AllocatedBytes; // the workers' own threads: not the process's other threads

                    rates[r] = packets / seconds / 1e6 / workers;
                }
            }
            catch (Exception e)
            {
                failure = e;
            }
        })
        { Name = "bench worker 0" };
        thread.Start();
        thread.Join();
        if (failure is InvalidOperationException)
            throw failure;
        if (failure is not null)
            throw new InvalidOperationException(failure.Message, failure);
        return (rates, (double)allocated / runs / packets);
    }

    private static string Label(ForwardingFamily family) => family == ForwardingFamily.Ipv4 ? "inet" : "inet6";

    private static bool TryParseList(string text, out int[] values)
    {
        var list = new List<int>();
        foreach (string part in text.Split(','))
        {
            if (!int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out int value))
            {
                values = [];
                return false;
            }
            list.Add(value);
        }
        values = [.. list];
        return values.Length > 0;
    }

    /// <summary>A CPU list as <c>set cores</c> takes it: 0-1, 0,2, 1-3,6.</summary>
    private static bool TryParseCpus(string text, out int[]? cpus)
    {
        var list = new List<int>();
        cpus = null;
        foreach (string part in text.Split(','))
        {
            int dash = part.IndexOf('-', StringComparison.Ordinal);
            string first = dash < 0 ? part : part[..dash];
            string last = dash < 0 ? part : part[(dash + 1)..];
            if (!int.TryParse(first, NumberStyles.None, CultureInfo.InvariantCulture, out int a)
                || !int.TryParse(last, NumberStyles.None, CultureInfo.InvariantCulture, out int b) || b < a || b >= 1024)
                return false;
            for (int c = a; c <= b; c++)
                list.Add(c);
        }
        cpus = [.. list];
        return cpus.Length > 0;
    }
}
