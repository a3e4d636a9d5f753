namespace Dataplane.Wire;

/// <summary>VXLAN flags (RFC 7348 5).</summary>
[Flags]
public enum VxlanFlags : byte
{
    /// <summary>No flag set.</summary>
    None = 0,

    /// <summary>The VNI is valid; must be set.</summary>
    ValidNetworkIdentifier = 0x08,
}

/// <summary>The VXLAN header (RFC 7348 5), carried in UDP to port 4789, before the inner Ethernet frame.</summary>
[WireHeader(8)]
public readonly ref partial struct VxlanHeader
{
    /// <summary>Flags; the I flag must be set.</summary>
    [Field(0)] public partial VxlanFlags Flags { get; set; }

    /// <summary>Reserved, sent as zero.</summary>
    [Bits(8, 24)] public partial uint Reserved1 { get; set; }

    /// <summary>The 24-bit VXLAN network identifier.</summary>
    [Bits(32, 24)] public partial uint NetworkIdentifier { get; set; }

    /// <summary>Reserved, sent as zero.</summary>
    [Field(7)] public partial byte Reserved2 { get; set; }
}
