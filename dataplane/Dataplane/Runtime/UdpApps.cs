using Dataplane.Config;
using Dataplane.Stack;
using Dataplane.Stack.Apps;
using Dataplane.Stack.Transport;

namespace Dataplane.Runtime;

/// <summary>Starts the UDP apps of a config on a worker: one instance of each on every worker.</summary>
internal static class UdpApps
{
    /// <summary>
    /// Starts every UDP app of <paramref name="config"/> on <paramref name="worker"/>; adds a
    /// message naming the app's line for each that could not bind (once, from worker 0: every
    /// worker binds the same).
    /// </summary>
    public static void Start(StackWorker worker, DataplaneConfig config, ICollection<string> errors)
    {
        foreach (AppConfig app in config.Apps)
        {
            if (app.Transport != AppTransport.Udp || Create(app) is not { } instance)
                continue;
            UdpError error = worker.Udp.Start(instance);
            if (error != UdpError.None && worker.Context.Index == 0)
                errors.Add($"app {AppConfig.KindKeywords[(int)app.Kind]} udp (line {app.Line}): cannot listen on {app.Listen}: {Describe(error)}");
        }
    }

    /// <summary>The app <paramref name="app"/> describes, or null for a kind that has no UDP form.</summary>
    public static UdpApp? Create(AppConfig app) => app.Kind switch
    {
        AppKind.Echo => new UdpEchoApp(Endpoint(app.Listen)),
        AppKind.Discard => new UdpDiscardApp(Endpoint(app.Listen)),
        AppKind.Relay when app.Connect is { } connect => new UdpRelayApp(Endpoint(app.Listen), Endpoint(connect), app.Mode == RelayMode.Splice),
        _ => null,
    };

    /// <summary>The config's endpoint as the stack holds it.</summary>
    public static InetEndpoint Endpoint(IpEndpoint endpoint)
        => endpoint.Address.Family == IpFamily.Inet
            ? InetEndpoint.Ipv4(endpoint.Address.V4, (ushort)endpoint.Port)
            : InetEndpoint.Ipv6(endpoint.Address.V6, (ushort)endpoint.Port);

    private static string Describe(UdpError error) => error switch
    {
        UdpError.AddressInUse => "the endpoint is already in use",
        UdpError.AddressNotAvailable => "the address is not one of ours",
        UdpError.NoPortAvailable => "no port is free",
        _ => error.ToString(),
    };
}
