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
/// acknowledged; for UDP both are 0: datagrams go to their app as they arrive. A TCP socket that is
/// the source of a splice has a second line, indented: the drain's endpoints, the bytes moved so
/// far and the splice's limits (<c>splice to LOCAL FOREIGN moved N max N|- idle Ns|-</c>). Each worker's
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
        var lines = new List<(string Proto, int ReceiveQueue, int SendQueue, string Local, string Foreign, string State, List<int> Workers, string? Splice)>();
        var index = new Dictionary<(string, string, string, string), int>();
        void Add(string proto, int receiveQueue, int sendQueue, string local, string foreign, string state, int worker, string? splice = null)
        {
            if (index.TryGetValue((proto, local, foreign, state), out int at))
            {
                lines[at].Workers.Add(worker);
                return;
            }
            index[(proto, local, foreign, state)] = lines.Count;
            lines.Add((proto, receiveQueue, sendQueue, local, foreign, state, [worker], splice));
        }
        var connections = new List<TcpSocketInfo>();
        foreach (TcpSocketTable table in stack.TcpTables)
            table.Snapshot(connections);
        foreach (TcpSocketInfo c in connections)
            Add(c.IsIpv6 ? "tcp6" : "tcp", c.ReceiveQueue, c.SendQueue, Address(c.Local), Address(c.Remote), StateName(c.State), c.Worker, SpliceText(c.Splice));
        var sockets = new List<UdpSocketInfo>();
        foreach (UdpSocketTable table in tables)
            table.Snapshot(sockets);
        foreach (UdpSocketInfo socket in sockets)
            Add(socket.IsIpv6 ? "udp6" : "udp", 0, 0, Address(socket.Local), Address(socket.Remote), socket.Spliced ? "spliced" : "", socket.Worker);
        var text = new StringBuilder();
        Line(text, $"Active Internet connections (including servers)");
        Line(text, $"{"Proto",-7} {"Recv-Q",6} {"Send-Q",6}  {"Local Address",-22} {"Foreign Address",-22} {"(state)",-11} Worker");
        foreach ((string proto, int receiveQueue, int sendQueue, string local, string foreign, string state, List<int> owners, string? splice) in lines)
        {
            string owner = workers > 1 && owners.Distinct().Count() == workers ? "all" : string.Join(',', owners.Distinct().Order());
            Line(text, $"{proto,-7} {receiveQueue,6} {sendQueue,6}  {local,-22} {foreign,-22} {state,-11} {owner}");
            if (splice is not null)
                Line(text, $"{"",23}{splice}");
        }
        return text.ToString();
    }

    /// <summary>A splice's line: <c>splice to LOCAL FOREIGN moved N max N|- idle Ns|-</c>.</summary>
    public static string? SpliceText(TcpSpliceInfo? splice) => splice is not { } s ? null : string.Create(CultureInfo.InvariantCulture,
        $"splice to {Address(s.DrainLocal)} {Address(s.DrainRemote)} moved {s.Moved} max {(s.Maximum > 0 ? s.Maximum.ToString(CultureInfo.InvariantCulture) : "-")} idle {(s.IdleTimeout > 0 ? $"{s.IdleTimeout / 1_000_000_000.0:0.###}s" : "-")}");

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
