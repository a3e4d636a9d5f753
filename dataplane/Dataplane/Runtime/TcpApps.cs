using Dataplane.Config;
using Dataplane.Stack;
using Dataplane.Stack.Apps;
using Dataplane.Stack.Apps.Iperf3;
using Dataplane.Stack.Transport.Tcp;

namespace Dataplane.Runtime;

/// <summary>Starts the TCP apps of a config on a worker: one instance of each on every worker, each listening there.</summary>
internal static class TcpApps
{
    /// <summary>
    /// Starts every TCP app of <paramref name="config"/> on <paramref name="worker"/>; adds a
    /// message naming the app's line for each that could not listen (once, from worker 0).
    /// </summary>
    /// <remarks>
    /// An iperf3 app's workers share one <see cref="Iperf3Server"/> (its running test), kept in
    /// <paramref name="shared"/> across the calls for the workers of one dataplane.
    /// </remarks>
    public static void Start(StackWorker worker, DataplaneConfig config, ICollection<string> errors, Dictionary<AppConfig, Iperf3Server> shared)
    {
        foreach (AppConfig app in config.Apps)
        {
            if (app.Transport != AppTransport.Tcp)
                continue;
            TcpApp? instance;
            if (app.Kind == AppKind.Iperf3)
            {
                if (!shared.TryGetValue(app, out Iperf3Server? server))
                    shared[app] = server = new Iperf3Server(UdpApps.Endpoint(app.Listen));
                instance = new Iperf3App(server, worker.Udp);
            }
            else if (Create(app) is { } created)
            {
                instance = created;
            }
            else
            {
                continue;
            }
            TcpError error = worker.Tcp.Start(instance);
            if (error != TcpError.None && worker.Context.Index == 0)
                errors.Add($"app {AppConfig.KindKeywords[(int)app.Kind]} tcp (line {app.Line}): cannot listen on {app.Listen}: {Describe(error)}");
        }
    }

    /// <summary>The app <paramref name="app"/> describes, or null for a kind that has no TCP form yet (iperf3, whose workers share a server, is made by <see cref="Start"/>).</summary>
    public static TcpApp? Create(AppConfig app) => app.Kind switch
    {
        AppKind.Echo => new TcpEchoApp(UdpApps.Endpoint(app.Listen)),
        AppKind.Discard => new TcpDiscardApp(UdpApps.Endpoint(app.Listen)),
        AppKind.Relay when app.Connect is { } connect => new TcpRelayApp(UdpApps.Endpoint(app.Listen), UdpApps.Endpoint(connect), app.Mode == RelayMode.Splice,
            app.MaxBytes, app.IdleSeconds * 1_000_000_000),
        _ => null,
    };

    private static string Describe(TcpError error) => error switch
    {
        TcpError.AddressInUse => "the endpoint is already in use",
        TcpError.AddressNotAvailable => "the address is not one of ours",
        _ => error.ToString(),
    };
}
