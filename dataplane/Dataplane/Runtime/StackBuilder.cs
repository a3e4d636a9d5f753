using Dataplane.Config;
using Dataplane.Engine;
using Dataplane.Stack;
using Dataplane.Stack.Routing;
using Dataplane.Wire;

namespace Dataplane.Runtime;

/// <summary>Builds the network stack a config describes over the ports it opened: interfaces, addresses, MTUs and static routes.</summary>
internal static class StackBuilder
{
    /// <summary>The stack of <paramref name="config"/> over <paramref name="ports"/> (in config order).</summary>
    public static NetworkStack Build(DataplaneConfig config, IReadOnlyList<PortBinding> ports, Action<string>? log = null)
    {
        var interfaces = new NetInterface[ports.Count];
        for (int i = 0; i < ports.Count; i++)
        {
            Ports.IPort port = ports[i].Port;
            int mtu = config.Mtus.FirstOrDefault(m => m.Interface == port.Name)?.Mtu ?? port.Mtu;
            InterfaceAddress4[] v4 = [.. config.Addresses.Where(a => a.Interface == port.Name && a.Family == IpFamily.Inet)
                .Select(a => new InterfaceAddress4(a.Prefix.Address.V4, a.Prefix.Length))];
            InterfaceAddress6[] v6 = [.. config.Addresses.Where(a => a.Interface == port.Name && a.Family == IpFamily.Inet6)
                .Select(a => new InterfaceAddress6(a.Prefix.Address.V6, a.Prefix.Length))];
            interfaces[i] = new NetInterface(i, port.Name, port.Mac, mtu, Offloads(config, port), v4, v6);
        }
        var stack = new NetworkStack(interfaces, config.Forwarding) { Log = log, TcpConnections = config.TcpConnections, TcpBuffer = config.TcpBuffer, TcpCongestion = config.TcpCongestion };
        foreach (RouteConfig route in config.Routes)
            AddRoute(stack, route.Destination, route.Gateway);
        return stack;
    }

    /// <summary>
    /// What the stack may leave to <paramref name="port"/>: its driver's capabilities less TSO and
    /// LRO where the config switches them off, and LRO where it is on (the engine merges in software
    /// for a port that does not) (<c>set tso|lro</c>, or the port's own <c>tso|lro</c>).
    /// Without TSO the stack cuts super-frames for the port itself; without LRO it cuts any the port
    /// still hands up (the kernel under an afpacket port GROs whatever we say) at input, so the stack
    /// sees MTU-sized packets only.
    /// </summary>
    public static Ports.PortCapabilities Offloads(DataplaneConfig config, Ports.IPort port)
    {
        Ports.PortCapabilities capabilities = port.Capabilities;
        if (config.Ports.FirstOrDefault(p => p.Name == port.Name) is not { } declared)
            return capabilities;
        if (!config.TsoOn(declared))
            capabilities &= ~Ports.PortCapabilities.Tso;
        // With lro on, the stack takes super-frames from the port: its own (a tap's, the kernel's GRO
        // under afpacket) or the engine's software merge for a port that does not merge.
        if (config.LroOn(declared))
            capabilities |= Ports.PortCapabilities.Lro;
        else
            capabilities &= ~Ports.PortCapabilities.Lro;
        return capabilities;
    }

    /// <summary>Adds a static route through <paramref name="gateway"/>, which must be on a connected network; the result says what happened.</summary>
    public static RouteChange AddRoute(NetworkStack stack, IpPrefix destination, IpAddress gateway)
    {
        if (GatewayInterface(stack, gateway) is not { } index)
            return RouteChange.NotFound;
        return destination.Family == IpFamily.Inet
            ? stack.Routes.Add(destination.Network.V4, destination.Length, new NextHop4(index, gateway.V4, RouteOrigin.Static))
            : stack.Routes.Add(destination.Network.V6, destination.Length, new NextHop6(index, gateway.V6, RouteOrigin.Static));
    }

    /// <summary>The interface whose connected network holds <paramref name="gateway"/>; null when none does, or when it is one of our own addresses.</summary>
    public static int? GatewayInterface(NetworkStack stack, IpAddress gateway)
    {
        if (gateway.Family == IpFamily.Inet)
            return !stack.IsOurs(gateway.V4) ? stack.ConnectedTo(gateway.V4)?.Index : null;
        return stack.Owner(gateway.V6) is null ? stack.ConnectedTo(gateway.V6)?.Index : null;
    }
}
