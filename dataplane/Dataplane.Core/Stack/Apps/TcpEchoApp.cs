using Dataplane.Stack.Transport;
using Dataplane.Stack.Transport.Tcp;

namespace Dataplane.Stack.Apps;

/// <summary>
/// <c>app echo tcp listen EP</c>: the echo service of RFC 862 over TCP. What a connection receives
/// goes back on it, as much as its send buffer takes; the rest waits in the receive queue, whose
/// window then closes, so a client that does not read its echo is slowed, not buffered without
/// bound. The peer's FIN is answered with ours once everything is echoed.
/// </summary>
internal sealed class TcpEchoApp(InetEndpoint listen) : TcpApp
{
    private readonly byte[] _chunk = new byte[16 * 1024];
    private TcpSocket? _listener;

    /// <inheritdoc/>
    public override string Name => "echo tcp";

    /// <summary>The listening socket of this worker (null before the start).</summary>
    public TcpSocket? Listener => _listener;

    /// <inheritdoc/>
    protected override TcpError OnStart()
    {
        _listener = Tcp.Open(listen.IsIpv6, this);
        TcpError error = _listener.Listen(listen);
        if (error != TcpError.None)
            _listener.Close();
        return error;
    }

    /// <inheritdoc/>
    protected internal override void OnAccept(TcpSocket listener, TcpSocket connection) => Echo(connection);

    /// <inheritdoc/>
    protected internal override void OnReceive(TcpSocket connection) => Echo(connection);

    /// <inheritdoc/>
    protected internal override void OnSendSpace(TcpSocket connection) => Echo(connection);

    /// <inheritdoc/>
    protected internal override void OnClosed(TcpSocket connection, TcpError reason) => connection.Close();

    private void Echo(TcpSocket connection)
    {
        while (connection.ReadableBytes > 0)
        {
            int room = Math.Min(connection.SendSpace, _chunk.Length);
            if (room == 0)
                return; // OnSendSpace brings us back
            ReadOnlySpan<byte> data = connection.Peek();
            int n = connection.Send(data[..Math.Min(data.Length, room)]);
            if (n <= 0)
                return;
            connection.Consume(n);
        }
        if (connection.IsReceiveFinished)
            connection.Close(); // a FIN after the echoed bytes; the stack finishes the close
    }
}
