using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Dataplane.Buffers;

/// <summary>
/// The pool's shared ring of free buffer indices: bounded, lock-free, multi-producer and
/// multi-consumer, moved in bursts. This is DPDK's rte_ring scheme: each side has a head that
/// threads advance with one compare-and-swap per burst to reserve slots, and a tail published in
/// reservation order once the slots are written or read, so a burst costs one atomic operation,
/// not one per element. Workers touch it only when their cache runs empty or overflows.
/// </summary>
internal sealed class RefillRing
{
    private readonly int[] _slots;
    private readonly uint _mask;
    private Indices _producer;
    private Indices _consumer;

    /// <summary>A ring for up to <paramref name="capacity"/> indices, rounded up to a power of two.</summary>
    public RefillRing(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        int size = (int)BitOperations.RoundUpToPowerOf2((uint)capacity);
        _slots = new int[size];
        _mask = (uint)size - 1;
    }

    /// <summary>Slots in the ring.</summary>
    public int Capacity => _slots.Length;

    /// <summary>Indices in the ring now (a snapshot; other threads move it).</summary>
    public int Count => (int)(Volatile.Read(ref _producer.Tail) - Volatile.Read(ref _consumer.Tail));

    /// <summary>Adds as many of <paramref name="items"/> as fit; returns how many.</summary>
    public int Enqueue(ReadOnlySpan<int> items)
    {
        uint head, n;
        var spin = new SpinWait();
        while (true)
        {
            head = Volatile.Read(ref _producer.Head);
            uint free = (uint)_slots.Length + Volatile.Read(ref _consumer.Tail) - head;
            n = Math.Min(free, (uint)items.Length);
            if (n == 0)
                return 0;
            if (Interlocked.CompareExchange(ref _producer.Head, head + n, head) == head)
                break;
            spin.SpinOnce(sleep1Threshold: -1);
        }
        for (uint i = 0; i < n; i++)
            _slots[(head + i) & _mask] = items[(int)i];
        Publish(ref _producer.Tail, head, head + n);
        return (int)n;
    }

    /// <summary>Takes up to <paramref name="items"/>.Length indices; returns how many.</summary>
    public int Dequeue(Span<int> items)
    {
        uint head, n;
        var spin = new SpinWait();
        while (true)
        {
            head = Volatile.Read(ref _consumer.Head);
            uint available = Volatile.Read(ref _producer.Tail) - head;
            n = Math.Min(available, (uint)items.Length);
            if (n == 0)
                return 0;
            if (Interlocked.CompareExchange(ref _consumer.Head, head + n, head) == head)
                break;
            spin.SpinOnce(sleep1Threshold: -1);
        }
        for (uint i = 0; i < n; i++)
            items[(int)i] = _slots[(head + i) & _mask];
        Publish(ref _consumer.Tail, head, head + n);
        return (int)n;
    }

    // Tails move in the order the heads were reserved: wait for the bursts reserved before ours to
    // publish, then publish ours with release semantics so the slot writes are seen before it.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Publish(ref uint tail, uint from, uint to)
    {
        var spin = new SpinWait();
        while (Volatile.Read(ref tail) != from)
            spin.SpinOnce(sleep1Threshold: -1);
        Volatile.Write(ref tail, to);
    }

    // Head and tail of a side sit 64 bytes apart and the sides 128 bytes apart, so that no two
    // indices written by different threads share a cache line wherever the object lands.
    [StructLayout(LayoutKind.Explicit, Size = 128)]
    private struct Indices
    {
        [FieldOffset(0)] public uint Head;
        [FieldOffset(64)] public uint Tail;
    }
}
