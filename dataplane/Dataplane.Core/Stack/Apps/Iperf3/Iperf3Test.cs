namespace Dataplane.Stack.Apps.Iperf3;

/// <summary>Where a server test is, as every worker sees it (<see cref="Iperf3Test.Phase"/>).</summary>
internal enum Iperf3TestPhase
{
    /// <summary>The control connection is up; parameters not agreed yet.</summary>
    Setup,

    /// <summary>CREATE_STREAMS: data connections (TCP) or datagram peers (UDP) claim stream slots.</summary>
    CreatingStreams,

    /// <summary>TEST_RUNNING: streams count from <see cref="Iperf3Test.StartTime"/>.</summary>
    Running,

    /// <summary>TEST_END (or the test failed): streams stop at <see cref="Iperf3Test.EndTime"/>, publish their counters and close.</summary>
    Ended,

    /// <summary>The session is over; the server takes the next client.</summary>
    Finished,
}

/// <summary>
/// One stream of a server test as the worker that carries it publishes it: the stream it counts
/// into (written by that worker alone), and whether it stopped counting.
/// </summary>
internal sealed class Iperf3StreamSlot
{
    private Iperf3Stream? _counted;
    private int _done;

    /// <summary>The stream the carrying worker counts into; null until it claimed the slot.</summary>
    public Iperf3Stream? Counted => Volatile.Read(ref _counted);

    /// <summary>True once the carrying worker stopped counting: <see cref="Counted"/> holds its final counters.</summary>
    public bool IsDone => Volatile.Read(ref _done) != 0;

    /// <summary>The carrying worker took the slot (release: the stream is built before it is seen).</summary>
    public void Publish(Iperf3Stream counted) => Volatile.Write(ref _counted, counted);

    /// <summary>The carrying worker stopped counting (release: every count is written before this).</summary>
    public void PublishDone() => Volatile.Write(ref _done, 1);
}

/// <summary>
/// The state of one server test that every worker shares: what the control worker (the one that
/// holds the control connection and its <see cref="Iperf3ServerSession"/>) publishes for the
/// workers that carry data streams, and the stream slots they claim. See <see cref="Iperf3App"/>
/// for the protocol.
/// </summary>
/// <remarks>
/// Ordering: the control worker writes the fields of a phase (cookie, parameters and slots for
/// <see cref="Iperf3TestPhase.CreatingStreams"/>; <see cref="StartTime"/> and <see cref="OmitEnd"/>
/// for <see cref="Iperf3TestPhase.Running"/>; <see cref="EndTime"/> for
/// <see cref="Iperf3TestPhase.Ended"/>) and then the phase, with a release store; a data worker
/// reads the phase with an acquire load before it reads the fields, which never change after. The
/// one contended write is the claim of a slot (<see cref="TryClaim"/>), an atomic increment, once
/// per data connection.
/// </remarks>
internal sealed class Iperf3Test(int controlWorker)
{
    private int _phase;
    private int _claimed;

    /// <summary>The worker that holds the control connection.</summary>
    public int ControlWorker { get; } = controlWorker;

    /// <summary>Where the test is (acquire).</summary>
    public Iperf3TestPhase Phase => (Iperf3TestPhase)Volatile.Read(ref _phase);

    /// <summary>The test's cookie (from <see cref="Iperf3TestPhase.CreatingStreams"/>).</summary>
    public byte[] Cookie { get; private set; } = [];

    /// <summary>The client's parameters (from <see cref="Iperf3TestPhase.CreatingStreams"/>); read-only for everyone.</summary>
    public Iperf3Parameters? Parameters { get; private set; }

    /// <summary>Streams the server receives on: slots below this are receivers, the rest senders (the session's order).</summary>
    public int ReceiveStreams { get; private set; }

    /// <summary>One slot per stream (from <see cref="Iperf3TestPhase.CreatingStreams"/>).</summary>
    public Iperf3StreamSlot[] Slots { get; private set; } = [];

    /// <summary>When the test started running, on the engine clock (from <see cref="Iperf3TestPhase.Running"/>).</summary>
    public TimeSpan StartTime { get; private set; }

    /// <summary>When the omitted seconds end (-O), or null (from <see cref="Iperf3TestPhase.Running"/>).</summary>
    public TimeSpan? OmitEnd { get; private set; }

    /// <summary>When the test ended (from <see cref="Iperf3TestPhase.Ended"/>).</summary>
    public TimeSpan EndTime { get; private set; }

    /// <summary>Slots claimed so far (may pass the slot count: a claim past it failed).</summary>
    public int Claimed => Math.Min(Volatile.Read(ref _claimed), Slots.Length);

    /// <summary>Control worker: the streams are asked for.</summary>
    public void PublishStreams(byte[] cookie, Iperf3Parameters parameters, int receiveStreams, int sendStreams)
    {
        Cookie = cookie;
        Parameters = parameters;
        ReceiveStreams = receiveStreams;
        var slots = new Iperf3StreamSlot[receiveStreams + sendStreams];
        for (int i = 0; i < slots.Length; i++)
            slots[i] = new Iperf3StreamSlot();
        Slots = slots;
        Volatile.Write(ref _phase, (int)Iperf3TestPhase.CreatingStreams);
    }

    /// <summary>Control worker: TEST_RUNNING at <paramref name="start"/>.</summary>
    public void PublishRunning(TimeSpan start, TimeSpan? omitEnd)
    {
        StartTime = start;
        OmitEnd = omitEnd;
        Volatile.Write(ref _phase, (int)Iperf3TestPhase.Running);
    }

    /// <summary>Control worker: the test ended at <paramref name="end"/>.</summary>
    public void PublishEnded(TimeSpan end)
    {
        if (Phase >= Iperf3TestPhase.Ended)
            return; // the end time is read by the data workers: written once
        EndTime = end;
        Volatile.Write(ref _phase, (int)Iperf3TestPhase.Ended);
    }

    /// <summary>Control worker: the session is over.</summary>
    public void PublishFinished() => Volatile.Write(ref _phase, (int)Iperf3TestPhase.Finished);

    /// <summary>A data worker claims the next stream slot: its index, or -1 when every stream is taken or none is asked for.</summary>
    public int TryClaim()
    {
        if (Phase != Iperf3TestPhase.CreatingStreams)
            return -1;
        int index = Interlocked.Increment(ref _claimed) - 1;
        return index < Slots.Length ? index : -1;
    }
}
