using System.Text.Json;
using System.Text.Json.Serialization;
using Dataplane.Conformance.Model;

namespace Dataplane.Conformance.Results;

/// <summary>
/// The results folder: one sub-folder per run holding <c>run.json</c>, OpenBSD-style result files
/// (<c>dataplane.txt</c>, <c>linux.txt</c>) and the tests' logs and captures; the results page
/// (<c>index.html</c>) sits next to the runs and is made from all of them, so it shows history.
/// </summary>
public static class RunStore
{
    /// <summary>The name of a run's record inside its folder.</summary>
    public const string RunFile = "run.json";

    private static readonly JsonSerializerOptions Options = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Converters = { new JsonStringEnumConverter<Status>(JsonNamingPolicy.SnakeCaseUpper) },
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>
    /// Writes <paramref name="run"/> into <paramref name="runFolder"/>: <c>run.json</c>, and the
    /// result lines of each system under test (<c>dataplane.txt</c>, <c>linux.txt</c>).
    /// </summary>
    public static void Save(Run run, string runFolder)
    {
        Directory.CreateDirectory(runFolder);
        string temp = Path.Combine(runFolder, RunFile + ".tmp");
        File.WriteAllText(temp, JsonSerializer.Serialize(run, Options));
        File.Move(temp, Path.Combine(runFolder, RunFile), overwrite: true);
        File.WriteAllText(Path.Combine(runFolder, "dataplane.txt"),
            string.Concat(run.Rows.Select(r => r.Dataplane.ToResultLines())));
        File.WriteAllText(Path.Combine(runFolder, "linux.txt"),
            string.Concat(run.Rows.Where(r => r.Linux is not null).Select(r => r.Linux!.ToResultLines())));
    }

    /// <summary>The run stored in <paramref name="runFolder"/>; null when it holds none or an unreadable one.</summary>
    public static Run? Load(string runFolder)
    {
        string path = Path.Combine(runFolder, RunFile);
        if (!File.Exists(path))
            return null;
        try
        {
            Run? run = JsonSerializer.Deserialize<Run>(File.ReadAllText(path), Options);
            // Valid JSON that is not a whole run (a field missing, a row without its result) is no run.
            bool whole = run is { Rows: not null, Modifiers: not null, Id: not null, Driver: not null } &&
                run.Rows.All(r => r is { Test: not null, Dataplane.Test: not null });
            return whole ? run : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>Every run under <paramref name="resultsFolder"/>, oldest first (by start time).</summary>
    public static IReadOnlyList<(Run Run, string Folder)> LoadAll(string resultsFolder)
    {
        if (!Directory.Exists(resultsFolder))
            return [];
        var runs = new List<(Run, string)>();
        foreach (string folder in Directory.EnumerateDirectories(resultsFolder))
        {
            if (Load(folder) is Run run)
                runs.Add((run, folder));
        }
        runs.Sort((a, b) => a.Item1.Started.CompareTo(b.Item1.Started));
        return runs;
    }
}
