using Dataplane.Engine;
using Dataplane.Stack.Ip;
using Dataplane.Wire;

namespace Dataplane.Stack.Transport;

/// <summary>
/// The UDP sockets of one worker: its share of the connection table, as DESIGN.md's per-core model
/// has it. Only the worker's thread changes or looks it up, so nothing is locked. A listening app
/// binds a socket on every worker (one socket per core, as SO_REUSEPORT gives one per thread), and
/// a connected socket lives on the worker its flow hashes to.
/// </summary>
/// <remarks>
/// Lookup follows BSD's in_pcblookup: the connected socket of the exact four-tuple first, then a
/// socket bound to the port on the destination address, then one bound to the port on the
/// unspecified address. Socket objects are pooled: after the high-water mark of open sockets is
/// reached, opening and closing allocate nothing (and neither do the dictionaries, which keep
/// their capacity).
/// </remarks>
internal sealed class UdpSocketTable
{
    /// <summary>The first ephemeral port (RFC 6335 6: 49152-65535, as OpenBSD's hifirst/hilast).</summary>
    public const ushort EphemeralFirst = 49152;

    /// <summary>Ports in the ephemeral range (a power of two, 16384).</summary>
    public const int EphemeralCount = 65536 - EphemeralFirst;

    private readonly UdpLayer _layer;
    private readonly Dictionary<FlowKey, UdpSocket> _connected = [];

    // Bound sockets by family and port (port | 0x10000 for IPv6): a chain with the sockets bound to
    // a specific address ahead of those bound to the unspecified one, so the first match wins.
    private readonly Dictionary<int, UdpSocket> _bound = [];

    // Every open socket, for netstat: written by the worker, read by the control thread. The array
    // is replaced (published by a volatile write) when it grows; slots are written with volatile writes.
    private UdpSocket?[] _open = new UdpSocket?[16];
    private int _openCount;

    private readonly List<UdpSocket> _pool = [];
    private UdpApp[] _apps = [];
    private uint _random;

    /// <summary>The sockets of <paramref name="layer"/>, the UDP of one worker.</summary>
    public UdpSocketTable(UdpLayer layer)
    {
        _layer = layer;
        // RFC 6056 3.3.1: ephemeral ports start at a random place (and then go round).
        _random = (uint)layer.Context.Random.Next() | 1;
    }

    /// <summary>The UDP layer the table belongs to, which sends the sockets' datagrams.</summary>
    public UdpLayer Layer => _layer;

    /// <summary>The context of the worker the table belongs to: its clock, timers, random source and flow placement.</summary>
    public WorkerContext Context => _layer.Context;

    /// <summary>The worker's counters, which apps count in too.</summary>
    public StackCounters Counters => _layer.Counters;

    /// <summary>The worker's number.</summary>
    public int WorkerIndex => _layer.Context.Index;

    /// <summary>The apps started on this worker.</summary>
    public IReadOnlyList<UdpApp> Apps => _apps;

    /// <summary>Sockets in the connected table.</summary>
    public int ConnectedCount => _connected.Count;

    /// <summary>Starts <paramref name="app"/> on this worker (it binds its sockets); registered even when it fails.</summary>
    public UdpError Start(UdpApp app)
    {
        app.Id = _apps.Length;
        _apps = [.. _apps, app];
        return app.Start(this);
    }

    /// <summary>A fresh socket of the family for <paramref name="app"/>, open and unbound.</summary>
    public UdpSocket Open(bool ipv6, UdpApp app)
    {
        UdpSocket socket;
        if (_pool.Count > 0)
        {
            socket = _pool[^1];
            _pool.RemoveAt(_pool.Count - 1);
        }
        else
        {
            socket = new UdpSocket(this);
        }
        socket.Open(ipv6, app);
        if (_openCount == _open.Length)
        {
            var grown = new UdpSocket?[_open.Length * 2];
            _open.CopyTo(grown, 0);
            Volatile.Write(ref _open, grown);
        }
        socket.Slot = _openCount;
        Volatile.Write(ref _open[_openCount], socket);
        Volatile.Write(ref _openCount, _openCount + 1);
        return socket;
    }

    /// <summary>
    /// Schedules <see cref="UdpApp.OnTimer"/> of <paramref name="app"/> with <paramref name="payload"/>
    /// <paramref name="delay"/> nanoseconds from now; false when the worker's timer wheel is full.
    /// </summary>
    public bool ScheduleTimer(UdpApp app, long delay, int payload)
        => !_layer.Context.Timers.Schedule(delay, (int)StackTimer.UdpApp, (long)app.Id << 32 | (uint)payload).IsNone;

    /// <summary>Runs an app timer; its payload carries the app's number and the app's own payload.</summary>
    internal void OnTimer(long payload)
    {
        if (payload == SweepPayload)
        {
            SweepSplices();
            return;
        }
        int id = (int)(payload >> 32);
        if ((uint)id < (uint)_apps.Length)
            _apps[id].OnTimer((int)payload);
    }

    /// <summary>The socket a datagram from <paramref name="from"/> to <paramref name="to"/> goes to, or null.</summary>
    public UdpSocket? Lookup(in InetEndpoint to, in InetEndpoint from)
    {
        if (_connected.Count != 0 && _connected.TryGetValue(new FlowKey(to, from), out UdpSocket? connected))
            return connected;
        if (!_bound.TryGetValue(PortKey(to.IsIpv6, to.Port), out UdpSocket? socket))
            return null;
        Ipv6Address address = to.Address;
        for (; socket is not null; socket = socket.NextBound)
        {
            InetEndpoint local = socket.Local;
            if (local.Address == address || local.IsUnspecifiedAddress)
                return socket;
        }
        return null;
    }

    /// <summary>Copies what netstat shows of every open socket into <paramref name="into"/>; safe from any thread.</summary>
    public void Snapshot(List<UdpSocketInfo> into)
    {
        UdpSocket?[] open = Volatile.Read(ref _open);
        int count = Math.Min(Volatile.Read(ref _openCount), open.Length);
        for (int i = 0; i < count; i++)
        {
            if (Volatile.Read(ref open[i]) is { } socket && socket.TryRead(WorkerIndex, out UdpSocketInfo info))
                into.Add(info);
        }
    }

    internal UdpError Bind(UdpSocket socket, in InetEndpoint local, bool reusePort)
    {
        if (socket.State != UdpSocketState.Open)
            return UdpError.InvalidState;
        if (local.IsIpv6 != socket.IsIpv6)
            return UdpError.InvalidArgument;
        if (!local.IsUnspecifiedAddress && !IsOurs(local))
            return UdpError.AddressNotAvailable;
        InetEndpoint endpoint = local;
        if (local.Port == 0)
        {
            if (!TryEphemeral(local, default, connecting: false, out ushort port))
                return UdpError.NoPortAvailable;
            endpoint = local.WithPort(port);
        }
        else if (!reusePort && IsBound(endpoint))
        {
            return UdpError.AddressInUse;
        }
        socket.SetBound(endpoint, reusePort);
        LinkBound(socket);
        return UdpError.None;
    }

    internal UdpError Connect(UdpSocket socket, in InetEndpoint remote, int scope)
    {
        if (socket.State is UdpSocketState.Closed or UdpSocketState.Connected)
            return UdpError.InvalidState;
        if (remote.IsIpv6 != socket.IsIpv6 || remote.Port == 0 || remote.IsUnspecifiedAddress || remote.IsMulticastOrBroadcast)
            return UdpError.InvalidArgument;
        InetEndpoint local = socket.Local;
        if (local.IsUnspecifiedAddress)
        {
            if (!TrySelectSource(remote, scope, out InetEndpoint source))
                return UdpError.NetworkUnreachable;
            local = source.WithPort(local.Port);
        }
        if (local.Port == 0)
        {
            if (!TryEphemeral(local, remote, connecting: true, out ushort port))
                return UdpError.NoPortAvailable;
            local = local.WithPort(port);
        }
        else
        {
            if (!LandsHere(local, remote))
                return UdpError.OtherWorker;
            if (_connected.ContainsKey(new FlowKey(local, remote)))
                return UdpError.AddressInUse;
        }
        if (socket.State == UdpSocketState.Bound)
            UnlinkBound(socket);
        socket.SetConnected(local, remote, scope);
        _connected.Add(new FlowKey(local, remote), socket);
        return UdpError.None;
    }

    internal UdpError Splice(UdpSocket source, UdpSocket? drain, long maxBytes, long idleTimeout)
    {
        if (source.State == UdpSocketState.Closed)
            return UdpError.InvalidState;
        if (drain is null)
        {
            EndSplice(source, SpliceEnd.Unspliced, notify: false);
            return UdpError.None;
        }
        UdpError refusal = SpliceRefusal(source, drain, maxBytes, idleTimeout);
        if (refusal != UdpError.None)
        {
            _layer.Counters.Count(UdpCounter.SplicesRefused);
            return refusal;
        }
        source.SpliceMoved = 0;
        source.SpliceMaximum = maxBytes;
        source.SpliceIdleTimeout = idleTimeout;
        source.SpliceLastMove = _layer.Context.Now;
        source.SpliceEnded = SpliceEnd.None;
        source.SetSpliceDrain(drain);
        drain.SetSpliceSource(source);
        _layer.Counters.Count(UdpCounter.SplicesStarted);
        if (idleTimeout > 0)
            SweepSplicesWithin(idleTimeout);
        return UdpError.None;
    }

    // As SO_SPLICE: limits not negative, the drain connected, on this worker, not the source, and
    // neither spliced already in its role.
    private UdpError SpliceRefusal(UdpSocket source, UdpSocket drain, long maxBytes, long idleTimeout)
    {
        if (maxBytes < 0 || idleTimeout < 0 || drain == source)
            return UdpError.InvalidArgument;
        if (drain.Table != this)
            return UdpError.OtherWorker;
        if (source.SpliceDrain is not null || drain.SpliceSource is not null)
            return UdpError.Busy;
        return drain.State == UdpSocketState.Connected ? UdpError.None : UdpError.InvalidState;
    }

    /// <summary>
    /// A spliced datagram of <paramref name="length"/> payload bytes is about to move from
    /// <paramref name="source"/>: false, and the splice dissolved, when it would pass the maximum
    /// (it goes to the app instead, as OpenBSD leaves it in the source's buffer).
    /// </summary>
    internal bool MayMove(UdpSocket source, int length)
    {
        if (source.SpliceMaximum == 0 || source.SpliceMoved + length <= source.SpliceMaximum)
            return true;
        EndSplice(source, SpliceEnd.MaximumReached, notify: true);
        return false;
    }

    /// <summary>A spliced datagram left (<paramref name="error"/> None) or could not: counted, and the splice dissolved on a failure or at its maximum.</summary>
    internal void Moved(UdpSocket source, int length, UdpError error)
    {
        if (error != UdpError.None)
        {
            EndSplice(source, error == UdpError.MessageTooLong ? SpliceEnd.MessageTooLong : SpliceEnd.DrainGone, notify: true);
            return;
        }
        source.SpliceMoved += length;
        source.SpliceLastMove = _layer.Context.Now;
        _layer.Counters.Add(UdpCounter.SplicedBytes, length);
        if (source.SpliceMaximum > 0 && source.SpliceMoved >= source.SpliceMaximum)
            EndSplice(source, SpliceEnd.MaximumReached, notify: true);
    }

    /// <summary>Dissolves the splice of <paramref name="source"/>, if any, for <paramref name="reason"/>; its app hears of it when <paramref name="notify"/>.</summary>
    private void EndSplice(UdpSocket source, SpliceEnd reason, bool notify)
    {
        if (source.SpliceDrain is not { } drain)
            return;
        drain.SetSpliceSource(null);
        source.SetSpliceDrain(null);
        source.SpliceEnded = reason;
        _layer.Counters.Count(reason switch
        {
            SpliceEnd.MaximumReached => UdpCounter.SpliceMaximum,
            SpliceEnd.IdleTimeout => UdpCounter.SpliceIdleTimeout,
            SpliceEnd.MessageTooLong => UdpCounter.SpliceMessageTooLong,
            SpliceEnd.DrainGone => UdpCounter.SpliceDrainGone,
            _ => UdpCounter.SpliceUnspliced,
        });
        if (notify)
            _notices.Add((source, reason));
    }

    // Splices dissolved whose apps are told after the work at hand (a datagram delivered, a close
    // finished, a sweep done): an app that closes sockets from the callback cannot pull the table
    // out from under that work.
    private readonly List<(UdpSocket Socket, SpliceEnd Reason)> _notices = [];

    /// <summary>Tells the apps of the splices that dissolved (<see cref="EndSplice"/>); a socket closed meanwhile is not told.</summary>
    internal void Notify()
    {
        if (_notifying || _notices.Count == 0)
            return; // a close from a callback: the loop below takes what it adds
        _notifying = true;
        for (int i = 0; i < _notices.Count; i++)
        {
            (UdpSocket socket, SpliceEnd reason) = _notices[i];
            if (socket.State != UdpSocketState.Closed && socket.SpliceDrain is null && socket.SpliceEnded == reason && socket.App is { } app)
                app.OnSpliceEnded(socket, reason);
        }
        _notices.Clear();
        _notifying = false;
    }

    private bool _notifying;

    // The idle timeouts of UDP splices: one sweep of the open sockets at a time, every quarter of
    // the shortest timeout (10 ms to 1 s), while a splice with a timeout exists.
    private long _sweepInterval;
    private bool _sweeping;

    private void SweepSplicesWithin(long idleTimeout)
    {
        // One sweep pending at a time: a splice with a shorter timeout than the pending sweep's is
        // timed from the sweep after it, which takes the shortest then.
        long interval = Math.Clamp(idleTimeout / 4, 10_000_000, 1_000_000_000);
        if (_sweeping)
            return;
        _sweepInterval = interval;
        _sweeping = !_layer.Context.Timers.Schedule(interval, (int)StackTimer.UdpApp, SweepPayload).IsNone;
    }

    private const long SweepPayload = -1L;

    private void SweepSplices()
    {
        _sweeping = false;
        long now = _layer.Context.Now;
        long shortest = 0;
        for (int i = _openCount - 1; i >= 0; i--)
        {
            UdpSocket socket = _open[i]!;
            if (socket.SpliceDrain is null || socket.SpliceIdleTimeout <= 0)
                continue;
            if (now - socket.SpliceLastMove >= socket.SpliceIdleTimeout)
                EndSplice(socket, SpliceEnd.IdleTimeout, notify: true);
            else
                shortest = shortest == 0 ? socket.SpliceIdleTimeout : Math.Min(shortest, socket.SpliceIdleTimeout);
        }
        if (shortest > 0)
            SweepSplicesWithin(shortest);
        Notify();
    }

    internal void Close(UdpSocket socket)
    {
        switch (socket.State)
        {
            case UdpSocketState.Closed:
                return;
            case UdpSocketState.Bound:
                UnlinkBound(socket);
                break;
            case UdpSocketState.Connected:
                _connected.Remove(new FlowKey(socket.Local, socket.Remote));
                break;
        }
        EndSplice(socket, SpliceEnd.Unspliced, notify: false);
        UdpSocket? source = socket.SpliceSource;
        if (source is not null)
            EndSplice(source, SpliceEnd.DrainGone, notify: true);
        // Out of the open list: the last socket takes the slot.
        int last = _openCount - 1;
        int slot = socket.Slot;
        UdpSocket moved = _open[last]!;
        moved.Slot = slot;
        Volatile.Write(ref _open[slot], moved);
        Volatile.Write(ref _open[last], null);
        Volatile.Write(ref _openCount, last);
        socket.Slot = -1;
        socket.SetClosed();
        _pool.Add(socket);
        Notify(); // the source of a splice into it, now the table is whole again
    }

    /// <summary>
    /// The source endpoint (port 0) for a datagram to <paramref name="remote"/>: the address of
    /// the route's interface, chosen as the ICMP paths choose it.
    /// </summary>
    internal bool TrySelectSource(in InetEndpoint remote, int scope, out InetEndpoint source)
    {
        if (!_layer.Ip.TrySelectSource(remote.Ip, scope, out InetAddress address))
        {
            source = default;
            return false;
        }
        source = InetEndpoint.Of(address, 0);
        return true;
    }

    /// <summary>True when the peer's datagrams to <paramref name="local"/> from <paramref name="remote"/> reach this worker.</summary>
    internal bool LandsHere(in InetEndpoint local, in InetEndpoint remote) => FlowPlacement.LandsOn(_layer.Context, local, remote);

    /// <summary>The hash <see cref="Worker{TProcessor}"/> computes for a datagram from <paramref name="remote"/> to <paramref name="local"/>.</summary>
    internal static uint ReplyHash(ToeplitzHash hash, in InetEndpoint local, in InetEndpoint remote) => FlowPlacement.ReplyHash(hash, local, remote);

    /// <summary>
    /// An ephemeral port for <paramref name="local"/>: not bound by any socket of the family and,
    /// when <paramref name="connecting"/> to <paramref name="remote"/>, free for that four-tuple and
    /// hashed, with it, to this worker. Starts at a random port and walks the range once (RFC 6056
    /// algorithm 1); with N workers about one port in N qualifies.
    /// </summary>
    private bool TryEphemeral(in InetEndpoint local, in InetEndpoint remote, bool connecting, out ushort port)
    {
        _random ^= _random << 13;
        _random ^= _random >> 17;
        _random ^= _random << 5;
        int start = (int)(_random % EphemeralCount);
        for (int i = 0; i < EphemeralCount; i++)
        {
            port = (ushort)(EphemeralFirst + ((start + i) & (EphemeralCount - 1)));
            if (_bound.ContainsKey(PortKey(local.IsIpv6, port)))
                continue;
            if (!connecting)
                return true;
            InetEndpoint candidate = local.WithPort(port);
            if (LandsHere(candidate, remote) && !_connected.ContainsKey(new FlowKey(candidate, remote)))
                return true;
        }
        port = 0;
        return false;
    }

    private bool IsOurs(in InetEndpoint local) => _layer.Ip.IsOurs(local.Ip);

    private bool IsBound(in InetEndpoint endpoint)
    {
        if (!_bound.TryGetValue(PortKey(endpoint.IsIpv6, endpoint.Port), out UdpSocket? socket))
            return false;
        for (; socket is not null; socket = socket.NextBound)
        {
            if (socket.Local.Address == endpoint.Address)
                return true;
        }
        return false;
    }

    private void LinkBound(UdpSocket socket)
    {
        int key = PortKey(socket.IsIpv6, socket.Local.Port);
        if (!_bound.TryGetValue(key, out UdpSocket? head))
        {
            _bound.Add(key, socket);
            return;
        }
        // Specific addresses ahead of the unspecified one; among equals, the earlier socket first.
        bool wildcard = socket.Local.IsUnspecifiedAddress;
        if (!wildcard && head.Local.IsUnspecifiedAddress)
        {
            socket.NextBound = head;
            _bound[key] = socket;
            return;
        }
        UdpSocket previous = head;
        while (previous.NextBound is { } next && (wildcard || !next.Local.IsUnspecifiedAddress))
            previous = next;
        socket.NextBound = previous.NextBound;
        previous.NextBound = socket;
    }

    private void UnlinkBound(UdpSocket socket)
    {
        int key = PortKey(socket.IsIpv6, socket.Local.Port);
        if (!_bound.TryGetValue(key, out UdpSocket? head))
            return;
        if (head == socket)
        {
            if (socket.NextBound is { } next)
                _bound[key] = next;
            else
                _bound.Remove(key);
        }
        else
        {
            UdpSocket previous = head;
            while (previous.NextBound is { } next && next != socket)
                previous = next;
            if (previous.NextBound == socket)
                previous.NextBound = socket.NextBound;
        }
        socket.NextBound = null;
    }

    private static int PortKey(bool ipv6, ushort port) => ipv6 ? port | 0x10000 : port;
}
