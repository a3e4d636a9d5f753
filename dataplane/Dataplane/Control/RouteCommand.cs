using Dataplane.Config;
using Dataplane.Stack.Routing;

namespace Dataplane.Control;

/// <summary>
/// <c>ctl route add|delete|show</c> against the running routing table. The destination and gateway
/// are read by the config's parser (<see cref="ConfigParser.TryParseRouteAdd"/>), so
/// <c>ctl route add</c> takes exactly what a config's <c>route add</c> line takes, with the same
/// messages. Replies echo the change as BSD's route(8) does (<c>add net 10.20/16: gateway ...</c>).
/// </summary>
internal static class RouteCommand
{
    /// <summary>The forms, for usage messages.</summary>
    public const string Usage = "route add [-inet | -inet6] DESTINATION GATEWAY, route delete [-inet | -inet6] DESTINATION, route show [-inet | -inet6]";

    /// <summary>
    /// Runs <paramref name="words"/> (the request split on blanks, <c>words[0]</c> is "route")
    /// against <paramref name="routes"/>. <paramref name="interfaceForGateway"/> gives the interface
    /// index whose connected network holds a gateway, or null when none does (or when the gateway is
    /// one of our own addresses); <paramref name="interfaceNames"/> names interfaces by index in
    /// <c>route show</c> (link#N without it).
    /// </summary>
    public static ControlReply Execute(IReadOnlyList<string> words, Routes routes, Func<IpAddress, int?> interfaceForGateway, IReadOnlyList<string>? interfaceNames = null)
    {
        ArgumentNullException.ThrowIfNull(words);
        ArgumentNullException.ThrowIfNull(routes);
        ArgumentNullException.ThrowIfNull(interfaceForGateway);
        if (Validate(words) is { } error)
            return Error(error);
        return words[1] switch
        {
            "show" => Show(words, routes.Current, interfaceNames ?? []),
            "add" => Add(words, routes, interfaceForGateway),
            _ => Delete(words, routes),
        };
    }

    /// <summary>
    /// Null when <paramref name="words"/> is a well-formed route command, else what is wrong: the
    /// syntax alone, so that ctl can refuse a typo before it connects.
    /// </summary>
    public static string? Validate(IReadOnlyList<string> words)
    {
        ArgumentNullException.ThrowIfNull(words);
        if (words.Count < 2 || words[0] != "route")
            return $"route: missing command (expected {Usage})";
        switch (words[1])
        {
            case "show":
                if (words.Count > 3 || (words.Count == 3 && words[2] is not ("-inet" or "-inet6")))
                    return $"route show: unexpected '{string.Join(' ', words.Skip(2))}' (expected nothing, -inet or -inet6)";
                return null;
            case "add":
                return ConfigParser.TryParseRouteAdd(words, out _, out string? addError) ? null : addError;
            case "delete":
                return ConfigParser.TryParseRouteDelete(words, out _, out string? deleteError) ? null : deleteError;
            default:
                return $"route: unknown command '{words[1]}' (expected add, delete or show)";
        }
    }

    private static ControlReply Show(IReadOnlyList<string> words, RoutingTable table, IReadOnlyList<string> names)
    {
        string family = words.Count == 3 ? words[2] : "";
        return new(ControlStatus.Ok, RouteReport.Write(table, names, inet: family != "-inet6", inet6: family != "-inet"));
    }

    private static ControlReply Add(IReadOnlyList<string> words, Routes routes, Func<IpAddress, int?> interfaceForGateway)
    {
        ConfigParser.TryParseRouteAdd(words, out RouteConfig? route, out _);
        IpPrefix destination = route!.Destination;
        string context = Context(words);
        if (interfaceForGateway(route.Gateway) is not { } port)
            return Error($"{context}: gateway {route.Gateway} is not on a connected network");
        RouteChange change = destination.Family == IpFamily.Inet
            ? routes.Add(destination.Address.V4, destination.Length, new NextHop4(port, route.Gateway.V4, RouteOrigin.Static))
            : routes.Add(destination.Address.V6, destination.Length, new NextHop6(port, route.Gateway.V6, RouteOrigin.Static));
        return change switch
        {
            RouteChange.Added => new(ControlStatus.Ok, $"add {Name(destination)}: gateway {route.Gateway}\n"),
            RouteChange.Exists => Error($"{context}: a route to {destination} is already there (route delete it first)"),
            RouteChange.TableFull => Error($"{context}: the {destination.Family.Protocol()} routing table is full (every second-level group for prefixes longer than /24 is taken)"),
            RouteChange.BadNextHop => Error($"{context}: gateway {route.Gateway} cannot be a next hop"),
            _ => Error($"{context}: {destination} refused ({change})"),
        };
    }

    private static ControlReply Delete(IReadOnlyList<string> words, Routes routes)
    {
        ConfigParser.TryParseRouteDelete(words, out IpPrefix destination, out _);
        string context = Context(words);
        RouteChange change = destination.Family == IpFamily.Inet
            ? routes.Delete(destination.Address.V4, destination.Length)
            : routes.Delete(destination.Address.V6, destination.Length);
        return change switch
        {
            RouteChange.Deleted => new(ControlStatus.Ok, $"delete {Name(destination)}\n"),
            RouteChange.NotFound => Error($"{context}: no route to {destination}"),
            RouteChange.ConnectedRoute => Error($"{context}: {destination} is a connected route; it goes with its interface address"),
            _ => Error($"{context}: {destination} refused ({change})"),
        };
    }

    /// <summary>"route add" or "route delete", with the family flag when one was given, as the parser's messages begin.</summary>
    private static string Context(IReadOnlyList<string> words)
        => words.Count > 2 && words[2] is ("-inet" or "-inet6") ? $"route {words[1]} {words[2]}" : $"route {words[1]}";

    /// <summary>route(8)'s name of a destination: <c>net default</c>, <c>host ADDRESS</c> or <c>net NETWORK/LENGTH</c>.</summary>
    private static string Name(IpPrefix destination)
        => destination.IsDefault ? "net default"
        : destination.Length == destination.Address.BitLength ? $"host {destination.Address}"
        : $"net {destination}";

    private static ControlReply Error(string message) => new(ControlStatus.Error, message + "\n");
}
