namespace Dataplane.Stack.Routing;

/// <summary>What a change to <see cref="Routes"/> did; anything but Added and Deleted changed nothing.</summary>
internal enum RouteChange
{
    /// <summary>The route is in the new table.</summary>
    Added,

    /// <summary>The route is gone from the new table.</summary>
    Deleted,

    /// <summary>A route to the same network and prefix length is already there (delete it first).</summary>
    Exists,

    /// <summary>No route to that network and prefix length.</summary>
    NotFound,

    /// <summary>The prefix length is out of range, or the network has bits set past it.</summary>
    BadPrefix,

    /// <summary>The next hop names a negative interface, a connected route has a gateway, or the gateway is not unicast.</summary>
    BadNextHop,

    /// <summary>
    /// The table has no room: every IPv4 second-level group (tbl8) is taken, or every next-hop slot.
    /// </summary>
    TableFull,

    /// <summary>The route is a connected route: it goes with the interface address, not with <c>route delete</c>.</summary>
    ConnectedRoute,
}
