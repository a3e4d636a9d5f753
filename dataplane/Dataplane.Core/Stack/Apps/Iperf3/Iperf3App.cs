using Dataplane.Engine;
using Dataplane.Stack.Transport;
using Dataplane.Stack.Transport.Tcp;

namespace Dataplane.Stack.Apps.Iperf3;

/// <summary>
/// What the workers of one <c>app iperf3 listen EP</c> share: the test that runs (iperf3 serves
/// one at a time). Claimed by the worker a control connection lands on, with a compare-and-swap,
/// and given back when its session is over.
/// </summary>
internal sealed class Iperf3Server(InetEndpoint listen)
{
    private Iperf3Test? _current;

    /// <summary>The endpoint the app listens on, TCP and UDP.</summary>
    public InetEndpoint Listen { get; } = listen;

    /// <summary>The test that runs, or null (acquire).</summary>
    public Iperf3Test? Current => Volatile.Read(ref _current);

    /// <summary>Makes <paramref name="test"/> the one that runs; false when another runs.</summary>
    public bool TryBegin(Iperf3Test test) => Interlocked.CompareExchange(ref _current, test, null) is null;

    /// <summary>The session of <paramref name="test"/> is over: the next client may come.</summary>
    public void End(Iperf3Test test) => Interlocked.CompareExchange(ref _current, null, test);
}

/// <summary>
/// <c>app iperf3 listen EP</c>: an iperf3 server (3.12's protocol) inside the workers, so that the
/// stock <c>iperf3 -c</c> is its client: TCP tests (-P, -R, --bidir, -l, -t, -n, -k, -O, -b) and
/// UDP tests (-u -b) on the same port. -w is taken and ignored (the buffers are <c>set tcp
/// buffer</c>'s); -M, -N, -C, -S and -A likewise. One instance per worker; every callback runs on
/// its worker's thread.
/// </summary>
/// <remarks>
/// <para>
/// Cross-worker tests. A connection lives on the worker its four-tuple hashes to, so a client's
/// control connection and each of its data connections (and each UDP stream's datagrams) may land
/// on different workers. The test is therefore not a worker's but the dataplane's: one
/// <see cref="Iperf3Server"/> per app line holds the <see cref="Iperf3Test"/> that runs. The
/// worker that accepts the control connection claims it (a CAS; a second client is refused with
/// ACCESS_DENIED, as iperf3 does) and alone drives the <see cref="Iperf3ServerSession"/>. When the
/// parameters are agreed it publishes the cookie, the parameters and one slot per stream, then the
/// phase (release). A worker that accepts a data connection reads its 37-byte cookie, compares it
/// with the published one and claims the next slot (an atomic increment: the claim order is the
/// order iperf3's single-threaded accept would have seen, receivers first); it makes its own
/// <see cref="Iperf3Stream"/> (the "counted" twin, written by that worker alone) and publishes it
/// in the slot. A UDP stream is claimed the same way by its first datagram.
/// </para>
/// <para>
/// The control worker polls the slots on a 1 ms tick and registers each published one with its
/// session, in slot order; the last starts the test (TEST_START, TEST_RUNNING), and the control
/// worker publishes the start time and the phase. Data workers see the phase on their next
/// callback or tick and count into their twins from the published start; at TEST_END the control
/// worker publishes the end time and the phase, and each data worker stops its twin at that
/// time, records its socket's retransmissions, closes the connection and publishes the slot as
/// done (release). The client's results come a round trip later; the control worker reads them
/// off its socket only once every slot is done (acquire), copies each twin's counters into the
/// session's stream, and lets the session answer. So no field is written by two threads, the
/// data path takes no lock and shares no cache line per packet, and the only atomic
/// read-modify-writes are one CAS per test and one increment per stream. Phase changes wake
/// sleeping workers through their mailboxes, so a data worker idle in epoll starts (or stops) at
/// once rather than after its sleep.
/// </para>
/// <para>
/// Sending (-R, --bidir): a TCP sender fills its send buffer with blocks whenever there is room
/// (<see cref="OnSendSpace"/>, and the tick for the first fill and for -b); a UDP sender sends
/// datagrams on the tick while the stream's rate allows (iperf3's pacing timer is 1 ms too).
/// </para>
/// </remarks>
internal sealed class Iperf3App : TcpApp
{
    /// <summary>The tick: the control worker polls slots and the session's timers; data workers see phase changes and pace UDP.</summary>
    private const long TickNanoseconds = 1_000_000;

    /// <summary>Datagrams a UDP sender sends in one tick at most, so that one stream cannot hold the worker.</summary>
    private const int UdpBurst = 256;

    private readonly Iperf3Server _server;
    private readonly UdpSocketTable _udpTable;
    private readonly Iperf3UdpPort _udpPort;
    private readonly List<DataStream> _streams = [];
    private readonly Dictionary<InetEndpoint, DataStream> _udpPeers = [];
    private TcpSocket? _listener;
    private ControlConnection? _control;
    private byte[] _block = [];
    private Iperf3Parameters? _blockFor;
    private bool _tickArmed;
    private long _unixOffsetMicroseconds;

    /// <summary>The app of one worker, sharing <paramref name="server"/> with the others; its UDP port is bound in <paramref name="udp"/>.</summary>
    public Iperf3App(Iperf3Server server, UdpSocketTable udp)
    {
        _server = server;
        _udpTable = udp;
        _udpPort = new Iperf3UdpPort(this);
    }

    /// <inheritdoc/>
    public override string Name => "iperf3";

    /// <summary>The listening socket of this worker (null before the start).</summary>
    public TcpSocket? Listener => _listener;

    /// <summary>Data streams this worker carries now.</summary>
    public int StreamCount => _streams.Count;

    private TimeSpan Now => TimeSpan.FromTicks(Tcp.Context.Now / 100);

    private long UnixMicroseconds => _unixOffsetMicroseconds + Tcp.Context.Now / 1000;

    /// <inheritdoc/>
    protected override TcpError OnStart()
    {
        _unixOffsetMicroseconds = (DateTime.UtcNow.Ticks - DateTime.UnixEpoch.Ticks) / 10 - Tcp.Context.Now / 1000;
        _listener = Tcp.Open(_server.Listen.IsIpv6, this);
        TcpError error = _listener.Listen(_server.Listen);
        if (error != TcpError.None)
        {
            _listener.Close();
            return error;
        }
        UdpError udp = _udpTable.Start(_udpPort);
        return udp switch
        {
            UdpError.None => TcpError.None,
            UdpError.AddressInUse => TcpError.AddressInUse,
            UdpError.AddressNotAvailable => TcpError.AddressNotAvailable,
            _ => TcpError.InvalidArgument,
        };
    }

    /// <inheritdoc/>
    protected internal override void OnAccept(TcpSocket listener, TcpSocket connection)
    {
        // iperf_accept: with no test, a connection is the control connection; while streams are
        // being created, a data connection; otherwise refused without reading.
        Iperf3Test? test = _server.Current;
        if (test is null)
        {
            var fresh = new Iperf3Test(Tcp.WorkerIndex);
            if (_server.TryBegin(fresh))
            {
                var session = new Iperf3ServerSession { SenderHasRetransmits = true };
                session.AcceptControl();
                connection.NoDelay = true;
                _control = new ControlConnection(connection, session, fresh);
                connection.UserState = _control;
                ArmTick();
                OnReceive(connection); // the cookie may have come with the handshake's last ACK
                return;
            }
            test = _server.Current;
        }
        if (test is not null && test.Phase == Iperf3TestPhase.CreatingStreams && test.Parameters!.Protocol == Iperf3Protocol.Tcp)
        {
            connection.UserState = new CookieReader(test);
            OnReceive(connection);
            return;
        }
        Refuse(connection);
    }

    /// <inheritdoc/>
    protected internal override void OnReceive(TcpSocket connection)
    {
        switch (connection.UserState)
        {
            case ControlConnection control:
                ControlInput(control);
                break;
            case CookieReader reader:
                ReadCookie(connection, reader);
                break;
            case DataStream stream:
                DataInput(stream);
                break;
        }
    }

    /// <inheritdoc/>
    protected internal override void OnSendSpace(TcpSocket connection)
    {
        switch (connection.UserState)
        {
            case ControlConnection control:
                Flush(control);
                break;
            case DataStream stream:
                Sync(stream);
                if (!stream.Stopped)
                    FillTcp(stream);
                break;
        }
    }

    /// <inheritdoc/>
    protected internal override void OnClosed(TcpSocket connection, TcpError reason)
    {
        switch (connection.UserState)
        {
            case ControlConnection control:
                control.Session.OnControlClosed(Now);
                AfterSession(control);
                break;
            case DataStream stream:
                StopStream(stream, Now); // the client went away before the end: what it sent counts
                break;
            default:
                connection.UserState = null;
                connection.Close();
                break;
        }
    }

    /// <inheritdoc/>
    protected internal override void OnTimer(int payload)
    {
        _tickArmed = false;
        TimeSpan now = Now;
        if (_control is { } control)
        {
            control.Session.Poll(now);
            RegisterStreams(control);
            ControlInput(control); // results held back until every stream published its counters
        }
        for (int i = _streams.Count - 1; i >= 0; i--)
        {
            DataStream stream = _streams[i];
            Sync(stream);
            if (stream.Stopped)
                continue;
            if (stream.Udp is not null)
                SendUdp(stream, now);
            else
                FillTcp(stream);
        }
        if (_control is not null || _streams.Count > 0)
            ArmTick();
    }

    private void ArmTick()
    {
        if (!_tickArmed)
            _tickArmed = Tcp.ScheduleTimer(this, TickNanoseconds, 0);
    }

    private static void Refuse(TcpSocket connection)
    {
        connection.UserState = null;
        connection.Send([Iperf3Payload.AccessDeniedByte]);
        connection.Close();
    }

    /// <summary>Wakes every worker that sleeps, so that it sees a phase change now rather than after its idle sleep.</summary>
    private void WakeWorkers()
    {
        foreach (WorkerMailbox mailbox in Tcp.Context.Mailboxes)
            mailbox.Wake();
    }

    // ---- The control connection (on the worker that claimed the test) ----

    private void ControlInput(ControlConnection control)
    {
        Iperf3ServerSession session = control.Session;
        TcpSocket socket = control.Socket;
        while (socket.ReadableBytes > 0 && !session.IsFinished)
        {
            if (session.Phase == Iperf3ServerPhase.AwaitingResults && !TakeCountedResults(control))
                break; // the tick comes back
            ReadOnlySpan<byte> data = socket.Peek();
            session.OnControlData(data, Now);
            socket.Consume(data.Length);
            Events(control);
        }
        if (!session.IsFinished && socket.IsReceiveFinished)
            session.OnControlClosed(Now);
        Events(control);
    }

    /// <summary>
    /// Whether every stream has published its final counters; if so, copies them into the
    /// session's streams (once), so that the session's results are the data workers' counts.
    /// </summary>
    private static bool TakeCountedResults(ControlConnection control)
    {
        if (control.CountersTaken)
            return true;
        Iperf3StreamSlot[] slots = control.Test.Slots;
        for (int i = 0; i < control.Registered; i++)
        {
            if (!slots[i].IsDone)
                return false;
        }
        IReadOnlyList<Iperf3Stream> streams = control.Session.Streams;
        for (int i = 0; i < control.Registered; i++)
            streams[i].CopyCountersFrom(slots[i].Counted!);
        control.CountersTaken = true;
        return true;
    }

    /// <summary>Registers with the session, in slot order, every stream a worker has published.</summary>
    private void RegisterStreams(ControlConnection control)
    {
        Iperf3Test test = control.Test;
        Iperf3ServerSession session = control.Session;
        if (test.Phase != Iperf3TestPhase.CreatingStreams || session.Phase != Iperf3ServerPhase.CreatingStreams)
            return;
        Iperf3StreamSlot[] slots = test.Slots;
        while (control.Registered < slots.Length && slots[control.Registered].Counted is not null)
        {
            Iperf3Stream? stream = test.Parameters!.Protocol == Iperf3Protocol.Tcp
                ? session.AcceptTcpStream(test.Cookie, Now)
                : session.AcceptUdpStream(Now);
            if (stream is null)
                break;
            control.Registered++;
            Events(control);
        }
    }

    private void Events(ControlConnection control)
    {
        Iperf3ServerSession session = control.Session;
        Iperf3Test test = control.Test;
        while (session.TryDequeueEvent(out Iperf3Event e))
        {
            switch (e.Kind)
            {
                case Iperf3EventKind.StreamsRequested:
                    test.PublishStreams(session.Cookie.ToArray(), session.Parameters!, session.ReceiveStreams, session.SendStreams);
                    break;
                case Iperf3EventKind.TestStarted:
                    Iperf3Parameters p = session.Parameters!;
                    test.PublishRunning(Now, p.Omit > 0 ? Now + TimeSpan.FromSeconds(p.Omit) : null);
                    WakeWorkers();
                    break;
                case Iperf3EventKind.TestEnded:
                    test.PublishEnded(Now);
                    WakeWorkers();
                    break;
                case Iperf3EventKind.Finished:
                    Flush(control);
                    AfterSession(control);
                    return;
            }
        }
        Flush(control);
    }

    private static void Flush(ControlConnection control)
    {
        ReadOnlySpan<byte> output = control.Session.PendingOutput;
        if (output.IsEmpty || control.Closed)
            return;
        int sent = control.Socket.Send(output);
        if (sent > 0)
            control.Session.AdvanceOutput(sent);
    }

    /// <summary>The session is over: its last words go out, then its connection closes and the next client may come.</summary>
    private void AfterSession(ControlConnection control)
    {
        if (control.Closed)
            return;
        control.Closed = true;
        control.Test.PublishEnded(Now);
        control.Test.PublishFinished();
        WakeWorkers();
        TcpSocket socket = control.Socket;
        socket.UserState = null;
        socket.Consume(socket.ReadableBytes); // nothing unread: a close, not a reset
        socket.Close();
        _server.End(control.Test);
        if (_control == control)
            _control = null;
    }

    // ---- Data connections and datagram peers (on whichever worker they landed) ----

    private void ReadCookie(TcpSocket connection, CookieReader reader)
    {
        int n = connection.Receive(reader.Cookie.AsSpan(reader.Count));
        reader.Count += n;
        if (reader.Count < Iperf3Cookie.Length)
        {
            if (connection.IsReceiveFinished)
            {
                connection.UserState = null;
                connection.Close();
            }
            return;
        }
        // iperf_tcp_accept: a wrong cookie, or one too many streams, is answered ACCESS_DENIED.
        Iperf3Test test = reader.Test;
        int index = Iperf3Cookie.Matches(test.Cookie, reader.Cookie) ? test.TryClaim() : -1;
        if (index < 0)
        {
            Refuse(connection);
            return;
        }
        DataStream stream = Claim(test, index, connection, null, default);
        connection.UserState = stream;
        DataInput(stream);
    }

    private DataStream Claim(Iperf3Test test, int index, TcpSocket? tcp, UdpSocket? udp, InetEndpoint peer)
    {
        // iperf_add_stream numbers the first stream 1 and the n-th n+1; receivers come first.
        var counted = new Iperf3Stream(index == 0 ? 1 : index + 2, index >= test.ReceiveStreams, test.Parameters!);
        var stream = new DataStream(test, index, counted, tcp, udp, peer);
        test.Slots[index].Publish(counted);
        _streams.Add(stream);
        if (udp is not null)
            _udpPeers[peer] = stream;
        if (counted.IsSender && !ReferenceEquals(_blockFor, test.Parameters))
        {
            _blockFor = test.Parameters;
            _block = new byte[test.Parameters!.EffectiveLength];
            Iperf3Payload.Fill(_block, test.Parameters.RepeatingPayload);
        }
        if (Tcp.Context.Mailboxes.Length > test.ControlWorker)
            Tcp.Context.Mailboxes[test.ControlWorker].Wake(); // it registers the stream on its tick
        ArmTick();
        return stream;
    }

    /// <summary>Brings a stream in step with the test's phase: starts counting, ends -O, or stops.</summary>
    private void Sync(DataStream stream)
    {
        if (stream.Stopped)
            return;
        Iperf3Test test = stream.Test;
        Iperf3TestPhase phase = test.Phase;
        if (phase >= Iperf3TestPhase.Running && !stream.Started)
        {
            stream.Started = true;
            stream.Counted.Start(test.StartTime);
        }
        if (phase >= Iperf3TestPhase.Ended)
        {
            StopStream(stream, test.EndTime);
            return;
        }
        if (stream.Started && !stream.OmitEnded && test.OmitEnd is TimeSpan omit && Now >= omit)
        {
            stream.OmitEnded = true;
            stream.Counted.EndOmit(omit);
        }
    }

    private void DataInput(DataStream stream)
    {
        Sync(stream);
        TcpSocket? socket = stream.Tcp;
        if (socket is null)
            return;
        Iperf3Stream counted = stream.Counted;
        int block = counted.BlockLength;
        int readable;
        while ((readable = socket.ReadableBytes) > 0)
        {
            // iperf3 counts a block per read of up to len bytes.
            int take = Math.Min(readable, block);
            socket.Consume(take);
            if (!counted.IsSender)
                counted.CountReceived(take);
        }
        if (!stream.Stopped && stream.Started)
            FillTcp(stream);
    }

    private void FillTcp(DataStream stream)
    {
        Iperf3Stream counted = stream.Counted;
        TcpSocket? socket = stream.Tcp;
        if (socket is null || !counted.IsSender || stream.Stopped)
            return;
        TimeSpan now = Now;
        int length = _block.Length;
        while (counted.MaySend(now))
        {
            int offset = stream.PendingBlock == 0 ? 0 : length - stream.PendingBlock;
            int sent = socket.Send(_block.AsSpan(offset));
            if (sent <= 0)
                return; // full: OnSendSpace brings us back
            stream.PendingBlock = (stream.PendingBlock == 0 ? length : stream.PendingBlock) - sent;
            counted.CountSent(sent, blockDone: stream.PendingBlock == 0);
            if (stream.PendingBlock != 0)
                return;
        }
    }

    private void SendUdp(DataStream stream, TimeSpan now)
    {
        Iperf3Stream counted = stream.Counted;
        if (!counted.IsSender || stream.Udp is not { } socket)
            return;
        for (int i = 0; i < UdpBurst && counted.MaySend(now); i++)
        {
            counted.StampUdpBlock(_block, UnixMicroseconds);
            if (socket.SendTo(stream.Peer, _block) != UdpError.None)
                return; // no buffer: the next tick tries again
            counted.CountSent(_block.Length);
        }
    }

    /// <summary>Stops counting at <paramref name="end"/>, publishes the counters, closes the connection.</summary>
    private void StopStream(DataStream stream, TimeSpan end)
    {
        if (stream.Stopped)
            return;
        stream.Stopped = true;
        Iperf3Stream counted = stream.Counted;
        counted.Stop(end);
        if (stream.Tcp is { } socket)
        {
            if (counted.IsSender)
                counted.Retransmits = (int)Math.Min(socket.Retransmits, int.MaxValue);
            socket.UserState = null;
            socket.Consume(socket.ReadableBytes);
            socket.Close(); // iperf3's server closes the data streams at TEST_END
        }
        else
        {
            _udpPeers.Remove(stream.Peer);
        }
        stream.Test.Slots[stream.Index].PublishDone();
        _streams.Remove(stream);
        if (Tcp.Context.Mailboxes.Length > stream.Test.ControlWorker)
            Tcp.Context.Mailboxes[stream.Test.ControlWorker].Wake();
    }

    /// <summary>A datagram to the app's UDP port: a stream's, or the first of a new stream's during CREATE_STREAMS.</summary>
    internal void OnDatagram(UdpSocket socket, ref UdpReceived datagram)
    {
        if (_udpPeers.TryGetValue(datagram.From, out DataStream? stream))
        {
            Sync(stream);
            if (!stream.Counted.IsSender && !stream.Stopped)
                stream.Counted.CountUdpDatagram(datagram.Payload, UnixMicroseconds);
            return;
        }
        // iperf_udp_accept: during CREATE_STREAMS of a UDP test, a datagram from a new peer opens
        // a stream, answered with UDP_CONNECT_REPLY; anything else is not the test's.
        Iperf3Test? test = _server.Current;
        if (test is null || test.Phase != Iperf3TestPhase.CreatingStreams || test.Parameters!.Protocol != Iperf3Protocol.Udp)
        {
            _udpTable.Counters.Count(UdpCounter.AppRefused);
            return;
        }
        int index = test.TryClaim();
        if (index < 0)
        {
            _udpTable.Counters.Count(UdpCounter.AppRefused);
            return;
        }
        InetEndpoint peer = datagram.From;
        Claim(test, index, null, socket, peer);
        socket.SendTo(peer, Iperf3Payload.UdpConnectReply);
    }

    /// <summary>The control connection and its session, on the worker that claimed the test.</summary>
    private sealed class ControlConnection(TcpSocket socket, Iperf3ServerSession session, Iperf3Test test)
    {
        public TcpSocket Socket { get; } = socket;

        public Iperf3ServerSession Session { get; } = session;

        public Iperf3Test Test { get; } = test;

        /// <summary>Slots registered with the session, in order.</summary>
        public int Registered { get; set; }

        public bool CountersTaken { get; set; }

        public bool Closed { get; set; }
    }

    /// <summary>A new connection during CREATE_STREAMS, until its cookie is read.</summary>
    private sealed class CookieReader(Iperf3Test test)
    {
        public Iperf3Test Test { get; } = test;

        public byte[] Cookie { get; } = new byte[Iperf3Cookie.Length];

        public int Count { get; set; }
    }

    /// <summary>A data stream this worker carries: its connection (or datagram peer) and the stream it counts into.</summary>
    private sealed class DataStream(Iperf3Test test, int index, Iperf3Stream counted, TcpSocket? tcp, UdpSocket? udp, InetEndpoint peer)
    {
        public Iperf3Test Test { get; } = test;

        public int Index { get; } = index;

        public Iperf3Stream Counted { get; } = counted;

        public TcpSocket? Tcp { get; } = tcp;

        public UdpSocket? Udp { get; } = udp;

        public InetEndpoint Peer { get; } = peer;

        /// <summary>Bytes of the current block not yet taken by the send buffer (0: start a new block).</summary>
        public int PendingBlock { get; set; }

        public bool Started { get; set; }

        public bool OmitEnded { get; set; }

        public bool Stopped { get; set; }
    }

    /// <summary>The app's UDP port: the same endpoint, on the same worker, handing datagrams to the app.</summary>
    private sealed class Iperf3UdpPort(Iperf3App app) : UdpApp
    {
        private UdpSocket? _socket;

        public override string Name => "iperf3 udp";

        protected override UdpError OnStart()
        {
            _socket = Udp.Open(app._server.Listen.IsIpv6, this);
            UdpError error = _socket.Bind(app._server.Listen);
            if (error != UdpError.None)
                _socket.Close();
            return error;
        }

        public override void OnDatagram(UdpSocket socket, ref UdpReceived datagram) => app.OnDatagram(socket, ref datagram);
    }
}
