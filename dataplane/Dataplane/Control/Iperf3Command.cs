using System.Globalization;
using System.Text;
using Dataplane.Config;
using Dataplane.Engine;
using Dataplane.Stack;
using Dataplane.Stack.Apps.Iperf3;
using Dataplane.Stack.Transport;
using Dataplane.Stack.Transport.Tcp;

namespace Dataplane.Control;

/// <summary>
/// <c>ctl iperf3 -c HOST [iperf3's options]</c>: an iperf3 test from the running dataplane to a
/// stock <c>iperf3 -s</c>. The control thread parses the options, posts an
/// <see cref="Iperf3ClientRun"/> to worker 0's <see cref="WorkerMailbox"/> (the worker opens and
/// drives every socket of the test, whose ports it picks to land on itself), waits for the control
/// connection (the worker gives up as iperf3 does: at once on a reset, at --connect-timeout, or
/// when TCP's SYN retransmissions run out, <see cref="ConnectGiveUp"/>), then for the test (-t and
/// -O plus <see cref="Margin"/>; <see cref="UnboundedLimit"/> for -n or -k; a receiving test also
/// ends at --rcv-timeout without data), and prints iperf3's summary, or with -J its JSON.
/// </summary>
internal sealed class Iperf3Command(IReadOnlyList<StackWorker> workers, IReadOnlyList<WorkerMailbox> mailboxes)
{
    /// <summary>What a test may take beyond its -t and -O once connected: creating streams, exchanging results.</summary>
    public static readonly TimeSpan Margin = TimeSpan.FromSeconds(15);

    /// <summary>The bound on a test ended by -n or -k rather than by time.</summary>
    public static readonly TimeSpan UnboundedLimit = TimeSpan.FromSeconds(120);

    /// <summary>
    /// When TCP gives up a connect that nobody answers: the SYN and its retransmissions, each
    /// timeout twice the last from 1 s (RFC 6298 5.5), 127 s for 6 of them, as Linux's
    /// tcp_syn_retries = 6; the worker then reports "Connection timed out".
    /// </summary>
    public static readonly TimeSpan ConnectGiveUp = TimeSpan.FromTicks(TcpSocket.InitialRto * ((1L << (TcpSocket.MaxSynRetransmits + 1)) - 1) / 100);

    /// <summary>How much longer the control thread waits than the worker's own bounds, which end the test themselves.</summary>
    private static readonly TimeSpan Slack = TimeSpan.FromSeconds(5);

    /// <summary>How long the control connection may take to open: --connect-timeout, or as long as TCP tries.</summary>
    public static TimeSpan ConnectLimit(Iperf3ClientOptions options) =>
        options.ConnectTimeoutMilliseconds is int timeout ? TimeSpan.FromMilliseconds(timeout) : ConnectGiveUp;

    /// <summary>How long the test of <paramref name="options"/> may take once connected.</summary>
    public static TimeSpan RunLimit(Iperf3Parameters options) =>
        options.Duration > 0 ? TimeSpan.FromSeconds(options.Duration + options.Omit) + Margin : UnboundedLimit;

    /// <summary>How long the test of <paramref name="options"/> may take at most, all told (connecting, running, and the waits' slack).</summary>
    public static TimeSpan Limit(Iperf3ClientOptions options) => ConnectLimit(options) + Slack + RunLimit(options.Parameters) + Slack;

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
        var run = new Iperf3ClientRun(workers[0], options.Parameters, server,
            options.ConnectTimeoutMilliseconds is int connect ? TimeSpan.FromMilliseconds(connect) : null,
            options.ReceiveTimeoutMilliseconds is int idle ? TimeSpan.FromMilliseconds(idle) : null);
        if (!mailboxes[0].TryPost(run))
            return new(ControlStatus.Error, "iperf3: error - worker 0 is busy with other requests; try again\n");
        // Connecting: the worker ends the test itself when the connect fails or times out; this
        // wait only backs it up.
        var clock = System.Diagnostics.Stopwatch.StartNew();
        TimeSpan connectLimit = ConnectLimit(options) + Slack;
        while (!run.Connected.IsSet && !run.Completed.IsSet && clock.Elapsed < connectLimit)
            run.Completed.Wait(TimeSpan.FromMilliseconds(50));
        if (!run.Connected.IsSet && !run.Completed.IsSet)
            return Cancel(options, run, "unable to connect to server: Connection timed out");
        TimeSpan limit = RunLimit(options.Parameters);
        if (!run.Completed.Wait(limit))
            return Cancel(options, run, $"the test did not end within {limit.TotalSeconds:0} s of connecting");
        return Report(options, run);
    }

    /// <summary>Too long: the worker sends CLIENT_TERMINATE and closes, reporting <paramref name="reason"/>; the control thread waits a little for it.</summary>
    private static ControlReply Cancel(Iperf3ClientOptions options, Iperf3ClientRun run, string reason)
    {
        run.Cancel(reason);
        if (!run.Completed.Wait(TimeSpan.FromSeconds(2)))
            return new(ControlStatus.Error, $"iperf3: error - {reason}\n");
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
