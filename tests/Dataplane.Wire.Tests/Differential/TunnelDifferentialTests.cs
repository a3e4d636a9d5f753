using System.Buffers.Binary;
using PacketDotNet;
using PacketDotNet.Utils;

namespace Dataplane.Wire.Tests.Differential;

// Oracles:
//   GRE flags, version, protocol type and the encapsulated packet; VXLAN flags, VNI and the inner
//     Ethernet frame: PacketDotNet.
//   GRE checksum, reserved1, key and sequence words, the GRE checksum's validity, VXLAN reserved
//     bits: NaiveDecoders (PacketDotNet exposes no key or sequence value).
// PacketDotNet bugs worked around, each for the one field it corrupts:
//   - GrePacket.Checksum reads bytes 2-3 (the protocol type) in host byte order, and with the C bit
//     set its header length counts 2 bytes for checksum and reserved1 instead of 4, so the payload
//     it returns starts 2 bytes early: with the C bit set the checksum and payload are compared
//     with the naive decoder only.

public class TunnelDifferentialTests
{
    [Fact]
    public void Gre_headers_built_by_us_read_the_same_in_PacketDotNet_and_the_naive_decoder()
    {
        DifferentialTally tally = DifferentialRun.Packets("GRE", 0x002F, packet =>
        {
            Random random = packet.Random;
            var repr = new GreHeader.Repr
            {
                ChecksumPresent = random.Bool(),
                RoutingPresent = random.Chance(5),
                KeyPresent = random.Bool(),
                SequenceNumberPresent = random.Bool(),
                Reserved0 = random.Chance(95) ? (ushort)0 : (ushort)random.Next(512),
                Version = random.Chance(95) ? (byte)0 : (byte)random.Next(1, 8),
            };
            int innerKind = random.Next(3);
            byte[] inner;
            (repr, inner) = innerKind switch
            {
                0 => (repr with { ProtocolType = EtherType.TransparentEthernetBridging }, InnerEthernet(random)),
                1 => (repr with { ProtocolType = EtherType.Ipv4 }, InnerIpv4(random)),
                _ => (repr with { ProtocolType = random.OpaqueEtherType() }, random.Bytes(random.PayloadLength(1400))),
            };
            int headerLength = GreHeader.FixedLength + 4 * ((repr.ChecksumPresent ? 1 : 0) + (repr.KeyPresent ? 1 : 0) + (repr.SequenceNumberPresent ? 1 : 0));
            int length = headerLength + inner.Length;
            Ipv4Packet.Repr ip = PacketBuilders.Ipv4Header(random, IpProtocol.Gre, 0, length);
            var (frame, at) = PacketBuilders.EthernetIpv4(random, ip, [], length);
            Span<byte> gre = frame.AsSpan(at, length);
            repr.Emit(gre);
            int word = GreHeader.FixedLength;
            ushort reserved1 = random.Chance(95) ? (ushort)0 : random.UInt16();
            uint key = random.UInt32(), sequence = random.UInt32();
            if (repr.ChecksumPresent)
            {
                BinaryPrimitives.WriteUInt16BigEndian(gre[(word + 2)..], reserved1);
                word += 4;
            }
            if (repr.KeyPresent)
            {
                BinaryPrimitives.WriteUInt32BigEndian(gre[word..], key);
                word += 4;
            }
            if (repr.SequenceNumberPresent)
                BinaryPrimitives.WriteUInt32BigEndian(gre[word..], sequence);
            inner.CopyTo(gre[headerLength..]);
            bool corrupt = false;
            if (repr.ChecksumPresent)
            {
                // RFC 2784 2.5: the checksum covers the GRE header and payload, checksum field zero.
                BinaryPrimitives.WriteUInt16BigEndian(gre[GreHeader.FixedLength..], InternetChecksum.Compute(gre));
                corrupt = random.Chance(10);
                if (corrupt)
                    PacketBuilders.Corrupt(gre.Slice(GreHeader.FixedLength, 2), random);
            }
            packet.Variant = $"C={repr.ChecksumPresent} K={repr.KeyPresent} S={repr.SequenceNumberPresent} version {repr.Version}, carrying {repr.ProtocolType}{(corrupt ? ", bad checksum" : "")}";
            packet.Bytes = frame;

            packet.True(Ipv4Packet.TryCreate(frame.AsSpan(EthernetFrame.FixedLength), out Ipv4Packet ipView), "our IPv4 view refused the packet");
            packet.True(GreHeader.TryCreate(ipView.Payload, out GreHeader ours), "our GRE view refused the header");
            NaiveGre naive = Naive.Gre(ipView.Payload);
            packet.Equal(naive.ChecksumPresent, ours.ChecksumPresent, "C bit (naive)");
            packet.Equal(naive.KeyPresent, ours.KeyPresent, "K bit (naive)");
            packet.Equal(naive.SequencePresent, ours.SequenceNumberPresent, "S bit (naive)");
            packet.Equal(naive.Reserved0, ours.Reserved0, "reserved0 (naive)");
            packet.Equal(naive.Version, ours.Version, "version (naive)");
            packet.Equal(naive.Protocol, (ushort)ours.ProtocolType, "protocol type (naive)");
            packet.Equal(naive.Checksum, ours.Checksum, "checksum (naive)");
            packet.Equal(naive.Key, ours.Key, "key (naive)");
            packet.Equal(naive.Sequence, ours.SequenceNumber, "sequence number (naive)");
            packet.Equal(naive.HeaderLength, ours.HeaderLength, "header length (naive)");
            if (naive.Reserved1 is ushort naiveReserved1)
                packet.Equal(naiveReserved1, BinaryPrimitives.ReadUInt16BigEndian(ours.Variable[2..]), "reserved1 (naive)");
            packet.BytesEqual(inner, ours.Payload, "payload");
            if (repr.ChecksumPresent)
            {
                packet.Equal(!corrupt, Naive.ChecksumVerifies(ours.Buffer), "checksum verifies (naive sum, as built)");
                packet.Equal(!corrupt, InternetChecksum.IsValid(ours.Buffer), "checksum verifies");
            }

            var theirIp = (IPv4Packet)new EthernetPacket(new ByteArraySegment(packet.OracleCopy())).PayloadPacket;
            Ipv4DifferentialTests.CompareHeader(packet, theirIp, ipView);
            var theirs = (GrePacket)theirIp.PayloadPacket;
            packet.Equal(theirs.FlagsAndVersion, BinaryPrimitives.ReadUInt16BigEndian(ours.Header), "flags and version");
            packet.Equal(theirs.HasCheckSum, ours.ChecksumPresent, "C bit");
            packet.Equal(theirs.HasKey, ours.KeyPresent, "K bit");
            packet.Equal(theirs.HasSequence, ours.SequenceNumberPresent, "S bit");
            packet.Equal(theirs.Version, (int)ours.Version, "version");
            packet.Equal((ushort)theirs.Protocol, (ushort)ours.ProtocolType, "protocol type");
            if (!repr.ChecksumPresent)
            {
                switch (innerKind)
                {
                    case 0:
                        packet.True(EthernetFrame.TryCreate(ours.Payload, out EthernetFrame ethernet), "our view refused the inner frame");
                        var theirEthernet = (EthernetPacket)theirs.PayloadPacket;
                        packet.Equal(Oracle.Mac(theirEthernet.DestinationHardwareAddress), ethernet.Destination, "inner destination");
                        packet.Equal(Oracle.Mac(theirEthernet.SourceHardwareAddress), ethernet.Source, "inner source");
                        packet.Equal((ushort)theirEthernet.Type, (ushort)ethernet.EtherType, "inner EtherType");
                        packet.BytesEqual(theirEthernet.PayloadData ?? [], ethernet.Payload, "inner payload");
                        break;
                    case 1:
                        packet.True(Ipv4Packet.TryCreate(ours.Payload, out Ipv4Packet innerIp), "our view refused the inner IPv4 packet");
                        Ipv4DifferentialTests.CompareHeader(packet, (IPv4Packet)theirs.PayloadPacket, innerIp);
                        break;
                    default:
                        packet.BytesEqual(theirs.PayloadData ?? [], ours.Payload, "payload");
                        break;
                }
            }

            bool parsed = GreHeader.Repr.TryParse(ipView.Payload, out GreHeader.Repr round, out WireError error);
            packet.Equal(repr.Version == 0, parsed, "Repr.TryParse accepts exactly version 0");
            if (parsed)
                packet.Equal(repr, round, "Repr round trip");
            else
                packet.Equal(WireError.UnexpectedValue, error, "Repr.TryParse error");
            if (!corrupt && repr.Version == 0)
                packet.Compared("GRE");
        });
        tally.AssertEachCompared("GRE");
    }

    private static byte[] InnerEthernet(Random random)
    {
        byte[] frame = new byte[EthernetFrame.FixedLength + random.PayloadLength(1400)];
        new EthernetFrame.Repr { Destination = random.Mac(), Source = random.Mac(), EtherType = random.OpaqueEtherType() }.Emit(frame);
        random.NextBytes(frame.AsSpan(EthernetFrame.FixedLength));
        return frame;
    }

    private static byte[] InnerIpv4(Random random)
    {
        int payloadLength = random.PayloadLength(1300);
        // 253 is for experiments (RFC 3692): no parser decodes it further.
        Ipv4Packet.Repr repr = PacketBuilders.Ipv4Header(random, (IpProtocol)253, 0, payloadLength);
        byte[] packet = new byte[Ipv4Packet.FixedLength + payloadLength];
        repr.Emit(packet);
        random.NextBytes(packet.AsSpan(Ipv4Packet.FixedLength));
        return packet;
    }

    [Fact]
    public void Vxlan_headers_built_by_us_read_the_same_in_PacketDotNet_and_the_naive_decoder()
    {
        DifferentialTally tally = DifferentialRun.Packets("VXLAN", 0x12B5, packet =>
        {
            Random random = packet.Random;
            var repr = new VxlanHeader.Repr
            {
                Flags = random.Chance(90) ? VxlanFlags.ValidNetworkIdentifier : (VxlanFlags)random.Byte(),
                Reserved1 = random.Chance(90) ? 0 : (uint)random.Next(1 << 24),
                NetworkIdentifier = (uint)random.Next(1 << 24),
                Reserved2 = random.Chance(90) ? (byte)0 : random.Byte(),
            };
            byte[] inner = InnerEthernet(random);
            int length = UdpDatagram.FixedLength + VxlanHeader.FixedLength + inner.Length;
            Ipv4Packet.Repr ip = PacketBuilders.Ipv4Header(random, IpProtocol.Udp, 0, length);
            var (frame, at) = PacketBuilders.EthernetIpv4(random, ip, [], length);
            Span<byte> udpBytes = frame.AsSpan(at, length);
            // RFC 7348 5: the destination port is 4789; the source port a hash of the inner flow.
            new UdpDatagram.Repr { SourcePort = random.OpaqueUdpPort(), DestinationPort = 4789, Length = (ushort)length }.Emit(udpBytes);
            repr.Emit(udpBytes[UdpDatagram.FixedLength..]);
            inner.CopyTo(udpBytes[(UdpDatagram.FixedLength + VxlanHeader.FixedLength)..]);
            // RFC 7348 5: the UDP checksum SHOULD be sent as zero over IPv4.
            bool noChecksum = random.Chance(40);
            packet.True(UdpDatagram.TryCreate(udpBytes, out UdpDatagram built), "our UDP view refused the datagram");
            if (!noChecksum)
                built.FillChecksum(ip.Source, ip.Destination);
            packet.Variant = $"flags 0x{(byte)repr.Flags:X2}{(noChecksum ? ", no UDP checksum" : "")}";
            packet.Bytes = frame;

            packet.True(Ipv4Packet.TryCreate(frame.AsSpan(EthernetFrame.FixedLength), out Ipv4Packet ipView), "our IPv4 view refused the packet");
            packet.True(UdpDatagram.TryCreate(ipView.Payload, out UdpDatagram udp), "our UDP view refused the datagram");
            packet.True(udp.VerifyChecksum(ipView.Source, ipView.Destination), "UDP checksum verifies");
            packet.True(VxlanHeader.TryCreate(udp.Payload, out VxlanHeader ours), "our VXLAN view refused the header");
            packet.Equal((uint)(BinaryPrimitives.ReadUInt32BigEndian(udp.Payload) & 0xFFFFFF), ours.Reserved1, "reserved1 (naive)");
            packet.Equal(udp.Payload[7], ours.Reserved2, "reserved2 (naive)");
            packet.True(VxlanHeader.Repr.TryParse(udp.Payload, out VxlanHeader.Repr round), "Repr.TryParse refused the header");
            packet.Equal(repr, round, "Repr round trip");
            packet.True(EthernetFrame.TryCreate(ours.Payload, out EthernetFrame ethernet), "our view refused the inner frame");

            var theirIp = (IPv4Packet)new EthernetPacket(new ByteArraySegment(packet.OracleCopy())).PayloadPacket;
            Ipv4DifferentialTests.CompareHeader(packet, theirIp, ipView);
            var theirUdp = (PacketDotNet.UdpPacket)theirIp.PayloadPacket;
            TransportDifferentialTests.CompareUdp(packet, theirUdp, udp, compareValidity: !noChecksum, comparePayload: false);
            var theirs = (VxlanPacket)theirUdp.PayloadPacket;
            packet.Equal(theirs.Flags, (byte)ours.Flags, "flags");
            packet.Equal(theirs.Vni, ours.NetworkIdentifier, "VNI");
            var theirEthernet = (EthernetPacket)theirs.PayloadPacket;
            packet.Equal(Oracle.Mac(theirEthernet.DestinationHardwareAddress), ethernet.Destination, "inner destination");
            packet.Equal(Oracle.Mac(theirEthernet.SourceHardwareAddress), ethernet.Source, "inner source");
            packet.Equal((ushort)theirEthernet.Type, (ushort)ethernet.EtherType, "inner EtherType");
            packet.BytesEqual(theirEthernet.PayloadData ?? [], ethernet.Payload, "inner payload");
            if (repr.Flags.HasFlag(VxlanFlags.ValidNetworkIdentifier))
                packet.Compared("VXLAN");
        });
        tally.AssertEachCompared("VXLAN");
    }
}
