using System.Buffers.Binary;

namespace Dataplane.Wire.Tests.Differential;

/// <summary>
/// Random headers built with our code: option areas, IPv4 and IPv6 headers around a payload, and the
/// Ethernet frame around them. Checksums that need the payload are left to the caller's Fill call.
/// </summary>
internal static class PacketBuilders
{
    /// <summary>
    /// A random IPv4 or TCP option area (RFC 791 3.1, RFC 9293 3.1) of a multiple of 4 bytes up to
    /// <paramref name="maxLength"/>: no-operations, options of random kind and length, and sometimes
    /// an end-of-list followed by zero padding.
    /// </summary>
    public static byte[] KindLengthOptions(Random random, int maxLength)
    {
        int length = random.Next(maxLength / 4 + 1) * 4;
        byte[] area = new byte[length];
        int at = 0;
        while (at < length)
        {
            int left = length - at;
            int choice = random.Next(10);
            if (choice == 0)
            {
                // End of option list: the rest stays zero, as the RFCs want the padding.
                break;
            }
            if (choice <= 2 || left < 2)
            {
                area[at++] = 1;
                continue;
            }
            int optionLength = random.Next(2, Math.Min(left, 40) + 1);
            area[at] = (byte)random.Next(2, 256);
            area[at + 1] = (byte)optionLength;
            random.NextBytes(area.AsSpan(at + 2, optionLength - 2));
            at += optionLength;
        }
        return area;
    }

    /// <summary>
    /// A random IPv6 hop-by-hop or destination options area (RFC 8200 4.2) of <paramref name="length"/>
    /// bytes: Pad1, PadN and options of random type (never 0 or 1) and length.
    /// </summary>
    public static byte[] Ipv6Options(Random random, int length)
    {
        byte[] area = new byte[length];
        int at = 0;
        while (at < length)
        {
            int left = length - at;
            if (left < 2 || random.Chance(15))
            {
                area[at++] = 0; // Pad1
                continue;
            }
            int dataLength = random.Next(Math.Min(left - 2, 32) + 1);
            area[at] = random.Chance(20) ? (byte)1 : (byte)random.Next(2, 256);
            area[at + 1] = (byte)dataLength;
            if (area[at] != 1)
                random.NextBytes(area.AsSpan(at + 2, dataLength));
            at += 2 + dataLength;
        }
        return area;
    }

    /// <summary>A random IPv4 header that says nothing of fragments, so every parser reads the payload.</summary>
    public static Ipv4Packet.Repr Ipv4Header(Random random, IpProtocol protocol, int optionsLength, int payloadLength) => new()
    {
        Version = 4,
        Ihl = (byte)(5 + optionsLength / 4),
        Dscp = (byte)random.Next(64),
        Ecn = (byte)random.Next(4),
        TotalLength = (ushort)(Ipv4Packet.FixedLength + optionsLength + payloadLength),
        Identification = random.UInt16(),
        Flags = random.Bool() ? Ipv4Flags.DontFragment : Ipv4Flags.None,
        FragmentOffset = 0,
        TimeToLive = random.Byte(),
        Protocol = protocol,
        Source = random.Ipv4(),
        Destination = random.Ipv4(),
    };

    /// <summary>A random IPv6 header.</summary>
    public static Ipv6Packet.Repr Ipv6Header(Random random, IpProtocol nextHeader, int payloadLength) => new()
    {
        Version = 6,
        TrafficClass = random.Byte(),
        FlowLabel = (uint)random.Next(1 << 20),
        PayloadLength = (ushort)payloadLength,
        NextHeader = nextHeader,
        HopLimit = random.Byte(),
        Source = random.Ipv6(),
        Destination = random.Ipv6(),
    };

    /// <summary>
    /// Ethernet + IPv4 (with <paramref name="options"/>) around a <paramref name="payloadLength"/>-byte
    /// payload, padded to the 60-byte Ethernet minimum; returns the frame and the payload's offset.
    /// The IPv4 header checksum is filled by Emit.
    /// </summary>
    public static (byte[] Frame, int PayloadOffset) EthernetIpv4(Random random, Ipv4Packet.Repr ip, ReadOnlySpan<byte> options, int payloadLength)
    {
        int ipLength = Ipv4Packet.FixedLength + options.Length + payloadLength;
        byte[] frame = new byte[Math.Max(60, EthernetFrame.FixedLength + ipLength)];
        new EthernetFrame.Repr { Destination = random.Mac(), Source = random.Mac(), EtherType = EtherType.Ipv4 }.Emit(frame);
        Span<byte> header = frame.AsSpan(EthernetFrame.FixedLength);
        options.CopyTo(header[Ipv4Packet.FixedLength..]); // Emit sums the options into the header checksum
        ip.Emit(header);
        return (frame, EthernetFrame.FixedLength + Ipv4Packet.FixedLength + options.Length);
    }

    /// <summary>Ethernet + IPv6 around a payload of <paramref name="payloadLength"/> bytes.</summary>
    public static (byte[] Frame, int PayloadOffset) EthernetIpv6(Random random, Ipv6Packet.Repr ip, int payloadLength)
    {
        byte[] frame = new byte[EthernetFrame.FixedLength + Ipv6Packet.FixedLength + payloadLength];
        new EthernetFrame.Repr { Destination = random.Mac(), Source = random.Mac(), EtherType = EtherType.Ipv6 }.Emit(frame);
        ip.Emit(frame.AsSpan(EthernetFrame.FixedLength));
        return (frame, EthernetFrame.FixedLength + Ipv6Packet.FixedLength);
    }

    /// <summary>Changes a big-endian checksum field to another value, so that it no longer verifies.</summary>
    public static void Corrupt(Span<byte> field, Random random)
    {
        ushort value = BinaryPrimitives.ReadUInt16BigEndian(field);
        ushort changed;
        do
        {
            changed = (ushort)(value + random.Next(1, 65536));
        }
        while (changed == value || IsOnesComplementAlias(value, changed));
        BinaryPrimitives.WriteUInt16BigEndian(field, changed);
    }

    // 0x0000 and 0xFFFF are the same number in one's complement: swapping one for the other does not
    // break the sum, so it would not be a corruption.
    private static bool IsOnesComplementAlias(ushort a, ushort b) => (a == 0 && b == 0xFFFF) || (a == 0xFFFF && b == 0);
}
