using System.Buffers.Binary;

namespace Dataplane.Native.Tests.Support;

/// <summary>Test frames built by hand, with addresses from the locally administered range only.</summary>
internal static class Frames
{
    /// <summary>IEEE 802 local experimental EtherType 1: nothing in the kernel answers or forwards it.</summary>
    public const ushort ExperimentalEtherType = 0x88b5;

    public static readonly byte[] MacA = [0x02, 0x00, 0x00, 0x00, 0x00, 0x0a];
    public static readonly byte[] MacB = [0x02, 0x00, 0x00, 0x00, 0x00, 0x0b];

    /// <summary>A 60-byte frame of <see cref="ExperimentalEtherType"/> whose payload starts with <paramref name="marker"/>.</summary>
    public static byte[] Experimental(byte[] destination, byte[] source, uint marker)
    {
        var frame = new byte[60];
        destination.CopyTo(frame, 0);
        source.CopyTo(frame, 6);
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(12), ExperimentalEtherType);
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(14), marker);
        for (int i = 18; i < frame.Length; i++)
            frame[i] = (byte)i;
        return frame;
    }

    /// <summary>True if <paramref name="frame"/> is an experimental frame carrying <paramref name="marker"/>.</summary>
    public static bool IsExperimental(ReadOnlySpan<byte> frame, uint marker) =>
        frame.Length >= 18
        && BinaryPrimitives.ReadUInt16BigEndian(frame[12..]) == ExperimentalEtherType
        && BinaryPrimitives.ReadUInt32BigEndian(frame[14..]) == marker;

    /// <summary>The RFC 1071 Internet checksum of <paramref name="data"/>.</summary>
    public static ushort InternetChecksum(ReadOnlySpan<byte> data)
    {
        uint sum = 0;
        int i = 0;
        for (; i + 1 < data.Length; i += 2)
            sum += BinaryPrimitives.ReadUInt16BigEndian(data[i..]);
        if (i < data.Length)
            sum += (uint)data[i] << 8;
        while (sum > 0xffff)
            sum = (sum & 0xffff) + (sum >> 16);
        return (ushort)~sum;
    }
}
