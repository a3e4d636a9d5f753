namespace Dataplane.Conformance.Model;

/// <summary>
/// What one test of the matrix produced on one system under test: its status, a one-line message,
/// and the value it measured (bits per second and the direction it was measured in, as OpenBSD's
/// <c>VALUE n bits/sec direction</c> lines say). Paths are relative to the run's folder.
/// </summary>
/// <param name="Test">The test's name, e.g. <c>linux-dataplane-linux-tcp4iperf-parallel-forward</c>.</param>
/// <param name="Status">How it ended.</param>
/// <param name="Message">Why, in one line; empty for a plain pass.</param>
/// <param name="BitsPerSecond">The value measured; null when none was.</param>
/// <param name="Direction">What the value measures: <c>send</c>, <c>recv</c>, ...; null with no value.</param>
/// <param name="Log">The test's log; null when it could not be created (NOLOG) or the test did not start.</param>
/// <param name="Seconds">How long the test took.</param>
/// <param name="Known">A NORUN that is known and said: a feature the system under test lacks, a modifier not landed, a role the reference tool cannot play.</param>
public sealed record Result(
    string Test,
    Status Status,
    string Message,
    double? BitsPerSecond,
    string? Direction,
    string? Log,
    double Seconds,
    bool Known = false)
{
    /// <summary>The lines OpenBSD's tests write: <c>STATUS\ttest\tmessage</c>, then the value.</summary>
    public string ToResultLines()
    {
        string line = $"{Status.Name()}\t{Test}\t{Message}\n";
        if (BitsPerSecond is double value)
            line += $"VALUE {value:0} bits/sec {Direction}\n";
        return line;
    }
}

/// <summary>
/// One row of a run: the test on the dataplane and, measured in the same run with the Linux kernel
/// in the same role, the reference it is compared with.
/// </summary>
/// <param name="Test">The test's name.</param>
/// <param name="Description">What it does, e.g. "IPv4 TCP forward, iperf3, 15 streams".</param>
/// <param name="Dataplane">Its result with the dataplane as the system under test.</param>
/// <param name="Linux">Its result with Linux in the same role; null when the run measured no reference.</param>
public sealed record Row(string Test, string Description, Result Dataplane, Result? Linux)
{
    /// <summary>The dataplane's value as a percentage of Linux's; null unless both measured one.</summary>
    public double? PercentOfLinux =>
        Dataplane.BitsPerSecond is double d && Linux?.BitsPerSecond is double l && l > 0 ? 100 * d / l : null;
}

/// <summary>
/// One run of the matrix: a column of the results page. Stored as <c>run.json</c> in the run's
/// folder under the results folder.
/// </summary>
/// <param name="Id">The folder name: the start time and the configuration, e.g. <c>2026-11-25T01-02-03-tap</c>.</param>
/// <param name="Started">When it started.</param>
/// <param name="Lab">The lab definition's name.</param>
/// <param name="Driver">The dataplane's port driver in this run (tap, afpacket, vfio, ...).</param>
/// <param name="Modifiers">The modifiers (direct, jumbo, nolro, notso, nopf), none for a plain run.</param>
/// <param name="Commit">The source's git commit, when known.</param>
/// <param name="Host">The machine the runner ran on.</param>
/// <param name="Rows">One per test, in the catalog's order.</param>
public sealed record Run(
    string Id,
    DateTimeOffset Started,
    string Lab,
    string Driver,
    IReadOnlyList<string> Modifiers,
    string Commit,
    string Host,
    IReadOnlyList<Row> Rows)
{
    /// <summary>The configuration in one word group: driver, then modifiers, e.g. "tap direct".</summary>
    public string Configuration => Modifiers.Count == 0 ? Driver : $"{Driver} {string.Join(' ', Modifiers)}";
}
