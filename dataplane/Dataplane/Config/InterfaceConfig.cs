namespace Dataplane.Config;

/// <summary><c>inet NAME ADDRESS/LENGTH</c> or <c>inet6 NAME ADDRESS/LENGTH</c>: an address on a port or vlan.</summary>
/// <param name="Interface">The port or vlan that holds the address.</param>
/// <param name="Prefix">The address and the length of its connected prefix.</param>
/// <param name="Line">The config line that assigned it.</param>
internal sealed record InterfaceAddress(string Interface, IpPrefix Prefix, int Line)
{
    /// <summary>inet or inet6.</summary>
    public IpFamily Family => Prefix.Family;
}

/// <summary><c>mtu NAME BYTES</c>: the IP MTU of a port or vlan.</summary>
/// <param name="Interface">The port or vlan.</param>
/// <param name="Mtu">Bytes, 68 to 65535 (at least 1280 where the interface has inet6).</param>
/// <param name="Line">The config line that set it.</param>
internal sealed record MtuConfig(string Interface, int Mtu, int Line)
{
    /// <summary>RFC 791: every IPv4 host must handle 68-byte datagrams unfragmented.</summary>
    public const int MinInet = 68;

    /// <summary>RFC 8200 5: every IPv6 link must carry 1280-byte packets.</summary>
    public const int MinInet6 = 1280;

    /// <summary>The largest IP total length.</summary>
    public const int Max = 65535;
}

/// <summary><c>vlan NAME parent PORT vnetid ID</c>: an 802.1Q interface on a port.</summary>
/// <param name="Name">The vlan's name; it shares the namespace of port names.</param>
/// <param name="Parent">The port it is stacked on.</param>
/// <param name="VnetId">The VLAN ID, 1 to 4094.</param>
/// <param name="Line">The config line that declared it.</param>
internal sealed record VlanConfig(string Name, string Parent, int VnetId, int Line)
{
    /// <summary>IEEE 802.1Q: 0 means priority-tagged only and 4095 is reserved.</summary>
    public const int MaxVnetId = 4094;
}
