using System.Buffers.Binary;
using Dataplane.Wire;

namespace Dataplane.Tests.Stack;

/// <summary>
/// Frames for the stack tests, built byte by byte with a checksum of their own (not the stack's
/// InternetChecksum), so that a checksum bug in the stack cannot cancel out in its tests.
/// </summary>
internal static class Frames
{
    public static byte[] Ethernet(MacAddress destination, MacAddress source, ushort type, byte[] payload)
    {
        byte[] f = new byte[14 + payload.Length];
        destination.CopyTo(f);
        source.CopyTo(f.AsSpan(6));
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(12), type);
        payload.CopyTo(f, 14);
        return f;
    }

    public static byte[] Arp(MacAddress ethDestination, MacAddress senderMac, ushort operation, Ipv4Address sender, MacAddress targetMac, Ipv4Address target)
    {
        byte[] a = new byte[28];
        BinaryPrimitives.WriteUInt16BigEndian(a, 1);
        BinaryPrimitives.WriteUInt16BigEndian(a.AsSpan(2), 0x0800);
        a[4] = 6;
        a[5] = 4;
        BinaryPrimitives.WriteUInt16BigEndian(a.AsSpan(6), operation);
        senderMac.CopyTo(a.AsSpan(8));
        sender.CopyTo(a.AsSpan(14));
        targetMac.CopyTo(a.AsSpan(18));
        target.CopyTo(a.AsSpan(24));
        return Ethernet(ethDestination, senderMac, 0x0806, a);
    }

    public static byte[] ArpRequest(MacAddress senderMac, Ipv4Address sender, Ipv4Address target)
        => Arp(MacAddress.Broadcast, senderMac, 1, sender, default, target);

    public static byte[] ArpReply(MacAddress senderMac, Ipv4Address sender, MacAddress targetMac, Ipv4Address target)
        => Arp(targetMac, senderMac, 2, sender, targetMac, target);

    /// <summary>An IPv4 packet; the header checksum right unless <paramref name="badChecksum"/>.</summary>
    public static byte[] Ipv4(Ipv4Address source, Ipv4Address destination, byte protocol, byte[] payload, byte ttl = 64, ushort id = 1, bool dontFragment = false, bool badChecksum = false)
    {
        byte[] p = new byte[20 + payload.Length];
        p[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(2), (ushort)p.Length);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(4), id);
        p[6] = dontFragment ? (byte)0x40 : (byte)0;
        p[8] = ttl;
        p[9] = protocol;
        source.CopyTo(p.AsSpan(12));
        destination.CopyTo(p.AsSpan(16));
        ushort sum = Checksum(p.AsSpan(0, 20));
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(10), badChecksum ? (ushort)(sum ^ 0x5555) : sum);
        payload.CopyTo(p, 20);
        return p;
    }

    public static byte[] Ipv4Frame(MacAddress destinationMac, Ipv4Address source, Ipv4Address destination, byte protocol, byte[] payload, byte ttl = 64, bool dontFragment = false)
        => Ethernet(destinationMac, StackHarness.PeerMac, 0x0800, Ipv4(source, destination, protocol, payload, ttl, dontFragment: dontFragment));

    public static byte[] IcmpEcho(byte type, ushort id, ushort sequence, int dataLength)
    {
        byte[] m = new byte[8 + dataLength];
        m[0] = type;
        BinaryPrimitives.WriteUInt16BigEndian(m.AsSpan(4), id);
        BinaryPrimitives.WriteUInt16BigEndian(m.AsSpan(6), sequence);
        for (int i = 0; i < dataLength; i++)
            m[8 + i] = (byte)i;
        BinaryPrimitives.WriteUInt16BigEndian(m.AsSpan(2), Checksum(m));
        return m;
    }

    public static byte[] Udp4(Ipv4Address source, Ipv4Address destination, ushort sourcePort, ushort destinationPort, int dataLength)
    {
        byte[] u = new byte[8 + dataLength];
        BinaryPrimitives.WriteUInt16BigEndian(u, sourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(u.AsSpan(2), destinationPort);
        BinaryPrimitives.WriteUInt16BigEndian(u.AsSpan(4), (ushort)u.Length);
        byte[] pseudo = new byte[12 + u.Length];
        source.CopyTo(pseudo);
        destination.CopyTo(pseudo.AsSpan(4));
        pseudo[9] = 17;
        BinaryPrimitives.WriteUInt16BigEndian(pseudo.AsSpan(10), (ushort)u.Length);
        u.CopyTo(pseudo, 12);
        BinaryPrimitives.WriteUInt16BigEndian(u.AsSpan(6), Checksum(pseudo));
        return u;
    }

    public static byte[] Ipv6(in Ipv6Address source, in Ipv6Address destination, byte next, byte[] payload, byte hopLimit = 64)
    {
        byte[] p = new byte[40 + payload.Length];
        p[0] = 0x60;
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(4), (ushort)payload.Length);
        p[6] = next;
        p[7] = hopLimit;
        source.CopyTo(p.AsSpan(8));
        destination.CopyTo(p.AsSpan(24));
        payload.CopyTo(p, 40);
        return p;
    }

    /// <summary>An ICMPv6 message with its checksum over the pseudo-header.</summary>
    public static byte[] Icmp6(in Ipv6Address source, in Ipv6Address destination, byte[] message)
    {
        byte[] m = (byte[])message.Clone();
        BinaryPrimitives.WriteUInt16BigEndian(m.AsSpan(2), 0);
        BinaryPrimitives.WriteUInt16BigEndian(m.AsSpan(2), Checksum6(source, destination, 58, m));
        return m;
    }

    public static byte[] Icmp6Echo(in Ipv6Address source, in Ipv6Address destination, byte type, ushort id, ushort sequence, int dataLength)
    {
        byte[] m = IcmpEcho(type, id, sequence, dataLength);
        return Icmp6(source, destination, m);
    }

    public static byte[] Ipv6Frame(MacAddress destinationMac, in Ipv6Address source, in Ipv6Address destination, byte next, byte[] payload, byte hopLimit = 64)
        => Ethernet(destinationMac, StackHarness.PeerMac, 0x86DD, Ipv6(source, destination, next, payload, hopLimit));

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
        return Ethernet(destinationMac, sourceMac, 0x86DD, Ipv6(source, destination, 58, Icmp6(source, destination, m), hopLimit));
    }

    public static byte[] NeighborAdvertisement(MacAddress sourceMac, MacAddress destinationMac, in Ipv6Address source, in Ipv6Address destination, in Ipv6Address target, MacAddress targetLinkLayer, byte flags = 0x60)
    {
        byte[] m = new byte[32];
        m[0] = 136;
        m[4] = flags;
        target.CopyTo(m.AsSpan(8));
        m[24] = 2;
        m[25] = 1;
        targetLinkLayer.CopyTo(m.AsSpan(26));
        return Ethernet(destinationMac, sourceMac, 0x86DD, Ipv6(source, destination, 58, Icmp6(source, destination, m), 255));
    }

    /// <summary>RFC 1071, written out plainly.</summary>
    public static ushort Checksum(ReadOnlySpan<byte> data)
    {
        uint sum = 0;
        for (int i = 0; i + 1 < data.Length; i += 2)
            sum += (uint)(data[i] << 8 | data[i + 1]);
        if ((data.Length & 1) != 0)
            sum += (uint)(data[^1] << 8);
        while (sum > 0xFFFF)
            sum = (sum & 0xFFFF) + (sum >> 16);
        return (ushort)~sum;
    }

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
}
