namespace Dataplane.Tests.Stack.Tcp;

/// <summary>
/// The receiving side of a SACK peer, for the recovery tests: what arrived above the cumulative
/// acknowledgment, as RFC 2018 4 reports it (the block holding the latest segment first, then the
/// blocks most recently reported). Duplicates are not reported (no DSACK); tests write those by hand.
/// </summary>
internal sealed class SackReceiver(uint nxt)
{
    private readonly List<(uint Left, uint Right)> _blocks = []; // most recent first, disjoint, above Nxt
    private readonly uint _start = nxt;

    /// <summary>The cumulative acknowledgment: the first octet not received.</summary>
    public uint Nxt { get; private set; } = nxt;

    /// <summary>Octets received above <see cref="Nxt"/>.</summary>
    public long Above => _blocks.Sum(b => (long)(b.Right - b.Left));

    /// <summary>Octets received in all.</summary>
    public long Received => Above + (Nxt - _start);

    /// <summary>Takes the octets [<paramref name="seq"/>, +<paramref name="length"/>); returns how many were new.</summary>
    public int Receive(uint seq, int length)
    {
        uint end = seq + (uint)length;
        if (Before(end, Nxt) || end == Nxt)
            return 0;
        long before = Received;
        uint left = Before(seq, Nxt) ? Nxt : seq, right = end;
        for (int i = _blocks.Count - 1; i >= 0; i--)
        {
            (uint l, uint r) = _blocks[i];
            if (!Before(r, left) && !Before(right, l))
            {
                left = Before(l, left) ? l : left;
                right = Before(right, r) ? r : right;
                _blocks.RemoveAt(i);
            }
        }
        _blocks.Insert(0, (left, right));
        int at = _blocks.FindIndex(b => b.Left == Nxt);
        if (at >= 0)
        {
            Nxt = _blocks[at].Right;
            _blocks.RemoveAt(at);
        }
        return (int)(Received - before);
    }

    /// <summary>The SACK blocks of the next ACK, at most <paramref name="max"/> (4, or 3 beside timestamps).</summary>
    public (uint Left, uint Right)[] Blocks(int max = 4) => [.. _blocks.Take(max)];

    private static bool Before(uint a, uint b) => (int)(a - b) < 0;
}
