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
    /// <summary>The most one send offers.</summary>
    private const int MaxWrite = 16 * 1024;

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
            // Offer what there is, not just what fits: the stack calls OnSendSpace only after a
            // send it could not take whole, so a buffer filled to the last byte by a send cut to
            // its room would never call us back, and the rest would wait for good.
            ReadOnlySpan<byte> data = connection.Peek();
            int n = connection.Send(data[..Math.Min(data.Length, MaxWrite)]);
            if (n <= 0)
                return; // full: OnSendSpace brings us back
            connection.Consume(n);
        }
        if (connection.IsReceiveFinished)
            connection.Close(); // a FIN after the echoed bytes; the stack finishes the close
    }
}
