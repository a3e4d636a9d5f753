namespace Dataplane.Build.Testing;

/// <summary>The parts of a test run, each with its passed, failed and skipped counts, and their sum: the summary's last line.</summary>
internal sealed class Tally
{
    private readonly List<string> _lines = [];

    public int Passed { get; private set; }

    public int Failed { get; private set; }

    public int Skipped { get; private set; }

    /// <summary>Records a part of the run.</summary>
    public void Record(string name, int passed, int failed, int skipped, string note = "")
    {
        Passed += passed;
        Failed += failed;
        Skipped += skipped;
        _lines.Add($"{name,-28} {passed} passed, {failed} failed, {skipped} skipped{(note.Length > 0 ? $"  ({note})" : "")}");
    }

    /// <summary>A line per part, in the order they ran.</summary>
    public IReadOnlyList<string> Lines => _lines;

    /// <summary><c>N passed, N failed[, N skipped]</c>.</summary>
    public string Summary => $"{Passed} passed, {Failed} failed{(Skipped > 0 ? $", {Skipped} skipped" : "")}";
}
