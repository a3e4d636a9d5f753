using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Dataplane.Buffers;
using Dataplane.Drivers.Virtio;
using Dataplane.Native;

namespace Dataplane.Drivers.AfPacket;

/// <summary>
/// The way out for a frame that does not fit a transmit slot: a jumbo frame above the slot size,
/// or a TSO super-frame (up to 64 KiB). One sendmsg on the queue's socket gathers the virtio-net
/// header and then every buffer of the chain in place, nothing copied (af_packet.c, packet_snd takes
/// the header off the front of the message when PACKET_VNET_HDR is on, then builds one skb of the
/// rest; with gso_type set the kernel segments it, or hands it whole to a device that can). The
/// header bytes and the iovec array are allocated once, pinned; owned by the queue's worker.
/// </summary>
internal sealed class AfPacketChainSender
{
    /// <summary>Most buffers of one chain (<see cref="BufferMetadata.Segments"/> is a byte).</summary>
    public const int MaxSegments = byte.MaxValue;

    // The header on the pinned object heap: the first iovec holds its address for the port's life.
    private readonly byte[] _header = GC.AllocateArray<byte>(16, pinned: true);
    private readonly IoVec[] _vectors = new IoVec[1 + MaxSegments];
    private BufferPool? _pool;
    private nint _memory;

    /// <summary>A sender whose first iovec points at its header.</summary>
    public AfPacketChainSender() =>
        SetVector(0, Marshal.UnsafeAddrOfPinnedArrayElement(_header, 0), VirtioNetHeader.Size);

    /// <summary>
    /// Sends the frame of <paramref name="length"/> bytes chained at <paramref name="head"/> through
    /// <paramref name="socket"/>: the bytes sent (with the header) or <c>-errno</c>, the kernel's or
    /// EINVAL for offload fields outside the frame, EMSGSIZE for a chain longer than
    /// <see cref="MaxSegments"/> or whose buffers do not add up to <paramref name="length"/>. The
    /// frame stays the caller's either way.
    /// </summary>
    public nint Send(PacketSocket socket, BufferPool pool, PacketBuffer head, int length)
    {
        if (!ReferenceEquals(pool, _pool))
        {
            _pool = pool;
            _memory = pool.Address(0); // one pinned block: buffer i is i buffer sizes in
        }
        ref BufferMetadata m = ref pool.Metadata(head);
        if (!VirtioNetOffload.TryTransmit(m, pool.Data(head), length, out VirtioNetHeader vnet))
            return -Errno.EINVAL;
        MemoryMarshal.Write(_header, in vnet);
        int vectors = 1;
        int gathered = 0;
        for (int index = head.Index; index >= 0;)
        {
            if (vectors > MaxSegments)
                return -Errno.EMSGSIZE; // or a cycle
            var buffer = new PacketBuffer(index);
            ref BufferMetadata piece = ref pool.Metadata(buffer);
            SetVector(vectors++, _memory + (nint)index * pool.BufferSize + piece.DataOffset, piece.DataLength);
            gathered += piece.DataLength;
            index = piece.Next;
        }
        if (gathered != length)
            return -Errno.EMSGSIZE; // the chain holds more or less than the head says
        return socket.SendGathered(_vectors.AsSpan(0, vectors));
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
