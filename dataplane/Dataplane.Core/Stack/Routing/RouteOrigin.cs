namespace Dataplane.Stack.Routing;

/// <summary>How a route came to be.</summary>
internal enum RouteOrigin : byte
{
    /// <summary>The network of an interface address: the destination itself is the neighbour.</summary>
    Connected,

    /// <summary>Added by the config or by <c>ctl route add</c>, through a gateway.</summary>
    Static,
}
