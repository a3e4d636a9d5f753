using System.Text;
using Dataplane.Stack.Routing;

namespace Dataplane.Control;

/// <summary>
/// <c>ctl route show</c>: the routing table in the layout of OpenBSD's <c>netstat -rn</c>, an
/// "Internet:" and an "Internet6:" section, each a header and one route a line, with the columns
/// Destination, Gateway, Flags and Interface (the kernel's Refs, Use, Mtu and Prio have no
/// counterpart here).
/// </summary>
/// <remarks>
/// <para>
/// Destinations are written as netstat writes them: <c>default</c> for the default route, a host
/// route as the bare address, and an IPv4 network with the octets its prefix covers, as OpenBSD's
/// netname4 does (10.10.11.0/24 is <c>10.10.11/24</c>, 224.0.0.0/4 is <c>224/4</c>). A connected
/// route has no gateway: its Gateway column is <c>link#N</c> as FreeBSD prints it, N counting the
/// interfaces from 1 as if_index does (port 0 is link#1).
/// </para>
/// <para>
/// Flags, in netstat's order: U (up: every route here is usable), G (through a gateway), H (host
/// route), C (connected: the network of an interface address) and S (static: config or
/// <c>route add</c>). OpenBSD itself spells connected 'n' and keeps C for cloning routes; this stack
/// has no cloning routes, and C reads as what it is.
/// </para>
/// <para>
/// Columns are 18 wide for IPv4, and for IPv6 34 (Destination) and 30 (Gateway), the widths of
/// netstat -n; a longer value pushes the rest of its line right rather than being cut, as with -n.
/// </para>
/// </remarks>
internal static class RouteReport
{
    private const int Width4 = 18;
    private const int DestinationWidth6 = 34;
    private const int GatewayWidth6 = 30;
    private const int FlagsWidth = 6;

    /// <summary>Both families of <paramref name="table"/>; <paramref name="interfaceNames"/> names the interfaces by index.</summary>
    public static string Write(RoutingTable table, IReadOnlyList<string> interfaceNames) => Write(table, interfaceNames, inet: true, inet6: true);

    /// <summary>The sections asked for: <paramref name="inet"/> for IPv4, <paramref name="inet6"/> for IPv6.</summary>
    public static string Write(RoutingTable table, IReadOnlyList<string> interfaceNames, bool inet, bool inet6)
    {
        var text = new StringBuilder("Routing tables\n");
        if (inet)
        {
            text.Append("\nInternet:\n");
            Row(text, "Destination", Width4, "Gateway", Width4, "Flags", "Interface");
            foreach (Route4 r in table.Routes4)
            {
                NextHop4 hop = r.NextHop;
                string gateway = hop.IsDirect ? Link(hop.Interface) : hop.Gateway.ToString();
                Row(text, Destination(r), Width4, gateway, Width4, Flags(hop.IsDirect, r.IsHost, hop.Origin), Name(hop.Interface, interfaceNames));
            }
        }
        if (inet6)
        {
            text.Append("\nInternet6:\n");
            Row(text, "Destination", DestinationWidth6, "Gateway", GatewayWidth6, "Flags", "Interface");
            foreach (Route6 r in table.Routes6)
            {
                NextHop6 hop = r.NextHop;
                string gateway = hop.IsDirect ? Link(hop.Interface) : hop.Gateway.ToString();
                Row(text, Destination(r), DestinationWidth6, gateway, GatewayWidth6, Flags(hop.IsDirect, r.IsHost, hop.Origin), Name(hop.Interface, interfaceNames));
            }
        }
        return text.ToString();
    }

    /// <summary>How netstat -rn writes an IPv4 destination: default, a host's address, or the octets the prefix covers and its length.</summary>
    public static string Destination(Route4 route)
    {
        if (route.IsDefault)
            return "default";
        if (route.IsHost)
            return route.Network.ToString();
        uint a = route.Network.ToUInt32();
        int octets = (route.PrefixLength + 7) / 8;
        var text = new StringBuilder();
        for (int i = 0; i < octets; i++)
            text.Append(i == 0 ? "" : ".").Append((a >> (24 - 8 * i)) & 0xFF);
        return text.Append('/').Append(route.PrefixLength).ToString();
    }

    /// <summary>How netstat -rn writes an IPv6 destination: default, a host's address, or NETWORK/LENGTH.</summary>
    public static string Destination(Route6 route)
        => route.IsDefault ? "default" : route.IsHost ? route.Network.ToString() : $"{route.Network}/{route.PrefixLength}";

    /// <summary>The flags column: U, then G, H, C and S as they apply.</summary>
    public static string Flags(bool direct, bool host, RouteOrigin origin)
    {
        var flags = new StringBuilder("U");
        if (!direct)
            flags.Append('G');
        if (host)
            flags.Append('H');
        flags.Append(origin == RouteOrigin.Connected ? 'C' : 'S');
        return flags.ToString();
    }

    /// <summary>link#N for interface <paramref name="index"/>: N counts from 1, as BSD's if_index does.</summary>
    public static string Link(int index) => $"link#{index + 1}";

    private static string Name(int index, IReadOnlyList<string> names)
        => (uint)index < (uint)names.Count ? names[index] : Link(index);

    private static void Row(StringBuilder text, string destination, int destinationWidth, string gateway, int gatewayWidth, string flags, string name)
        => text.Append(destination.PadRight(destinationWidth)).Append(' ')
            .Append(gateway.PadRight(gatewayWidth)).Append(' ')
            .Append(flags.PadRight(FlagsWidth)).Append(' ')
            .Append(name).Append('\n');
}
