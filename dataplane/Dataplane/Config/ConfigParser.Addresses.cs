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
        int i = 2;
        IpFamily? flag = null;
        string context = "route add";
        if (t.Length > i && t[i].StartsWith('-'))
        {
            if (t[i] is not ("-inet" or "-inet6"))
            {
                Error(line, $"route add: unknown flag '{t[i]}' (expected -inet or -inet6)");
                return;
            }
            flag = t[i] == "-inet" ? IpFamily.Inet : IpFamily.Inet6;
            context = $"route add {t[i]}";
            i++;
        }
        if (t.Length - i < 2)
        {
            Error(line, $"{context}: missing {(t.Length == i ? "destination and gateway" : "gateway")}");
            return;
        }
        if (TooManyArguments(t, i + 2, line, context, "gateway"))
            return;

        string destinationText = t[i];
        IpPrefix destination;
        if (destinationText == "default")
        {
            destination = IpPrefix.Default(flag ?? IpFamily.Inet);
        }
        else
        {
            if (!TryPrefix(destinationText, line, context, lengthRequired: false, out destination))
                return;
            if (flag is { } f && destination.Family != f)
            {
                Error(line, $"{context}: destination '{destinationText}' is not an {f.Protocol()} prefix");
                return;
            }
            if (destination.HasHostBits)
            {
                Error(line, $"{context}: destination '{destinationText}' has host bits set (the network is {destination.ToNetwork()})");
                return;
            }
        }

        string gatewayText = t[i + 1];
        if (!IpAddress.TryParse(gatewayText, out IpAddress gateway))
        {
            Error(line, $"{context}: bad gateway '{gatewayText}'");
            return;
        }
        if (gateway.Family != destination.Family)
        {
            string hint = flag is null && destinationText == "default" ? $" (write 'route add -{gateway.Family.Keyword()} default {gatewayText}')" : "";
            Error(line, $"{context}: gateway '{gatewayText}' is {gateway.Family.Protocol()} but the route is {destination.Family.Protocol()}{hint}");
            return;
        }
        if (gateway.IsUnspecified || gateway.IsMulticast || gateway.IsBroadcast)
        {
            Error(line, $"{context}: gateway '{gatewayText}' is not a unicast address");
            return;
        }
        _routes.Add(new RouteConfig(destination, gateway, line));
    }
}
