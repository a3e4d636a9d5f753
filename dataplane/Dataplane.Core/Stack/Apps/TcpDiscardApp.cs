using Dataplane.Stack.Transport;
using Dataplane.Stack.Transport.Tcp;

namespace Dataplane.Stack.Apps;

/// <summary>
/// <c>app discard tcp listen EP</c>: the discard service of RFC 863 over TCP. Everything received
/// is dropped as it arrives (the buffers go straight back), so the window stays open; the peer's
/// FIN is answered with ours.
/// </summary>
internal sealed class TcpDiscardApp(InetEndpoint listen) : TcpApp
{
    private TcpSocket? _listener;

    /// <inheritdoc/>
    public override string Name => "discard tcp";

    /// <summary>Bytes discarded on this worker.</summary>
    public long Discarded { get; private set; }

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
    protected internal override void OnReceive(TcpSocket connection)
    {
        Discarded += connection.Consume(connection.ReadableBytes);
        if (connection.IsReceiveFinished)
            connection.Close();
    }

    /// <inheritdoc/>
    protected internal override void OnClosed(TcpSocket connection, TcpError reason) => connection.Close();
}
