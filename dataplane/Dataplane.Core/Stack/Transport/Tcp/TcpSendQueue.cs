using Dataplane.Buffers;

namespace Dataplane.Stack.Transport.Tcp;

/// <summary>
/// The bytes a connection has to send and has sent but not seen acknowledged, from SND.UNA on, in
/// packet buffers the app fills (RFC 9293 3.8's send buffer). A segment copies its payload out of
/// them once, into the frame that leaves; a retransmission copies it again, so a buffer lives until
/// the peer acknowledges its last byte. The app fills them by copy (<see cref="Append"/>) or in place
/// (<see cref="Reserve"/> and <see cref="Commit"/>). Buffers come from the worker's cache; the ring of
/// them grows to its high-water mark and then nothing allocates.
/// </summary>
internal sealed class TcpSendQueue
{
    private PacketBuffer[] _buffers = new PacketBuffer[8];
    private int[] _fill = new int[8];
    private int _head;
    private int _count;
    private int _headOffset;

    /// <summary>Bytes queued: unacknowledged and unsent together.</summary>
    public int Bytes { get; private set; }

    /// <summary>Packet buffers held.</summary>
    public int Buffers => _count;

    /// <summary>
    /// Copies up to <paramref name="room"/> bytes of <paramref name="data"/> to the end of the queue,
    /// in buffers from <paramref name="cache"/>; returns the bytes taken (fewer when no buffer was left).
    /// </summary>
    public int Append(ReadOnlySpan<byte> data, int room, BufferCache cache)
    {
        int taken = 0;
        int want = Math.Min(data.Length, room);
        while (taken < want)
        {
            Span<byte> space = Reserve(want - taken, cache);
            if (space.IsEmpty)
                break;
            data.Slice(taken, space.Length).CopyTo(space);
            Commit(space.Length);
            taken += space.Length;
        }
        return taken;
    }

    /// <summary>
    /// The free space at the end of the last buffer, up to <paramref name="room"/> bytes, for the
    /// caller to fill in place and then <see cref="Commit"/>; a fresh buffer from
    /// <paramref name="cache"/> when the last is full. Empty when <paramref name="room"/> is 0 or no
    /// buffer is left. An empty buffer left at the end is harmless: it is filled next, or released.
    /// </summary>
    public Span<byte> Reserve(int room, BufferCache cache)
    {
        if (room <= 0)
            return default;
        BufferPool pool = cache.Pool;
        if (_count == 0 || _fill[Index(_count - 1)] == pool.DataRoom)
        {
            if (!cache.TryAllocate(out PacketBuffer fresh))
                return default;
            if (_count == _buffers.Length)
                Grow();
            _buffers[Index(_count)] = fresh;
            _fill[Index(_count)] = 0;
            _count++;
        }
        int last = Index(_count - 1);
        int free = Math.Min(pool.DataRoom - _fill[last], room);
        return pool.Room(_buffers[last]).Slice(_fill[last], free);
    }

    /// <summary>Queues <paramref name="bytes"/> written into the span <see cref="Reserve"/> gave (at most its length).</summary>
    public void Commit(int bytes)
    {
        _fill[Index(_count - 1)] += bytes;
        Bytes += bytes;
    }

    /// <summary>Copies <paramref name="into"/>.Length queued bytes from <paramref name="offset"/> bytes past the front.</summary>
    public void CopyOut(BufferPool pool, int offset, Span<byte> into)
    {
        int at = offset + _headOffset;
        int i = 0;
        while (at >= _fill[Index(i)])
        {
            at -= _fill[Index(i)];
            i++;
        }
        while (!into.IsEmpty)
        {
            int slot = Index(i);
            ReadOnlySpan<byte> piece = pool.Room(_buffers[slot]).Slice(at, _fill[slot] - at);
            int n = Math.Min(piece.Length, into.Length);
            piece[..n].CopyTo(into);
            into = into[n..];
            at = 0;
            i++;
        }
    }

    /// <summary>Drops <paramref name="bytes"/> acknowledged bytes from the front, releasing the buffers they emptied.</summary>
    public void Consume(int bytes, BufferCache cache)
    {
        Bytes -= bytes;
        bytes += _headOffset;
        while (_count > 0 && bytes >= _fill[_head] && (bytes > 0 || _fill[_head] == 0))
        {
            bytes -= _fill[_head];
            cache.Release(_buffers[_head]);
            _buffers[_head] = default;
            _head = (_head + 1) & (_buffers.Length - 1);
            _count--;
        }
        _headOffset = _count == 0 ? 0 : bytes;
    }

    /// <summary>Releases every buffer: the connection is gone.</summary>
    public void Clear(BufferCache cache)
    {
        for (int i = 0; i < _count; i++)
        {
            cache.Release(_buffers[Index(i)]);
            _buffers[Index(i)] = default;
        }
        _head = _count = _headOffset = 0;
        Bytes = 0;
    }

    private int Index(int i) => (_head + i) & (_buffers.Length - 1);

    private void Grow()
    {
        var buffers = new PacketBuffer[_buffers.Length * 2];
        var fill = new int[_buffers.Length * 2];
        for (int i = 0; i < _count; i++)
        {
            buffers[i] = _buffers[Index(i)];
            fill[i] = _fill[Index(i)];
        }
        _buffers = buffers;
        _fill = fill;
        _head = 0;
    }
}
