namespace Dataplane.Wire;

/// <summary>
/// Declares a <c>readonly ref partial struct</c> as a view over a protocol header of
/// <paramref name="length"/> fixed bytes. The wire-format generator emits the constructor
/// (<c>TryCreate</c>, which checks every length once), the field accessors, the value
/// representation (<c>Repr</c>) and, where declared, option iterators and checksum helpers.
/// </summary>
[AttributeUsage(AttributeTargets.Struct, Inherited = false)]
public sealed class WireHeaderAttribute(int length) : Attribute
{
    /// <summary>Length of the fixed part of the header, in bytes.</summary>
    public int Length { get; } = length;
}

/// <summary>
/// A byte-aligned field at <paramref name="offset"/> bytes from the start of the header. Its width
/// is the width of the property type: 1, 2, 4 or 8 bytes for integers and enums, the declared size
/// of a <see cref="WireValueAttribute"/> type for addresses.
/// </summary>
[AttributeUsage(AttributeTargets.Property, Inherited = false)]
public sealed class FieldAttribute(int offset) : Attribute
{
    /// <summary>Byte offset from the start of the header.</summary>
    public int Offset { get; } = offset;

    /// <summary>Byte order on the wire; network order unless a protocol says otherwise.</summary>
    public ByteOrder ByteOrder { get; set; } = ByteOrder.BigEndian;
}

/// <summary>
/// A bit field <paramref name="width"/> bits wide starting at bit <paramref name="bit"/> of the
/// header, bits numbered from the most significant bit of byte 0, as in RFC header diagrams.
/// </summary>
[AttributeUsage(AttributeTargets.Property, Inherited = false)]
public sealed class BitsAttribute(int bit, int width) : Attribute
{
    /// <summary>First bit, counted from the most significant bit of the header's first byte.</summary>
    public int Bit { get; } = bit;

    /// <summary>Width in bits.</summary>
    public int Width { get; } = width;
}

/// <summary>Byte order of a multi-byte field on the wire.</summary>
public enum ByteOrder
{
    /// <summary>Network byte order (most significant byte first).</summary>
    BigEndian,

    /// <summary>Least significant byte first.</summary>
    LittleEndian,
}

/// <summary>
/// The header's length is given by a field: <c>value * Unit + Bias</c> bytes, which must be at
/// least the fixed length (IPv4 IHL, TCP data offset, IPv6 extension header length).
/// </summary>
[AttributeUsage(AttributeTargets.Struct, Inherited = false)]
public sealed class HeaderLengthAttribute(string field) : Attribute
{
    /// <summary>The property holding the length.</summary>
    public string Field { get; } = field;

    /// <summary>Bytes per unit of the field.</summary>
    public int Unit { get; set; } = 1;

    /// <summary>Bytes added after scaling.</summary>
    public int Bias { get; set; }
}

/// <summary>
/// Adds <c>value * Unit</c> bytes to the header length: repeated elements inside the header whose
/// count is a field (sources of an IGMPv3 group record, auxiliary data words).
/// </summary>
[AttributeUsage(AttributeTargets.Struct, AllowMultiple = true, Inherited = false)]
public sealed class ExtraLengthAttribute(string field) : Attribute
{
    /// <summary>The property holding the count.</summary>
    public string Field { get; } = field;

    /// <summary>Bytes per unit of the field.</summary>
    public int Unit { get; set; } = 1;
}

/// <summary>
/// The length of header plus payload is given by a field: <c>value * Unit + Bias</c> bytes. It
/// must lie between the header length and the buffer length; bytes past it are link padding and
/// are not part of <c>Payload</c> (IPv4 total length, UDP length, IPv6 payload length).
/// </summary>
[AttributeUsage(AttributeTargets.Struct, Inherited = false)]
public sealed class TotalLengthAttribute(string field) : Attribute
{
    /// <summary>The property holding the length.</summary>
    public string Field { get; } = field;

    /// <summary>Bytes per unit of the field.</summary>
    public int Unit { get; set; } = 1;

    /// <summary>Bytes added after scaling (40 for the IPv6 payload length).</summary>
    public int Bias { get; set; }
}

/// <summary>The bytes between the fixed part and the header length are options in this format.</summary>
[AttributeUsage(AttributeTargets.Struct, Inherited = false)]
public sealed class OptionsAttribute(OptionFormat format) : Attribute
{
    /// <summary>How options are framed.</summary>
    public OptionFormat Format { get; } = format;
}

/// <summary>How the options of a header are framed.</summary>
public enum OptionFormat
{
    /// <summary>IPv4 (RFC 791) and TCP (RFC 9293): kind 0 ends the list, kind 1 is a one-byte
    /// no-operation, every other option has a length byte that counts kind and length.</summary>
    KindLength,

    /// <summary>IPv6 hop-by-hop and destination options (RFC 8200 4.2): type 0 is one byte of
    /// padding, every other option has a length byte that counts only its data.</summary>
    Ipv6,

    /// <summary>Neighbor Discovery (RFC 4861 4.6): a length byte in units of 8 octets that
    /// counts type and length; a length of 0 is invalid.</summary>
    NeighborDiscovery,
}

/// <summary>The field must hold this value for <c>Repr.TryParse</c> to accept the header.</summary>
[AttributeUsage(AttributeTargets.Property, Inherited = false)]
public sealed class ExpectAttribute(ulong value) : Attribute
{
    /// <summary>The required value.</summary>
    public ulong Value { get; } = value;
}

/// <summary>
/// The field holds an Internet checksum (RFC 1071) over the header alone or over header and
/// payload, with or without the IPv4/IPv6 pseudo-header of upper-layer protocols.
/// </summary>
[AttributeUsage(AttributeTargets.Property, Inherited = false)]
public sealed class ChecksumAttribute(ChecksumScope scope) : Attribute
{
    /// <summary>What the checksum covers.</summary>
    public ChecksumScope Scope { get; } = scope;

    /// <summary>Upper-layer protocol number for the pseudo-header, 0 for none (RFC 768, RFC 9293
    /// 3.1, RFC 8200 8.1).</summary>
    public byte PseudoHeaderProtocol { get; set; }

    /// <summary>A transmitted checksum of 0 means "none" (UDP over IPv4, RFC 768); a computed 0
    /// is sent as 0xFFFF.</summary>
    public bool ZeroMeansNone { get; set; }
}

/// <summary>What an Internet checksum covers.</summary>
public enum ChecksumScope
{
    /// <summary>The header up to its header length (IPv4).</summary>
    Header,

    /// <summary>Header and payload up to the total length, or to the end of the buffer.</summary>
    Packet,
}

/// <summary>
/// A value type stored on the wire as exactly <paramref name="size"/> bytes, kept in memory in wire
/// order so a field of it is read and written as a raw copy (addresses).
/// </summary>
[AttributeUsage(AttributeTargets.Struct, Inherited = false)]
public sealed class WireValueAttribute(int size) : Attribute
{
    /// <summary>Size on the wire, in bytes.</summary>
    public int Size { get; } = size;
}

/// <summary>
/// The payload holds <c>CountField</c> records of <paramref name="recordType"/> laid end to end
/// (IGMPv3 group records, MLDv2 address records); the generator emits <c>EnumerateRecords()</c>.
/// </summary>
[AttributeUsage(AttributeTargets.Struct, Inherited = false)]
public sealed class RecordsAttribute(Type recordType, string countField) : Attribute
{
    /// <summary>The record view type, itself a <see cref="WireHeaderAttribute"/> struct.</summary>
    public Type RecordType { get; } = recordType;

    /// <summary>The property holding the number of records.</summary>
    public string CountField { get; } = countField;
}
