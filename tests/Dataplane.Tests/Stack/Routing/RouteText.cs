using Dataplane.Stack.Routing;
using Dataplane.Wire;

namespace Dataplane.Tests.Stack.Routing;

/// <summary>Addresses and next hops from text, for tests that read like route tables.</summary>
internal static class RouteText
{
    public static Ipv4Address V4(string text) => Ipv4Address.TryParse(text, out Ipv4Address a) ? a : throw new FormatException(text);

    public static Ipv6Address V6(string text) => Ipv6Address.TryParse(text, out Ipv6Address a) ? a : throw new FormatException(text);

    /// <summary>A static next hop through <paramref name="gateway"/> on interface <paramref name="port"/>.</summary>
    public static NextHop4 Via(string gateway, int port = 0) => new(port, V4(gateway), RouteOrigin.Static);

    /// <summary>A static next hop through <paramref name="gateway"/> on interface <paramref name="port"/>.</summary>
    public static NextHop6 Via6(string gateway, int port = 0) => new(port, V6(gateway), RouteOrigin.Static);

    /// <summary>Adds NETWORK/LENGTH and checks it went in.</summary>
    public static void Add(this Routes routes, string prefix, NextHop4 hop)
    {
        (Ipv4Address network, int length) = Prefix4(prefix);
        Assert.Equal(RouteChange.Added, routes.Add(network, length, hop));
    }

    /// <summary>Adds NETWORK/LENGTH and checks it went in.</summary>
    public static void Add(this Routes routes, string prefix, NextHop6 hop)
    {
        (Ipv6Address network, int length) = Prefix6(prefix);
        Assert.Equal(RouteChange.Added, routes.Add(network, length, hop));
    }

    public static (Ipv4Address Network, int Length) Prefix4(string prefix)
    {
        int slash = prefix.IndexOf('/', StringComparison.Ordinal);
        return (V4(prefix[..slash]), int.Parse(prefix[(slash + 1)..], System.Globalization.CultureInfo.InvariantCulture));
    }

    public static (Ipv6Address Network, int Length) Prefix6(string prefix)
    {
        int slash = prefix.IndexOf('/', StringComparison.Ordinal);
        return (V6(prefix[..slash]), int.Parse(prefix[(slash + 1)..], System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>The next hop the table gives <paramref name="destination"/>, null for no route.</summary>
    public static NextHop4? Lookup(this RoutingTable table, string destination)
        => table.TryLookup(V4(destination), out NextHop4 hop) ? hop : null;

    /// <summary>The next hop the table gives <paramref name="destination"/>, null for no route.</summary>
    public static NextHop6? Lookup6(this RoutingTable table, string destination)
        => table.TryLookup(V6(destination), out NextHop6 hop) ? hop : null;
}
