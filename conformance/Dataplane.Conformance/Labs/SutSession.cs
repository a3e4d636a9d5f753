using System.Text.Json;
using Dataplane.Labs;

namespace Dataplane.Conformance.Labs;

/// <summary>The system under test while attached: its error counters, and whether the dataplane still runs.</summary>
public sealed class SutSession(SutKind kind, Host host, LabProcess? dataplane, string? binary, string? socket)
{
    /// <summary>What is attached.</summary>
    public SutKind Kind { get; } = kind;

    /// <summary>Its machine.</summary>
    public Host Host { get; } = host;

    /// <summary>The dataplane's process; null for Linux or direct.</summary>
    public LabProcess? Dataplane { get; } = dataplane;

    /// <summary>The dataplane binary's path on the machine.</summary>
    public string? Binary { get; } = binary;

    /// <summary>The dataplane's control socket on the machine.</summary>
    public string? Socket { get; } = socket;

    /// <summary>The dataplane's control command on its machine, <c>'BINARY' ctl -s 'SOCKET'</c>; null for Linux or direct.</summary>
    public string? Ctl => Binary is not null && Socket is not null ? $"{Shell.Quote(Binary)} ctl -s {Shell.Quote(Socket)}" : null;

    /// <summary>The dataplane's log (its output, and ctl output at the end).</summary>
    internal StreamWriter? Log { get; init; }

    /// <summary>Why the system under test cannot take tests any more; null while it can.</summary>
    public string? Gone => Dataplane is { HasExited: true } d ? $"the dataplane exited with status {d.ExitCode} (see dataplane.log)" : null;

    /// <summary>The error counters Linux's <c>nstat</c> reports that mean a test went wrong.</summary>
    internal static readonly string[] LinuxErrors =
    [
        "IpInHdrErrors", "IpInAddrErrors", "IpInDiscards", "IpOutDiscards", "IpReasmFails", "IpFragFails",
        "IcmpInErrors", "IcmpInCsumErrors", "TcpInErrs", "TcpInCsumErrors", "UdpInErrors", "UdpRcvbufErrors",
        "UdpSndbufErrors", "UdpInCsumErrors", "Ip6InHdrErrors", "Ip6InAddrErrors", "Ip6InDiscards",
        "Ip6OutDiscards", "Ip6ReasmFails", "Ip6FragFails", "Ip6InTooBigErrors", "Icmp6InErrors", "Icmp6InCsumErrors",
        "Udp6InErrors", "Udp6RcvbufErrors", "Udp6SndbufErrors", "Udp6InCsumErrors",
    ];

    /// <summary>
    /// The error counters now: the dataplane's <c>ctl stats --json</c> "errors" object, or Linux's
    /// error counters from <c>nstat</c>; null when they cannot be read (direct has none).
    /// </summary>
    public async Task<IReadOnlyDictionary<string, long>?> ErrorCountersAsync(CancellationToken cancel)
    {
        if (Kind == SutKind.Direct)
            return null;
        if (Kind == SutKind.Linux)
        {
            CommandResult nstat = await Host.RunAsync("nstat -asz", TimeSpan.FromSeconds(30), null, cancel).ConfigureAwait(false);
            return nstat.ExitCode == 0 ? ParseNstat(nstat.Output) : null;
        }
        if (Gone is not null)
            return null;
        CommandResult stats = await Host.RunAsync($"{Ctl} stats --json",
            TimeSpan.FromSeconds(30), null, cancel).ConfigureAwait(false);
        return stats.ExitCode == 0 ? ParseStatsErrors(stats.Output) : null;
    }

    /// <summary>Linux's error counters in <c>nstat -asz</c> output ("Name value rate" lines).</summary>
    internal static Dictionary<string, long> ParseNstat(string output)
    {
        var counters = new Dictionary<string, long>();
        foreach (string line in output.Split('\n'))
        {
            string[] f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length >= 2 && LinuxErrors.Contains(f[0]) && long.TryParse(f[1], out long v))
                counters[f[0]] = v;
        }
        return counters;
    }

    /// <summary>The "errors" object of the dataplane's <c>ctl stats --json</c>.</summary>
    internal static Dictionary<string, long>? ParseStatsErrors(string json)
    {
        try
        {
            using JsonDocument doc = JsonDocument.Parse(json);
            if (!doc.RootElement.TryGetProperty("errors", out JsonElement errors))
                return null;
            var counters = new Dictionary<string, long>();
            foreach (JsonProperty p in errors.EnumerateObject())
                counters[p.Name] = p.Value.GetInt64();
            return counters;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
