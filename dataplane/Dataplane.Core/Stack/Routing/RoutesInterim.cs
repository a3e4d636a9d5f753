// INTERIM: a linear-scan stand-in with the agreed API, replaced by the DIR-24-8 tables of the routing branch.
using Dataplane.Wire;

namespace Dataplane.Stack.Routing;

internal enum RouteOrigin : byte { Connected, Static }

internal enum RouteChange { Added, Deleted, Exists, NotFound, BadPrefix }

internal readonly record struct NextHop4(int Interface, Ipv4Address Gateway, RouteOrigin Origin) { public bool IsDirect => Gateway.IsUnspecified; }

internal readonly record struct NextHop6(int Interface, Ipv6Address Gateway, RouteOrigin Origin) { public bool IsDirect => Gateway.IsUnspecified; }

internal readonly record struct Route4(Ipv4Address Network, int PrefixLength, NextHop4 NextHop);

internal readonly record struct Route6(Ipv6Address Network, int PrefixLength, NextHop6 NextHop);

internal sealed class RoutingTable(Route4[] routes4, Route6[] routes6)
{
    public static RoutingTable Empty { get; } = new([], []);
    public IReadOnlyList<Route4> Routes4 => routes4;
    public IReadOnlyList<Route6> Routes6 => routes6;

    public bool TryLookup(Ipv4Address destination, out NextHop4 hop)
    {
        hop = default;
        int best = -1;
        uint d = destination.ToUInt32();
        foreach (Route4 r in routes4)
        {
            uint mask = r.PrefixLength == 0 ? 0 : uint.MaxValue << (32 - r.PrefixLength);
            if ((d & mask) == r.Network.ToUInt32() && r.PrefixLength > best)
            {
                best = r.PrefixLength;
                hop = r.NextHop;
            }
        }
        return best >= 0;
    }

    public bool TryLookup(in Ipv6Address destination, out NextHop6 hop)
    {
        hop = default;
        int best = -1;
        foreach (Route6 r in routes6)
        {
            if (Ipv6Addresses.SamePrefix(destination, r.Network, r.PrefixLength) && r.PrefixLength > best)
            {
                best = r.PrefixLength;
                hop = r.NextHop;
            }
        }
        return best >= 0;
    }
}

internal sealed class Routes
{
    private readonly Lock _gate = new();
    private RoutingTable _current = RoutingTable.Empty;

    public RoutingTable Current => Volatile.Read(ref _current);

    public RouteChange Add(Ipv4Address network, int prefixLength, NextHop4 hop)
    {
        lock (_gate)
        {
            foreach (Route4 r in _current.Routes4)
                if (r.Network == network && r.PrefixLength == prefixLength)
                    return RouteChange.Exists;
            Volatile.Write(ref _current, new RoutingTable([.. _current.Routes4, new Route4(network, prefixLength, hop)], [.. _current.Routes6]));
            return RouteChange.Added;
        }
    }

    public RouteChange Add(Ipv6Address network, int prefixLength, NextHop6 hop)
    {
        lock (_gate)
        {
            foreach (Route6 r in _current.Routes6)
                if (r.Network == network && r.PrefixLength == prefixLength)
                    return RouteChange.Exists;
            Volatile.Write(ref _current, new RoutingTable([.. _current.Routes4], [.. _current.Routes6, new Route6(network, prefixLength, hop)]));
            return RouteChange.Added;
        }
    }
}
