using System.Xml;
using System.Xml.Linq;

namespace Dataplane.Build.Testing;

/// <summary>
/// The outcomes of a VSTest TRX file (<c>dotnet test --logger trx</c>): one <c>UnitTestResult</c>
/// per test run, each with an <c>outcome</c>. Passed passes; Failed, Error, Timeout and Aborted
/// fail; NotExecuted, Inconclusive and NotRunnable are skipped; any other outcome
/// (PassedButRunAborted, Warning, Blocked, Disconnected, InProgress, Pending, Completed, ...) is a
/// run that did not end in a verdict, and counts as failed.
/// </summary>
/// <param name="Total">Every result, whatever its outcome.</param>
/// <param name="Passed">Those that passed.</param>
/// <param name="Failed">Those that failed, with a verdict.</param>
/// <param name="Skipped">Those that were skipped.</param>
/// <param name="Other">The outcomes that are none of those, with their counts, by name.</param>
internal sealed record TrxResults(int Total, int Passed, int Failed, int Skipped, IReadOnlyList<(string Outcome, int Count)> Other)
{
    private static readonly string[] PassedOutcomes = ["Passed"];
    private static readonly string[] FailedOutcomes = ["Failed", "Error", "Timeout", "Aborted"];
    private static readonly string[] SkippedOutcomes = ["NotExecuted", "Inconclusive", "NotRunnable"];

    /// <summary>The results in the TRX file at <paramref name="path"/>; null when it cannot be read as one.</summary>
    public static TrxResults? Read(string path)
    {
        XDocument trx;
        try
        {
            trx = XDocument.Load(path);
        }
        catch (Exception e) when (e is IOException or XmlException or UnauthorizedAccessException)
        {
            return null;
        }
        string[] outcomes = [.. trx.Descendants().Where(e => e.Name.LocalName == "UnitTestResult").Select(e => (string?)e.Attribute("outcome") ?? "")];
        int Count(string[] names) => outcomes.Count(names.Contains);
        (string, int)[] other = [.. outcomes
            .Where(o => !PassedOutcomes.Contains(o) && !FailedOutcomes.Contains(o) && !SkippedOutcomes.Contains(o))
            .GroupBy(o => o).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => (g.Key, g.Count()))];
        return new TrxResults(outcomes.Length, Count(PassedOutcomes), Count(FailedOutcomes), Count(SkippedOutcomes), other);
    }
}
