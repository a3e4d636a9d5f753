using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Dataplane.Wire;

/// <summary>An IPv4 address, kept in wire order.</summary>
[WireValue(4)]
[StructLayout(LayoutKind.Sequential, Size = 4)]
public readonly struct Ipv4Address : IEquatable<Ipv4Address>, IComparable<Ipv4Address>, ISpanFormattable
{
    private readonly uint _wire;

    /// <summary>Size on the wire in bytes.</summary>
    public const int Length = 4;

    /// <summary>0.0.0.0.</summary>
    public static Ipv4Address Any => default;

    /// <summary>255.255.255.255.</summary>
    public static Ipv4Address Broadcast => FromUInt32(uint.MaxValue);

    private Ipv4Address(uint wire) => _wire = wire;

    /// <summary>Builds a.b.c.d.</summary>
    public Ipv4Address(byte a, byte b, byte c, byte d) : this((uint)(a << 24 | b << 16 | c << 8 | d), fromHost: true) { }

    private Ipv4Address(uint host, bool fromHost) => _wire = BitConverter.IsLittleEndian ? BinaryPrimitives.ReverseEndianness(host) : host;

    /// <summary>Reads an address from the first four bytes of <paramref name="source"/>.</summary>
    public Ipv4Address(ReadOnlySpan<byte> source) => _wire = MemoryMarshal.Read<uint>(source[..Length]);

    /// <summary>The address from a number, first byte most significant.</summary>
    public static Ipv4Address FromUInt32(uint value) => new(value, fromHost: true);

    /// <summary>The address as a number, first byte most significant.</summary>
    public uint ToUInt32() => BitConverter.IsLittleEndian ? BinaryPrimitives.ReverseEndianness(_wire) : _wire;

    /// <summary>Writes the four bytes to <paramref name="destination"/>.</summary>
    public void CopyTo(Span<byte> destination) => MemoryMarshal.Write(destination[..Length], in _wire);

    /// <summary>0.0.0.0.</summary>
    public bool IsUnspecified => _wire == 0;

    /// <summary>224.0.0.0/4.</summary>
    public bool IsMulticast => ToUInt32() >> 28 == 0xE;

    /// <summary>255.255.255.255.</summary>
    public bool IsBroadcast => _wire == uint.MaxValue;

    /// <summary>127.0.0.0/8.</summary>
    public bool IsLoopback => ToUInt32() >> 24 == 127;

    /// <summary>Parses strict dotted-quad notation: four decimal numbers 0 to 255, no leading zeros.</summary>
    public static bool TryParse(ReadOnlySpan<char> text, out Ipv4Address address)
    {
        address = default;
        uint value = 0;
        int part = 0;
        int digits = 0;
        uint current = 0;
        foreach (char c in text)
        {
            if (c == '.')
            {
                if (digits == 0 || part == 3)
                    return false;
                value = value << 8 | current;
                part++;
                digits = 0;
                current = 0;
            }
            else if ((uint)(c - '0') <= 9)
            {
                if (digits > 0 && current == 0)
                    return false; // leading zero: 010 is octal to some tools, so refuse it
                current = current * 10 + (uint)(c - '0');
                if (current > 255 || ++digits > 3)
                    return false;
            }
            else
            {
                return false;
            }
        }
        if (digits == 0 || part != 3)
            return false;
        address = FromUInt32(value << 8 | current);
        return true;
    }

    /// <inheritdoc/>
    public bool Equals(Ipv4Address other) => _wire == other._wire;

    /// <inheritdoc/>
    public int CompareTo(Ipv4Address other) => ToUInt32().CompareTo(other.ToUInt32());

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is Ipv4Address a && Equals(a);

    /// <inheritdoc/>
    public override int GetHashCode() => (int)_wire;

    /// <summary>Equality.</summary>
    public static bool operator ==(Ipv4Address a, Ipv4Address b) => a._wire == b._wire;

    /// <summary>Inequality.</summary>
    public static bool operator !=(Ipv4Address a, Ipv4Address b) => a._wire != b._wire;

    /// <inheritdoc/>
    public bool TryFormat(Span<char> destination, out int charsWritten, ReadOnlySpan<char> format, IFormatProvider? provider)
    {
        uint v = ToUInt32();
        return destination.TryWrite(provider, $"{v >> 24}.{(v >> 16) & 0xFF}.{(v >> 8) & 0xFF}.{v & 0xFF}", out charsWritten);
    }

    /// <inheritdoc/>
    public string ToString(string? format, IFormatProvider? formatProvider) => ToString();

    /// <summary>Dotted-quad form.</summary>
    public override string ToString()
    {
        Span<char> s = stackalloc char[15];
        TryFormat(s, out int n, default, null);
        return new string(s[..n]);
    }
}
