using Dataplane.Wire;

namespace Dataplane.Buffers;

/// <summary>
/// Frames as chains of buffers: fresh frames of any length up to <see cref="BufferPool.MaxPacketLength"/>
/// (one buffer when the frame fits a buffer's data room, else a chain of full buffers and a last
/// partial one; the first buffer always holds at least the data room, so headers written at the
/// front are contiguous), and what the stack does to a received chain: make its headers contiguous
/// in the first buffer (a pull-up), trim it, copy out of it and sum it for a checksum. Offsets are
/// from the start of the frame, across the buffers.
/// </summary>
internal static class FrameChain
{
    /// <summary>Takes buffers for a frame of <paramref name="length"/> bytes from <paramref name="cache"/>; false, with nothing taken, when the pool runs dry.</summary>
    public static bool TryAllocate(BufferCache cache, int length, out PacketBuffer head)
    {
        BufferPool pool = cache.Pool;
        int room = pool.DataRoom;
        if ((uint)length > BufferPool.MaxPacketLength || !cache.TryAllocate(out head))
        {
            head = PacketBuffer.None;
            return false;
        }
        int first = Math.Min(length, room);
        ref BufferMetadata h = ref pool.Metadata(head);
        h.DataLength = (ushort)first;
        h.PacketLength = length;
        PacketBuffer tail = head;
        int segments = 1;
        for (int left = length - first; left > 0;)
        {
            if (!cache.TryAllocate(out PacketBuffer next))
            {
                cache.Release(head);
                head = PacketBuffer.None;
                return false;
            }
            int piece = Math.Min(left, room);
            ref BufferMetadata n = ref pool.Metadata(next);
            n.DataLength = (ushort)piece;
            n.PacketLength = piece;
            pool.Metadata(tail).Next = next.Index;
            tail = next;
            segments++;
            left -= piece;
        }
        h.Segments = (byte)segments; // 64 KiB over 2 KiB buffers: far below 255
        return true;
    }

    /// <summary>Copies <paramref name="source"/> into the frame at <paramref name="head"/> from byte <paramref name="at"/> on, across its buffers.</summary>
    public static void Write(BufferPool pool, PacketBuffer head, int at, ReadOnlySpan<byte> source)
    {
        foreach (Span<byte> piece in Pieces(pool, head, at, source.Length))
        {
            source[..piece.Length].CopyTo(piece);
            source = source[piece.Length..];
        }
    }

    /// <summary>The bytes of the frame at <paramref name="head"/> from byte <paramref name="at"/> on, <paramref name="length"/> of them, as the spans of the buffers they lie in.</summary>
    public static PieceEnumerator Pieces(BufferPool pool, PacketBuffer head, int at, int length) => new(pool, head, at, length);

    /// <summary>
    /// Makes the first <paramref name="length"/> bytes of the frame at <paramref name="head"/>
    /// contiguous in its first buffer, moving them up from the buffers behind it (BSD's m_pullup);
    /// buffers emptied on the way leave the chain. False, with the frame unchanged where it matters
    /// (its bytes and length), when the frame is shorter or the first buffer has no room for them.
    /// </summary>
    public static bool TryPullUp(BufferCache cache, PacketBuffer head, int length)
    {
        BufferPool pool = cache.Pool;
        ref BufferMetadata h = ref pool.Metadata(head);
        if (h.DataLength >= length)
            return true;
        if (length > h.PacketLength || length > pool.Room(head).Length)
            return false;
        while (h.DataLength < length)
        {
            var next = new PacketBuffer(h.Next);
            ref BufferMetadata n = ref pool.Metadata(next);
            int move = Math.Min(length - h.DataLength, n.DataLength);
            pool.Data(next)[..move].CopyTo(pool.Room(head)[h.DataLength..]);
            h.DataLength += (ushort)move;
            n.DataOffset += (ushort)move;
            n.DataLength -= (ushort)move;
            n.PacketLength -= move;
            if (n.DataLength == 0)
            {
                // Emptied: unlink it and give it back on its own.
                h.Next = n.Next;
                n.Next = -1;
                h.Segments--;
                cache.Release(next);
            }
        }
        return true;
    }

    /// <summary>
    /// Cuts the frame at <paramref name="head"/> to <paramref name="length"/> bytes (Ethernet
    /// padding, or bytes past the IP total length); buffers past the end leave the chain.
    /// </summary>
    public static void Trim(BufferCache cache, PacketBuffer head, int length)
    {
        BufferPool pool = cache.Pool;
        ref BufferMetadata h = ref pool.Metadata(head);
        if (length >= h.PacketLength)
            return;
        h.PacketLength = length;
        int segments = 1;
        PacketBuffer buffer = head;
        for (int left = length; ; segments++)
        {
            ref BufferMetadata m = ref pool.Metadata(buffer);
            if (left <= m.DataLength || m.Next < 0)
            {
                m.DataLength = (ushort)Math.Min(left, (int)m.DataLength);
                if (m.Next >= 0)
                {
                    var rest = new PacketBuffer(m.Next);
                    m.Next = -1;
                    cache.Release(rest);
                }
                break;
            }
            left -= m.DataLength;
            buffer = new PacketBuffer(m.Next);
        }
        h.Segments = (byte)segments;
    }

    /// <summary>Copies <paramref name="into"/>.Length bytes of the frame at <paramref name="head"/>, from byte <paramref name="at"/> on.</summary>
    public static void Read(BufferPool pool, PacketBuffer head, int at, Span<byte> into)
    {
        foreach (Span<byte> piece in Pieces(pool, head, at, into.Length))
        {
            piece.CopyTo(into);
            into = into[piece.Length..];
        }
    }

    /// <summary>
    /// Copies <paramref name="length"/> bytes from the frame at <paramref name="source"/> (from
    /// byte <paramref name="sourceAt"/>) into the frame at <paramref name="destination"/> (from
    /// byte <paramref name="destinationAt"/>), buffer by buffer.
    /// </summary>
    public static void Copy(BufferPool pool, PacketBuffer source, int sourceAt, PacketBuffer destination, int destinationAt, int length)
    {
        foreach (Span<byte> piece in Pieces(pool, source, sourceAt, length))
        {
            Write(pool, destination, destinationAt, piece);
            destinationAt += piece.Length;
        }
    }

    /// <summary>
    /// Adds the <paramref name="length"/> bytes of the frame at <paramref name="head"/> from byte
    /// <paramref name="at"/> on to an Internet checksum <paramref name="sum"/>, as if they were one
    /// span: a piece that starts at an odd place in the run is summed byte-swapped (RFC 1071 2(B)).
    /// </summary>
    public static ulong Sum(BufferPool pool, PacketBuffer head, int at, int length, ulong sum)
    {
        bool odd = false;
        foreach (Span<byte> piece in Pieces(pool, head, at, length))
        {
            ulong part = InternetChecksum.FoldToUInt16(InternetChecksum.Add(0, piece));
            sum += odd ? ((part & 0xFF) << 8) | (part >> 8) : part;
            odd ^= (piece.Length & 1) != 0;
        }
        return sum;
    }

    /// <summary>Walks a run of a frame's bytes buffer by buffer (see <see cref="Pieces"/>); allocates nothing.</summary>
    public ref struct PieceEnumerator
    {
        private readonly BufferPool _pool;
        private PacketBuffer _buffer;
        private int _at; // where the next piece starts in _buffer (past its end: in a buffer further on)
        private int _left;
        private Span<byte> _current;

        internal PieceEnumerator(BufferPool pool, PacketBuffer head, int at, int length)
        {
            _pool = pool;
            _buffer = head;
            _at = at;
            _left = length;
        }

        /// <summary>The current piece.</summary>
        public readonly Span<byte> Current => _current;

        /// <summary>Itself, for foreach.</summary>
        public readonly PieceEnumerator GetEnumerator() => this;

        /// <summary>Moves to the next piece; false once the run is walked.</summary>
        public bool MoveNext()
        {
            if (_left <= 0)
                return false;
            Span<byte> data = _pool.Data(_buffer);
            while (_at >= data.Length)
            {
                _at -= data.Length;
                _buffer = new PacketBuffer(_pool.Metadata(_buffer).Next);
                data = _pool.Data(_buffer);
            }
            int n = Math.Min(data.Length - _at, _left);
            _current = data.Slice(_at, n);
            _at += n;
            _left -= n;
            return true;
        }
    }
}
