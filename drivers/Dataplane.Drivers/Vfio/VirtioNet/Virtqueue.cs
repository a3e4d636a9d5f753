using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;
using Dataplane.Native;

namespace Dataplane.Drivers.Vfio.VirtioNet;

/// <summary>
/// One split virtqueue (virtio 1.2 §2.7) in DMA memory, seen from the driver: the descriptor table
/// and the available ring (driver area) are ours to write, the used ring (device area) the device's.
/// Indices are free-running <c>u16</c>s, masked by <see cref="Size"/> - 1 (a power of two). Free
/// descriptors are kept in a shadow list here, never read back from device-writable memory. Every
/// access to ring memory is volatile (<see cref="Mmio"/>). Owned by one thread.
/// </summary>
internal sealed class Virtqueue
{
    /// <summary>VIRTQ_DESC_F_NEXT: the descriptor continues in <c>next</c>.</summary>
    public const ushort DescriptorNext = 1;

    /// <summary>VIRTQ_DESC_F_WRITE: the buffer is device-writable (receive).</summary>
    public const ushort DescriptorWrite = 2;

    /// <summary>VIRTQ_AVAIL_F_NO_INTERRUPT: the driver asks not to be interrupted (§2.7.7).</summary>
    public const ushort AvailNoInterrupt = 1;

    /// <summary>VIRTQ_USED_F_NO_NOTIFY: the device asks not to be notified (§2.7.10).</summary>
    public const ushort UsedNoNotify = 1;

    /// <summary>Bytes of one descriptor (<c>struct virtq_desc</c>: addr u64, len u32, flags u16, next u16).</summary>
    public const int DescriptorSize = 16;

    /// <summary>The ring memory needed for a queue of <paramref name="size"/> entries.</summary>
    public static int MemoryBytes(int size) => UsedOffset(size) + 6 + 8 * size;

    // §2.7: descriptor table aligned 16, driver area 2, device area 4; the used ring starts on its own
    // cache line so the device's writes do not share one with ours.
    private static int AvailOffset(int size) => DescriptorSize * size;
    private static int UsedOffset(int size) => (AvailOffset(size) + 6 + 2 * size + 63) & ~63;

    private readonly DmaRegion _memory;
    private readonly int _avail;
    private readonly int _used;
    private readonly ushort _mask;
    private readonly ushort[] _free; // a stack of free descriptor ids
    private int _freeCount;
    private ushort _availIndex; // the next avail ring slot, published by Publish
    private ushort _usedIndex;  // the next used ring entry to read

    /// <summary>A queue of <paramref name="size"/> entries (a power of two) over <paramref name="memory"/> (<see cref="MemoryBytes"/> of zeroed DMA memory).</summary>
    public Virtqueue(int queueIndex, int size, DmaRegion memory)
    {
        if (size < 2 || size > 32768 || !BitOperations.IsPow2(size))
            throw new ArgumentOutOfRangeException(nameof(size), size, "a power of two from 2 to 32768");
        ArgumentOutOfRangeException.ThrowIfLessThan(memory.Length, MemoryBytes(size));
        QueueIndex = (ushort)queueIndex;
        Size = (ushort)size;
        _mask = (ushort)(size - 1);
        _memory = memory;
        _avail = AvailOffset(size);
        _used = UsedOffset(size);
        memory.Span.Clear();
        _free = new ushort[size];
        for (int i = 0; i < size; i++)
            _free[i] = (ushort)(size - 1 - i); // descriptor 0 comes out first
        _freeCount = size;
    }

    /// <summary>The virtqueue's number in the device (receiveq i = 2i, transmitq i = 2i + 1).</summary>
    public ushort QueueIndex { get; }

    /// <summary>Entries.</summary>
    public ushort Size { get; }

    /// <summary>The descriptor table's IOVA, for queue_desc.</summary>
    public ulong DescriptorTableIova => _memory.Iova;

    /// <summary>The available ring's IOVA, for queue_driver.</summary>
    public ulong DriverAreaIova => _memory.Iova + (ulong)_avail;

    /// <summary>The used ring's IOVA, for queue_device.</summary>
    public ulong DeviceAreaIova => _memory.Iova + (ulong)_used;

    /// <summary>Descriptors free now.</summary>
    public int FreeDescriptors => _freeCount;

    /// <summary>Takes a free descriptor id; the caller checked <see cref="FreeDescriptors"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ushort TakeDescriptor()
    {
        Debug.Assert(_freeCount > 0);
        return _free[--_freeCount];
    }

    /// <summary>Gives descriptor <paramref name="id"/> back.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void FreeDescriptor(ushort id) => _free[_freeCount++] = id;

    /// <summary>Writes descriptor <paramref name="id"/> (§2.7.5).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void WriteDescriptor(ushort id, ulong address, uint length, ushort flags, ushort next)
    {
        Span<byte> m = _memory.Span;
        int at = (id & _mask) * DescriptorSize;
        Mmio.Write64(m, at, address);
        Mmio.Write32(m, at + 8, length);
        Mmio.Write16(m, at + 12, flags);
        Mmio.Write16(m, at + 14, next);
    }

    /// <summary>
    /// Puts the chain at <paramref name="head"/> in the next available ring slot (§2.7.13.2). Not
    /// seen by the device until <see cref="Publish"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void MakeAvailable(ushort head)
    {
        Mmio.Write16(_memory.Span, _avail + 4 + 2 * (_availIndex & _mask), head);
        _availIndex++;
    }

    /// <summary>
    /// Publishes the avail idx (§2.7.13.3): a volatile store, which x86 and the CLR keep after the
    /// descriptor and ring stores before it (the write barrier the spec asks for before idx).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Publish() => Mmio.Write16(_memory.Span, _avail + 2, _availIndex);

    /// <summary>
    /// Whether the device wants a notification for what was just published (§2.7.13.4): a full
    /// barrier first, so the idx store is visible before the flag is read (or the device could go
    /// to sleep between our idx store and its flag store, and neither side would look again).
    /// </summary>
    public bool NeedsNotification()
    {
        Mmio.FullBarrier();
        return (Mmio.Read16(_memory.Span, _used) & UsedNoNotify) == 0;
    }

    /// <summary>Sets or clears VIRTQ_AVAIL_F_NO_INTERRUPT (§2.7.7): whether the device should interrupt us when it uses buffers.</summary>
    public void SetInterrupts(bool on) => Mmio.Write16(_memory.Span, _avail, on ? (ushort)0 : AvailNoInterrupt);

    /// <summary>
    /// Used entries the device has published and we have not read: the used idx read with acquire,
    /// so the entries it covers are read after it (§2.7.14: read idx, then the ring).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int UsedCount() => (ushort)(Mmio.Read16(_memory.Span, _used + 2) - _usedIndex);

    /// <summary>The <paramref name="k"/>th unread used entry (<c>struct virtq_used_elem</c>: id, len).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public (uint Id, uint Length) Used(int k)
    {
        Span<byte> m = _memory.Span;
        int at = _used + 4 + 8 * ((_usedIndex + k) & _mask);
        return (Mmio.Read32(m, at), Mmio.Read32(m, at + 4));
    }

    /// <summary>Marks <paramref name="n"/> used entries read.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void ConsumeUsed(int n) => _usedIndex += (ushort)n;
}
