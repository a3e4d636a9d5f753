using System.Buffers.Binary;
using Dataplane.Buffers;

namespace Dataplane.Tests.Drivers.Vfio;

/// <summary>The frames the VFIO drivers' port tests send and receive, and their buffers.</summary>
internal static class DriverFrames
{
    /// <summary>A frame of <paramref name="length"/> bytes numbered <paramref name="sequence"/>: a pattern of its own, EtherType 0x88b5, the number at byte 14.</summary>
    public static byte[] Frame(int length, int sequence)
    {
        byte[] frame = new byte[length];
        for (int i = 0; i < length; i++)
            frame[i] = (byte)(i * 7 + sequence);
        frame[12] = 0x88; // the local experimental EtherType 0x88b5
        frame[13] = 0xb5;
        BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(14), sequence);
        return frame;
    }

    /// <summary><paramref name="frame"/> in a chain of <paramref name="cache"/>'s buffers.</summary>
    public static PacketBuffer Buffer(BufferCache cache, byte[] frame)
    {
        Assert.True(FrameChain.TryAllocate(cache, frame.Length, out PacketBuffer head));
        FrameChain.Write(cache.Pool, head, 0, frame);
        return head;
    }

    /// <summary>The bytes of the chain at <paramref name="head"/>.</summary>
    public static byte[] Bytes(BufferPool pool, PacketBuffer head)
    {
        byte[] bytes = new byte[pool.Metadata(head).PacketLength];
        FrameChain.Read(pool, head, 0, bytes);
        return bytes;
    }
}
