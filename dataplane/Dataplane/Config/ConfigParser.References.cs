namespace Dataplane.Config;

/// <summary>
/// The second pass: checks that span statements, run once the whole file is read so that a line
/// may name a port defined further down.
/// </summary>
internal sealed partial class ConfigParser
{
    private void CheckReferences()
    {
        foreach (InterfaceAddress a in _addresses)
            CheckInterface(a.Interface, a.Line, a.Family.Keyword());
        foreach (MtuConfig m in _mtus)
        {
            CheckInterface(m.Interface, m.Line, "mtu");
            CheckMtu(m);
        }
        CheckVlans();
        CheckRoutes();
        CheckApps();
    }

    /// <summary>inet, inet6 and mtu name a port or a vlan.</summary>
    private void CheckInterface(string name, int line, string keyword)
    {
        // A name whose own statement has an error already has its message.
        if (!_names.ContainsKey(name))
            Error(line, $"{keyword}: undefined port or vlan '{name}'");
    }

    private void CheckMtu(MtuConfig m)
    {
        if (m.Mtu >= MtuConfig.MinInet6)
            return;
        foreach (InterfaceAddress a in _addresses)
        {
            if (a.Interface == m.Interface && a.Family == IpFamily.Inet6)
            {
                Error(m.Line, $"mtu {m.Interface}: value '{m.Mtu}' is below {MtuConfig.MinInet6}, the IPv6 minimum ('{m.Interface}' has inet6 on line {a.Line})");
                return;
            }
        }
    }

    private void CheckVlans()
    {
        for (int i = 0; i < _vlans.Count; i++)
        {
            VlanConfig v = _vlans[i];
            if (!_names.TryGetValue(v.Parent, out var parent))
            {
                Error(v.Line, $"vlan {v.Name}: undefined parent port '{v.Parent}'");
                continue;
            }
            if (parent.Kind != "port")
            {
                Error(v.Line, $"vlan {v.Name}: parent '{v.Parent}' is a vlan; the parent must be a port");
                continue;
            }
            for (int j = 0; j < i; j++)
            {
                VlanConfig w = _vlans[j];
                if (w.Parent == v.Parent && w.VnetId == v.VnetId)
                {
                    Error(v.Line, $"vlan {v.Name}: vnetid {v.VnetId} on '{v.Parent}' is already taken by vlan '{w.Name}' on line {w.Line}");
                    break;
                }
            }
        }
    }

    private void CheckRoutes()
    {
        for (int i = 0; i < _routes.Count; i++)
        {
            RouteConfig r = _routes[i];
            string context = r.Family == IpFamily.Inet ? "route add" : "route add -inet6";
            RouteConfig? first = _routes.Take(i).FirstOrDefault(o => o.Destination == r.Destination);
            if (first is not null)
            {
                Error(r.Line, r.IsDefault
                    ? $"{context}: second {r.Family.Keyword()} default route (first on line {first.Line})"
                    : $"{context}: duplicate route to {r.Destination} (first on line {first.Line})");
                continue;
            }
            InterfaceAddress? local = _addresses.FirstOrDefault(a => a.Prefix.Address == r.Gateway);
            if (local is not null)
            {
                Error(r.Line, $"{context}: gateway {r.Gateway} is a local address (on '{local.Interface}', line {local.Line})");
                continue;
            }
            if (_brokenFamilies.Contains(r.Family))
                continue;
            if (!_addresses.Any(a => a.Prefix.Contains(r.Gateway)))
                Error(r.Line, $"{context}: gateway {r.Gateway} is not on any connected network (no {r.Family.Keyword()} prefix contains it)");
        }
    }

    private void CheckApps()
    {
        for (int i = 0; i < _apps.Count; i++)
        {
            AppConfig app = _apps[i];
            string context = $"app {AppConfig.KindKeywords[(int)app.Kind]}";
            IpAddress listen = app.Listen.Address;
            if (!listen.IsUnspecified && !_brokenFamilies.Contains(listen.Family) && !_addresses.Any(a => a.Prefix.Address == listen))
            {
                Error(app.Line, $"{context}: listen address {listen} is not configured on any interface (use an inet or inet6 address, 0.0.0.0 or ::)");
                continue;
            }
            for (int j = 0; j < i; j++)
            {
                AppConfig other = _apps[j];
                if (SharesListener(app, other, out AppTransport shared))
                {
                    Error(app.Line, $"{context}: {AppConfig.TransportKeywords[(int)shared]} {app.Listen} is already taken by the {AppConfig.KindKeywords[(int)other.Kind]} app on line {other.Line}");
                    break;
                }
            }
        }
    }

    /// <summary>
    /// True when both apps would bind the same transport port on overlapping addresses: the same
    /// address, or the unspecified address of the family on either side.
    /// </summary>
    private static bool SharesListener(AppConfig a, AppConfig b, out AppTransport shared)
    {
        shared = a.Transport;
        IpEndpoint x = a.Listen;
        IpEndpoint y = b.Listen;
        if (x.Port != y.Port || x.Address.Family != y.Address.Family)
            return false;
        if (x.Address != y.Address && !x.Address.IsUnspecified && !y.Address.IsUnspecified)
            return false;
        // iperf3 takes its port for both transports: UDP tests run on the control connection's port.
        if (a.Transport == b.Transport || b.Kind == AppKind.Iperf3)
            return true;
        if (a.Kind == AppKind.Iperf3)
        {
            shared = b.Transport;
            return true;
        }
        return false;
    }
}
