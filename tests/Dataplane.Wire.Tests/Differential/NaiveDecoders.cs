using System.Buffers.Binary;

namespace Dataplane.Wire.Tests.Differential;

// The second oracle, for what PacketDotNet does not parse (or parses wrongly): minimal decoders
// written straight from the RFC diagrams with BinaryPrimitives. They share no code with the
// generator or with Dataplane.Wire (not even InternetChecksum), so a bug in a declaration, in the
// generator's bit arithmetic or in the checksum code shows up as a disagreement.

/// <summary>An option as a naive walk sees it: type and the bytes after type and length.</summary>
internal readonly record struct NaiveOption(byte Type, byte[] Data)
{
    public bool SameAs(byte type, ReadOnlySpan<byte> data) => Type == type && data.SequenceEqual(Data);
}

/// <summary>One IPv6 extension header of a chain.</summary>
internal readonly record struct NaiveExtensionHeader(byte Type, int Offset, int Length, byte NextHeader);

/// <summary>An IPv6 packet walked header by header (RFC 8200 4.1).</summary>
internal sealed record NaiveIpv6(
    byte TrafficClass, uint FlowLabel, ushort PayloadLength, byte NextHeader, byte HopLimit,
    List<NaiveExtensionHeader> Chain, byte UpperLayerProtocol, int UpperLayerOffset);

/// <summary>A GRE header's flags and optional words (RFC 2784 2.1, RFC 2890 2).</summary>
internal readonly record struct NaiveGre(
    bool ChecksumPresent, bool KeyPresent, bool SequencePresent, ushort Reserved0, byte Version, ushort Protocol,
    ushort? Checksum, ushort? Reserved1, uint? Key, uint? Sequence, int HeaderLength);

/// <summary>An IGMPv3 group record or MLDv2 address record (RFC 3376 4.2.4, RFC 3810 5.2.4).</summary>
internal sealed record NaiveGroupRecord(byte RecordType, byte AuxiliaryWords, byte[] Group, List<byte[]> Sources, byte[] AuxiliaryData, int Length);

internal static class Naive
{
    // ---- RFC 1071 checksums, the textbook way: 16-bit big-endian words into a 32-bit sum.

    public static uint Sum(ReadOnlySpan<byte> data, uint sum = 0)
    {
        int i = 0;
        for (; i + 1 < data.Length; i += 2)
            sum += (uint)(data[i] << 8 | data[i + 1]);
        if (i < data.Length)
            sum += (uint)data[i] << 8;
        return sum;
    }

    public static ushort Fold(uint sum)
    {
        while (sum > 0xFFFF)
            sum = (sum & 0xFFFF) + (sum >> 16);
        return (ushort)sum;
    }

    /// <summary>True when the data (checksum field included) and pseudo-header sum to 0xFFFF.</summary>
    public static bool ChecksumVerifies(ReadOnlySpan<byte> data, uint pseudoHeader = 0) => Fold(Sum(data, pseudoHeader)) == 0xFFFF;

    /// <summary>The checksum field value for data whose checksum field is at <paramref name="fieldOffset"/>.</summary>
    public static ushort Checksum(ReadOnlySpan<byte> data, int fieldOffset, uint pseudoHeader = 0)
    {
        byte[] copy = data.ToArray();
        copy[fieldOffset] = 0;
        copy[fieldOffset + 1] = 0;
        return (ushort)~Fold(Sum(copy, pseudoHeader));
    }

    /// <summary>RFC 768 / RFC 9293 3.1 pseudo-header: addresses, zero, protocol, length.</summary>
    public static uint PseudoHeaderV4(ReadOnlySpan<byte> ipv4Header, byte protocol, int length)
        => Sum(ipv4Header.Slice(12, 8)) + protocol + (uint)length;

    /// <summary>RFC 8200 8.1 pseudo-header: addresses, 32-bit length, three zeros, next header.</summary>
    public static uint PseudoHeaderV6(ReadOnlySpan<byte> ipv6Header, byte nextHeader, int length)
        => Sum(ipv6Header.Slice(8, 32)) + (uint)(length >> 16) + (uint)(length & 0xFFFF) + nextHeader;

    // ---- Option lists.

    /// <summary>IPv4 (RFC 791) and TCP (RFC 9293 3.2) options: EOL ends, NOP is one byte, others count kind and length.</summary>
    public static List<NaiveOption>? KindLengthOptions(ReadOnlySpan<byte> area)
    {
        var options = new List<NaiveOption>();
        int i = 0;
        while (i < area.Length)
        {
            byte kind = area[i];
            if (kind == 0)
                break;
            if (kind == 1)
            {
                i++;
                continue;
            }
            if (i + 1 >= area.Length)
                return null;
            int length = area[i + 1];
            if (length < 2 || i + length > area.Length)
                return null;
            options.Add(new NaiveOption(kind, area.Slice(i + 2, length - 2).ToArray()));
            i += length;
        }
        return options;
    }

    /// <summary>
    /// IPv6 hop-by-hop and destination options (RFC 8200 4.2): Pad1 is one byte, others count only
    /// their data; Pad1 and PadN are padding and not listed (their framing still counts).
    /// </summary>
    public static List<NaiveOption>? Ipv6Options(ReadOnlySpan<byte> area)
    {
        var options = new List<NaiveOption>();
        int i = 0;
        while (i < area.Length)
        {
            byte type = area[i];
            if (type == 0)
            {
                i++;
                continue;
            }
            if (i + 1 >= area.Length)
                return null;
            int dataLength = area[i + 1];
            if (i + 2 + dataLength > area.Length)
                return null;
            if (type != 1)
                options.Add(new NaiveOption(type, area.Slice(i + 2, dataLength).ToArray()));
            i += 2 + dataLength;
        }
        return options;
    }

    /// <summary>Neighbor Discovery options (RFC 4861 4.6): length in 8-octet units counting type and length; 0 is invalid.</summary>
    public static List<NaiveOption>? NdpOptions(ReadOnlySpan<byte> area)
    {
        var options = new List<NaiveOption>();
        int i = 0;
        while (i < area.Length)
        {
            if (i + 1 >= area.Length)
                return null;
            int length = area[i + 1] * 8;
            if (length == 0 || i + length > area.Length)
                return null;
            options.Add(new NaiveOption(area[i], area.Slice(i + 2, length - 2).ToArray()));
            i += length;
        }
        return options;
    }

    // ---- Headers.

    /// <summary>Walks the fixed IPv6 header and the extension headers of RFC 8200 4 that follow it.</summary>
    public static NaiveIpv6 Ipv6(ReadOnlySpan<byte> packet)
    {
        uint first = BinaryPrimitives.ReadUInt32BigEndian(packet);
        var chain = new List<NaiveExtensionHeader>();
        byte type = packet[6];
        int offset = 40;
        while (type is 0 or 43 or 44 or 60)
        {
            int length = type == 44 ? 8 : (packet[offset + 1] + 1) * 8;
            byte next = packet[offset];
            chain.Add(new NaiveExtensionHeader(type, offset, length, next));
            offset += length;
            type = next;
        }
        return new NaiveIpv6(
            (byte)(first >> 20), first & 0xFFFFF, BinaryPrimitives.ReadUInt16BigEndian(packet[4..]), packet[6], packet[7],
            chain, type, offset);
    }

    /// <summary>Fragment offset, M flag and identification of an IPv6 fragment header (RFC 8200 4.5).</summary>
    public static (ushort Offset, bool More, uint Identification, byte Reserved, byte Reserved2) Ipv6Fragment(ReadOnlySpan<byte> header)
    {
        ushort word = BinaryPrimitives.ReadUInt16BigEndian(header[2..]);
        return ((ushort)(word >> 3), (word & 1) != 0, BinaryPrimitives.ReadUInt32BigEndian(header[4..]), header[1], (byte)((word >> 1) & 3));
    }

    public static NaiveGre Gre(ReadOnlySpan<byte> gre)
    {
        ushort flags = BinaryPrimitives.ReadUInt16BigEndian(gre);
        bool c = (flags & 0x8000) != 0, k = (flags & 0x2000) != 0, s = (flags & 0x1000) != 0;
        int at = 4;
        ushort? checksum = null, reserved1 = null;
        uint? key = null, sequence = null;
        if (c)
        {
            checksum = BinaryPrimitives.ReadUInt16BigEndian(gre[at..]);
            reserved1 = BinaryPrimitives.ReadUInt16BigEndian(gre[(at + 2)..]);
            at += 4;
        }
        if (k)
        {
            key = BinaryPrimitives.ReadUInt32BigEndian(gre[at..]);
            at += 4;
        }
        if (s)
        {
            sequence = BinaryPrimitives.ReadUInt32BigEndian(gre[at..]);
            at += 4;
        }
        return new NaiveGre(c, k, s, (ushort)((flags >> 3) & 0x1FF), (byte)(flags & 7), BinaryPrimitives.ReadUInt16BigEndian(gre[2..]),
            checksum, reserved1, key, sequence, at);
    }

    /// <summary>Group records (IGMPv3, 4-byte addresses) or address records (MLDv2, 16-byte addresses) laid end to end.</summary>
    public static List<NaiveGroupRecord> GroupRecords(ReadOnlySpan<byte> records, int count, int addressLength)
    {
        var list = new List<NaiveGroupRecord>();
        int at = 0;
        for (int r = 0; r < count; r++)
        {
            ReadOnlySpan<byte> record = records[at..];
            byte auxWords = record[1];
            int sources = BinaryPrimitives.ReadUInt16BigEndian(record[2..]);
            int fixedLength = 4 + addressLength;
            var sourceList = new List<byte[]>();
            for (int i = 0; i < sources; i++)
                sourceList.Add(record.Slice(fixedLength + i * addressLength, addressLength).ToArray());
            int auxStart = fixedLength + sources * addressLength;
            int length = auxStart + auxWords * 4;
            list.Add(new NaiveGroupRecord(record[0], auxWords, record.Slice(4, addressLength).ToArray(), sourceList,
                record.Slice(auxStart, auxWords * 4).ToArray(), length));
            at += length;
        }
        return list;
    }

    /// <summary>The IGMPv3 / MLDv2 floating-point code of RFC 3376 4.1.1 and 4.1.7: exponent and mantissa.</summary>
    public static int DecodeIgmpV3Code(byte code)
        => code < 128 ? code : ((code & 0x0F) | 0x10) << (((code >> 4) & 0x07) + 3);
}
