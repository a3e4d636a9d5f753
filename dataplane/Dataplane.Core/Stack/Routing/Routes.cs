using Dataplane.Wire;

namespace Dataplane.Stack.Routing;

/// <summary>
/// The mutable side of the routing table, used by the control thread only: the config's routes at
/// start, <c>ctl route add</c> and <c>ctl route delete</c> at run time, connected routes as
/// interface addresses come and go. Every change builds a new <see cref="RoutingTable"/> and
/// publishes it with a single volatile write; workers read <see cref="Current"/> and never stall.
/// </summary>
/// <remarks>
/// Changes are serialised by a lock, on the control path only: the route set, the build and the
/// publication happen under it, so two changes never race to publish. A refused change leaves both
/// the route set and <see cref="Current"/> as they were. A replaced snapshot is reclaimed by the
/// garbage collector once no worker holds it, which is the grace period RCU would otherwise need:
/// a worker holds it only for the burst it read it for. Each IPv4 change allocates a new 32 MiB
/// tbl24 (see <see cref="Ipv4LpmTable"/>), so a burst of changes is best made with
/// <see cref="AddMany(ReadOnlySpan{Route4}, out int)"/>, which builds one snapshot.
/// </remarks>
internal sealed class Routes
{
    private readonly Lock _gate = new();
    private readonly Dictionary<(uint Network, int Length), NextHop4> _ipv4 = [];
    private readonly Dictionary<(Ipv6Key Network, int Length), NextHop6> _ipv6 = [];
    private readonly int _maxTbl8Groups;
    private RoutingTable _current = RoutingTable.Empty;

    /// <summary>An empty route set; <paramref name="maxTbl8Groups"/> caps the IPv4 /24s that may hold prefixes longer than /24.</summary>
    public Routes(int maxTbl8Groups = Ipv4LpmTable.MaxGroups)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxTbl8Groups);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxTbl8Groups, Ipv4LpmTable.MaxGroups);
        _maxTbl8Groups = maxTbl8Groups;
    }

    /// <summary>The table now: read it once per packet or burst and use that snapshot throughout.</summary>
    public RoutingTable Current => Volatile.Read(ref _current);

    /// <summary>Adds a route to <paramref name="network"/>/<paramref name="prefixLength"/> through <paramref name="hop"/>.</summary>
    public RouteChange Add(Ipv4Address network, int prefixLength, NextHop4 hop)
        => AddMany([new Route4(network, prefixLength, hop)], out _);

    /// <summary>Adds a route to <paramref name="network"/>/<paramref name="prefixLength"/> through <paramref name="hop"/>.</summary>
    public RouteChange Add(Ipv6Address network, int prefixLength, NextHop6 hop)
        => AddMany([new Route6(network, prefixLength, hop)], out _);

    /// <summary>
    /// Adds every route of <paramref name="routes"/> and publishes one snapshot, or none of them:
    /// on a refusal, <paramref name="rejected"/> is the index of the route refused (-1 when the
    /// table as a whole is full) and nothing changes.
    /// </summary>
    public RouteChange AddMany(ReadOnlySpan<Route4> routes, out int rejected)
    {
        rejected = -1;
        lock (_gate)
        {
            for (int i = 0; i < routes.Length; i++)
            {
                Route4 r = routes[i];
                RouteChange check = Check(r);
                if (check == RouteChange.Added && !_ipv4.TryAdd((r.Network.ToUInt32(), r.PrefixLength), r.NextHop))
                    check = RouteChange.Exists;
                if (check != RouteChange.Added)
                {
                    rejected = i;
                    Forget(routes[..i]);
                    return check;
                }
            }
            if (!TryPublish4())
            {
                Forget(routes);
                return RouteChange.TableFull;
            }
            return RouteChange.Added;
        }
    }

    /// <summary>
    /// Adds every route of <paramref name="routes"/> and publishes one snapshot, or none of them:
    /// on a refusal, <paramref name="rejected"/> is the index of the route refused and nothing changes.
    /// </summary>
    public RouteChange AddMany(ReadOnlySpan<Route6> routes, out int rejected)
    {
        rejected = -1;
        lock (_gate)
        {
            for (int i = 0; i < routes.Length; i++)
            {
                Route6 r = routes[i];
                RouteChange check = Check(r);
                if (check == RouteChange.Added && !_ipv6.TryAdd((Ipv6Key.From(r.Network), r.PrefixLength), r.NextHop))
                    check = RouteChange.Exists;
                if (check != RouteChange.Added)
                {
                    rejected = i;
                    foreach (Route6 added in routes[..i])
                        _ipv6.Remove((Ipv6Key.From(added.Network), added.PrefixLength));
                    return check;
                }
            }
            Publish6();
            return RouteChange.Added;
        }
    }

    /// <summary>Deletes the static route to <paramref name="network"/>/<paramref name="prefixLength"/>; a connected route is refused.</summary>
    public RouteChange Delete(Ipv4Address network, int prefixLength) => Delete4(network, prefixLength, connected: false);

    /// <summary>Deletes the static route to <paramref name="network"/>/<paramref name="prefixLength"/>; a connected route is refused.</summary>
    public RouteChange Delete(Ipv6Address network, int prefixLength) => Delete6(network, prefixLength, connected: false);

    /// <summary>Deletes the connected route of an interface address that is going away; a static route is refused as not found.</summary>
    public RouteChange DeleteConnected(Ipv4Address network, int prefixLength) => Delete4(network, prefixLength, connected: true);

    /// <summary>Deletes the connected route of an interface address that is going away; a static route is refused as not found.</summary>
    public RouteChange DeleteConnected(Ipv6Address network, int prefixLength) => Delete6(network, prefixLength, connected: true);

    private RouteChange Delete4(Ipv4Address network, int prefixLength, bool connected)
    {
        if (!Ipv4LpmTable.IsPrefix(network, prefixLength))
            return RouteChange.BadPrefix;
        var key = (network.ToUInt32(), prefixLength);
        lock (_gate)
        {
            if (!_ipv4.TryGetValue(key, out NextHop4 hop) || (connected && hop.Origin != RouteOrigin.Connected))
                return RouteChange.NotFound;
            if (!connected && hop.Origin == RouteOrigin.Connected)
                return RouteChange.ConnectedRoute;
            _ipv4.Remove(key);
            // Fewer routes never need more tbl8 groups or next hops: this build cannot fail.
            if (!TryPublish4())
                throw new InvalidOperationException("a table with one route fewer did not build");
            return RouteChange.Deleted;
        }
    }

    private RouteChange Delete6(Ipv6Address network, int prefixLength, bool connected)
    {
        var key = (Ipv6Key.From(network), prefixLength);
        if (!Ipv6Key.IsPrefix(key.Item1, prefixLength))
            return RouteChange.BadPrefix;
        lock (_gate)
        {
            if (!_ipv6.TryGetValue(key, out NextHop6 hop) || (connected && hop.Origin != RouteOrigin.Connected))
                return RouteChange.NotFound;
            if (!connected && hop.Origin == RouteOrigin.Connected)
                return RouteChange.ConnectedRoute;
            _ipv6.Remove(key);
            Publish6();
            return RouteChange.Deleted;
        }
    }

    private static RouteChange Check(Route4 r)
    {
        if (!Ipv4LpmTable.IsPrefix(r.Network, r.PrefixLength))
            return RouteChange.BadPrefix;
        NextHop4 hop = r.NextHop;
        bool gatewayOk = hop.Origin == RouteOrigin.Connected
            ? hop.Gateway.IsUnspecified
            : !hop.Gateway.IsMulticast && !hop.Gateway.IsBroadcast;
        return hop.Interface >= 0 && gatewayOk && Enum.IsDefined(hop.Origin) ? RouteChange.Added : RouteChange.BadNextHop;
    }

    private static RouteChange Check(Route6 r)
    {
        if (!Ipv6Key.IsPrefix(Ipv6Key.From(r.Network), r.PrefixLength))
            return RouteChange.BadPrefix;
        NextHop6 hop = r.NextHop;
        bool gatewayOk = hop.Origin == RouteOrigin.Connected ? hop.Gateway.IsUnspecified : !hop.Gateway.IsMulticast;
        return hop.Interface >= 0 && gatewayOk && Enum.IsDefined(hop.Origin) ? RouteChange.Added : RouteChange.BadNextHop;
    }

    private void Forget(ReadOnlySpan<Route4> added)
    {
        foreach (Route4 r in added)
            _ipv4.Remove((r.Network.ToUInt32(), r.PrefixLength));
    }

    private bool TryPublish4()
    {
        var routes = new Route4[_ipv4.Count];
        int i = 0;
        foreach (((uint network, int length), NextHop4 hop) in _ipv4)
            routes[i++] = new Route4(Ipv4Address.FromUInt32(network), length, hop);
        if (!Ipv4LpmTable.TryBuild(routes, _maxTbl8Groups, out Ipv4LpmTable? ipv4))
            return false;
        RoutingTable old = _current;
        Volatile.Write(ref _current, new RoutingTable(ipv4, old.Ipv6, old.Generation + 1));
        return true;
    }

    private void Publish6()
    {
        var routes = new Route6[_ipv6.Count];
        int i = 0;
        foreach (((Ipv6Key network, int length), NextHop6 hop) in _ipv6)
            routes[i++] = new Route6(network.ToAddress(), length, hop);
        RoutingTable old = _current;
        Volatile.Write(ref _current, new RoutingTable(old.Ipv4, Ipv6LpmTable.Build(routes), old.Generation + 1));
    }
}
