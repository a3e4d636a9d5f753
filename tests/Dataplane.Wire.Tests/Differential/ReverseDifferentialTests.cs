using PacketDotNet;
using PacketDotNet.Utils;

namespace Dataplane.Wire.Tests.Differential;

// The other direction: PacketDotNet builds the packet (its constructors, setters and Update*Checksum
// methods), our views and Repr.TryParse read it, and every field must be what PacketDotNet was told,
// every checksum it computed must verify with our helpers.
// Oracle: PacketDotNet for Ethernet II, 802.1Q, ARP, IPv4, IPv6, ICMPv4 echo, UDP and TCP.

public class ReverseDifferentialTests
{
    [Fact]
    public void Tcp_over_ipv4_built_by_PacketDotNet_reads_as_built_in_our_views_and_checksums_verify()
    {
        DifferentialTally tally = DifferentialRun.Packets("PacketDotNet-built TCP/IPv4", 0x7C94, packet =>
        {
            Random random = packet.Random;
            MacAddress sourceMac = random.Mac(), destinationMac = random.Mac();
            Ipv4Address source = random.Ipv4(), destination = random.Ipv4();
            ushort sourcePort = random.UInt16(), destinationPort = random.UInt16(), window = random.UInt16(), id = random.UInt16();
            uint sequence = random.UInt32(), acknowledgment = random.UInt32();
            var flags = (TcpFlags)random.Next(512);
            byte ttl = random.Byte(), tos = random.Byte();
            byte[] payload = random.Bytes(random.PayloadLength(1400));

            var tcp = new TcpPacket(sourcePort, destinationPort)
            {
                SequenceNumber = sequence,
                AcknowledgmentNumber = acknowledgment,
                Flags = (ushort)flags,
                WindowSize = window,
                PayloadData = payload,
            };
            var ip = new IPv4Packet(Oracle.Ip(source), Oracle.Ip(destination))
            {
                TimeToLive = ttl,
                Id = id,
                DifferentiatedServices = tos,
                FragmentFlags = 2, // don't fragment
                Protocol = PacketDotNet.ProtocolType.Tcp,
                PayloadPacket = tcp,
            };
            var ethernet = new EthernetPacket(Oracle.Physical(sourceMac), Oracle.Physical(destinationMac), EthernetType.IPv4) { PayloadPacket = ip };
            ip.UpdateCalculatedValues();
            tcp.UpdateTcpChecksum();
            ip.UpdateIPChecksum();
            byte[] frame = ethernet.Bytes;
            packet.Bytes = frame;

            packet.True(EthernetFrame.Repr.TryParse(frame, out EthernetFrame.Repr eth), "EthernetFrame.Repr.TryParse refused the frame");
            packet.Equal(new EthernetFrame.Repr { Destination = destinationMac, Source = sourceMac, EtherType = EtherType.Ipv4 }, eth, "Ethernet");
            Span<byte> ipBytes = frame.AsSpan(EthernetFrame.FixedLength);
            packet.True(Ipv4Packet.Repr.TryParse(ipBytes, out Ipv4Packet.Repr ipRepr), "Ipv4Packet.Repr.TryParse refused PacketDotNet's packet (checksum included)");
            packet.Equal(new Ipv4Packet.Repr
            {
                Version = 4,
                Ihl = 5,
                Dscp = (byte)(tos >> 2),
                Ecn = (byte)(tos & 3),
                TotalLength = (ushort)(Ipv4Packet.FixedLength + TcpSegment.FixedLength + payload.Length),
                Identification = id,
                Flags = Ipv4Flags.DontFragment,
                FragmentOffset = 0,
                TimeToLive = ttl,
                Protocol = IpProtocol.Tcp,
                Source = source,
                Destination = destination,
            }, ipRepr, "IPv4");
            packet.True(Ipv4Packet.TryCreate(ipBytes, out Ipv4Packet ipView), "our IPv4 view refused the packet");
            packet.Equal(ip.Checksum, ipView.HeaderChecksum, "IPv4 header checksum");
            packet.Equal(ip.Checksum, ipView.ComputeHeaderChecksum(), "IPv4 header checksum as we compute it");
            packet.True(TcpSegment.TryCreate(ipView.Payload, out TcpSegment segment), "our TCP view refused the segment");
            packet.True(TcpSegment.Repr.TryParse(ipView.Payload, out TcpSegment.Repr tcpRepr), "TcpSegment.Repr.TryParse refused the segment");
            packet.Equal(new TcpSegment.Repr
            {
                SourcePort = sourcePort,
                DestinationPort = destinationPort,
                SequenceNumber = sequence,
                AcknowledgmentNumber = acknowledgment,
                DataOffset = 5,
                Reserved = 0,
                Flags = flags,
                Window = window,
                UrgentPointer = 0,
            }, tcpRepr, "TCP");
            packet.Equal(tcp.Checksum, segment.Checksum, "TCP checksum");
            packet.True(segment.VerifyChecksum(source, destination), "PacketDotNet's TCP checksum does not verify with ours");
            packet.Equal(tcp.Checksum, segment.ComputeChecksum(source, destination), "TCP checksum as we compute it");
            packet.BytesEqual(payload, segment.Payload, "TCP payload");
            packet.Compared("TCP/IPv4");
        });
        tally.AssertEachCompared("TCP/IPv4");
    }

    [Fact]
    public void Udp_over_ipv6_built_by_PacketDotNet_reads_as_built_in_our_views_and_checksums_verify()
    {
        DifferentialTally tally = DifferentialRun.Packets("PacketDotNet-built UDP/IPv6", 0x7C96, packet =>
        {
            Random random = packet.Random;
            MacAddress sourceMac = random.Mac(), destinationMac = random.Mac();
            Ipv6Address source = random.Ipv6(), destination = random.Ipv6();
            ushort sourcePort = random.OpaqueUdpPort(), destinationPort = random.OpaqueUdpPort();
            byte hopLimit = random.Byte(), trafficClass = random.Byte();
            int flowLabel = random.Next(1 << 20);
            byte[] payload = random.Bytes(random.PayloadLength(1400));

            var udp = new PacketDotNet.UdpPacket(sourcePort, destinationPort) { PayloadData = payload };
            var ip = new IPv6Packet(Oracle.Ip(source), Oracle.Ip(destination))
            {
                HopLimit = hopLimit,
                TrafficClass = trafficClass,
                FlowLabel = flowLabel,
                NextHeader = PacketDotNet.ProtocolType.Udp,
                PayloadPacket = udp,
            };
            var ethernet = new EthernetPacket(Oracle.Physical(sourceMac), Oracle.Physical(destinationMac), EthernetType.IPv6) { PayloadPacket = ip };
            udp.UpdateCalculatedValues();
            ip.PayloadLength = (ushort)udp.TotalPacketLength;
            udp.UpdateUdpChecksum();
            byte[] frame = ethernet.Bytes;
            packet.Bytes = frame;

            Span<byte> ipBytes = frame.AsSpan(EthernetFrame.FixedLength);
            packet.True(Ipv6Packet.Repr.TryParse(ipBytes, out Ipv6Packet.Repr ipRepr), "Ipv6Packet.Repr.TryParse refused the packet");
            packet.Equal(new Ipv6Packet.Repr
            {
                Version = 6,
                TrafficClass = trafficClass,
                FlowLabel = (uint)flowLabel,
                PayloadLength = (ushort)(UdpDatagram.FixedLength + payload.Length),
                NextHeader = IpProtocol.Udp,
                HopLimit = hopLimit,
                Source = source,
                Destination = destination,
            }, ipRepr, "IPv6");
            packet.True(Ipv6Packet.TryCreate(ipBytes, out Ipv6Packet ipView), "our IPv6 view refused the packet");
            packet.True(UdpDatagram.Repr.TryParse(ipView.Payload, out UdpDatagram.Repr udpRepr), "UdpDatagram.Repr.TryParse refused the datagram");
            packet.Equal(new UdpDatagram.Repr { SourcePort = sourcePort, DestinationPort = destinationPort, Length = (ushort)(UdpDatagram.FixedLength + payload.Length) }, udpRepr, "UDP");
            packet.True(UdpDatagram.TryCreate(ipView.Payload, out UdpDatagram datagram), "our UDP view refused the datagram");
            packet.Equal(udp.Checksum, datagram.Checksum, "UDP checksum");
            packet.True(datagram.VerifyChecksum(source, destination), "PacketDotNet's UDP checksum does not verify with ours");
            packet.BytesEqual(payload, datagram.Payload, "UDP payload");
            packet.Compared("UDP/IPv6");
        });
        tally.AssertEachCompared("UDP/IPv6");
    }

    [Fact]
    public void Icmpv4_echo_built_by_PacketDotNet_reads_as_built_in_our_views_and_checksums_verify()
    {
        DifferentialTally tally = DifferentialRun.Packets("PacketDotNet-built ICMPv4 echo", 0x7C01, packet =>
        {
            Random random = packet.Random;
            Ipv4Address source = random.Ipv4(), destination = random.Ipv4();
            bool request = random.Bool();
            ushort identifier = random.UInt16(), sequence = random.UInt16();
            byte[] data = random.Bytes(random.PayloadLength(1400));

            var icmp = new IcmpV4Packet(new ByteArraySegment(new byte[IcmpV4Fields.HeaderLength]))
            {
                TypeCode = request ? IcmpV4TypeCode.EchoRequest : IcmpV4TypeCode.EchoReply,
                Id = identifier,
                Sequence = sequence,
                Data = data,
            };
            var ip = new IPv4Packet(Oracle.Ip(source), Oracle.Ip(destination)) { Protocol = PacketDotNet.ProtocolType.Icmp, PayloadPacket = icmp };
            var ethernet = new EthernetPacket(Oracle.Physical(random.Mac()), Oracle.Physical(random.Mac()), EthernetType.IPv4) { PayloadPacket = ip };
            ip.UpdateCalculatedValues();
            icmp.UpdateIcmpChecksum();
            ip.UpdateIPChecksum();
            byte[] frame = ethernet.Bytes;
            packet.Bytes = frame;

            Span<byte> ipBytes = frame.AsSpan(EthernetFrame.FixedLength);
            packet.True(Ipv4Packet.Repr.TryParse(ipBytes, out Ipv4Packet.Repr ipRepr), "Ipv4Packet.Repr.TryParse refused the packet");
            packet.Equal(IpProtocol.Icmp, ipRepr.Protocol, "IPv4 protocol");
            packet.True(Ipv4Packet.TryCreate(ipBytes, out Ipv4Packet ipView), "our IPv4 view refused the packet");
            packet.True(Icmpv4Echo.Repr.TryParse(ipView.Payload, out Icmpv4Echo.Repr echo), "Icmpv4Echo.Repr.TryParse refused PacketDotNet's message (checksum included)");
            packet.Equal(new Icmpv4Echo.Repr
            {
                Type = request ? Icmpv4Type.EchoRequest : Icmpv4Type.EchoReply,
                Code = 0,
                Identifier = identifier,
                SequenceNumber = sequence,
            }, echo, "ICMP echo");
            packet.True(Icmpv4Echo.TryCreate(ipView.Payload, out Icmpv4Echo view), "our echo view refused the message");
            packet.Equal(icmp.Checksum, view.Checksum, "ICMP checksum");
            packet.Equal(icmp.Checksum, view.ComputeChecksum(), "ICMP checksum as we compute it");
            packet.BytesEqual(data, view.Payload, "ICMP data");
            packet.Compared("ICMPv4 echo");
        });
        tally.AssertEachCompared("ICMPv4 echo");
    }

    [Fact]
    public void Arp_and_vlan_frames_built_by_PacketDotNet_read_as_built_in_our_views()
    {
        DifferentialTally tally = DifferentialRun.Packets("PacketDotNet-built ARP / 802.1Q", 0x7C08, packet =>
        {
            Random random = packet.Random;
            MacAddress sender = random.Mac(), target = random.Mac();
            Ipv4Address senderIp = random.Ipv4(), targetIp = random.Ipv4();
            var operation = (PacketDotNet.ArpOperation)random.Next(1, 3);
            byte priority = (byte)random.Next(8);
            bool dropEligible = random.Bool();
            ushort vlanId = (ushort)random.Next(4096);
            bool tagged = random.Bool();

            var arp = new PacketDotNet.ArpPacket(operation, Oracle.Physical(target), Oracle.Ip(targetIp), Oracle.Physical(sender), Oracle.Ip(senderIp));
            var ethernet = new EthernetPacket(Oracle.Physical(sender), Oracle.Physical(MacAddress.Broadcast), tagged ? EthernetType.VLanTaggedFrame : EthernetType.Arp);
            if (tagged)
            {
                var tag = new Ieee8021QPacket(new ByteArraySegment(new byte[4]))
                {
                    PriorityControlPoint = (IeeeP8021PPriority)priority,
                    CanonicalFormatIndicator = dropEligible,
                    VlanIdentifier = vlanId,
                    Type = EthernetType.Arp,
                    PayloadPacket = arp,
                };
                ethernet.PayloadPacket = tag;
            }
            else
            {
                ethernet.PayloadPacket = arp;
            }
            byte[] frame = ethernet.Bytes;
            packet.Bytes = frame;
            packet.Variant = tagged ? "802.1Q-tagged ARP" : "ARP";

            packet.True(EthernetFrame.TryCreate(frame, out EthernetFrame eth), "our Ethernet view refused the frame");
            packet.Equal(sender, eth.Source, "Ethernet source");
            packet.Equal(MacAddress.Broadcast, eth.Destination, "Ethernet destination");
            Span<byte> arpBytes = eth.Payload;
            if (tagged)
            {
                packet.Equal(EtherType.Vlan, eth.EtherType, "EtherType");
                packet.True(VlanTag.Repr.TryParse(eth.Payload, out VlanTag.Repr tagRepr), "VlanTag.Repr.TryParse refused the tag");
                packet.Equal(new VlanTag.Repr { Priority = priority, DropEligible = dropEligible, VlanId = vlanId, EtherType = EtherType.Arp }, tagRepr, "802.1Q tag");
                packet.True(VlanTag.TryCreate(eth.Payload, out VlanTag tagView), "our VLAN view refused the tag");
                arpBytes = tagView.Payload;
            }
            else
            {
                packet.Equal(EtherType.Arp, eth.EtherType, "EtherType");
            }
            packet.True(ArpPacket.Repr.TryParse(arpBytes, out ArpPacket.Repr arpRepr), "ArpPacket.Repr.TryParse refused PacketDotNet's ARP");
            packet.Equal(new ArpPacket.Repr
            {
                HardwareType = 1,
                ProtocolType = EtherType.Ipv4,
                HardwareLength = 6,
                ProtocolLength = 4,
                Operation = (ArpOperation)(ushort)operation,
                SenderHardwareAddress = sender,
                SenderProtocolAddress = senderIp,
                TargetHardwareAddress = target,
                TargetProtocolAddress = targetIp,
            }, arpRepr, "ARP");
            packet.Compared("ARP");
        });
        tally.AssertEachCompared("ARP");
    }
}
