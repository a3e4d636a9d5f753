namespace Dataplane.Wire;

/// <summary>IGMP message types (RFC 2236 2.1, RFC 3376 4).</summary>
public enum IgmpType : byte
{
    /// <summary>Membership query (all versions).</summary>
    MembershipQuery = 0x11,

    /// <summary>Version 1 membership report.</summary>
    MembershipReportV1 = 0x12,

    /// <summary>Version 2 membership report.</summary>
    MembershipReportV2 = 0x16,

    /// <summary>Version 2 leave group.</summary>
    LeaveGroup = 0x17,

    /// <summary>Version 3 membership report.</summary>
    MembershipReportV3 = 0x22,
}

/// <summary>An IGMPv2 message (RFC 2236 2): queries, reports and leaves.</summary>
[WireHeader(8)]
public readonly ref partial struct IgmpV2Message
{
    /// <summary>Message type.</summary>
    [Field(0)] public partial IgmpType Type { get; set; }

    /// <summary>Maximum response time in tenths of a second (queries only).</summary>
    [Field(1)] public partial byte MaxResponseTime { get; set; }

    /// <summary>Checksum over the whole IGMP message.</summary>
    [Field(2), Checksum(ChecksumScope.Packet)] public partial ushort Checksum { get; set; }

    /// <summary>The group, or 0.0.0.0 in a general query.</summary>
    [Field(4)] public partial Ipv4Address GroupAddress { get; set; }
}

/// <summary>An IGMPv3 membership query (RFC 3376 4.1) with its source list in <c>Variable</c>.</summary>
[WireHeader(12)]
[ExtraLength(nameof(NumberOfSources), Unit = 4)]
public readonly ref partial struct IgmpV3Query
{
    /// <summary>Type, 0x11.</summary>
    [Field(0), Expect(0x11)] public partial IgmpType Type { get; set; }

    /// <summary>Maximum response code (RFC 3376 4.1.1).</summary>
    [Field(1)] public partial byte MaxResponseCode { get; set; }

    /// <summary>Checksum over the whole IGMP message.</summary>
    [Field(2), Checksum(ChecksumScope.Packet)] public partial ushort Checksum { get; set; }

    /// <summary>The group, or 0.0.0.0 in a general query.</summary>
    [Field(4)] public partial Ipv4Address GroupAddress { get; set; }

    /// <summary>Reserved bits.</summary>
    [Bits(64, 4)] public partial byte Reserved { get; set; }

    /// <summary>Suppress router-side processing.</summary>
    [Bits(68, 1)] public partial bool SuppressRouterProcessing { get; set; }

    /// <summary>Querier's robustness variable.</summary>
    [Bits(69, 3)] public partial byte QuerierRobustness { get; set; }

    /// <summary>Querier's query interval code.</summary>
    [Field(9)] public partial byte QuerierQueryIntervalCode { get; set; }

    /// <summary>Number of source addresses that follow.</summary>
    [Field(10)] public partial ushort NumberOfSources { get; set; }
}

/// <summary>An IGMPv3 membership report (RFC 3376 4.2); group records follow in the payload.</summary>
[WireHeader(8)]
[Records(typeof(IgmpV3GroupRecord), nameof(NumberOfGroupRecords))]
public readonly ref partial struct IgmpV3Report
{
    /// <summary>Type, 0x22.</summary>
    [Field(0), Expect(0x22)] public partial IgmpType Type { get; set; }

    /// <summary>Reserved, sent as zero.</summary>
    [Field(1)] public partial byte Reserved1 { get; set; }

    /// <summary>Checksum over the whole IGMP message.</summary>
    [Field(2), Checksum(ChecksumScope.Packet)] public partial ushort Checksum { get; set; }

    /// <summary>Reserved, sent as zero.</summary>
    [Field(4)] public partial ushort Reserved2 { get; set; }

    /// <summary>Number of group records that follow.</summary>
    [Field(6)] public partial ushort NumberOfGroupRecords { get; set; }
}

/// <summary>An IGMPv3 group record (RFC 3376 4.2.4): sources and auxiliary data in <c>Variable</c>.</summary>
[WireHeader(8)]
[ExtraLength(nameof(NumberOfSources), Unit = 4)]
[ExtraLength(nameof(AuxiliaryDataLength), Unit = 4)]
public readonly ref partial struct IgmpV3GroupRecord
{
    /// <summary>Record type: 1 MODE_IS_INCLUDE to 6 BLOCK_OLD_SOURCES.</summary>
    [Field(0)] public partial byte RecordType { get; set; }

    /// <summary>Length of the auxiliary data in 32-bit words.</summary>
    [Field(1)] public partial byte AuxiliaryDataLength { get; set; }

    /// <summary>Number of source addresses.</summary>
    [Field(2)] public partial ushort NumberOfSources { get; set; }

    /// <summary>The multicast group.</summary>
    [Field(4)] public partial Ipv4Address MulticastAddress { get; set; }
}
