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
}

/// <summary><c>set KEY VALUE</c>: one global setting.</summary>
/// <param name="Key">Which setting.</param>
/// <param name="On">The value of an on|off key; false for cores.</param>
/// <param name="Cores">The CPUs of <c>set cores</c>, ascending; empty for the other keys.</param>
/// <param name="Line">The config line that set it.</param>
internal sealed record SettingConfig(SettingKey Key, bool On, ImmutableArray<int> Cores, int Line)
{
    /// <summary>The highest CPU number <c>set cores</c> accepts.</summary>
    public const int MaxCpu = 1023;

    /// <summary>Keys as the config writes them, in <see cref="SettingKey"/> order.</summary>
    public static readonly string[] Keywords = ["forwarding", "cores", "tso", "lro"];
}
