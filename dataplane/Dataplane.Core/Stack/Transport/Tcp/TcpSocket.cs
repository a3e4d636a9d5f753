using Dataplane.Engine;
using Dataplane.Stack.Ip;

namespace Dataplane.Stack.Transport.Tcp;

/// <summary>
/// A TCP socket of one worker: BSD's socket and tcpcb in one object, a listener or one end of a
/// connection. Made by <see cref="TcpSocketTable.Open"/>, used by its app on the worker's thread
/// only, and given back with <see cref="Close"/> or <see cref="Abort"/>: the object returns to the
/// table's pool when both the app has let go of it and the protocol is done with it (after
/// TIME-WAIT, say), and is reused, so an app drops its reference when it closes.
/// </summary>
/// <remarks>
/// The protocol lives in the partial files beside this one: segment arrival
/// (TcpSocket.Input.cs, RFC 9293 3.10.7), sending (TcpSocket.Output.cs: segmentation, Nagle,
/// silly-window avoidance, retransmission, NewReno), and the timers (TcpSocket.Timers.cs).
/// </remarks>
internal sealed partial class TcpSocket
{
    private int _reserved; // bytes the last Reserve gave, that Commit may queue

    // A sequence lock over what netstat reads from the control thread: odd while the worker
    // changes endpoints or state, so a reader retries rather than sees a torn endpoint.
    private int _sequence;

    internal TcpSocket(TcpSocketTable table) => Table = table;

    /// <summary>The table, and through it the worker, this socket belongs to.</summary>
    public TcpSocketTable Table { get; }

    /// <summary>True for an IPv6 socket (tcp6), false for IPv4.</summary>
    public bool IsIpv6 { get; private set; }

    /// <summary>Where the connection stands.</summary>
    public TcpState State { get; private set; }

    /// <summary>The local endpoint: unspecified until bound; the address chosen once connected.</summary>
    public InetEndpoint Local { get; private set; }

    /// <summary>The peer; unspecified for a listener.</summary>
    public InetEndpoint Remote { get; private set; }

    /// <summary>The app that gets this socket's events; null for a connection not accepted yet.</summary>
    public TcpApp? App { get; private set; }

    /// <summary>What the app keeps with the socket (a session); cleared when the socket is reused.</summary>
    public object? UserState { get; set; }

    /// <summary>Why the connection ended; <see cref="TcpError.None"/> while it lives or when it closed gracefully.</summary>
    public TcpError Error { get; private set; }

    /// <summary>Send segments without waiting to fill them (TCP_NODELAY: no Nagle, RFC 9293 3.7.4).</summary>
    public bool NoDelay { get; set; }

    /// <summary>Bytes the app can read now.</summary>
    public int ReadableBytes => _receive.Bytes;

    /// <summary>True once the peer's FIN arrived and everything before it was read: the end of the stream.</summary>
    public bool IsReceiveFinished => _finReceived && _receive.Bytes == 0;

    /// <summary>Bytes <see cref="Send"/> would take now.</summary>
    public int SendSpace => CanSend ? Math.Max(0, SendBufferSize - _send.Bytes) : 0;

    /// <summary>Bytes queued to send and not acknowledged yet.</summary>
    public int SendQueued => _send.Bytes;

    /// <summary>Bytes the app sent and the peer acknowledged, over the connection's life.</summary>
    public long BytesAcked { get; private set; }

    /// <summary>Bytes received in order, over the connection's life.</summary>
    public long BytesReceived { get; private set; }

    /// <summary>Segments sent again (timeouts and fast retransmits).</summary>
    public long Retransmits { get; private set; }

    /// <summary>The smoothed round-trip time, in nanoseconds; 0 before the first measurement.</summary>
    public long SmoothedRtt => _srtt;

    /// <summary>The congestion window, in bytes.</summary>
    public int CongestionWindow => _cc.Window;

    /// <summary>The segment size this end sends.</summary>
    public int SendMss => _sendMss;

    /// <summary>Connections a listener has accepted from the wire and not yet handed to its app (its SYN queue).</summary>
    public int Pending { get; internal set; }

    /// <summary>The most <see cref="Pending"/> a listener holds; further SYNs are refused and counted.</summary>
    public int Backlog { get; private set; }

    /// <summary>The interface a link-local peer lies behind; -1 when none was given.</summary>
    internal int Scope { get; private set; } = -1;

    /// <summary>Where the socket sits in its table's slots (timers carry it).</summary>
    internal int Slot { get; set; } = -1;

    /// <summary>Counts the socket's reuses, so a timer or callback meant for an earlier life is ignored.</summary>
    internal uint Generation { get; private set; }

    /// <summary>The next listener on the same port and family, in the table's chain.</summary>
    internal TcpSocket? NextListener { get; set; }

    /// <summary>The listener a passive connection came through, until the app accepts it.</summary>
    internal TcpSocket? Parent { get; private set; }

    /// <summary>True once the app let go (close or abort), or never held it (a connection not accepted yet).</summary>
    internal bool Released { get; private set; } = true;

    /// <summary>True while in the connection table.</summary>
    internal bool InTable { get; set; }

    /// <summary>
    /// Listens on <paramref name="local"/> (an address of ours or the unspecified one, and a port):
    /// every SYN to it that lands on this worker opens a connection, handed to the app by
    /// <see cref="TcpApp.OnAccept"/> when its handshake completes. <paramref name="backlog"/> bounds
    /// the connections in their handshake.
    /// </summary>
    public TcpError Listen(in InetEndpoint local, int backlog = 1024) => Table.Listen(this, local, backlog);

    /// <summary>
    /// Opens a connection to <paramref name="remote"/> (RFC 9293 3.10.1, active OPEN): picks the
    /// source address toward it and a local port whose four-tuple hashes to this worker, so every
    /// segment of the connection arrives here; sends the SYN. <see cref="TcpApp.OnConnected"/> or
    /// <see cref="TcpApp.OnClosed"/> follows.
    /// </summary>
    public TcpError Connect(in InetEndpoint remote) => Table.Connect(this, remote, -1);

    /// <summary>As <see cref="Connect(in InetEndpoint)"/>, for a link-local peer behind interface <paramref name="scope"/>.</summary>
    public TcpError Connect(in InetEndpoint remote, int scope) => Table.Connect(this, remote, scope);

    /// <summary>
    /// Queues as much of <paramref name="data"/> as the send buffer takes and sends what the windows
    /// allow; returns the bytes taken. When fewer than given, or when the buffer is full after it,
    /// <see cref="TcpApp.OnSendSpace"/> says when to try again. -1 when the connection cannot send (not open, or shut down).
    /// </summary>
    public int Send(ReadOnlySpan<byte> data)
    {
        if (!CanSend || _spliceSource is not null)
            return -1;
        _reserved = 0; // a span reserved before is no longer the end of the queue
        int taken = _send.Append(data, SendSpace, Table.Cache);
        _wantSendSpace |= taken < data.Length || SendSpace == 0; // full: the app will want to hear when room opens
        if (taken > 0 && State is not (TcpState.SynSent or TcpState.SynReceived))
            Output();
        return taken;
    }

    /// <summary>
    /// Room at the end of the send buffer for the app to write into in place, without a copy: at
    /// most <see cref="SendSpace"/> bytes and one packet buffer's worth (ask again for more). Write,
    /// then <see cref="Commit"/> what was written. Empty when nothing more can be queued now; then
    /// <see cref="TcpApp.OnSendSpace"/> says when to try again.
    /// </summary>
    public Span<byte> Reserve()
    {
        if (_spliceSource is not null)
            return default; // the splice fills the send queue
        Span<byte> space = _send.Reserve(SendSpace, Table.Cache);
        _reserved = space.Length;
        _wantSendSpace |= space.IsEmpty && CanSend;
        return space;
    }

    /// <summary>
    /// Queues the first <paramref name="bytes"/> of the span <see cref="Reserve"/> gave and sends
    /// what the windows allow; returns <paramref name="bytes"/>, or -1 when the connection cannot
    /// send. Committing more than was reserved is a programming error.
    /// </summary>
    public int Commit(int bytes)
    {
        if (!CanSend || _spliceSource is not null)
            return -1;
        ArgumentOutOfRangeException.ThrowIfGreaterThan(bytes, _reserved);
        _reserved = 0;
        if (bytes <= 0)
            return 0;
        _send.Commit(bytes);
        _wantSendSpace |= SendSpace == 0;
        if (State is not (TcpState.SynSent or TcpState.SynReceived))
            Output();
        return bytes;
    }

    /// <summary>Copies up to <paramref name="into"/>.Length received bytes and consumes them; 0 when none are queued (see <see cref="IsReceiveFinished"/>).</summary>
    public int Receive(Span<byte> into)
    {
        if (_spliceDrain is not null)
            return 0; // spliced: the bytes are the drain's
        int read = _receive.Read(into, Table.Cache);
        if (read > 0)
            AfterRead();
        return read;
    }

    /// <summary>The first received bytes where they lie in their packet buffer, to read without a copy; <see cref="Consume"/> then drops them.</summary>
    public ReadOnlySpan<byte> Peek() => _spliceDrain is null ? _receive.Peek(Table.Cache.Pool) : default;

    /// <summary>Drops up to <paramref name="bytes"/> received bytes unread (read in place with <see cref="Peek"/>, or not wanted); returns how many.</summary>
    public int Consume(int bytes)
    {
        if (_spliceDrain is not null)
            return 0;
        int dropped = _receive.Discard(bytes, Table.Cache);
        if (dropped > 0)
            AfterRead();
        return dropped;
    }

    /// <summary>
    /// Closes the sending half (RFC 9293 3.10.4, CLOSE as a half-close): a FIN follows the queued
    /// bytes; the peer may go on sending. Shutting down twice does nothing.
    /// </summary>
    public TcpError Shutdown()
    {
        switch (State)
        {
            case TcpState.SynSent:
            case TcpState.Closed:
            case TcpState.Listen:
                return TcpError.InvalidState;
            case TcpState.SynReceived:
            case TcpState.Established:
            case TcpState.CloseWait:
                if (_finQueued)
                    return TcpError.None;
                _finQueued = true;
                if (State == TcpState.CloseWait)
                    SetState(TcpState.LastAck);
                else if (State == TcpState.Established)
                    SetState(TcpState.FinWait1);
                // In SYN-RECEIVED the FIN waits for ESTABLISHED (RFC 9293 3.10.4).
                if (State != TcpState.SynReceived)
                    Output();
                return TcpError.None;
            default:
                return TcpError.None; // shut down already
        }
    }

    /// <summary>
    /// Lets go of the socket: a listener stops listening; a connection shuts down (the peer gets a
    /// FIN after the queued bytes and the stack finishes the close alone), or is reset when received
    /// bytes were left unread (RFC 1122 4.2.2.13, RFC 2525 2.17), so the peer knows they were lost.
    /// The app gets no more events and drops its reference.
    /// </summary>
    public void Close()
    {
        if (Released)
            return;
        DissolveSplices(appLetGo: true);
        if (State == TcpState.Listen || State == TcpState.Closed)
        {
            Table.Release(this);
            return;
        }
        if (_receive.Bytes > 0 || State == TcpState.SynSent)
        {
            Abort();
            return;
        }
        Shutdown();
        Table.Release(this);
    }

    /// <summary>Resets the connection (RFC 9293 3.10.5, ABORT) and lets go of the socket.</summary>
    public void Abort()
    {
        if (Released)
            return;
        DissolveSplices(appLetGo: true);
        if (State is TcpState.SynReceived or TcpState.Established or TcpState.FinWait1 or TcpState.FinWait2 or TcpState.CloseWait)
            SendReset(_sndNxt);
        if (State is not (TcpState.Closed or TcpState.Listen))
            EnterClosed(TcpError.Aborted, notify: false);
        Table.Release(this);
    }

    private bool CanSend => State is TcpState.Established or TcpState.CloseWait or TcpState.SynSent or TcpState.SynReceived && !_finQueued;

    /// <summary>Takes the socket from the pool for <paramref name="app"/>, of a family.</summary>
    internal void Open(bool ipv6, TcpApp? app)
    {
        BeginWrite();
        IsIpv6 = ipv6;
        State = TcpState.Closed;
        Local = InetEndpoint.Any(ipv6);
        Remote = InetEndpoint.Any(ipv6);
        EndWrite();
        App = app;
        Released = app is null;
        Error = TcpError.None;
        UserState = null;
        NoDelay = false;
        _reserved = 0;
        Scope = -1;
        Parent = null;
        Pending = 0;
        ForgetShare(); // a socket reused within a turn starts with a whole share (it may still be on the turn queue: harmless, TakeTurn checks the state)
        ForgetSplice();
        NextListener = null;
        ResetProtocol();
    }

    /// <summary>Back to the pool: a new life, whose timers and callbacks the old ones cannot reach.</summary>
    internal void Recycle()
    {
        Generation++;
        App = null;
        UserState = null;
        Parent = null;
        Released = true;
        BeginWrite();
        State = TcpState.Closed;
        EndWrite();
    }

    /// <summary>The app let go.</summary>
    internal void MarkReleased() => Released = true;

    /// <summary>Makes the socket a listener.</summary>
    internal void SetListening(in InetEndpoint local, int backlog)
    {
        BeginWrite();
        Local = local;
        State = TcpState.Listen;
        EndWrite();
        Backlog = backlog;
    }

    /// <summary>Gives the endpoints of a connection.</summary>
    internal void SetEndpoints(in InetEndpoint local, in InetEndpoint remote, int scope)
    {
        BeginWrite();
        Local = local;
        Remote = remote;
        EndWrite();
        Scope = scope;
    }

    /// <summary>A passive connection is handed to the app of its listener.</summary>
    internal void Adopt(TcpApp app)
    {
        App = app;
        Released = false;
        Parent = null;
    }

    private void SetState(TcpState state)
    {
        BeginWrite();
        State = state;
        EndWrite();
    }

    private void BeginWrite() => Volatile.Write(ref _sequence, _sequence + 1);

    private void EndWrite() => Volatile.Write(ref _sequence, _sequence + 1);

    /// <summary>Reads what netstat shows without tearing; false when the socket changed under the read too often or is closed.</summary>
    internal bool TryRead(int worker, out TcpSocketInfo info)
    {
        for (int attempt = 0; attempt < 8; attempt++)
        {
            int before = Volatile.Read(ref _sequence);
            if ((before & 1) != 0)
            {
                Thread.SpinWait(16);
                continue;
            }
            info = new TcpSocketInfo(IsIpv6, State, Local, Remote, _receive.Bytes, _send.Bytes, worker)
            {
                Splice = _spliceDrain is null ? null : new TcpSpliceInfo(_spliceDrainLocal, _spliceDrainRemote, SpliceMoved, _spliceMax, _spliceIdle),
            };
            if (Volatile.Read(ref _sequence) == before)
                return info.State != TcpState.Closed;
        }
        info = default;
        return false;
    }
}

/// <summary>What netstat shows of a TCP socket.</summary>
/// <param name="IsIpv6">tcp6 rather than tcp4.</param>
/// <param name="State">The connection's state.</param>
/// <param name="Local">The local endpoint.</param>
/// <param name="Remote">The peer (unspecified for a listener).</param>
/// <param name="ReceiveQueue">Bytes received and not read (Recv-Q).</param>
/// <param name="SendQueue">Bytes queued and not acknowledged (Send-Q).</param>
/// <param name="Worker">The worker that owns it.</param>
internal readonly record struct TcpSocketInfo(bool IsIpv6, TcpState State, InetEndpoint Local, InetEndpoint Remote, int ReceiveQueue, int SendQueue, int Worker)
{
    /// <summary>The splice this socket is the source of; null when none.</summary>
    public TcpSpliceInfo? Splice { get; init; }
}

/// <summary>What netstat shows of a splice, on its source's line.</summary>
/// <param name="DrainLocal">The drain's local endpoint.</param>
/// <param name="DrainRemote">The drain's peer.</param>
/// <param name="Moved">Bytes moved so far.</param>
/// <param name="Maximum">The most it moves; 0 for no maximum.</param>
/// <param name="IdleTimeout">Its idle timeout in nanoseconds; 0 for none.</param>
internal readonly record struct TcpSpliceInfo(InetEndpoint DrainLocal, InetEndpoint DrainRemote, long Moved, long Maximum, long IdleTimeout);
