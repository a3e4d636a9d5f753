namespace Dataplane.Stack.Transport;

/// <summary>Where a UDP socket stands.</summary>
internal enum UdpSocketState : byte
{
    /// <summary>Closed: back in its table's pool, to be reused by the next open.</summary>
    Closed,

    /// <summary>Open, not bound: a send binds it to an ephemeral port.</summary>
    Open,

    /// <summary>Bound to a local endpoint: receives datagrams to it from anyone.</summary>
    Bound,

    /// <summary>Connected to one peer: receives its datagrams only, ahead of any bound socket.</summary>
    Connected,
}

/// <summary>
/// A UDP socket of one worker (BSD's inpcb with the socket on top). Made by
/// <see cref="UdpSocketTable.Open"/>, used by its app on the worker's thread only, returned to the
/// table's pool by <see cref="Close"/>: a closed socket object is reused, so the app drops its
/// reference when it closes it. There is no receive queue: datagrams go to the app's
/// <see cref="UdpApp.OnDatagram"/> as they arrive, or through a splice to another socket.
/// </summary>
internal sealed class UdpSocket
{
    // A sequence lock over the fields netstat reads from the control thread: odd while the worker
    // changes them (bind, connect, splice, close), so a reader retries rather than sees a torn
    // endpoint. Packets never touch it.
    private int _sequence;

    internal UdpSocket(UdpSocketTable table) => Table = table;

    /// <summary>The table, and through it the worker, this socket belongs to.</summary>
    public UdpSocketTable Table { get; }

    /// <summary>True for an IPv6 socket (udp6), false for IPv4.</summary>
    public bool IsIpv6 { get; private set; }

    /// <summary>Where the socket stands.</summary>
    public UdpSocketState State { get; private set; }

    /// <summary>The local endpoint: unspecified until bound, the source address chosen once connected.</summary>
    public InetEndpoint Local { get; private set; }

    /// <summary>The peer of a connected socket; unspecified otherwise.</summary>
    public InetEndpoint Remote { get; private set; }

    /// <summary>The app that receives this socket's datagrams.</summary>
    public UdpApp? App { get; private set; }

    /// <summary>What the app keeps with the socket (a relay's session); cleared on close.</summary>
    public object? UserState { get; set; }

    /// <summary>Where this socket's datagrams go, moved inside the stack, instead of to the app; null when not spliced.</summary>
    public UdpSocket? SpliceDrain { get; private set; }

    /// <summary>The socket spliced to this one, if any.</summary>
    public UdpSocket? SpliceSource { get; private set; }

    /// <summary>Payload bytes the current splice moved, or the last one when it dissolved.</summary>
    public long SpliceMoved { get; internal set; }

    /// <summary>The most payload bytes the current splice moves; 0 for no maximum.</summary>
    public long SpliceMaximum { get; internal set; }

    /// <summary>How long the current splice lives without moving a datagram, in nanoseconds; 0 for no timeout.</summary>
    public long SpliceIdleTimeout { get; internal set; }

    /// <summary>When the current splice last moved a datagram (or began).</summary>
    public long SpliceLastMove { get; internal set; }

    /// <summary>Why the last splice of this source dissolved; <see cref="SpliceEnd.None"/> while spliced or never spliced.</summary>
    public SpliceEnd SpliceEnded { get; internal set; }

    /// <summary>When the last datagram for this socket arrived, on the engine clock.</summary>
    public long LastReceived { get; internal set; }

    /// <summary>Datagrams delivered to the socket (spliced ones too).</summary>
    public long Received { get; internal set; }

    /// <summary>Datagrams sent from the socket (spliced ones too).</summary>
    public long Sent { get; internal set; }

    /// <summary>Set by <see cref="Bind(in InetEndpoint, bool)"/> with reuse: other sockets may share the local endpoint.</summary>
    internal bool ReusePort { get; private set; }

    /// <summary>The interface a link-local peer lies behind (the one its datagrams came in on); -1 when none was given.</summary>
    internal int Scope { get; private set; } = -1;

    /// <summary>The next socket bound to the same port and family, in the table's chain.</summary>
    internal UdpSocket? NextBound { get; set; }

    /// <summary>Where the socket sits in the table's list of open sockets.</summary>
    internal int Slot { get; set; } = -1;

    /// <summary>
    /// Binds the socket to <paramref name="local"/>: an address of ours or the unspecified one
    /// (every address), and a port, 0 for an ephemeral one. With <paramref name="reusePort"/>, the
    /// endpoint may already be bound by another socket (SO_REUSEPORT), which keeps receiving the
    /// datagrams of peers no connected socket claims: how a relay gives each client a socket.
    /// </summary>
    public UdpError Bind(in InetEndpoint local, bool reusePort = false) => Table.Bind(this, local, reusePort);

    /// <summary>
    /// Connects the socket to <paramref name="remote"/>: picks the source address toward it and,
    /// when not bound yet, a local port whose flow hashes to this worker, so that the peer's
    /// answers come back here. From then on it receives only that peer's datagrams.
    /// </summary>
    public UdpError Connect(in InetEndpoint remote) => Table.Connect(this, remote, -1);

    /// <summary>As <see cref="Connect(in InetEndpoint)"/>, for a link-local peer behind interface <paramref name="scope"/>.</summary>
    public UdpError Connect(in InetEndpoint remote, int scope) => Table.Connect(this, remote, scope);

    /// <summary>Sends <paramref name="payload"/>, copied into a fresh buffer, to the connected peer.</summary>
    public UdpError Send(ReadOnlySpan<byte> payload)
        => State == UdpSocketState.Connected ? Table.Layer.Send(this, Remote, payload) : UdpError.InvalidState;

    /// <summary>Sends <paramref name="payload"/>, copied into a fresh buffer, to <paramref name="to"/> (an unconnected socket; an open one is bound to an ephemeral port first).</summary>
    public UdpError SendTo(in InetEndpoint to, ReadOnlySpan<byte> payload)
        => State == UdpSocketState.Connected && to != Remote ? UdpError.InvalidState : Table.Layer.Send(this, to, payload);

    /// <summary>
    /// Splices this socket to <paramref name="drain"/>, a connected socket: from now on every
    /// datagram for this one goes out of <paramref name="drain"/> to its peer, in the buffer it came
    /// in, without reaching the app (OpenBSD's SO_SPLICE for UDP). Null unsplices. One direction;
    /// a relay splices both ways. As TCP's (<see cref="Tcp.TcpSocket.Splice(Tcp.TcpSocket, long, long)"/>):
    /// <paramref name="maxBytes"/> of payload at most (0: none; the datagram that would pass it
    /// comes to the app), <paramref name="idleTimeout"/> nanoseconds without a datagram (0: none); a
    /// datagram larger than the drain can send (<see cref="UdpError.MessageTooLong"/>) or any other
    /// failure to send it dissolves the splice, never a truncation. Refused for a closed source, an
    /// unconnected drain or one of another worker, a socket spliced already, a negative limit.
    /// </summary>
    public UdpError Splice(UdpSocket? drain, long maxBytes = 0, long idleTimeout = 0) => Table.Splice(this, drain, maxBytes, idleTimeout);

    /// <summary>Closes the socket: it leaves the table, its splices dissolve, and the object goes back to the pool.</summary>
    public void Close() => Table.Close(this);

    /// <summary>Takes a socket from the pool for <paramref name="app"/>.</summary>
    internal void Open(bool ipv6, UdpApp app)
    {
        BeginChange();
        IsIpv6 = ipv6;
        App = app;
        State = UdpSocketState.Open;
        Local = InetEndpoint.Any(ipv6);
        Remote = InetEndpoint.Any(ipv6);
        ReusePort = false;
        Scope = -1;
        Received = 0;
        Sent = 0;
        LastReceived = Table.Context.Now;
        EndChange();
    }

    internal void SetBound(in InetEndpoint local, bool reusePort)
    {
        BeginChange();
        Local = local;
        ReusePort = reusePort;
        State = UdpSocketState.Bound;
        EndChange();
    }

    internal void SetConnected(in InetEndpoint local, in InetEndpoint remote, int scope)
    {
        BeginChange();
        Local = local;
        Remote = remote;
        Scope = scope;
        State = UdpSocketState.Connected;
        EndChange();
    }

    internal void SetSpliceDrain(UdpSocket? drain)
    {
        BeginChange();
        SpliceDrain = drain;
        EndChange();
    }

    internal void SetSpliceSource(UdpSocket? source) => SpliceSource = source; // netstat does not show it

    internal void SetClosed()
    {
        BeginChange();
        State = UdpSocketState.Closed;
        App = null;
        UserState = null;
        SpliceDrain = null;
        SpliceSource = null;
        NextBound = null;
        EndChange();
        SpliceMoved = SpliceMaximum = SpliceIdleTimeout = SpliceLastMove = 0;
        SpliceEnded = SpliceEnd.None;
    }

    /// <summary>
    /// What netstat shows of the socket, read from another thread than the worker's: false when the
    /// socket is closed, or kept changing while it was read.
    /// </summary>
    internal bool TryRead(int worker, out UdpSocketInfo info)
    {
        for (int attempt = 0; attempt < 100; attempt++)
        {
            int before = Volatile.Read(ref _sequence);
            if ((before & 1) != 0)
            {
                Thread.SpinWait(20);
                continue;
            }
            info = new UdpSocketInfo(worker, IsIpv6, State, Local, Remote, SpliceDrain is not null, Received, Sent);
            Interlocked.MemoryBarrier(); // the field reads above stay before the second read of the sequence
            if (Volatile.Read(ref _sequence) == before)
                return info.State != UdpSocketState.Closed;
        }
        info = default;
        return false;
    }

    private void BeginChange()
    {
        Volatile.Write(ref _sequence, _sequence + 1);
        Interlocked.MemoryBarrier(); // the odd sequence is visible before any field changes
    }

    private void EndChange() => Volatile.Write(ref _sequence, _sequence + 1);
}

/// <summary>A socket as <c>netstat -an</c> shows it: a consistent copy taken on the control thread.</summary>
/// <param name="Worker">The worker whose table holds it.</param>
/// <param name="IsIpv6">udp6 rather than udp.</param>
/// <param name="State">Open, bound or connected.</param>
/// <param name="Local">The local endpoint.</param>
/// <param name="Remote">The peer, unspecified unless connected.</param>
/// <param name="Spliced">Datagrams go to a drain socket inside the stack.</param>
/// <param name="Received">Datagrams delivered.</param>
/// <param name="Sent">Datagrams sent.</param>
internal readonly record struct UdpSocketInfo(int Worker, bool IsIpv6, UdpSocketState State, InetEndpoint Local, InetEndpoint Remote, bool Spliced, long Received, long Sent);
