using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Dataplane.Engine;

/// <summary>
/// A bounded lock-free ring with one producer thread and one consumer thread, moved in bursts: how a
/// worker hands a packet (a buffer handle) that arrived on the wrong core to the core that owns its
/// flow. The scheme is Lamport's single-producer single-consumer queue (1983) with the cache-line
/// care of MCRingBuffer (Lee, Bu and Chandranmenon, IPDPS 2010): the producer alone writes the tail
/// and the consumer alone writes the head, each on its own cache line, and each side keeps a
/// private copy of the other's index and rereads the shared one only when the copy says the ring is
/// full (or empty), so in steady state the lines do not bounce between the cores on every burst.
/// </summary>
/// <typeparam name="T">The element: a handle such as <c>int</c> or a buffer struct, or a class.</typeparam>
/// <remarks>
/// Indices are 64-bit counters that only grow (slot = index &amp; mask), so all slots are usable and
/// full and empty need no spare slot; they cannot wrap in the life of a process.
/// Exactly one thread may call the producer members (<see cref="TryEnqueue(ReadOnlySpan{T})"/>) and
/// one the consumer members (<see cref="TryDequeue(Span{T})"/>); counters may be read anywhere.
/// </remarks>
internal sealed class SpscRing<T>
{
    private readonly T[] _slots;
    private readonly long _mask;
    private SpscProducerLine _producer;
    private SpscConsumerLine _consumer;

    /// <summary>A ring of <paramref name="capacity"/> slots, which must be a power of two.</summary>
    public SpscRing(int capacity)
    {
        if (capacity < 1 || !BitOperations.IsPow2(capacity))
            throw new ArgumentOutOfRangeException(nameof(capacity), capacity, "the capacity must be a power of two");
        _slots = new T[capacity];
        _mask = capacity - 1;
    }

    /// <summary>Slots in the ring.</summary>
    public int Capacity => _slots.Length;

    /// <summary>Elements in the ring now: a snapshot, exact only when neither side is moving.</summary>
    public int Count
    {
        get
        {
            // Head first: it only grows toward the tail, so a tail read after it is never behind it.
            long head = Volatile.Read(ref _consumer.Head);
            long tail = Volatile.Read(ref _producer.Tail);
            return (int)Math.Min(tail - head, _slots.Length);
        }
    }

    /// <summary>Elements the producer has put in the ring, ever.</summary>
    public long Enqueued => Volatile.Read(ref _producer.Tail);

    /// <summary>Elements the consumer has taken from the ring, ever.</summary>
    public long Dequeued => Volatile.Read(ref _consumer.Head);

    /// <summary>Enqueue calls that found too little room for all their elements.</summary>
    public long FullCount => Volatile.Read(ref _producer.FullCount);

    /// <summary>Elements refused because the ring was full; the producer drops them.</summary>
    public long DropCount => Volatile.Read(ref _producer.DropCount);

    /// <summary>
    /// Producer: appends as many of <paramref name="items"/> as fit, in order, and returns how many;
    /// those left over are counted in <see cref="DropCount"/> and remain the caller's to drop.
    /// </summary>
    public int TryEnqueue(ReadOnlySpan<T> items)
    {
        long tail = _producer.Tail; // written only by this thread: a plain read is current
        long capacity = _slots.Length;
        long free = capacity - (tail - _producer.CachedHead);
        if (free < items.Length)
        {
            // Acquire: pairs with the consumer's release of Head, so its reads of the slots it
            // freed happen before our writes into them below.
            _producer.CachedHead = Volatile.Read(ref _consumer.Head);
            free = capacity - (tail - _producer.CachedHead);
        }
        int n = (int)Math.Min(free, items.Length);
        if (n < items.Length)
        {
            _producer.FullCount++;
            _producer.DropCount += items.Length - n;
            if (n == 0)
                return 0;
        }
        CopyIn(items[..n], (int)(tail & _mask));
        // Release: the slot writes above are visible to the consumer before the tail that covers them.
        Volatile.Write(ref _producer.Tail, tail + n);
        return n;
    }

    /// <summary>Producer: appends one element; false, and counted, when the ring is full.</summary>
    public bool TryEnqueue(T item) => TryEnqueue(new ReadOnlySpan<T>(in item)) == 1;

    /// <summary>Consumer: takes up to <paramref name="destination"/>.Length elements, oldest first; returns how many.</summary>
    public int TryDequeue(Span<T> destination)
    {
        long head = _consumer.Head; // written only by this thread
        long available = _consumer.CachedTail - head;
        if (available < destination.Length)
        {
            // Acquire: pairs with the producer's release of Tail, so the slot writes it published
            // happen before our reads of them below.
            _consumer.CachedTail = Volatile.Read(ref _producer.Tail);
            available = _consumer.CachedTail - head;
        }
        int n = (int)Math.Min(available, destination.Length);
        if (n == 0)
            return 0;
        CopyOut(destination[..n], (int)(head & _mask));
        // Release: our reads (and clears) of the slots are done before the producer may reuse them.
        Volatile.Write(ref _consumer.Head, head + n);
        return n;
    }

    /// <summary>Consumer: takes the oldest element; false when the ring is empty.</summary>
    public bool TryDequeue(out T item)
    {
        item = default!;
        return TryDequeue(new Span<T>(ref item)) == 1;
    }

    // At most two copies: up to the end of the array, then from its start.
    private void CopyIn(ReadOnlySpan<T> items, int start)
    {
        int first = Math.Min(items.Length, _slots.Length - start);
        items[..first].CopyTo(_slots.AsSpan(start, first));
        items[first..].CopyTo(_slots);
    }

    private void CopyOut(Span<T> destination, int start)
    {
        int first = Math.Min(destination.Length, _slots.Length - start);
        Span<T> run = _slots.AsSpan(start, first);
        Span<T> wrapped = _slots.AsSpan(0, destination.Length - first);
        run.CopyTo(destination);
        wrapped.CopyTo(destination[first..]);
        // A slot must not keep a packet object alive after it has been handed over (JIT-time constant).
        if (RuntimeHelpers.IsReferenceOrContainsReferences<T>())
        {
            run.Clear();
            wrapped.Clear();
        }
    }
}

// Each side's line: the index it alone writes, its copy of the other side's index, its counters.
// 128 bytes of padding on both sides keep it apart from the other side's line and from the ring's
// read-only fields even where the adjacent-line prefetcher fetches lines in pairs (Intel), as DPDK's
// RTE_CACHE_GUARD does. Outside the generic class: a generic type may not have an explicit layout.

/// <summary>The producer's cache line of a <see cref="SpscRing{T}"/>.</summary>
[StructLayout(LayoutKind.Explicit, Size = 320)]
internal struct SpscProducerLine
{
    /// <summary>Next index to write; written by the producer only, with release semantics.</summary>
    [FieldOffset(128)] public long Tail;

    /// <summary>The producer's last reading of the consumer's head.</summary>
    [FieldOffset(136)] public long CachedHead;

    /// <summary>Enqueue calls that could not place every element.</summary>
    [FieldOffset(144)] public long FullCount;

    /// <summary>Elements refused for want of room.</summary>
    [FieldOffset(152)] public long DropCount;
}

/// <summary>The consumer's cache line of a <see cref="SpscRing{T}"/>.</summary>
[StructLayout(LayoutKind.Explicit, Size = 320)]
internal struct SpscConsumerLine
{
    /// <summary>Next index to read; written by the consumer only, with release semantics.</summary>
    [FieldOffset(128)] public long Head;

    /// <summary>The consumer's last reading of the producer's tail.</summary>
    [FieldOffset(136)] public long CachedTail;
}
