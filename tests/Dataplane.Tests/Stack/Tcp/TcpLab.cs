using Dataplane.Ports;
using Dataplane.Stack.Transport;
using Dataplane.Stack.Transport.Tcp;
using Dataplane.Wire;
using static Dataplane.Tests.Stack.StackHarness;

namespace Dataplane.Tests.Stack.Tcp;

/// <summary>
/// A host, a <see cref="TcpTestApp"/> on it and a <see cref="TcpPeer"/> on its left leg, in the
/// states the tests start from (smoltcp's <c>socket_listen</c>, <c>socket_established</c>, ...).
/// </summary>
internal sealed class TcpLab
{
    /// <summary>The port the app listens on.</summary>
    public const ushort ListenPort = 80;

    /// <summary>The peer's port when the app connects to it.</summary>
    public const ushort PeerListenPort = 5000;

    private TcpLab(StackHarness host, TcpTestApp app, TcpPeer peer)
    {
        Host = host;
        App = app;
        Peer = peer;
    }

    public StackHarness Host { get; }

    public TcpTestApp App { get; }

    public TcpPeer Peer { get; }

    /// <summary>The app's one connection.</summary>
    public TcpSocket Connection => App.Connection;

    /// <summary>An app listening on every address of the family, port 80; nothing sent yet.</summary>
    private const PortCapabilities MemoryPort = PortCapabilities.MultiQueue | PortCapabilities.ReceiveChecksum;

    /// <remarks>
    /// With <paramref name="tso"/>, the ports cut super-frames (<see cref="StackHarness.SuperFrames"/>);
    /// with <paramref name="lro"/>, the stack takes super-frames from them (<c>lro on</c>).
    /// </remarks>
    public static TcpLab Listening(bool ipv6 = false, int tcpBuffer = TcpSocketTable.DefaultBuffer, int poolBuffers = 4096, bool tso = false, bool lro = false, int mtu = 1500)
    {
        PortCapabilities port = MemoryPort | (tso ? PortCapabilities.Tso : 0) | (lro ? PortCapabilities.Lro : 0);
        StackHarness host = Router(forwarding: false, mtu0: mtu, poolBuffers: poolBuffers, tcpBuffer: tcpBuffer, capabilities: tso || lro ? [port, port] : null).Started().KnowingPeers();
        host.HideNeighborDiscovery = true;
        var app = new TcpTestApp(InetEndpoint.Any(ipv6).WithPort(ListenPort));
        Assert.Equal(TcpError.None, host.Worker.Tcp.Start(app));
        return new TcpLab(host, app, new TcpPeer(host, ipv6, port: 40000, stackPort: ListenPort));
    }

    /// <summary>A connection the peer opened to the listening app, the handshake done with the options given; accepted.</summary>
    public static TcpLab Established(bool ipv6 = false, ushort? mss = 1460, byte? windowScale = null, bool sackPermitted = false, bool timestamps = false, ushort synWindow = 65535, int tcpBuffer = TcpSocketTable.DefaultBuffer, TimeSpan handshakeRtt = default, bool tso = false, bool lro = false, int mtu = 1500)
    {
        TcpLab lab = Listening(ipv6, tcpBuffer, tso: tso, lro: lro, mtu: mtu);
        lab.Peer.Open(mss, windowScale, sackPermitted, timestamps, synWindow, handshakeRtt: handshakeRtt);
        lab.Peer.NothingSent();
        Assert.Equal(TcpState.Established, lab.Connection.State);
        return lab;
    }

    /// <summary>An app with no listener that has called connect toward the peer at port 5000; the SYN is waiting in <see cref="Sent"/>.</summary>
    public static TcpLab Connecting(bool ipv6 = false, int tcpBuffer = TcpSocketTable.DefaultBuffer)
    {
        StackHarness host = Host(tcpBuffer: tcpBuffer);
        host.HideNeighborDiscovery = true;
        var app = new TcpTestApp();
        Assert.Equal(TcpError.None, host.Worker.Tcp.Start(app));
        var peer = new TcpPeer(host, ipv6, port: PeerListenPort, stackPort: 0);
        TcpSocket socket = app.Open(ipv6);
        Assert.Equal(TcpError.None, socket.Connect(peer.Endpoint));
        app.Connected.Clear();
        return new TcpLab(host, app, peer) { Socket = socket };
    }

    /// <summary>The socket of an active open (before <see cref="TcpTestApp.OnConnected"/>).</summary>
    public TcpSocket? Socket { get; private init; }

    /// <summary>An active open completed: the stack's SYN answered with a SYN-ACK carrying the options given, the stack's ACK read.</summary>
    public static TcpLab Connected(bool ipv6 = false, ushort? mss = 1460, byte? windowScale = null, bool sackPermitted = false, bool timestamps = false, ushort window = 65535)
    {
        TcpLab lab = Connecting(ipv6);
        lab.Peer.AnswerSyn(mss, windowScale, sackPermitted, timestamps, window);
        TcpSeg ack = lab.Peer.SentOne();
        Assert.Equal(TcpFlags.Ack, ack.Flags);
        Assert.Equal(TcpPeer.Iss + 1, ack.Ack);
        Assert.Equal(TcpState.Established, lab.Socket!.State);
        return lab;
    }

    /// <summary>
    /// Moves the clock on by <paramref name="time"/> in steps of at most a second, the peer's
    /// address confirmed before each, so that no neighbour entry ages out and holds back what the
    /// stack sends (the peer would answer ARP and neighbour solicitations).
    /// </summary>
    public void Wait(TimeSpan time)
    {
        for (TimeSpan left = time; left > TimeSpan.Zero; left -= TimeSpan.FromSeconds(1))
        {
            Host.KnowingPeers();
            Host.Advance(left < TimeSpan.FromSeconds(1) ? left : TimeSpan.FromSeconds(1));
        }
    }

    /// <summary>Bytes 0, 1, 2, ... of <paramref name="length"/>, starting at <paramref name="seed"/>.</summary>
    public static byte[] Bytes(int length, int seed = 0)
    {
        byte[] b = new byte[length];
        for (int i = 0; i < length; i++)
            b[i] = (byte)(seed + i);
        return b;
    }

    /// <summary>Everything the connection holds for the app, read.</summary>
    public static byte[] ReadAll(TcpSocket connection)
    {
        var all = new List<byte>();
        byte[] chunk = new byte[4096];
        int n;
        while ((n = connection.Receive(chunk)) > 0)
            all.AddRange(chunk.AsSpan(0, n).ToArray());
        return [.. all];
    }
}
