namespace Dataplane.Config;

/// <summary>The built-in applications.</summary>
internal enum AppKind
{
    /// <summary>An iperf3-protocol server, so the stock iperf3 tool is the peer.</summary>
    Iperf3,

    /// <summary>A TCP or UDP relay from a listen endpoint to a connect endpoint.</summary>
    Relay,

    /// <summary>Echo (RFC 862) over TCP or UDP.</summary>
    Echo,

    /// <summary>Discard (RFC 863) over TCP or UDP.</summary>
    Discard,
}

/// <summary>The transport an app listens on.</summary>
internal enum AppTransport
{
    /// <summary>TCP.</summary>
    Tcp,

    /// <summary>UDP.</summary>
    Udp,
}

/// <summary>How a relay moves data between its two sides.</summary>
internal enum RelayMode
{
    /// <summary>Zero-copy, inside the stack, as OpenBSD's socket splicing.</summary>
    Splice,

    /// <summary>Through the application's buffers.</summary>
    Copy,
}

/// <summary>
/// <c>app iperf3 listen EP</c>, <c>app relay tcp|udp listen EP connect EP [mode splice|copy] [max BYTES] [idle SECONDS]</c>,
/// <c>app echo tcp|udp listen EP</c> or <c>app discard tcp|udp listen EP</c>.
/// </summary>
/// <param name="Kind">Which application.</param>
/// <param name="Transport">The transport it listens on; tcp for iperf3.</param>
/// <param name="Listen">The local endpoint: a configured address, or 0.0.0.0 or :: for all.</param>
/// <param name="Connect">The relay's far endpoint; null for the other kinds.</param>
/// <param name="Mode">The relay mode; splice for the other kinds.</param>
/// <param name="Line">The config line that declared it.</param>
internal sealed record AppConfig(AppKind Kind, AppTransport Transport, IpEndpoint Listen, IpEndpoint? Connect, RelayMode Mode, int Line)
{
    /// <summary>A TCP relay's <c>max BYTES</c>: each direction ends after that many; 0 for none.</summary>
    public long MaxBytes { get; init; }

    /// <summary>A TCP relay's <c>idle SECONDS</c>: a session in which nothing moved that long is reset; 0 for none.</summary>
    public long IdleSeconds { get; init; }

    /// <summary>Kind keywords as the config writes them, in <see cref="AppKind"/> order.</summary>
    public static readonly string[] KindKeywords = ["iperf3", "relay", "echo", "discard"];

    /// <summary>Transport keywords, in <see cref="AppTransport"/> order.</summary>
    public static readonly string[] TransportKeywords = ["tcp", "udp"];

    /// <summary>Relay mode keywords, in <see cref="RelayMode"/> order.</summary>
    public static readonly string[] ModeKeywords = ["splice", "copy"];
}
