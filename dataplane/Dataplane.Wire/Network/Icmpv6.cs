namespace Dataplane.Wire;

/// <summary>ICMPv6 message types (RFC 4443, RFC 4861, RFC 3810).</summary>
public enum Icmpv6Type : byte
{
    /// <summary>Destination unreachable.</summary>
    DestinationUnreachable = 1,

    /// <summary>Packet too big.</summary>
    PacketTooBig = 2,

    /// <summary>Time exceeded.</summary>
    TimeExceeded = 3,

    /// <summary>Parameter problem.</summary>
    ParameterProblem = 4,

    /// <summary>Echo request.</summary>
    EchoRequest = 128,

    /// <summary>Echo reply.</summary>
    EchoReply = 129,

    /// <summary>Multicast listener query (MLDv1 and MLDv2).</summary>
    MulticastListenerQuery = 130,

    /// <summary>Router solicitation.</summary>
    RouterSolicitation = 133,

    /// <summary>Router advertisement.</summary>
    RouterAdvertisement = 134,

    /// <summary>Neighbor solicitation.</summary>
    NeighborSolicitation = 135,

    /// <summary>Neighbor advertisement.</summary>
    NeighborAdvertisement = 136,

    /// <summary>Redirect.</summary>
    Redirect = 137,

    /// <summary>Version 2 multicast listener report.</summary>
    MulticastListenerReportV2 = 143,
}

/// <summary>An ICMPv6 message (RFC 4443 2.1): type, code, checksum, four type-specific bytes.</summary>
[WireHeader(8)]
public readonly ref partial struct Icmpv6Packet
{
    /// <summary>Message type.</summary>
    [Field(0)] public partial Icmpv6Type Type { get; set; }

    /// <summary>Message code.</summary>
    [Field(1)] public partial byte Code { get; set; }

    /// <summary>Checksum over the message and the IPv6 pseudo-header (RFC 4443 2.3).</summary>
    [Field(2), Checksum(ChecksumScope.Packet, PseudoHeaderProtocol = 58)] public partial ushort Checksum { get; set; }

    /// <summary>The four bytes whose meaning depends on the type.</summary>
    [Field(4)] public partial uint RestOfHeader { get; set; }
}

/// <summary>An ICMPv6 echo request or reply (RFC 4443 4).</summary>
[WireHeader(8)]
public readonly ref partial struct Icmpv6Echo
{
    /// <summary>Echo request (128) or reply (129).</summary>
    [Field(0)] public partial Icmpv6Type Type { get; set; }

    /// <summary>Code, 0.</summary>
    [Field(1)] public partial byte Code { get; set; }

    /// <summary>Checksum with the IPv6 pseudo-header.</summary>
    [Field(2), Checksum(ChecksumScope.Packet, PseudoHeaderProtocol = 58)] public partial ushort Checksum { get; set; }

    /// <summary>Identifier.</summary>
    [Field(4)] public partial ushort Identifier { get; set; }

    /// <summary>Sequence number.</summary>
    [Field(6)] public partial ushort SequenceNumber { get; set; }
}

/// <summary>
/// An ICMPv6 error (RFC 4443 3): destination unreachable, packet too big (the MTU), time exceeded,
/// parameter problem (the pointer), followed by as much of the invoking packet as fits.
/// </summary>
[WireHeader(8)]
public readonly ref partial struct Icmpv6Error
{
    /// <summary>Message type.</summary>
    [Field(0)] public partial Icmpv6Type Type { get; set; }

    /// <summary>Message code.</summary>
    [Field(1)] public partial byte Code { get; set; }

    /// <summary>Checksum with the IPv6 pseudo-header.</summary>
    [Field(2), Checksum(ChecksumScope.Packet, PseudoHeaderProtocol = 58)] public partial ushort Checksum { get; set; }

    /// <summary>Packet too big: the MTU of the next hop; parameter problem: the offset of the error.</summary>
    [Field(4)] public partial uint Parameter { get; set; }
}
