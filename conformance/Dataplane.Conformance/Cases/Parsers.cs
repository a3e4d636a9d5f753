using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Dataplane.Conformance.Cases;

/// <summary>The values of the peer tools' output: ping's summary, iperf3's JSON, udpbench's VALUE line.</summary>
public static partial class Parsers
{
    /// <summary>
    /// ping's summary: the echo replies' IP bits per second over ping's own elapsed time
    /// (<paramref name="ipBytes"/> per reply), with the loss and the mean round trip as the note.
    /// </summary>
    public static Measurement? Ping(string output, int ipBytes)
    {
        Match summary = PingSummary().Match(output);
        if (!summary.Success)
            return null;
        long received = long.Parse(summary.Groups["received"].Value, CultureInfo.InvariantCulture);
        double ms = double.Parse(summary.Groups["ms"].Value, CultureInfo.InvariantCulture);
        if (received == 0 || ms <= 0)
            return null;
        string note = $"{summary.Groups["loss"].Value}% loss";
        Match rtt = PingRtt().Match(output);
        if (rtt.Success)
            note += $", rtt {rtt.Groups["avg"].Value} ms";
        return new Measurement(received * ipBytes * 8 * 1000.0 / ms, "recv", note);
    }

    /// <summary>
    /// iperf3's <c>-J</c> report: what the receiver got. TCP: <c>end.sum_received</c>; UDP:
    /// <c>end.sum_received</c> when there is one, else the sender's rate less the lost share.
    /// </summary>
    public static Measurement? Iperf3(string output, bool udp)
    {
        int start = output.IndexOf('{', StringComparison.Ordinal);
        int end = output.LastIndexOf('}');
        if (start < 0 || end <= start)
            return null;
        try
        {
            using JsonDocument doc = JsonDocument.Parse(output.AsMemory(start, end - start + 1));
            JsonElement root = doc.RootElement;
            if (!root.TryGetProperty("end", out JsonElement e) || e.ValueKind != JsonValueKind.Object)
                return null;
            if (e.TryGetProperty("sum_received", out JsonElement received) && received.TryGetProperty("bits_per_second", out JsonElement rbps) &&
                (!udp || received.TryGetProperty("packets", out _)))
            {
                return new Measurement(rbps.GetDouble(), "recv");
            }
            if (udp && e.TryGetProperty("sum", out JsonElement sum) && sum.TryGetProperty("bits_per_second", out JsonElement bps))
            {
                double lost = sum.TryGetProperty("lost_percent", out JsonElement l) ? l.GetDouble() : 0;
                return new Measurement(bps.GetDouble() * (1 - lost / 100), "recv", $"{lost:0.##}% lost");
            }
            return null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>iperf3's error from its JSON report ("error": "..."), for the message; null when none.</summary>
    public static string? Iperf3Error(string output)
    {
        Match m = Iperf3ErrorText().Match(output);
        return m.Success ? m.Groups[1].Value : null;
    }

    /// <summary>The first <c>VALUE n bits/sec direction</c> line, as OpenBSD's tools and udpbench print it.</summary>
    public static Measurement? ValueLine(string output)
    {
        Match m = Value().Match(output);
        if (!m.Success)
            return null;
        return new Measurement(double.Parse(m.Groups["n"].Value, CultureInfo.InvariantCulture), m.Groups["dir"].Value);
    }

    [GeneratedRegex(@"(?<sent>\d+) packets transmitted, (?<received>\d+) (packets )?received,.*?(?<loss>[\d.]+)% packet loss, time (?<ms>\d+)ms")]
    private static partial Regex PingSummary();

    [GeneratedRegex(@"rtt min/avg/max/mdev = [\d.]+/(?<avg>[\d.]+)/")]
    private static partial Regex PingRtt();

    [GeneratedRegex(@"^VALUE (?<n>[\d.]+(e[+-]?\d+)?) bits/sec (?<dir>\S+)", RegexOptions.Multiline)]
    private static partial Regex Value();

    [GeneratedRegex(@"""error"":\s*""([^""]*)""")]
    private static partial Regex Iperf3ErrorText();
}
