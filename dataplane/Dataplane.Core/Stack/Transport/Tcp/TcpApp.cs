namespace Dataplane.Stack.Transport.Tcp;

/// <summary>The states of a connection (RFC 9293 3.3.2), and <see cref="Listen"/> for a listening socket.</summary>
internal enum TcpState : byte
{
    /// <summary>No connection: a fresh socket, or one whose connection ended.</summary>
    Closed,

    /// <summary>Waiting for a SYN from any peer.</summary>
    Listen,

    /// <summary>Our SYN sent, waiting for the peer's.</summary>
    SynSent,

    /// <summary>A SYN received and answered, waiting for the acknowledgment of ours.</summary>
    SynReceived,

    /// <summary>Open both ways.</summary>
    Established,

    /// <summary>We closed; our FIN not acknowledged yet.</summary>
    FinWait1,

    /// <summary>We closed and our FIN is acknowledged; the peer may still send.</summary>
    FinWait2,

    /// <summary>The peer closed; we may still send.</summary>
    CloseWait,

    /// <summary>Both closed at once (simultaneous close); our FIN not acknowledged yet.</summary>
    Closing,

    /// <summary>The peer closed, then we did; waiting for the acknowledgment of our FIN.</summary>
    LastAck,

    /// <summary>Both closed; waiting 2 MSL so that old duplicates die before the four-tuple is reused.</summary>
    TimeWait,
}

/// <summary>What a TCP socket operation says instead of an errno, and why a connection ended.</summary>
internal enum TcpError
{
    /// <summary>Done; or, as the end of a connection, a graceful close.</summary>
    None,

    /// <summary>An endpoint of the wrong family, an unspecified, multicast or broadcast peer, port 0 as a peer (EINVAL).</summary>
    InvalidArgument,

    /// <summary>Not in a state for it: listening twice, connecting a listener, sending after shutdown (EINVAL, EISCONN, ENOTCONN, EPIPE).</summary>
    InvalidState,

    /// <summary>Another socket has the local endpoint or the four-tuple (EADDRINUSE).</summary>
    AddressInUse,

    /// <summary>The local address is not one of ours (EADDRNOTAVAIL).</summary>
    AddressNotAvailable,

    /// <summary>No route to the peer, or no source address toward it (ENETUNREACH).</summary>
    NetworkUnreachable,

    /// <summary>Every ephemeral port is taken, or none lands on this worker (EADDRNOTAVAIL for connect).</summary>
    NoPortAvailable,

    /// <summary>The four-tuple hashes to another worker, whose segments would never reach this socket.</summary>
    OtherWorker,

    /// <summary>The worker holds as many connections as <c>set tcp connections</c> allows, or no timer or buffer is left (ENOBUFS).</summary>
    NoResources,

    /// <summary>The peer answered our SYN with a reset (ECONNREFUSED).</summary>
    Refused,

    /// <summary>The peer reset the connection (ECONNRESET).</summary>
    Reset,

    /// <summary>Retransmissions or keepalive probes went unanswered (ETIMEDOUT).</summary>
    TimedOut,

    /// <summary>The app aborted the connection.</summary>
    Aborted,

    /// <summary>Spliced already: the source to a drain, or the drain from a source (EBUSY).</summary>
    Busy,
}

/// <summary>
/// An application that runs inside a worker's loop over TCP sockets: the event API of the built-in
/// apps and of one's own, in the style of <see cref="UdpApp"/>. One instance per worker;
/// <see cref="OnStart"/> runs on every worker before traffic flows (a listening app listens on each,
/// and a SYN is handled on the worker it lands on), and every callback runs on that worker's thread,
/// so an instance needs no locks. Callbacks come at the end of the stack's work on a segment or
/// timer, with the connection's state settled; an app may send, read, shut down or close from any
/// of them.
/// </summary>
internal abstract class TcpApp
{
    /// <summary>The TCP of the worker this instance runs on.</summary>
    protected TcpSocketTable Tcp { get; private set; } = null!;

    /// <summary>The app's number in its table, which its timers carry.</summary>
    internal int Id { get; set; }

    /// <summary>What the config calls the app, for messages: <c>echo tcp</c>.</summary>
    public abstract string Name { get; }

    /// <summary>Starts the app on the worker of <paramref name="tcp"/>.</summary>
    internal TcpError Start(TcpSocketTable tcp)
    {
        Tcp = tcp;
        return OnStart();
    }

    /// <summary>Opens the app's listening sockets (or its first connections); a failure stops the start of the dataplane.</summary>
    protected abstract TcpError OnStart();

    /// <summary>
    /// A connection to <paramref name="listener"/> is established (the handshake is complete):
    /// <paramref name="connection"/> is the app's until it calls <see cref="TcpSocket.Close"/> or
    /// <see cref="TcpSocket.Abort"/>.
    /// </summary>
    protected internal virtual void OnAccept(TcpSocket listener, TcpSocket connection)
    {
    }

    /// <summary>A connection the app opened with <see cref="TcpSocket.Connect(in InetEndpoint)"/> is established.</summary>
    protected internal virtual void OnConnected(TcpSocket connection)
    {
    }

    /// <summary>Data arrived, or the peer's FIN (<see cref="TcpSocket.IsReceiveFinished"/>): the socket is readable.</summary>
    protected internal virtual void OnReceive(TcpSocket connection)
    {
    }

    /// <summary>Room opened in the send buffer after a <see cref="TcpSocket.Send"/> took less than it was given.</summary>
    protected internal virtual void OnSendSpace(TcpSocket connection)
    {
    }

    /// <summary>
    /// The connection ended while the app held it: refused, reset, timed out, or (with
    /// <see cref="TcpError.None"/>) closed by both sides. The app must still <see cref="TcpSocket.Close"/>
    /// it to give the socket back.
    /// </summary>
    protected internal virtual void OnClosed(TcpSocket connection, TcpError reason)
    {
    }

    /// <summary>
    /// The splice whose source is <paramref name="source"/> dissolved (<see cref="TcpSocket.Splice"/>):
    /// its stream ended with everything moved, its drain is gone, its maximum was moved, it was idle
    /// for its timeout, or the source's connection failed. The source is the app's to read again
    /// (what came past a maximum waits there); <see cref="TcpSocket.SpliceMoved"/> says how much moved.
    /// </summary>
    protected internal virtual void OnSpliceEnded(TcpSocket source, SpliceEnd reason)
    {
    }

    /// <summary>A timer the app scheduled with <see cref="TcpSocketTable.ScheduleTimer"/> fired.</summary>
    protected internal virtual void OnTimer(int payload)
    {
    }
}
