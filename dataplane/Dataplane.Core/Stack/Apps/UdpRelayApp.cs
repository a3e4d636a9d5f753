using Dataplane.Stack.Transport;

namespace Dataplane.Stack.Apps;

/// <summary>
/// <c>app relay udp listen A connect B mode copy|splice</c>: each client that sends to A gets a
/// session, two connected sockets: one to the client from A (so the client's next datagrams find
/// it ahead of the listener), and one to B from a local port whose hash lands on this worker (so
/// B's answers come back here). Client to B and B to client, datagram by datagram.
/// </summary>
/// <remarks>
/// <para>In copy mode every datagram goes through <see cref="OnDatagram"/> and out of the other
/// socket as a copy in a fresh buffer, as a relay in user space would move it.</para>
/// <para>In splice mode the two sockets are spliced to each other once the session exists
/// (OpenBSD's SO_SPLICE semantics for UDP: whole datagrams move inside the stack): the app sees
/// only each client's first datagram, and every datagram after it is readdressed in the buffer it
/// arrived in and sent on, payload untouched, checksum updated from the pseudo-header and ports.</para>
/// <para>Sessions end after <see cref="IdleTimeout"/> without a datagram either way (checked by a
/// timer on the worker's wheel) and are bounded per worker: a new client beyond the bound is
/// dropped and counted. Session objects are pooled, so a steady churn of clients allocates nothing
/// once the high-water mark is reached.</para>
/// </remarks>
internal sealed class UdpRelayApp : UdpApp
{
    /// <summary>Sessions a worker holds at most, by default.</summary>
    public const int DefaultMaxSessions = 1024;

    /// <summary>How long a session lives without a datagram, by default (nanoseconds): a minute, as a NAT's UDP mapping might.</summary>
    public const long DefaultIdleTimeout = 60_000_000_000;

    private readonly InetEndpoint _listen;
    private readonly InetEndpoint _connect;
    private readonly RelaySession?[] _sessions;
    private readonly List<RelaySession> _free = [];
    private readonly long _sweepInterval;
    private UdpSocket? _listener;
    private int _count;
    private bool _sweeping;

    /// <summary>A relay from <paramref name="listen"/> to <paramref name="connect"/>.</summary>
    public UdpRelayApp(InetEndpoint listen, InetEndpoint connect, bool splice, int maxSessions = DefaultMaxSessions, long idleTimeout = DefaultIdleTimeout)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxSessions, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(idleTimeout, 1_000_000);
        _listen = listen;
        _connect = connect;
        IsSplice = splice;
        IdleTimeout = idleTimeout;
        _sessions = new RelaySession?[maxSessions];
        _sweepInterval = Math.Min(idleTimeout / 4, 1_000_000_000);
    }

    /// <inheritdoc/>
    public override string Name => "relay udp";

    /// <summary>True in splice mode, false in copy mode.</summary>
    public bool IsSplice { get; }

    /// <summary>How long a session lives without a datagram, in nanoseconds.</summary>
    public long IdleTimeout { get; }

    /// <summary>Sessions open on this worker.</summary>
    public int SessionCount => _count;

    /// <summary>The listening socket of this worker (null before the start).</summary>
    public UdpSocket? Listener => _listener;

    /// <inheritdoc/>
    protected override UdpError OnStart()
    {
        _listener = Udp.Open(_listen.IsIpv6, this);
        UdpError error = _listener.Bind(_listen);
        if (error != UdpError.None)
        {
            _listener.Close();
            return error;
        }
        _sweeping = Udp.ScheduleTimer(this, _sweepInterval, 0);
        return UdpError.None;
    }

    /// <inheritdoc/>
    public override void OnDatagram(UdpSocket socket, ref UdpReceived datagram)
    {
        if (socket == _listener)
        {
            if (!_sweeping)
                _sweeping = Udp.ScheduleTimer(this, _sweepInterval, 0);
            Open(ref datagram);
            return;
        }
        // Copy mode, or a splice that was dissolved: through the app.
        var session = (RelaySession)socket.UserState!;
        UdpSocket other = socket == session.Client ? session.Server : session.Client;
        other.Send(datagram.Payload);
    }

    /// <summary>Sweeps the sessions that have been idle for the timeout, and comes back.</summary>
    protected internal override void OnTimer(int payload)
    {
        long now = Udp.Context.Now;
        for (int i = _count - 1; i >= 0; i--)
        {
            RelaySession session = _sessions[i]!;
            long last = Math.Max(session.Client.LastReceived, session.Server.LastReceived);
            if (now - last >= IdleTimeout)
            {
                Close(session);
                Udp.Counters.Count(UdpCounter.RelaySessionsExpired);
            }
        }
        // A full timer wheel stops the sweeps; the next new client starts them again.
        _sweeping = Udp.ScheduleTimer(this, _sweepInterval, 0);
    }

    /// <summary>A client's first datagram: a session for it, and the datagram on to the far end.</summary>
    private void Open(ref UdpReceived datagram)
    {
        StackCounters counters = Udp.Counters;
        if (datagram.IsBroadcast)
        {
            counters.Count(UdpCounter.AppRefused);
            return;
        }
        if (_count == _sessions.Length)
        {
            counters.Count(UdpCounter.RelaySessionsRefused);
            return;
        }
        // From the address the client wrote to, so its answers come from where it expects them.
        UdpSocket client = Udp.Open(datagram.To.IsIpv6, this);
        if (client.Bind(datagram.To, reusePort: true) != UdpError.None || client.Connect(datagram.From, datagram.Interface) != UdpError.None)
        {
            client.Close();
            counters.Count(UdpCounter.RelaySessionsRefused);
            return;
        }
        UdpSocket server = Udp.Open(_connect.IsIpv6, this);
        if (server.Connect(_connect) != UdpError.None)
        {
            client.Close();
            server.Close();
            counters.Count(UdpCounter.RelaySessionsRefused);
            return;
        }
        RelaySession session;
        if (_free.Count > 0)
        {
            session = _free[^1];
            _free.RemoveAt(_free.Count - 1);
        }
        else
        {
            session = new RelaySession();
        }
        session.Client = client;
        session.Server = server;
        session.Index = _count;
        _sessions[_count++] = session;
        client.UserState = session;
        server.UserState = session;
        counters.Count(UdpCounter.RelaySessions);
        if (IsSplice)
        {
            client.Splice(server);
            server.Splice(client);
            datagram.Forward(server);
        }
        else
        {
            server.Send(datagram.Payload);
        }
    }

    private void Close(RelaySession session)
    {
        session.Client.Close();
        session.Server.Close();
        session.Client = null!;
        session.Server = null!;
        // The last session takes the slot.
        int last = --_count;
        RelaySession moved = _sessions[last]!;
        moved.Index = session.Index;
        _sessions[session.Index] = moved;
        _sessions[last] = null;
        _free.Add(session);
    }

    /// <summary>One client's pair of sockets.</summary>
    private sealed class RelaySession
    {
        public UdpSocket Client = null!;
        public UdpSocket Server = null!;
        public int Index;
    }
}
