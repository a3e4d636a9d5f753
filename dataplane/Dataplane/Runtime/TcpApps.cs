using Dataplane.Config;
using Dataplane.Stack;
using Dataplane.Stack.Apps;
using Dataplane.Stack.Transport.Tcp;

namespace Dataplane.Runtime;

/// <summary>Starts the TCP apps of a config on a worker: one instance of each on every worker, each listening there.</summary>
internal static class TcpApps
{
    /// <summary>
    /// Starts every TCP app of <paramref name="config"/> on <paramref name="worker"/>; adds a
    /// message naming the app's line for each that could not listen (once, from worker 0).
    /// </summary>
    public static void Start(StackWorker worker, DataplaneConfig config, ICollection<string> errors)
    {
        foreach (AppConfig app in config.Apps)
        {
            if (app.Transport != AppTransport.Tcp || Create(app) is not { } instance)
                continue;
            TcpError error = worker.Tcp.Start(instance);
            if (error != TcpError.None && worker.Context.Index == 0)
                errors.Add($"app {AppConfig.KindKeywords[(int)app.Kind]} tcp (line {app.Line}): cannot listen on {app.Listen}: {Describe(error)}");
        }
    }

    /// <summary>The app <paramref name="app"/> describes, or null for a kind that has no TCP form yet.</summary>
    public static TcpApp? Create(AppConfig app) => app.Kind switch
    {
        AppKind.Echo => new TcpEchoApp(UdpApps.Endpoint(app.Listen)),
        AppKind.Discard => new TcpDiscardApp(UdpApps.Endpoint(app.Listen)),
        _ => null,
    };

    private static string Describe(TcpError error) => error switch
    {
        TcpError.AddressInUse => "the endpoint is already in use",
        TcpError.AddressNotAvailable => "the address is not one of ours",
        _ => error.ToString(),
    };
}
