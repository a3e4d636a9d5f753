using Dataplane.Buffers;
using Dataplane.Wire;

namespace Dataplane.Stack.Transport.Tcp;

/// <summary>A received segment's payload where it arrived: its packet, and where in the frame the bytes lie.</summary>
/// <param name="Packet">The frame (one buffer, or the head of a chain).</param>
/// <param name="Offset">Where the bytes start, from the start of the frame.</param>
/// <param name="Length">How many.</param>
/// <param name="Sequence">The sequence number of the first byte (for the out-of-order queue).</param>
/// <param name="Fin">The segment carried a FIN after these bytes (out-of-order queue only).</param>
internal record struct ReceivedPiece(PacketBuffer Packet, int Offset, int Length, TcpSequence Sequence, bool Fin);

/// <summary>
/// What a connection received and the app has not read, without a copy: the payload stays in the
/// packet buffer it arrived in, queued in order until the app reads it (RFC 9293 3.10.7.4, segment
/// text). Segments that arrive ahead of RCV.NXT wait in an out-of-order queue sorted by sequence
/// number, bounded in segments (the memory a peer can pin with holes), and move to the in-order
/// queue when the hole before them fills. Overlaps are trimmed on the way in, so no byte is held twice.
/// </summary>
internal sealed class TcpReceiveQueue
{
    private ReceivedPiece[] _ring = new ReceivedPiece[4]; // grows with what waits to be read
    private int _head;
    private int _count;
    private readonly List<ReceivedPiece> _outOfOrder = [];

    /// <summary>Bytes ready for the app, in order.</summary>
    public int Bytes { get; private set; }

    /// <summary>Bytes held out of order.</summary>
    public int OutOfOrderBytes { get; private set; }

    /// <summary>Segments held out of order.</summary>
    public int OutOfOrderCount => _outOfOrder.Count;

    /// <summary>Packet buffers held, in order and out of order.</summary>
    public int Buffers => _count + _outOfOrder.Count;

    /// <summary>The out-of-order segments, in sequence order.</summary>
    public IReadOnlyList<ReceivedPiece> OutOfOrder => _outOfOrder;

    /// <summary>
    /// Queues the next bytes in order; the queue takes the packet's reference. A small piece is
    /// copied behind the last one queued when that one's buffer has room, and its packet released:
    /// so a peer that sends tiny segments cannot pin a packet buffer per byte or two (Linux collapses
    /// its queue for the same reason), and the buffers held stay within a few times the bytes.
    /// </summary>
    public void Append(PacketBuffer packet, int offset, int length, BufferCache cache)
    {
        BufferPool pool = cache.Pool;
        if (length <= pool.DataRoom / 4 && _count > 0)
        {
            ref ReceivedPiece tail = ref _ring[(_head + _count - 1) & (_ring.Length - 1)];
            ref BufferMetadata m = ref pool.Metadata(tail.Packet);
            int end = tail.Offset + tail.Length;
            // The tail's buffer alone holds it (no chain, no other reference, such as a capture's),
            // and has room after its bytes: what lies there (padding, or bytes trimmed off) is no one's.
            if (m.Next < 0 && m.ReferenceCount == 1 && end <= m.DataLength && pool.Room(tail.Packet).Length - end >= length)
            {
                FrameChain.Read(pool, packet, offset, pool.Room(tail.Packet).Slice(end, length));
                if (m.DataLength < end + length)
                {
                    m.PacketLength += end + length - m.DataLength;
                    m.DataLength = (ushort)(end + length);
                }
                tail.Length += length;
                Bytes += length;
                cache.Release(packet);
                return;
            }
        }
        if (_count == _ring.Length)
            Grow();
        _ring[(_head + _count) & (_ring.Length - 1)] = new ReceivedPiece(packet, offset, length, default, false);
        _count++;
        Bytes += length;
    }

    /// <summary>
    /// Copies up to <paramref name="into"/>.Length bytes into it and drops them from the queue,
    /// releasing the buffers they emptied; returns the bytes copied.
    /// </summary>
    public int Read(Span<byte> into, BufferCache cache)
    {
        BufferPool pool = cache.Pool;
        int copied = 0;
        while (_count > 0 && copied < into.Length)
        {
            ref ReceivedPiece piece = ref _ring[_head];
            int n = Math.Min(piece.Length, into.Length - copied);
            FrameChain.Read(pool, piece.Packet, piece.Offset, into.Slice(copied, n));
            copied += n;
            ConsumeFront(ref piece, n, cache);
        }
        return copied;
    }

    /// <summary>
    /// Moves up to <paramref name="bytes"/> from the front to the end of <paramref name="drain"/>
    /// without a copy (a splice): whole pieces go with their packets; a piece cut at the limit stays
    /// in both, its packet referenced once more. A small piece is copied into the drain's own last
    /// buffer instead, as <see cref="Append"/> gathers them: else a peer sending tiny segments
    /// through a splice would pin a packet buffer per byte or two in the drain, whose bound is in
    /// bytes. Returns the bytes moved (fewer when no buffer was left for a copy).
    /// </summary>
    public int MoveTo(TcpSendQueue drain, int bytes, BufferCache cache)
    {
        BufferPool pool = cache.Pool;
        int moved = 0;
        while (_count > 0 && moved < bytes)
        {
            ref ReceivedPiece piece = ref _ring[_head];
            int n = Math.Min(piece.Length, bytes - moved);
            if (n <= pool.DataRoom / 4)
            {
                int copied = 0;
                while (copied < n)
                {
                    Span<byte> space = drain.Reserve(n - copied, cache);
                    if (space.IsEmpty)
                        break;
                    FrameChain.Read(pool, piece.Packet, piece.Offset + copied, space);
                    drain.Commit(space.Length);
                    copied += space.Length;
                }
                moved += copied;
                ConsumeFront(ref piece, copied, cache);
                if (copied < n)
                    break; // no buffer: the rest waits for the next move
                continue;
            }
            if (n < piece.Length)
                cache.AddReference(piece.Packet); // the drain holds the front, the queue the rest
            drain.AppendPiece(piece.Packet, piece.Offset, n);
            moved += n;
            Bytes -= n;
            if (n < piece.Length)
            {
                piece.Offset += n;
                piece.Length -= n;
                break;
            }
            piece = default;
            _head = (_head + 1) & (_ring.Length - 1);
            _count--;
        }
        return moved;
    }

    /// <summary>Drops up to <paramref name="bytes"/> from the front unread; returns how many.</summary>
    public int Discard(int bytes, BufferCache cache)
    {
        int dropped = 0;
        while (_count > 0 && dropped < bytes)
        {
            ref ReceivedPiece piece = ref _ring[_head];
            int n = Math.Min(piece.Length, bytes - dropped);
            dropped += n;
            ConsumeFront(ref piece, n, cache);
        }
        return dropped;
    }

    /// <summary>
    /// The first queued bytes where they lie, for an app that reads in place; empty when nothing is
    /// queued. A piece in a chained frame is returned up to the end of its first buffer.
    /// </summary>
    public ReadOnlySpan<byte> Peek(BufferPool pool)
    {
        if (_count == 0)
            return default;
        ref ReceivedPiece piece = ref _ring[_head];
        foreach (Span<byte> part in FrameChain.Pieces(pool, piece.Packet, piece.Offset, piece.Length))
            return part;
        return default;
    }

    /// <summary>
    /// Holds a segment that arrived ahead of RCV.NXT, trimmed against what is held already. Returns
    /// false (the caller still owns the packet) when it adds nothing or <paramref name="limit"/>
    /// segments are held already.
    /// </summary>
    public bool InsertOutOfOrder(PacketBuffer packet, int offset, int length, TcpSequence sequence, bool fin, int limit, BufferCache cache)
    {
        TcpSequence end = sequence + length;
        int at = _outOfOrder.Count;
        // The common case is the next segment after the last one held: search from the back.
        while (at > 0 && sequence < _outOfOrder[at - 1].Sequence)
            at--;
        if (at > 0)
        {
            ReceivedPiece before = _outOfOrder[at - 1];
            TcpSequence beforeEnd = before.Sequence + before.Length;
            if (beforeEnd >= end && !(fin && !before.Fin && beforeEnd == end))
                return false; // all of it is held already
            if (beforeEnd > sequence)
            {
                int overlap = beforeEnd - sequence;
                offset += overlap;
                length -= overlap;
                sequence = beforeEnd;
            }
        }
        // Pieces the new one covers whole go; one it overlaps cuts it short.
        while (at < _outOfOrder.Count && _outOfOrder[at].Sequence + _outOfOrder[at].Length <= end && !_outOfOrder[at].Fin)
        {
            ReceivedPiece covered = _outOfOrder[at];
            OutOfOrderBytes -= covered.Length;
            cache.Release(covered.Packet);
            _outOfOrder.RemoveAt(at);
        }
        if (at < _outOfOrder.Count && _outOfOrder[at].Sequence < end)
        {
            length = _outOfOrder[at].Sequence - sequence;
            fin = false;
        }
        if ((length <= 0 && !fin) || _outOfOrder.Count >= limit)
            return false;
        _outOfOrder.Insert(at, new ReceivedPiece(packet, offset, length, sequence, fin));
        OutOfOrderBytes += length;
        return true;
    }

    /// <summary>
    /// Moves the out-of-order segments that now start at or before <paramref name="next"/> to the
    /// in-order queue, trimming what was received already; returns the new RCV.NXT and whether a
    /// FIN came with them.
    /// </summary>
    public TcpSequence Drain(TcpSequence next, out bool fin, BufferCache cache)
    {
        fin = false;
        while (_outOfOrder.Count > 0 && _outOfOrder[0].Sequence <= next)
        {
            ReceivedPiece piece = _outOfOrder[0];
            _outOfOrder.RemoveAt(0);
            OutOfOrderBytes -= piece.Length;
            int skip = next - piece.Sequence;
            if (skip >= piece.Length && !(piece.Fin && skip == piece.Length))
            {
                cache.Release(piece.Packet);
                continue;
            }
            int length = piece.Length - skip;
            if (length > 0)
            {
                Append(piece.Packet, piece.Offset + skip, length, cache);
                next += length;
            }
            else
            {
                cache.Release(piece.Packet);
            }
            if (piece.Fin)
            {
                fin = true;
                break;
            }
        }
        return next;
    }

    /// <summary>
    /// Writes the SACK blocks of the out-of-order queue into <paramref name="options"/> (RFC 2018
    /// 4): the block holding <paramref name="latest"/>, the most recently received byte, first, then
    /// the others from the lowest; adjacent pieces are one block.
    /// </summary>
    public void AddSackBlocks(ref TcpOptions options, TcpSequence latest, int room)
    {
        if (_outOfOrder.Count == 0 || room <= 0)
            return;
        Span<TcpSackBlock> blocks = stackalloc TcpSackBlock[TcpOptions.MaxSackBlocks];
        int count = 0;
        int first = -1;
        int i = 0;
        while (i < _outOfOrder.Count)
        {
            TcpSequence left = _outOfOrder[i].Sequence;
            TcpSequence right = left + _outOfOrder[i].Length;
            i++;
            while (i < _outOfOrder.Count && _outOfOrder[i].Sequence <= right)
            {
                right = TcpSequence.Max(right, _outOfOrder[i].Sequence + _outOfOrder[i].Length);
                i++;
            }
            if (right == left)
                continue; // a bare FIN ahead of a hole
            bool holdsLatest = latest >= left && latest < right;
            if (holdsLatest)
                first = count < blocks.Length ? count : blocks.Length - 1;
            if (count < blocks.Length)
                blocks[count++] = new TcpSackBlock(left.Value, right.Value);
            else if (holdsLatest)
                blocks[^1] = new TcpSackBlock(left.Value, right.Value);
        }
        if (first > 0)
            (blocks[0], blocks[first]) = (blocks[first], blocks[0]);
        for (int b = 0; b < count && b < room; b++)
            options.AddSackBlock(blocks[b]);
    }

    /// <summary>The SACK blocks <see cref="AddSackBlocks"/> would write, at most <paramref name="room"/>: the ranges of the out-of-order queue.</summary>
    public int SackBlockCount(int room)
    {
        int count = 0;
        int i = 0;
        while (i < _outOfOrder.Count && count < room)
        {
            TcpSequence left = _outOfOrder[i].Sequence;
            TcpSequence right = left + _outOfOrder[i].Length;
            i++;
            while (i < _outOfOrder.Count && _outOfOrder[i].Sequence <= right)
            {
                right = TcpSequence.Max(right, _outOfOrder[i].Sequence + _outOfOrder[i].Length);
                i++;
            }
            if (right != left)
                count++;
        }
        return count;
    }

    /// <summary>Releases every buffer: the connection is gone or its data will never be read.</summary>
    public void Clear(BufferCache cache)
    {
        while (_count > 0)
        {
            cache.Release(_ring[_head].Packet);
            _ring[_head] = default;
            _head = (_head + 1) & (_ring.Length - 1);
            _count--;
        }
        _head = 0;
        Bytes = 0;
        foreach (ReceivedPiece piece in _outOfOrder)
            cache.Release(piece.Packet);
        _outOfOrder.Clear();
        OutOfOrderBytes = 0;
    }

    private void ConsumeFront(ref ReceivedPiece piece, int n, BufferCache cache)
    {
        Bytes -= n;
        if (n < piece.Length)
        {
            piece.Offset += n;
            piece.Length -= n;
            return;
        }
        cache.Release(piece.Packet);
        piece = default;
        _head = (_head + 1) & (_ring.Length - 1);
        _count--;
    }

    private void Grow()
    {
        var ring = new ReceivedPiece[_ring.Length * 2];
        for (int i = 0; i < _count; i++)
            ring[i] = _ring[(_head + i) & (_ring.Length - 1)];
        _ring = ring;
        _head = 0;
    }
}
