namespace Dataplane.Wire;

/// <summary>ICMP message types (RFC 792, RFC 1812).</summary>
public enum Icmpv4Type : byte
{
    /// <summary>Echo reply.</summary>
    EchoReply = 0,

    /// <summary>Destination unreachable.</summary>
    DestinationUnreachable = 3,

    /// <summary>Redirect.</summary>
    Redirect = 5,

    /// <summary>Echo request.</summary>
    EchoRequest = 8,

    /// <summary>Time exceeded.</summary>
    TimeExceeded = 11,

    /// <summary>Parameter problem.</summary>
    ParameterProblem = 12,
}

/// <summary>An ICMP message (RFC 792): type, code, checksum, and four type-specific bytes.</summary>
[WireHeader(8)]
public readonly ref partial struct Icmpv4Packet
{
    /// <summary>Message type.</summary>
    [Field(0)] public partial Icmpv4Type Type { get; set; }

    /// <summary>Message code.</summary>
    [Field(1)] public partial byte Code { get; set; }

    /// <summary>Checksum over the whole ICMP message.</summary>
    [Field(2), Checksum(ChecksumScope.Packet)] public partial ushort Checksum { get; set; }

    /// <summary>The four bytes whose meaning depends on the type.</summary>
    [Field(4)] public partial uint RestOfHeader { get; set; }
}

/// <summary>An ICMP echo request or reply (RFC 792).</summary>
[WireHeader(8)]
public readonly ref partial struct Icmpv4Echo
{
    /// <summary>Echo request (8) or reply (0).</summary>
    [Field(0)] public partial Icmpv4Type Type { get; set; }

    /// <summary>Code, 0.</summary>
    [Field(1)] public partial byte Code { get; set; }

    /// <summary>Checksum over the whole ICMP message.</summary>
    [Field(2), Checksum(ChecksumScope.Packet)] public partial ushort Checksum { get; set; }

    /// <summary>Identifier, to match replies to requests.</summary>
    [Field(4)] public partial ushort Identifier { get; set; }

    /// <summary>Sequence number.</summary>
    [Field(6)] public partial ushort SequenceNumber { get; set; }
}

/// <summary>
/// An ICMP error: destination unreachable, time exceeded, parameter problem (RFC 792) carrying
/// the start of the offending datagram; the next-hop MTU of RFC 1191 and the pointer share the
/// type-specific bytes.
/// </summary>
[WireHeader(8)]
public readonly ref partial struct Icmpv4Error
{
    /// <summary>Message type.</summary>
    [Field(0)] public partial Icmpv4Type Type { get; set; }

    /// <summary>Message code (for unreachable: 0 net, 1 host, 3 port, 4 fragmentation needed).</summary>
    [Field(1)] public partial byte Code { get; set; }

    /// <summary>Checksum over the whole ICMP message.</summary>
    [Field(2), Checksum(ChecksumScope.Packet)] public partial ushort Checksum { get; set; }

    /// <summary>Parameter problem: the octet where the error was found.</summary>
    [Field(4)] public partial byte Pointer { get; set; }

    /// <summary>Unused, sent as zero.</summary>
    [Field(5)] public partial byte Unused { get; set; }

    /// <summary>Fragmentation needed: the MTU of the next hop (RFC 1191 4).</summary>
    [Field(6)] public partial ushort NextHopMtu { get; set; }
}

/// <summary>An ICMP redirect (RFC 792).</summary>
[WireHeader(8)]
public readonly ref partial struct Icmpv4Redirect
{
    /// <summary>Message type, 5.</summary>
    [Field(0)] public partial Icmpv4Type Type { get; set; }

    /// <summary>0 network, 1 host, 2 TOS and network, 3 TOS and host.</summary>
    [Field(1)] public partial byte Code { get; set; }

    /// <summary>Checksum over the whole ICMP message.</summary>
    [Field(2), Checksum(ChecksumScope.Packet)] public partial ushort Checksum { get; set; }

    /// <summary>The gateway to use instead.</summary>
    [Field(4)] public partial Ipv4Address Gateway { get; set; }
}
