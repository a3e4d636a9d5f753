using System.Globalization;
using System.Text;
using Dataplane.Stack;
using Dataplane.Stack.Transport;

namespace Dataplane.Control;

/// <summary>
/// <c>ctl netstat -an</c>: the sockets in the layout of BSD's <c>netstat -an</c>, one line a
/// socket: protocol (udp, udp6), queues, local and foreign address as ADDRESS.PORT with <c>*</c>
/// for any, the state, and the worker whose table holds it.
/// </summary>
/// <remarks>
/// A listening app binds one socket on every worker; those copies are one line, worker
/// <c>all</c> (or the list of workers that have it). A connected socket lives on one worker and
/// is its own line. Recv-Q and Send-Q are 0: datagrams go to their app as they arrive, nothing
/// waits in a socket. Each worker's table is read without stopping it (see
/// <see cref="UdpSocketTable.Snapshot"/>): a socket opened or closed meanwhile may be missed.
/// </remarks>
internal static class SocketReport
{
    /// <summary>The report for the sockets of <paramref name="stack"/>'s workers.</summary>
    public static string Write(NetworkStack stack)
    {
        IReadOnlyList<UdpSocketTable> tables = stack.UdpTables;
        var sockets = new List<UdpSocketInfo>();
        foreach (UdpSocketTable table in tables)
            table.Snapshot(sockets);
        // The same socket on several workers (a listener) is one line.
        var lines = new List<(string Proto, string Local, string Foreign, string State, List<int> Workers)>();
        var index = new Dictionary<(string, string, string, string), int>();
        foreach (UdpSocketInfo socket in sockets)
        {
            string proto = socket.IsIpv6 ? "udp6" : "udp";
            string local = Address(socket.Local);
            string foreign = Address(socket.Remote);
            string state = socket.Spliced ? "spliced" : "";
            if (index.TryGetValue((proto, local, foreign, state), out int at))
            {
                lines[at].Workers.Add(socket.Worker);
                continue;
            }
            index[(proto, local, foreign, state)] = lines.Count;
            lines.Add((proto, local, foreign, state, [socket.Worker]));
        }
        var text = new StringBuilder();
        Line(text, $"Active Internet connections (including servers)");
        Line(text, $"{"Proto",-7} {"Recv-Q",6} {"Send-Q",6}  {"Local Address",-22} {"Foreign Address",-22} {"(state)",-11} Worker");
        foreach ((string proto, string local, string foreign, string state, List<int> workers) in lines)
        {
            string owners = tables.Count > 1 && workers.Distinct().Count() == tables.Count ? "all" : string.Join(',', workers.Distinct().Order());
            Line(text, $"{proto,-7} {0,6} {0,6}  {local,-22} {foreign,-22} {state,-11} {owners}");
        }
        return text.ToString();
    }

    /// <summary>BSD's inetprint: ADDRESS.PORT, <c>*</c> for the unspecified address and for port 0.</summary>
    public static string Address(in InetEndpoint endpoint)
    {
        string address = endpoint.IsUnspecifiedAddress ? "*" : endpoint.IsIpv6 ? endpoint.Address.ToString() : endpoint.Address4.ToString();
        string port = endpoint.Port == 0 ? "*" : endpoint.Port.ToString(CultureInfo.InvariantCulture);
        return $"{address}.{port}";
    }

    private static void Line(StringBuilder text, FormattableString line)
        => text.Append(line.ToString(CultureInfo.InvariantCulture).TrimEnd()).Append('\n');
}
