using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace Dataplane.Native;

/// <summary>Which of an AF_XDP socket's four rings, and so who produces into it.</summary>
public enum XdpRingKind
{
    /// <summary>RX: the kernel produces received frames (<see cref="XdpDesc"/>), the process consumes them.</summary>
    Rx,
    /// <summary>TX: the process produces frames to send (<see cref="XdpDesc"/>), the kernel consumes them.</summary>
    Tx,
    /// <summary>Fill: the process produces free chunk addresses (<c>u64</c>) for the kernel to receive into.</summary>
    Fill,
    /// <summary>Completion: the kernel produces the addresses (<c>u64</c>) of chunks it has finished sending.</summary>
    Completion,
}

/// <summary>
/// One mapped AF_XDP ring, seen from its one user-space end: the producer of the TX and fill rings,
/// the consumer of the RX and completion rings (the kernel's Documentation/networking/af_xdp.rst,
/// "Rings"). The protocol is libxdp's <c>xsk.h</c> (<c>xsk_ring_prod__reserve / submit</c>,
/// <c>xsk_ring_cons__peek / release</c>): indices are free-running <c>u32</c>s masked by
/// <see cref="Mask"/>; the other side's index is read with acquire (<see cref="Volatile.Read(ref uint)"/>)
/// only when the cached copy runs out, and this side's index is published with release
/// (<see cref="Volatile.Write(ref uint, uint)"/>) after the entries are written or read. The kernel's
/// side pairs with them (net/xdp/xsk_queue.h, "the producer/consumer memory barriers").
/// Owned by one thread; allocation-free; nothing here throws or checks on the data path.
/// </summary>
public sealed unsafe class XdpRing : IDisposable
{
    private readonly PinnedMemory _mapping;
    private readonly uint* _producer;
    private readonly uint* _consumer;
    private readonly uint* _flags;
    private readonly byte* _entries;

    // The producer keeps its own index and a consumer index plus Size, so that free = cached
    // consumer - cached producer needs no addition on the common path (as xsk.h's cached_cons).
    private uint _cachedProducer;
    private uint _cachedConsumer;

    internal XdpRing(PinnedMemory mapping, in XdpRingOffset offsets, uint size, XdpRingKind kind)
    {
        Debug.Assert(BitOperations.IsPow2(size));
        _mapping = mapping;
        byte* b = mapping.Pointer;
        _producer = (uint*)(b + offsets.Producer);
        _consumer = (uint*)(b + offsets.Consumer);
        _flags = (uint*)(b + offsets.Flags);
        _entries = b + offsets.Descriptors;
        Size = size;
        Mask = size - 1;
        Kind = kind;
        _cachedProducer = Volatile.Read(ref *_producer);
        _cachedConsumer = Volatile.Read(ref *_consumer);
        if (IsProducer)
            _cachedConsumer += size;
    }

    /// <summary>The entry count, a power of two.</summary>
    public uint Size { get; }

    /// <summary><see cref="Size"/> - 1: an index masked by it is the entry's slot.</summary>
    public uint Mask { get; }

    /// <summary>Which ring this is.</summary>
    public XdpRingKind Kind { get; }

    /// <summary>True for the TX and fill rings, where this process produces.</summary>
    public bool IsProducer => Kind is XdpRingKind.Tx or XdpRingKind.Fill;

    /// <summary>
    /// The XDP_RING_NEED_WAKEUP bit of the ring's flags word (bound with
    /// <see cref="XdpBindFlags.UseNeedWakeup"/>): the kernel will not look at the ring again until
    /// kicked, TX by <see cref="XdpSocket.KickTransmit"/> and fill by <see cref="XdpSocket.KickReceive"/>
    /// or poll(2).
    /// </summary>
    public bool NeedsWakeup
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => (Volatile.Read(ref *_flags) & XdpConstants.RingNeedWakeup) != 0;
    }

    /// <summary>
    /// Producer: how many entries are free, reading the consumer index again only if fewer than
    /// <paramref name="wanted"/> were free by the cached one (xsk.h, xsk_prod_nb_free).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public uint FreeCount(uint wanted)
    {
        uint free = _cachedConsumer - _cachedProducer;
        if (free >= wanted)
            return free;
        _cachedConsumer = Volatile.Read(ref *_consumer) + Size;
        return _cachedConsumer - _cachedProducer;
    }

    /// <summary>
    /// Producer: reserves <paramref name="count"/> entries starting at <paramref name="index"/>, all or
    /// none: returns <paramref name="count"/>, or 0 if there is not that much room. Write them with
    /// <see cref="Descriptor"/> / <see cref="Address"/>, then <see cref="Submit"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public uint Reserve(uint count, out uint index)
    {
        index = _cachedProducer;
        if (FreeCount(count) < count)
            return 0;
        _cachedProducer += count;
        return count;
    }

    /// <summary>Producer: hands the next <paramref name="count"/> reserved entries to the kernel (a release store of the producer index).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Submit(uint count) => Volatile.Write(ref *_producer, *_producer + count);

    /// <summary>
    /// Consumer: up to <paramref name="maximum"/> entries the kernel has produced, starting at
    /// <paramref name="index"/>: returns how many (0 if none). The producer index is read again
    /// only when the cached one is used up (xsk.h, xsk_cons_nb_avail). Read them with
    /// <see cref="Descriptor"/> / <see cref="Address"/>, then <see cref="Release"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public uint Peek(uint maximum, out uint index)
    {
        uint available = _cachedProducer - _cachedConsumer;
        if (available == 0)
        {
            _cachedProducer = Volatile.Read(ref *_producer);
            available = _cachedProducer - _cachedConsumer;
        }
        if (available > maximum)
            available = maximum;
        index = _cachedConsumer;
        _cachedConsumer += available;
        return available;
    }

    /// <summary>Consumer: gives back the last <paramref name="count"/> peeked entries unread, to be peeked again.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Cancel(uint count) => _cachedConsumer -= count;

    /// <summary>Consumer: returns the next <paramref name="count"/> peeked entries' slots to the kernel (a release store of the consumer index).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Release(uint count) => Volatile.Write(ref *_consumer, *_consumer + count);

    /// <summary>RX and TX rings: the descriptor at free-running index <paramref name="index"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref XdpDesc Descriptor(uint index)
    {
        Debug.Assert(Kind is XdpRingKind.Rx or XdpRingKind.Tx);
        return ref ((XdpDesc*)_entries)[index & Mask];
    }

    /// <summary>Fill and completion rings: the UMEM address at free-running index <paramref name="index"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref ulong Address(uint index)
    {
        Debug.Assert(Kind is XdpRingKind.Fill or XdpRingKind.Completion);
        return ref ((ulong*)_entries)[index & Mask];
    }

    /// <summary>Unmaps the ring (munmap(2)); the kernel frees it once the socket is closed too.</summary>
    public void Dispose() => _mapping.Dispose();

    /// <summary>The bytes to map for a ring of <paramref name="size"/> entries: the descriptor array's offset plus the array (xsk.c, xsk_mmap checks no more).</summary>
    internal static nuint MappingLength(in XdpRingOffset offsets, uint size, XdpRingKind kind) =>
        (nuint)offsets.Descriptors + (nuint)size * (nuint)(kind is XdpRingKind.Rx or XdpRingKind.Tx ? sizeof(XdpDesc) : sizeof(ulong));
}
