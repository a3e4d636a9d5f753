using Dataplane.Stack.Transport;

namespace Dataplane.Stack.Apps;

/// <summary>
/// <c>app echo udp listen EP</c>: the echo service of RFC 862 over UDP. Each datagram goes back to
/// its sender in the buffer it came in, its headers rewritten in front of the payload and its
/// checksum carried over (swapping addresses and ports changes no sum): no copy, no allocation.
/// </summary>
internal sealed class UdpEchoApp(InetEndpoint listen) : UdpApp
{
    private UdpSocket? _socket;

    /// <inheritdoc/>
    public override string Name => "echo udp";

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
        // Not to a broadcast (one datagram would draw an answer from every host), and never to a
        // port whose service answers too: two of them would echo one datagram between them for
        // ever (CVE-1999-0103; BSD's inetd refuses the same ports).
        if (datagram.IsBroadcast || MayLoop(datagram.From.Port))
        {
            Udp.Counters.Count(UdpCounter.AppRefused);
            return;
        }
        datagram.Reply();
    }

    /// <summary>Port 0 (no answer possible) and the small services that answer: echo, discard, daytime, chargen, time.</summary>
    internal static bool MayLoop(ushort port) => port is 0 or 7 or 9 or 13 or 19 or 37;
}
