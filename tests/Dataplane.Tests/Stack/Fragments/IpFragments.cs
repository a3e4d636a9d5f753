using System.Buffers.Binary;
using Dataplane.Wire;
using static Dataplane.Tests.Stack.Frames;

namespace Dataplane.Tests.Stack.Fragments;

/// <summary>
/// IP fragments cut, read and put back together byte by byte, over the builders and checksum of
/// <see cref="Frames"/>, so that the tests do not judge the stack's fragmentation with its own code;
/// and the harness the fragment tests run on.
/// </summary>
internal static class IpFragments
{
    /// <summary>
    /// The lab router, forwarding as <paramref name="forwarding"/> says, as worker 1 of 2 (no
    /// announcements of its own), with every peer known, so that nothing waits for ARP or neighbour
    /// discovery; what it sends shows without neighbour traffic (after 30 s a neighbour is asked
    /// again whether it is still there, which is not what these tests look at).
    /// </summary>
    public static StackHarness Harness(int mtu0 = 1500, int mtu1 = 1500, bool forwarding = false)
    {
        StackHarness h = StackHarness.Router(forwarding, mtu0, mtu1, poolBuffers: 8192, worker: 1, workers: 2);
        h.HideNeighborDiscovery = true;
        return h.Started().KnowingPeers();
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

    /// <summary>Each packet in a frame from the peer to <paramref name="ours"/>.</summary>
    public static List<byte[]> FramesFromPeer(IEnumerable<byte[]> packets, MacAddress ours, ushort type)
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
