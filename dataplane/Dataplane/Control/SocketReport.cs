using System.Globalization;
using System.Text;
using Dataplane.Stack;
using Dataplane.Stack.Transport;
using Dataplane.Stack.Transport.Tcp;

namespace Dataplane.Control;

/// <summary>
/// <c>ctl netstat -an</c>: the sockets in the layout of BSD's <c>netstat -an</c>, one line a
/// socket: protocol (tcp, tcp6, udp, udp6), queues, local and foreign address as ADDRESS.PORT
/// with <c>*</c> for any, the state, and the worker whose table holds it.
/// </summary>
/// <remarks>
/// A listening app listens (or binds) on every worker; those copies are one line, worker
/// <c>all</c> (or the list of workers that have it). A connection lives on one worker and is its
/// own line. For TCP, Recv-Q is what was received and not read, Send-Q what was queued and not
/// acknowledged; for UDP both are 0: datagrams go to their app as they arrive. Each worker's
/// table is read without stopping it (see <see cref="UdpSocketTable.Snapshot"/> and
/// <see cref="TcpSocketTable.Snapshot"/>): a socket opened or closed meanwhile may be missed.
/// </remarks>
internal static class SocketReport
{
    /// <summary>The report for the sockets of <paramref name="stack"/>'s workers.</summary>
    public static string Write(NetworkStack stack)
    {
        IReadOnlyList<UdpSocketTable> tables = stack.UdpTables;
        int workers = tables.Count;
        // The same socket on several workers (a listener) is one line.
        var lines = new List<(string Proto, int ReceiveQueue, int SendQueue, string Local, string Foreign, string State, List<int> Workers)>();
        var index = new Dictionary<(string, string, string, string), int>();
        void Add(string proto, int receiveQueue, int sendQueue, string local, string foreign, string state, int worker)
        {
            if (index.TryGetValue((proto, local, foreign, state), out int at))
            {
                lines[at].Workers.Add(worker);
                return;
            }
            index[(proto, local, foreign, state)] = lines.Count;
            lines.Add((proto, receiveQueue, sendQueue, local, foreign, state, [worker]));
        }
        var connections = new List<TcpSocketInfo>();
        foreach (TcpSocketTable table in stack.TcpTables)
            table.Snapshot(connections);
        foreach (TcpSocketInfo c in connections)
            Add(c.IsIpv6 ? "tcp6" : "tcp", c.ReceiveQueue, c.SendQueue, Address(c.Local), Address(c.Remote), StateName(c.State), c.Worker);
        var sockets = new List<UdpSocketInfo>();
        foreach (UdpSocketTable table in tables)
            table.Snapshot(sockets);
        foreach (UdpSocketInfo socket in sockets)
            Add(socket.IsIpv6 ? "udp6" : "udp", 0, 0, Address(socket.Local), Address(socket.Remote), socket.Spliced ? "spliced" : "", socket.Worker);
        var text = new StringBuilder();
        Line(text, $"Active Internet connections (including servers)");
        Line(text, $"{"Proto",-7} {"Recv-Q",6} {"Send-Q",6}  {"Local Address",-22} {"Foreign Address",-22} {"(state)",-11} Worker");
        foreach ((string proto, int receiveQueue, int sendQueue, string local, string foreign, string state, List<int> owners) in lines)
        {
            string owner = workers > 1 && owners.Distinct().Count() == workers ? "all" : string.Join(',', owners.Distinct().Order());
            Line(text, $"{proto,-7} {receiveQueue,6} {sendQueue,6}  {local,-22} {foreign,-22} {state,-11} {owner}");
        }
        return text.ToString();
    }

    /// <summary>The state as BSD's netstat prints it (tcpstates[]).</summary>
    public static string StateName(TcpState state) => state switch
    {
        TcpState.Closed => "CLOSED",
        TcpState.Listen => "LISTEN",
        TcpState.SynSent => "SYN_SENT",
        TcpState.SynReceived => "SYN_RCVD",
        TcpState.Established => "ESTABLISHED",
        TcpState.FinWait1 => "FIN_WAIT_1",
        TcpState.FinWait2 => "FIN_WAIT_2",
        TcpState.CloseWait => "CLOSE_WAIT",
        TcpState.Closing => "CLOSING",
        TcpState.LastAck => "LAST_ACK",
        _ => "TIME_WAIT",
    };

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
