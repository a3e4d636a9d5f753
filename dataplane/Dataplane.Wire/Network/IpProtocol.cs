namespace Dataplane.Wire;

/// <summary>IP protocol numbers (IANA), the IPv4 protocol field and the IPv6 next-header field.</summary>
public enum IpProtocol : byte
{
    /// <summary>IPv6 hop-by-hop options, RFC 8200 4.3.</summary>
    HopByHop = 0,

    /// <summary>ICMP, RFC 792.</summary>
    Icmp = 1,

    /// <summary>IGMP, RFC 2236 and RFC 3376.</summary>
    Igmp = 2,

    /// <summary>TCP, RFC 9293.</summary>
    Tcp = 6,

    /// <summary>UDP, RFC 768.</summary>
    Udp = 17,

    /// <summary>IPv6 routing header, RFC 8200 4.4.</summary>
    Ipv6Routing = 43,

    /// <summary>IPv6 fragment header, RFC 8200 4.5.</summary>
    Ipv6Fragment = 44,

    /// <summary>GRE, RFC 2784.</summary>
    Gre = 47,

    /// <summary>ICMPv6, RFC 4443.</summary>
    Icmpv6 = 58,

    /// <summary>No next header, RFC 8200 4.7.</summary>
    Ipv6NoNextHeader = 59,

    /// <summary>IPv6 destination options, RFC 8200 4.6.</summary>
    Ipv6DestinationOptions = 60,
}
