using System.Buffers.Binary;

namespace Dataplane.Wire;

/// <summary>
/// The GRE header (RFC 2784, with the key and sequence number of RFC 2890). The optional
/// checksum, key and sequence words follow the fixed 4 bytes when their bits are set.
/// </summary>
[WireHeader(4)]
[ExtraLength(nameof(ChecksumPresent), Unit = 4)]
[ExtraLength(nameof(KeyPresent), Unit = 4)]
[ExtraLength(nameof(SequenceNumberPresent), Unit = 4)]
public readonly ref partial struct GreHeader
{
    /// <summary>The checksum and reserved1 words are present.</summary>
    [Bits(0, 1)] public partial bool ChecksumPresent { get; set; }

    /// <summary>Routing present (RFC 1701); reserved, sent as zero, since RFC 2784.</summary>
    [Bits(1, 1)] public partial bool RoutingPresent { get; set; }

    /// <summary>The key word is present (RFC 2890).</summary>
    [Bits(2, 1)] public partial bool KeyPresent { get; set; }

    /// <summary>The sequence number word is present (RFC 2890).</summary>
    [Bits(3, 1)] public partial bool SequenceNumberPresent { get; set; }

    /// <summary>Reserved bits, sent as zero.</summary>
    [Bits(4, 9)] public partial ushort Reserved0 { get; set; }

    /// <summary>Version, 0.</summary>
    [Bits(13, 3), Expect(0)] public partial byte Version { get; set; }

    /// <summary>EtherType of the payload.</summary>
    [Field(2)] public partial EtherType ProtocolType { get; set; }

    // The optional words sit in the order checksum, key, sequence number: each one's offset
    // depends on which of the earlier ones are present.

    /// <summary>The checksum over GRE header and payload, when <see cref="ChecksumPresent"/>.</summary>
    public ushort? Checksum => ChecksumPresent ? BinaryPrimitives.ReadUInt16BigEndian(Variable) : null;

    /// <summary>The key, when <see cref="KeyPresent"/>.</summary>
    public uint? Key => KeyPresent ? BinaryPrimitives.ReadUInt32BigEndian(Variable[(ChecksumPresent ? 4 : 0)..]) : null;

    /// <summary>The sequence number, when <see cref="SequenceNumberPresent"/>.</summary>
    public uint? SequenceNumber => SequenceNumberPresent
        ? BinaryPrimitives.ReadUInt32BigEndian(Variable[((ChecksumPresent ? 4 : 0) + (KeyPresent ? 4 : 0))..])
        : null;
}
