using Dataplane.Stack.Transport;
using Dataplane.Stack.Transport.Tcp;

namespace Dataplane.Benchmarks;

/// <summary>
/// Bulk data, as iperf3's streams: on one connection, opened (<see cref="Connect"/>) or accepted
/// (<see cref="ListenOn"/>), sends from one static buffer as fast as the send buffer takes it, and
/// comes back on <see cref="TcpApp.OnSendSpace"/>. Allocates nothing per segment.
/// </summary>
internal sealed class TcpSourceApp : TcpApp
{
    private static readonly byte[] s_data = new byte[64 * 1024];

    /// <inheritdoc/>
    public override string Name => "bench source";

    /// <summary>The connection, once open.</summary>
    public TcpSocket? Connection { get; private set; }

    /// <summary>Listens on <paramref name="local"/>; the first connection accepted is the one sent on.</summary>
    public TcpError ListenOn(in InetEndpoint local) => Tcp.Open(false, this).Listen(local);

    /// <summary>Opens the connection to <paramref name="remote"/>.</summary>
    public TcpError Connect(in InetEndpoint remote)
    {
        TcpSocket socket = Tcp.Open(false, this);
        Connection = socket;
        return socket.Connect(remote);
    }

    /// <inheritdoc/>
    protected override TcpError OnStart() => TcpError.None;

    /// <inheritdoc/>
    protected internal override void OnAccept(TcpSocket listener, TcpSocket connection)
    {
        Connection = connection;
        Fill(connection);
    }

    /// <inheritdoc/>
    protected internal override void OnConnected(TcpSocket connection) => Fill(connection);

    /// <inheritdoc/>
    protected internal override void OnSendSpace(TcpSocket connection) => Fill(connection);

    /// <inheritdoc/>
    protected internal override void OnClosed(TcpSocket connection, TcpError reason) => Ended(connection);

    /// <summary>Lets the connection go (a renewal, or its peer ended it); a new one is sent on when accepted.</summary>
    private void Ended(TcpSocket connection)
    {
        if (connection == Connection)
            Connection = null;
        connection.Close();
    }

    private static void Fill(TcpSocket connection)
    {
        while (connection.Send(s_data) == s_data.Length)
        {
        }
    }
}

/// <summary>
/// The receiving end of <see cref="TcpSourceApp"/>: drops what arrives in place (Consume, no
/// copy), so the window stays open, and counts it.
/// </summary>
internal sealed class TcpSinkApp : TcpApp
{
    /// <inheritdoc/>
    public override string Name => "bench sink";

    /// <summary>Payload bytes received and consumed.</summary>
    public long Received { get; private set; }

    /// <summary>The connection, once open.</summary>
    public TcpSocket? Connection { get; private set; }

    /// <summary>Listens on <paramref name="local"/>.</summary>
    public TcpError ListenOn(in InetEndpoint local) => Tcp.Open(false, this).Listen(local);

    /// <summary>Opens the connection to <paramref name="remote"/>.</summary>
    public TcpError Connect(in InetEndpoint remote)
    {
        TcpSocket socket = Tcp.Open(false, this);
        Connection = socket;
        return socket.Connect(remote);
    }

    /// <inheritdoc/>
    protected override TcpError OnStart() => TcpError.None;

    /// <inheritdoc/>
    protected internal override void OnAccept(TcpSocket listener, TcpSocket connection)
    {
        Connection = connection;
        OnReceive(connection);
    }

    /// <inheritdoc/>
    protected internal override void OnReceive(TcpSocket connection)
    {
        Received += connection.Consume(connection.ReadableBytes);
        if (connection.IsReceiveFinished)
            OnClosed(connection, TcpError.None);
    }

    /// <inheritdoc/>
    protected internal override void OnClosed(TcpSocket connection, TcpError reason)
    {
        if (connection == Connection)
            Connection = null;
        connection.Close();
    }
}

/// <summary>How a short connection of <see cref="TcpChurnApp"/> ends.</summary>
public enum TcpConnectionEnd
{
    /// <summary>Close: FIN both ways, the client (the active closer) holds the four-tuple in TIME-WAIT for 60 s.</summary>
    Close,

    /// <summary>Abort: a reset, no TIME-WAIT anywhere (SO_LINGER 0).</summary>
    Abort,

    /// <summary>Kept open, idle (for the memory measurement).</summary>
    Hold,
}

/// <summary>
/// Short connections to one server endpoint, <see cref="Concurrency"/> at a time: connect, then
/// (with <see cref="Echo"/>) send one byte and wait for its echo, then end as <see cref="End"/>
/// says. The benchmark calls <see cref="Pump"/> between worker turns to keep the connections in
/// flight; a connection that fails is counted and ends the run.
/// </summary>
internal sealed class TcpChurnApp(int concurrency, bool echo, TcpConnectionEnd end) : TcpApp
{
    private static readonly byte[] s_byte = [0x2A];
    private readonly List<TcpSocket> _held = new(capacity: 16_384);

    /// <inheritdoc/>
    public override string Name => "bench churn";

    /// <summary>Connections open at once.</summary>
    public int Concurrency { get; } = concurrency;

    /// <summary>Whether each connection carries one byte there and back.</summary>
    public bool Echo { get; } = echo;

    /// <summary>How each connection ends.</summary>
    public TcpConnectionEnd End { get; } = end;

    /// <summary>Where the connections go; may change between runs.</summary>
    public InetEndpoint Remote { get; set; }

    /// <summary>Connections to open in all (raised by the benchmark run by run).</summary>
    public long Target { get; set; }

    /// <summary>Connections opened.</summary>
    public long Started { get; private set; }

    /// <summary>Connections done (ended, or established and held).</summary>
    public long Completed { get; private set; }

    /// <summary>Connections that failed (refused, reset, no port).</summary>
    public long Failed { get; private set; }

    /// <summary>The last failure.</summary>
    public string? LastFailure { get; private set; }

    /// <summary>The sockets held open (<see cref="TcpConnectionEnd.Hold"/>).</summary>
    public List<TcpSocket> Held => _held;

    private long InFlight => Started - Completed - Failed;

    /// <summary>Opens connections until <see cref="Concurrency"/> are in flight or <see cref="Target"/> are opened.</summary>
    public void Pump()
    {
        while (InFlight < Concurrency && Started < Target)
        {
            TcpSocket socket = Tcp.Open(false, this);
            Started++;
            TcpError error = socket.Connect(Remote);
            if (error != TcpError.None)
            {
                Fail(error);
                socket.Close();
                return;
            }
        }
    }

    /// <inheritdoc/>
    protected override TcpError OnStart() => TcpError.None;

    /// <inheritdoc/>
    protected internal override void OnConnected(TcpSocket connection)
    {
        if (Echo)
            connection.Send(s_byte);
        else
            Finish(connection);
    }

    /// <inheritdoc/>
    protected internal override void OnReceive(TcpSocket connection)
    {
        if (connection.Consume(connection.ReadableBytes) > 0)
            Finish(connection);
    }

    /// <inheritdoc/>
    protected internal override void OnClosed(TcpSocket connection, TcpError reason)
    {
        Fail(reason);
        connection.Close();
    }

    private void Finish(TcpSocket connection)
    {
        Completed++;
        switch (End)
        {
            case TcpConnectionEnd.Close:
                connection.Close();
                break;
            case TcpConnectionEnd.Abort:
                connection.Abort();
                break;
            default:
                _held.Add(connection);
                break;
        }
    }

    private void Fail(TcpError error)
    {
        Failed++;
        LastFailure = error.ToString();
    }
}
