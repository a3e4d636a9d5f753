using System.Buffers.Binary;

namespace Dataplane.Tests.Drivers.Vfio;

/// <summary>Frames of one flow, written byte by byte, for the tests of the devices' RSS hashes.</summary>
internal static class FlowFrames
{
    /// <summary>
    /// Ethernet, IPv4 (header checksum right) and 30 bytes of <paramref name="protocol"/> (6 TCP with
    /// a 20-byte header, 17 UDP, else opaque), 64 bytes in all; <paramref name="fragment"/> sets MF.
    /// </summary>
    public static byte[] Ipv4(byte protocol, uint source, uint destination, ushort sourcePort, ushort destinationPort, bool fragment = false)
    {
        byte[] f = new byte[64];
        Ethernet(f, 0x0800);
        Span<byte> ip = f.AsSpan(14, 20);
        ip[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(ip[2..], 50);
        BinaryPrimitives.WriteUInt16BigEndian(ip[6..], fragment ? (ushort)0x2000 : (ushort)0x4000); // MF, or DF
        ip[8] = 64;
        ip[9] = protocol;
        BinaryPrimitives.WriteUInt32BigEndian(ip[12..], source);
        BinaryPrimitives.WriteUInt32BigEndian(ip[16..], destination);
        uint sum = 0;
        for (int i = 0; i < 20; i += 2)
            sum += BinaryPrimitives.ReadUInt16BigEndian(ip[i..]);
        while (sum > 0xffff)
            sum = (sum & 0xffff) + (sum >> 16);
        BinaryPrimitives.WriteUInt16BigEndian(ip[10..], (ushort)~sum);
        Transport(f.AsSpan(34), protocol, sourcePort, destinationPort, 30);
        return f;
    }

    /// <summary>Ethernet, IPv6 with next header <paramref name="next"/>, and 20 bytes of it (TCP or UDP ports when it is one).</summary>
    public static byte[] Ipv6(byte next, byte lastSourceByte, byte lastDestinationByte, ushort sourcePort, ushort destinationPort)
    {
        byte[] f = new byte[74];
        Ethernet(f, 0x86dd);
        Span<byte> ip = f.AsSpan(14, 40);
        ip[0] = 0x60;
        BinaryPrimitives.WriteUInt16BigEndian(ip[4..], 20);
        ip[6] = next;
        ip[7] = 64;
        ip[8] = 0xfd; ip[9] = 0x99; ip[23] = lastSourceByte;
        ip[24] = 0xfd; ip[25] = 0x99; ip[39] = lastDestinationByte;
        Transport(f.AsSpan(54), next, sourcePort, destinationPort, 20);
        return f;
    }

    private static void Ethernet(Span<byte> f, ushort etherType)
    {
        f[..6].Fill(0x02);
        f[6] = 0x02;
        f[11] = 0x01;
        BinaryPrimitives.WriteUInt16BigEndian(f[12..], etherType);
    }

    private static void Transport(Span<byte> t, byte protocol, ushort sourcePort, ushort destinationPort, int length)
    {
        BinaryPrimitives.WriteUInt16BigEndian(t, sourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(t[2..], destinationPort);
        if (protocol == 6)
            t[12] = 0x50; // data offset 5
        else if (protocol == 17)
            BinaryPrimitives.WriteUInt16BigEndian(t[4..], (ushort)length);
    }
}
