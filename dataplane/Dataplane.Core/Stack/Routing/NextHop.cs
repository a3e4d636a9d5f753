using Dataplane.Wire;

namespace Dataplane.Stack.Routing;

/// <summary>Where an IPv4 packet goes next.</summary>
/// <param name="Interface">The stack's interface index: the port index, 0 to n - 1.</param>
/// <param name="Gateway">The neighbour to send to; unspecified (0.0.0.0) for a connected route.</param>
/// <param name="Origin">How the route came to be.</param>
internal readonly record struct NextHop4(int Interface, Ipv4Address Gateway, RouteOrigin Origin)
{
    /// <summary>True when the destination itself is the neighbour (no gateway).</summary>
    public bool IsDirect => Gateway.IsUnspecified;
}

/// <summary>Where an IPv6 packet goes next.</summary>
/// <param name="Interface">The stack's interface index: the port index, 0 to n - 1.</param>
/// <param name="Gateway">The neighbour to send to; unspecified (::) for a connected route.</param>
/// <param name="Origin">How the route came to be.</param>
internal readonly record struct NextHop6(int Interface, Ipv6Address Gateway, RouteOrigin Origin)
{
    /// <summary>True when the destination itself is the neighbour (no gateway).</summary>
    public bool IsDirect => Gateway.IsUnspecified;
}
