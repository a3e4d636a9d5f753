using System.Runtime.CompilerServices;
using Dataplane.Buffers;
using Dataplane.Native;

namespace Dataplane.Drivers.AfXdp;

/// <summary>
/// The dataplane's buffer pool as an AF_XDP UMEM: every pool buffer is a chunk (unaligned chunks,
/// XDP_UMEM_UNALIGNED_CHUNK_FLAG, because a buffer is not a power of two), so a frame the kernel
/// receives lands in the buffer the stack then holds, and a frame the stack sends goes from its own
/// buffer: no copy between the UMEM and the pool either way (net/xdp/xsk_buff_pool.c,
/// Documentation/networking/af_xdp.rst, "Unaligned chunks"). It also keeps account of the buffers
/// on the fill ring, so that they return to the pool when the socket closes.
/// </summary>
/// <remarks>
/// Addresses are offsets into the pool's memory. A buffer goes on the fill ring as its start; the
/// kernel puts a frame <see cref="XdpConstants.PacketHeadroom"/> (256) bytes after the chunk's
/// start plus the UMEM headroom, which is the pool's headroom less those 256, so that a received
/// frame starts where a fresh buffer's data starts. The RX descriptor carries the chunk's start in
/// its low 48 bits and the frame's offset in it in the high 16 (XSK_UNALIGNED_BUF_OFFSET_SHIFT). A
/// TX descriptor is the plain address of the frame's first byte.
/// </remarks>
internal sealed class AfXdpUmem
{
    /// <summary>XSK_UNALIGNED_BUF_OFFSET_SHIFT (include/uapi/linux/if_xdp.h): where an unaligned address's offset starts.</summary>
    internal const int OffsetShift = 48;

    /// <summary>The low 48 bits: the chunk's address (XSK_UNALIGNED_BUF_ADDR_MASK).</summary>
    internal const ulong AddressMask = (1ul << OffsetShift) - 1;

    private readonly ulong _divisor;   // the pool's buffer size
    private readonly ulong _reciprocal; // ceil(2^64 / buffer size), for an exact division of a 32-bit offset (Lemire, "Faster remainder by direct computation")
    private readonly bool[] _held;      // per buffer: on the fill ring (or in the kernel's hands from it)

    /// <summary>The UMEM over <paramref name="pool"/>; throws <see cref="NativeException"/> when the pool's layout cannot be one.</summary>
    public AfXdpUmem(BufferPool pool, string where)
    {
        Pool = pool;
        // xdp_umem_reg: a chunk of 2 KiB to a page; the frame's headroom inside it: the kernel's 256 bytes.
        if (pool.BufferSize < XdpConstants.MinimumChunkSize || pool.BufferSize > Environment.SystemPageSize)
            throw new NativeException($"{where}: the buffer pool's {pool.BufferSize}-byte buffers cannot be AF_XDP chunks (2048 to {Environment.SystemPageSize} bytes)");
        if (pool.Headroom < XdpConstants.PacketHeadroom)
            throw new NativeException($"{where}: the buffer pool's headroom ({pool.Headroom}) is less than the {XdpConstants.PacketHeadroom} bytes the kernel leaves in front of a received frame");
        if (pool.MemoryBytes > uint.MaxValue)
            throw new NativeException($"{where}: the buffer pool's {pool.MemoryBytes} bytes are more than an AF_XDP UMEM of this driver addresses (4 GiB)");
        _divisor = (ulong)pool.BufferSize;
        _reciprocal = ulong.MaxValue / _divisor + 1;
        _held = new bool[pool.Count];
    }

    /// <summary>The pool the UMEM is.</summary>
    public BufferPool Pool { get; }

    /// <summary>The address of the UMEM's first byte: the pool's first buffer.</summary>
    public nint Start => Pool.Address(0);

    /// <summary>The UMEM's length: the pool's memory.</summary>
    public ulong Length => (ulong)Pool.MemoryBytes;

    /// <summary>The chunk size: a pool buffer.</summary>
    public uint ChunkSize => (uint)Pool.BufferSize;

    /// <summary>The UMEM headroom: the pool's headroom less the kernel's own 256 bytes.</summary>
    public uint Headroom => (uint)Pool.Headroom - XdpConstants.PacketHeadroom;

    /// <summary>Buffers lent to the fill ring now (for tests and the accounts at close).</summary>
    public int HeldCount
    {
        get
        {
            int n = 0;
            foreach (bool h in _held)
                n += h ? 1 : 0;
            return n;
        }
    }

    /// <summary>The UMEM address of buffer <paramref name="buffer"/>'s first byte.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong ChunkOf(PacketBuffer buffer) => (ulong)(uint)buffer.Index * _divisor;

    /// <summary>
    /// The buffer the UMEM offset <paramref name="offset"/> lies in, and where in it: false when it
    /// is outside the pool (the kernel wrote it; it cannot happen, but a check is cheaper than trust).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryLocate(ulong offset, out PacketBuffer buffer, out int within)
    {
        if (offset >= Length)
        {
            buffer = PacketBuffer.None;
            within = 0;
            return false;
        }
        // offset < 2^32: the high half of offset * ceil(2^64 / d) is offset / d exactly.
        int index = (int)Math.BigMul(offset, _reciprocal, out _);
        buffer = new PacketBuffer(index);
        within = (int)(offset - (ulong)index * _divisor);
        return true;
    }

    /// <summary>The kernel now holds <paramref name="buffer"/> (put on the fill ring).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Lend(PacketBuffer buffer) => _held[buffer.Index] = true;

    /// <summary>The kernel gave <paramref name="buffer"/> back (off the RX ring).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Return(PacketBuffer buffer) => _held[buffer.Index] = false;

    /// <summary>
    /// After the socket is closed: every buffer still on the fill ring (fresh, with its one
    /// reference) back into the pool's shared free list (not a worker's cache: the worker may be
    /// running other queues). Control path. Returns how many buffers that was.
    /// </summary>
    public int ReturnAllHeld()
    {
        int returned = 0;
        Span<int> one = stackalloc int[1];
        for (int index = 0; index < _held.Length; index++)
        {
            if (!_held[index])
                continue;
            _held[index] = false;
            Pool.Metadata(new PacketBuffer(index)).ReferenceCount = 0;
            one[0] = index;
            Pool.Shared.Enqueue(one);
            returned++;
        }
        return returned;
    }
}
