using System.Buffers;
using System.Buffers.Binary;

namespace Dataplane.Stack.Apps.Iperf3;

/// <summary>Where a client session is.</summary>
public enum Iperf3ClientPhase
{
    /// <summary>Cookie queued; waiting for PARAM_EXCHANGE.</summary>
    Connecting,

    /// <summary>Parameters sent; waiting for CREATE_STREAMS.</summary>
    AwaitingCreateStreams,

    /// <summary>Opening data streams; waiting for TEST_START and TEST_RUNNING.</summary>
    CreatingStreams,

    /// <summary>Data flows until the end condition.</summary>
    Running,

    /// <summary>TEST_END sent; waiting for EXCHANGE_RESULTS.</summary>
    Ending,

    /// <summary>Results sent; reading the server's.</summary>
    AwaitingResults,

    /// <summary>Waiting for DISPLAY_RESULTS.</summary>
    AwaitingDisplay,

    /// <summary>Over (see <see cref="Iperf3ClientSession.Error"/>).</summary>
    Finished,
}

/// <summary>
/// The client side of one iperf3 test, sans-IO (iperf_client_api.c iperf_run_client,
/// iperf_handle_message_client; 3.12). The host connects the control connection and sends what
/// <see cref="PendingOutput"/> holds (the cookie first), hands over what comes back
/// (<see cref="OnControlData"/>, in pieces of any size), opens the data streams when asked
/// (<see cref="CreateStream"/> for each, in order: for TCP it sends <see cref="Cookie"/> on it, for
/// UDP <see cref="Iperf3Payload.UdpConnectMessage"/> and waits for the reply), counts data into the
/// streams, and calls <see cref="Poll"/> often enough for -t's timer (and after sending or receiving
/// a burst, for -n and -k).
/// </summary>
public sealed class Iperf3ClientSession
{
    private readonly Iperf3ControlChannel _channel = new();
    private readonly List<Iperf3Stream> _streams = [];
    private readonly byte[] _cookie;
    private TimeSpan _testStart;
    private TimeSpan? _omitEnd;
    private TimeSpan? _deadline;
    private bool _started;

    /// <summary>A client for <paramref name="parameters"/>; the cookie is queued to send as soon as the control connection is up.</summary>
    public Iperf3ClientSession(Iperf3Parameters parameters, byte[]? cookie = null)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        string? invalid = parameters.Validate();
        if (invalid is not null)
            throw new ArgumentException(invalid, nameof(parameters));
        // iperf_connect: a UDP test without -l uses the control connection's MSS, or 1460; the
        // host may set Length from its MSS first. The server needs "len" for UDP.
        if (parameters.Protocol == Iperf3Protocol.Udp && parameters.Length == 0)
            parameters.Length = Iperf3Parameters.DefaultUdpLength;
        Parameters = parameters;
        _cookie = cookie ?? Iperf3Cookie.Generate();
        if (!Iperf3Cookie.IsWellFormed(_cookie))
            throw new ArgumentException("not an iperf3 cookie", nameof(cookie));
        _channel.Send(_cookie);
    }

    /// <summary>The parameters sent to the server.</summary>
    public Iperf3Parameters Parameters { get; }

    /// <summary>The test's cookie (37 bytes, NUL included): the first thing on every TCP connection of the test.</summary>
    public ReadOnlySpan<byte> Cookie => _cookie;

    /// <summary>Where the session is.</summary>
    public Iperf3ClientPhase Phase { get; private set; }

    /// <summary>The data streams in the order they were opened (bidir: the client's senders first).</summary>
    public IReadOnlyList<Iperf3Stream> Streams => _streams;

    /// <summary>Streams the host still has to open with <see cref="CreateStream"/>.</summary>
    public int StreamsToCreate { get; private set; }

    /// <summary>The server's results, once exchanged.</summary>
    public Iperf3Results? ServerResults { get; private set; }

    /// <summary>The results this side sent.</summary>
    public Iperf3Results? ClientResults { get; private set; }

    /// <summary>Why the test failed, in iperf3's words; null while all is well.</summary>
    public string? Error { get; private set; }

    /// <summary>Whether the session is over.</summary>
    public bool IsFinished => Phase == Iperf3ClientPhase.Finished;

    /// <summary>Whether this side's TCP counts retransmissions (sent as sender_has_retransmits, and shown as Retr).</summary>
    public bool SenderHasRetransmits { get; set; }

    /// <summary>The congestion control of this side's data streams, when known.</summary>
    public string? CongestionUsed { get; set; }

    /// <summary>The CPU use to report (percent); zero unless the host measures it.</summary>
    public (double Total, double User, double System) CpuUtilization { get; set; }

    /// <summary>The server's sender_has_retransmits, once exchanged (iperf3 shows Retr when either sender counts).</summary>
    public int RemoteSenderHasRetransmits { get; private set; }

    /// <summary>What waits to be sent on the control connection.</summary>
    public ReadOnlySpan<byte> PendingOutput => _channel.Output;

    /// <summary>The host sent the first <paramref name="count"/> bytes of <see cref="PendingOutput"/>.</summary>
    public void AdvanceOutput(int count) => _channel.AdvanceOutput(count);

    /// <summary>The next event for the host.</summary>
    public bool TryDequeueEvent(out Iperf3Event e) => _channel.TryDequeue(out e);

    /// <summary>When <see cref="Poll"/> has something to do next (the end of -O, the end of -t), or null.</summary>
    public TimeSpan? NextDeadline => _omitEnd is TimeSpan omit ? omit : _deadline;

    /// <summary>Seconds from TEST_START to <paramref name="now"/>.</summary>
    public double Elapsed(TimeSpan now) => _started ? (now - _testStart).TotalSeconds : 0;

    /// <summary>What the server sent on the control connection, in whatever pieces TCP delivered it.</summary>
    public void OnControlData(ReadOnlySpan<byte> data, TimeSpan now)
    {
        if (Phase == Iperf3ClientPhase.Finished)
            return;
        _channel.Append(data);
        while (Phase != Iperf3ClientPhase.Finished && Step(now))
        {
        }
    }

    /// <summary>The server closed the control connection.</summary>
    public void OnControlClosed(TimeSpan now) => Finish(now, "control socket has closed unexpectedly");

    /// <summary>
    /// Registers the next data stream the host opened, after <see cref="Iperf3EventKind.StreamsRequested"/>:
    /// with --bidir the first -P are the client's senders, the rest its receivers
    /// (iperf_create_streams(test, 1) then (test, 0)).
    /// </summary>
    public Iperf3Stream CreateStream()
    {
        if (Phase != Iperf3ClientPhase.CreatingStreams || StreamsToCreate == 0)
            throw new InvalidOperationException("no data stream is expected now");
        bool sender = Parameters.Direction switch
        {
            Iperf3Direction.ClientToServer => true,
            Iperf3Direction.Reverse => false,
            _ => _streams.Count < Parameters.Parallel,
        };
        var stream = new Iperf3Stream(_streams.Count == 0 ? 1 : _streams.Count + 2, sender, Parameters);
        _streams.Add(stream);
        StreamsToCreate--;
        return stream;
    }

    /// <summary>
    /// Runs the timers and checks the end conditions (iperf_run_client): -t's timer, or the bytes or
    /// blocks of -n or -k, sent or received, once the omitted seconds are over. At the end it sends
    /// TEST_END and raises <see cref="Iperf3EventKind.TestEnded"/>.
    /// </summary>
    public void Poll(TimeSpan now)
    {
        if (Phase != Iperf3ClientPhase.Running)
            return;
        if (_omitEnd is TimeSpan omit)
        {
            if (now < omit)
                return;
            _omitEnd = null;
            foreach (Iperf3Stream s in _streams)
                s.EndOmit(now);
        }
        bool done = _deadline is TimeSpan deadline && now >= deadline;
        if (!done && (Parameters.Bytes != 0 || Parameters.Blocks != 0))
        {
            long bytesSent = 0, bytesReceived = 0, blocksSent = 0, blocksReceived = 0;
            foreach (Iperf3Stream s in _streams)
            {
                if (s.IsSender)
                {
                    bytesSent += s.Bytes - s.OmittedBytes;
                    blocksSent += s.Blocks;
                }
                else
                {
                    bytesReceived += s.Bytes;
                    blocksReceived += s.Blocks;
                }
            }
            done = (Parameters.Bytes != 0 && (bytesSent >= Parameters.Bytes || bytesReceived >= Parameters.Bytes))
                || (Parameters.Blocks != 0 && (blocksSent >= Parameters.Blocks || blocksReceived >= Parameters.Blocks));
        }
        if (!done)
        {
            foreach (Iperf3Stream s in _streams)
                s.Touch(now);
            return;
        }
        foreach (Iperf3Stream s in _streams)
            s.Stop(now);
        _deadline = null;
        _channel.Send(Iperf3State.TestEnd);
        Phase = Iperf3ClientPhase.Ending;
        _channel.Raise(Iperf3EventKind.TestEnded);
    }

    /// <summary>The user interrupted the test: CLIENT_TERMINATE goes to the server and the session ends.</summary>
    public void Terminate(TimeSpan now)
    {
        if (Phase == Iperf3ClientPhase.Finished)
            return;
        _channel.Send(Iperf3State.ClientTerminate);
        Finish(now, "interrupt - the client has terminated");
    }

    private bool Step(TimeSpan now)
    {
        ReadOnlySpan<byte> input = _channel.Input;
        if (Phase == Iperf3ClientPhase.AwaitingResults)
        {
            if (_channel.TryTakeFrame(out byte[] json, out bool tooLong))
            {
                OnServerResults(json, now);
                return true;
            }
            if (tooLong)
                Finish(now, $"a JSON message longer than {Iperf3Json.MaximumLength} bytes");
            return false;
        }
        if (input.IsEmpty)
            return false;
        var state = (Iperf3State)(sbyte)input[0];
        if (state == Iperf3State.ServerError)
        {
            // SERVER_ERROR carries iperf3's error number and errno, two big-endian int32s.
            if (input.Length < 9)
                return false;
            int code = BinaryPrimitives.ReadInt32BigEndian(input[1..]);
            int errno = BinaryPrimitives.ReadInt32BigEndian(input[5..]);
            _channel.Consume(9);
            Finish(now, $"the server reported error {code} (errno {errno})");
            return true;
        }
        _channel.Consume(1);
        OnState(state, now);
        return true;
    }

    private void OnState(Iperf3State state, TimeSpan now)
    {
        switch (state)
        {
            case Iperf3State.ParamExchange when Phase == Iperf3ClientPhase.Connecting:
                var json = new ArrayBufferWriter<byte>(256);
                Parameters.WriteJson(json);
                _channel.SendFrame(json.WrittenSpan);
                Phase = Iperf3ClientPhase.AwaitingCreateStreams;
                return;
            case Iperf3State.CreateStreams when Phase == Iperf3ClientPhase.AwaitingCreateStreams:
                StreamsToCreate = Parameters.Parallel * (Parameters.Bidirectional ? 2 : 1);
                Phase = Iperf3ClientPhase.CreatingStreams;
                _channel.Raise(Iperf3EventKind.StreamsRequested);
                return;
            case Iperf3State.TestStart when Phase == Iperf3ClientPhase.CreatingStreams:
                // create_client_timers: -t counts from TEST_START, omit included.
                _testStart = now;
                _started = true;
                if (Parameters.Duration > 0)
                    _deadline = now + TimeSpan.FromSeconds(Parameters.Duration + Parameters.Omit);
                if (Parameters.Omit > 0)
                    _omitEnd = now + TimeSpan.FromSeconds(Parameters.Omit);
                return;
            case Iperf3State.TestRunning when Phase == Iperf3ClientPhase.CreatingStreams && _started:
                if (StreamsToCreate != 0)
                {
                    Finish(now, "the server started the test before every stream was open");
                    return;
                }
                foreach (Iperf3Stream s in _streams)
                    s.Start(_testStart);
                Phase = Iperf3ClientPhase.Running;
                _channel.Raise(Iperf3EventKind.TestStarted);
                return;
            case Iperf3State.ExchangeResults when Phase == Iperf3ClientPhase.Ending:
                SendResults();
                Phase = Iperf3ClientPhase.AwaitingResults;
                return;
            case Iperf3State.DisplayResults when Phase == Iperf3ClientPhase.AwaitingDisplay:
                _channel.Send(Iperf3State.IperfDone);
                Finish(now, null);
                return;
            case Iperf3State.AccessDenied:
                Finish(now, "the server is busy running a test. try again later");
                return;
            case Iperf3State.ServerTerminate:
                Finish(now, "the server has terminated");
                return;
            default:
                Finish(now, $"received an unknown control message ({(sbyte)state}) in {Phase}");
                return;
        }
    }

    private void SendResults()
    {
        bool receiverOnly = Parameters.Direction == Iperf3Direction.Reverse;
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
        ClientResults = mine;
        var json = new ArrayBufferWriter<byte>(256);
        mine.WriteJson(json);
        _channel.SendFrame(json.WrittenSpan);
    }

    private void OnServerResults(byte[] json, TimeSpan now)
    {
        Iperf3Results? results = Iperf3Results.Parse(json, out string? error);
        if (results is null)
        {
            Finish(now, $"unable to receive results from server: {error}");
            return;
        }
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
        ServerResults = results;
        RemoteSenderHasRetransmits = results.SenderHasRetransmits;
        Phase = Iperf3ClientPhase.AwaitingDisplay;
    }

    private void Finish(TimeSpan now, string? error)
    {
        if (Phase == Iperf3ClientPhase.Finished)
            return;
        foreach (Iperf3Stream s in _streams)
            s.Stop(now);
        bool ended = Phase is Iperf3ClientPhase.Ending or Iperf3ClientPhase.AwaitingResults or Iperf3ClientPhase.AwaitingDisplay;
        Error ??= error;
        Phase = Iperf3ClientPhase.Finished;
        _deadline = _omitEnd = null;
        if (!ended)
            _channel.Raise(Iperf3EventKind.TestEnded);
        _channel.Raise(Iperf3EventKind.Finished);
    }
}
