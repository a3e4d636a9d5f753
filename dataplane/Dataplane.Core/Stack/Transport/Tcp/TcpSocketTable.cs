using System.Runtime.InteropServices;
using Dataplane.Buffers;
using Dataplane.Engine;
using Dataplane.Stack.Ip;
using Dataplane.Wire;

namespace Dataplane.Stack.Transport.Tcp;

/// <summary>
/// The TCP sockets of one worker: its connection table, its listeners, its TIME-WAIT, its ports.
/// Only the worker's thread changes or looks it up, so nothing is locked and nothing is shared: a
/// connection lives on the worker its four-tuple hashes to (the engine's symmetric Toeplitz), a
/// listening app listens on every worker, and an active open picks a local port whose four-tuple
/// hashes back to the connecting worker. Two workers can never hold the same four-tuple, so the
/// port space needs no coordination.
/// </summary>
/// <remarks>
/// The connection table is a dictionary keyed by the four-tuple and hashed with SipHash under a
/// key drawn at start, so a peer cannot aim its connections at one bucket; it grows with the load
/// (and keeps its size after). Sockets are pooled; what a connection holds is bounded per
/// connection (<c>set tcp buffer</c>) and per worker (its share of the packet buffers, and
/// <c>set tcp connections</c>); past a bound new work is refused and counted, and the
/// connections that exist go on.
/// </remarks>
internal sealed class TcpSocketTable
{
    /// <summary>The least MSS the stack accepts from a peer (Linux's floor; a smaller one is raised to it, CVE-2019-11479).</summary>
    public const int MinMss = 88;

    /// <summary>The default bound on connections, per dataplane (<c>set tcp connections</c>).</summary>
    public const int DefaultConnections = 100_000;

    /// <summary>The default send and receive buffer of a connection, each (<c>set tcp buffer</c>).</summary>
    public const int DefaultBuffer = 1 << 20;

    private readonly TcpLayer _layer;
    private readonly Dictionary<FlowKey, TcpSocket> _connections;
    private readonly Dictionary<int, TcpSocket> _listeners = [];
    private readonly List<TcpSocket> _pool = [];
    private readonly List<TcpSocket> _dead = [];
    private readonly List<(TcpSocket Socket, uint Generation)> _later = [];
    private TcpSocket?[] _slots = new TcpSocket?[16];
    private int _slotCount;
    private readonly Stack<int> _freeSlots = new();
    private TcpApp[] _apps = [];
    private readonly InitialSequenceNumbers _isn;
    private readonly SynCookies _cookies;
    private readonly SipHash _secret;
    private long _cookieSentAt = long.MinValue;
    private PacketRateLimit _challengeAcks;
    private uint _random;

    /// <summary>The sockets of <paramref name="layer"/>, the TCP of one worker.</summary>
    public TcpSocketTable(TcpLayer layer, int maxConnections, int bufferBytes)
    {
        _layer = layer;
        WorkerContext context = layer.Context;
        Span<byte> key = stackalloc byte[16];
        context.Random.NextBytes(key);
        _secret = new SipHash(key);
        context.Random.NextBytes(key);
        _isn = new InitialSequenceNumbers(new SipHash(key));
        context.Random.NextBytes(key);
        _cookies = new SynCookies(new SipHash(key));
        _connections = new Dictionary<FlowKey, TcpSocket>(new KeyedFlowComparer(_secret));
        _challengeAcks = new PacketRateLimit(context.Now);
        _random = (uint)context.Random.Next() | 1; // RFC 6056 3.3.1: ephemeral ports from a random start
        MaxConnections = Math.Max(1, maxConnections);
        SendBufferLimit = ReceiveBufferLimit = Math.Max(4096, bufferBytes);
    }

    /// <summary>The TCP layer the table belongs to, which sends the segments.</summary>
    public TcpLayer Layer => _layer;

    /// <summary>The connections that go on at the next turn, having used their share of this one.</summary>
    public TcpTurnQueue TurnQueue { get; } = new();

    /// <summary>The worker's context: clock, timers, random source, flow placement.</summary>
    public WorkerContext Context => _layer.Context;

    /// <summary>The worker's buffer cache, which queues take from and give back to.</summary>
    public BufferCache Cache => _layer.Context.Cache;

    /// <summary>The worker's counters.</summary>
    public StackCounters Counters => _layer.Counters;

    /// <summary>The worker's number.</summary>
    public int WorkerIndex => _layer.Context.Index;

    /// <summary>The apps started on this worker.</summary>
    public IReadOnlyList<TcpApp> Apps => _apps;

    /// <summary>Connections in the table (every state but LISTEN and CLOSED, TIME-WAIT included).</summary>
    public int ConnectionCount => _connections.Count;

    /// <summary>The most connections this worker holds.</summary>
    public int MaxConnections { get; }

    /// <summary>The congestion control new connections use (<c>set tcp congestion</c>; an app may choose another per socket).</summary>
    public CongestionAlgorithm Congestion { get; set; }

    /// <summary>Whether connections offer and accept SACK (RFC 2018; BSD's net.inet.tcp.sack). On by default.</summary>
    public bool Sack { get; set; } = true;

    /// <summary>A connection's send buffer, in bytes.</summary>
    public int SendBufferLimit { get; }

    /// <summary>A connection's receive buffer, in bytes: the most window it offers.</summary>
    public int ReceiveBufferLimit { get; }

    /// <summary>Packet buffers the connections' queues hold now (netstat's memory line; walks the sockets).</summary>
    public int BuffersHeld
    {
        get
        {
            int held = 0;
            for (int i = 0; i < _slotCount; i++)
            {
                if (_slots[i] is { } socket)
                    held += socket.BuffersHeld;
            }
            return held;
        }
    }

    /// <summary>
    /// Whether windows may grow and new connections start: false when fewer than an eighth of the
    /// packet buffers are free. The bound on what all connections hold together: past it they keep
    /// the windows they offered, hold nothing out of order, and new ones are refused.
    /// </summary>
    internal bool MayGrowWindows => Cache.Pool.Shared.Count + Cache.Count > Cache.Pool.Count / 8;

    /// <summary>Whether segments ahead of a hole may be held: not when buffers run short.</summary>
    internal bool MayHoldOutOfOrder => MayGrowWindows;

    /// <summary>Starts <paramref name="app"/> on this worker; registered even when it fails.</summary>
    public TcpError Start(TcpApp app)
    {
        app.Id = _apps.Length;
        _apps = [.. _apps, app];
        return app.Start(this);
    }

    /// <summary>A fresh socket of the family for <paramref name="app"/>, closed, to listen or connect with.</summary>
    public TcpSocket Open(bool ipv6, TcpApp app) => Take(ipv6, app);

    /// <summary>
    /// Schedules <see cref="TcpApp.OnTimer"/> of <paramref name="app"/> with <paramref name="payload"/>
    /// <paramref name="delay"/> nanoseconds from now; false when the worker's timer wheel is full.
    /// </summary>
    public bool ScheduleTimer(TcpApp app, long delay, int payload)
        => !Context.Timers.Schedule(delay, (int)StackTimer.TcpApp, (long)app.Id << 32 | (uint)payload).IsNone;

    /// <summary>Copies what netstat shows of every socket into <paramref name="into"/>; safe from any thread.</summary>
    public void Snapshot(List<TcpSocketInfo> into)
    {
        TcpSocket?[] slots = Volatile.Read(ref _slots);
        int count = Math.Min(Volatile.Read(ref _slotCount), slots.Length);
        for (int i = 0; i < count; i++)
        {
            if (Volatile.Read(ref slots[i]) is { } socket && socket.TryRead(WorkerIndex, out TcpSocketInfo info))
                into.Add(info);
        }
    }

    /// <summary>The connection of a segment from <paramref name="from"/> to <paramref name="to"/>, or null.</summary>
    internal TcpSocket? Find(in InetEndpoint to, in InetEndpoint from)
        => _connections.Count != 0 && _connections.TryGetValue(new FlowKey(to, from), out TcpSocket? socket) ? socket : null;

    /// <summary>The listener for a SYN to <paramref name="to"/>: one bound to that address first, then one bound to every address.</summary>
    internal TcpSocket? FindListener(in InetEndpoint to)
    {
        if (!_listeners.TryGetValue(PortKey(to.IsIpv6, to.Port), out TcpSocket? socket))
            return null;
        Ipv6Address address = to.Address;
        for (; socket is not null; socket = socket.NextListener)
        {
            if (socket.Local.Address == address || socket.Local.IsUnspecifiedAddress)
                return socket;
        }
        return null;
    }

    internal TcpError Listen(TcpSocket socket, in InetEndpoint local, int backlog)
    {
        if (socket.State != TcpState.Closed || socket.Released)
            return TcpError.InvalidState;
        if (local.IsIpv6 != socket.IsIpv6 || local.Port == 0 || backlog <= 0)
            return TcpError.InvalidArgument;
        if (!local.IsUnspecifiedAddress && !_layer.Ip.IsOurs(local.Ip))
            return TcpError.AddressNotAvailable;
        int key = PortKey(local.IsIpv6, local.Port);
        for (TcpSocket? other = _listeners.GetValueOrDefault(key); other is not null; other = other.NextListener)
        {
            if (other.Local.Address == local.Address)
                return TcpError.AddressInUse;
        }
        socket.SetListening(local, backlog);
        // Listeners bound to an address go ahead of those bound to every address.
        if (!_listeners.TryGetValue(key, out TcpSocket? head) || (!local.IsUnspecifiedAddress && head.Local.IsUnspecifiedAddress))
        {
            socket.NextListener = head;
            _listeners[key] = socket;
        }
        else
        {
            TcpSocket previous = head;
            while (previous.NextListener is { } next && (local.IsUnspecifiedAddress || !next.Local.IsUnspecifiedAddress))
                previous = next;
            socket.NextListener = previous.NextListener;
            previous.NextListener = socket;
        }
        return TcpError.None;
    }

    internal TcpError Connect(TcpSocket socket, in InetEndpoint remote, int scope)
    {
        if (socket.State != TcpState.Closed || socket.Released)
            return TcpError.InvalidState;
        if (remote.IsIpv6 != socket.IsIpv6 || remote.Port == 0 || remote.IsUnspecifiedAddress || remote.IsMulticastOrBroadcast)
            return TcpError.InvalidArgument;
        if (_connections.Count >= MaxConnections)
        {
            Counters.Count(TcpCounter.ConnectionsRefusedLimit);
            return TcpError.NoResources;
        }
        if (!_layer.Ip.TrySelectSource(remote.Ip, scope, out InetAddress source))
            return TcpError.NetworkUnreachable;
        if (!TryEphemeral(InetEndpoint.Of(source, 0), remote, out ushort port))
            return TcpError.NoPortAvailable;
        InetEndpoint local = InetEndpoint.Of(source, port);
        socket.SetEndpoints(local, remote, scope);
        TcpSequence iss = _isn.For(local.Ip, local.Port, remote.Ip, remote.Port, Context.Now);
        socket.BeginActiveOpen(iss, TimestampOffset(local, remote), ShiftFor(ReceiveBufferLimit));
        Insert(socket);
        Counters.Count(TcpCounter.ConnectAttempts);
        socket.SendSyn();
        return TcpError.None;
    }

    /// <summary>
    /// A SYN for <paramref name="listener"/> (RFC 9293 3.10.7.2, LISTEN): a new connection in
    /// SYN-RECEIVED answers it with a SYN-ACK, unless the listener's queue or the worker is full.
    /// </summary>
    internal void Accept(TcpSocket listener, in IpDatagram datagram, TcpSegment tcp, in TcpOptions options)
    {
        InetEndpoint local = InetEndpoint.Of(datagram.Destination, tcp.DestinationPort);
        InetEndpoint remote = InetEndpoint.Of(datagram.Source, tcp.SourcePort);
        if (listener.Pending >= listener.Backlog)
        {
            // The queue is full (a SYN flood, or an app slow to accept): answer with a cookie and keep nothing.
            Counters.Count(TcpCounter.ListenQueueOverflows);
            SendCookie(datagram, tcp, options, local, remote);
            return;
        }
        if (_connections.Count >= MaxConnections || !MayGrowWindows)
        {
            Counters.Count(TcpCounter.ConnectionsRefusedLimit);
            return;
        }
        TcpSocket socket = Take(listener.IsIpv6, null);
        socket.SetEndpoints(local, remote, datagram.Source.IsIpv6 && datagram.Source.Mapped.IsLinkLocal ? datagram.Interface.Index : -1);
        TcpSequence iss = _isn.For(local.Ip, local.Port, remote.Ip, remote.Port, Context.Now);
        socket.BeginPassiveOpen(listener, iss, new TcpSequence(tcp.SequenceNumber), tcp.Window, options, TimestampOffset(local, remote), ShiftFor(ReceiveBufferLimit));
        listener.Pending++;
        Insert(socket);
        Counters.Count(TcpCounter.PassiveOpens);
        socket.SendSyn();
    }

    /// <summary>
    /// RFC 4987 3.6: a SYN-ACK whose ISS is a cookie of the connection's state, with the options
    /// the peer offered (window scale and SACK-permitted kept in our timestamp's low bits).
    /// </summary>
    private void SendCookie(in IpDatagram datagram, TcpSegment tcp, in TcpOptions syn, in InetEndpoint local, in InetEndpoint remote)
    {
        int scope = remote.IsIpv6 && remote.Address.IsLinkLocal ? datagram.Interface.Index : -1;
        int routeMss = RouteMss(remote, scope, remote.IsIpv6 ? 40 : 20);
        int peerMss = syn.MaximumSegmentSize is ushort m ? Math.Max((int)m, MinMss) : remote.IsIpv6 ? 1220 : 536;
        uint iss = _cookies.Make(local, remote, tcp.SequenceNumber, Math.Min(peerMss, routeMss), Context.Now);
        var options = default(TcpOptions);
        options.MaximumSegmentSize = (ushort)routeMss;
        if (syn.WindowScale.HasValue)
            options.WindowScale = (byte)ShiftFor(ReceiveBufferLimit);
        if (syn.Timestamps is var (value, _))
        {
            // Our timestamp clock for this connection, its low bits replaced by the options and never ahead of the clock.
            uint now = unchecked((uint)(Context.Now / 1_000_000) + TimestampOffset(local, remote));
            uint bits = SynCookies.EncodeOptions(syn.WindowScale.HasValue ? Math.Min((int)syn.WindowScale.Value, 14) : null, syn.SackPermitted);
            uint stamped = (now & ~SynCookies.OptionBits) | bits;
            if (bits > (now & SynCookies.OptionBits))
                stamped -= SynCookies.OptionBits + 1;
            options.Timestamps = (stamped, value);
            options.SackPermitted = syn.SackPermitted;
        }
        _cookieSentAt = Context.Now;
        Counters.Count(TcpCounter.SynCookiesSent);
        _layer.SendStateless(local, remote, scope, iss, tcp.SequenceNumber + 1, TcpFlags.Syn | TcpFlags.Ack, (ushort)Math.Min(ReceiveBufferLimit, 65535), options);
    }

    /// <summary>
    /// An ACK for a listener with no connection: when it acknowledges a valid cookie (RFC 4987
    /// 3.6), the connection is rebuilt in SYN-RECEIVED from it, and the ACK completes it. Null when
    /// it does not (the caller resets it, as RFC 9293 3.10.7.2 says for an ACK in LISTEN).
    /// </summary>
    internal TcpSocket? TryCookie(TcpSocket listener, in IpDatagram datagram, TcpSegment tcp, in TcpOptions options)
    {
        if (_cookieSentAt == long.MinValue || Context.Now - _cookieSentAt > 2 * SynCookies.Period)
            return null; // no cookie out there that could still be good (never sent: no subtraction that overflows)
        InetEndpoint local = InetEndpoint.Of(datagram.Destination, tcp.DestinationPort);
        InetEndpoint remote = InetEndpoint.Of(datagram.Source, tcp.SourcePort);
        uint iss = tcp.AcknowledgmentNumber - 1, peerIsn = tcp.SequenceNumber - 1;
        if (!_cookies.TryCheck(local, remote, peerIsn, iss, Context.Now, out int mss))
        {
            Counters.Count(TcpCounter.SynCookiesFailed);
            return null;
        }
        if (_connections.Count >= MaxConnections || !MayGrowWindows)
        {
            Counters.Count(TcpCounter.ConnectionsRefusedLimit);
            return null;
        }
        var syn = default(TcpOptions);
        syn.MaximumSegmentSize = (ushort)mss;
        if (options.Timestamps is var (value, echo))
        {
            (int? shift, bool sack) = SynCookies.DecodeOptions(echo & SynCookies.OptionBits);
            syn.WindowScale = (byte?)shift;
            syn.SackPermitted = sack;
            syn.Timestamps = (value, 0);
        }
        TcpSocket socket = Take(listener.IsIpv6, null);
        socket.SetEndpoints(local, remote, remote.IsIpv6 && remote.Address.IsLinkLocal ? datagram.Interface.Index : -1);
        socket.BeginPassiveOpen(listener, new TcpSequence(iss), new TcpSequence(peerIsn), tcp.Window, syn, TimestampOffset(local, remote), ShiftFor(ReceiveBufferLimit));
        socket.CookieSynSent();
        listener.Pending++;
        Insert(socket);
        Counters.Count(TcpCounter.SynCookiesAccepted);
        return socket;
    }

    /// <summary>The app let go of <paramref name="socket"/>; it returns to the pool now if the protocol is done with it.</summary>
    internal void Release(TcpSocket socket)
    {
        socket.MarkReleased();
        if (socket.State == TcpState.Listen)
        {
            UnlinkListener(socket);
            socket.AbandonListening();
        }
        if (socket.State == TcpState.Closed && !socket.InTable)
            Free(socket);
    }

    /// <summary>A connection ends: out of the table; to the pool once the current segment or timer is done, if the app let go.</summary>
    internal void Remove(TcpSocket socket, TcpState was)
    {
        if (socket.InTable)
        {
            _connections.Remove(new FlowKey(socket.Local, socket.Remote));
            socket.InTable = false;
        }
        if (was != TcpState.Listen && socket.Released)
            _dead.Add(socket);
    }

    /// <summary>
    /// Tells <paramref name="socket"/>'s app what happened to it after the work at hand: for a
    /// socket changed by another's segment, timer or app (a splice's source, when its drain went).
    /// </summary>
    internal void DispatchLater(TcpSocket socket) => _later.Add((socket, socket.Generation));

    /// <summary>Dispatches what waited (<see cref="DispatchLater"/>), then gives the sockets that ended during a segment or timer back to the pool.</summary>
    internal void Reap()
    {
        // A dispatch may add to the list (an app closing a spliced socket): it runs until empty.
        for (int i = 0; i < _later.Count; i++)
        {
            (TcpSocket socket, uint generation) = _later[i];
            if (socket.Generation == generation)
                socket.Dispatch();
        }
        _later.Clear();
        for (int i = 0; i < _dead.Count; i++)
        {
            if (_dead[i].State == TcpState.Closed && _dead[i].Released && _dead[i].Slot >= 0)
                Free(_dead[i]);
        }
        _dead.Clear();
    }

    /// <summary>Runs a connection's timer (payload: slot and generation).</summary>
    internal void OnTimer(long payload)
    {
        int slot = (int)(payload & 0xFFFF_FFFF);
        uint generation = (uint)(payload >> 32);
        if ((uint)slot >= (uint)_slotCount || _slots[slot] is not { } socket || socket.Generation != generation)
            return;
        socket.OnTimer();
        socket.Dispatch();
        Reap();
    }

    /// <summary>Runs an app timer; its payload carries the app's number and the app's own payload.</summary>
    internal void OnAppTimer(long payload)
    {
        int id = (int)(payload >> 32);
        if ((uint)id < (uint)_apps.Length)
            _apps[id].OnTimer((int)payload);
        Reap();
    }

    internal void Arm(TcpSocket socket, ref TimerHandle timer, long deadline)
    {
        TimerWheel wheel = Context.Timers;
        if (wheel.IsPending(timer))
            wheel.Cancel(timer);
        timer = wheel.ScheduleAt(deadline, (int)StackTimer.TcpConnection, (long)socket.Generation << 32 | (uint)socket.Slot);
        if (timer.IsNone)
            Counters.Count(TcpCounter.NoTimer);
    }

    internal void Cancel(ref TimerHandle timer)
    {
        if (Context.Timers.IsPending(timer))
            Context.Timers.Cancel(timer);
        timer = default;
    }

    internal bool IsPending(TimerHandle timer) => Context.Timers.IsPending(timer);

    /// <summary>RFC 5961 7: challenge ACKs, rate-limited per worker.</summary>
    internal bool TryTakeChallengeAck() => _challengeAcks.TryTake(Context.Now);

    /// <summary>The MSS our route toward <paramref name="remote"/> carries: its interface's MTU less the IP and TCP headers (RFC 9293 3.7.1).</summary>
    internal int RouteMss(in InetEndpoint remote, int scope, int ipHeader)
        => Math.Max(MinMss, _layer.Ip.RouteMtu(remote.Ip, scope) - ipHeader - TcpSegment.FixedLength);

    /// <summary>Sends a reset (or an ACK) from a connection that is not itself sending: <c>&lt;SEQ=seq&gt;&lt;ACK=ack&gt;&lt;CTL=flags&gt;</c>.</summary>
    internal void SendReset(TcpSocket socket, TcpSequence seq, TcpSequence ack, TcpFlags flags)
        => _layer.SendBare(socket.Local, socket.Remote, socket.Scope, seq.Value, ack.Value, flags);

    /// <summary>The smallest window scale shift that lets a 16-bit window offer <paramref name="buffer"/> bytes (RFC 7323 2.2), at most 14.</summary>
    internal static int ShiftFor(int buffer)
    {
        int shift = 0;
        while (shift < 14 && (buffer >> shift) > 65535)
            shift++;
        return shift;
    }

    private uint TimestampOffset(in InetEndpoint local, in InetEndpoint remote)
    {
        // RFC 7323 5.4: a per-connection random offset, so the clock does not tell the uptime or link connections.
        Span<byte> input = stackalloc byte[36];
        local.Address.CopyTo(input);
        remote.Address.CopyTo(input[16..]);
        MemoryMarshal.Write(input[32..], (uint)local.Port << 16 | remote.Port);
        return (uint)(_secret.Hash(input) >> 32);
    }

    private TcpSocket Take(bool ipv6, TcpApp? app)
    {
        TcpSocket socket;
        if (_pool.Count > 0)
        {
            socket = _pool[^1];
            _pool.RemoveAt(_pool.Count - 1);
        }
        else
        {
            socket = new TcpSocket(this);
        }
        int slot;
        if (_freeSlots.Count > 0)
        {
            slot = _freeSlots.Pop();
        }
        else
        {
            if (_slotCount == _slots.Length)
            {
                var grown = new TcpSocket?[_slots.Length * 2];
                _slots.CopyTo(grown, 0);
                Volatile.Write(ref _slots, grown);
            }
            slot = _slotCount;
            Volatile.Write(ref _slotCount, _slotCount + 1);
        }
        socket.Slot = slot;
        socket.Open(ipv6, app);
        Volatile.Write(ref _slots[slot], socket);
        // Keep room on the timer wheel for every socket and then some, grown outside the timer callbacks.
        TimerWheel wheel = Context.Timers;
        if (wheel.Count + 256 > wheel.Capacity && !wheel.IsAdvancing)
            wheel.EnsureCapacity(wheel.Capacity * 2);
        return socket;
    }

    private void Insert(TcpSocket socket)
    {
        _connections[new FlowKey(socket.Local, socket.Remote)] = socket;
        socket.InTable = true;
    }

    private void Free(TcpSocket socket)
    {
        if (socket.Slot < 0)
            return;
        socket.ReleaseQueues();
        Volatile.Write(ref _slots[socket.Slot], null);
        _freeSlots.Push(socket.Slot);
        socket.Slot = -1;
        socket.Recycle();
        _pool.Add(socket);
    }

    private void UnlinkListener(TcpSocket socket)
    {
        int key = PortKey(socket.IsIpv6, socket.Local.Port);
        if (!_listeners.TryGetValue(key, out TcpSocket? head))
            return;
        if (head == socket)
        {
            if (socket.NextListener is { } next)
                _listeners[key] = next;
            else
                _listeners.Remove(key);
        }
        else
        {
            TcpSocket previous = head;
            while (previous.NextListener is { } next && next != socket)
                previous = next;
            if (previous.NextListener == socket)
                previous.NextListener = socket.NextListener;
        }
        socket.NextListener = null;
    }

    /// <summary>True when the peer's segments to <paramref name="local"/> from <paramref name="remote"/> reach this worker.</summary>
    internal bool LandsHere(in InetEndpoint local, in InetEndpoint remote) => FlowPlacement.LandsOn(Context, local, remote);

    /// <summary>
    /// An ephemeral port for a connection from <paramref name="local"/> to <paramref name="remote"/>:
    /// the four-tuple free on this worker and hashed to it. RFC 6056 3.3.1 (a random start, then
    /// the range in order); with N workers about one port in N lands here.
    /// </summary>
    private bool TryEphemeral(in InetEndpoint local, in InetEndpoint remote, out ushort port)
    {
        _random ^= _random << 13;
        _random ^= _random >> 17;
        _random ^= _random << 5;
        int start = (int)(_random % UdpSocketTable.EphemeralCount);
        for (int i = 0; i < UdpSocketTable.EphemeralCount; i++)
        {
            port = (ushort)(UdpSocketTable.EphemeralFirst + ((start + i) & (UdpSocketTable.EphemeralCount - 1)));
            InetEndpoint candidate = local.WithPort(port);
            if (_listeners.ContainsKey(PortKey(local.IsIpv6, port)))
                continue;
            if (LandsHere(candidate, remote) && !_connections.ContainsKey(new FlowKey(candidate, remote)))
                return true;
        }
        port = 0;
        return false;
    }

    private static int PortKey(bool ipv6, ushort port) => ipv6 ? port | 0x10000 : port;

    /// <summary>The four-tuple hashed with SipHash under the table's secret key.</summary>
    private sealed class KeyedFlowComparer(SipHash key) : IEqualityComparer<FlowKey>
    {
        public bool Equals(FlowKey x, FlowKey y) => x.Equals(y);

        public int GetHashCode(FlowKey flow) => (int)flow.Hash(key);
    }
}
