using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Dataplane.Wire;

/// <summary>An IPv6 address, kept in wire order.</summary>
[WireValue(16)]
[StructLayout(LayoutKind.Sequential, Size = 16)]
public readonly struct Ipv6Address : IEquatable<Ipv6Address>, ISpanFormattable
{
    private readonly ulong _high;
    private readonly ulong _low;

    /// <summary>Size on the wire in bytes.</summary>
    public const int Length = 16;

    private static readonly System.Buffers.SearchValues<char> TextCharacters = System.Buffers.SearchValues.Create("0123456789abcdefABCDEF:.");

    /// <summary>The unspecified address ::.</summary>
    public static Ipv6Address Any => default;

    /// <summary>Reads an address from the first sixteen bytes of <paramref name="source"/>.</summary>
    public Ipv6Address(ReadOnlySpan<byte> source) => this = MemoryMarshal.Read<Ipv6Address>(source[..Length]);

    /// <summary>Writes the sixteen bytes to <paramref name="destination"/>.</summary>
    public void CopyTo(Span<byte> destination) => MemoryMarshal.Write(destination[..Length], in this);

    /// <summary>Byte <paramref name="index"/> in wire order.</summary>
    public byte this[int index]
    {
        get
        {
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)index, (uint)Length, nameof(index));
            return MemoryMarshal.AsBytes(new ReadOnlySpan<Ipv6Address>(in this))[index];
        }
    }

    /// <summary>The IPv4-mapped IPv6 address of <paramref name="address"/>, ::ffff:a.b.c.d (RFC 4291 2.5.5.2).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public static Ipv6Address MapIpv4(Ipv4Address address)
    {
        Span<byte> b = stackalloc byte[Length];
        b[..10].Clear();
        b[10] = 0xFF;
        b[11] = 0xFF;
        address.CopyTo(b[12..]);
        return new Ipv6Address(b);
    }

    /// <summary>The solicited-node multicast group of <paramref name="address"/> (RFC 4291 2.7.1): ff02::1:ff and its low 24 bits.</summary>
    public static Ipv6Address SolicitedNode(in Ipv6Address address)
    {
        Span<byte> b = stackalloc byte[Length];
        b.Clear();
        b[0] = 0xFF;
        b[1] = 0x02;
        b[11] = 0x01;
        b[12] = 0xFF;
        b[13] = address[13];
        b[14] = address[14];
        b[15] = address[15];
        return new Ipv6Address(b);
    }

    /// <summary>fe80::/64 with the modified EUI-64 interface identifier of <paramref name="mac"/> (RFC 4291 appendix A).</summary>
    public static Ipv6Address LinkLocal(MacAddress mac)
    {
        Span<byte> m = stackalloc byte[MacAddress.Length];
        mac.CopyTo(m);
        Span<byte> b = stackalloc byte[Length];
        b.Clear();
        b[0] = 0xFE;
        b[1] = 0x80;
        b[8] = (byte)(m[0] ^ 0x02); // the universal/local bit, inverted
        b[9] = m[1];
        b[10] = m[2];
        b[11] = 0xFF;
        b[12] = 0xFE;
        b[13] = m[3];
        b[14] = m[4];
        b[15] = m[5];
        return new Ipv6Address(b);
    }

    /// <summary>::.</summary>
    public bool IsUnspecified => _high == 0 && _low == 0;

    // The predicates below run per packet: they read the two words (bytes in wire order) with no
    // bounds check and are inlined, as a NativeAOT build has no profile to find them hot.

    /// <summary>ff00::/8.</summary>
    public bool IsMulticast
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Byte(0) == 0xFF;
    }

    /// <summary>fe80::/10.</summary>
    public bool IsLinkLocal
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Byte(0) == 0xFE && (Byte(1) & 0xC0) == 0x80;
    }

    /// <summary>::1.</summary>
    public bool IsLoopback
    {
        // The low word holds bytes 8-15 in wire order: ::1 has only byte 15 set.
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => _high == 0 && _low == (BitConverter.IsLittleEndian ? 0x0100_0000_0000_0000UL : 1UL);
    }

    // Byte index (below 16) in wire order, unchecked: for the constant indexes above.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private byte Byte(int index) => Unsafe.Add(ref Unsafe.As<Ipv6Address, byte>(ref Unsafe.AsRef(in this)), index);

    /// <summary>Parses the text forms of RFC 4291 2.2, without a zone index.</summary>
    public static bool TryParse(ReadOnlySpan<char> text, out Ipv6Address address)
    {
        address = default;
        // Only hex digits, colons and the dots of an embedded IPv4 address: IPAddress would also take
        // a zone index, a bracketed URI host and a port, none of which is an address.
        if (text.IsEmpty || text.ContainsAnyExcept(TextCharacters) || !IPAddress.TryParse(text, out IPAddress? ip) || ip.AddressFamily != AddressFamily.InterNetworkV6)
            return false;
        Span<byte> b = stackalloc byte[Length];
        if (!ip.TryWriteBytes(b, out _))
            return false;
        address = new Ipv6Address(b);
        return true;
    }

    /// <inheritdoc/>
    public bool Equals(Ipv6Address other) => _high == other._high && _low == other._low;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is Ipv6Address a && Equals(a);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(_high, _low);

    /// <summary>Equality.</summary>
    public static bool operator ==(Ipv6Address a, Ipv6Address b) => a.Equals(b);

    /// <summary>Inequality.</summary>
    public static bool operator !=(Ipv6Address a, Ipv6Address b) => !a.Equals(b);

    /// <inheritdoc/>
    public bool TryFormat(Span<char> destination, out int charsWritten, ReadOnlySpan<char> format, IFormatProvider? provider)
        => new IPAddress(MemoryMarshal.AsBytes(new ReadOnlySpan<Ipv6Address>(in this))).TryFormat(destination, out charsWritten);

    /// <inheritdoc/>
    public string ToString(string? format, IFormatProvider? formatProvider) => ToString();

    /// <summary>The RFC 5952 canonical text form.</summary>
    public override string ToString() => new IPAddress(MemoryMarshal.AsBytes(new ReadOnlySpan<Ipv6Address>(in this))).ToString();
}
