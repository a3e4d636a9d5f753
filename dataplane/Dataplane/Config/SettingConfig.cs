using System.Collections.Immutable;

namespace Dataplane.Config;

/// <summary>The keys of the <c>set</c> statement.</summary>
internal enum SettingKey
{
    /// <summary><c>set forwarding on|off</c>: route packets between ports (default off).</summary>
    Forwarding,

    /// <summary><c>set cores LIST</c>: the worker CPUs (default 0).</summary>
    Cores,

    /// <summary><c>set tso on|off</c>: TCP segmentation offload (default on).</summary>
    Tso,

    /// <summary><c>set lro on|off</c>: large receive offload (default on).</summary>
    Lro,

    /// <summary><c>set tcp connections N</c>: the most TCP connections, all workers together (default 100000).</summary>
    TcpConnections,

    /// <summary><c>set tcp buffer BYTES</c>: the most each TCP connection's send and receive buffer tunes itself up to (default 1048576).</summary>
    TcpBuffer,

    /// <summary><c>set tcp congestion cubic|newreno</c>: the congestion control of TCP connections (default cubic).</summary>
    TcpCongestion,
}

/// <summary><c>set KEY VALUE</c>: one global setting.</summary>
/// <param name="Key">Which setting.</param>
/// <param name="On">The value of an on|off key; false for cores.</param>
/// <param name="Cores">The CPUs of <c>set cores</c>, ascending; empty for the other keys.</param>
/// <param name="Line">The config line that set it.</param>
/// <param name="Number">The value of a numeric key (<c>set tcp connections</c>, <c>set tcp buffer</c>); 0 for the others.</param>
internal sealed record SettingConfig(SettingKey Key, bool On, ImmutableArray<int> Cores, int Line, long Number = 0)
{
    /// <summary>The fewest bytes <c>set tcp buffer</c> takes: a few segments' worth.</summary>
    public const long MinTcpBuffer = 4096;

    /// <summary>The most bytes <c>set tcp buffer</c> takes: what window scaling can offer (RFC 7323 2.3: 2^30).</summary>
    public const long MaxTcpBuffer = 1L << 30;

    /// <summary>The most connections <c>set tcp connections</c> takes.</summary>
    public const long MaxTcpConnections = 16_000_000;

    /// <summary>The highest CPU number <c>set cores</c> accepts.</summary>
    public const int MaxCpu = 1023;

    /// <summary>Keys as the config writes them, in <see cref="SettingKey"/> order.</summary>
    public static readonly string[] Keywords = ["forwarding", "cores", "tso", "lro", "tcp connections", "tcp buffer", "tcp congestion"];

    /// <summary>Values of <c>set tcp congestion</c>, in <see cref="Stack.Transport.Tcp.CongestionAlgorithm"/> order.</summary>
    public static readonly string[] CongestionKeywords = ["cubic", "newreno"];
}
