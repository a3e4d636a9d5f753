using Dataplane.Stack.Transport;
using Dataplane.Stack.Transport.Tcp;

namespace Dataplane.Stack.Apps;

/// <summary>
/// <c>app relay tcp listen A connect B mode splice|copy [max BYTES] [idle SECONDS]</c>: each
/// connection accepted on A gets an outgoing connection to B, opened on the same worker (from a
/// local port whose four-tuple hashes back to it, <see cref="TcpSocket.Connect(in InetEndpoint)"/>),
/// and the bytes of each side go out of the other: a session of two sockets on one core, which
/// needs no lock and no hand-off.
/// </summary>
/// <remarks>
/// <para>In splice mode each direction is a splice (<see cref="TcpSocket.Splice"/>): the bytes move
/// inside the stack in the buffers they arrived in, as relayd does with OpenBSD's SO_SPLICE. In copy
/// mode they move through the app: it reads what arrived where it lies (<see cref="TcpSocket.Peek"/>)
/// and writes it to the other side, which copies it into its send buffer, and consumes what that
/// took: the same bytes, for comparison, each copied once more than a splice copies them.</para>
/// <para>What a session carries across: data as the far side can take it (the near side's window
/// closes while it cannot); a FIN, once everything before it went (the other side is shut down,
/// and the other direction goes on: a half-close); a reset, a timeout or a refused connect, as a
/// reset of the other side. <c>max</c> ends a direction after that many bytes as a FIN would: what
/// the near side sends beyond waits unread (its window closes once the buffer holds it) and is
/// dropped when the session ends, with a reset while that connection is still open (RFC 2525
/// 2.17), unsaid once it closed both ways (its FIN and ours exchanged); <c>idle</c> ends a session in
/// which nothing moved either way for that long, both sides reset. The session's sockets go when
/// both of its connections have ended.</para>
/// <para>Session objects are pooled: a steady churn of connections allocates nothing once the
/// high-water mark is reached.</para>
/// </remarks>
internal sealed class TcpRelayApp : TcpApp
{
    private readonly InetEndpoint _listen;
    private readonly InetEndpoint _connect;
    private readonly long _maxBytes;
    private readonly long _idleTimeout;
    private readonly List<RelaySession> _sessions = [];
    private readonly Stack<RelaySession> _free = new();
    private TcpSocket? _listener;
    private bool _sweeping;

    /// <summary>A relay from <paramref name="listen"/> to <paramref name="connect"/>; <paramref name="maxBytes"/> and <paramref name="idleTimeout"/> (nanoseconds) 0 for none.</summary>
    public TcpRelayApp(InetEndpoint listen, InetEndpoint connect, bool splice, long maxBytes = 0, long idleTimeout = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxBytes);
        ArgumentOutOfRangeException.ThrowIfNegative(idleTimeout);
        _listen = listen;
        _connect = connect;
        IsSplice = splice;
        _maxBytes = maxBytes;
        _idleTimeout = idleTimeout;
    }

    /// <inheritdoc/>
    public override string Name => "relay tcp";

    /// <summary>True in splice mode, false in copy mode.</summary>
    public bool IsSplice { get; }

    /// <summary>Sessions open on this worker.</summary>
    public int SessionCount => _sessions.Count;

    /// <summary>The listening socket of this worker (null before the start).</summary>
    public TcpSocket? Listener => _listener;

    /// <inheritdoc/>
    protected override TcpError OnStart()
    {
        _listener = Tcp.Open(_listen.IsIpv6, this);
        TcpError error = _listener.Listen(_listen);
        if (error != TcpError.None)
            _listener.Close();
        return error;
    }

    /// <inheritdoc/>
    protected internal override void OnAccept(TcpSocket listener, TcpSocket connection)
    {
        TcpSocket server = Tcp.Open(_connect.IsIpv6, this);
        if (server.Connect(_connect) != TcpError.None)
        {
            // No route, no port on this worker, no room: the client is reset, as a refusal would be.
            server.Close();
            connection.Abort();
            Tcp.Counters.Count(TcpCounter.RelayConnectFailed);
            return;
        }
        // What arrives goes on at once, as relayd's `tcp nodelay`: the sender's Nagle coalesced it
        // already, and a relay that waits for an ACK before a short tail adds a round trip to
        // every request and response.
        connection.NoDelay = server.NoDelay = true;
        RelaySession session = _free.Count > 0 ? _free.Pop() : new RelaySession();
        session.Start(connection, server, _sessions.Count, Tcp.Context.Now);
        _sessions.Add(session);
        connection.UserState = session;
        server.UserState = session;
        Tcp.Counters.Count(TcpCounter.RelaySessions);
        // The sweep times copy sessions, and splice sessions until they are connected (their
        // splices time them after): a far side that never answers is idle too.
        if (_idleTimeout > 0 && !_sweeping)
            _sweeping = Tcp.ScheduleTimer(this, SweepInterval, 0);
    }

    /// <inheritdoc/>
    protected internal override void OnConnected(TcpSocket connection)
    {
        var session = (RelaySession)connection.UserState!;
        session.Connected = true;
        if (IsSplice)
        {
            // What the client sent meanwhile waits in its receive queue: the splice moves it first.
            Splice(session.Client, session.Server, ref session.Up);
            Splice(session.Server, session.Client, ref session.Down);
        }
        else
        {
            Copy(session.Client, session.Server, ref session.Up);
            Copy(session.Server, session.Client, ref session.Down);
        }
    }

    /// <inheritdoc/>
    protected internal override void OnReceive(TcpSocket connection)
    {
        if (connection.UserState is not RelaySession { Connected: true } session || IsSplice)
            return; // before the far side is up the bytes wait; in splice mode the splice moves them
        if (connection == session.Client)
            Copy(session.Client, session.Server, ref session.Up);
        else
            Copy(session.Server, session.Client, ref session.Down);
    }

    /// <inheritdoc/>
    protected internal override void OnSendSpace(TcpSocket connection)
    {
        if (connection.UserState is not RelaySession { Connected: true } session || IsSplice)
            return;
        if (connection == session.Server)
            Copy(session.Client, session.Server, ref session.Up);
        else
            Copy(session.Server, session.Client, ref session.Down);
    }

    /// <inheritdoc/>
    protected internal override void OnSpliceEnded(TcpSocket source, SpliceEnd reason)
    {
        if (source.UserState is not RelaySession session)
            return;
        bool up = source == session.Client;
        ref Direction direction = ref up ? ref session.Up : ref session.Down;
        TcpSocket drain = up ? session.Server : session.Client;
        direction.Moved += source.SpliceMoved;
        direction.At = Math.Max(direction.At, source.SpliceLastMove); // the sweep times a session whose splices all ended
        switch (reason)
        {
            case SpliceEnd.EndOfStream:
            case SpliceEnd.MaximumReached:
                Finish(drain, ref direction);
                break;
            case SpliceEnd.IdleTimeout:
                // A splice's idle timeout is its own direction's; the session is idle only when the
                // other direction did not move either (relayd's rule): then both sides are reset.
                TcpSocket other = up ? session.Server : session.Client;
                long otherMoved = other.SpliceDrain is not null ? other.SpliceLastMove : 0;
                if (otherMoved != 0 && Tcp.Context.Now - otherMoved < _idleTimeout)
                    Splice(source, drain, ref direction, otherMoved);
                else
                    Reset(session, TcpCounter.RelayIdleClosed);
                break;
            case SpliceEnd.Unspliced:
                break;
            default:
                // The drain is gone or the source failed: OnClosed of the failed side resets the other.
                break;
        }
    }

    /// <inheritdoc/>
    protected internal override void OnClosed(TcpSocket connection, TcpError reason)
    {
        if (connection.UserState is not RelaySession session)
        {
            connection.Close();
            return;
        }
        if (reason != TcpError.None)
        {
            // Refused, reset or timed out: the other side is reset, the session ends.
            if (connection == session.Server && !session.Connected)
                Tcp.Counters.Count(TcpCounter.RelayConnectFailed);
            Reset(session, counter: null);
            return;
        }
        // Both directions of this connection are over: it goes; the session with its other.
        if (connection == session.Client)
            session.ClientDone = true;
        else
            session.ServerDone = true;
        if (session.ClientDone && session.ServerDone)
            End(session);
    }

    /// <summary>Sweeps the sessions in which nothing moved for the idle timeout (in splice mode those still connecting), and comes back.</summary>
    protected internal override void OnTimer(int payload)
    {
        long now = Tcp.Context.Now;
        for (int i = _sessions.Count - 1; i >= 0; i--)
        {
            RelaySession session = _sessions[i];
            if (IsSplice && session.Connected && (session.Client.SpliceDrain is not null || session.Server.SpliceDrain is not null))
                continue; // a live splice times it (OnSpliceEnded); a session with none left is timed here
            if (now - Math.Max(session.Up.At, session.Down.At) >= _idleTimeout)
                Reset(session, TcpCounter.RelayIdleClosed);
        }
        _sweeping = _sessions.Count > 0 && Tcp.ScheduleTimer(this, SweepInterval, 0);
    }

    private long SweepInterval => Math.Max(Math.Min(_idleTimeout / 4, 1_000_000_000), 1_000_000);

    private void Splice(TcpSocket source, TcpSocket drain, ref Direction direction, long idleFrom = 0)
    {
        long max = 0;
        if (_maxBytes > 0)
        {
            max = _maxBytes - direction.Moved;
            if (max <= 0)
            {
                Finish(drain, ref direction);
                return;
            }
        }
        TcpError error = source.Splice(drain, max, _idleTimeout, idleFrom);
        if (error != TcpError.None && !direction.Done)
        {
            // The source's stream ended already, or the drain shut down: as the splice would have ended.
            if (source.IsReceiveFinished || source.State is not (TcpState.Established or TcpState.FinWait1 or TcpState.FinWait2 or TcpState.CloseWait))
                Finish(drain, ref direction);
        }
    }

    /// <summary>Copy mode: moves what <paramref name="to"/> takes, read in place and written to it.</summary>
    private void Copy(TcpSocket from, TcpSocket to, ref Direction direction)
    {
        if (direction.Done)
            return;
        while (from.ReadableBytes > 0)
        {
            long left = _maxBytes > 0 ? _maxBytes - direction.Moved : long.MaxValue;
            ReadOnlySpan<byte> data = from.Peek();
            if (data.Length > left)
                data = data[..(int)left];
            // All that lies in place goes to Send, not cut to its room first: OnSendSpace follows
            // only a Send that took less than it was given (as TcpEchoApp does).
            int n = to.Send(data);
            if (n <= 0)
                break; // full (OnSendSpace brings us back), or no longer sending
            from.Consume(n);
            direction.Moved += n;
            direction.At = Tcp.Context.Now;
            if (n < data.Length)
                break;
        }
        if ((_maxBytes > 0 && direction.Moved >= _maxBytes) || from.IsReceiveFinished)
            Finish(to, ref direction);
    }

    /// <summary>A direction ended (its source's FIN, or its maximum): the far side gets a FIN after what moved.</summary>
    private static void Finish(TcpSocket drain, ref Direction direction)
    {
        if (direction.Done)
            return;
        direction.Done = true;
        drain.Shutdown();
    }

    /// <summary>Resets both sides and ends the session.</summary>
    private void Reset(RelaySession session, TcpCounter? counter)
    {
        if (counter is { } c)
            Tcp.Counters.Count(c);
        TcpSocket client = session.Client, server = session.Server;
        client.UserState = server.UserState = null;
        client.Abort();
        server.Abort();
        Remove(session);
    }

    /// <summary>Both connections ended: the sockets go (the stack finishes what is left of each close alone).</summary>
    private void End(RelaySession session)
    {
        TcpSocket client = session.Client, server = session.Server;
        client.UserState = server.UserState = null;
        client.Close();
        server.Close();
        Remove(session);
    }

    private void Remove(RelaySession session)
    {
        // The last session takes the slot.
        int last = _sessions.Count - 1;
        RelaySession moved = _sessions[last];
        moved.Index = session.Index;
        _sessions[session.Index] = moved;
        _sessions.RemoveAt(last);
        session.Client = session.Server = null!;
        _free.Push(session);
    }

    /// <summary>One direction of a session: client to server (up) or back (down).</summary>
    private struct Direction
    {
        public long Moved; // bytes moved by splices that ended, or by copy
        public long At;    // when copy mode last moved a byte
        public bool Done;  // the far side was shut down
    }

    /// <summary>One accepted connection and its outgoing one.</summary>
    private sealed class RelaySession
    {
        public TcpSocket Client = null!;
        public TcpSocket Server = null!;
        public Direction Up;
        public Direction Down;
        public bool Connected;
        public bool ClientDone;
        public bool ServerDone;
        public int Index;

        public void Start(TcpSocket client, TcpSocket server, int index, long now)
        {
            Client = client;
            Server = server;
            Index = index;
            Up = Down = new Direction { At = now };
            Connected = ClientDone = ServerDone = false;
        }
    }
}
