using Dataplane.Wire;

namespace Dataplane.Fuzz;

/// <summary>
/// The whole receive chain a port will run on a frame: Ethernet, VLAN tags, IPv4 or IPv6 with its
/// extension headers, then ARP, ICMP, ICMPv6/ND, IGMP, UDP (VXLAN) or TCP, every checksum checked.
/// Nothing may throw, whatever the bytes.
/// </summary>
internal static class Frames
{
    public static void Walk(ReadOnlySpan<byte> input)
    {
        byte[] frame = input.ToArray();
        if (!EthernetFrame.TryCreate(frame, out EthernetFrame eth))
            return;
        EtherType type = eth.EtherType;
        Span<byte> rest = eth.Payload;
        for (int tags = 0; tags < 2 && type is EtherType.Vlan or EtherType.ServiceVlan; tags++)
        {
            if (!VlanTag.TryCreate(rest, out VlanTag tag))
                return;
            type = tag.EtherType;
            rest = tag.Payload;
        }
        switch (type)
        {
            case EtherType.Arp:
                ArpPacket.Repr.TryParse(rest, out _);
                break;
            case EtherType.Ipv4 when Ipv4Packet.TryCreate(rest, out Ipv4Packet ip):
                WalkIpv4(ip);
                break;
            case EtherType.Ipv6 when Ipv6Packet.TryCreate(rest, out Ipv6Packet ip):
                WalkIpv6(ip);
                break;
        }
    }

    private static void WalkIpv4(Ipv4Packet ip)
    {
        _ = ip.VerifyHeaderChecksum();
        foreach (WireOption _ in ip.EnumerateOptions())
        {
        }
        Ipv4Address source = ip.Source, destination = ip.Destination;
        switch (ip.Protocol)
        {
            case IpProtocol.Icmp when Icmpv4Packet.TryCreate(ip.Payload, out Icmpv4Packet icmp):
                _ = icmp.VerifyChecksum();
                break;
            case IpProtocol.Igmp when IgmpV3Report.TryCreate(ip.Payload, out IgmpV3Report report):
                foreach (IgmpV3GroupRecord _ in report.EnumerateRecords())
                {
                }
                break;
            case IpProtocol.Udp when UdpDatagram.TryCreate(ip.Payload, out UdpDatagram udp):
                _ = udp.VerifyChecksum(source, destination);
                if (udp.DestinationPort == 4789 && VxlanHeader.TryCreate(udp.Payload, out VxlanHeader vxlan))
                    Walk(vxlan.Payload);
                break;
            case IpProtocol.Tcp when TcpSegment.TryCreate(ip.Payload, out TcpSegment tcp):
                _ = tcp.VerifyChecksum(source, destination);
                TcpOptions.TryParse(tcp, out _);
                break;
            case IpProtocol.Gre when GreHeader.TryCreate(ip.Payload, out GreHeader gre):
                _ = (gre.Checksum, gre.Key, gre.SequenceNumber);
                break;
        }
    }

    /// <summary>Follows the extension header chain (RFC 8200 4.1) to the upper layer.</summary>
    public static void WalkIpv6(Ipv6Packet ip)
    {
        Ipv6Address source = ip.Source, destination = ip.Destination;
        IpProtocol next = ip.NextHeader;
        Span<byte> rest = ip.Payload;
        for (int headers = 0; headers < 8; headers++)
        {
            switch (next)
            {
                case IpProtocol.HopByHop when Ipv6HopByHopHeader.TryCreate(rest, out Ipv6HopByHopHeader h):
                    foreach (WireOption _ in h.EnumerateOptions())
                    {
                    }
                    next = h.NextHeader;
                    rest = h.Payload;
                    continue;
                case IpProtocol.Ipv6DestinationOptions when Ipv6DestinationOptionsHeader.TryCreate(rest, out Ipv6DestinationOptionsHeader h):
                    next = h.NextHeader;
                    rest = h.Payload;
                    continue;
                case IpProtocol.Ipv6Routing when Ipv6RoutingHeader.TryCreate(rest, out Ipv6RoutingHeader h):
                    next = h.NextHeader;
                    rest = h.Payload;
                    continue;
                case IpProtocol.Ipv6Fragment when Ipv6FragmentHeader.TryCreate(rest, out Ipv6FragmentHeader h):
                    next = h.NextHeader;
                    rest = h.Payload;
                    continue;
                case IpProtocol.Icmpv6 when Icmpv6Packet.TryCreate(rest, out Icmpv6Packet icmp):
                    _ = icmp.VerifyChecksum(source, destination);
                    if (icmp.Type == Icmpv6Type.NeighborSolicitation && NeighborSolicitation.TryCreate(rest, out NeighborSolicitation ns))
                    {
                        foreach (WireOption _ in ns.EnumerateOptions())
                        {
                        }
                    }
                    if (icmp.Type == Icmpv6Type.MulticastListenerReportV2 && MldV2Report.TryCreate(rest, out MldV2Report mld))
                    {
                        foreach (MldV2AddressRecord _ in mld.EnumerateRecords())
                        {
                        }
                    }
                    return;
                case IpProtocol.Udp when UdpDatagram.TryCreate(rest, out UdpDatagram udp):
                    _ = udp.VerifyChecksum(source, destination);
                    return;
                case IpProtocol.Tcp when TcpSegment.TryCreate(rest, out TcpSegment tcp):
                    _ = tcp.VerifyChecksum(source, destination);
                    TcpOptions.TryParse(tcp, out _);
                    return;
                default:
                    return;
            }
        }
    }
}
