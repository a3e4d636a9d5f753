namespace Dataplane.Wire;

/// <summary>An MLDv2 query (RFC 3810 5.1) with its source list in <c>Variable</c>.</summary>
[WireHeader(28)]
[ExtraLength(nameof(NumberOfSources), Unit = 16)]
public readonly ref partial struct MldV2Query
{
    /// <summary>Type, 130.</summary>
    [Field(0), Expect(130)] public partial Icmpv6Type Type { get; set; }

    /// <summary>Code, 0.</summary>
    [Field(1)] public partial byte Code { get; set; }

    /// <summary>Checksum with the IPv6 pseudo-header.</summary>
    [Field(2), Checksum(ChecksumScope.Packet, PseudoHeaderProtocol = 58)] public partial ushort Checksum { get; set; }

    /// <summary>Maximum response code (RFC 3810 5.1.3).</summary>
    [Field(4)] public partial ushort MaxResponseCode { get; set; }

    /// <summary>Reserved, sent as zero.</summary>
    [Field(6)] public partial ushort Reserved1 { get; set; }

    /// <summary>The multicast address, or :: in a general query.</summary>
    [Field(8)] public partial Ipv6Address MulticastAddress { get; set; }

    /// <summary>Reserved bits.</summary>
    [Bits(192, 4)] public partial byte Reserved2 { get; set; }

    /// <summary>Suppress router-side processing.</summary>
    [Bits(196, 1)] public partial bool SuppressRouterProcessing { get; set; }

    /// <summary>Querier's robustness variable.</summary>
    [Bits(197, 3)] public partial byte QuerierRobustness { get; set; }

    /// <summary>Querier's query interval code.</summary>
    [Field(25)] public partial byte QuerierQueryIntervalCode { get; set; }

    /// <summary>Number of source addresses that follow.</summary>
    [Field(26)] public partial ushort NumberOfSources { get; set; }
}

/// <summary>An MLDv2 report (RFC 3810 5.2); address records follow in the payload.</summary>
[WireHeader(8)]
[Records(typeof(MldV2AddressRecord), nameof(NumberOfRecords))]
public readonly ref partial struct MldV2Report
{
    /// <summary>Type, 143.</summary>
    [Field(0), Expect(143)] public partial Icmpv6Type Type { get; set; }

    /// <summary>Reserved, sent as zero.</summary>
    [Field(1)] public partial byte Reserved1 { get; set; }

    /// <summary>Checksum with the IPv6 pseudo-header.</summary>
    [Field(2), Checksum(ChecksumScope.Packet, PseudoHeaderProtocol = 58)] public partial ushort Checksum { get; set; }

    /// <summary>Reserved, sent as zero.</summary>
    [Field(4)] public partial ushort Reserved2 { get; set; }

    /// <summary>Number of address records that follow.</summary>
    [Field(6)] public partial ushort NumberOfRecords { get; set; }
}

/// <summary>An MLDv2 multicast address record (RFC 3810 5.2.4): sources and auxiliary data in <c>Variable</c>.</summary>
[WireHeader(20)]
[ExtraLength(nameof(NumberOfSources), Unit = 16)]
[ExtraLength(nameof(AuxiliaryDataLength), Unit = 4)]
public readonly ref partial struct MldV2AddressRecord
{
    /// <summary>Record type: 1 MODE_IS_INCLUDE to 6 BLOCK_OLD_SOURCES.</summary>
    [Field(0)] public partial byte RecordType { get; set; }

    /// <summary>Length of the auxiliary data in 32-bit words.</summary>
    [Field(1)] public partial byte AuxiliaryDataLength { get; set; }

    /// <summary>Number of source addresses.</summary>
    [Field(2)] public partial ushort NumberOfSources { get; set; }

    /// <summary>The multicast address.</summary>
    [Field(4)] public partial Ipv6Address MulticastAddress { get; set; }
}
