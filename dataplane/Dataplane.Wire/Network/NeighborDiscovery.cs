namespace Dataplane.Wire;

/// <summary>Flags of a neighbor advertisement (RFC 4861 4.4).</summary>
[Flags]
public enum NeighborAdvertisementFlags : byte
{
    /// <summary>No flag set.</summary>
    None = 0,

    /// <summary>The advertisement overrides a cached link-layer address.</summary>
    Override = 1,

    /// <summary>Sent in response to a solicitation.</summary>
    Solicited = 2,

    /// <summary>The sender is a router.</summary>
    Router = 4,
}

/// <summary>Neighbor Discovery option types (RFC 4861 4.6).</summary>
public enum NdpOptionType : byte
{
    /// <summary>Source link-layer address.</summary>
    SourceLinkLayerAddress = 1,

    /// <summary>Target link-layer address.</summary>
    TargetLinkLayerAddress = 2,

    /// <summary>Prefix information.</summary>
    PrefixInformation = 3,

    /// <summary>Redirected header.</summary>
    RedirectedHeader = 4,

    /// <summary>MTU.</summary>
    Mtu = 5,
}

/// <summary>A router solicitation (RFC 4861 4.1), options after 8 bytes.</summary>
[WireHeader(8)]
[Options(OptionFormat.NeighborDiscovery)]
public readonly ref partial struct RouterSolicitation
{
    /// <summary>Type, 133.</summary>
    [Field(0), Expect(133)] public partial Icmpv6Type Type { get; set; }

    /// <summary>Code, 0.</summary>
    [Field(1), Expect(0)] public partial byte Code { get; set; }

    /// <summary>Checksum with the IPv6 pseudo-header.</summary>
    [Field(2), Checksum(ChecksumScope.Packet, PseudoHeaderProtocol = 58)] public partial ushort Checksum { get; set; }

    /// <summary>Reserved, sent as zero.</summary>
    [Field(4)] public partial uint Reserved { get; set; }
}

/// <summary>A router advertisement (RFC 4861 4.2), options after 16 bytes.</summary>
[WireHeader(16)]
[Options(OptionFormat.NeighborDiscovery)]
public readonly ref partial struct RouterAdvertisement
{
    /// <summary>Type, 134.</summary>
    [Field(0), Expect(134)] public partial Icmpv6Type Type { get; set; }

    /// <summary>Code, 0.</summary>
    [Field(1), Expect(0)] public partial byte Code { get; set; }

    /// <summary>Checksum with the IPv6 pseudo-header.</summary>
    [Field(2), Checksum(ChecksumScope.Packet, PseudoHeaderProtocol = 58)] public partial ushort Checksum { get; set; }

    /// <summary>Hop limit hosts should use, 0 for unspecified.</summary>
    [Field(4)] public partial byte CurrentHopLimit { get; set; }

    /// <summary>Managed address configuration (DHCPv6).</summary>
    [Bits(40, 1)] public partial bool Managed { get; set; }

    /// <summary>Other configuration (DHCPv6).</summary>
    [Bits(41, 1)] public partial bool OtherConfiguration { get; set; }

    /// <summary>Reserved bits.</summary>
    [Bits(42, 6)] public partial byte Reserved { get; set; }

    /// <summary>Lifetime as a default router, in seconds.</summary>
    [Field(6)] public partial ushort RouterLifetime { get; set; }

    /// <summary>Reachable time in milliseconds.</summary>
    [Field(8)] public partial uint ReachableTime { get; set; }

    /// <summary>Retransmission timer in milliseconds.</summary>
    [Field(12)] public partial uint RetransmitTimer { get; set; }
}

/// <summary>A neighbor solicitation (RFC 4861 4.3), options after 24 bytes.</summary>
[WireHeader(24)]
[Options(OptionFormat.NeighborDiscovery)]
public readonly ref partial struct NeighborSolicitation
{
    /// <summary>Type, 135.</summary>
    [Field(0), Expect(135)] public partial Icmpv6Type Type { get; set; }

    /// <summary>Code, 0.</summary>
    [Field(1), Expect(0)] public partial byte Code { get; set; }

    /// <summary>Checksum with the IPv6 pseudo-header.</summary>
    [Field(2), Checksum(ChecksumScope.Packet, PseudoHeaderProtocol = 58)] public partial ushort Checksum { get; set; }

    /// <summary>Reserved, sent as zero.</summary>
    [Field(4)] public partial uint Reserved { get; set; }

    /// <summary>The address whose link-layer address is sought.</summary>
    [Field(8)] public partial Ipv6Address TargetAddress { get; set; }
}

/// <summary>A neighbor advertisement (RFC 4861 4.4), options after 24 bytes.</summary>
[WireHeader(24)]
[Options(OptionFormat.NeighborDiscovery)]
public readonly ref partial struct NeighborAdvertisement
{
    /// <summary>Type, 136.</summary>
    [Field(0), Expect(136)] public partial Icmpv6Type Type { get; set; }

    /// <summary>Code, 0.</summary>
    [Field(1), Expect(0)] public partial byte Code { get; set; }

    /// <summary>Checksum with the IPv6 pseudo-header.</summary>
    [Field(2), Checksum(ChecksumScope.Packet, PseudoHeaderProtocol = 58)] public partial ushort Checksum { get; set; }

    /// <summary>Router, solicited and override flags.</summary>
    [Bits(32, 3)] public partial NeighborAdvertisementFlags Flags { get; set; }

    /// <summary>Reserved bits.</summary>
    [Bits(35, 29)] public partial uint Reserved { get; set; }

    /// <summary>The address the advertisement is about.</summary>
    [Field(8)] public partial Ipv6Address TargetAddress { get; set; }
}

/// <summary>A redirect (RFC 4861 4.5), options after 40 bytes.</summary>
[WireHeader(40)]
[Options(OptionFormat.NeighborDiscovery)]
public readonly ref partial struct NdpRedirect
{
    /// <summary>Type, 137.</summary>
    [Field(0), Expect(137)] public partial Icmpv6Type Type { get; set; }

    /// <summary>Code, 0.</summary>
    [Field(1), Expect(0)] public partial byte Code { get; set; }

    /// <summary>Checksum with the IPv6 pseudo-header.</summary>
    [Field(2), Checksum(ChecksumScope.Packet, PseudoHeaderProtocol = 58)] public partial ushort Checksum { get; set; }

    /// <summary>Reserved, sent as zero.</summary>
    [Field(4)] public partial uint Reserved { get; set; }

    /// <summary>A better first hop for the destination.</summary>
    [Field(8)] public partial Ipv6Address TargetAddress { get; set; }

    /// <summary>The destination that is redirected.</summary>
    [Field(24)] public partial Ipv6Address DestinationAddress { get; set; }
}

/// <summary>The source or target link-layer address option for Ethernet (RFC 4861 4.6.1).</summary>
[WireHeader(8)]
public readonly ref partial struct NdpLinkLayerAddressOption
{
    /// <summary>1 for source, 2 for target.</summary>
    [Field(0)] public partial NdpOptionType Type { get; set; }

    /// <summary>Length in units of 8 octets, 1 for Ethernet.</summary>
    [Field(1), Expect(1)] public partial byte Length { get; set; }

    /// <summary>The link-layer address.</summary>
    [Field(2)] public partial MacAddress Address { get; set; }
}

/// <summary>The prefix information option (RFC 4861 4.6.2).</summary>
[WireHeader(32)]
public readonly ref partial struct NdpPrefixInformationOption
{
    /// <summary>Type, 3.</summary>
    [Field(0), Expect(3)] public partial NdpOptionType Type { get; set; }

    /// <summary>Length, 4 units of 8 octets.</summary>
    [Field(1), Expect(4)] public partial byte Length { get; set; }

    /// <summary>Number of leading bits of the prefix that are valid.</summary>
    [Field(2)] public partial byte PrefixLength { get; set; }

    /// <summary>The prefix is on-link.</summary>
    [Bits(24, 1)] public partial bool OnLink { get; set; }

    /// <summary>The prefix can be used for stateless address configuration.</summary>
    [Bits(25, 1)] public partial bool Autonomous { get; set; }

    /// <summary>Reserved bits.</summary>
    [Bits(26, 6)] public partial byte Reserved1 { get; set; }

    /// <summary>Valid lifetime in seconds.</summary>
    [Field(4)] public partial uint ValidLifetime { get; set; }

    /// <summary>Preferred lifetime in seconds.</summary>
    [Field(8)] public partial uint PreferredLifetime { get; set; }

    /// <summary>Reserved, sent as zero.</summary>
    [Field(12)] public partial uint Reserved2 { get; set; }

    /// <summary>The prefix.</summary>
    [Field(16)] public partial Ipv6Address Prefix { get; set; }
}

/// <summary>The redirected header option (RFC 4861 4.6.3): as much of the redirected packet as fits.</summary>
[WireHeader(8)]
[HeaderLength(nameof(Length), Unit = 8)]
public readonly ref partial struct NdpRedirectedHeaderOption
{
    /// <summary>Type, 4.</summary>
    [Field(0), Expect(4)] public partial NdpOptionType Type { get; set; }

    /// <summary>Length of the option in units of 8 octets.</summary>
    [Field(1)] public partial byte Length { get; set; }

    /// <summary>Reserved, sent as zero.</summary>
    [Bits(16, 48)] public partial ulong Reserved { get; set; }
}

/// <summary>The MTU option (RFC 4861 4.6.4).</summary>
[WireHeader(8)]
public readonly ref partial struct NdpMtuOption
{
    /// <summary>Type, 5.</summary>
    [Field(0), Expect(5)] public partial NdpOptionType Type { get; set; }

    /// <summary>Length, 1 unit of 8 octets.</summary>
    [Field(1), Expect(1)] public partial byte Length { get; set; }

    /// <summary>Reserved, sent as zero.</summary>
    [Field(2)] public partial ushort Reserved { get; set; }

    /// <summary>The link MTU.</summary>
    [Field(4)] public partial uint Mtu { get; set; }
}
