using System.Collections.Immutable;

namespace Dataplane.Config;

/// <summary>A parsed config file: every statement that parsed, in file order, each with its line.</summary>
internal sealed record DataplaneConfig(
    ImmutableArray<PortConfig> Ports,
    ImmutableArray<InterfaceAddress> Addresses,
    ImmutableArray<RouteConfig> Routes,
    ImmutableArray<SettingConfig> Settings,
    ImmutableArray<MtuConfig> Mtus,
    ImmutableArray<VlanConfig> Vlans,
    ImmutableArray<AppConfig> Apps)
{
    /// <summary>A config with no statements.</summary>
    public static DataplaneConfig Empty { get; } = new([], [], [], [], [], [], []);

    /// <summary><c>set forwarding</c>; off unless set.</summary>
    public bool Forwarding => Switch(SettingKey.Forwarding, defaultValue: false);

    /// <summary><c>set tso</c>; on unless set.</summary>
    public bool Tso => Switch(SettingKey.Tso, defaultValue: true);

    /// <summary><c>set lro</c>; on unless set.</summary>
    public bool Lro => Switch(SettingKey.Lro, defaultValue: true);

    /// <summary>Whether <paramref name="port"/> runs TSO: its own <c>tso</c> when given, else <c>set tso</c>.</summary>
    public bool TsoOn(PortConfig port) => port.Tso ?? Tso;

    /// <summary>Whether <paramref name="port"/> runs LRO: its own <c>lro</c> when given, else <c>set lro</c>.</summary>
    public bool LroOn(PortConfig port) => port.Lro ?? Lro;

    /// <summary><c>set tcp connections</c>: the most TCP connections of the dataplane.</summary>
    public int TcpConnections => (int)(Find(SettingKey.TcpConnections)?.Number ?? Stack.Transport.Tcp.TcpSocketTable.DefaultConnections);

    /// <summary><c>set tcp buffer</c>: the most each TCP connection's send and receive buffer tunes itself up to, in bytes.</summary>
    public int TcpBuffer => (int)(Find(SettingKey.TcpBuffer)?.Number ?? Stack.Transport.Tcp.TcpSocketTable.DefaultBuffer);

    /// <summary><c>set tcp congestion</c>: the congestion control of TCP connections.</summary>
    public Stack.Transport.Tcp.CongestionAlgorithm TcpCongestion => (Stack.Transport.Tcp.CongestionAlgorithm)(Find(SettingKey.TcpCongestion)?.Number ?? 0);

    /// <summary><c>set cores</c>, ascending; CPU 0 alone unless set.</summary>
    public ImmutableArray<int> Cores => Find(SettingKey.Cores)?.Cores ?? [0];

    private bool Switch(SettingKey key, bool defaultValue) => Find(key)?.On ?? defaultValue;

    private SettingConfig? Find(SettingKey key)
    {
        foreach (SettingConfig s in Settings)
        {
            if (s.Key == key)
                return s;
        }
        return null;
    }
}

/// <summary>What parsing a config gives: the model and every error, in line order.</summary>
/// <param name="Config">The statements that parsed; only to be used when <see cref="Errors"/> is empty.</param>
/// <param name="Errors">Every problem found, in line order.</param>
internal sealed record ConfigResult(DataplaneConfig Config, ImmutableArray<ConfigError> Errors)
{
    /// <summary>True when the config has no errors.</summary>
    public bool IsValid => Errors.IsEmpty;
}
