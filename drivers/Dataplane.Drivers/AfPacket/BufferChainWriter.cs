using Dataplane.Buffers;

namespace Dataplane.Drivers.AfPacket;

/// <summary>
/// Copies a frame into fresh buffers of a worker's cache, chaining a new buffer whenever one is
/// full, so that a frame longer than one buffer (a jumbo frame, a super-frame) becomes a chain.
/// </summary>
internal ref struct BufferChainWriter
{
    private readonly BufferCache _cache;
    private readonly BufferPool _pool;
    private PacketBuffer _tail;
    private Span<byte> _room;
    private int _used;

    /// <summary>A writer over <paramref name="cache"/>; nothing is taken until <see cref="TryStart"/>.</summary>
    public BufferChainWriter(BufferCache cache)
    {
        _cache = cache;
        _pool = cache.Pool;
        Head = PacketBuffer.None;
        _tail = PacketBuffer.None;
    }

    /// <summary>The first buffer of the chain.</summary>
    public PacketBuffer Head { get; private set; }

    /// <summary>Bytes written so far.</summary>
    public int Length { get; private set; }

    /// <summary>Buffers in the chain.</summary>
    public int Segments { get; private set; }

    /// <summary>Takes the first buffer; false when the pool is empty.</summary>
    public bool TryStart()
    {
        if (!_cache.TryAllocate(out PacketBuffer head))
            return false;
        Head = head;
        Use(head);
        Segments = 1;
        return true;
    }

    /// <summary>Appends <paramref name="bytes"/>; false when the pool ran out or the chain would pass 255 buffers.</summary>
    public bool TryWrite(scoped ReadOnlySpan<byte> bytes)
    {
        while (true)
        {
            int n = Math.Min(bytes.Length, _room.Length - _used);
            bytes[..n].CopyTo(_room[_used..]);
            _used += n;
            Length += n;
            bytes = bytes[n..];
            if (bytes.IsEmpty)
                return true;
            if (!TryGrow())
                return false;
        }
    }

    /// <summary>Closes the chain: the last buffer's length, and the frame's length and buffer count on the head.</summary>
    public readonly void Finish()
    {
        _pool.Metadata(_tail).DataLength = (ushort)_used;
        _pool.Metadata(_tail).PacketLength = _used;
        ref BufferMetadata head = ref _pool.Metadata(Head);
        head.PacketLength = Length;
        head.Segments = (byte)Segments;
    }

    /// <summary>Gives every buffer taken back to the cache (a frame that could not be completed).</summary>
    public void Abandon()
    {
        if (Head.IsValid)
            _cache.Release(Head);
        Head = PacketBuffer.None;
    }

    private bool TryGrow()
    {
        if (Segments == byte.MaxValue || !_cache.TryAllocate(out PacketBuffer next))
            return false;
        ref BufferMetadata full = ref _pool.Metadata(_tail);
        full.DataLength = (ushort)_used;
        full.PacketLength = _used;
        full.Next = next.Index; // linked at once, so Abandon releases everything taken
        Use(next);
        Segments++;
        return true;
    }

    private void Use(PacketBuffer buffer)
    {
        _tail = buffer;
        Span<byte> room = _pool.Room(buffer);
        _room = room.Length > ushort.MaxValue ? room[..ushort.MaxValue] : room; // DataLength is 16 bits
        _used = 0;
    }
}
