using System.Buffers.Binary;
using PacketDotNet;
using PacketDotNet.Utils;

namespace Dataplane.Wire.Tests.Differential;

// Oracles:
//   IPv4 fixed header, ICMPv4, IGMPv2, IGMPv3 query, IGMPv3 report records: PacketDotNet.
//   IPv4 options, IGMPv3 reserved bits and auxiliary data, all checksum validity: NaiveDecoders
//     (PacketDotNet keeps IPv4 options as raw header bytes, which are compared as well).
// PacketDotNet bugs worked around, each for the one field it corrupts:
//   - IPv4Packet.FragmentFlags shifts the flags word as a signed short, so with the reserved bit
//     set it is negative: only its low three bits are compared.
//   - IgmpV2Packet, IgmpV3MembershipQueryPacket and IgmpV3MembershipReportPacket read Checksum
//     with BitConverter (host byte order): compared byte-swapped on little-endian hosts.
//   - IgmpV3MembershipReportPacket.GroupRecords steps over a record without its auxiliary data,
//     so when any record but the last has auxiliary data it misreads the records after it (or
//     throws reading past the end): for those reports the records are compared with the naive
//     decoder only.

public class Ipv4DifferentialTests
{
    [Fact]
    public void Ipv4_headers_with_options_built_by_us_read_the_same_in_PacketDotNet_and_the_naive_decoder()
    {
        DifferentialTally tally = DifferentialRun.Packets("IPv4", 0x0800, packet =>
        {
            Random random = packet.Random;
            byte[] options = PacketBuilders.KindLengthOptions(random, 40);
            int payloadLength = random.PayloadLength(1480 - options.Length);
            Ipv4Packet.Repr repr = PacketBuilders.Ipv4Header(random, OpaqueProtocol(random), options.Length, payloadLength) with
            {
                // Every flag and offset, the reserved bit and fragments included: the protocol is one
                // nobody decodes, so the payload is bytes to every parser.
                Flags = (Ipv4Flags)random.Next(8),
                FragmentOffset = (ushort)random.Next(8192),
            };
            var (frame, payloadOffset) = PacketBuilders.EthernetIpv4(random, repr, options, payloadLength);
            random.NextBytes(frame.AsSpan(payloadOffset, payloadLength));
            random.NextBytes(frame.AsSpan(payloadOffset + payloadLength)); // link padding no parser may read
            packet.Bytes = frame;
            string how = "Repr.Emit";
            if (packet.Index % 2 == 1)
            {
                // Half the packets then get new values through the view's setters, with the checksum
                // summed again or updated field by field (RFC 1624 eqn. 3).
                packet.True(Ipv4Packet.TryCreate(frame.AsSpan(EthernetFrame.FixedLength), out Ipv4Packet view), "our view refused the packet");
                repr = repr with
                {
                    Dscp = (byte)random.Next(64),
                    Ecn = (byte)random.Next(4),
                    Identification = random.UInt16(),
                    Flags = (Ipv4Flags)random.Next(8),
                    FragmentOffset = (ushort)random.Next(8192),
                    TimeToLive = random.Byte(),
                    Protocol = OpaqueProtocol(random),
                    Source = random.Ipv4(),
                    Destination = random.Ipv4(),
                };
                if (random.Bool())
                {
                    how = "setters, FillHeaderChecksum";
                    view.Dscp = repr.Dscp;
                    view.Ecn = repr.Ecn;
                    view.Identification = repr.Identification;
                    view.Flags = repr.Flags;
                    view.FragmentOffset = repr.FragmentOffset;
                    view.TimeToLive = repr.TimeToLive;
                    view.Protocol = repr.Protocol;
                    view.Source = repr.Source;
                    view.Destination = repr.Destination;
                    view.FillHeaderChecksum();
                }
                else
                {
                    how = "Set*UpdatingHeaderChecksum";
                    view.SetDscpUpdatingHeaderChecksum(repr.Dscp);
                    view.SetEcnUpdatingHeaderChecksum(repr.Ecn);
                    view.SetIdentificationUpdatingHeaderChecksum(repr.Identification);
                    view.SetFlagsUpdatingHeaderChecksum(repr.Flags);
                    view.SetFragmentOffsetUpdatingHeaderChecksum(repr.FragmentOffset);
                    view.SetTimeToLiveUpdatingHeaderChecksum(repr.TimeToLive);
                    view.SetProtocolUpdatingHeaderChecksum(repr.Protocol);
                    view.SetSourceUpdatingHeaderChecksum(repr.Source);
                    view.SetDestinationUpdatingHeaderChecksum(repr.Destination);
                }
                // Updated or summed again, the checksum is the one a full computation gives.
                packet.Equal(Naive.Checksum(view.Header, 10), view.HeaderChecksum, $"header checksum after {how} (naive)");
            }
            bool corrupt = random.Chance(10);
            if (corrupt)
                PacketBuilders.Corrupt(frame.AsSpan(EthernetFrame.FixedLength + 10, 2), random);
            packet.Variant = $"{options.Length} bytes of options, built with {how}{(corrupt ? ", bad checksum" : "")}";
            packet.Bytes = frame;

            Span<byte> ipBytes = frame.AsSpan(EthernetFrame.FixedLength);
            packet.True(Ipv4Packet.TryCreate(ipBytes, out Ipv4Packet ours), "our view refused the packet");
            var theirs = (IPv4Packet)new EthernetPacket(new ByteArraySegment(packet.OracleCopy())).PayloadPacket;
            CompareHeader(packet, theirs, ours);
            packet.BytesEqual(theirs.PayloadData ?? [], ours.Payload, "payload");

            // The option list, against a walk written from RFC 791.
            List<NaiveOption>? naive = Naive.KindLengthOptions(ipBytes.Slice(Ipv4Packet.FixedLength, options.Length));
            packet.True(naive is not null, "the naive walk found the generated options malformed");
            CompareOptions(packet, ours.EnumerateOptions(), naive!, "IPv4");

            packet.Equal(Naive.ChecksumVerifies(ours.Header), ours.VerifyHeaderChecksum(), "header checksum verifies (naive sum)");
            packet.Equal(!corrupt, ours.VerifyHeaderChecksum(), "header checksum verifies");
            bool parsed = Ipv4Packet.Repr.TryParse(ipBytes, out Ipv4Packet.Repr round, out WireError error);
            packet.Equal(!corrupt, parsed, "Repr.TryParse accepts exactly the packets whose checksum verifies");
            if (parsed)
                packet.Equal(repr, round, "Repr round trip");
            else
                packet.Equal(WireError.BadChecksum, error, "Repr.TryParse error");
            if (!corrupt)
                packet.Compared("IPv4");
        });
        tally.AssertEachCompared("IPv4");
    }

    /// <summary>Every field of the IPv4 header PacketDotNet exposes.</summary>
    internal static void CompareHeader(DifferentialPacket packet, IPv4Packet theirs, Ipv4Packet ours)
    {
        packet.Equal((int)theirs.Version, (int)ours.Version, "IPv4 version");
        packet.Equal(theirs.HeaderLength, (int)ours.Ihl, "IPv4 IHL");
        packet.Equal(theirs.HeaderLength * 4, ours.HeaderLength, "IPv4 header length");
        packet.Equal(theirs.DifferentiatedServices, ours.Dscp << 2 | ours.Ecn, "IPv4 DSCP and ECN");
        packet.Equal(theirs.TotalLength, (int)ours.TotalLength, "IPv4 total length");
        packet.Equal(theirs.TotalLength, ours.PacketLength, "IPv4 packet length");
        packet.Equal(theirs.Id, ours.Identification, "IPv4 identification");
        packet.Equal(theirs.FragmentFlags & 7, (int)ours.Flags, "IPv4 flags");
        packet.Equal(theirs.FragmentOffset, (int)ours.FragmentOffset, "IPv4 fragment offset");
        packet.Equal(theirs.TimeToLive, (int)ours.TimeToLive, "IPv4 TTL");
        packet.Equal((byte)theirs.Protocol, (byte)ours.Protocol, "IPv4 protocol");
        packet.Equal(theirs.Checksum, ours.HeaderChecksum, "IPv4 header checksum");
        packet.Equal(theirs.ValidIPChecksum, ours.VerifyHeaderChecksum(), "IPv4 header checksum verifies");
        packet.Equal(Oracle.V4(theirs.SourceAddress), ours.Source, "IPv4 source");
        packet.Equal(Oracle.V4(theirs.DestinationAddress), ours.Destination, "IPv4 destination");
        packet.BytesEqual(theirs.HeaderData.AsSpan(Ipv4Packet.FixedLength), ours.Options, "IPv4 options bytes");
    }

    /// <summary>Our option walk against the naive one: same options, same order, nothing malformed.</summary>
    internal static void CompareOptions(DifferentialPacket packet, WireOptionEnumerator ours, List<NaiveOption> naive, string what)
    {
        int n = 0;
        while (ours.MoveNext())
        {
            WireOption option = ours.Current;
            packet.True(n < naive.Count, $"{what}: we found more options than the {naive.Count} of the naive walk");
            packet.True(naive[n].SameAs(option.Type, option.Data),
                $"{what} option {n}: ours type {option.Type} data {Convert.ToHexString(option.Data)}, naive type {naive[n].Type} data {Convert.ToHexString(naive[n].Data)}");
            n++;
        }
        packet.Equal(naive.Count, n, what + " option count");
        packet.Equal(false, ours.IsMalformed, what + " options malformed");
    }

    private static IpProtocol OpaqueProtocol(Random random)
    {
        while (true)
        {
            // Protocols PacketDotNet decodes: ICMP, IGMP, IPv4, TCP, UDP, IPv6, GRE, ICMPv6, OSPF.
            byte protocol = random.Byte();
            if (protocol is not (1 or 2 or 4 or 6 or 17 or 41 or 47 or 58 or 89))
                return (IpProtocol)protocol;
        }
    }

    [Fact]
    public void Icmpv4_messages_built_by_us_read_the_same_in_PacketDotNet()
    {
        DifferentialTally tally = DifferentialRun.Packets("ICMPv4", 0x0001, packet =>
        {
            Random random = packet.Random;
            int kind = random.Next(4);
            int payloadLength = kind == 1 ? Ipv4Packet.FixedLength + 8 + random.Next(0, 520) : random.PayloadLength(1472);
            Ipv4Packet.Repr ip = PacketBuilders.Ipv4Header(random, IpProtocol.Icmp, 0, Icmpv4Packet.FixedLength + payloadLength);
            var (frame, icmpOffset) = PacketBuilders.EthernetIpv4(random, ip, [], Icmpv4Packet.FixedLength + payloadLength);
            Span<byte> icmp = frame.AsSpan(icmpOffset, Icmpv4Packet.FixedLength + payloadLength);
            random.NextBytes(icmp[Icmpv4Packet.FixedLength..]);
            object repr;
            switch (kind)
            {
                case 0:
                    packet.Variant = "echo";
                    var echo = new Icmpv4Echo.Repr
                    {
                        Type = random.Bool() ? Icmpv4Type.EchoRequest : Icmpv4Type.EchoReply,
                        Code = random.Chance(90) ? (byte)0 : random.Byte(),
                        Identifier = random.UInt16(),
                        SequenceNumber = random.UInt16(),
                    };
                    echo.Emit(icmp);
                    repr = echo;
                    break;
                case 1:
                    packet.Variant = "error";
                    var error = new Icmpv4Error.Repr
                    {
                        Type = random.Next(3) switch { 0 => Icmpv4Type.DestinationUnreachable, 1 => Icmpv4Type.TimeExceeded, _ => Icmpv4Type.ParameterProblem },
                        Code = (byte)random.Next(16),
                        Pointer = random.Byte(),
                        Unused = random.Chance(90) ? (byte)0 : random.Byte(),
                        NextHopMtu = random.UInt16(),
                    };
                    error.Emit(icmp);
                    // The start of the datagram that caused the error (RFC 792): an IPv4 header.
                    PacketBuilders.Ipv4Header(random, IpProtocol.Udp, 0, 8).Emit(icmp[Icmpv4Packet.FixedLength..]);
                    repr = error;
                    break;
                case 2:
                    packet.Variant = "redirect";
                    var redirect = new Icmpv4Redirect.Repr { Type = Icmpv4Type.Redirect, Code = (byte)random.Next(4), Gateway = random.Ipv4() };
                    redirect.Emit(icmp);
                    repr = redirect;
                    break;
                default:
                    packet.Variant = "any type";
                    var any = new Icmpv4Packet.Repr { Type = (Icmpv4Type)random.Byte(), Code = random.Byte(), RestOfHeader = random.UInt32() };
                    any.Emit(icmp);
                    repr = any;
                    break;
            }
            packet.True(Icmpv4Packet.TryCreate(icmp, out Icmpv4Packet message), "our ICMP view refused the message");
            message.FillChecksum();
            packet.Bytes = frame;
            if (repr is Icmpv4Echo.Repr built && packet.Index % 2 == 1)
            {
                // Half the echoes then get new values through the checksum-updating setters (RFC 1624 eqn. 3).
                packet.True(Icmpv4Echo.TryCreate(icmp, out Icmpv4Echo echo), "our echo view refused the message");
                built = built with
                {
                    Type = built.Type == Icmpv4Type.EchoRequest ? Icmpv4Type.EchoReply : Icmpv4Type.EchoRequest,
                    Code = random.Chance(90) ? (byte)0 : random.Byte(),
                    Identifier = random.UInt16(),
                    SequenceNumber = random.UInt16(),
                };
                echo.SetTypeUpdatingChecksum(built.Type);
                echo.SetCodeUpdatingChecksum(built.Code);
                echo.SetIdentifierUpdatingChecksum(built.Identifier);
                echo.SetSequenceNumberUpdatingChecksum(built.SequenceNumber);
                packet.Equal(Naive.Checksum(icmp, 2), echo.Checksum, "checksum after Set*UpdatingChecksum (naive)");
                repr = built;
                packet.Variant += ", set with Set*UpdatingChecksum";
            }
            bool corrupt = random.Chance(10);
            if (corrupt)
            {
                PacketBuilders.Corrupt(icmp.Slice(2, 2), random);
                packet.Variant += ", bad checksum";
            }
            packet.Bytes = frame;

            packet.True(Ipv4Packet.TryCreate(frame.AsSpan(EthernetFrame.FixedLength), out Ipv4Packet ipView), "our IPv4 view refused the packet");
            packet.True(Icmpv4Packet.TryCreate(ipView.Payload, out Icmpv4Packet ours), "our ICMP view refused the IPv4 payload");
            var theirIp = (IPv4Packet)new EthernetPacket(new ByteArraySegment(packet.OracleCopy())).PayloadPacket;
            CompareHeader(packet, theirIp, ipView);
            var theirs = (IcmpV4Packet)theirIp.PayloadPacket;
            CompareIcmpv4(packet, theirs, ours);
            packet.Equal(!corrupt, ours.VerifyChecksum(), "checksum verifies (as built)");

            // The type-specific views over the same bytes, against PacketDotNet's id and sequence words.
            bool parsed;
            object round;
            WireError parseError;
            switch (repr)
            {
                case Icmpv4Echo.Repr:
                    packet.True(Icmpv4Echo.TryCreate(ipView.Payload, out Icmpv4Echo echo), "our echo view refused the message");
                    packet.Equal(theirs.Id, echo.Identifier, "echo identifier");
                    packet.Equal(theirs.Sequence, echo.SequenceNumber, "echo sequence number");
                    packet.Equal(theirs.ValidIcmpChecksum, echo.VerifyChecksum(), "echo checksum verifies");
                    parsed = Icmpv4Echo.Repr.TryParse(ipView.Payload, out Icmpv4Echo.Repr echoRepr, out parseError);
                    round = echoRepr;
                    break;
                case Icmpv4Error.Repr:
                    packet.True(Icmpv4Error.TryCreate(ipView.Payload, out Icmpv4Error error), "our error view refused the message");
                    packet.Equal(theirs.Id, (ushort)(error.Pointer << 8 | error.Unused), "error pointer and unused byte");
                    packet.Equal(theirs.Sequence, error.NextHopMtu, "error next-hop MTU");
                    packet.Equal(theirs.ValidIcmpChecksum, error.VerifyChecksum(), "error checksum verifies");
                    parsed = Icmpv4Error.Repr.TryParse(ipView.Payload, out Icmpv4Error.Repr errorRepr, out parseError);
                    round = errorRepr;
                    break;
                case Icmpv4Redirect.Repr:
                    packet.True(Icmpv4Redirect.TryCreate(ipView.Payload, out Icmpv4Redirect redirect), "our redirect view refused the message");
                    packet.Equal((uint)theirs.Id << 16 | theirs.Sequence, redirect.Gateway.ToUInt32(), "redirect gateway");
                    packet.Equal(theirs.ValidIcmpChecksum, redirect.VerifyChecksum(), "redirect checksum verifies");
                    parsed = Icmpv4Redirect.Repr.TryParse(ipView.Payload, out Icmpv4Redirect.Repr redirectRepr, out parseError);
                    round = redirectRepr;
                    break;
                default:
                    parsed = Icmpv4Packet.Repr.TryParse(ipView.Payload, out Icmpv4Packet.Repr anyRepr, out parseError);
                    round = anyRepr;
                    break;
            }
            packet.Equal(!corrupt, parsed, "Repr.TryParse accepts exactly the messages whose checksum verifies");
            if (parsed)
                packet.Equal(repr, round, "Repr round trip");
            else
                packet.Equal(WireError.BadChecksum, parseError, "Repr.TryParse error");
            if (!corrupt)
                packet.Compared("ICMPv4");
        });
        tally.AssertEachCompared("ICMPv4");
    }

    /// <summary>Every field of an ICMP message PacketDotNet exposes, and the checksum's validity against the naive sum.</summary>
    internal static void CompareIcmpv4(DifferentialPacket packet, IcmpV4Packet theirs, Icmpv4Packet ours)
    {
        packet.Equal((ushort)theirs.TypeCode, (ushort)((byte)ours.Type << 8 | ours.Code), "ICMP type and code");
        packet.Equal(theirs.Checksum, ours.Checksum, "ICMP checksum");
        packet.Equal(theirs.ValidIcmpChecksum, ours.VerifyChecksum(), "ICMP checksum verifies");
        packet.Equal(Naive.ChecksumVerifies(ours.Buffer), ours.VerifyChecksum(), "ICMP checksum verifies (naive sum)");
        packet.Equal((uint)theirs.Id << 16 | theirs.Sequence, ours.RestOfHeader, "ICMP rest of header");
        packet.BytesEqual(theirs.Data, ours.Payload, "ICMP data");
    }

    [Fact]
    public void Igmp_v2_and_v3_messages_built_by_us_read_the_same_in_PacketDotNet_and_the_naive_decoder()
    {
        DifferentialTally tally = DifferentialRun.Packets("IGMP", 0x0002, packet =>
        {
            Random random = packet.Random;
            int kind = packet.Index % 4;
            byte[] message = kind switch
            {
                0 or 1 => BuildIgmpV2(random, kind == 0, packet),
                2 => BuildIgmpV3Query(random, packet),
                _ => BuildIgmpV3Report(random, packet),
            };
            bool corrupt = random.Chance(10);
            if (corrupt)
            {
                PacketBuilders.Corrupt(message.AsSpan(2, 2), random);
                packet.Variant += ", bad checksum";
            }
            // RFC 2236 2 / RFC 3376 4: IGMP rides with TTL 1 and the router alert option (RFC 2113).
            byte[] routerAlert = [0x94, 0x04, 0x00, 0x00];
            Ipv4Packet.Repr ip = PacketBuilders.Ipv4Header(random, IpProtocol.Igmp, routerAlert.Length, message.Length) with { TimeToLive = 1 };
            var (frame, igmpOffset) = PacketBuilders.EthernetIpv4(random, ip, routerAlert, message.Length);
            message.CopyTo(frame, igmpOffset);
            packet.Bytes = frame;

            packet.True(Ipv4Packet.TryCreate(frame.AsSpan(EthernetFrame.FixedLength), out Ipv4Packet ipView), "our IPv4 view refused the packet");
            var theirIp = (IPv4Packet)new EthernetPacket(new ByteArraySegment(packet.OracleCopy())).PayloadPacket;
            CompareHeader(packet, theirIp, ipView);
            Span<byte> igmp = ipView.Payload;
            bool naiveVerifies = Naive.ChecksumVerifies(igmp);
            packet.Equal(!corrupt, naiveVerifies, "checksum verifies (naive sum, as built)");

            switch (kind)
            {
                case 0 or 1:
                    packet.True(IgmpV2Message.TryCreate(igmp, out IgmpV2Message v2), "our IGMPv2 view refused the message");
                    var theirV2 = (IgmpV2Packet)theirIp.PayloadPacket;
                    packet.Equal((byte)theirV2.Type, (byte)v2.Type, "type");
                    packet.Equal(theirV2.MaxResponseTime, v2.MaxResponseTime, "max response time");
                    packet.Equal(HostOrderChecksum(theirV2.Checksum), v2.Checksum, "checksum (PacketDotNet reads it in host order)");
                    packet.Equal(Oracle.V4(theirV2.GroupAddress), v2.GroupAddress, "group address");
                    packet.Equal(naiveVerifies, v2.VerifyChecksum(), "checksum verifies");
                    packet.Equal(!corrupt, IgmpV2Message.Repr.TryParse(igmp, out _), "Repr.TryParse accepts exactly the messages whose checksum verifies");
                    break;
                case 2:
                    packet.True(IgmpV3Query.TryCreate(igmp, out IgmpV3Query query), "our IGMPv3 query view refused the message");
                    var theirQuery = (IgmpV3MembershipQueryPacket)theirIp.PayloadPacket;
                    packet.Equal((byte)theirQuery.Type, (byte)query.Type, "type");
                    packet.Equal((int)theirQuery.MaxResponseTime, Naive.DecodeIgmpV3Code(query.MaxResponseCode), "max response time");
                    packet.Equal(HostOrderChecksum(theirQuery.Checksum), query.Checksum, "checksum (PacketDotNet reads it in host order)");
                    packet.Equal(Oracle.V4(theirQuery.GroupAddress), query.GroupAddress, "group address");
                    packet.Equal(theirQuery.SuppressRouterSideProcessingFlag, query.SuppressRouterProcessing, "S flag");
                    packet.Equal(theirQuery.QueriersRobustnessVariable, query.QuerierRobustness, "QRV");
                    packet.Equal((int)theirQuery.QueriersQueryInterval, Naive.DecodeIgmpV3Code(query.QuerierQueryIntervalCode), "querier's query interval");
                    packet.Equal(theirQuery.NumberOfSources, query.NumberOfSources, "number of sources");
                    packet.Equal((byte)(igmp[8] >> 4), query.Reserved, "reserved bits (naive)");
                    packet.Equal(IgmpV3Query.FixedLength + 4 * query.NumberOfSources, query.HeaderLength, "header length");
                    List<System.Net.IPAddress> sources = theirQuery.SourceAddresses;
                    for (int i = 0; i < sources.Count; i++)
                        packet.Equal(Oracle.V4(sources[i]), new Ipv4Address(query.Variable[(4 * i)..]), $"source {i}");
                    packet.Equal(naiveVerifies, query.VerifyChecksum(), "checksum verifies");
                    packet.Equal(!corrupt, IgmpV3Query.Repr.TryParse(igmp, out _), "Repr.TryParse accepts exactly the messages whose checksum verifies");
                    break;
                default:
                    packet.True(IgmpV3Report.TryCreate(igmp, out IgmpV3Report report), "our IGMPv3 report view refused the message");
                    var theirReport = (IgmpV3MembershipReportPacket)theirIp.PayloadPacket;
                    packet.Equal((byte)theirReport.Type, (byte)report.Type, "type");
                    packet.Equal(HostOrderChecksum(theirReport.Checksum), report.Checksum, "checksum (PacketDotNet reads it in host order)");
                    packet.Equal(theirReport.NumberOfGroupRecords, report.NumberOfGroupRecords, "number of group records");
                    packet.Equal(naiveVerifies, report.VerifyChecksum(), "checksum verifies");
                    packet.Equal(!corrupt, IgmpV3Report.Repr.TryParse(igmp, out _), "Repr.TryParse accepts exactly the messages whose checksum verifies");
                    CompareIgmpV3Records(packet, report, theirReport, Naive.GroupRecords(igmp[IgmpV3Report.FixedLength..], report.NumberOfGroupRecords, 4));
                    break;
            }
            if (!corrupt)
                packet.Compared(kind < 2 ? "IGMPv2" : "IGMPv3");
        }, variants: 4);
        tally.AssertEachCompared("IGMPv2", "IGMPv3");
    }

    private static void CompareIgmpV3Records(DifferentialPacket packet, IgmpV3Report report, IgmpV3MembershipReportPacket theirs, List<NaiveGroupRecord> naive)
    {
        // PacketDotNet steps over a record without its auxiliary data: it reads every record right
        // only when no record but the last has any.
        bool trusted = naive.FindIndex(r => r.AuxiliaryWords > 0) is int firstWithAux && (firstWithAux < 0 || firstWithAux == naive.Count - 1);
        List<IgmpV3MembershipReportGroupRecord>? theirRecords = trusted ? theirs.GroupRecords : null;
        int n = 0;
        WireRecordEnumerator<IgmpV3GroupRecord> records = report.EnumerateRecords();
        while (records.MoveNext())
        {
            IgmpV3GroupRecord record = records.Current;
            NaiveGroupRecord expected = naive[n];
            packet.Equal(expected.RecordType, record.RecordType, $"record {n} type (naive)");
            packet.Equal(expected.AuxiliaryWords, record.AuxiliaryDataLength, $"record {n} auxiliary data length (naive)");
            packet.Equal(expected.Sources.Count, (int)record.NumberOfSources, $"record {n} number of sources (naive)");
            packet.Equal(new Ipv4Address(expected.Group), record.MulticastAddress, $"record {n} group (naive)");
            packet.Equal(expected.Length, record.HeaderLength, $"record {n} length (naive)");
            for (int i = 0; i < expected.Sources.Count; i++)
                packet.Equal(new Ipv4Address(expected.Sources[i]), new Ipv4Address(record.Variable[(4 * i)..]), $"record {n} source {i} (naive)");
            packet.BytesEqual(expected.AuxiliaryData, record.Variable[(4 * expected.Sources.Count)..], $"record {n} auxiliary data (naive)");
            if (theirRecords is not null)
            {
                IgmpV3MembershipReportGroupRecord theirRecord = theirRecords[n];
                packet.Equal((byte)theirRecord.RecordType, record.RecordType, $"record {n} type");
                packet.Equal(theirRecord.AuxiliaryDataLength, record.AuxiliaryDataLength, $"record {n} auxiliary data length");
                packet.Equal(theirRecord.NumberOfSources, record.NumberOfSources, $"record {n} number of sources");
                packet.Equal(Oracle.V4(theirRecord.MulticastAddress), record.MulticastAddress, $"record {n} group");
                List<System.Net.IPAddress> sources = theirRecord.SourceAddresses;
                for (int i = 0; i < sources.Count; i++)
                    packet.Equal(Oracle.V4(sources[i]), new Ipv4Address(record.Variable[(4 * i)..]), $"record {n} source {i}");
            }
            n++;
        }
        packet.Equal(false, records.IsMalformed, "records malformed");
        packet.Equal(naive.Count, n, "record count");
    }

    /// <summary>PacketDotNet's IGMP Checksum properties read the field in host byte order.</summary>
    private static ushort HostOrderChecksum(short theirs)
        => BitConverter.IsLittleEndian ? BinaryPrimitives.ReverseEndianness((ushort)theirs) : (ushort)theirs;

    private static byte[] BuildIgmpV2(Random random, bool query, DifferentialPacket packet)
    {
        var repr = new IgmpV2Message.Repr
        {
            Type = query ? IgmpType.MembershipQuery : random.Bool() ? IgmpType.MembershipReportV2 : IgmpType.LeaveGroup,
            MaxResponseTime = random.Byte(),
            GroupAddress = query && random.Bool() ? Ipv4Address.Any : random.Ipv4(),
        };
        packet.Variant = $"IGMPv2 {repr.Type}";
        // An IGMPv2 query is exactly 8 bytes: 12 or more make it an IGMPv3 query (RFC 3376 7.1).
        byte[] message = new byte[IgmpV2Message.FixedLength];
        repr.Emit(message);
        Assert.True(IgmpV2Message.TryCreate(message, out IgmpV2Message view));
        view.FillChecksum();
        return message;
    }

    private static byte[] BuildIgmpV3Query(Random random, DifferentialPacket packet)
    {
        int sources = random.Next(4) == 0 ? 0 : random.Next(1, 64);
        var repr = new IgmpV3Query.Repr
        {
            Type = IgmpType.MembershipQuery,
            MaxResponseCode = random.Byte(),
            GroupAddress = random.Bool() ? Ipv4Address.Any : random.Ipv4(),
            Reserved = random.Chance(90) ? (byte)0 : (byte)random.Next(16),
            SuppressRouterProcessing = random.Bool(),
            QuerierRobustness = (byte)random.Next(8),
            QuerierQueryIntervalCode = random.Byte(),
            NumberOfSources = (ushort)sources,
        };
        packet.Variant = $"IGMPv3 query, {sources} sources";
        byte[] message = new byte[IgmpV3Query.FixedLength + 4 * sources];
        repr.Emit(message);
        for (int i = 0; i < sources; i++)
            random.Ipv4().CopyTo(message.AsSpan(IgmpV3Query.FixedLength + 4 * i));
        Assert.True(IgmpV3Query.TryCreate(message, out IgmpV3Query view));
        view.FillChecksum();
        return message;
    }

    private static byte[] BuildIgmpV3Report(Random random, DifferentialPacket packet)
    {
        int count = random.Next(6);
        var records = new List<(IgmpV3GroupRecord.Repr Repr, Ipv4Address[] Sources, byte[] Aux)>();
        int length = IgmpV3Report.FixedLength;
        for (int r = 0; r < count; r++)
        {
            int sources = random.Next(9);
            byte auxWords = random.Chance(70) ? (byte)0 : (byte)random.Next(1, 5);
            var repr = new IgmpV3GroupRecord.Repr
            {
                RecordType = random.Chance(90) ? (byte)random.Next(1, 7) : random.Byte(),
                AuxiliaryDataLength = auxWords,
                NumberOfSources = (ushort)sources,
                MulticastAddress = random.Ipv4(),
            };
            Ipv4Address[] sourceAddresses = new Ipv4Address[sources];
            for (int i = 0; i < sources; i++)
                sourceAddresses[i] = random.Ipv4();
            records.Add((repr, sourceAddresses, random.Bytes(auxWords * 4)));
            length += IgmpV3GroupRecord.FixedLength + 4 * sources + 4 * auxWords;
        }
        packet.Variant = $"IGMPv3 report, {count} records";
        byte[] message = new byte[length];
        new IgmpV3Report.Repr
        {
            Type = IgmpType.MembershipReportV3,
            Reserved1 = random.Chance(90) ? (byte)0 : random.Byte(),
            Reserved2 = random.Chance(90) ? (ushort)0 : random.UInt16(),
            NumberOfGroupRecords = (ushort)count,
        }.Emit(message);
        int at = IgmpV3Report.FixedLength;
        foreach (var (repr, sources, aux) in records)
        {
            repr.Emit(message.AsSpan(at));
            at += IgmpV3GroupRecord.FixedLength;
            foreach (Ipv4Address source in sources)
            {
                source.CopyTo(message.AsSpan(at));
                at += 4;
            }
            aux.CopyTo(message, at);
            at += aux.Length;
        }
        Assert.True(IgmpV3Report.TryCreate(message, out IgmpV3Report view));
        view.FillChecksum();
        return message;
    }
}
