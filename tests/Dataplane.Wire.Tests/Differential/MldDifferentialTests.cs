using System.Buffers.Binary;
using PacketDotNet;
using PacketDotNet.Utils;

namespace Dataplane.Wire.Tests.Differential;

// Oracles:
//   MLDv2 queries and reports: NaiveDecoders (PacketDotNet leaves their bodies undecoded); the IPv6
//     header, the hop-by-hop router alert before them and ICMPv6 type/code/checksum: PacketDotNet
//     (one extension header, which it reads right).

public class MldDifferentialTests
{
    [Fact]
    public void Mldv2_queries_and_reports_built_by_us_read_the_same_in_the_naive_decoder_and_PacketDotNet()
    {
        DifferentialTally tally = DifferentialRun.Packets("MLDv2", 0x0082, packet =>
        {
            Random random = packet.Random;
            bool query = random.Bool();
            byte[] message = query ? BuildMldQuery(random, packet) : BuildMldReport(random, packet);
            // RFC 3810 5: link-local source, hop limit 1, and a hop-by-hop router alert (RFC 2711).
            byte[] hopByHop = [(byte)IpProtocol.Icmpv6, 0, 0x05, 0x02, 0x00, 0x00, 0x01, 0x00];
            Ipv6Packet.Repr ip = PacketBuilders.Ipv6Header(random, IpProtocol.HopByHop, hopByHop.Length + message.Length) with { HopLimit = 1 };
            var (frame, at) = PacketBuilders.EthernetIpv6(random, ip, hopByHop.Length + message.Length);
            hopByHop.CopyTo(frame, at);
            Span<byte> icmp = frame.AsSpan(at + hopByHop.Length, message.Length);
            message.CopyTo(icmp);
            if (query)
            {
                packet.True(MldV2Query.TryCreate(icmp, out MldV2Query view), "our MLDv2 query view refused the message");
                view.FillChecksum(ip.Source, ip.Destination);
            }
            else
            {
                packet.True(MldV2Report.TryCreate(icmp, out MldV2Report view), "our MLDv2 report view refused the message");
                view.FillChecksum(ip.Source, ip.Destination);
            }
            bool corrupt = random.Chance(10);
            if (corrupt)
            {
                PacketBuilders.Corrupt(icmp.Slice(2, 2), random);
                packet.Variant += ", bad checksum";
            }
            packet.Bytes = frame;

            packet.True(Ipv6Packet.TryCreate(frame.AsSpan(EthernetFrame.FixedLength), out Ipv6Packet ipView), "our IPv6 view refused the packet");
            packet.True(Ipv6HopByHopHeader.TryCreate(ipView.Payload, out Ipv6HopByHopHeader hop), "our hop-by-hop view refused the header");
            Span<byte> mld = hop.Payload;
            packet.True(Icmpv6Packet.TryCreate(mld, out Icmpv6Packet ours), "our ICMPv6 view refused the message");
            // One extension header, which PacketDotNet reads right: it judges type, code and checksum.
            var theirIp = (IPv6Packet)new EthernetPacket(new ByteArraySegment(packet.OracleCopy())).PayloadPacket;
            Ipv6DifferentialTests.CompareHeader(packet, theirIp, ipView);
            packet.Equal((byte)IpProtocol.Icmpv6, (byte)theirIp.Protocol, "upper-layer protocol");
            Ipv6DifferentialTests.CompareIcmpv6(packet, (IcmpV6Packet)theirIp.PayloadPacket, ours, ipView);
            packet.Equal(!corrupt, ours.VerifyChecksum(ipView.Source, ipView.Destination), "checksum verifies (as built)");

            CompareMldV2(packet, mld);
            if (!corrupt)
                packet.Compared("MLDv2");
        });
        tally.AssertEachCompared("MLDv2");
    }

    /// <summary>An MLDv2 query or report, every field and record against the naive decoder.</summary>
    internal static void CompareMldV2(DifferentialPacket packet, Span<byte> mld)
    {
        if (mld[0] == (byte)Icmpv6Type.MulticastListenerQuery)
        {
            packet.True(MldV2Query.TryCreate(mld, out MldV2Query view), "our MLDv2 query view refused the message");
            packet.Equal(BinaryPrimitives.ReadUInt16BigEndian(mld[4..]), view.MaxResponseCode, "maximum response code (naive)");
            packet.Equal(BinaryPrimitives.ReadUInt16BigEndian(mld[6..]), view.Reserved1, "reserved word (naive)");
            packet.Equal(new Ipv6Address(mld[8..]), view.MulticastAddress, "multicast address (naive)");
            packet.Equal((byte)(mld[24] >> 4), view.Reserved2, "reserved bits (naive)");
            packet.Equal((mld[24] & 0x08) != 0, view.SuppressRouterProcessing, "S flag (naive)");
            packet.Equal((byte)(mld[24] & 0x07), view.QuerierRobustness, "QRV (naive)");
            packet.Equal(mld[25], view.QuerierQueryIntervalCode, "QQIC (naive)");
            int sources = BinaryPrimitives.ReadUInt16BigEndian(mld[26..]);
            packet.Equal(sources, (int)view.NumberOfSources, "number of sources (naive)");
            packet.Equal(MldV2Query.FixedLength + 16 * sources, view.HeaderLength, "header length (naive)");
            packet.BytesEqual(mld.Slice(MldV2Query.FixedLength, 16 * sources), view.Variable, "sources (naive)");
            packet.True(MldV2Query.Repr.TryParse(mld, out _), "MLDv2 query Repr.TryParse refused the message");
        }
        else
        {
            packet.True(MldV2Report.TryCreate(mld, out MldV2Report view), "our MLDv2 report view refused the message");
            packet.Equal(mld[1], view.Reserved1, "reserved byte (naive)");
            packet.Equal(BinaryPrimitives.ReadUInt16BigEndian(mld[4..]), view.Reserved2, "reserved word (naive)");
            int count = BinaryPrimitives.ReadUInt16BigEndian(mld[6..]);
            packet.Equal(count, (int)view.NumberOfRecords, "number of records (naive)");
            List<NaiveGroupRecord> naive = Naive.GroupRecords(mld[MldV2Report.FixedLength..], count, 16);
            int n = 0;
            WireRecordEnumerator<MldV2AddressRecord> records = view.EnumerateRecords();
            while (records.MoveNext())
            {
                MldV2AddressRecord record = records.Current;
                NaiveGroupRecord expected = naive[n];
                packet.Equal(expected.RecordType, record.RecordType, $"record {n} type (naive)");
                packet.Equal(expected.AuxiliaryWords, record.AuxiliaryDataLength, $"record {n} auxiliary data length (naive)");
                packet.Equal(expected.Sources.Count, (int)record.NumberOfSources, $"record {n} number of sources (naive)");
                packet.Equal(new Ipv6Address(expected.Group), record.MulticastAddress, $"record {n} multicast address (naive)");
                packet.Equal(expected.Length, record.HeaderLength, $"record {n} length (naive)");
                for (int i = 0; i < expected.Sources.Count; i++)
                    packet.Equal(new Ipv6Address(expected.Sources[i]), new Ipv6Address(record.Variable[(16 * i)..]), $"record {n} source {i} (naive)");
                packet.BytesEqual(expected.AuxiliaryData, record.Variable[(16 * expected.Sources.Count)..], $"record {n} auxiliary data (naive)");
                n++;
            }
            packet.Equal(false, records.IsMalformed, "records malformed");
            packet.Equal(count, n, "record count");
            packet.True(MldV2Report.Repr.TryParse(mld, out _), "MLDv2 report Repr.TryParse refused the message");
        }
    }

    private static byte[] BuildMldQuery(Random random, DifferentialPacket packet)
    {
        int sources = random.Next(3) == 0 ? 0 : random.Next(1, 40);
        packet.Variant = $"query, {sources} sources";
        byte[] message = new byte[MldV2Query.FixedLength + 16 * sources];
        new MldV2Query.Repr
        {
            Type = Icmpv6Type.MulticastListenerQuery,
            Code = 0,
            MaxResponseCode = random.UInt16(),
            Reserved1 = random.Chance(90) ? (ushort)0 : random.UInt16(),
            MulticastAddress = random.Bool() ? Ipv6Address.Any : random.Ipv6(),
            Reserved2 = random.Chance(90) ? (byte)0 : (byte)random.Next(16),
            SuppressRouterProcessing = random.Bool(),
            QuerierRobustness = (byte)random.Next(8),
            QuerierQueryIntervalCode = random.Byte(),
            NumberOfSources = (ushort)sources,
        }.Emit(message);
        for (int i = 0; i < sources; i++)
            random.Ipv6().CopyTo(message.AsSpan(MldV2Query.FixedLength + 16 * i));
        return message;
    }

    private static byte[] BuildMldReport(Random random, DifferentialPacket packet)
    {
        int count = random.Next(6);
        packet.Variant = $"report, {count} records";
        var parts = new List<byte[]>();
        for (int r = 0; r < count; r++)
        {
            int sources = random.Next(6);
            byte auxWords = random.Chance(70) ? (byte)0 : (byte)random.Next(1, 5);
            byte[] record = new byte[MldV2AddressRecord.FixedLength + 16 * sources + 4 * auxWords];
            new MldV2AddressRecord.Repr
            {
                RecordType = random.Chance(90) ? (byte)random.Next(1, 7) : random.Byte(),
                AuxiliaryDataLength = auxWords,
                NumberOfSources = (ushort)sources,
                MulticastAddress = random.Ipv6(),
            }.Emit(record);
            for (int i = 0; i < sources; i++)
                random.Ipv6().CopyTo(record.AsSpan(MldV2AddressRecord.FixedLength + 16 * i));
            random.NextBytes(record.AsSpan(MldV2AddressRecord.FixedLength + 16 * sources));
            parts.Add(record);
        }
        byte[] message = new byte[MldV2Report.FixedLength + parts.Sum(p => p.Length)];
        new MldV2Report.Repr
        {
            Type = Icmpv6Type.MulticastListenerReportV2,
            Reserved1 = random.Chance(90) ? (byte)0 : random.Byte(),
            Reserved2 = random.Chance(90) ? (ushort)0 : random.UInt16(),
            NumberOfRecords = (ushort)count,
        }.Emit(message);
        int at = MldV2Report.FixedLength;
        foreach (byte[] part in parts)
        {
            part.CopyTo(message, at);
            at += part.Length;
        }
        return message;
    }
}
