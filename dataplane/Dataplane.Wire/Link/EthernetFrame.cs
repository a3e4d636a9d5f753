namespace Dataplane.Wire;

/// <summary>An Ethernet II frame header (IEEE 802.3 clause 3.1.1 with the EtherType of RFC 894).</summary>
[WireHeader(14)]
public readonly ref partial struct EthernetFrame
{
    /// <summary>Destination MAC address.</summary>
    [Field(0)] public partial MacAddress Destination { get; set; }

    /// <summary>Source MAC address.</summary>
    [Field(6)] public partial MacAddress Source { get; set; }

    /// <summary>What the payload carries, or the type of a VLAN tag that follows.</summary>
    [Field(12)] public partial EtherType EtherType { get; set; }
}
