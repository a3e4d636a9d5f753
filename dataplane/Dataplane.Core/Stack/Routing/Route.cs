using Dataplane.Wire;

namespace Dataplane.Stack.Routing;

/// <summary>One IPv4 route as <c>route show</c> lists it.</summary>
/// <param name="Network">The destination network, host bits clear; 0.0.0.0 for the default route.</param>
/// <param name="PrefixLength">0 (default) to 32 (host route).</param>
/// <param name="NextHop">Where packets to the network go.</param>
internal readonly record struct Route4(Ipv4Address Network, int PrefixLength, NextHop4 NextHop)
{
    /// <summary>True for 0.0.0.0/0.</summary>
    public bool IsDefault => PrefixLength == 0;

    /// <summary>True for a /32.</summary>
    public bool IsHost => PrefixLength == 32;

    /// <summary>NETWORK/LENGTH -> next hop, for messages and test failures.</summary>
    public override string ToString() => $"{Network}/{PrefixLength} -> {NextHop}";
}

/// <summary>One IPv6 route as <c>route show</c> lists it.</summary>
/// <param name="Network">The destination network, host bits clear; :: for the default route.</param>
/// <param name="PrefixLength">0 (default) to 128 (host route).</param>
/// <param name="NextHop">Where packets to the network go.</param>
internal readonly record struct Route6(Ipv6Address Network, int PrefixLength, NextHop6 NextHop)
{
    /// <summary>True for ::/0.</summary>
    public bool IsDefault => PrefixLength == 0;

    /// <summary>True for a /128.</summary>
    public bool IsHost => PrefixLength == 128;

    /// <summary>NETWORK/LENGTH -> next hop, for messages and test failures.</summary>
    public override string ToString() => $"{Network}/{PrefixLength} -> {NextHop}";
}
