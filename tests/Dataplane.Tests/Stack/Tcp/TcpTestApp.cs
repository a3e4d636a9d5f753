using Dataplane.Stack.Transport;
using Dataplane.Stack.Transport.Tcp;

namespace Dataplane.Tests.Stack.Tcp;

/// <summary>
/// An app that listens (when given an endpoint) and records every event the stack tells it, in
/// order, as text (<c>accept</c>, <c>connected</c>, <c>receive</c>, <c>send space</c>,
/// <c>closed Reset</c>), reading nothing unless <see cref="ReadOnReceive"/> says so.
/// </summary>
internal sealed class TcpTestApp(InetEndpoint? listen = null) : TcpApp
{
    public override string Name => "test tcp";

    /// <summary>The listening socket, when the app listens.</summary>
    public TcpSocket? Listener { get; private set; }

    /// <summary>The connections handed over by <see cref="OnAccept"/>.</summary>
    public List<TcpSocket> Accepted { get; } = [];

    /// <summary>The connections <see cref="OnConnected"/> reported.</summary>
    public List<TcpSocket> Connected { get; } = [];

    /// <summary>Every event, in order.</summary>
    public List<string> Events { get; } = [];

    /// <summary>The reasons of <see cref="OnClosed"/>, in order.</summary>
    public List<TcpError> ClosedReasons { get; } = [];

    /// <summary>Reads everything readable at each <see cref="OnReceive"/> into <see cref="Received"/>.</summary>
    public bool ReadOnReceive { get; set; }

    /// <summary>What <see cref="ReadOnReceive"/> read.</summary>
    public List<byte> Received { get; } = [];

    /// <summary>The worker's TCP, for connecting.</summary>
    public TcpSocketTable Table => Tcp;

    /// <summary>The one connection the app holds (accepted or connected).</summary>
    public TcpSocket Connection => Assert.Single(Accepted.Concat(Connected));

    /// <summary>A fresh socket of this app, to connect with.</summary>
    public TcpSocket Open(bool ipv6) => Tcp.Open(ipv6, this);

    protected override TcpError OnStart()
    {
        if (listen is not { } local)
            return TcpError.None;
        Listener = Tcp.Open(local.IsIpv6, this);
        return Listener.Listen(local);
    }

    protected internal override void OnAccept(TcpSocket listener, TcpSocket connection)
    {
        Assert.Same(Listener, listener);
        Accepted.Add(connection);
        Events.Add("accept");
    }

    protected internal override void OnConnected(TcpSocket connection)
    {
        Connected.Add(connection);
        Events.Add("connected");
    }

    protected internal override void OnReceive(TcpSocket connection)
    {
        Events.Add("receive");
        if (!ReadOnReceive)
            return;
        byte[] chunk = new byte[4096];
        int n;
        while ((n = connection.Receive(chunk)) > 0)
            Received.AddRange(chunk.AsSpan(0, n).ToArray());
    }

    protected internal override void OnSendSpace(TcpSocket connection) => Events.Add("send space");

    protected internal override void OnClosed(TcpSocket connection, TcpError reason)
    {
        ClosedReasons.Add(reason);
        Events.Add($"closed {reason}");
    }

    protected internal override void OnSpliceEnded(TcpSocket source, SpliceEnd reason) => Events.Add($"splice ended {reason}");
}
