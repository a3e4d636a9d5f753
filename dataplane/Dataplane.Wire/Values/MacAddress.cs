using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Dataplane.Wire;

/// <summary>A 48-bit IEEE 802 MAC address, kept in wire order.</summary>
[WireValue(6)]
[StructLayout(LayoutKind.Sequential, Pack = 1, Size = 6)]
public readonly struct MacAddress : IEquatable<MacAddress>, ISpanFormattable
{
    private readonly uint _high;
    private readonly ushort _low;

    /// <summary>Size on the wire in bytes.</summary>
    public const int Length = 6;

    /// <summary>ff:ff:ff:ff:ff:ff.</summary>
    public static MacAddress Broadcast => new(0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF);

    // The first four bytes and the last two, as they lie in memory (wire order).
    private MacAddress(uint high, ushort low)
    {
        _high = high;
        _low = low;
    }

    /// <summary>Builds an address from its six bytes in wire order.</summary>
    public MacAddress(byte b0, byte b1, byte b2, byte b3, byte b4, byte b5)
    {
        Span<byte> b = [b0, b1, b2, b3, b4, b5];
        this = MemoryMarshal.Read<MacAddress>(b);
    }

    /// <summary>Reads an address from the first six bytes of <paramref name="source"/>.</summary>
    public MacAddress(ReadOnlySpan<byte> source) => this = MemoryMarshal.Read<MacAddress>(source[..Length]);

    /// <summary>Writes the six bytes to <paramref name="destination"/>.</summary>
    public void CopyTo(Span<byte> destination) => MemoryMarshal.Write(destination[..Length], in this);

    /// <summary>The address as a 48-bit number, first byte most significant.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong ToUInt64() => (ulong)BigEndian(_high) << 16 | BigEndian(_low);

    /// <summary>The address from a 48-bit number, most significant byte first.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static MacAddress FromUInt64(ulong value) => new(BigEndian((uint)(value >> 16)), BigEndian((ushort)value));

    /// <summary>The group bit (I/G) is set: multicast or broadcast.</summary>
    public bool IsMulticast
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => (_high & (BitConverter.IsLittleEndian ? 1u : 0x0100_0000u)) != 0; // the first byte's low bit
    }

    /// <summary>
    /// The address as one number of 48 bits, two addresses being equal exactly when these are: one
    /// compare where the hot path asks. On a little-endian machine these are the six bytes as they
    /// lie in a frame, so writing one back needs no byte swap; it is not the address's value
    /// (<see cref="ToUInt64"/>), which reads the first byte as the most significant.
    /// </summary>
    public ulong Bits
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => _high | (ulong)_low << 32;
    }

    /// <summary>The address whose <see cref="Bits"/> are the low 48 bits of <paramref name="bits"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static MacAddress FromBits(ulong bits) => new((uint)bits, (ushort)(bits >> 32));

    /// <summary>The address is ff:ff:ff:ff:ff:ff.</summary>
    public bool IsBroadcast => _high == uint.MaxValue && _low == ushort.MaxValue;

    /// <summary>Parses six hexadecimal pairs separated by ':' or '-'.</summary>
    public static bool TryParse(ReadOnlySpan<char> text, out MacAddress address)
    {
        address = default;
        if (text.Length != 17)
            return false;
        Span<byte> b = stackalloc byte[Length];
        for (int i = 0; i < Length; i++)
        {
            if (i > 0 && text[i * 3 - 1] is not (':' or '-'))
                return false;
            if (!byte.TryParse(text.Slice(i * 3, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out b[i]))
                return false;
        }
        address = new MacAddress(b);
        return true;
    }

    /// <inheritdoc/>
    public bool Equals(MacAddress other) => _high == other._high && _low == other._low;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is MacAddress m && Equals(m);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(_high, _low);

    /// <summary>Equality.</summary>
    public static bool operator ==(MacAddress a, MacAddress b) => a.Equals(b);

    /// <summary>Inequality.</summary>
    public static bool operator !=(MacAddress a, MacAddress b) => !a.Equals(b);

    /// <inheritdoc/>
    public bool TryFormat(Span<char> destination, out int charsWritten, ReadOnlySpan<char> format, IFormatProvider? provider)
    {
        charsWritten = 0;
        if (destination.Length < 17)
            return false;
        ulong v = ToUInt64();
        for (int i = 0; i < Length; i++)
        {
            byte b = (byte)(v >> (40 - 8 * i));
            if (i > 0)
                destination[charsWritten++] = ':';
            destination[charsWritten++] = HexDigit(b >> 4);
            destination[charsWritten++] = HexDigit(b & 0xF);
        }
        return true;
    }

    private static char HexDigit(int v) => (char)(v < 10 ? '0' + v : 'a' + v - 10);

    /// <inheritdoc/>
    public string ToString(string? format, IFormatProvider? formatProvider) => ToString();

    /// <summary>Lower-case, colon-separated form.</summary>
    public override string ToString()
    {
        Span<char> s = stackalloc char[17];
        TryFormat(s, out int n, default, null);
        return new string(s[..n]);
    }

    // A value of the first four (last two) bytes read as a big-endian number, or the other way: the
    // fields hold the bytes as they lie in memory, which on a little-endian machine is swapped.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint BigEndian(uint v) => BitConverter.IsLittleEndian ? BinaryPrimitives.ReverseEndianness(v) : v;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ushort BigEndian(ushort v) => BitConverter.IsLittleEndian ? BinaryPrimitives.ReverseEndianness(v) : v;
}
