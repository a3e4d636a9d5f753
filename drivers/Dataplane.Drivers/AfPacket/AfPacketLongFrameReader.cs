using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Dataplane.Buffers;
using Dataplane.Native;

namespace Dataplane.Drivers.AfPacket;

/// <summary>
/// The way in for a frame longer than a receive slot (a super-frame, a frame above the MTU the slots
/// were sized for): the kernel marked its slot TP_STATUS_COPY and queued the whole frame on the
/// socket (PACKET_COPY_THRESH), and one recvmsg scatters it, behind its virtio-net header, straight
/// into a chain of pool buffers: one copy, as for a frame in a slot. The queue holds only such
/// frames, in the order of their slots, so the frame at its head is the one of the slot being read.
/// The header bytes and the iovec array are allocated once, pinned; owned by the queue's worker.
/// </summary>
internal sealed class AfPacketLongFrameReader
{
    /// <summary>Most buffers of one chain (<see cref="BufferMetadata.Segments"/> is a byte).</summary>
    public const int MaxSegments = byte.MaxValue;

    /// <summary>An 802.1Q tag: TPID and TCI.</summary>
    private const int VlanTagLength = 4;

    /// <summary>The two MAC addresses, after which a tag goes.</summary>
    private const int MacAddressesLength = 12;

    // The header on the pinned object heap: the first iovec holds its address for the port's life.
    private readonly byte[] _header = GC.AllocateArray<byte>(16, pinned: true);
    private readonly byte[] _discard = new byte[64];
    // The header, then up to one iovec more than buffers: a tag put back splits the first buffer in two.
    private readonly IoVec[] _vectors = new IoVec[2 + MaxSegments];
    private readonly PacketBuffer[] _chain = new PacketBuffer[MaxSegments];
    private BufferPool? _pool;
    private nint _memory;

    /// <summary>A reader whose first iovec points at its header.</summary>
    public AfPacketLongFrameReader() =>
        SetVector(0, Marshal.UnsafeAddrOfPinnedArrayElement(_header, 0), VirtioNetHeader.Size);

    /// <summary>The virtio-net header of the frame read last.</summary>
    public ref readonly VirtioNetHeader Header => ref MemoryMarshal.AsRef<VirtioNetHeader>(_header.AsSpan(0, VirtioNetHeader.Size));

    /// <summary>
    /// Reads the frame of <paramref name="length"/> bytes (its slot's tp_len) at the head of
    /// <paramref name="socket"/>'s queue into buffers of <paramref name="cache"/>, with the VLAN tag
    /// <paramref name="tag"/> (TPID and TCI; 0: none) put back after the MAC addresses. Returns the
    /// chain's head with its buffers' lengths, the frame's length and its buffer count set, or
    /// <see cref="PacketBuffer.None"/>: the frame was dropped (no buffers, too long for a chain, or
    /// not the frame expected), and it is off the queue either way.
    /// </summary>
    public PacketBuffer Read(PacketSocket socket, BufferCache cache, int length, uint tag)
    {
        BufferPool pool = cache.Pool;
        if (!ReferenceEquals(pool, _pool))
        {
            _pool = pool;
            _memory = pool.Address(0); // one pinned block: buffer i is i buffer sizes in
        }
        int tagLength = tag == 0 ? 0 : VlanTagLength;
        int total = length + tagLength;
        int room = Math.Min(pool.DataRoom, ushort.MaxValue); // DataLength is 16 bits
        int buffers = (total + room - 1) / room;
        if (length < MacAddressesLength + 2 || total > BufferPool.MaxPacketLength || buffers > MaxSegments || !Allocate(cache, buffers))
        {
            Discard(socket);
            return PacketBuffer.None;
        }

        int vectors = 1;
        for (int i = 0; i < buffers; i++)
        {
            nint data = _memory + (nint)_chain[i].Index * pool.BufferSize + pool.Headroom;
            int bytes = Math.Min(room, total - i * room);
            if (i == 0 && tagLength != 0)
            {
                // The tag's four bytes stay empty in the first buffer; recvmsg fills around them.
                SetVector(vectors++, data, MacAddressesLength);
                SetVector(vectors++, data + MacAddressesLength + tagLength, bytes - MacAddressesLength - tagLength);
            }
            else
            {
                SetVector(vectors++, data, bytes);
            }
        }
        nint n = socket.ReceiveScattered(_vectors.AsSpan(0, vectors));
        if (n != VirtioNetHeader.Size + length)
        {
            // Nothing queued (EAGAIN) or another frame than the slot's: neither should happen while
            // the slots and the queue keep step, but the slot's frame is lost either way.
            ReleaseChain(cache, buffers);
            return PacketBuffer.None;
        }

        PacketBuffer head = _chain[0];
        if (tagLength != 0)
            BinaryPrimitives.WriteUInt32BigEndian(pool.Room(head).Slice(MacAddressesLength, VlanTagLength), tag);
        for (int i = 0; i < buffers; i++)
        {
            ref BufferMetadata piece = ref pool.Metadata(_chain[i]);
            piece.DataLength = (ushort)Math.Min(room, total - i * room);
            piece.Next = i + 1 < buffers ? _chain[i + 1].Index : -1;
        }
        ref BufferMetadata m = ref pool.Metadata(head);
        m.PacketLength = total;
        m.Segments = (byte)buffers;
        return head;
    }

    /// <summary>Takes the frame at the head of <paramref name="socket"/>'s queue off it, unread (a frame of a slot not delivered).</summary>
    public void Discard(PacketSocket socket) => socket.Receive(_discard);

    private bool Allocate(BufferCache cache, int buffers)
    {
        for (int i = 0; i < buffers; i++)
        {
            if (!cache.TryAllocate(out _chain[i]))
            {
                ReleaseChain(cache, i);
                return false;
            }
        }
        return true;
    }

    /// <summary>Gives the first <paramref name="buffers"/> buffers taken back, one by one (they are not linked yet).</summary>
    private void ReleaseChain(BufferCache cache, int buffers)
    {
        for (int i = 0; i < buffers; i++)
        {
            cache.Pool.Metadata(_chain[i]).Next = -1;
            cache.Release(_chain[i]);
        }
    }

    // IoVec is struct iovec: iov_base, then iov_len, one machine word each (its layout is checked in
    // Dataplane.Native.Tests). The drivers have no unsafe code, so the words are written as nint;
    // the addresses are of pinned memory (the pool's and _header), valid while the port is open.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void SetVector(int i, nint address, int length)
    {
        Span<nint> words = MemoryMarshal.Cast<IoVec, nint>(_vectors.AsSpan(i, 1));
        words[0] = address;
        words[1] = length;
    }
}
