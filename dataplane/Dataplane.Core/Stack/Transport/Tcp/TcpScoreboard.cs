namespace Dataplane.Stack.Transport.Tcp;

/// <summary>One segment sent and not yet cumulatively acknowledged.</summary>
internal struct SentSegment
{
    /// <summary>Its first sequence number.</summary>
    public TcpSequence Start;

    /// <summary>Its length in sequence space (a FIN counts one).</summary>
    public int Length;

    /// <summary>When it was last sent (RACK's per-segment transmit time).</summary>
    public long SentAt;

    /// <summary>It was sent more than once.</summary>
    public bool Retransmitted;

    /// <summary>A SACK block covered it.</summary>
    public bool Sacked;

    /// <summary>It was judged lost and waits to be sent again.</summary>
    public bool Lost;

    /// <summary>The sequence number after it.</summary>
    public readonly TcpSequence End => Start + Length;
}

/// <summary>
/// The sender's record of every segment in flight, in sequence order, from SND.UNA to SND.NXT:
/// what was SACKed (RFC 2018, RFC 6675's scoreboard), when each was last sent (RFC 8985 RACK's
/// per-segment times), which are judged lost and wait to be sent again. The pipe (RFC 6675 2:
/// bytes in the network) is kept as the records change, not counted per ACK. A ring that grows to
/// its high-water mark and then allocates nothing.
/// </summary>
/// <remarks>
/// SACK blocks are checked before they are believed (the CVE-2019-11477 family: a block below
/// SND.UNA or beyond SND.NXT, or inverted, is ignored), and a block marks only whole segments,
/// so a peer cannot make the record grow: it holds at most one entry per segment sent.
/// </remarks>
internal sealed class TcpScoreboard
{
    private SentSegment[] _ring = new SentSegment[8]; // grows with the flight; an idle connection keeps it small
    private int _head;

    // No segment before this index waits to be sent again (lost and not resent): FirstLost starts
    // here, so a recovery that sends many segments does not rescan the flight for each.
    private int _lostHint;

    /// <summary>Segments recorded.</summary>
    public int Count { get; private set; }

    /// <summary>Bytes SACKed and not yet cumulatively acknowledged.</summary>
    public int SackedBytes { get; private set; }

    /// <summary>Bytes judged lost and not yet acknowledged or SACKed (sent again or not).</summary>
    public int LostBytes { get; private set; }

    /// <summary>Bytes sent again and not yet acknowledged or SACKed.</summary>
    public int RetransmittedBytes { get; private set; }

    /// <summary>
    /// Records the scans of loss detection and SACK processing looked at, over the scoreboard's
    /// life: the per-ACK work, which must not grow with the window (tests hold it to a constant).
    /// </summary>
    public long SegmentsVisited { get; private set; }

    /// <summary>Counts <paramref name="n"/> records looked at by a scan outside the scoreboard (RACK's).</summary>
    public void Visited(int n = 1) => SegmentsVisited += n;

    /// <summary>Bytes in flight: RFC 6675's pipe (Linux's in_flight): sent, neither acknowledged, SACKed nor lost, plus what was sent again.</summary>
    public int Pipe(int outstanding) => outstanding - SackedBytes - LostBytes + RetransmittedBytes;

    /// <summary>The record of segment <paramref name="i"/> (0: the oldest).</summary>
    public ref SentSegment this[int i] => ref _ring[(_head + i) & (_ring.Length - 1)];

    /// <summary>Records a segment sent for the first time.</summary>
    public void Append(TcpSequence start, int length, long now)
    {
        if (Count == _ring.Length)
            Grow();
        this[Count] = new SentSegment { Start = start, Length = length, SentAt = now };
        Count++;
    }

    /// <summary>
    /// Notes that segment <paramref name="i"/> was sent again at <paramref name="now"/>. A lost
    /// segment stays marked lost (Linux's lost_out) and counts in the pipe once more through its
    /// retransmission; a segment sent again without being judged lost (a tail loss probe) counts
    /// twice, as it is twice in the network.
    /// </summary>
    public void Resent(int i, long now)
    {
        ref SentSegment s = ref this[i];
        // A SACKed segment sent again is not in flight in RFC 6675's sense: the peer has it.
        if (!s.Retransmitted && !s.Sacked)
        {
            s.Retransmitted = true;
            RetransmittedBytes += s.Length;
        }
        s.SentAt = now;
    }

    /// <summary>
    /// Judges segment <paramref name="i"/> lost (again, when its retransmission is judged lost: it
    /// waits to be sent once more); false when it is SACKed or waits already.
    /// </summary>
    public bool MarkLost(int i)
    {
        ref SentSegment s = ref this[i];
        if (s.Sacked || (s.Lost && !s.Retransmitted))
            return false;
        _lostHint = Math.Min(_lostHint, i);
        if (!s.Lost)
        {
            s.Lost = true;
            LostBytes += s.Length;
        }
        if (s.Retransmitted)
        {
            // Whatever was sent again is gone too: no longer in flight.
            s.Retransmitted = false;
            RetransmittedBytes -= s.Length;
        }
        return true;
    }

    /// <summary>Forgets that segment <paramref name="i"/> was SACKed (RFC 2018 8: the receiver may renege).</summary>
    public void Unsack(int i)
    {
        if (i >= Count)
            return;
        ref SentSegment s = ref this[i];
        if (!s.Sacked)
            return;
        s.Sacked = false;
        SackedBytes -= s.Length;
    }

    /// <summary>Judges every segment not SACKed lost (a retransmission timeout, RFC 6675 5.1); returns how many.</summary>
    public int MarkAllLost()
    {
        int n = 0;
        for (int i = 0; i < Count; i++)
        {
            if (MarkLost(i))
                n++;
        }
        return n;
    }

    /// <summary>
    /// Drops the records the cumulative acknowledgment <paramref name="ack"/> covers (trimming one
    /// it covers in part); reports the latest send time among them for RACK, and whether any was
    /// never sent again (its round trip is a valid sample).
    /// </summary>
    public void Acknowledge(TcpSequence ack, ref DeliveryInfo delivered)
    {
        while (Count > 0)
        {
            ref SentSegment s = ref this[0];
            if (s.End <= ack)
            {
                delivered.Note(s);
                Forget(ref s);
                s = default;
                _head = (_head + 1) & (_ring.Length - 1);
                Count--;
                _lostHint = Math.Max(_lostHint - 1, 0);
                continue;
            }
            if (s.Start < ack)
            {
                // Acknowledged in part (the peer cut it, or a window probe's byte): the rest stays.
                int cut = ack - s.Start;
                delivered.Note(s);
                if (s.Sacked)
                    SackedBytes -= cut;
                if (s.Lost)
                    LostBytes -= cut;
                if (s.Retransmitted)
                    RetransmittedBytes -= cut;
                s.Start = ack;
                s.Length -= cut;
            }
            break;
        }
    }

    /// <summary>
    /// Marks the segments inside the SACK block [<paramref name="left"/>, <paramref name="right"/>)
    /// SACKed; returns the bytes newly SACKed. The block was checked against the window by the caller.
    /// </summary>
    public int Sack(TcpSequence left, TcpSequence right, ref DeliveryInfo delivered)
    {
        int newly = 0;
        // Binary search for the first segment ending after left.
        int lo = 0, hi = Count;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (this[mid].End <= left)
                lo = mid + 1;
            else
                hi = mid;
        }
        for (int i = lo; i < Count; i++)
        {
            SegmentsVisited++;
            ref SentSegment s = ref this[i];
            if (s.Start >= right)
                break;
            if (s.Sacked || s.Start < left || s.End > right)
                continue;
            delivered.Note(s);
            if (s.Lost)
            {
                s.Lost = false;
                LostBytes -= s.Length;
            }
            if (s.Retransmitted)
            {
                s.Retransmitted = false;
                RetransmittedBytes -= s.Length;
            }
            s.Sacked = true;
            SackedBytes += s.Length;
            newly += s.Length;
        }
        return newly;
    }

    /// <summary>
    /// RFC 6675 4's IsLost over the whole record: a segment with at least DupThresh (3) SACKed
    /// segments, or 3 segments' worth of SACKed bytes, above it is lost. Returns the segments newly marked.
    /// </summary>
    public int MarkLostBySack(int mss)
    {
        if (SackedBytes == 0)
            return 0;
        int marked = 0;
        int sackedSegments = 0, sackedBytes = 0;
        for (int i = Count - 1; i >= 0; i--)
        {
            SegmentsVisited++;
            ref SentSegment s = ref this[i];
            if (s.Sacked)
            {
                sackedSegments++;
                sackedBytes += s.Length;
                continue;
            }
            if ((sackedSegments >= 3 || sackedBytes > 2 * mss) && !s.Lost && MarkLost(i))
                marked++;
        }
        return marked;
    }

    /// <summary>The first segment judged lost and not yet sent again, or -1 (RFC 6675's NextSeg, rule 1).</summary>
    public int FirstLost()
    {
        if (LostBytes == 0)
            return -1;
        for (int i = _lostHint; i < Count; i++)
        {
            SegmentsVisited++;
            if (this[i].Lost && !this[i].Retransmitted)
            {
                _lostHint = i;
                return i;
            }
        }
        _lostHint = Count;
        return -1;
    }

    /// <summary>The last segment not SACKed, or -1: what a tail loss probe sends again (RFC 8985 7.3).</summary>
    public int LastUnsacked()
    {
        for (int i = Count - 1; i >= 0; i--)
        {
            if (!this[i].Sacked)
                return i;
        }
        return -1;
    }

    /// <summary>Splits segment <paramref name="i"/> after <paramref name="length"/> bytes (a retransmission under a smaller MSS).</summary>
    public void Split(int i, int length)
    {
        if (Count == _ring.Length)
            Grow();
        for (int j = Count; j > i + 1; j--)
            this[j] = this[j - 1];
        Count++;
        if (_lostHint > i)
            _lostHint++;
        ref SentSegment first = ref this[i];
        SentSegment rest = first;
        rest.Start = first.Start + length;
        rest.Length = first.Length - length;
        first.Length = length;
        this[i + 1] = rest;
    }

    /// <summary>Forgets everything (the connection ended).</summary>
    public void Clear()
    {
        Array.Clear(_ring);
        _head = 0;
        Count = 0;
        _lostHint = 0;
        SackedBytes = LostBytes = RetransmittedBytes = 0;
    }

    private void Forget(ref SentSegment s)
    {
        if (s.Sacked)
            SackedBytes -= s.Length;
        if (s.Lost)
            LostBytes -= s.Length;
        if (s.Retransmitted)
            RetransmittedBytes -= s.Length;
    }

    private void Grow()
    {
        var ring = new SentSegment[_ring.Length * 2];
        for (int i = 0; i < Count; i++)
            ring[i] = this[i];
        _ring = ring;
        _head = 0;
    }
}

/// <summary>What one ACK delivered, for RACK (RFC 8985 6.1): the latest send time among the segments it acknowledged or SACKed, and whether that one was sent once.</summary>
internal struct DeliveryInfo
{
    /// <summary>The latest send time of a delivered segment; 0 when none.</summary>
    public long LatestSentAt;

    /// <summary>The end of that segment (the tie-break of RACK's "most recently sent").</summary>
    public TcpSequence LatestEnd;

    /// <summary>The latest delivered segment was sent again: its round trip is ambiguous.</summary>
    public bool LatestRetransmitted;

    /// <summary>Takes a delivered segment into account.</summary>
    public void Note(in SentSegment s)
    {
        if (s.SentAt > LatestSentAt || (s.SentAt == LatestSentAt && s.End > LatestEnd))
        {
            LatestSentAt = s.SentAt;
            LatestEnd = s.End;
            LatestRetransmitted = s.Retransmitted;
        }
    }
}
