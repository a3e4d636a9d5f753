namespace Dataplane.Wire;

/// <summary>The IPv6 hop-by-hop options header (RFC 8200 4.3).</summary>
[WireHeader(2)]
[HeaderLength(nameof(HeaderExtensionLength), Unit = 8, Bias = 8)]
[Options(OptionFormat.Ipv6)]
public readonly ref partial struct Ipv6HopByHopHeader
{
    /// <summary>Type of the header that follows.</summary>
    [Field(0)] public partial IpProtocol NextHeader { get; set; }

    /// <summary>Length in 8-octet units, not counting the first 8 octets.</summary>
    [Field(1)] public partial byte HeaderExtensionLength { get; set; }
}

/// <summary>The IPv6 destination options header (RFC 8200 4.6).</summary>
[WireHeader(2)]
[HeaderLength(nameof(HeaderExtensionLength), Unit = 8, Bias = 8)]
[Options(OptionFormat.Ipv6)]
public readonly ref partial struct Ipv6DestinationOptionsHeader
{
    /// <summary>Type of the header that follows.</summary>
    [Field(0)] public partial IpProtocol NextHeader { get; set; }

    /// <summary>Length in 8-octet units, not counting the first 8 octets.</summary>
    [Field(1)] public partial byte HeaderExtensionLength { get; set; }
}

/// <summary>The IPv6 routing header (RFC 8200 4.4); type-specific data is in <c>Variable</c>.</summary>
[WireHeader(4)]
[HeaderLength(nameof(HeaderExtensionLength), Unit = 8, Bias = 8)]
public readonly ref partial struct Ipv6RoutingHeader
{
    /// <summary>Type of the header that follows.</summary>
    [Field(0)] public partial IpProtocol NextHeader { get; set; }

    /// <summary>Length in 8-octet units, not counting the first 8 octets.</summary>
    [Field(1)] public partial byte HeaderExtensionLength { get; set; }

    /// <summary>Routing type (0 and 1 are deprecated, RFC 5095).</summary>
    [Field(2)] public partial byte RoutingType { get; set; }

    /// <summary>Route segments still to visit.</summary>
    [Field(3)] public partial byte SegmentsLeft { get; set; }
}

/// <summary>The IPv6 fragment header (RFC 8200 4.5).</summary>
[WireHeader(8)]
public readonly ref partial struct Ipv6FragmentHeader
{
    /// <summary>Type of the header that follows in the original packet.</summary>
    [Field(0)] public partial IpProtocol NextHeader { get; set; }

    /// <summary>Reserved, sent as zero.</summary>
    [Field(1)] public partial byte Reserved { get; set; }

    /// <summary>Offset of the fragment's data in 8-octet units.</summary>
    [Bits(16, 13)] public partial ushort FragmentOffset { get; set; }

    /// <summary>Two reserved bits.</summary>
    [Bits(29, 2)] public partial byte Reserved2 { get; set; }

    /// <summary>More fragments follow.</summary>
    [Bits(31, 1)] public partial bool MoreFragments { get; set; }

    /// <summary>Identification, the same in every fragment of a packet.</summary>
    [Field(4)] public partial uint Identification { get; set; }
}
