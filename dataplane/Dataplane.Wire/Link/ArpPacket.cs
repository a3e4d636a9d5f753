namespace Dataplane.Wire;

/// <summary>ARP operation codes (RFC 826).</summary>
public enum ArpOperation : ushort
{
    /// <summary>Who has the target protocol address?</summary>
    Request = 1,

    /// <summary>The sender has the sender protocol address.</summary>
    Reply = 2,
}

/// <summary>
/// An ARP packet for IPv4 over Ethernet (RFC 826): hardware type 1, protocol type 0x0800,
/// address lengths 6 and 4. Other combinations are refused by <c>Repr.TryParse</c>.
/// </summary>
[WireHeader(28)]
public readonly ref partial struct ArpPacket
{
    /// <summary>Hardware type, 1 for Ethernet.</summary>
    [Field(0), Expect(1)] public partial ushort HardwareType { get; set; }

    /// <summary>Protocol type, the EtherType of IPv4.</summary>
    [Field(2), Expect(0x0800)] public partial EtherType ProtocolType { get; set; }

    /// <summary>Hardware address length, 6.</summary>
    [Field(4), Expect(6)] public partial byte HardwareLength { get; set; }

    /// <summary>Protocol address length, 4.</summary>
    [Field(5), Expect(4)] public partial byte ProtocolLength { get; set; }

    /// <summary>Request or reply.</summary>
    [Field(6)] public partial ArpOperation Operation { get; set; }

    /// <summary>Sender hardware address.</summary>
    [Field(8)] public partial MacAddress SenderHardwareAddress { get; set; }

    /// <summary>Sender protocol address.</summary>
    [Field(14)] public partial Ipv4Address SenderProtocolAddress { get; set; }

    /// <summary>Target hardware address (zero in a request).</summary>
    [Field(18)] public partial MacAddress TargetHardwareAddress { get; set; }

    /// <summary>Target protocol address.</summary>
    [Field(24)] public partial Ipv4Address TargetProtocolAddress { get; set; }
}
