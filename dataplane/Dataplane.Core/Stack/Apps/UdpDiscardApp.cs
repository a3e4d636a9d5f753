using Dataplane.Stack.Transport;

namespace Dataplane.Stack.Apps;

/// <summary>
/// <c>app discard udp listen EP</c>: the discard service of RFC 863 over UDP. Datagrams are
/// counted (the socket's count, and UDP's delivered) and their buffers released.
/// </summary>
internal sealed class UdpDiscardApp(InetEndpoint listen) : UdpApp
{
    private UdpSocket? _socket;

    /// <inheritdoc/>
    public override string Name => "discard udp";

    /// <summary>The listening socket of this worker (null before the start).</summary>
    public UdpSocket? Socket => _socket;

    /// <inheritdoc/>
    protected override UdpError OnStart()
    {
        _socket = Udp.Open(listen.IsIpv6, this);
        UdpError error = _socket.Bind(listen);
        if (error != UdpError.None)
            _socket.Close();
        return error;
    }

    /// <inheritdoc/>
    public override void OnDatagram(UdpSocket socket, ref UdpReceived datagram)
    {
    }
}
