using Dataplane.Buffers;

namespace Dataplane.Stack.Fragments;

/// <summary>
/// Fresh frames of any length up to <see cref="BufferPool.MaxPacketLength"/>: one buffer when the
/// frame fits a buffer's data room, else a chain of full buffers and a last partial one (a fragment
/// for a jumbo MTU). The first buffer always holds at least the data room, so headers written at
/// the front are contiguous.
/// </summary>
internal static class FrameChain
{
    /// <summary>Takes buffers for a frame of <paramref name="length"/> bytes from <paramref name="cache"/>; false, with nothing taken, when the pool runs dry.</summary>
    public static bool TryAllocate(BufferCache cache, int length, out PacketBuffer head)
    {
        BufferPool pool = cache.Pool;
        int room = pool.DataRoom;
        if ((uint)length > BufferPool.MaxPacketLength || !cache.TryAllocate(out head))
        {
            head = PacketBuffer.None;
            return false;
        }
        int first = Math.Min(length, room);
        ref BufferMetadata h = ref pool.Metadata(head);
        h.DataLength = (ushort)first;
        h.PacketLength = length;
        PacketBuffer tail = head;
        int segments = 1;
        for (int left = length - first; left > 0;)
        {
            if (!cache.TryAllocate(out PacketBuffer next))
            {
                cache.Release(head);
                head = PacketBuffer.None;
                return false;
            }
            int piece = Math.Min(left, room);
            ref BufferMetadata n = ref pool.Metadata(next);
            n.DataLength = (ushort)piece;
            n.PacketLength = piece;
            pool.Metadata(tail).Next = next.Index;
            tail = next;
            segments++;
            left -= piece;
        }
        h.Segments = (byte)segments; // 64 KiB over 2 KiB buffers: far below 255
        return true;
    }

    /// <summary>Copies <paramref name="source"/> into the frame at <paramref name="head"/> from byte <paramref name="at"/> on, across its buffers.</summary>
    public static void Write(BufferPool pool, PacketBuffer head, int at, ReadOnlySpan<byte> source)
    {
        if (source.IsEmpty)
            return;
        PacketBuffer buffer = head;
        Span<byte> data = pool.Data(buffer);
        while (at >= data.Length)
        {
            at -= data.Length;
            buffer = new PacketBuffer(pool.Metadata(buffer).Next);
            data = pool.Data(buffer);
        }
        while (true)
        {
            Span<byte> room = data[at..];
            if (source.Length <= room.Length)
            {
                source.CopyTo(room);
                return;
            }
            source[..room.Length].CopyTo(room);
            source = source[room.Length..];
            at = 0;
            buffer = new PacketBuffer(pool.Metadata(buffer).Next);
            data = pool.Data(buffer);
        }
    }
}
