namespace Dataplane.Wire;

/// <summary>The fixed IPv6 header (RFC 8200 3).</summary>
[WireHeader(40)]
[TotalLength(nameof(PayloadLength), Bias = 40)]
public readonly ref partial struct Ipv6Packet
{
    /// <summary>Version, 6.</summary>
    [Bits(0, 4), Expect(6)] public partial byte Version { get; set; }

    /// <summary>Traffic class: DSCP and ECN.</summary>
    [Bits(4, 8)] public partial byte TrafficClass { get; set; }

    /// <summary>Flow label, RFC 6437.</summary>
    [Bits(12, 20)] public partial uint FlowLabel { get; set; }

    /// <summary>Length of what follows the fixed header, extension headers included.</summary>
    [Field(4)] public partial ushort PayloadLength { get; set; }

    /// <summary>Type of the header that follows.</summary>
    [Field(6)] public partial IpProtocol NextHeader { get; set; }

    /// <summary>
    /// Sets the field at <paramref name="field"/> of <paramref name="packet"/> that names a header of
    /// the chain: the IPv6 header's own Next Header (offset 6), or the first octet of an extension
    /// header, which is the Next Header of every kind (RFC 8200 4). For the chain edits of
    /// fragmentation and reassembly, which know the field by position only.
    /// </summary>
    public static void SetNextHeaderAt(Span<byte> packet, int field, IpProtocol next) => packet[field] = (byte)next;

    /// <summary>Hop limit.</summary>
    [Field(7)] public partial byte HopLimit { get; set; }

    /// <summary>Source address.</summary>
    [Field(8)] public partial Ipv6Address Source { get; set; }

    /// <summary>Destination address.</summary>
    [Field(24)] public partial Ipv6Address Destination { get; set; }
}
