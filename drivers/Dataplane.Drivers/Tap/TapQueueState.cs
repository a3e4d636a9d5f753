using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Dataplane.Buffers;
using Dataplane.Native;

namespace Dataplane.Drivers.Tap;

/// <summary>
/// What one tap queue keeps between bursts, touched only by the worker that owns the queue: the
/// pinned bytes of the virtio-net headers, the iovec arrays of readv and writev, and the receive
/// reserve, buffers enough for the longest frame the tap can hand us, ready in the iovecs so that a
/// read needs no allocation before it. After a read only the buffers the frame filled are replaced;
/// the reserve goes back to the pool when the port stops.
/// </summary>
internal sealed class TapQueueState
{
    /// <summary>Most buffers of one transmitted chain (<see cref="BufferMetadata.Segments"/> is a byte).</summary>
    public const int MaxSegments = byte.MaxValue;

    /// <summary>The longest frame a read is sized for: the pool's longest chain.</summary>
    public const int MaxFrameLength = BufferPool.MaxPacketLength;

    private const int ReceiveHeaderAt = 0;
    private const int TransmitHeaderAt = 64;

    // Both headers, a cache line apart, on the pinned object heap: the iovecs hold their addresses.
    private readonly byte[] _headers = GC.AllocateArray<byte>(128, pinned: true);
    private readonly nint _headersAddress;
    private readonly IoVec[] _transmitVectors = new IoVec[1 + MaxSegments];
    private IoVec[] _receiveVectors = [];
    private PacketBuffer[] _reserve = [];
    private BufferPool? _pool;
    private nint _memory;
    private int _room;

    /// <summary>State for the queue read and written through <paramref name="descriptor"/>.</summary>
    public TapQueueState(FileDescriptor descriptor, int index)
    {
        Descriptor = descriptor;
        Index = index;
        _headersAddress = Marshal.UnsafeAddrOfPinnedArrayElement(_headers, 0);
        SetVector(_transmitVectors, 0, _headersAddress + TransmitHeaderAt, TapOffloads.HeaderSize);
    }

    /// <summary>The queue's file descriptor.</summary>
    public FileDescriptor Descriptor { get; }

    /// <summary>The queue's number in its port.</summary>
    public int Index { get; }

    /// <summary>Buffers in the receive reserve.</summary>
    public int ReserveCount { get; private set; }

    /// <summary>Buffers a reserve holds when full: enough for <see cref="MaxFrameLength"/>.</summary>
    public int ReserveSize => _reserve.Length;

    /// <summary>Bytes one reserve buffer takes: the room after the headroom.</summary>
    public int Room => _room;

    /// <summary>The last write failed with EIO: the interface is down on the kernel's side.</summary>
    public bool InterfaceDown { get; set; }

    /// <summary>Where a frame is read when there is no buffer for it, to drain the kernel's queue.</summary>
    public byte[] Discard { get; } = new byte[TapOffloads.HeaderSize + MaxFrameLength + 18];

    /// <summary>The received frame's virtio-net header.</summary>
    public ReadOnlySpan<byte> ReceiveHeader => _headers.AsSpan(ReceiveHeaderAt, TapOffloads.HeaderSize);

    /// <summary>The header of the frame about to be sent.</summary>
    public Span<byte> TransmitHeader => _headers.AsSpan(TransmitHeaderAt, TapOffloads.HeaderSize);

    /// <summary>The buffers of the reserve, in the order a read fills them.</summary>
    public ReadOnlySpan<PacketBuffer> Reserve => _reserve.AsSpan(0, ReserveCount);

    /// <summary>
    /// Serves buffers of <paramref name="pool"/> from now on. A queue keeps to one pool: the reserve
    /// holds its buffers, so another pool is refused while the reserve is not empty.
    /// </summary>
    public void Bind(BufferPool pool)
    {
        if (ReferenceEquals(pool, _pool))
            return;
        if (ReserveCount > 0)
            throw new InvalidOperationException($"tap queue {Index} holds buffers of another pool; stop the port first");
        _pool = pool;
        _room = Math.Min(pool.BufferSize - pool.Headroom, ushort.MaxValue); // DataLength is 16 bits
        int buffers = Math.Min(MaxSegments, (MaxFrameLength + _room - 1) / _room);
        _reserve = new PacketBuffer[buffers];
        _receiveVectors = new IoVec[1 + buffers];
        SetVector(_receiveVectors, 0, _headersAddress + ReceiveHeaderAt, TapOffloads.HeaderSize);
        // Pool.Address takes a GC handle per call; the memory is one pinned block, so keep its base.
        _memory = pool.Address(0);
    }

    /// <summary>The address of the data of <paramref name="buffer"/>, <paramref name="offset"/> bytes in.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private nint DataAddress(BufferPool pool, PacketBuffer buffer, int offset) => _memory + (nint)buffer.Index * pool.BufferSize + offset;

    /// <summary>
    /// Fills the reserve up from <paramref name="cache"/> as far as it allows; returns the reserve's
    /// size now (0: no buffer at all).
    /// </summary>
    public int TopUp(BufferCache cache)
    {
        BufferPool pool = _pool!;
        int count = ReserveCount;
        while (count < _reserve.Length && cache.TryAllocate(out PacketBuffer buffer))
        {
            _reserve[count] = buffer;
            SetVector(_receiveVectors, 1 + count, DataAddress(pool, buffer, pool.Headroom), _room);
            count++;
        }
        ReserveCount = count;
        return count;
    }

    /// <summary>The iovecs of a read: the header, then every reserve buffer.</summary>
    public ReadOnlySpan<IoVec> ReceiveVectors => _receiveVectors.AsSpan(0, 1 + ReserveCount);

    /// <summary>
    /// Takes the first <paramref name="used"/> reserve buffers out of the reserve (a frame is in
    /// them); the rest move to the front, in order, with their iovecs.
    /// </summary>
    public void Take(int used)
    {
        int rest = ReserveCount - used;
        Array.Copy(_reserve, used, _reserve, 0, rest);
        Array.Copy(_receiveVectors, 1 + used, _receiveVectors, 1, rest);
        ReserveCount = rest;
    }

    /// <summary>
    /// Gives the reserve back to the pool's shared ring (the port stopping: its workers are gone, so
    /// their caches cannot take it). The buffers were never handed out, so nothing else refers to them.
    /// </summary>
    public void ReturnReserve()
    {
        if (_pool is null || ReserveCount == 0)
            return;
        Span<int> indices = stackalloc int[ReserveCount];
        for (int i = 0; i < indices.Length; i++)
            indices[i] = _reserve[i].Index;
        _pool.Shared.Enqueue(indices);
        ReserveCount = 0;
    }

    /// <summary>
    /// Points the transmit iovecs at the header and then each buffer of the chain at
    /// <paramref name="head"/>; returns how many iovecs, or -1 for a chain longer than
    /// <see cref="MaxSegments"/> (or a cycle).
    /// </summary>
    public int PrepareTransmit(BufferPool pool, PacketBuffer head)
    {
        int vectors = 1;
        for (int index = head.Index; index >= 0;)
        {
            if (vectors > MaxSegments)
                return -1;
            var buffer = new PacketBuffer(index);
            ref BufferMetadata m = ref pool.Metadata(buffer);
            SetVector(_transmitVectors, vectors++, DataAddress(pool, buffer, m.DataOffset), m.DataLength);
            index = m.Next;
        }
        return vectors;
    }

    /// <summary>The first <paramref name="count"/> transmit iovecs.</summary>
    public ReadOnlySpan<IoVec> TransmitVectors(int count) => _transmitVectors.AsSpan(0, count);

    // IoVec is struct iovec: iov_base, then iov_len, one machine word each (its layout is checked in
    // Dataplane.Native.Tests). The drivers have no unsafe code, so the words are written as nint;
    // the addresses are of pinned memory (the pool's and _headers), valid for the process's life.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void SetVector(IoVec[] vectors, int i, nint address, int length)
    {
        Span<nint> words = MemoryMarshal.Cast<IoVec, nint>(vectors.AsSpan(i, 1));
        words[0] = address;
        words[1] = length;
    }
}
