using Dataplane.Buffers;

namespace Dataplane.Stack.Transport.Tcp;

/// <summary>
/// The bytes a connection has to send and has sent but not seen acknowledged, from SND.UNA on, in
/// packet buffers (RFC 9293 3.8's send buffer). A segment copies its payload out of them once, into
/// the frame that leaves; a retransmission copies it again, so a buffer lives until the peer
/// acknowledges its last byte. The app fills buffers of the queue's own by copy
/// (<see cref="Append"/>) or in place (<see cref="Reserve"/> and <see cref="Commit"/>); a splice
/// queues received frames where they lie (<see cref="AppendPiece"/>): the bytes of a frame from an
/// offset, which the queue holds a reference to and never writes. Buffers come from the worker's
/// cache; the ring of them grows to its high-water mark and then nothing allocates.
/// </summary>
internal sealed class TcpSendQueue
{
    // Slot i holds bytes [_start, _end) of _buffers[i]: of its room from 0 for a buffer of the
    // queue's own (_shared false), of its frame across a chain for a piece of a received one.
    private PacketBuffer[] _buffers = new PacketBuffer[8];
    private int[] _start = new int[8];
    private int[] _end = new int[8];
    private bool[] _shared = new bool[8];
    private int _head;
    private int _count;
    private int _headOffset; // bytes of the head slot already acknowledged

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
        if (_count == 0 || _shared[Index(_count - 1)] || _end[Index(_count - 1)] == pool.DataRoom)
        {
            if (!cache.TryAllocate(out PacketBuffer fresh))
                return default;
            Add(fresh, 0, 0, shared: false);
        }
        int last = Index(_count - 1);
        int free = Math.Min(pool.DataRoom - _end[last], room);
        return pool.Room(_buffers[last]).Slice(_end[last], free);
    }

    /// <summary>Queues <paramref name="bytes"/> written into the span <see cref="Reserve"/> gave (at most its length).</summary>
    public void Commit(int bytes)
    {
        _end[Index(_count - 1)] += bytes;
        Bytes += bytes;
    }

    /// <summary>
    /// Queues <paramref name="length"/> bytes of the frame at <paramref name="packet"/> from byte
    /// <paramref name="offset"/> on, where they lie: the queue takes the caller's reference to the
    /// frame and releases it once they are acknowledged.
    /// </summary>
    public void AppendPiece(PacketBuffer packet, int offset, int length)
    {
        Add(packet, offset, offset + length, shared: true);
        Bytes += length;
    }

    /// <summary>Copies <paramref name="into"/>.Length queued bytes from <paramref name="offset"/> bytes past the front.</summary>
    public void CopyOut(BufferPool pool, int offset, Span<byte> into)
    {
        int at = offset + _headOffset;
        int i = 0;
        while (at >= Length(Index(i)))
        {
            at -= Length(Index(i));
            i++;
        }
        while (!into.IsEmpty)
        {
            int slot = Index(i);
            int n = Math.Min(Length(slot) - at, into.Length);
            if (_shared[slot])
                FrameChain.Read(pool, _buffers[slot], _start[slot] + at, into[..n]);
            else
                pool.Room(_buffers[slot]).Slice(at, n).CopyTo(into);
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
        while (_count > 0 && bytes >= Length(_head) && (bytes > 0 || Length(_head) == 0))
        {
            bytes -= Length(_head);
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

    private int Length(int slot) => _end[slot] - _start[slot];

    private void Add(PacketBuffer buffer, int start, int end, bool shared)
    {
        if (_count == _buffers.Length)
            Grow();
        int slot = Index(_count);
        _buffers[slot] = buffer;
        _start[slot] = start;
        _end[slot] = end;
        _shared[slot] = shared;
        _count++;
    }

    private void Grow()
    {
        int size = _buffers.Length * 2;
        var buffers = new PacketBuffer[size];
        var start = new int[size];
        var end = new int[size];
        var shared = new bool[size];
        for (int i = 0; i < _count; i++)
        {
            int slot = Index(i);
            buffers[i] = _buffers[slot];
            start[i] = _start[slot];
            end[i] = _end[slot];
            shared[i] = _shared[slot];
        }
        _buffers = buffers;
        _start = start;
        _end = end;
        _shared = shared;
        _head = 0;
    }
}
