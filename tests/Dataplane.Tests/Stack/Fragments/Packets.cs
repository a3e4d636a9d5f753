using System.Buffers.Binary;
using Dataplane.Wire;

namespace Dataplane.Tests.Stack.Fragments;

/// <summary>
/// Frames built and taken apart byte by byte, independently of the stack's wire views and
/// checksum helpers, so that the tests do not judge the stack with its own code.
/// </summary>
internal static class Packets
{
    public const ushort TypeIpv4 = 0x0800;
    public const ushort TypeIpv6 = 0x86DD;

    /// <summary>RFC 1071 over <paramref name="data"/>, starting from <paramref name="sum"/>: 0 when the data holds a good checksum.</summary>
    public static ushort Checksum(ReadOnlySpan<byte> data, uint sum = 0)
    {
        int i = 0;
        for (; i + 1 < data.Length; i += 2)
            sum += (uint)(data[i] << 8 | data[i + 1]);
        if (i < data.Length)
            sum += (uint)(data[i] << 8);
        while (sum >> 16 != 0)
            sum = (sum & 0xFFFF) + (sum >> 16);
        return (ushort)~sum;
    }

    public static byte[] Ethernet(MacAddress destination, MacAddress source, ushort type, ReadOnlySpan<byte> payload)
    {
        byte[] frame = new byte[14 + payload.Length];
        destination.CopyTo(frame);
        source.CopyTo(frame.AsSpan(6));
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(12), type);
        payload.CopyTo(frame.AsSpan(14));
        return frame;
    }

    /// <summary>An IPv4 datagram with a good header checksum.</summary>
    public static byte[] Ipv4(Ipv4Address source, Ipv4Address destination, byte protocol, ushort id, ReadOnlySpan<byte> payload,
        byte[]? options = null, ushort flagsAndOffset = 0, byte ttl = 64)
    {
        int headerLength = 20 + (options?.Length ?? 0);
        Assert.Equal(0, headerLength % 4);
        byte[] p = new byte[headerLength + payload.Length];
        p[0] = (byte)(0x40 | headerLength / 4);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(2), (ushort)p.Length);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(4), id);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(6), flagsAndOffset);
        p[8] = ttl;
        p[9] = protocol;
        source.CopyTo(p.AsSpan(12));
        destination.CopyTo(p.AsSpan(16));
        options?.CopyTo(p, 20);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(10), Checksum(p.AsSpan(0, headerLength)));
        payload.CopyTo(p.AsSpan(headerLength));
        return p;
    }

    /// <summary>An ICMP echo request with <paramref name="dataLength"/> bytes of patterned data.</summary>
    public static byte[] Echo4(ushort id, ushort sequence, int dataLength)
    {
        byte[] m = EchoBody(8, id, sequence, dataLength);
        BinaryPrimitives.WriteUInt16BigEndian(m.AsSpan(2), Checksum(m));
        return m;
    }

    /// <summary>An ICMPv6 echo request from <paramref name="source"/> to <paramref name="destination"/>.</summary>
    public static byte[] Echo6(Ipv6Address source, Ipv6Address destination, ushort id, ushort sequence, int dataLength)
    {
        byte[] m = EchoBody(128, id, sequence, dataLength);
        BinaryPrimitives.WriteUInt16BigEndian(m.AsSpan(2), Checksum(m, PseudoSum6(source, destination, 58, m.Length)));
        return m;
    }

    /// <summary>The ones' complement sum of the IPv6 pseudo-header (RFC 8200 8.1), unfolded.</summary>
    public static uint PseudoSum6(Ipv6Address source, Ipv6Address destination, byte next, int length)
    {
        byte[] pseudo = new byte[40];
        source.CopyTo(pseudo);
        destination.CopyTo(pseudo.AsSpan(16));
        BinaryPrimitives.WriteInt32BigEndian(pseudo.AsSpan(32), length);
        pseudo[39] = next;
        uint sum = 0;
        for (int i = 0; i < 40; i += 2)
            sum += (uint)(pseudo[i] << 8 | pseudo[i + 1]);
        return sum;
    }

    private static byte[] EchoBody(byte type, ushort id, ushort sequence, int dataLength)
    {
        byte[] m = new byte[8 + dataLength];
        m[0] = type;
        BinaryPrimitives.WriteUInt16BigEndian(m.AsSpan(4), id);
        BinaryPrimitives.WriteUInt16BigEndian(m.AsSpan(6), sequence);
        for (int i = 0; i < dataLength; i++)
            m[8 + i] = (byte)(i * 7 + sequence);
        return m;
    }

    /// <summary>
    /// The IPv4 fragment of <paramref name="datagram"/> (no options) holding <paramref name="length"/>
    /// data bytes from <paramref name="offset"/>, with more-fragments as <paramref name="more"/> says.
    /// </summary>
    public static byte[] Piece4(byte[] datagram, int offset, int length, bool more)
    {
        int headerLength = (datagram[0] & 0xF) * 4;
        byte[] p = new byte[headerLength + length];
        datagram.AsSpan(0, headerLength).CopyTo(p);
        datagram.AsSpan(headerLength + offset, length).CopyTo(p.AsSpan(headerLength));
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(2), (ushort)p.Length);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(6), (ushort)((more ? 0x2000 : 0) | offset / 8));
        p[10] = p[11] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(10), Checksum(p.AsSpan(0, headerLength)));
        return p;
    }

    /// <summary><paramref name="datagram"/> cut into fragments of <paramref name="size"/> data bytes (the last shorter), in order.</summary>
    public static List<byte[]> Fragments4(byte[] datagram, int size)
    {
        int data = datagram.Length - (datagram[0] & 0xF) * 4;
        var pieces = new List<byte[]>();
        for (int at = 0; at < data; at += size)
            pieces.Add(Piece4(datagram, at, Math.Min(size, data - at), more: at + size < data));
        return pieces;
    }

    /// <summary>An IPv6 packet: the fixed header, then <paramref name="payload"/> (which may start with extension headers).</summary>
    public static byte[] Ipv6(Ipv6Address source, Ipv6Address destination, byte next, ReadOnlySpan<byte> payload, byte hopLimit = 64)
    {
        byte[] p = new byte[40 + payload.Length];
        p[0] = 0x60;
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(4), (ushort)payload.Length);
        p[6] = next;
        p[7] = hopLimit;
        source.CopyTo(p.AsSpan(8));
        destination.CopyTo(p.AsSpan(24));
        payload.CopyTo(p.AsSpan(40));
        return p;
    }

    /// <summary>
    /// The IPv6 fragment of <paramref name="packet"/> (no extension headers) holding
    /// <paramref name="length"/> bytes of its payload from <paramref name="offset"/>.
    /// </summary>
    public static byte[] Piece6(byte[] packet, int offset, int length, bool more, uint id)
    {
        byte[] p = new byte[48 + length];
        packet.AsSpan(0, 40).CopyTo(p);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(4), (ushort)(8 + length));
        p[6] = 44;
        p[40] = packet[6];
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(42), (ushort)(offset | (more ? 1 : 0)));
        BinaryPrimitives.WriteUInt32BigEndian(p.AsSpan(44), id);
        packet.AsSpan(40 + offset, length).CopyTo(p.AsSpan(48));
        return p;
    }

    /// <summary><paramref name="packet"/> cut into IPv6 fragments of <paramref name="size"/> data bytes, in order.</summary>
    public static List<byte[]> Fragments6(byte[] packet, int size, uint id)
    {
        int data = packet.Length - 40;
        var pieces = new List<byte[]>();
        for (int at = 0; at < data; at += size)
            pieces.Add(Piece6(packet, at, Math.Min(size, data - at), more: at + size < data, id));
        return pieces;
    }

    /// <summary>Frames from the peer to our port 0 around each packet.</summary>
    public static List<byte[]> Frames(IEnumerable<byte[]> packets, MacAddress ours, ushort type)
        => [.. packets.Select(p => Ethernet(ours, StackHarness.PeerMac, type, p))];

    /// <summary>One IPv4 fragment as seen on the wire, its header checked.</summary>
    public readonly record struct Seen4(byte[] Frame, int HeaderLength, int TotalLength, ushort Id, bool DontFragment, bool More, int Offset)
    {
        public ReadOnlySpan<byte> Data => Frame.AsSpan(14 + HeaderLength, TotalLength - HeaderLength);

        public ReadOnlySpan<byte> Header => Frame.AsSpan(14, HeaderLength);
    }

    /// <summary>Reads the IPv4 header of a frame we sent: EtherType, version, lengths and header checksum must be right.</summary>
    public static Seen4 Read4(byte[] frame)
    {
        Assert.Equal(TypeIpv4, BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(12)));
        Span<byte> l3 = frame.AsSpan(14);
        Assert.Equal(4, l3[0] >> 4);
        int headerLength = (l3[0] & 0xF) * 4;
        int total = BinaryPrimitives.ReadUInt16BigEndian(l3[2..]);
        Assert.Equal(l3.Length, total);
        Assert.Equal(0, Checksum(l3[..headerLength]));
        ushort word = BinaryPrimitives.ReadUInt16BigEndian(l3[6..]);
        return new Seen4(frame, headerLength, total, BinaryPrimitives.ReadUInt16BigEndian(l3[4..]), (word & 0x4000) != 0, (word & 0x2000) != 0, (word & 0x1FFF) * 8);
    }

    /// <summary>
    /// Puts IPv4 fragments back together the simple way (sorted by offset, each starting where
    /// the last ended): the datagram, its header taken from the first with lengths and flags fixed.
    /// </summary>
    public static byte[] Reassemble4(IEnumerable<Seen4> fragments)
    {
        var sorted = fragments.OrderBy(f => f.Offset).ToList();
        Assert.Equal(0, sorted[0].Offset);
        Assert.False(sorted[^1].More);
        var data = new List<byte>();
        foreach (Seen4 f in sorted)
        {
            Assert.Equal(data.Count, f.Offset);
            Assert.True(f == sorted[^1] || f.More);
            data.AddRange(f.Data.ToArray());
        }
        byte[] header = sorted[0].Header.ToArray();
        byte[] datagram = [.. header, .. data];
        BinaryPrimitives.WriteUInt16BigEndian(datagram.AsSpan(2), (ushort)datagram.Length);
        BinaryPrimitives.WriteUInt16BigEndian(datagram.AsSpan(6), 0);
        datagram[10] = datagram[11] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(datagram.AsSpan(10), Checksum(datagram.AsSpan(0, header.Length)));
        return datagram;
    }

    /// <summary>One IPv6 fragment we sent (the fragment header right after the fixed header).</summary>
    public readonly record struct Seen6(byte[] Frame, byte Next, int Offset, bool More, uint Id)
    {
        public ReadOnlySpan<byte> Data => Frame.AsSpan(14 + 48);
    }

    /// <summary>Reads an IPv6 fragment we sent: EtherType, version, payload length, a fragment header after the fixed header.</summary>
    public static Seen6 Read6(byte[] frame)
    {
        Assert.Equal(TypeIpv6, BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(12)));
        Span<byte> l3 = frame.AsSpan(14);
        Assert.Equal(6, l3[0] >> 4);
        Assert.Equal(l3.Length - 40, BinaryPrimitives.ReadUInt16BigEndian(l3[4..]));
        Assert.Equal(44, l3[6]);
        ushort word = BinaryPrimitives.ReadUInt16BigEndian(l3[42..]);
        Assert.Equal(0, word & 6); // reserved bits
        Assert.Equal(0, l3[41]);
        return new Seen6(frame, l3[40], word & 0xFFF8, (word & 1) != 0, BinaryPrimitives.ReadUInt32BigEndian(l3[44..]));
    }

    /// <summary>IPv6 fragments put back together the simple way: the packet, fixed header first.</summary>
    public static byte[] Reassemble6(IReadOnlyList<Seen6> fragments)
    {
        var sorted = fragments.OrderBy(f => f.Offset).ToList();
        Assert.Equal(0, sorted[0].Offset);
        Assert.False(sorted[^1].More);
        Assert.All(sorted, f => Assert.Equal(sorted[0].Id, f.Id));
        var data = new List<byte>();
        foreach (Seen6 f in sorted)
        {
            Assert.Equal(data.Count, f.Offset);
            data.AddRange(f.Data.ToArray());
        }
        byte[] header = sorted[0].Frame.AsSpan(14, 40).ToArray();
        header[6] = sorted[0].Next;
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(4), (ushort)data.Count);
        return [.. header, .. data];
    }
}
