using Dataplane.Engine;
using Dataplane.Stack.Transport;
using Dataplane.Stack.Transport.Tcp;

namespace Dataplane.Stack.Apps.Iperf3;

/// <summary>
/// One <c>ctl iperf3 -c</c> test, handed from the control thread to a worker through its
/// <see cref="WorkerMailbox"/>: the worker runs <see cref="Run"/> on its thread, which starts the
/// test in that worker's <see cref="Iperf3ClientApp"/>; the control thread waits for
/// <see cref="Connected"/> or <see cref="Completed"/> (as long as connecting may take), then for
/// <see cref="Completed"/> (as long as the test may take), then reads <see cref="Session"/> and
/// <see cref="Error"/>, which the worker no longer touches once it has set it (the event's set and
/// wait order them).
/// </summary>
internal sealed class Iperf3ClientRun(StackWorker worker, Iperf3Parameters parameters, InetEndpoint server, TimeSpan? connectTimeout = null, TimeSpan? receiveTimeout = null) : IWorkerTask
{
    private volatile bool _cancelled;
    private volatile string? _cancelReason;

    /// <summary>The server.</summary>
    public InetEndpoint Server { get; } = server;

    /// <summary>The test's parameters.</summary>
    public Iperf3Parameters Parameters { get; } = parameters;

    /// <summary>--connect-timeout: how long the control connection may take to open; null for as long as TCP tries.</summary>
    public TimeSpan? ConnectTimeout { get; } = connectTimeout;

    /// <summary>--rcv-timeout: how long a receiving test may go without data before it ends; null when not watched.</summary>
    public TimeSpan? ReceiveTimeout { get; } = receiveTimeout;

    /// <summary>Set by the worker once the control connection is open.</summary>
    public ManualResetEventSlim Connected { get; } = new();

    /// <summary>Set by the worker when the test is over, whichever way.</summary>
    public ManualResetEventSlim Completed { get; } = new();

    /// <summary>The session, once the test started (read after <see cref="Completed"/>).</summary>
    public Iperf3ClientSession? Session { get; internal set; }

    /// <summary>Why the test could not run or failed, in iperf3's words; null when it ran to the end.</summary>
    public string? Error { get; internal set; }

    /// <summary>When the test started, for -J.</summary>
    public DateTimeOffset StartTime { get; internal set; }

    /// <summary>Whether the control thread gave up waiting: the worker terminates the test (CLIENT_TERMINATE).</summary>
    public bool IsCancelled => _cancelled;

    /// <summary>Why the control thread gave up, for the report.</summary>
    public string? CancelReason => _cancelReason;

    /// <summary>The control thread gives up, for <paramref name="reason"/>: the worker ends the test on its next tick.</summary>
    public void Cancel(string reason)
    {
        _cancelReason = reason;
        _cancelled = true; // after the reason: the worker reads the flag, then the reason
    }

    /// <inheritdoc/>
    public void Run() => Iperf3ClientApp.On(worker).Begin(this);

    /// <summary>The worker's side is done: publishes the outcome.</summary>
    internal void Complete(string? error)
    {
        Error ??= error ?? Session?.Error;
        Completed.Set();
    }
}

/// <summary>
/// The iperf3 client inside a worker (3.12's protocol), for <c>ctl iperf3 -c HOST</c> against a
/// stock <c>iperf3 -s</c>: one test at a time per worker, TCP (-P, -R, --bidir, -l, -t, -n, -k,
/// -O, -b) and UDP (-u -b). Every connection and UDP socket it opens picks a local port whose
/// four-tuple hashes to this worker, so the whole test lives here and no state is shared. Data
/// streams are opened one after the other, as iperf3 does (each connected and its cookie sent
/// before the next), so the server sees them in the order the session numbers them.
/// </summary>
internal sealed class Iperf3ClientApp : TcpApp
{
    private const long TickNanoseconds = 1_000_000;
    private const int UdpBurst = 256;

    private readonly Iperf3ClientUdp _udpApp;
    private readonly UdpSocketTable _udp;
    private readonly List<ClientStream> _streams = [];
    private Iperf3ClientRun? _run;
    private Iperf3ClientSession? _session;
    private TcpSocket? _control;
    private byte[] _block = [];
    private bool _running;
    private bool _ended;
    private bool _tickArmed;
    private long _unixOffsetMicroseconds;
    private long _connectDeadline; // --connect-timeout's end, in the worker's clock; 0 when none or connected
    private long _lastReceived;    // when data or a control message last came, for --rcv-timeout

    private Iperf3ClientApp(UdpSocketTable udp)
    {
        _udp = udp;
        _udpApp = new Iperf3ClientUdp(this);
    }

    /// <inheritdoc/>
    public override string Name => "iperf3 client";

    private TimeSpan Now => TimeSpan.FromTicks(Tcp.Context.Now / 100);

    private long UnixMicroseconds => _unixOffsetMicroseconds + Tcp.Context.Now / 1000;

    /// <summary>The client app of <paramref name="worker"/>, started there on first use (on the worker's thread).</summary>
    public static Iperf3ClientApp On(StackWorker worker)
    {
        foreach (TcpApp app in worker.Tcp.Apps)
        {
            if (app is Iperf3ClientApp client)
                return client;
        }
        var created = new Iperf3ClientApp(worker.Udp);
        worker.Tcp.Start(created);
        worker.Udp.Start(created._udpApp);
        return created;
    }

    /// <inheritdoc/>
    protected override TcpError OnStart()
    {
        _unixOffsetMicroseconds = (DateTime.UtcNow.Ticks - DateTime.UnixEpoch.Ticks) / 10 - Tcp.Context.Now / 1000;
        return TcpError.None;
    }

    /// <summary>Starts <paramref name="run"/>'s test; completes it at once when it cannot start.</summary>
    public void Begin(Iperf3ClientRun run)
    {
        if (_run is not null)
        {
            run.Complete("the dataplane's client is busy running a test on this worker");
            return;
        }
        Iperf3ClientSession session;
        try
        {
            session = new Iperf3ClientSession(run.Parameters) { SenderHasRetransmits = true };
        }
        catch (ArgumentException e)
        {
            run.Complete(e.Message);
            return;
        }
        run.StartTime = DateTimeOffset.UtcNow;
        run.Session = session;
        TcpSocket control = Tcp.Open(run.Server.IsIpv6, this);
        control.NoDelay = true;
        TcpError error = control.Connect(run.Server);
        if (error != TcpError.None)
        {
            control.Close();
            run.Complete($"unable to connect to server: {error}");
            return;
        }
        _run = run;
        _session = session;
        _control = control;
        _running = _ended = false;
        _connectDeadline = run.ConnectTimeout is { } connectTimeout ? Tcp.Context.Now + Math.Max(1, connectTimeout.Ticks * 100) : 0;
        int length = run.Parameters.EffectiveLength;
        if (_block.Length != length)
            _block = new byte[length];
        Iperf3Payload.Fill(_block, run.Parameters.RepeatingPayload);
        ArmTick();
    }

    /// <inheritdoc/>
    protected internal override void OnConnected(TcpSocket connection)
    {
        if (connection == _control)
        {
            _connectDeadline = 0;
            _run?.Connected.Set();
            Flush();
            return;
        }
        if (connection.UserState is ClientStream stream && _session is { } session)
        {
            connection.Send(session.Cookie); // 37 bytes into an empty send buffer
            stream.Open = true;
            OpenNextStream();
        }
    }

    /// <inheritdoc/>
    protected internal override void OnReceive(TcpSocket connection)
    {
        if (connection == _control)
        {
            ControlInput();
            return;
        }
        if (connection.UserState is ClientStream stream)
            DataInput(stream, connection);
    }

    /// <inheritdoc/>
    protected internal override void OnSendSpace(TcpSocket connection)
    {
        if (connection == _control)
            Flush();
        else if (connection.UserState is ClientStream stream)
            FillTcp(stream);
    }

    /// <inheritdoc/>
    protected internal override void OnClosed(TcpSocket connection, TcpError reason)
    {
        if (connection == _control)
        {
            if (_session is { } session && !session.IsFinished)
            {
                if (reason == TcpError.Refused || session.Phase == Iperf3ClientPhase.Connecting && reason != TcpError.None)
                    Fail($"unable to connect to server: {Describe(reason)}");
                else
                    ControlInput(); // what came before the close, then the close itself
                if (_session is { IsFinished: false } still)
                {
                    still.OnControlClosed(Now);
                    Events();
                }
            }
            return;
        }
        if (connection.UserState is ClientStream stream)
        {
            stream.Closed = true;
            if (stream.Counted.IsSender)
                stream.Counted.Retransmits = (int)Math.Min(connection.Retransmits, int.MaxValue);
            connection.UserState = null;
            connection.Consume(connection.ReadableBytes);
            connection.Close();
            stream.Tcp = null;
            if (!stream.Open)
                Fail($"unable to connect stream: {Describe(reason)}");
        }
    }

    /// <inheritdoc/>
    protected internal override void OnTimer(int payload)
    {
        _tickArmed = false;
        if (_session is not { } session || _run is not { } run)
            return;
        TimeSpan now = Now;
        if (_connectDeadline != 0 && Tcp.Context.Now >= _connectDeadline)
        {
            // iperf3's netdial with --connect-timeout: the control connection did not open in time.
            Fail("unable to connect to server: Connection timed out");
            return;
        }
        if (run.IsCancelled && !session.IsFinished)
        {
            run.Error ??= run.CancelReason;
            session.Terminate(now);
            Flush();
        }
        else if (_running && !_ended && run.ReceiveTimeout is { } idle && Tcp.Context.Now - _lastReceived > idle.Ticks * 100)
        {
            // iperf_run_client: a receiving test in which nothing came for --rcv-timeout (IENOMSG).
            Fail("idle timeout for receiving data");
            return;
        }
        RecordRetransmits();
        session.Poll(now);
        Events();
        if (_running && !_ended)
        {
            foreach (ClientStream stream in _streams)
            {
                if (stream.Udp is not null)
                    SendUdp(stream, now);
                else
                    FillTcp(stream);
            }
            session.Poll(Now);
            Events();
        }
        if (_run is not null)
            ArmTick();
    }

    private void ArmTick()
    {
        if (!_tickArmed)
            _tickArmed = Tcp.ScheduleTimer(this, TickNanoseconds, 0);
    }

    private void ControlInput()
    {
        if (_control is not { } control || _session is not { } session)
            return;
        if (control.ReadableBytes > 0)
            _lastReceived = Tcp.Context.Now;
        RecordRetransmits(); // the results the session sends carry them
        while (control.ReadableBytes > 0 && !session.IsFinished)
        {
            ReadOnlySpan<byte> data = control.Peek();
            session.OnControlData(data, Now);
            control.Consume(data.Length);
            if (!Events())
                return;
        }
        Flush();
    }

    /// <summary>Acts on the session's events; false when the test is over and everything is closed.</summary>
    private bool Events()
    {
        if (_session is not { } session)
            return false;
        while (session.TryDequeueEvent(out Iperf3Event e))
        {
            switch (e.Kind)
            {
                case Iperf3EventKind.StreamsRequested:
                    OpenNextStream();
                    break;
                case Iperf3EventKind.TestStarted:
                    _running = true;
                    _lastReceived = Tcp.Context.Now;
                    foreach (ClientStream stream in _streams)
                        FillTcp(stream);
                    break;
                case Iperf3EventKind.TestEnded:
                    _ended = true;
                    RecordRetransmits();
                    break;
                case Iperf3EventKind.Finished:
                    Flush();
                    End(null);
                    return false;
            }
        }
        Flush();
        return true;
    }

    private void Flush()
    {
        if (_control is not { } control || _session is not { } session)
            return;
        ReadOnlySpan<byte> output = session.PendingOutput;
        if (output.IsEmpty)
            return;
        int sent = control.Send(output);
        if (sent > 0)
            session.AdvanceOutput(sent);
    }

    /// <summary>Opens the next data stream the session asks for: a connection (its cookie follows on connect), or a UDP socket and its connect datagram.</summary>
    private void OpenNextStream()
    {
        if (_session is not { } session || _run is not { } run || session.StreamsToCreate == 0 || session.Phase != Iperf3ClientPhase.CreatingStreams)
            return;
        Iperf3Stream counted = session.CreateStream();
        var stream = new ClientStream(counted);
        _streams.Add(stream);
        if (run.Parameters.Protocol == Iperf3Protocol.Tcp)
        {
            TcpSocket socket = Tcp.Open(run.Server.IsIpv6, this);
            socket.UserState = stream;
            stream.Tcp = socket;
            TcpError error = socket.Connect(run.Server);
            if (error != TcpError.None)
                Fail($"unable to connect stream: {Describe(error)}");
            else
                SetEndpoints(counted, socket.Local, socket.Remote);
            return;
        }
        UdpSocket udp = _udp.Open(run.Server.IsIpv6, _udpApp);
        udp.UserState = stream;
        stream.Udp = udp;
        UdpError udpError = udp.Connect(run.Server);
        if (udpError != UdpError.None || udp.Send(Iperf3Payload.UdpConnectMessage) != UdpError.None)
        {
            Fail($"unable to connect stream: {udpError}");
            return;
        }
        SetEndpoints(counted, udp.Local, udp.Remote);
    }

    private static void SetEndpoints(Iperf3Stream stream, InetEndpoint local, InetEndpoint remote)
    {
        stream.LocalEndpoint = local.ToString();
        stream.RemoteEndpoint = remote.ToString();
    }

    private void DataInput(ClientStream stream, TcpSocket socket)
    {
        Iperf3Stream counted = stream.Counted;
        int block = counted.BlockLength;
        int readable;
        if (socket.ReadableBytes > 0)
            _lastReceived = Tcp.Context.Now;
        while ((readable = socket.ReadableBytes) > 0)
        {
            int take = Math.Min(readable, block);
            socket.Consume(take);
            if (!counted.IsSender)
                counted.CountReceived(take);
        }
        if (Parameters is { Bytes: not 0 } or { Blocks: not 0 })
        {
            _session!.Poll(Now);
            Events();
        }
    }

    private Iperf3Parameters? Parameters => _run?.Parameters;

    private void FillTcp(ClientStream stream)
    {
        Iperf3Stream counted = stream.Counted;
        if (stream.Tcp is not { } socket || !stream.Open || !counted.IsSender || !_running || _ended)
            return;
        TimeSpan now = Now;
        int length = _block.Length;
        while (counted.MaySend(now))
        {
            int offset = stream.PendingBlock == 0 ? 0 : length - stream.PendingBlock;
            int sent = socket.Send(_block.AsSpan(offset));
            if (sent <= 0)
                break;
            stream.PendingBlock = (stream.PendingBlock == 0 ? length : stream.PendingBlock) - sent;
            counted.CountSent(sent, blockDone: stream.PendingBlock == 0);
            if (stream.PendingBlock != 0)
                break;
            if (Parameters is { Bytes: not 0 } or { Blocks: not 0 })
            {
                _session!.Poll(now); // -n and -k end the test at the block that reaches them
                if (_session.Phase != Iperf3ClientPhase.Running)
                    break;
            }
        }
    }

    private void SendUdp(ClientStream stream, TimeSpan now)
    {
        Iperf3Stream counted = stream.Counted;
        if (stream.Udp is not { } socket || !counted.IsSender)
            return;
        for (int i = 0; i < UdpBurst && counted.MaySend(now); i++)
        {
            counted.StampUdpBlock(_block, UnixMicroseconds);
            if (socket.Send(_block) != UdpError.None)
                return;
            counted.CountSent(_block.Length);
        }
    }

    private void OnDatagram(UdpSocket socket, ref UdpReceived datagram)
    {
        if (socket.UserState is not ClientStream stream)
            return;
        if (!stream.Open)
        {
            // iperf_udp_connect: the server's reply opens the stream; then the next one.
            if (Iperf3Payload.IsUdpConnectReply(datagram.Payload))
            {
                stream.Open = true;
                OpenNextStream();
            }
            return;
        }
        if (!stream.Counted.IsSender)
        {
            _lastReceived = Tcp.Context.Now;
            stream.Counted.CountUdpDatagram(datagram.Payload, UnixMicroseconds);
        }
    }

    private void RecordRetransmits()
    {
        foreach (ClientStream stream in _streams)
        {
            if (stream.Tcp is { } socket && stream.Counted.IsSender)
                stream.Counted.Retransmits = (int)Math.Min(socket.Retransmits, int.MaxValue);
        }
    }

    private void Fail(string error)
    {
        if (_session is { IsFinished: false } session)
        {
            session.Terminate(Now);
            Flush();
        }
        End(error);
    }

    /// <summary>The test is over: every socket closes, and the control thread hears of it.</summary>
    private void End(string? error)
    {
        if (_run is not { } run)
            return;
        foreach (ClientStream stream in _streams)
        {
            if (stream.Tcp is { } socket)
            {
                socket.UserState = null;
                socket.Consume(socket.ReadableBytes);
                socket.Close();
                stream.Tcp = null;
            }
            if (stream.Udp is { } udp)
            {
                udp.UserState = null;
                udp.Close();
                stream.Udp = null;
            }
        }
        _streams.Clear();
        _connectDeadline = 0;
        if (_control is { } control)
        {
            control.Consume(control.ReadableBytes);
            control.Close();
            _control = null;
        }
        _run = null;
        _session = null;
        run.Complete(error);
    }

    private static string Describe(TcpError error) => error switch
    {
        TcpError.Refused => "Connection refused",
        TcpError.Reset => "Connection reset by peer",
        TcpError.TimedOut => "Connection timed out",
        TcpError.NetworkUnreachable => "Network is unreachable",
        _ => error.ToString(),
    };

    /// <summary>One data stream of the test.</summary>
    private sealed class ClientStream(Iperf3Stream counted)
    {
        public Iperf3Stream Counted { get; } = counted;

        public TcpSocket? Tcp { get; set; }

        public UdpSocket? Udp { get; set; }

        /// <summary>Connected and its cookie sent (TCP), or its connect datagram answered (UDP).</summary>
        public bool Open { get; set; }

        public bool Closed { get; set; }

        public int PendingBlock { get; set; }
    }

    /// <summary>The client's UDP side: the streams' sockets deliver here.</summary>
    private sealed class Iperf3ClientUdp(Iperf3ClientApp app) : UdpApp
    {
        public override string Name => "iperf3 client udp";

        protected override UdpError OnStart() => UdpError.None;

        public override void OnDatagram(UdpSocket socket, ref UdpReceived datagram) => app.OnDatagram(socket, ref datagram);
    }
}
