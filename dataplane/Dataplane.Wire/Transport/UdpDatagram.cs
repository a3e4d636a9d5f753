namespace Dataplane.Wire;

/// <summary>A UDP header (RFC 768).</summary>
[WireHeader(8)]
[TotalLength(nameof(Length))]
public readonly ref partial struct UdpDatagram
{
    /// <summary>Source port.</summary>
    [Field(0)] public partial ushort SourcePort { get; set; }

    /// <summary>Destination port.</summary>
    [Field(2)] public partial ushort DestinationPort { get; set; }

    /// <summary>Length of header and data in bytes.</summary>
    [Field(4)] public partial ushort Length { get; set; }

    /// <summary>Checksum with the pseudo-header; 0 over IPv4 means none was computed.</summary>
    [Field(6), Checksum(ChecksumScope.Packet, PseudoHeaderProtocol = 17, ZeroMeansNone = true)]
    public partial ushort Checksum { get; set; }
}
