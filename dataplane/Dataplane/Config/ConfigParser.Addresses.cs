using System.Diagnostics.CodeAnalysis;

namespace Dataplane.Config;

/// <summary>The statements of the network layer: inet, inet6 and route.</summary>
internal sealed partial class ConfigParser
{
    // inet NAME ADDRESS/LENGTH, inet6 NAME ADDRESS/LENGTH
    private void ParseAddress(string[] t, int line, IpFamily family)
    {
        string keyword = family.Keyword();
        if (!TryParseAddress(t, line, family, keyword, out InterfaceAddress? parsed))
        {
            _brokenFamilies.Add(family);
            return;
        }
        foreach (InterfaceAddress other in _addresses)
        {
            if (other.Prefix.Address != parsed.Prefix.Address)
                continue;
            Error(line, other.Interface == parsed.Interface
                ? $"{keyword} {parsed.Interface}: duplicate address {parsed.Prefix.Address} (first on line {other.Line})"
                : $"{keyword} {parsed.Interface}: address {parsed.Prefix.Address} is already on '{other.Interface}' (line {other.Line})");
            return;
        }
        _addresses.Add(parsed);
    }

    private bool TryParseAddress(string[] t, int line, IpFamily family, string keyword, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out InterfaceAddress? parsed)
    {
        parsed = null;
        if (t.Length < 2)
            return Fail(line, $"{keyword}: missing interface and address ({keyword} NAME ADDRESS/LENGTH)");
        string context = $"{keyword} {t[1]}";
        if (t.Length < 3)
            return Fail(line, $"{context}: missing address (ADDRESS/LENGTH)");
        if (TooManyArguments(t, 3, line, context, "address"))
            return false;
        if (!TryPrefix(t[2], line, context, lengthRequired: true, out IpPrefix prefix))
            return false;
        if (prefix.Family != family)
            return Fail(line, $"{context}: '{t[2]}' is an {prefix.Family.Protocol()} address; use {prefix.Family.Keyword()}");
        if (prefix.Address.IsUnspecified || prefix.Address.IsMulticast || prefix.Address.IsBroadcast)
            return Fail(line, $"{context}: '{t[2]}' is not a unicast address");
        parsed = new InterfaceAddress(t[1], prefix, line);
        return true;
    }

    // route add [-inet | -inet6] default|ADDRESS[/LENGTH] GATEWAY
    private void ParseRoute(string[] t, int line)
    {
        if (t.Length < 2)
        {
            Error(line, "route: missing 'add' (route add [-inet6] DESTINATION GATEWAY)");
            return;
        }
        if (t[1] != "add")
        {
            Error(line, $"route: unknown command '{t[1]}' (a config only adds routes: route add [-inet6] DESTINATION GATEWAY)");
            return;
        }
        if (TryRouteAdd(t, line, out RouteConfig? route))
            _routes.Add(route);
    }

    /// <summary>
    /// <c>route add [-inet | -inet6] DESTINATION GATEWAY</c> from <c>t[2]</c> on: what a config line
    /// and <c>ctl route add</c> share. Checks that need the whole config (a connected network for the
    /// gateway, duplicates) are the caller's.
    /// </summary>
    private bool TryRouteAdd(string[] t, int line, [NotNullWhen(true)] out RouteConfig? route)
    {
        route = null;
        int i = 2;
        if (!TryRouteFlag(t, ref i, line, "route add", out IpFamily? flag, out string context))
            return false;
        if (t.Length - i < 2)
            return Fail(line, $"{context}: missing {(t.Length == i ? "destination and gateway" : "gateway")}");
        if (TooManyArguments(t, i + 2, line, context, "gateway"))
            return false;

        string destinationText = t[i];
        if (!TryRouteDestination(destinationText, line, context, flag, out IpPrefix destination))
            return false;

        string gatewayText = t[i + 1];
        if (!IpAddress.TryParse(gatewayText, out IpAddress gateway))
            return Fail(line, $"{context}: bad gateway '{gatewayText}'");
        if (gateway.Family != destination.Family)
        {
            string hint = flag is null && destinationText == "default" ? $" (write 'route add -{gateway.Family.Keyword()} default {gatewayText}')" : "";
            return Fail(line, $"{context}: gateway '{gatewayText}' is {gateway.Family.Protocol()} but the route is {destination.Family.Protocol()}{hint}");
        }
        if (gateway.IsUnspecified || gateway.IsMulticast || gateway.IsBroadcast)
            return Fail(line, $"{context}: gateway '{gatewayText}' is not a unicast address");
        route = new RouteConfig(destination, gateway, line);
        return true;
    }

    /// <summary><c>route delete [-inet | -inet6] DESTINATION</c> from <c>t[2]</c> on: ctl only, a config only adds.</summary>
    private bool TryRouteDelete(string[] t, int line, out IpPrefix destination)
    {
        destination = default;
        int i = 2;
        if (!TryRouteFlag(t, ref i, line, "route delete", out IpFamily? flag, out string context))
            return false;
        if (t.Length == i)
            return Fail(line, $"{context}: missing destination");
        if (TooManyArguments(t, i + 1, line, context, "destination"))
            return false;
        return TryRouteDestination(t[i], line, context, flag, out destination);
    }

    /// <summary>The optional -inet or -inet6 at <c>t[i]</c>; <paramref name="context"/> is the command as messages quote it.</summary>
    private bool TryRouteFlag(string[] t, ref int i, int line, string command, out IpFamily? flag, out string context)
    {
        flag = null;
        context = command;
        if (t.Length <= i || !t[i].StartsWith('-'))
            return true;
        if (t[i] is not ("-inet" or "-inet6"))
            return Fail(line, $"{command}: unknown flag '{t[i]}' (expected -inet or -inet6)");
        flag = t[i] == "-inet" ? IpFamily.Inet : IpFamily.Inet6;
        context = $"{command} {t[i]}";
        i++;
        return true;
    }

    /// <summary><c>default</c> (of the flag's family, inet without one), ADDRESS/LENGTH, or ADDRESS for a host route; host bits must be clear.</summary>
    private bool TryRouteDestination(string text, int line, string context, IpFamily? flag, out IpPrefix destination)
    {
        if (text == "default")
        {
            destination = IpPrefix.Default(flag ?? IpFamily.Inet);
            return true;
        }
        if (!TryPrefix(text, line, context, lengthRequired: false, out destination))
            return false;
        if (flag is { } f && destination.Family != f)
            return Fail(line, $"{context}: destination '{text}' is not an {f.Protocol()} prefix");
        if (destination.HasHostBits)
            return Fail(line, $"{context}: destination '{text}' has host bits set (the network is {destination.ToNetwork()})");
        return true;
    }
}
