using System.Globalization;
using System.Text;
using Dataplane.Config;
using Dataplane.Engine;
using Dataplane.Stack;
using Dataplane.Stack.Apps.Iperf3;
using Dataplane.Stack.Transport;

namespace Dataplane.Control;

/// <summary>
/// <c>ctl iperf3 -c HOST [iperf3's options]</c>: an iperf3 test from the running dataplane to a
/// stock <c>iperf3 -s</c>. The control thread parses the options, posts an
/// <see cref="Iperf3ClientRun"/> to worker 0's <see cref="WorkerMailbox"/> (the worker opens and
/// drives every socket of the test, whose ports it picks to land on itself), waits for the test
/// (-t and -O plus <see cref="Margin"/>; <see cref="UnboundedLimit"/> for -n or -k), and prints
/// iperf3's summary, or with -J its JSON.
/// </summary>
internal sealed class Iperf3Command(IReadOnlyList<StackWorker> workers, IReadOnlyList<WorkerMailbox> mailboxes)
{
    /// <summary>What a test may take beyond its -t and -O: connecting, creating streams, exchanging results.</summary>
    public static readonly TimeSpan Margin = TimeSpan.FromSeconds(15);

    /// <summary>The bound on a test ended by -n or -k rather than by time.</summary>
    public static readonly TimeSpan UnboundedLimit = TimeSpan.FromSeconds(120);

    /// <summary>How long the test of <paramref name="options"/> may take at most, all told.</summary>
    public static TimeSpan Limit(Iperf3Parameters options) =>
        options.Duration > 0 ? TimeSpan.FromSeconds(options.Duration + options.Omit) + Margin : UnboundedLimit;

    /// <summary>Parses the words after <c>iperf3</c>; the options and the server's endpoint, or an error in iperf3's words.</summary>
    public static Iperf3ClientOptions? Parse(IReadOnlyList<string> args, out InetEndpoint server, out string? error)
    {
        server = default;
        Iperf3ClientOptions? options = Iperf3ClientOptions.Parse(args, out error);
        if (options is null)
            return null;
        if (options.Host.Length == 0)
        {
            error = "ctl iperf3 runs a client: -c HOST is required";
            return null;
        }
        if (!IpAddress.TryParse(options.Host, out IpAddress address))
        {
            error = $"the host '{options.Host}' is not an IPv4 or IPv6 address (the dataplane does not resolve names)";
            return null;
        }
        if (address.IsUnspecified || address.IsMulticast || address.IsBroadcast)
        {
            error = $"the host '{options.Host}' is not a unicast address";
            return null;
        }
        if (options.AddressFamily == 4 && address.Family != IpFamily.Inet || options.AddressFamily == 6 && address.Family != IpFamily.Inet6)
        {
            error = $"the host '{options.Host}' is not of the family -{options.AddressFamily} asks for";
            return null;
        }
        server = Runtime.UdpApps.Endpoint(new IpEndpoint(address, options.Port));
        return options;
    }

    /// <summary>Runs the test of <paramref name="words"/> (<c>iperf3 -c HOST ...</c>) and returns the report.</summary>
    public ControlReply Execute(IReadOnlyList<string> words)
    {
        Iperf3ClientOptions? options = Parse([.. words.Skip(1)], out InetEndpoint server, out string? error);
        if (options is null)
            return new(ControlStatus.Error, $"iperf3: parameter error - {error}\n");
        if (workers.Count == 0 || mailboxes.Count == 0)
            return new(ControlStatus.Unavailable, "the dataplane has no workers\n");
        var run = new Iperf3ClientRun(workers[0], options.Parameters, server);
        if (!mailboxes[0].TryPost(run))
            return new(ControlStatus.Error, "iperf3: error - worker 0 is busy with other requests; try again\n");
        TimeSpan limit = Limit(options.Parameters);
        if (!run.Completed.Wait(limit))
        {
            // Too long: the worker sends CLIENT_TERMINATE and closes; wait a little for it.
            run.Cancel();
            if (!run.Completed.Wait(TimeSpan.FromSeconds(2)))
                return new(ControlStatus.Error, $"iperf3: error - the test did not end within {limit.TotalSeconds:0} s\n");
        }
        return Report(options, run);
    }

    /// <summary>iperf3's output for the finished <paramref name="run"/>: the summary, or -J's JSON.</summary>
    internal static ControlReply Report(Iperf3ClientOptions options, Iperf3ClientRun run)
    {
        Iperf3ClientSession? session = run.Session;
        string host = options.Host;
        if (options.Json)
        {
            if (session is null)
                return new(ControlStatus.Error, $"{{\n\t\"start\":\t{{}},\n\t\"intervals\":\t[],\n\t\"end\":\t{{}},\n\t\"error\":\t\"{run.Error}\"\n}}\n");
            string json = Iperf3Report.FormatJson(session, host, options.Port, run.StartTime, run.Error);
            return new(run.Error is null ? ControlStatus.Ok : ControlStatus.Error, json.EndsWith('\n') ? json : json + "\n");
        }
        var o = new StringBuilder();
        o.Append(Iperf3Report.FormatStart(host, options.Port, options.Parameters));
        if (session is not null)
        {
            foreach (Iperf3Stream s in session.Streams)
            {
                if (s.LocalEndpoint is null || s.RemoteEndpoint is null)
                    continue;
                (string localAddress, string localPort) = Split(s.LocalEndpoint);
                (string remoteAddress, string remotePort) = Split(s.RemoteEndpoint);
                o.Append(CultureInfo.InvariantCulture, $"[{s.Id,3}] local {localAddress} port {localPort} connected to {remoteAddress} port {remotePort}\n");
            }
        }
        if (run.Error is not null)
        {
            o.Append(CultureInfo.InvariantCulture, $"iperf3: error - {run.Error}\n");
            return new(ControlStatus.Error, o.ToString());
        }
        o.Append(Iperf3Report.FormatSummary(session!, options.UnitFormat));
        return new(ControlStatus.Ok, o.ToString());
    }

    /// <summary>"10.0.0.1:5201" or "[fd00::1]:5201" as iperf3 shows it: the address and the port apart.</summary>
    private static (string Address, string Port) Split(string endpoint)
    {
        int colon = endpoint.LastIndexOf(':');
        string address = endpoint[..colon].Trim('[', ']');
        return (address, endpoint[(colon + 1)..]);
    }
}
