using System.Buffers.Binary;
using PacketDotNet;
using PacketDotNet.Utils;

namespace Dataplane.Wire.Tests.Differential;

// Oracles:
//   IPv6 fixed header, the first extension header, ICMPv6 echo and error messages (type, code,
//     checksum and body), UDP over IPv6: PacketDotNet.
//   Extension-header chains, hop-by-hop and destination options, checksums: NaiveDecoders.
// PacketDotNet bugs worked around, each for the one field it corrupts:
//   - IPv6Packet.ParseExtensionHeaders builds every extension header over the bytes of the first
//     one (it slices at the end of the fixed header each time), so with two or more extension
//     headers ExtensionHeaders[1..], ExtensionHeadersLength, Protocol and the payload are wrong:
//     for those packets only the fixed header and ExtensionHeaders[0] are compared with it.
//   - IPv6FragmentationExtensionHeader reports HeaderExtensionLength 0 (the fragment header has
//     a reserved byte there): compared with 0 rather than with our Reserved byte.

public class Ipv6DifferentialTests
{
    private static readonly IpProtocol[] ChainTypes = [IpProtocol.Ipv6DestinationOptions, IpProtocol.Ipv6Routing, IpProtocol.Ipv6Fragment];

    [Fact]
    public void Ipv6_extension_header_chains_built_by_us_read_the_same_in_PacketDotNet_and_the_naive_decoder()
    {
        DifferentialTally tally = DifferentialRun.Packets("IPv6 + extension headers", 0x86DD, packet =>
        {
            Random random = packet.Random;
            // Half the packets carry one to three extension headers, the other half none or one.
            int count = packet.Index % 2 == 0 ? random.Next(1, 4) : random.Next(2);
            var types = new List<IpProtocol>();
            for (int i = 0; i < count; i++)
                types.Add(i == 0 && random.Bool() ? IpProtocol.HopByHop : ChainTypes[random.Next(ChainTypes.Length)]);
            IpProtocol upper = random.Chance(70) ? IpProtocol.Udp : IpProtocol.Ipv6NoNextHeader;
            var lengths = types.Select(t => t == IpProtocol.Ipv6Fragment ? 8 : 8 * (1 + random.Next(4))).ToList();
            int chainLength = lengths.Sum();
            int upperLength = (upper == IpProtocol.Udp ? UdpDatagram.FixedLength : 0) + random.PayloadLength(1200);
            packet.Variant = $"chain [{string.Join(", ", types)}], then {upper}";

            Ipv6Packet.Repr ip = PacketBuilders.Ipv6Header(random, count == 0 ? upper : types[0], chainLength + upperLength);
            var (frame, at) = PacketBuilders.EthernetIpv6(random, ip, chainLength + upperLength);
            bool laterFragment = false;
            for (int i = 0; i < count; i++)
            {
                Span<byte> header = frame.AsSpan(at, lengths[i]);
                IpProtocol next = i + 1 < count ? types[i + 1] : upper;
                byte extensionLength = (byte)(lengths[i] / 8 - 1);
                switch (types[i])
                {
                    case IpProtocol.HopByHop:
                        new Ipv6HopByHopHeader.Repr { NextHeader = next, HeaderExtensionLength = extensionLength }.Emit(header);
                        PacketBuilders.Ipv6Options(random, lengths[i] - 2).CopyTo(header[2..]);
                        break;
                    case IpProtocol.Ipv6DestinationOptions:
                        new Ipv6DestinationOptionsHeader.Repr { NextHeader = next, HeaderExtensionLength = extensionLength }.Emit(header);
                        PacketBuilders.Ipv6Options(random, lengths[i] - 2).CopyTo(header[2..]);
                        break;
                    case IpProtocol.Ipv6Routing:
                        new Ipv6RoutingHeader.Repr { NextHeader = next, HeaderExtensionLength = extensionLength, RoutingType = random.Byte(), SegmentsLeft = random.Byte() }.Emit(header);
                        random.NextBytes(header[4..]);
                        break;
                    default:
                        var fragment = new Ipv6FragmentHeader.Repr
                        {
                            NextHeader = next,
                            Reserved = random.Chance(90) ? (byte)0 : random.Byte(),
                            FragmentOffset = random.Chance(50) ? (ushort)0 : (ushort)random.Next(1, 8192),
                            Reserved2 = random.Chance(90) ? (byte)0 : (byte)random.Next(4),
                            MoreFragments = random.Bool(),
                            Identification = random.UInt32(),
                        };
                        fragment.Emit(header);
                        laterFragment |= fragment.FragmentOffset != 0;
                        break;
                }
                at += lengths[i];
            }
            Span<byte> upperBytes = frame.AsSpan(at, upperLength);
            random.NextBytes(upperBytes);
            // Past a fragment with a nonzero offset there is no UDP header, only the middle of one.
            bool udpHeader = upper == IpProtocol.Udp && !laterFragment;
            if (udpHeader)
            {
                new UdpDatagram.Repr { SourcePort = random.OpaqueUdpPort(), DestinationPort = random.OpaqueUdpPort(), Length = (ushort)upperLength }.Emit(upperBytes);
                packet.True(UdpDatagram.TryCreate(upperBytes, out UdpDatagram udp), "our UDP view refused the datagram");
                udp.FillChecksum(ip.Source, ip.Destination);
            }
            packet.Bytes = frame;

            // Ours, header by header, against the naive walk.
            Span<byte> ipBytes = frame.AsSpan(EthernetFrame.FixedLength);
            packet.True(Ipv6Packet.TryCreate(ipBytes, out Ipv6Packet ours), "our IPv6 view refused the packet");
            packet.True(Ipv6Packet.Repr.TryParse(ipBytes, out Ipv6Packet.Repr round), "Ipv6Packet.Repr.TryParse refused the packet");
            packet.Equal(ip, round, "IPv6 Repr round trip");
            NaiveIpv6 naive = Naive.Ipv6(ipBytes);
            packet.Equal(naive.TrafficClass, ours.TrafficClass, "traffic class (naive)");
            packet.Equal(naive.FlowLabel, ours.FlowLabel, "flow label (naive)");
            packet.Equal(naive.Chain.Count, count, "chain length (naive)");
            var walked = WalkChain(packet, ours, naive);
            packet.Equal(naive.UpperLayerProtocol, (byte)walked.Protocol, "upper-layer protocol (naive)");
            packet.Equal(naive.UpperLayerOffset, Ipv6Packet.FixedLength + chainLength, "upper-layer offset (naive)");

            // PacketDotNet: the fixed header always, the first extension header, and the rest only
            // where it reads them right (one extension header at most).
            var theirs = (IPv6Packet)new EthernetPacket(new ByteArraySegment(packet.OracleCopy())).PayloadPacket;
            CompareHeader(packet, theirs, ours);
            if (count >= 1)
            {
                IPv6ExtensionHeader first = theirs.ExtensionHeaders[0];
                NaiveExtensionHeader naiveFirst = naive.Chain[0];
                Span<byte> ourFirst = ipBytes.Slice(naiveFirst.Offset, naiveFirst.Length);
                packet.Equal((byte)first.Header, (byte)ours.NextHeader, "first extension header type");
                packet.Equal((byte)first.NextHeader, ourFirst[0], "first extension header's next header");
                packet.Equal((int)first.Length, naiveFirst.Length, "first extension header length");
                if (first is IPv6FragmentationExtensionHeader theirFragment)
                {
                    packet.True(Ipv6FragmentHeader.TryCreate(ourFirst, out Ipv6FragmentHeader fragment), "our fragment view refused the header");
                    packet.Equal(0, first.HeaderExtensionLength, "fragment header extension length (PacketDotNet's constant)");
                    packet.Equal(theirFragment.FragmentOffset, (int)fragment.FragmentOffset, "fragment offset");
                    packet.Equal(theirFragment.More, fragment.MoreFragments, "more fragments");
                }
                else
                {
                    packet.Equal(first.HeaderExtensionLength, (int)ourFirst[1], "first extension header length field");
                    packet.BytesEqual(first.Payload.ActualBytes(), ourFirst[2..], "first extension header data");
                }
            }
            if (count <= 1)
            {
                packet.Equal(count, theirs.ExtensionHeaders.Count, "extension header count");
                packet.Equal(chainLength, theirs.ExtensionHeadersLength, "extension headers length");
                packet.Equal((byte)theirs.Protocol, (byte)walked.Protocol, "upper-layer protocol");
                if (udpHeader)
                {
                    packet.True(UdpDatagram.TryCreate(walked.Remainder, out UdpDatagram udp), "our UDP view refused the datagram");
                    TransportDifferentialTests.CompareUdp(packet, (PacketDotNet.UdpPacket)theirs.PayloadPacket, udp);
                    packet.Equal(true, udp.VerifyChecksum(ours.Source, ours.Destination), "UDP checksum verifies");
                }
                else if (theirs.PayloadLength > 0) // PacketDotNet decodes no payload at all for an empty one
                {
                    packet.BytesEqual(theirs.PayloadData ?? [], walked.Remainder, "payload after the chain");
                }
                else
                {
                    packet.Equal(0, walked.Remainder.Length, "payload after the chain");
                }
            }
            if (udpHeader)
            {
                uint pseudo = Naive.PseudoHeaderV6(ipBytes, (byte)IpProtocol.Udp, upperLength);
                packet.True(UdpDatagram.TryCreate(walked.Remainder, out UdpDatagram udp), "our UDP view refused the datagram");
                packet.Equal(Naive.ChecksumVerifies(walked.Remainder, pseudo), udp.VerifyChecksum(ours.Source, ours.Destination), "UDP checksum verifies (naive sum)");
            }
            packet.Compared("IPv6");
            if (count > 0)
                packet.Compared("IPv6 extension headers");
        }, variants: 2);
        tally.AssertEachCompared("IPv6", "IPv6 extension headers");
    }

    /// <summary>Walks the extension headers with our views, checking each against the naive walk; returns what follows.</summary>
    internal static (IpProtocol Protocol, byte[] Remainder) WalkChain(DifferentialPacket packet, Ipv6Packet ip, NaiveIpv6 naive)
    {
        IpProtocol next = ip.NextHeader;
        Span<byte> rest = ip.Payload;
        int offset = Ipv6Packet.FixedLength;
        for (int i = 0; next is IpProtocol.HopByHop or IpProtocol.Ipv6DestinationOptions or IpProtocol.Ipv6Routing or IpProtocol.Ipv6Fragment; i++)
        {
            packet.True(i < naive.Chain.Count, "we found more extension headers than the naive walk");
            NaiveExtensionHeader expected = naive.Chain[i];
            packet.Equal(expected.Type, (byte)next, $"extension header {i} type");
            packet.Equal(expected.Offset, offset, $"extension header {i} offset");
            int length;
            switch (next)
            {
                case IpProtocol.HopByHop:
                {
                    packet.True(Ipv6HopByHopHeader.TryCreate(rest, out Ipv6HopByHopHeader header), "our hop-by-hop view refused the header");
                    packet.True(Ipv6HopByHopHeader.Repr.TryParse(rest, out _), "hop-by-hop Repr.TryParse refused the header");
                    Ipv4DifferentialTests.CompareOptions(packet, header.EnumerateOptions(), Naive.Ipv6Options(header.Options)!, "hop-by-hop");
                    length = header.HeaderLength;
                    next = header.NextHeader;
                    rest = header.Payload;
                    break;
                }
                case IpProtocol.Ipv6DestinationOptions:
                {
                    packet.True(Ipv6DestinationOptionsHeader.TryCreate(rest, out Ipv6DestinationOptionsHeader header), "our destination options view refused the header");
                    packet.True(Ipv6DestinationOptionsHeader.Repr.TryParse(rest, out _), "destination options Repr.TryParse refused the header");
                    Ipv4DifferentialTests.CompareOptions(packet, header.EnumerateOptions(), Naive.Ipv6Options(header.Options)!, "destination options");
                    length = header.HeaderLength;
                    next = header.NextHeader;
                    rest = header.Payload;
                    break;
                }
                case IpProtocol.Ipv6Routing:
                {
                    packet.True(Ipv6RoutingHeader.TryCreate(rest, out Ipv6RoutingHeader header), "our routing view refused the header");
                    Span<byte> raw = header.Header;
                    packet.Equal(raw[2], header.RoutingType, "routing type (naive)");
                    packet.Equal(raw[3], header.SegmentsLeft, "segments left (naive)");
                    packet.BytesEqual(raw[4..], header.Variable, "routing data (naive)");
                    length = header.HeaderLength;
                    next = header.NextHeader;
                    rest = header.Payload;
                    break;
                }
                default:
                {
                    packet.True(Ipv6FragmentHeader.TryCreate(rest, out Ipv6FragmentHeader header), "our fragment view refused the header");
                    var (fragmentOffset, more, identification, reserved, reserved2) = Naive.Ipv6Fragment(header.Header);
                    packet.Equal(fragmentOffset, header.FragmentOffset, "fragment offset (naive)");
                    packet.Equal(more, header.MoreFragments, "more fragments (naive)");
                    packet.Equal(identification, header.Identification, "identification (naive)");
                    packet.Equal(reserved, header.Reserved, "reserved (naive)");
                    packet.Equal(reserved2, header.Reserved2, "reserved bits (naive)");
                    length = header.HeaderLength;
                    next = header.NextHeader;
                    rest = header.Payload;
                    break;
                }
            }
            packet.Equal(expected.Length, length, $"extension header {i} length");
            packet.Equal(expected.NextHeader, (byte)next, $"extension header {i} next header");
            offset += length;
        }
        return (next, rest.ToArray());
    }

    /// <summary>Every field of the fixed IPv6 header PacketDotNet exposes.</summary>
    internal static void CompareHeader(DifferentialPacket packet, IPv6Packet theirs, Ipv6Packet ours)
    {
        packet.Equal((int)theirs.Version, (int)ours.Version, "IPv6 version");
        packet.Equal(theirs.TrafficClass, (int)ours.TrafficClass, "IPv6 traffic class");
        packet.Equal(theirs.FlowLabel, (int)ours.FlowLabel, "IPv6 flow label");
        packet.Equal(theirs.PayloadLength, ours.PayloadLength, "IPv6 payload length");
        packet.Equal(theirs.PayloadLength + Ipv6Packet.FixedLength, ours.PacketLength, "IPv6 packet length");
        packet.Equal((byte)theirs.NextHeader, (byte)ours.NextHeader, "IPv6 next header");
        packet.Equal(theirs.HopLimit, (int)ours.HopLimit, "IPv6 hop limit");
        packet.Equal(Oracle.V6(theirs.SourceAddress), ours.Source, "IPv6 source");
        packet.Equal(Oracle.V6(theirs.DestinationAddress), ours.Destination, "IPv6 destination");
    }

    [Fact]
    public void Icmpv6_echo_and_error_messages_built_by_us_read_the_same_in_PacketDotNet()
    {
        DifferentialTally tally = DifferentialRun.Packets("ICMPv6", 0x003A, packet =>
        {
            Random random = packet.Random;
            int kind = random.Next(3);
            int bodyLength = kind == 1 ? Ipv6Packet.FixedLength + random.Next(0, 1000) : random.PayloadLength(1400);
            int length = Icmpv6Packet.FixedLength + bodyLength;
            Ipv6Packet.Repr ip = PacketBuilders.Ipv6Header(random, IpProtocol.Icmpv6, length);
            var (frame, at) = PacketBuilders.EthernetIpv6(random, ip, length);
            Span<byte> icmp = frame.AsSpan(at, length);
            random.NextBytes(icmp[Icmpv6Packet.FixedLength..]);
            switch (kind)
            {
                case 0:
                    packet.Variant = "echo";
                    new Icmpv6Echo.Repr
                    {
                        Type = random.Bool() ? Icmpv6Type.EchoRequest : Icmpv6Type.EchoReply,
                        Code = random.Chance(90) ? (byte)0 : random.Byte(),
                        Identifier = random.UInt16(),
                        SequenceNumber = random.UInt16(),
                    }.Emit(icmp);
                    break;
                case 1:
                    packet.Variant = "error";
                    new Icmpv6Error.Repr { Type = (Icmpv6Type)random.Next(1, 5), Code = (byte)random.Next(8), Parameter = random.UInt32() }.Emit(icmp);
                    PacketBuilders.Ipv6Header(random, IpProtocol.Udp, 8).Emit(icmp[Icmpv6Packet.FixedLength..]);
                    break;
                default:
                    packet.Variant = "any type but NDP";
                    byte type;
                    do
                    {
                        type = random.Byte();
                    }
                    while (type is >= 133 and <= 137); // PacketDotNet decodes those as NDP
                    new Icmpv6Packet.Repr { Type = (Icmpv6Type)type, Code = random.Byte(), RestOfHeader = random.UInt32() }.Emit(icmp);
                    break;
            }
            packet.True(Icmpv6Packet.TryCreate(icmp, out Icmpv6Packet built), "our ICMPv6 view refused the message");
            built.FillChecksum(ip.Source, ip.Destination);
            packet.Bytes = frame;
            if (kind == 0 && packet.Index % 2 == 1)
            {
                // Half the echoes then get new values through the checksum-updating setters (RFC 1624 eqn. 3).
                packet.True(Icmpv6Echo.TryCreate(icmp, out Icmpv6Echo echo), "our echo view refused the message");
                echo.SetTypeUpdatingChecksum(echo.Type == Icmpv6Type.EchoRequest ? Icmpv6Type.EchoReply : Icmpv6Type.EchoRequest);
                echo.SetCodeUpdatingChecksum(random.Chance(90) ? (byte)0 : random.Byte());
                echo.SetIdentifierUpdatingChecksum(random.UInt16());
                echo.SetSequenceNumberUpdatingChecksum(random.UInt16());
                uint pseudo = Naive.PseudoHeaderV6(frame.AsSpan(EthernetFrame.FixedLength), 58, length);
                packet.Equal(Naive.Checksum(icmp, 2, pseudo), echo.Checksum, "checksum after Set*UpdatingChecksum (naive)");
                packet.Variant += ", set with Set*UpdatingChecksum";
            }
            bool corrupt = random.Chance(10);
            if (corrupt)
            {
                PacketBuilders.Corrupt(icmp.Slice(2, 2), random);
                packet.Variant += ", bad checksum";
            }

            packet.True(Ipv6Packet.TryCreate(frame.AsSpan(EthernetFrame.FixedLength), out Ipv6Packet ipView), "our IPv6 view refused the packet");
            packet.True(Icmpv6Packet.TryCreate(ipView.Payload, out Icmpv6Packet ours), "our ICMPv6 view refused the payload");
            var theirIp = (IPv6Packet)new EthernetPacket(new ByteArraySegment(packet.OracleCopy())).PayloadPacket;
            CompareHeader(packet, theirIp, ipView);
            var theirs = (IcmpV6Packet)theirIp.PayloadPacket;
            CompareIcmpv6(packet, theirs, ours, ipView);
            packet.Equal(!corrupt, ours.VerifyChecksum(ipView.Source, ipView.Destination), "checksum verifies (as built)");
            // PacketDotNet hands back everything after type, code and checksum.
            byte[] rest = theirs.PayloadData;
            packet.Equal(BinaryPrimitives.ReadUInt32BigEndian(rest), ours.RestOfHeader, "rest of header");
            packet.BytesEqual(rest.AsSpan(4), ours.Payload, "body");
            switch (kind)
            {
                case 0:
                    packet.True(Icmpv6Echo.TryCreate(ipView.Payload, out Icmpv6Echo echo), "our echo view refused the message");
                    packet.Equal(BinaryPrimitives.ReadUInt16BigEndian(rest), echo.Identifier, "echo identifier");
                    packet.Equal(BinaryPrimitives.ReadUInt16BigEndian(rest.AsSpan(2)), echo.SequenceNumber, "echo sequence number");
                    packet.Equal(theirs.ValidIcmpChecksum, echo.VerifyChecksum(ipView.Source, ipView.Destination), "echo checksum verifies");
                    packet.True(Icmpv6Echo.Repr.TryParse(ipView.Payload, out _), "echo Repr.TryParse refused the message");
                    break;
                case 1:
                    packet.True(Icmpv6Error.TryCreate(ipView.Payload, out Icmpv6Error error), "our error view refused the message");
                    packet.Equal(BinaryPrimitives.ReadUInt32BigEndian(rest), error.Parameter, "error parameter");
                    packet.Equal(theirs.ValidIcmpChecksum, error.VerifyChecksum(ipView.Source, ipView.Destination), "error checksum verifies");
                    break;
            }
            if (!corrupt)
                packet.Compared("ICMPv6");
        });
        tally.AssertEachCompared("ICMPv6");
    }

    /// <summary>Type, code, checksum and its validity, against PacketDotNet and the naive sum.</summary>
    internal static void CompareIcmpv6(DifferentialPacket packet, IcmpV6Packet theirs, Icmpv6Packet ours, Ipv6Packet ip)
    {
        packet.Equal((byte)theirs.Type, (byte)ours.Type, "ICMPv6 type");
        packet.Equal(theirs.Code, ours.Code, "ICMPv6 code");
        packet.Equal(theirs.Checksum, ours.Checksum, "ICMPv6 checksum");
        bool verifies = ours.VerifyChecksum(ip.Source, ip.Destination);
        packet.Equal(theirs.ValidIcmpChecksum, verifies, "ICMPv6 checksum verifies");
        uint pseudo = Naive.PseudoHeaderV6(ip.Header, (byte)IpProtocol.Icmpv6, ours.PacketLength);
        packet.Equal(Naive.ChecksumVerifies(ours.Buffer[..ours.PacketLength], pseudo), verifies, "ICMPv6 checksum verifies (naive sum)");
    }
}
