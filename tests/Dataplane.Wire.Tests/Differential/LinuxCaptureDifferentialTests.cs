using System.Buffers.Binary;
using System.Globalization;
using Dataplane.Wire.Tests.Captures;
using PacketDotNet;
using PacketDotNet.Utils;
using Xunit.Abstractions;

namespace Dataplane.Wire.Tests.Differential;

// Real traffic: every frame Linux put on a veth during ping, ping -6 (with neighbor discovery) and
// iperf3 over TCP and UDP (LinuxCaptures, offloads off so checksums are complete), read layer by
// layer by our views and by PacketDotNet.
// Oracles: Linux itself for checksums (every one it sent must verify with our helpers), PacketDotNet
// for every field of Ethernet, 802.1Q, ARP, IPv4, IPv6, ICMPv4, ICMPv6, NDP, TCP (with options) and
// UDP, NaiveDecoders for option lists, extension headers, MLDv2 and checksums, with the same
// PacketDotNet workarounds as the random tests.

public class LinuxCaptureDifferentialTests(ITestOutputHelper output)
{
    [SkippableFact]
    public void Every_frame_of_real_linux_traffic_reads_the_same_in_our_views_and_PacketDotNet_and_every_checksum_verifies()
    {
        LinuxCaptures capture = LinuxCaptures.RequireMixed();
        // With checksum offload left on, a veth hands tcpdump frames whose TCP and UDP checksums
        // the kernel never finished: only a capture made with ethtool's "tx off" can be judged.
        Skip.IfNot(capture.Log.Contains("ethtool -K", StringComparison.Ordinal), "the capture could not turn checksum offload off (ethtool missing)");
        var seen = new SortedDictionary<string, int>(StringComparer.Ordinal);
        IReadOnlyList<PcapRecord> frames = capture.Frames;
        for (int i = 0; i < frames.Count; i++)
        {
            var packet = new DifferentialPacket("Linux capture", $"frame {i + 1} of {frames.Count} (LinuxCaptures.Mixed)") { Bytes = frames[i].Frame };
            DifferentialRun.One(packet, p => CompareFrame(p, seen));
        }

        foreach (var (kind, count) in seen)
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{count,6}  {kind}"));
        string[] expected =
        [
            "IPv4 header checksum", "ICMP echo request", "ICMP echo reply", "ICMPv6 echo request", "ICMPv6 echo reply",
            "neighbor solicitation", "neighbor advertisement", "TCP over IPv4", "TCP over IPv6", "UDP over IPv4",
        ];
        Assert.All(expected, kind => Assert.True(seen.GetValueOrDefault(kind) > 0, $"no {kind} in {frames.Count} frames"));
    }

    private static void Count(SortedDictionary<string, int> seen, string kind) => seen[kind] = seen.GetValueOrDefault(kind) + 1;

    private static void CompareFrame(DifferentialPacket packet, SortedDictionary<string, int> seen)
    {
        byte[] frame = packet.Bytes;
        packet.True(EthernetFrame.TryCreate(frame, out EthernetFrame ethernet), "our Ethernet view refused the frame");
        packet.True(EthernetFrame.Repr.TryParse(frame, out _), "EthernetFrame.Repr.TryParse refused the frame");
        var theirEthernet = new EthernetPacket(new ByteArraySegment(packet.OracleCopy()));
        packet.Equal(Oracle.Mac(theirEthernet.DestinationHardwareAddress), ethernet.Destination, "Ethernet destination");
        packet.Equal(Oracle.Mac(theirEthernet.SourceHardwareAddress), ethernet.Source, "Ethernet source");
        packet.Equal((ushort)theirEthernet.Type, (ushort)ethernet.EtherType, "EtherType");

        EtherType type = ethernet.EtherType;
        Span<byte> rest = ethernet.Payload;
        Packet theirRest = theirEthernet;
        while (type is EtherType.Vlan or EtherType.ServiceVlan)
        {
            packet.True(VlanTag.TryCreate(rest, out VlanTag tag), "our VLAN view refused the tag");
            var theirTag = (Ieee8021QPacket)theirRest.PayloadPacket;
            LinkDifferentialTests.CompareTag(packet, theirTag, tag.Priority, tag.DropEligible, tag.VlanId, tag.EtherType, "VLAN tag");
            Count(seen, "VLAN tag");
            type = tag.EtherType;
            rest = tag.Payload;
            theirRest = theirTag;
        }

        switch (type)
        {
            case EtherType.Arp:
                packet.True(ArpPacket.TryCreate(rest, out ArpPacket arp), "our ARP view refused the packet");
                LinkDifferentialTests.CompareArp(packet, (PacketDotNet.ArpPacket)theirRest.PayloadPacket, arp);
                packet.True(ArpPacket.Repr.TryParse(rest, out _), "ArpPacket.Repr.TryParse refused Linux's ARP");
                Count(seen, "ARP");
                break;
            case EtherType.Ipv4:
                CompareIpv4(packet, rest, (IPv4Packet)theirRest.PayloadPacket, seen);
                break;
            case EtherType.Ipv6:
                CompareIpv6(packet, rest, (IPv6Packet)theirRest.PayloadPacket, seen);
                break;
            default:
                packet.BytesEqual(theirRest.PayloadData ?? [], rest, "payload of an EtherType we do not parse");
                Count(seen, "other EtherType");
                break;
        }
    }

    private static void CompareIpv4(DifferentialPacket packet, Span<byte> bytes, IPv4Packet theirs, SortedDictionary<string, int> seen)
    {
        packet.True(Ipv4Packet.TryCreate(bytes, out Ipv4Packet ip), "our IPv4 view refused the packet");
        Ipv4DifferentialTests.CompareHeader(packet, theirs, ip);
        packet.True(ip.VerifyHeaderChecksum(), "Linux's IPv4 header checksum does not verify with ours");
        packet.True(Naive.ChecksumVerifies(ip.Header), "Linux's IPv4 header checksum does not verify (naive sum)");
        packet.True(Ipv4Packet.Repr.TryParse(bytes, out _), "Ipv4Packet.Repr.TryParse refused Linux's packet");
        Ipv4DifferentialTests.CompareOptions(packet, ip.EnumerateOptions(), Naive.KindLengthOptions(ip.Options)!, "IPv4");
        Count(seen, "IPv4 header checksum");
        if (ip.FragmentOffset != 0 || ip.HasFlags(Ipv4Flags.MoreFragments))
        {
            Count(seen, "IPv4 fragment");
            return;
        }

        Span<byte> payload = ip.Payload;
        switch (ip.Protocol)
        {
            case IpProtocol.Icmp:
            {
                packet.True(Icmpv4Packet.TryCreate(payload, out Icmpv4Packet icmp), "our ICMP view refused the message");
                var theirIcmp = (IcmpV4Packet)theirs.PayloadPacket;
                Ipv4DifferentialTests.CompareIcmpv4(packet, theirIcmp, icmp);
                packet.True(icmp.VerifyChecksum(), "Linux's ICMP checksum does not verify with ours");
                if (icmp.Type is Icmpv4Type.EchoRequest or Icmpv4Type.EchoReply)
                {
                    packet.True(Icmpv4Echo.TryCreate(payload, out Icmpv4Echo echo), "our echo view refused the message");
                    packet.Equal(theirIcmp.Id, echo.Identifier, "ICMP echo identifier");
                    packet.Equal(theirIcmp.Sequence, echo.SequenceNumber, "ICMP echo sequence number");
                    packet.True(Icmpv4Echo.Repr.TryParse(payload, out _), "Icmpv4Echo.Repr.TryParse refused Linux's echo");
                    Count(seen, icmp.Type == Icmpv4Type.EchoRequest ? "ICMP echo request" : "ICMP echo reply");
                }
                else
                {
                    Count(seen, "ICMP other");
                }
                break;
            }
            case IpProtocol.Tcp:
            {
                packet.True(TcpSegment.TryCreate(payload, out TcpSegment tcp), "our TCP view refused the segment");
                bool verifies = tcp.VerifyChecksum(ip.Source, ip.Destination);
                packet.True(verifies, "Linux's TCP checksum does not verify with ours");
                packet.True(Naive.ChecksumVerifies(payload, Naive.PseudoHeaderV4(ip.Header, 6, payload.Length)), "Linux's TCP checksum does not verify (naive sum)");
                TransportDifferentialTests.CompareTcp(packet, (TcpPacket)theirs.PayloadPacket, tcp, verifies);
                Ipv4DifferentialTests.CompareOptions(packet, tcp.EnumerateOptions(), Naive.KindLengthOptions(tcp.Options)!, "TCP");
                packet.True(TcpSegment.Repr.TryParse(payload, out _), "TcpSegment.Repr.TryParse refused Linux's segment");
                Count(seen, "TCP over IPv4");
                break;
            }
            case IpProtocol.Udp:
            {
                packet.True(UdpDatagram.TryCreate(payload, out UdpDatagram udp), "our UDP view refused the datagram");
                packet.True(udp.Checksum != 0, "Linux sent a UDP datagram without a checksum");
                packet.True(udp.VerifyChecksum(ip.Source, ip.Destination), "Linux's UDP checksum does not verify with ours");
                packet.True(Naive.ChecksumVerifies(payload[..udp.PacketLength], Naive.PseudoHeaderV4(ip.Header, 17, udp.PacketLength)), "Linux's UDP checksum does not verify (naive sum)");
                TransportDifferentialTests.CompareUdp(packet, (PacketDotNet.UdpPacket)theirs.PayloadPacket, udp);
                Count(seen, "UDP over IPv4");
                break;
            }
            case IpProtocol.Igmp:
                packet.True(Naive.ChecksumVerifies(payload), "Linux's IGMP checksum does not verify (naive sum)");
                if (payload[0] == (byte)IgmpType.MembershipReportV3)
                    packet.True(IgmpV3Report.Repr.TryParse(payload, out _), "IgmpV3Report.Repr.TryParse refused Linux's report (checksum included)");
                else
                    packet.True(IgmpV2Message.Repr.TryParse(payload, out _), "IgmpV2Message.Repr.TryParse refused Linux's message (checksum included)");
                Count(seen, "IGMP");
                break;
            default:
                Count(seen, "other IPv4 protocol");
                break;
        }
    }

    private static void CompareIpv6(DifferentialPacket packet, Span<byte> bytes, IPv6Packet theirs, SortedDictionary<string, int> seen)
    {
        packet.True(Ipv6Packet.TryCreate(bytes, out Ipv6Packet ip), "our IPv6 view refused the packet");
        Ipv6DifferentialTests.CompareHeader(packet, theirs, ip);
        packet.True(Ipv6Packet.Repr.TryParse(bytes, out _), "Ipv6Packet.Repr.TryParse refused Linux's packet");
        NaiveIpv6 naive = Naive.Ipv6(bytes);
        var (protocol, upper) = Ipv6DifferentialTests.WalkChain(packet, ip, naive);
        packet.Equal(naive.UpperLayerProtocol, (byte)protocol, "upper-layer protocol (naive)");
        Count(seen, "IPv6");
        if (naive.Chain.Count > 0)
            Count(seen, $"IPv6 with {naive.Chain.Count} extension header(s)");
        // PacketDotNet reads one extension header right, not more (see Ipv6DifferentialTests).
        bool oracleReadsUpperLayer = naive.Chain.Count <= 1;
        if (oracleReadsUpperLayer)
        {
            packet.Equal(naive.Chain.Count, theirs.ExtensionHeaders.Count, "extension header count");
            packet.Equal((byte)theirs.Protocol, (byte)protocol, "upper-layer protocol");
        }
        if (naive.Chain.Exists(h => h.Type == (byte)IpProtocol.Ipv6Fragment))
        {
            Count(seen, "IPv6 fragment");
            return;
        }

        Span<byte> payload = upper;
        switch (protocol)
        {
            case IpProtocol.Icmpv6:
            {
                packet.True(Icmpv6Packet.TryCreate(payload, out Icmpv6Packet icmp), "our ICMPv6 view refused the message");
                packet.True(icmp.VerifyChecksum(ip.Source, ip.Destination), "Linux's ICMPv6 checksum does not verify with ours");
                IcmpV6Packet? theirIcmp = oracleReadsUpperLayer ? (IcmpV6Packet)theirs.PayloadPacket : null;
                if (theirIcmp is not null)
                    Ipv6DifferentialTests.CompareIcmpv6(packet, theirIcmp, icmp, ip);
                switch (icmp.Type)
                {
                    case Icmpv6Type.EchoRequest or Icmpv6Type.EchoReply:
                        packet.True(Icmpv6Echo.TryCreate(payload, out Icmpv6Echo echo), "our echo view refused the message");
                        packet.True(Icmpv6Echo.Repr.TryParse(payload, out _), "Icmpv6Echo.Repr.TryParse refused Linux's echo");
                        if (theirIcmp is not null)
                        {
                            packet.Equal(BinaryPrimitives.ReadUInt16BigEndian(theirIcmp.PayloadData), echo.Identifier, "ICMPv6 echo identifier");
                            packet.Equal(BinaryPrimitives.ReadUInt16BigEndian(theirIcmp.PayloadData.AsSpan(2)), echo.SequenceNumber, "ICMPv6 echo sequence number");
                        }
                        Count(seen, icmp.Type == Icmpv6Type.EchoRequest ? "ICMPv6 echo request" : "ICMPv6 echo reply");
                        break;
                    case Icmpv6Type.RouterSolicitation or Icmpv6Type.RouterAdvertisement or Icmpv6Type.NeighborSolicitation
                        or Icmpv6Type.NeighborAdvertisement or Icmpv6Type.Redirect:
                        if (theirIcmp is not null)
                            packet.True(NdpDifferentialTests.CompareNdp(packet, theirIcmp, payload) is not null, "Repr.TryParse refused Linux's NDP message");
                        Count(seen, icmp.Type switch
                        {
                            Icmpv6Type.NeighborSolicitation => "neighbor solicitation",
                            Icmpv6Type.NeighborAdvertisement => "neighbor advertisement",
                            Icmpv6Type.RouterSolicitation => "router solicitation",
                            Icmpv6Type.RouterAdvertisement => "router advertisement",
                            _ => "redirect",
                        });
                        break;
                    case Icmpv6Type.MulticastListenerQuery or Icmpv6Type.MulticastListenerReportV2:
                        MldDifferentialTests.CompareMldV2(packet, payload);
                        Count(seen, icmp.Type == Icmpv6Type.MulticastListenerQuery ? "MLD query" : "MLDv2 report");
                        break;
                    default:
                        Count(seen, "ICMPv6 other");
                        break;
                }
                break;
            }
            case IpProtocol.Tcp:
            {
                packet.True(TcpSegment.TryCreate(payload, out TcpSegment tcp), "our TCP view refused the segment");
                bool verifies = tcp.VerifyChecksum(ip.Source, ip.Destination);
                packet.True(verifies, "Linux's TCP checksum does not verify with ours");
                packet.True(Naive.ChecksumVerifies(payload, Naive.PseudoHeaderV6(ip.Header, 6, payload.Length)), "Linux's TCP checksum does not verify (naive sum)");
                if (oracleReadsUpperLayer)
                    TransportDifferentialTests.CompareTcp(packet, (TcpPacket)theirs.PayloadPacket, tcp, verifies);
                Ipv4DifferentialTests.CompareOptions(packet, tcp.EnumerateOptions(), Naive.KindLengthOptions(tcp.Options)!, "TCP");
                packet.True(TcpSegment.Repr.TryParse(payload, out _), "TcpSegment.Repr.TryParse refused Linux's segment");
                Count(seen, "TCP over IPv6");
                break;
            }
            case IpProtocol.Udp:
            {
                packet.True(UdpDatagram.TryCreate(payload, out UdpDatagram udp), "our UDP view refused the datagram");
                packet.True(udp.VerifyChecksum(ip.Source, ip.Destination), "Linux's UDP checksum does not verify with ours");
                packet.True(Naive.ChecksumVerifies(payload[..udp.PacketLength], Naive.PseudoHeaderV6(ip.Header, 17, udp.PacketLength)), "Linux's UDP checksum does not verify (naive sum)");
                if (oracleReadsUpperLayer)
                    TransportDifferentialTests.CompareUdp(packet, (PacketDotNet.UdpPacket)theirs.PayloadPacket, udp);
                Count(seen, "UDP over IPv6");
                break;
            }
            default:
                Count(seen, "other IPv6 protocol");
                break;
        }
    }
}
