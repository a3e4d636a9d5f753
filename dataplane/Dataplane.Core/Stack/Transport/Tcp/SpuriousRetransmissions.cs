using System.Runtime.CompilerServices;

namespace Dataplane.Stack.Transport.Tcp;

/// <summary>
/// The retransmissions of the last fast recovery, and which of them the peer showed needless:
/// a DSACK that covers one (RFC 3708 2: the peer had the segment twice, so the original arrived),
/// or the acknowledgment of one echoing a timestamp older than it (RFC 3522's Eifel detection:
/// the ACK was for the original). When every one was needless, nothing was lost and the
/// reduction can be undone (RFC 4015, RFC 9438 4.9). Each retransmission is matched once, by its
/// own sequence range, so that a duplicate the network made of an original, or an ACK it
/// duplicated, proves nothing; an episode of more retransmissions than are kept is never undone.
/// A struct in the socket: nothing allocates.
/// </summary>
internal struct SpuriousRetransmissions
{
    /// <summary>The retransmissions one episode may have and still be undone.</summary>
    public const int Kept = 8;

    private Ranges _ranges;
    private int _count;
    private int _matched; // a bit per range
    private bool _overflow;

    [InlineArray(2 * Kept)]
    private struct Ranges
    {
        private TcpSequence _first;
    }

    /// <summary>The congestion state when the episode began: what an undo restores.</summary>
    public TcpCongestion Before;

    /// <summary>An episode is being watched: its reduction may still prove spurious.</summary>
    public bool Watching { get; private set; }

    /// <summary>The episode's recovery is over; the evidence comes before SND.UNA passes <see cref="Until"/>.</summary>
    public bool Over { get; private set; }

    /// <summary>SND.NXT when the recovery ended: a round trip later every DSACK for its retransmissions is in.</summary>
    public TcpSequence Until { get; private set; }

    /// <summary>True when the episode sent something again and every retransmission proved needless.</summary>
    public readonly bool AllNeedless => Watching && !_overflow && _count > 0 && _matched == (1 << _count) - 1;

    /// <summary>A recovery episode begins, with the congestion state before its reduction.</summary>
    public void Begin(in TcpCongestion before)
    {
        this = default;
        Before = before;
        Watching = true;
    }

    /// <summary>Nothing more to watch: the episode was undone, or is over, or a timeout came.</summary>
    public void Stop() => Watching = false;

    /// <summary>The recovery ended with <paramref name="sndNxt"/> sent: the evidence has a round trip more to come.</summary>
    public void RecoveryEnded(TcpSequence sndNxt)
    {
        Over = true;
        Until = sndNxt;
    }

    /// <summary>Notes a retransmission of [<paramref name="start"/>, <paramref name="end"/>).</summary>
    public void Sent(TcpSequence start, TcpSequence end)
    {
        if (!Watching)
            return;
        if (_count == Kept)
        {
            _overflow = true;
            return;
        }
        _ranges[2 * _count] = start;
        _ranges[2 * _count + 1] = end;
        _count++;
    }

    /// <summary>A DSACK for [<paramref name="left"/>, <paramref name="right"/>): the first retransmission it covers whole, not yet matched, was needless.</summary>
    public void Duplicated(TcpSequence left, TcpSequence right)
    {
        for (int k = 0; Watching && k < _count; k++)
        {
            if ((_matched & (1 << k)) == 0 && left <= _ranges[2 * k] && _ranges[2 * k + 1] <= right)
            {
                _matched |= 1 << k;
                return;
            }
        }
    }

    /// <summary>The retransmission of [<paramref name="start"/>, <paramref name="end"/>) was acknowledged by an ACK for the original (Eifel): needless.</summary>
    public void AcknowledgedOriginal(TcpSequence start, TcpSequence end)
    {
        for (int k = 0; Watching && k < _count; k++)
        {
            if ((_matched & (1 << k)) == 0 && _ranges[2 * k] == start && _ranges[2 * k + 1] == end)
            {
                _matched |= 1 << k;
                return;
            }
        }
    }
}
