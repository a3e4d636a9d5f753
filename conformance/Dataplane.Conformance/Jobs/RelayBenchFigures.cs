using System.Globalization;
using System.Text.RegularExpressions;

namespace Dataplane.Conformance.Jobs;

/// <summary>
/// What a wrk run reports: requests done, requests a second (with <c>Connection: close</c> each a
/// new connection, so connections a second), the socket errors (connect, read, write, timeout) and
/// the responses that were not 2xx or 3xx. Null figures when the output has none.
/// </summary>
internal sealed partial record WrkFigures(long? Requests, double? RequestsPerSecond, long SocketErrors, long Non2xx)
{
    /// <summary>The figures in wrk's text output.</summary>
    public static WrkFigures Parse(string output)
    {
        long? requests = RequestsLine().Match(output) is { Success: true } r ? long.Parse(r.Groups[1].Value, CultureInfo.InvariantCulture) : null;
        double? rate = RateLine().Match(output) is { Success: true } s ? double.Parse(s.Groups[1].Value, CultureInfo.InvariantCulture) : null;
        long errors = 0;
        if (ErrorsLine().Match(output) is { Success: true } e)
        {
            for (int g = 1; g <= 4; g++)
                errors += long.Parse(e.Groups[g].Value, CultureInfo.InvariantCulture);
        }
        long non2xx = Non2xxLine().Match(output) is { Success: true } n ? long.Parse(n.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
        return new WrkFigures(requests, rate, errors, non2xx);
    }

    [GeneratedRegex(@"(?m)^\s*(\d+) requests in ")]
    private static partial Regex RequestsLine();

    [GeneratedRegex(@"(?m)^Requests/sec:\s+([0-9.]+)\s*$")]
    private static partial Regex RateLine();

    [GeneratedRegex(@"(?m)^\s*Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")]
    private static partial Regex ErrorsLine();

    [GeneratedRegex(@"(?m)^\s*Non-2xx or 3xx responses: (\d+)")]
    private static partial Regex Non2xxLine();
}

/// <summary>Figures read from /proc.</summary>
internal static partial class ProcFigures
{
    /// <summary>The resident set size in bytes from the text of /proc/PID/status (its <c>VmRSS: N kB</c> line), or null.</summary>
    public static long? ResidentBytes(string status) =>
        RssLine().Match(status) is { Success: true } m ? long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) * 1024 : null;

    /// <summary>The resident set size of process <paramref name="pid"/> now, or null when it is gone.</summary>
    public static long? ResidentBytes(int pid)
    {
        try
        {
            return ResidentBytes(File.ReadAllText($"/proc/{pid}/status"));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    [GeneratedRegex(@"(?m)^VmRSS:\s+(\d+) kB")]
    private static partial Regex RssLine();
}
