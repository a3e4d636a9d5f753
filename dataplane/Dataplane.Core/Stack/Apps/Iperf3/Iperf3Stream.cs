namespace Dataplane.Stack.Apps.Iperf3;

/// <summary>
/// One data stream of a test and its counters. The session creates it when the host registers a
/// data connection; the host keeps it beside that connection and counts into it on the data path
/// (a write, a read, a datagram), which touches only these fields and allocates nothing. The
/// session reads the counters on the control path, so both run on the thread that owns the test.
/// Counting happens only while the test runs (iperf3 counts in TEST_RUNNING alone): what arrives
/// before TEST_RUNNING or after the end is not counted.
/// </summary>
public sealed class Iperf3Stream
{
    private readonly long _rate;
    private readonly bool _counters64Bit;
    private readonly bool _tcp;
    private TimeSpan _start;
    private TimeSpan _end;
    private double _previousTransit;
    private long _sequence;

    internal Iperf3Stream(int id, bool sender, Iperf3Parameters parameters)
    {
        Id = id;
        IsSender = sender;
        _tcp = parameters.Protocol == Iperf3Protocol.Tcp;
        _rate = parameters.Bandwidth;
        _counters64Bit = parameters.UdpCounters64Bit;
        BlockLength = parameters.EffectiveLength;
    }

    /// <summary>The stream's id in the results JSON: 1, 3, 4, 5... in the order the streams were made.</summary>
    public int Id { get; }

    /// <summary>Whether this side sends on it (else it receives).</summary>
    public bool IsSender { get; }

    /// <summary>The bytes per write (TCP) or datagram (UDP): the parameters' <c>len</c>.</summary>
    public int BlockLength { get; }

    /// <summary>Whether the test runs: the host sends on a sender stream and counts only then.</summary>
    public bool IsCounting { get; private set; }

    /// <summary>Bytes sent (a sender) or received (a receiver) while counting.</summary>
    public long Bytes { get; private set; }

    /// <summary>Blocks written (whole blocks) or reads and datagrams received, while counting.</summary>
    public long Blocks { get; private set; }

    /// <summary>Bytes counted in the omitted seconds (-O) and left out of the results.</summary>
    public long OmittedBytes { get; private set; }

    /// <summary>UDP: datagrams sent (a sender); the highest sequence number seen (a receiver).</summary>
    public long PacketCount { get; private set; }

    /// <summary>UDP receiver: datagrams lost, from gaps in the sequence numbers less late arrivals (iperf3's cnt_error).</summary>
    public long Errors { get; private set; }

    /// <summary>UDP receiver: datagrams whose number was not above the highest seen.</summary>
    public long OutOfOrder { get; private set; }

    /// <summary>UDP receiver: datagrams too short to hold the header (counted as bytes, not as packets).</summary>
    public long Runts { get; private set; }

    /// <summary>UDP: <see cref="PacketCount"/> when the omitted seconds ended.</summary>
    public long OmittedPackets { get; private set; }

    /// <summary>UDP: <see cref="Errors"/> when the omitted seconds ended.</summary>
    public long OmittedErrors { get; private set; }

    /// <summary>UDP receiver: the RFC 1889 A.8 jitter estimate, in seconds.</summary>
    public double Jitter { get; private set; }

    /// <summary>TCP sender: retransmissions, when the host's TCP counts them; -1 when it does not.</summary>
    public int Retransmits { get; set; } = -1;

    /// <summary>What the host shows as this stream's local end (for the "connected" line and -J), if it has one.</summary>
    public string? LocalEndpoint { get; set; }

    /// <summary>What the host shows as the peer's end, if it has one.</summary>
    public string? RemoteEndpoint { get; set; }

    /// <summary>The peer's line for this stream from its results JSON, once exchanged.</summary>
    public Iperf3StreamResult? Peer { get; internal set; }

    /// <summary>Seconds from the stream's start to the end of the test (or to now, if it has not ended).</summary>
    public double Seconds => (_end - _start).TotalSeconds;

    /// <summary>A sender counts <paramref name="bytes"/> written; <paramref name="blockDone"/> when they finish a block (iperf3 counts a block once all of it is written).</summary>
    public void CountSent(int bytes, bool blockDone = true)
    {
        if (!IsCounting)
            return;
        Bytes += bytes;
        if (blockDone)
            Blocks++;
    }

    /// <summary>A receiver counts one read of <paramref name="bytes"/> (iperf3 counts a block per read).</summary>
    public void CountReceived(int bytes)
    {
        if (!IsCounting)
            return;
        Bytes += bytes;
        Blocks++;
    }

    /// <summary>
    /// Whether a sender may write its next block now: always without -b; with it, while the bits sent
    /// since the start stay under the rate (iperf_api.c iperf_check_throttle, per stream).
    /// </summary>
    public bool MaySend(TimeSpan now)
    {
        if (!IsCounting)
            return false;
        if (_rate == 0)
            return true;
        double seconds = (now - _start).TotalSeconds;
        return seconds <= 0 ? Bytes == 0 : (ulong)(Bytes * 8 / seconds) < (ulong)_rate;
    }

    /// <summary>
    /// A UDP sender stamps the next datagram: the header (send time, next sequence number, from 1)
    /// into the front of <paramref name="block"/>. Returns the header's length; the host then sends
    /// the whole block and calls <see cref="CountSent"/>.
    /// </summary>
    public int StampUdpBlock(Span<byte> block, long unixMicroseconds)
    {
        PacketCount = ++_sequence;
        return Iperf3Payload.WriteUdpHeader(block, unixMicroseconds, (ulong)_sequence, _counters64Bit);
    }

    /// <summary>
    /// A UDP receiver counts a datagram that arrived at <paramref name="arrivalUnixMicroseconds"/>
    /// (wall clock; only differences between transit times matter, so the clocks need not agree):
    /// loss from the sequence numbers and jitter as iperf_udp.c iperf_udp_recv computes them.
    /// </summary>
    public void CountUdpDatagram(ReadOnlySpan<byte> datagram, long arrivalUnixMicroseconds)
    {
        if (!IsCounting)
            return;
        bool first = Bytes == 0;
        Bytes += datagram.Length;
        Blocks++;
        if (!Iperf3Payload.TryReadUdpHeader(datagram, _counters64Bit, out uint seconds, out uint microseconds, out ulong sequence))
        {
            Runts++;
            return;
        }
        long count = (long)Math.Min(sequence, long.MaxValue);
        if (count >= PacketCount + 1)
        {
            // Forward; a gap counts as loss until its datagrams turn up late.
            if (count > PacketCount + 1)
                Errors += count - 1 - PacketCount;
            PacketCount = count;
        }
        else
        {
            OutOfOrder++;
            if (Errors > 0)
                Errors--;
        }
        // RFC 1889 A.8: J += (|D| - J) / 16, D the change in transit time. iperf3 takes the
        // transit as the absolute difference of the two times (iperf_time_diff).
        long sent = seconds * 1_000_000L + microseconds;
        long arrival = (arrivalUnixMicroseconds / 1_000_000 & 0xFFFF_FFFF) * 1_000_000L + arrivalUnixMicroseconds % 1_000_000;
        double transit = Math.Abs(arrival - sent) / 1e6;
        if (first)
            _previousTransit = transit;
        double d = Math.Abs(transit - _previousTransit);
        _previousTransit = transit;
        Jitter += (d - Jitter) / 16.0;
    }

    /// <summary>Starts counting: the test entered TEST_RUNNING at <paramref name="now"/>.</summary>
    internal void Start(TimeSpan now)
    {
        _start = now;
        _end = now;
        IsCounting = true;
    }

    /// <summary>The omitted seconds ended: what came so far is left out (iperf_api.c iperf_reset_stats).</summary>
    internal void EndOmit(TimeSpan now)
    {
        OmittedPackets = PacketCount;
        OmittedErrors = Errors;
        Jitter = 0;
        OmittedBytes = IsSender ? Bytes : 0;
        if (!IsSender)
            Bytes = 0;
        _start = now;
    }

    /// <summary>Stops counting: the test ended at <paramref name="now"/>.</summary>
    internal void Stop(TimeSpan now)
    {
        if (IsCounting)
            _end = now;
        IsCounting = false;
    }

    /// <summary>Marks the time of the last count without stopping (for reports during the test).</summary>
    internal void Touch(TimeSpan now)
    {
        if (IsCounting)
            _end = now;
    }

    /// <summary>
    /// Takes the counters of <paramref name="counted"/>, the same stream as another worker counted
    /// it (<see cref="Iperf3App"/>), keeping this one's times: the session's clock decides the
    /// stream's seconds. The caller has seen the other worker publish that it stopped counting.
    /// </summary>
    internal void CopyCountersFrom(Iperf3Stream counted)
    {
        Bytes = counted.Bytes;
        Blocks = counted.Blocks;
        OmittedBytes = counted.OmittedBytes;
        PacketCount = counted.PacketCount;
        Errors = counted.Errors;
        OutOfOrder = counted.OutOfOrder;
        Runts = counted.Runts;
        OmittedPackets = counted.OmittedPackets;
        OmittedErrors = counted.OmittedErrors;
        Jitter = counted.Jitter;
        Retransmits = counted.Retransmits;
    }

    /// <summary>This stream's line for the results JSON (send_results).</summary>
    internal Iperf3StreamResult ToResult(bool senderHasRetransmits) => new()
    {
        Id = Id,
        Bytes = IsSender ? Bytes - OmittedBytes : Bytes,
        Retransmits = IsSender && senderHasRetransmits && _tcp ? Retransmits : -1,
        Jitter = Jitter,
        Errors = Errors,
        Packets = PacketCount,
        StartTime = 0,
        EndTime = Seconds,
    };
}
