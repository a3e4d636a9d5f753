namespace Dataplane.Wire;

/// <summary>EtherType values (IEEE 802 numbers) the stack knows.</summary>
public enum EtherType : ushort
{
    /// <summary>IPv4, RFC 894.</summary>
    Ipv4 = 0x0800,

    /// <summary>ARP, RFC 826.</summary>
    Arp = 0x0806,

    /// <summary>IEEE 802.1Q customer VLAN tag.</summary>
    Vlan = 0x8100,

    /// <summary>IPv6, RFC 2464.</summary>
    Ipv6 = 0x86DD,

    /// <summary>IEEE 802.1ad service VLAN tag (QinQ outer tag).</summary>
    ServiceVlan = 0x88A8,

    /// <summary>Transparent Ethernet bridging: Ethernet frames carried in GRE (RFC 1701).</summary>
    TransparentEthernetBridging = 0x6558,
}
