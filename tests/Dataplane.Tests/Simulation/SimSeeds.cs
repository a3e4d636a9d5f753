using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;

namespace Dataplane.Tests.Simulation;

/// <summary>
/// Runs a simulation scenario over a range of seeds, and names the seeds that failed with the
/// command that replays one. Replay: <c>SIM_SEED=N dotnet test tests/Dataplane.Tests -c Release
/// --filter FullyQualifiedName~THE.TEST</c> runs seed N alone (the same run to the last event, so a
/// debugger or more output can be pointed at it); <c>SIM_SEED=A-B</c> runs seeds A to B; with
/// <c>SIM_TRACE=FILE</c> as well, each seed's whole trace goes to FILE.N.
/// </summary>
internal static class SimSeeds
{
    /// <summary>The environment variable that picks the seeds to run instead of a test's own range.</summary>
    public const string Variable = "SIM_SEED";

    /// <summary>The seeds to run: those of <see cref="Variable"/> when it is set, else <paramref name="count"/> from <paramref name="first"/>.</summary>
    public static IReadOnlyList<int> Of(int first, int count)
    {
        string? chosen = Environment.GetEnvironmentVariable(Variable);
        if (string.IsNullOrWhiteSpace(chosen))
            return [.. Enumerable.Range(first, count)];
        string[] range = chosen.Split('-', 2, StringSplitOptions.TrimEntries);
        int from = int.Parse(range[0], CultureInfo.InvariantCulture);
        int to = range.Length == 2 ? int.Parse(range[1], CultureInfo.InvariantCulture) : from;
        return [.. Enumerable.Range(from, to - from + 1)];
    }

    /// <summary>True when <see cref="Variable"/> chose the seeds (checks over a whole range do not apply).</summary>
    public static bool Replaying => !string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(Variable));

    /// <summary>
    /// Runs <paramref name="scenario"/> on a fresh <see cref="SimulatedNetwork"/> of each seed; every
    /// seed runs even after one failed, and the failure names them all, describes the first (its
    /// links, what they did, the last events) and says how to replay it.
    /// </summary>
    public static void Run<TTest>(int first, int count, Action<SimulatedNetwork> scenario, [CallerMemberName] string test = "")
    {
        var failed = new List<(int Seed, string Message)>();
        foreach (int seed in Of(first, count))
        {
            var network = new SimulatedNetwork(seed);
            try
            {
                scenario(network);
                if (network.Violations.Count > 0)
                    throw new InvalidOperationException($"{network.Violations.Count} frames judged wrongly; the first: {network.Violations[0]}");
            }
            catch (Exception e)
            {
                failed.Add((seed, $"{e.GetType().Name}: {e.Message}\n{network.Describe()}"));
            }
            if (SimTrace.KeepEverything && Replaying)
                network.Trace.WriteTo($"{Environment.GetEnvironmentVariable(SimTrace.Variable)}.{seed}", SimulatedNetwork.Origin);
        }
        if (failed.Count == 0)
            return;
        string name = $"{typeof(TTest).FullName}.{test}";
        var message = new StringBuilder();
        message.AppendLine(CultureInfo.InvariantCulture, $"{failed.Count} seeds failed: {string.Join(' ', failed.Select(f => f.Seed))}");
        message.AppendLine(CultureInfo.InvariantCulture, $"replay one: {Variable}={failed[0].Seed} dotnet test tests/Dataplane.Tests -c Release --filter \"FullyQualifiedName~{name}\"");
        message.AppendLine(CultureInfo.InvariantCulture, $"seed {failed[0].Seed}: {failed[0].Message}");
        foreach ((int seed, string text) in failed.Skip(1).Take(4))
            message.AppendLine(CultureInfo.InvariantCulture, $"seed {seed}: {text[..text.IndexOf('\n', StringComparison.Ordinal)]}");
        Assert.Fail(message.ToString());
    }
}
