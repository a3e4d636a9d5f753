namespace Dataplane.Config;

/// <summary><c>route add [-inet | -inet6] DESTINATION GATEWAY</c>: a static route.</summary>
/// <param name="Destination">The network, host bits clear; 0.0.0.0/0 or ::/0 for <c>default</c>.</param>
/// <param name="Gateway">The next hop, on a connected prefix of the same family.</param>
/// <param name="Line">The config line that added it.</param>
internal sealed record RouteConfig(IpPrefix Destination, IpAddress Gateway, int Line)
{
    /// <summary>inet or inet6.</summary>
    public IpFamily Family => Destination.Family;

    /// <summary>True for the default route of the family.</summary>
    public bool IsDefault => Destination.IsDefault;
}
