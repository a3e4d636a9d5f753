using System.Runtime.CompilerServices;

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

    /// <summary>While <see cref="Retransmitted"/>: the ring slots of the segments sent again just before and just after it (-1: none).</summary>
    public int ResentBefore, ResentAfter;

    /// <summary>The sequence number after it.</summary>
    public readonly TcpSequence End => Start + Length;

    /// <summary>Sent once and still in flight: neither SACKed, judged lost, nor sent again.</summary>
    public readonly bool InFlightOnce => !Sacked && !Lost && !Retransmitted;
}

/// <summary>
/// The sender's record of every segment in flight, in sequence order, from SND.UNA to SND.NXT:
/// what was SACKed (RFC 2018, RFC 6675's scoreboard), when each was last sent (RFC 8985 RACK's
/// per-segment times), which are judged lost and wait to be sent again. The pipe (RFC 6675 2:
/// bytes in the network) is kept as the records change, not counted per ACK. A ring that grows to
/// its high-water mark and then allocates nothing.
/// </summary>
/// <remarks>
/// <para>
/// SACK blocks are checked before they are believed (the CVE-2019-11477 family: a block below
/// SND.UNA or beyond SND.NXT, or inverted, is ignored), and a block marks only whole segments,
/// so a peer cannot make the record grow: it holds at most one entry per segment sent.
/// </para>
/// <para>
/// What an ACK costs does not grow with the window, as in Linux: a recovery with thousands of
/// segments in flight would otherwise be quadratic. The SACK blocks already taken are remembered
/// (Linux's recv_sack_cache), so a block that grew by a segment costs that segment, not the whole
/// block again, and one repeated costs nothing; a block's edge is looked for where the last
/// search ended before a binary search. RFC 6675's IsLost keeps a loss line, below which every
/// hole is lost, with the SACKed segments and bytes above it counted as they change (Linux's
/// lost_skb_hint and lost_cnt_hint did the same). RACK walks the segments in the order they were
/// sent (Linux's tsorted_sent_queue): the originals in sequence order from the first still in
/// flight once, and the ones sent again on a list in the order last sent; each walk stops at the
/// first segment not yet due. Each hint only moves forward with the segments (a timeout's
/// reneging sets them back), so each record is passed once over its life.
/// </para>
/// </remarks>
internal sealed class TcpScoreboard
{
    /// <summary>RFC 6675 2's DupThresh: SACKed segments above a hole that make it lost.</summary>
    public const int DupThresh = 3;

    // Blocks remembered: twice the four an ACK carries, so that an ACK's new block, taken first,
    // does not push out an older one the same ACK repeats after it.
    private const int RangesKept = 8;

    private SentSegment[] _ring = new SentSegment[8]; // grows with the flight; an idle connection keeps it small
    private int _head;

    // No segment before this index waits to be sent again (lost and not resent): FirstLost starts
    // here, so a recovery that sends many segments does not rescan the flight for each; and it
    // does not look at all while none waits.
    private int _lostHint;
    private int _waitingSegments;

    // No segment before this index is in flight once: RACK's walk of the originals starts here.
    private int _originalHint;

    // The segments sent again and not SACKed, by ring slot, in the order last sent: RACK's walk of them.
    private int _resentFirst = -1, _resentLast = -1;

    // RFC 6675 IsLost: every segment below the loss line has DupThresh SACKed segments, or more
    // than (DupThresh - 1) SMSS SACKed, above it; those at or above it are counted here.
    private int _sackedSegments;
    private int _lossLine;
    private int _sackedSegmentsAbove, _sackedBytesAbove;

    // Every segment below this index is SACKed or judged lost: IsLost marks from here.
    private int _sackLostHint;

    // Sequence ranges every whole segment of which is SACKed: blocks taken already (Linux's
    // recv_sack_cache), the most recently used first, so that the one a peer stopped reporting goes first.
    private SackedRanges _ranges;
    private int _rangeCount;

    // Where the last search for a block's edge ended: the next one most often ends there or one further.
    private int _searchHint;

    [InlineArray(2 * RangesKept)]
    private struct SackedRanges
    {
        private TcpSequence _first;
    }

    /// <summary>Segments recorded.</summary>
    public int Count { get; private set; }

    /// <summary>Bytes SACKed and not yet cumulatively acknowledged.</summary>
    public int SackedBytes { get; private set; }

    /// <summary>Bytes judged lost and not yet acknowledged or SACKed (sent again or not).</summary>
    public int LostBytes { get; private set; }

    /// <summary>Bytes sent again and not yet acknowledged or SACKed.</summary>
    public int RetransmittedBytes { get; private set; }

    /// <summary>
    /// Records the scans of loss detection and SACK processing looked at (a binary search's probes
    /// among them), over the scoreboard's life: the per-ACK work, which must not grow with the
    /// window (tests hold it to a constant).
    /// </summary>
    public long SegmentsVisited { get; private set; }

    /// <summary>Counts <paramref name="n"/> records looked at by a scan outside the scoreboard (RACK's).</summary>
    public void Visited(int n = 1) => SegmentsVisited += n;

    /// <summary>Bytes in flight: RFC 6675's pipe (Linux's in_flight): sent, neither acknowledged, SACKed nor lost, plus what was sent again.</summary>
    public int Pipe(int outstanding) => outstanding - SackedBytes - LostBytes + RetransmittedBytes;

    /// <summary>The record of segment <paramref name="i"/> (0: the oldest).</summary>
    public ref SentSegment this[int i] => ref _ring[Slot(i)];

    private int Slot(int i) => (_head + i) & (_ring.Length - 1);

    private int IndexOf(int slot) => (slot - _head) & (_ring.Length - 1);

    /// <summary>Records a segment sent for the first time.</summary>
    public void Append(TcpSequence start, int length, long now)
    {
        if (Count == _ring.Length)
            Grow();
        this[Count] = new SentSegment { Start = start, Length = length, SentAt = now, ResentBefore = -1, ResentAfter = -1 };
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
        s.SentAt = now;
        // A SACKed segment sent again is not in flight in RFC 6675's sense: the peer has it.
        if (s.Sacked)
            return;
        int slot = Slot(i);
        if (s.Retransmitted)
        {
            Unlink(slot);
        }
        else
        {
            if (s.Lost)
                _waitingSegments--;
            s.Retransmitted = true;
            RetransmittedBytes += s.Length;
        }
        LinkLast(slot);
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
        _waitingSegments++;
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
            Unlink(Slot(i));
        }
        return true;
    }

    /// <summary>
    /// Forgets that segment <paramref name="i"/> was SACKed (RFC 2018 8: the receiver may renege).
    /// Rare (a timeout), so the loss line and the remembered blocks start over.
    /// </summary>
    public void Unsack(int i)
    {
        if (i >= Count)
            return;
        ref SentSegment s = ref this[i];
        if (!s.Sacked)
            return;
        s.Sacked = false;
        SackedBytes -= s.Length;
        _sackedSegments--;
        _originalHint = Math.Min(_originalHint, i);
        _sackLostHint = Math.Min(_sackLostHint, i);
        _lossLine = 0;
        _sackedSegmentsAbove = _sackedSegments;
        _sackedBytesAbove = SackedBytes;
        _rangeCount = 0;
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
                if (s.Sacked)
                {
                    SackedBytes -= s.Length;
                    _sackedSegments--;
                    if (_lossLine == 0)
                    {
                        _sackedSegmentsAbove--;
                        _sackedBytesAbove -= s.Length;
                    }
                }
                if (s.Lost)
                {
                    LostBytes -= s.Length;
                    if (!s.Retransmitted)
                        _waitingSegments--;
                }
                if (s.Retransmitted)
                {
                    RetransmittedBytes -= s.Length;
                    Unlink(_head);
                }
                s = default;
                _head = (_head + 1) & (_ring.Length - 1);
                Count--;
                _lostHint = Math.Max(_lostHint - 1, 0);
                _originalHint = Math.Max(_originalHint - 1, 0);
                _sackLostHint = Math.Max(_sackLostHint - 1, 0);
                _lossLine = Math.Max(_lossLine - 1, 0);
                _searchHint = Math.Max(_searchHint - 1, 0);
                continue;
            }
            if (s.Start < ack)
            {
                // Acknowledged in part (the peer cut it, or a window probe's byte): the rest stays.
                int cut = ack - s.Start;
                delivered.Note(s);
                if (s.Sacked)
                {
                    SackedBytes -= cut;
                    if (_lossLine == 0)
                        _sackedBytesAbove -= cut;
                }
                if (s.Lost)
                    LostBytes -= cut;
                if (s.Retransmitted)
                    RetransmittedBytes -= cut;
                s.Start = ack;
                s.Length -= cut;
                _rangeCount = 0; // the rest may now lie inside a remembered block, and is not SACKed
            }
            break;
        }
        // The remembered blocks keep to SND.UNA..SND.NXT, so that no comparison of theirs goes stale.
        for (int k = _rangeCount - 1; k >= 0; k--)
        {
            if (_ranges[2 * k + 1] <= ack)
                ForgetRange(k);
            else if (_ranges[2 * k] < ack)
                _ranges[2 * k] = ack;
        }
    }

    /// <summary>
    /// Marks the segments inside the SACK block [<paramref name="left"/>, <paramref name="right"/>)
    /// SACKed; returns the bytes newly SACKed. The block was checked against the window by the
    /// caller. The parts of it inside blocks taken before are skipped: their segments are SACKed.
    /// </summary>
    public int Sack(TcpSequence left, TcpSequence right, ref DeliveryInfo delivered)
    {
        // A block taken before, reported again (as a peer repeats its older blocks on every ACK): nothing new.
        if (RangeHolding(left, right))
            return 0;
        int newly = 0;
        // A block that starts inside one taken before (most often the same block, grown) starts past it.
        int i = FirstEndingAfter(RangeHolding(left, left + 1) ? _ranges[1] : left);
        while (i < Count)
        {
            SegmentsVisited++;
            ref SentSegment s = ref this[i];
            if (s.Start >= right)
                break;
            if (RangeHolding(s.Start, s.End))
            {
                // Inside a block taken before: so are all up to its right edge.
                i = FirstEndingAfter(_ranges[1]);
                continue;
            }
            if (!s.Sacked && s.Start >= left && s.End <= right)
            {
                delivered.Note(s);
                newly += s.Length;
                MarkSacked(i, ref s);
            }
            i++;
        }
        RememberRange(left, right);
        return newly;
    }

    private void MarkSacked(int i, ref SentSegment s)
    {
        if (s.Lost)
        {
            if (!s.Retransmitted)
                _waitingSegments--;
            s.Lost = false;
            LostBytes -= s.Length;
        }
        if (s.Retransmitted)
        {
            s.Retransmitted = false;
            RetransmittedBytes -= s.Length;
            Unlink(Slot(i));
        }
        s.Sacked = true;
        SackedBytes += s.Length;
        _sackedSegments++;
        if (i >= _lossLine)
        {
            _sackedSegmentsAbove++;
            _sackedBytesAbove += s.Length;
        }
    }

    /// <summary>
    /// RFC 6675 4's IsLost for every hole: a segment with at least DupThresh (3) SACKed segments,
    /// or more than 2 SMSS SACKed bytes, above it is lost. The loss line only moves up (more SACKs
    /// make more holes lost), so only the segments it passes are looked at; <paramref name="mss"/>
    /// only falls over a connection's life. Returns the segments newly marked.
    /// </summary>
    public int MarkLostBySack(int mss)
    {
        if (SackedBytes == 0)
            return 0;
        while (_lossLine < Count)
        {
            SegmentsVisited++;
            ref SentSegment s = ref this[_lossLine];
            int segments = _sackedSegmentsAbove - (s.Sacked ? 1 : 0);
            int bytes = _sackedBytesAbove - (s.Sacked ? s.Length : 0);
            if (segments < DupThresh && bytes <= (DupThresh - 1) * mss)
                break;
            _sackedSegmentsAbove = segments;
            _sackedBytesAbove = bytes;
            _lossLine++;
        }
        int marked = 0;
        for (; _sackLostHint < _lossLine; _sackLostHint++)
        {
            SegmentsVisited++;
            ref SentSegment s = ref this[_sackLostHint];
            if (!s.Sacked && !s.Lost && MarkLost(_sackLostHint))
                marked++;
        }
        return marked;
    }

    /// <summary>The first segment judged lost and not yet sent again, or -1 (RFC 6675's NextSeg, rule 1).</summary>
    public int FirstLost()
    {
        if (_waitingSegments == 0)
        {
            _lostHint = Count; // none waits: the next to be judged lost sets the hint
            return -1;
        }
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

    /// <summary>
    /// The first segment sent once and still in flight (<see cref="SentSegment.InFlightOnce"/>), or
    /// <see cref="Count"/>: the oldest original, from which RACK walks them in the order sent
    /// (sequence order; their send times only grow along it).
    /// </summary>
    public int FirstInFlightOnce()
    {
        SegmentsVisited++;
        while (_originalHint < Count && !this[_originalHint].InFlightOnce)
        {
            SegmentsVisited++;
            _originalHint++;
        }
        return _originalHint;
    }

    /// <summary>The segment sent again longest ago and still in flight (not SACKed), or -1: where RACK's walk of the retransmissions starts.</summary>
    public int FirstResent() => _resentFirst < 0 ? -1 : IndexOf(_resentFirst);

    /// <summary>The segment sent again next after segment <paramref name="i"/> (which was sent again), or -1.</summary>
    public int NextResent(int i) => this[i].ResentAfter is var slot and >= 0 ? IndexOf(slot) : -1;

    /// <summary>The last segment not SACKed, or -1: what a tail loss probe sends again (RFC 8985 7.3).</summary>
    public int LastUnsacked()
    {
        for (int i = Count - 1; i >= 0; i--)
        {
            SegmentsVisited++;
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
        // The records after i moved up a slot: so do the links of the list of those sent again.
        int mask = _ring.Length - 1;
        int Moved(int slot) => slot >= 0 && ((slot - _head) & mask) > i ? (slot + 1) & mask : slot;
        _resentFirst = Moved(_resentFirst);
        _resentLast = Moved(_resentLast);
        for (int slot = _resentFirst; slot >= 0; slot = _ring[slot].ResentAfter)
        {
            ref SentSegment n = ref _ring[slot];
            n.ResentBefore = Moved(n.ResentBefore);
            n.ResentAfter = Moved(n.ResentAfter);
        }
        if (_lostHint > i)
            _lostHint++;
        if (_originalHint > i)
            _originalHint++;
        if (_sackLostHint > i)
            _sackLostHint++;
        if (_searchHint > i)
            _searchHint++;
        ref SentSegment first = ref this[i];
        if (_lossLine > i)
            _lossLine++;
        else if (first.Sacked)
            _sackedSegmentsAbove++;
        if (first.Sacked)
            _sackedSegments++;
        if (first.Lost && !first.Retransmitted)
            _waitingSegments++;
        SentSegment rest = first;
        rest.Start = first.Start + length;
        rest.Length = first.Length - length;
        first.Length = length;
        int restSlot = Slot(i + 1);
        if (first.Retransmitted)
        {
            // Sent again at the same time as its first part: just after it in the list.
            rest.ResentBefore = Slot(i);
            rest.ResentAfter = first.ResentAfter;
            if (first.ResentAfter >= 0)
                _ring[first.ResentAfter].ResentBefore = restSlot;
            else
                _resentLast = restSlot;
            first.ResentAfter = restSlot;
        }
        else
        {
            rest.ResentBefore = rest.ResentAfter = -1;
        }
        _ring[restSlot] = rest;
        _rangeCount = 0; // a part of a segment may lie inside a remembered block the whole did not
    }

    /// <summary>Forgets everything (the connection ended).</summary>
    public void Clear()
    {
        Array.Clear(_ring);
        _head = 0;
        Count = 0;
        _lostHint = _originalHint = _sackLostHint = _lossLine = _waitingSegments = _searchHint = 0;
        _resentFirst = _resentLast = -1;
        _sackedSegments = _sackedSegmentsAbove = _sackedBytesAbove = 0;
        _rangeCount = 0;
        SackedBytes = LostBytes = RetransmittedBytes = 0;
    }

    /// <summary>
    /// The first segment that ends after <paramref name="seq"/>, or <see cref="Count"/>: where the
    /// last search ended or one further (a block grown by a segment), else a binary search.
    /// </summary>
    private int FirstEndingAfter(TcpSequence seq)
    {
        for (int i = _searchHint; i <= _searchHint + 1 && i <= Count; i++)
        {
            SegmentsVisited++;
            if ((i == Count || this[i].End > seq) && (i == 0 || this[i - 1].End <= seq))
                return _searchHint = i;
        }
        int lo = 0, hi = Count;
        while (lo < hi)
        {
            SegmentsVisited++;
            int mid = (lo + hi) >>> 1;
            if (this[mid].End <= seq)
                lo = mid + 1;
            else
                hi = mid;
        }
        return _searchHint = lo;
    }

    /// <summary>
    /// True when a remembered block holds [<paramref name="start"/>, <paramref name="end"/>) whole;
    /// that block moves to the front (index 0), the most recently used.
    /// </summary>
    private bool RangeHolding(TcpSequence start, TcpSequence end)
    {
        for (int k = 0; k < _rangeCount; k++)
        {
            if (_ranges[2 * k] <= start && end <= _ranges[2 * k + 1])
            {
                MoveToFront(k);
                return true;
            }
        }
        return false;
    }

    /// <summary>
    /// Remembers that every whole segment in [<paramref name="left"/>, <paramref name="right"/>) is
    /// SACKed, as the most recently used; blocks it holds whole are dropped, and when all places
    /// are taken the least recently used goes.
    /// </summary>
    private void RememberRange(TcpSequence left, TcpSequence right)
    {
        if (RangeHolding(left, right))
            return;
        for (int k = _rangeCount - 1; k >= 0; k--)
        {
            if (left <= _ranges[2 * k] && _ranges[2 * k + 1] <= right)
                ForgetRange(k);
        }
        if (_rangeCount < RangesKept)
            _rangeCount++;
        for (int k = _rangeCount - 1; k > 0; k--)
        {
            _ranges[2 * k] = _ranges[2 * k - 2];
            _ranges[2 * k + 1] = _ranges[2 * k - 1];
        }
        _ranges[0] = left;
        _ranges[1] = right;
    }

    private void MoveToFront(int k)
    {
        TcpSequence left = _ranges[2 * k], right = _ranges[2 * k + 1];
        for (; k > 0; k--)
        {
            _ranges[2 * k] = _ranges[2 * k - 2];
            _ranges[2 * k + 1] = _ranges[2 * k - 1];
        }
        _ranges[0] = left;
        _ranges[1] = right;
    }

    private void ForgetRange(int k)
    {
        _rangeCount--;
        for (; k < _rangeCount; k++)
        {
            _ranges[2 * k] = _ranges[2 * k + 2];
            _ranges[2 * k + 1] = _ranges[2 * k + 3];
        }
    }

    private void LinkLast(int slot)
    {
        ref SentSegment n = ref _ring[slot];
        n.ResentBefore = _resentLast;
        n.ResentAfter = -1;
        if (_resentLast >= 0)
            _ring[_resentLast].ResentAfter = slot;
        else
            _resentFirst = slot;
        _resentLast = slot;
    }

    private void Unlink(int slot)
    {
        ref SentSegment n = ref _ring[slot];
        if (n.ResentBefore >= 0)
            _ring[n.ResentBefore].ResentAfter = n.ResentAfter;
        else
            _resentFirst = n.ResentAfter;
        if (n.ResentAfter >= 0)
            _ring[n.ResentAfter].ResentBefore = n.ResentBefore;
        else
            _resentLast = n.ResentBefore;
        n.ResentBefore = n.ResentAfter = -1;
    }

    private void Grow()
    {
        var ring = new SentSegment[_ring.Length * 2];
        int mask = _ring.Length - 1;
        int Moved(int slot) => slot < 0 ? slot : (slot - _head) & mask;
        for (int i = 0; i < Count; i++)
        {
            ref SentSegment s = ref ring[i];
            s = this[i];
            if (s.Retransmitted)
            {
                s.ResentBefore = Moved(s.ResentBefore);
                s.ResentAfter = Moved(s.ResentAfter);
            }
        }
        _resentFirst = Moved(_resentFirst);
        _resentLast = Moved(_resentLast);
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
