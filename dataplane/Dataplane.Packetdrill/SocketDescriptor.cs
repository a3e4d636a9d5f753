using Dataplane.Stack.Transport;
using Dataplane.Stack.Transport.Tcp;

namespace Dataplane.Packetdrill;

/// <summary>
/// One file descriptor of the library: a TCP socket as the BSD API sees it, over the stack's
/// <see cref="TcpSocket"/> once it listens or connects. What the BSD API has and the event API
/// does not (a bound address before listen, O_NONBLOCK, the accept queue, an error reported once,
/// options set before there is a connection) lives here.
/// </summary>
internal sealed class SocketDescriptor(int fd, bool ipv6)
{
    /// <summary>The descriptor number.</summary>
    public int Fd { get; } = fd;

    /// <summary>AF_INET6 rather than AF_INET.</summary>
    public bool IsIpv6 { get; } = ipv6;

    /// <summary>O_NONBLOCK.</summary>
    public bool NonBlocking { get; set; }

    /// <summary>The address bind gave; unspecified until then.</summary>
    public InetEndpoint Bound { get; set; } = InetEndpoint.Any(ipv6);

    /// <summary>True once bind succeeded.</summary>
    public bool IsBound { get; set; }

    /// <summary>The stack's socket, once the descriptor listens or connects (or was accepted).</summary>
    public TcpSocket? Tcp { get; set; }

    /// <summary>True for a listener.</summary>
    public bool IsListener => Tcp is { State: TcpState.Listen };

    /// <summary>Connections established on a listener and not accepted yet (the accept queue).</summary>
    public Queue<TcpSocket> Accepted { get; } = new();

    /// <summary>True once the error the connection ended with was reported (SO_ERROR, a read or a write report it once).</summary>
    public bool ErrorReported { get; set; }

    /// <summary>shutdown(SHUT_RD): reads return 0.</summary>
    public bool ReadShutdown { get; set; }

    /// <summary>A non-blocking connect is under way (its result is for SO_ERROR or the next connect).</summary>
    public bool Connecting { get; set; }

    /// <summary>SO_REUSEADDR as set; the stack has no TIME-WAIT conflict on bind to refuse.</summary>
    public bool ReuseAddress { get; set; }

    /// <summary>SO_KEEPALIVE as set, applied when the connection exists.</summary>
    public bool KeepAlive { get; set; }

    /// <summary>TCP_KEEPIDLE in seconds; 0 for the default.</summary>
    public int KeepIdleSeconds { get; set; }

    /// <summary>TCP_NODELAY as set, applied when the connection exists.</summary>
    public bool NoDelay { get; set; }

    /// <summary>The error the connection ended with and has not reported yet; 0 for none.</summary>
    public int PendingErrno => Tcp is { } tcp && !ErrorReported ? LinuxErrno.Of(tcp.Error) : 0;

    /// <summary>Takes <see cref="PendingErrno"/>: reports it once.</summary>
    public int TakeErrno()
    {
        int errno = PendingErrno;
        if (errno != 0)
            ErrorReported = true;
        return errno;
    }

    /// <summary>Applies the options set before the connection existed.</summary>
    public void ApplyOptions()
    {
        if (Tcp is not { } tcp)
            return;
        tcp.NoDelay = NoDelay;
        if (KeepAlive && KeepIdleSeconds > 0)
            tcp.SetKeepAlive(TimeSpan.FromSeconds(KeepIdleSeconds));
        else if (tcp.KeepAlive != KeepAlive)
            tcp.KeepAlive = KeepAlive;
    }
}

/// <summary>
/// The app every library socket belongs to: it keeps what the BSD API asks about later (a
/// listener's accept queue) and lets the state of the socket answer the rest; waiters are woken
/// after every turn of the stack, not from here.
/// </summary>
internal sealed class SocketEvents : TcpApp
{
    /// <inheritdoc/>
    public override string Name => "packetdrill sockets";

    /// <summary>The worker's TCP, to open sockets on.</summary>
    public TcpSocketTable Table => Tcp;

    /// <inheritdoc/>
    protected override TcpError OnStart() => TcpError.None;

    /// <inheritdoc/>
    protected internal override void OnAccept(TcpSocket listener, TcpSocket connection)
    {
        if (listener.UserState is SocketDescriptor descriptor)
            descriptor.Accepted.Enqueue(connection);
        else
            connection.Abort();
    }
}
