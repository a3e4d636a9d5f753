using System.Buffers.Binary;
using Dataplane.Wire;

namespace Dataplane.Tests.Stack;

/// <summary>
/// Frames for the stack tests, built and checked byte by byte with a checksum of their own (not the
/// stack's wire views or InternetChecksum), so that a bug in the stack cannot cancel out in its tests.
/// </summary>
internal static class Frames
{
    public const ushort TypeIpv4 = 0x0800;
    public const ushort TypeArp = 0x0806;
    public const ushort TypeIpv6 = 0x86DD;

    /// <summary>RFC 1071 over <paramref name="data"/>, starting from <paramref name="sum"/>, written out plainly: 0 when the data holds a good checksum.</summary>
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

    /// <summary>The checksum of <paramref name="upper"/> behind the IPv4 pseudo-header (RFC 768).</summary>
    public static ushort Checksum4(Ipv4Address source, Ipv4Address destination, byte protocol, ReadOnlySpan<byte> upper)
    {
        byte[] pseudo = new byte[12 + upper.Length];
        source.CopyTo(pseudo);
        destination.CopyTo(pseudo.AsSpan(4));
        pseudo[9] = protocol;
        BinaryPrimitives.WriteUInt16BigEndian(pseudo.AsSpan(10), (ushort)upper.Length);
        upper.CopyTo(pseudo.AsSpan(12));
        return Checksum(pseudo);
    }

    /// <summary>The checksum of <paramref name="upper"/> behind the IPv6 pseudo-header (RFC 8200 8.1).</summary>
    public static ushort Checksum6(in Ipv6Address source, in Ipv6Address destination, byte next, ReadOnlySpan<byte> upper)
    {
        byte[] pseudo = new byte[40 + upper.Length];
        source.CopyTo(pseudo);
        destination.CopyTo(pseudo.AsSpan(16));
        BinaryPrimitives.WriteUInt32BigEndian(pseudo.AsSpan(32), (uint)upper.Length);
        pseudo[39] = next;
        upper.CopyTo(pseudo.AsSpan(40));
        return Checksum(pseudo);
    }

    /// <summary>
    /// A TCP super-frame (TSO) cut into segments of <paramref name="segmentSize"/> payload bytes the
    /// way a port that segments cuts it (Linux's tcp_gso_segment under inet_gso_segment and
    /// ipv6_gso_segment): the headers copied, the sequence number advanced, FIN and PSH on the last
    /// piece only and CWR on the first only, IPv4 identifications counting up, the lengths and every
    /// checksum written anew. First checks what NEEDS_CSUM promises: the checksum field holds the
    /// pseudo-header sum over the whole segment.
    /// </summary>
    public static List<byte[]> CutTcpSuperFrame(byte[] frame, int segmentSize)
    {
        bool ipv6 = BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(12)) == TypeIpv6;
        const int l3 = 14;
        int ipHeader = ipv6 ? 40 : (frame[l3] & 0x0F) * 4;
        int l4 = l3 + ipHeader;
        int tcpHeader = (frame[l4 + 12] >> 4) * 4;
        int payload = frame.Length - l4 - tcpHeader;
        ReadOnlySpan<byte> source = frame.AsSpan(l3 + (ipv6 ? 8 : 12), ipv6 ? 16 : 4);
        ReadOnlySpan<byte> destination = frame.AsSpan(l3 + (ipv6 ? 24 : 16), ipv6 ? 16 : 4);
        ushort partial = BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(l4 + 16));
        Assert.Equal((ushort)~Checksum(PseudoHeader(source, destination, frame.Length - l4)), partial);

        uint seq = BinaryPrimitives.ReadUInt32BigEndian(frame.AsSpan(l4 + 4));
        ushort id = ipv6 ? (ushort)0 : BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(l3 + 4));
        byte flags = frame[l4 + 13];
        var pieces = new List<byte[]>();
        for (int at = 0, i = 0; at < payload; at += segmentSize, i++)
        {
            int length = Math.Min(segmentSize, payload - at);
            bool first = at == 0, last = at + length == payload;
            byte[] piece = new byte[l4 + tcpHeader + length];
            frame.AsSpan(0, l4 + tcpHeader).CopyTo(piece);
            frame.AsSpan(l4 + tcpHeader + at, length).CopyTo(piece.AsSpan(l4 + tcpHeader));
            if (ipv6)
            {
                BinaryPrimitives.WriteUInt16BigEndian(piece.AsSpan(l3 + 4), (ushort)(tcpHeader + length));
            }
            else
            {
                BinaryPrimitives.WriteUInt16BigEndian(piece.AsSpan(l3 + 2), (ushort)(ipHeader + tcpHeader + length));
                BinaryPrimitives.WriteUInt16BigEndian(piece.AsSpan(l3 + 4), (ushort)(id + i));
                piece[l3 + 10] = piece[l3 + 11] = 0;
                BinaryPrimitives.WriteUInt16BigEndian(piece.AsSpan(l3 + 10), Checksum(piece.AsSpan(l3, ipHeader)));
            }
            BinaryPrimitives.WriteUInt32BigEndian(piece.AsSpan(l4 + 4), seq + (uint)at);
            piece[l4 + 13] = (byte)(flags & ~((last ? 0 : 0x01 | 0x08) | (first ? 0 : 0x80))); // FIN, PSH; CWR
            piece[l4 + 16] = piece[l4 + 17] = 0;
            byte[] pseudo = PseudoHeader(source, destination, tcpHeader + length);
            BinaryPrimitives.WriteUInt16BigEndian(piece.AsSpan(l4 + 16), Checksum([.. pseudo, .. piece.AsSpan(l4)]));
            pieces.Add(piece);
        }
        return pieces;
    }

    /// <summary>The TCP pseudo-header (RFC 9293 3.1, RFC 8200 8.1) for addresses of either family.</summary>
    private static byte[] PseudoHeader(ReadOnlySpan<byte> source, ReadOnlySpan<byte> destination, int length)
    {
        bool ipv6 = source.Length == 16;
        byte[] pseudo = new byte[ipv6 ? 40 : 12];
        source.CopyTo(pseudo);
        destination.CopyTo(pseudo.AsSpan(source.Length));
        if (ipv6)
        {
            BinaryPrimitives.WriteUInt32BigEndian(pseudo.AsSpan(32), (uint)length);
            pseudo[39] = 6;
        }
        else
        {
            pseudo[9] = 6;
            BinaryPrimitives.WriteUInt16BigEndian(pseudo.AsSpan(10), (ushort)length);
        }
        return pseudo;
    }

    public static byte[] Ethernet(MacAddress destination, MacAddress source, ushort type, ReadOnlySpan<byte> payload)
    {
        byte[] f = new byte[14 + payload.Length];
        destination.CopyTo(f);
        source.CopyTo(f.AsSpan(6));
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(12), type);
        payload.CopyTo(f.AsSpan(14));
        return f;
    }

    public static byte[] Arp(MacAddress ethDestination, MacAddress senderMac, ushort operation, Ipv4Address sender, MacAddress targetMac, Ipv4Address target)
    {
        byte[] a = new byte[28];
        BinaryPrimitives.WriteUInt16BigEndian(a, 1);
        BinaryPrimitives.WriteUInt16BigEndian(a.AsSpan(2), TypeIpv4);
        a[4] = 6;
        a[5] = 4;
        BinaryPrimitives.WriteUInt16BigEndian(a.AsSpan(6), operation);
        senderMac.CopyTo(a.AsSpan(8));
        sender.CopyTo(a.AsSpan(14));
        targetMac.CopyTo(a.AsSpan(18));
        target.CopyTo(a.AsSpan(24));
        return Ethernet(ethDestination, senderMac, TypeArp, a);
    }

    public static byte[] ArpRequest(MacAddress senderMac, Ipv4Address sender, Ipv4Address target)
        => Arp(MacAddress.Broadcast, senderMac, 1, sender, default, target);

    public static byte[] ArpReply(MacAddress senderMac, Ipv4Address sender, MacAddress targetMac, Ipv4Address target)
        => Arp(targetMac, senderMac, 2, sender, targetMac, target);

    /// <summary>An IPv4 datagram; the header checksum right unless <paramref name="badChecksum"/>.</summary>
    public static byte[] Ipv4(Ipv4Address source, Ipv4Address destination, byte protocol, ushort id, ReadOnlySpan<byte> payload,
        byte[]? options = null, ushort flagsAndOffset = 0, byte ttl = 64, bool badChecksum = false)
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
        ushort sum = Checksum(p.AsSpan(0, headerLength));
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(10), badChecksum ? (ushort)(sum ^ 0x5555) : sum);
        payload.CopyTo(p.AsSpan(headerLength));
        return p;
    }

    /// <summary>An IPv4 datagram (id 1) from the peer in a frame to <paramref name="destinationMac"/>.</summary>
    public static byte[] Ipv4Frame(MacAddress destinationMac, Ipv4Address source, Ipv4Address destination, byte protocol, ReadOnlySpan<byte> payload, byte ttl = 64, bool dontFragment = false)
        => Ethernet(destinationMac, StackHarness.PeerMac, TypeIpv4, Ipv4(source, destination, protocol, 1, payload, flagsAndOffset: dontFragment ? (ushort)0x4000 : (ushort)0, ttl: ttl));

    /// <summary>An ICMP or ICMPv6 echo message of <paramref name="type"/> with <paramref name="dataLength"/> bytes of patterned data; the ICMPv4 checksum filled in.</summary>
    public static byte[] IcmpEcho(byte type, ushort id, ushort sequence, int dataLength)
    {
        byte[] m = new byte[8 + dataLength];
        m[0] = type;
        BinaryPrimitives.WriteUInt16BigEndian(m.AsSpan(4), id);
        BinaryPrimitives.WriteUInt16BigEndian(m.AsSpan(6), sequence);
        for (int i = 0; i < dataLength; i++)
            m[8 + i] = (byte)(i * 7 + sequence);
        BinaryPrimitives.WriteUInt16BigEndian(m.AsSpan(2), Checksum(m));
        return m;
    }

    /// <summary>An IPv6 packet: the fixed header, then <paramref name="payload"/> (which may start with extension headers).</summary>
    public static byte[] Ipv6(in Ipv6Address source, in Ipv6Address destination, byte next, ReadOnlySpan<byte> payload, byte hopLimit = 64)
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

    public static byte[] Ipv6Frame(MacAddress destinationMac, in Ipv6Address source, in Ipv6Address destination, byte next, ReadOnlySpan<byte> payload, byte hopLimit = 64)
        => Ethernet(destinationMac, StackHarness.PeerMac, TypeIpv6, Ipv6(source, destination, next, payload, hopLimit));

    /// <summary>An ICMPv6 message with its checksum over the pseudo-header.</summary>
    public static byte[] Icmp6(in Ipv6Address source, in Ipv6Address destination, byte[] message)
    {
        byte[] m = (byte[])message.Clone();
        BinaryPrimitives.WriteUInt16BigEndian(m.AsSpan(2), 0);
        BinaryPrimitives.WriteUInt16BigEndian(m.AsSpan(2), Checksum6(source, destination, 58, m));
        return m;
    }

    public static byte[] Icmp6Echo(in Ipv6Address source, in Ipv6Address destination, byte type, ushort id, ushort sequence, int dataLength)
        => Icmp6(source, destination, IcmpEcho(type, id, sequence, dataLength));

    public static byte[] NeighborSolicitation(MacAddress sourceMac, MacAddress destinationMac, in Ipv6Address source, in Ipv6Address destination, in Ipv6Address target, MacAddress? sourceLinkLayer, byte hopLimit = 255)
    {
        byte[] m = new byte[24 + (sourceLinkLayer is null ? 0 : 8)];
        m[0] = 135;
        target.CopyTo(m.AsSpan(8));
        if (sourceLinkLayer is { } mac)
        {
            m[24] = 1;
            m[25] = 1;
            mac.CopyTo(m.AsSpan(26));
        }
        return Ethernet(destinationMac, sourceMac, TypeIpv6, Ipv6(source, destination, 58, Icmp6(source, destination, m), hopLimit));
    }

    /// <summary>An advertisement; without <paramref name="targetLinkLayer"/> it carries no address option, as Linux answers a unicast solicitation.</summary>
    public static byte[] NeighborAdvertisement(MacAddress sourceMac, MacAddress destinationMac, in Ipv6Address source, in Ipv6Address destination, in Ipv6Address target, MacAddress? targetLinkLayer, byte flags = 0x60)
    {
        byte[] m = new byte[24 + (targetLinkLayer is null ? 0 : 8)];
        m[0] = 136;
        m[4] = flags;
        target.CopyTo(m.AsSpan(8));
        if (targetLinkLayer is { } mac)
        {
            m[24] = 2;
            m[25] = 1;
            mac.CopyTo(m.AsSpan(26));
        }
        return Ethernet(destinationMac, sourceMac, TypeIpv6, Ipv6(source, destination, 58, Icmp6(source, destination, m), 255));
    }

    /// <summary>Whether <paramref name="frame"/> is ARP or an ICMPv6 neighbour solicitation or advertisement (no extension headers).</summary>
    public static bool IsNeighborDiscovery(byte[] frame)
    {
        ushort type = BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(12));
        return type == TypeArp || (type == TypeIpv6 && frame[14 + 6] == 58 && frame[14 + 40] is 135 or 136);
    }

    /// <summary><paramref name="length"/> bytes of patterned payload.</summary>
    public static byte[] Payload(int length, byte seed = 1)
    {
        byte[] p = new byte[length];
        for (int i = 0; i < length; i++)
            p[i] = (byte)(seed + i * 7);
        return p;
    }

    /// <summary>A UDP datagram over IPv4 with its checksum (0 when <paramref name="noChecksum"/>).</summary>
    public static byte[] Udp4(Ipv4Address source, Ipv4Address destination, ushort sourcePort, ushort destinationPort, byte[] payload, bool noChecksum = false)
    {
        byte[] u = UdpHeader(sourcePort, destinationPort, payload);
        if (!noChecksum)
            BinaryPrimitives.WriteUInt16BigEndian(u.AsSpan(6), NonZero(Checksum4(source, destination, 17, u)));
        return u;
    }

    /// <summary>A UDP datagram over IPv4 with <paramref name="dataLength"/> zero bytes of payload.</summary>
    public static byte[] Udp4(Ipv4Address source, Ipv4Address destination, ushort sourcePort, ushort destinationPort, int dataLength)
        => Udp4(source, destination, sourcePort, destinationPort, new byte[dataLength]);

    /// <summary>A UDP datagram over IPv6 with its checksum (0 when <paramref name="noChecksum"/>).</summary>
    public static byte[] Udp6(in Ipv6Address source, in Ipv6Address destination, ushort sourcePort, ushort destinationPort, byte[] payload, bool noChecksum = false)
    {
        byte[] u = UdpHeader(sourcePort, destinationPort, payload);
        if (!noChecksum)
            BinaryPrimitives.WriteUInt16BigEndian(u.AsSpan(6), NonZero(Checksum6(source, destination, 17, u)));
        return u;
    }

    public static byte[] Udp4Frame(MacAddress to, Ipv4Address source, Ipv4Address destination, ushort sourcePort, ushort destinationPort, byte[] payload, bool noChecksum = false)
        => Ipv4Frame(to, source, destination, 17, Udp4(source, destination, sourcePort, destinationPort, payload, noChecksum));

    public static byte[] Udp6Frame(MacAddress to, in Ipv6Address source, in Ipv6Address destination, ushort sourcePort, ushort destinationPort, byte[] payload, bool noChecksum = false)
        => Ipv6Frame(to, source, destination, 17, Udp6(source, destination, sourcePort, destinationPort, payload, noChecksum));

    /// <summary>
    /// Checks an IPv4 UDP frame the stack sent, byte by byte: EtherType, header checksum, lengths,
    /// addresses and ports, and a non-zero UDP checksum that verifies; returns the payload.
    /// </summary>
    public static byte[] CheckUdp4(byte[] frame, Ipv4Address source, ushort sourcePort, Ipv4Address destination, ushort destinationPort)
    {
        Assert.Equal(TypeIpv4, BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(12)));
        Span<byte> ip = frame.AsSpan(14);
        Assert.Equal(0x45, ip[0]);
        Assert.Equal(frame.Length - 14, BinaryPrimitives.ReadUInt16BigEndian(ip[2..]));
        Assert.Equal(17, ip[9]);
        Assert.Equal(0, Checksum(ip[..20]));
        Assert.Equal(source, new Ipv4Address(ip[12..]));
        Assert.Equal(destination, new Ipv4Address(ip[16..]));
        byte[] udp = ip[20..].ToArray();
        CheckUdpHeader(udp, sourcePort, destinationPort);
        Assert.Equal(0, Checksum4(source, destination, 17, udp));
        return udp[8..];
    }

    /// <summary>As <see cref="CheckUdp4"/>, for IPv6.</summary>
    public static byte[] CheckUdp6(byte[] frame, in Ipv6Address source, ushort sourcePort, in Ipv6Address destination, ushort destinationPort)
    {
        Assert.Equal(TypeIpv6, BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(12)));
        Span<byte> ip = frame.AsSpan(14);
        Assert.Equal(0x60, ip[0] & 0xF0);
        Assert.Equal(frame.Length - 54, BinaryPrimitives.ReadUInt16BigEndian(ip[4..]));
        Assert.Equal(17, ip[6]);
        Assert.Equal(source, new Ipv6Address(ip[8..]));
        Assert.Equal(destination, new Ipv6Address(ip[24..]));
        byte[] udp = ip[40..].ToArray();
        CheckUdpHeader(udp, sourcePort, destinationPort);
        Assert.Equal(0, Checksum6(source, destination, 17, udp));
        return udp[8..];
    }

    private static void CheckUdpHeader(byte[] udp, ushort sourcePort, ushort destinationPort)
    {
        Assert.Equal(sourcePort, BinaryPrimitives.ReadUInt16BigEndian(udp));
        Assert.Equal(destinationPort, BinaryPrimitives.ReadUInt16BigEndian(udp.AsSpan(2)));
        Assert.Equal(udp.Length, BinaryPrimitives.ReadUInt16BigEndian(udp.AsSpan(4)));
        Assert.NotEqual(0, BinaryPrimitives.ReadUInt16BigEndian(udp.AsSpan(6)));
    }

    private static byte[] UdpHeader(ushort sourcePort, ushort destinationPort, byte[] payload)
    {
        byte[] u = new byte[8 + payload.Length];
        BinaryPrimitives.WriteUInt16BigEndian(u, sourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(u.AsSpan(2), destinationPort);
        BinaryPrimitives.WriteUInt16BigEndian(u.AsSpan(4), (ushort)u.Length);
        payload.CopyTo(u, 8);
        return u;
    }

    // RFC 768: a computed checksum of 0 is sent as all ones; 0 means none.
    private static ushort NonZero(ushort checksum) => checksum == 0 ? (ushort)0xFFFF : checksum;
}
