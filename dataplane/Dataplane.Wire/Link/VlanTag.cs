namespace Dataplane.Wire;

/// <summary>
/// The IEEE 802.1Q tag that follows an EtherType of 0x8100: tag control information (priority,
/// drop eligibility, VLAN id) and the EtherType of what follows.
/// </summary>
[WireHeader(4)]
public readonly ref partial struct VlanTag
{
    /// <summary>Priority code point, IEEE 802.1p.</summary>
    [Bits(0, 3)] public partial byte Priority { get; set; }

    /// <summary>Drop eligible indicator.</summary>
    [Bits(3, 1)] public partial bool DropEligible { get; set; }

    /// <summary>VLAN identifier; 0 means priority-tagged, 4095 is reserved.</summary>
    [Bits(4, 12)] public partial ushort VlanId { get; set; }

    /// <summary>EtherType of the encapsulated frame.</summary>
    [Field(2)] public partial EtherType EtherType { get; set; }
}

/// <summary>
/// The IEEE 802.1ad service tag that follows an EtherType of 0x88A8 (the outer tag of QinQ); same
/// layout as the 802.1Q tag, usually followed by a customer tag.
/// </summary>
[WireHeader(4)]
public readonly ref partial struct ServiceTag
{
    /// <summary>Priority code point.</summary>
    [Bits(0, 3)] public partial byte Priority { get; set; }

    /// <summary>Drop eligible indicator.</summary>
    [Bits(3, 1)] public partial bool DropEligible { get; set; }

    /// <summary>Service VLAN identifier.</summary>
    [Bits(4, 12)] public partial ushort VlanId { get; set; }

    /// <summary>EtherType of the encapsulated frame, usually 0x8100.</summary>
    [Field(2)] public partial EtherType EtherType { get; set; }
}
