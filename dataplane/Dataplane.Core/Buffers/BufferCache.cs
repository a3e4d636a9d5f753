using System.Runtime.CompilerServices;

namespace Dataplane.Buffers;

/// <summary>
/// One worker's stack of free buffers over the pool's shared ring, like DPDK's mempool cache:
/// allocation and release touch only this stack; when it runs empty it takes a burst from the
/// shared ring, when it overflows it gives a burst back. Owned by one thread: no locks.
/// </summary>
internal sealed class BufferCache
{
    private readonly BufferPool _pool;
    private readonly int[] _stack;
    private readonly int _burst;
    private int _count;

    /// <summary>A cache of up to <paramref name="size"/> buffers, moved to and from the pool <paramref name="burst"/> at a time.</summary>
    public BufferCache(BufferPool pool, int size = 512, int burst = 64)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(burst, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(size, burst * 2);
        _pool = pool;
        _stack = new int[size];
        _burst = burst;
    }

    /// <summary>The pool the buffers belong to.</summary>
    public BufferPool Pool => _pool;

    /// <summary>Free buffers held by this cache.</summary>
    public int Count => _count;

    /// <summary>Allocations refused because the pool was empty (the drop counter of exhaustion).</summary>
    public long Exhausted { get; private set; }

    /// <summary>Takes one fresh buffer; false, and counted, when the pool is exhausted.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryAllocate(out PacketBuffer buffer)
    {
        if (_count == 0 && !Refill())
        {
            Exhausted++;
            buffer = PacketBuffer.None;
            return false;
        }
        int index = _stack[--_count];
        _pool.Reset(index);
        buffer = new PacketBuffer(index);
        return true;
    }

    /// <summary>Fills <paramref name="buffers"/> with fresh buffers as far as the pool allows; returns how many.</summary>
    public int Allocate(Span<PacketBuffer> buffers)
    {
        for (int i = 0; i < buffers.Length; i++)
        {
            if (!TryAllocate(out buffers[i]))
                return i;
        }
        return buffers.Length;
    }

    /// <summary>
    /// Adds a reference to every buffer of the chain at <paramref name="head"/>, so that the frame
    /// can be held in two places without a copy (as DPDK's rte_pktmbuf_refcnt_update does):
    /// <see cref="Release"/> drops one from each.
    /// </summary>
    public void AddReference(PacketBuffer head)
    {
        for (int index = head.Index; index >= 0;)
        {
            ref BufferMetadata m = ref _pool.Metadata(new PacketBuffer(index));
            Interlocked.Increment(ref m.ReferenceCount);
            index = m.Next;
        }
    }

    /// <summary>
    /// Drops one reference to each buffer of the chain starting at <paramref name="head"/>;
    /// buffers whose last reference goes return to the pool.
    /// </summary>
    public void Release(PacketBuffer head)
    {
        int index = head.Index;
        while (index >= 0)
        {
            ref BufferMetadata m = ref _pool.Metadata(new PacketBuffer(index));
            int next = m.Next;
            System.Diagnostics.Debug.Assert(m.ReferenceCount > 0, "a buffer released more often than referenced");
            // The common case is a buffer with one owner: no atomic operation needed for it.
            if (m.ReferenceCount == 1 || Interlocked.Decrement(ref m.ReferenceCount) == 0)
            {
                m.ReferenceCount = 0;
                Push(index);
            }
            index = next;
        }
    }

    /// <summary>Releases every buffer of <paramref name="buffers"/>.</summary>
    public void Release(ReadOnlySpan<PacketBuffer> buffers)
    {
        foreach (PacketBuffer b in buffers)
            Release(b);
    }

    /// <summary>
    /// Appends <paramref name="tail"/> (a buffer or chain) to the chain at <paramref name="head"/>;
    /// false when the frame would pass <see cref="BufferPool.MaxPacketLength"/> or 255 buffers.
    /// </summary>
    public bool TryAppend(PacketBuffer head, PacketBuffer tail)
    {
        ref BufferMetadata h = ref _pool.Metadata(head);
        ref BufferMetadata t = ref _pool.Metadata(tail);
        if (h.PacketLength + t.PacketLength > BufferPool.MaxPacketLength || h.Segments + t.Segments > byte.MaxValue)
            return false;
        int last = head.Index;
        while (true)
        {
            if (last == tail.Index)
                return false; // already in the chain: appending it would make a cycle
            int next = _pool.Metadata(new PacketBuffer(last)).Next;
            if (next < 0)
                break;
            last = next;
        }
        _pool.Metadata(new PacketBuffer(last)).Next = tail.Index;
        h.PacketLength += t.PacketLength;
        h.Segments += t.Segments;
        return true;
    }

    /// <summary>Gives every buffer this cache holds back to the shared ring (a worker stopping).</summary>
    public void Flush()
    {
        _pool.Shared.Enqueue(_stack.AsSpan(0, _count));
        _count = 0;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Push(int index)
    {
        if (_count == _stack.Length)
            Spill();
        _stack[_count++] = index;
    }

    private bool Refill()
    {
        _count = _pool.Shared.Dequeue(_stack.AsSpan(0, _burst));
        return _count > 0;
    }

    private void Spill()
    {
        // Give back the bottom of the stack (the coldest buffers) and keep the hot top.
        int n = _pool.Shared.Enqueue(_stack.AsSpan(0, _burst));
        Array.Copy(_stack, n, _stack, 0, _count - n);
        _count -= n;
    }
}
