using System.Buffers;

namespace Dataplane.Stack.Apps.Iperf3;

/// <summary>What the server does with a new TCP connection on its port.</summary>
public enum Iperf3ConnectionRole
{
    /// <summary>No test yet: it is the control connection (<see cref="Iperf3ServerSession.AcceptControl"/>).</summary>
    Control,

    /// <summary>CREATE_STREAMS of a TCP test: a data connection; read its cookie and call <see cref="Iperf3ServerSession.AcceptTcpStream"/>.</summary>
    Data,

    /// <summary>Busy: send <see cref="Iperf3Payload.AccessDeniedByte"/> without reading, and close (iperf_server_api.c iperf_accept).</summary>
    Refuse,
}

/// <summary>Where a server session is.</summary>
public enum Iperf3ServerPhase
{
    /// <summary>No control connection yet.</summary>
    Idle,

    /// <summary>Reading the control connection's 37-byte cookie.</summary>
    AwaitingCookie,

    /// <summary>PARAM_EXCHANGE sent; reading the parameter JSON.</summary>
    AwaitingParameters,

    /// <summary>CREATE_STREAMS sent; taking data streams.</summary>
    CreatingStreams,

    /// <summary>TEST_START and TEST_RUNNING sent; data flows until TEST_END.</summary>
    Running,

    /// <summary>EXCHANGE_RESULTS sent; reading the client's results JSON.</summary>
    AwaitingResults,

    /// <summary>Results and DISPLAY_RESULTS sent; waiting for IPERF_DONE.</summary>
    AwaitingDone,

    /// <summary>Over (see <see cref="Iperf3ServerSession.Error"/>).</summary>
    Finished,
}

/// <summary>
/// The server side of one iperf3 test, sans-IO (iperf_server_api.c iperf_run_server,
/// iperf_handle_message_server; 3.12). The host owns the sockets and the clock: it hands over what
/// the control connection brings (<see cref="OnControlData"/>, in pieces of any size), sends what
/// <see cref="PendingOutput"/> holds, registers data streams when <see cref="ClassifyConnection"/>
/// says so, counts data into the <see cref="Iperf3Stream"/>s it is given, and acts on the events.
/// One session is one test: when it finishes, the host starts a new one for the next client.
/// </summary>
public sealed class Iperf3ServerSession
{
    /// <summary>
    /// iperf3's server timer (create_server_timers): a test given -t is abandoned when it runs
    /// this long past its time and omit: 4 s of round trip for each of 10 state transitions.
    /// </summary>
    public static readonly TimeSpan GracePeriod = TimeSpan.FromSeconds(40);

    private readonly Iperf3ControlChannel _channel = new();
    private readonly List<Iperf3Stream> _streams = [];
    private readonly byte[] _cookie = new byte[Iperf3Cookie.Length];
    private int _receiversAccepted;
    private int _sendersAccepted;
    private TimeSpan _start;
    private TimeSpan? _omitEnd;
    private TimeSpan? _deadline;

    /// <summary>A session that waits for its control connection.</summary>
    public Iperf3ServerSession()
    {
    }

    /// <summary>Where the session is.</summary>
    public Iperf3ServerPhase Phase { get; private set; }

    /// <summary>The test's cookie, once the control connection sent it.</summary>
    public ReadOnlySpan<byte> Cookie => _cookie;

    /// <summary>The client's parameters, once received.</summary>
    public Iperf3Parameters? Parameters { get; private set; }

    /// <summary>The data streams in the order they were accepted: the server's receivers first, then its senders.</summary>
    public IReadOnlyList<Iperf3Stream> Streams => _streams;

    /// <summary>Data streams the server receives on (the client's senders): -P, or 0 with -R.</summary>
    public int ReceiveStreams { get; private set; }

    /// <summary>Data streams the server sends on: -P with -R or --bidir, else 0.</summary>
    public int SendStreams { get; private set; }

    /// <summary>The client's results, once exchanged.</summary>
    public Iperf3Results? ClientResults { get; private set; }

    /// <summary>The results this side sent.</summary>
    public Iperf3Results? ServerResults { get; private set; }

    /// <summary>Why the session failed, in iperf3's words where it has them; null while all is well.</summary>
    public string? Error { get; private set; }

    /// <summary>Whether the session is over.</summary>
    public bool IsFinished => Phase == Iperf3ServerPhase.Finished;

    /// <summary>Whether this side's TCP counts retransmissions (sent as sender_has_retransmits when the server sends).</summary>
    public bool SenderHasRetransmits { get; set; }

    /// <summary>The congestion control of this side's data streams, sent as congestion_used when set.</summary>
    public string? CongestionUsed { get; set; }

    /// <summary>The CPU use to report (total, user, system percent); zero unless the host measures it.</summary>
    public (double Total, double User, double System) CpuUtilization { get; set; }

    /// <summary>What waits to be sent on the control connection.</summary>
    public ReadOnlySpan<byte> PendingOutput => _channel.Output;

    /// <summary>The host sent the first <paramref name="count"/> bytes of <see cref="PendingOutput"/>.</summary>
    public void AdvanceOutput(int count) => _channel.AdvanceOutput(count);

    /// <summary>The next event for the host.</summary>
    public bool TryDequeueEvent(out Iperf3Event e) => _channel.TryDequeue(out e);

    /// <summary>When <see cref="Poll"/> has something to do next (the end of -O, the grace timer), or null.</summary>
    public TimeSpan? NextDeadline => _omitEnd is TimeSpan omit ? omit : _deadline;

    /// <summary>
    /// What a new TCP connection on the server's port is: the control connection while idle, a data
    /// connection during CREATE_STREAMS of a TCP test, otherwise refused (iperf_server_api.c: the
    /// listener is read as a control connection in every state but CREATE_STREAMS).
    /// </summary>
    public Iperf3ConnectionRole ClassifyConnection() => Phase switch
    {
        Iperf3ServerPhase.Idle => Iperf3ConnectionRole.Control,
        Iperf3ServerPhase.CreatingStreams when Parameters!.Protocol == Iperf3Protocol.Tcp => Iperf3ConnectionRole.Data,
        _ => Iperf3ConnectionRole.Refuse,
    };

    /// <summary>Takes the control connection; false when the session already has one (refuse it).</summary>
    public bool AcceptControl()
    {
        if (Phase != Iperf3ServerPhase.Idle)
            return false;
        Phase = Iperf3ServerPhase.AwaitingCookie;
        return true;
    }

    /// <summary>What the control connection brought, in whatever pieces TCP delivered it.</summary>
    public void OnControlData(ReadOnlySpan<byte> data, TimeSpan now)
    {
        if (Phase is Iperf3ServerPhase.Idle or Iperf3ServerPhase.Finished)
            return;
        _channel.Append(data);
        while (Phase != Iperf3ServerPhase.Finished && Step(now))
        {
        }
    }

    /// <summary>The client closed the control connection (iperf3: "the client has unexpectedly closed the connection").</summary>
    public void OnControlClosed(TimeSpan now)
    {
        if (Phase is Iperf3ServerPhase.Finished)
            return;
        // After DISPLAY_RESULTS a client that closes without IPERF_DONE has still seen everything.
        Finish(now, Phase is Iperf3ServerPhase.AwaitingDone or Iperf3ServerPhase.Idle ? null : "control socket has closed unexpectedly");
    }

    /// <summary>
    /// A TCP data connection sent its 37 bytes: the stream it carries, or null when the cookie is
    /// not the test's or no stream is expected (send <see cref="Iperf3Payload.AccessDeniedByte"/> and
    /// close, as iperf_tcp_accept does).
    /// </summary>
    public Iperf3Stream? AcceptTcpStream(ReadOnlySpan<byte> cookie, TimeSpan now)
    {
        if (Phase != Iperf3ServerPhase.CreatingStreams || Parameters!.Protocol != Iperf3Protocol.Tcp
            || !Iperf3Cookie.Matches(_cookie, cookie))
            return null;
        return AddStream(now);
    }

    /// <summary>
    /// A datagram came to the server's UDP port from a peer that has no stream: during
    /// CREATE_STREAMS of a UDP test it opens one (answer it with <see cref="Iperf3Payload.UdpConnectReply"/>
    /// and send the stream's data to that peer); otherwise null, and the datagram is not the test's.
    /// The datagram's content is not checked (iperf_udp_accept reads and ignores it).
    /// </summary>
    public Iperf3Stream? AcceptUdpStream(TimeSpan now)
    {
        if (Phase != Iperf3ServerPhase.CreatingStreams || Parameters!.Protocol != Iperf3Protocol.Udp)
            return null;
        return AddStream(now);
    }

    /// <summary>Runs the timers: the end of the omitted seconds, and the grace timer that abandons a test whose client went silent.</summary>
    public void Poll(TimeSpan now)
    {
        if (_omitEnd is TimeSpan omit && now >= omit)
        {
            _omitEnd = null;
            foreach (Iperf3Stream s in _streams)
                s.EndOmit(now);
        }
        if (_deadline is TimeSpan deadline && now >= deadline && Phase != Iperf3ServerPhase.Finished)
            Finish(now, "the test ran past its time and grace period");
    }

    /// <summary>Handles one message if it is all there; false when more bytes are needed.</summary>
    private bool Step(TimeSpan now)
    {
        switch (Phase)
        {
            case Iperf3ServerPhase.AwaitingCookie:
                if (_channel.Input.Length < Iperf3Cookie.Length)
                    return false;
                _channel.Input[..Iperf3Cookie.Length].CopyTo(_cookie);
                _channel.Consume(Iperf3Cookie.Length);
                _channel.Send(Iperf3State.ParamExchange);
                Phase = Iperf3ServerPhase.AwaitingParameters;
                return true;
            case Iperf3ServerPhase.AwaitingParameters:
                return TakeFrame(now, OnParameters);
            case Iperf3ServerPhase.AwaitingResults:
                return TakeFrame(now, OnClientResults);
            case Iperf3ServerPhase.CreatingStreams when _channel.Input.IsEmpty || _channel.Input[0] != unchecked((byte)(sbyte)Iperf3State.ClientTerminate):
                // A client sends nothing else before TEST_START; whatever came early waits for the
                // streams (taken up by AddStream), so that a TEST_END never overtakes them.
                return false;
            default:
                if (_channel.Input.IsEmpty)
                    return false;
                var state = (Iperf3State)(sbyte)_channel.Input[0];
                _channel.Consume(1);
                OnState(state, now);
                return true;
        }
    }

    private bool TakeFrame(TimeSpan now, Action<byte[], TimeSpan> handle)
    {
        if (_channel.TryTakeFrame(out byte[] json, out bool tooLong))
        {
            handle(json, now);
            return true;
        }
        if (tooLong)
            Finish(now, $"a JSON message longer than {Iperf3Json.MaximumLength} bytes");
        return false;
    }

    private void OnParameters(byte[] json, TimeSpan now)
    {
        Iperf3Parameters? p = Iperf3Parameters.Parse(json, out string? error);
        error ??= p!.Validate();
        if (error is not null)
        {
            // iperf3 answers a test it cannot set up with SERVER_ERROR, its error number (here
            // IERECVPARAMS, 114) and errno (iperf_exchange_parameters).
            _channel.Send(Iperf3State.ServerError);
            Span<byte> codes = stackalloc byte[8];
            System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(codes, 114);
            System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(codes[4..], 0);
            _channel.Send(codes);
            Finish(now, $"unable to receive parameters from client: {error}");
            return;
        }
        Parameters = p;
        // iperf_run_server: receivers are the client's senders, taken first.
        ReceiveStreams = p!.Direction == Iperf3Direction.Reverse ? 0 : p.Parallel;
        SendStreams = p.Direction == Iperf3Direction.ClientToServer ? 0 : p.Parallel;
        _channel.Send(Iperf3State.CreateStreams);
        Phase = Iperf3ServerPhase.CreatingStreams;
        _channel.Raise(Iperf3EventKind.StreamsRequested);
    }

    private Iperf3Stream AddStream(TimeSpan now)
    {
        bool sender;
        if (_receiversAccepted < ReceiveStreams)
        {
            _receiversAccepted++;
            sender = false;
        }
        else
        {
            _sendersAccepted++;
            sender = true;
        }
        // iperf_add_stream numbers the first stream 1 and the n-th n+1.
        var stream = new Iperf3Stream(_streams.Count == 0 ? 1 : _streams.Count + 2, sender, Parameters!);
        _streams.Add(stream);
        if (_receiversAccepted == ReceiveStreams && _sendersAccepted == SendStreams)
        {
            _channel.Send(Iperf3State.TestStart);
            _channel.Send(Iperf3State.TestRunning);
            Phase = Iperf3ServerPhase.Running;
            _start = now;
            foreach (Iperf3Stream s in _streams)
                s.Start(now);
            if (Parameters!.Omit > 0)
                _omitEnd = now + TimeSpan.FromSeconds(Parameters.Omit);
            if (Parameters.Duration > 0)
                _deadline = now + TimeSpan.FromSeconds(Parameters.Duration + Parameters.Omit) + GracePeriod;
            _channel.Raise(Iperf3EventKind.TestStarted);
            while (Phase != Iperf3ServerPhase.Finished && Step(now))
            {
            }
        }
        return stream;
    }

    private void OnState(Iperf3State state, TimeSpan now)
    {
        switch (state)
        {
            case Iperf3State.TestStart:
                return;
            case Iperf3State.TestEnd when Phase == Iperf3ServerPhase.Running:
                foreach (Iperf3Stream s in _streams)
                    s.Stop(now);
                _omitEnd = null;
                _channel.Raise(Iperf3EventKind.TestEnded);
                _channel.Send(Iperf3State.ExchangeResults);
                Phase = Iperf3ServerPhase.AwaitingResults;
                return;
            case Iperf3State.IperfDone:
                Finish(now, Phase == Iperf3ServerPhase.AwaitingDone ? null : "the client ended the test early");
                return;
            case Iperf3State.ClientTerminate:
                Finish(now, "the client has terminated");
                return;
            default:
                Finish(now, $"received an unknown control message ({(sbyte)state})");
                return;
        }
    }

    private void OnClientResults(byte[] json, TimeSpan now)
    {
        Iperf3Results? results = Iperf3Results.Parse(json, out string? error);
        if (results is null)
        {
            Finish(now, $"unable to receive results from client: {error}");
            return;
        }
        ClientResults = results;
        foreach (Iperf3StreamResult r in results.Streams)
        {
            Iperf3Stream? s = _streams.Find(x => x.Id == r.Id);
            if (s is null)
            {
                Finish(now, "stream has an invalid id");
                return;
            }
            s.Peer = r;
        }
        bool receiverOnly = SendStreams == 0;
        var mine = new Iperf3Results
        {
            CpuUtilTotal = CpuUtilization.Total,
            CpuUtilUser = CpuUtilization.User,
            CpuUtilSystem = CpuUtilization.System,
            SenderHasRetransmits = receiverOnly ? -1 : SenderHasRetransmits ? 1 : 0,
            CongestionUsed = CongestionUsed,
        };
        foreach (Iperf3Stream s in _streams)
            mine.Streams.Add(s.ToResult(SenderHasRetransmits));
        ServerResults = mine;
        var buffer = new ArrayBufferWriter<byte>(256);
        mine.WriteJson(buffer);
        _channel.SendFrame(buffer.WrittenSpan);
        _channel.Send(Iperf3State.DisplayResults);
        Phase = Iperf3ServerPhase.AwaitingDone;
    }

    private void Finish(TimeSpan now, string? error)
    {
        foreach (Iperf3Stream s in _streams)
            s.Stop(now);
        bool ended = Phase is Iperf3ServerPhase.AwaitingResults or Iperf3ServerPhase.AwaitingDone;
        Error ??= error;
        Phase = Iperf3ServerPhase.Finished;
        _deadline = _omitEnd = null;
        if (!ended)
            _channel.Raise(Iperf3EventKind.TestEnded);
        _channel.Raise(Iperf3EventKind.Finished);
    }

    /// <summary>Seconds since the test started (0 before).</summary>
    public double Elapsed(TimeSpan now) => Phase >= Iperf3ServerPhase.Running ? (now - _start).TotalSeconds : 0;
}
