using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Dataplane.Wire;

namespace Dataplane.Stack.Routing;

/// <summary>
/// The 128 bits of an IPv6 address as two numbers, first byte most significant, so that a prefix
/// is the top bits and masking is two ANDs. A plain value with its own equality: a hash key that
/// never boxes.
/// </summary>
/// <param name="High">Bytes 0 to 7 of the address.</param>
/// <param name="Low">Bytes 8 to 15 of the address.</param>
internal readonly record struct Ipv6Key(ulong High, ulong Low)
{
    /// <summary>The key of <paramref name="address"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Ipv6Key From(in Ipv6Address address)
    {
        ReadOnlySpan<byte> b = MemoryMarshal.AsBytes(new ReadOnlySpan<Ipv6Address>(in address));
        return new(BinaryPrimitives.ReadUInt64BigEndian(b), BinaryPrimitives.ReadUInt64BigEndian(b[8..]));
    }

    /// <summary>The address this key holds.</summary>
    public Ipv6Address ToAddress()
    {
        Span<byte> b = stackalloc byte[Ipv6Address.Length];
        BinaryPrimitives.WriteUInt64BigEndian(b, High);
        BinaryPrimitives.WriteUInt64BigEndian(b[8..], Low);
        return new Ipv6Address(b);
    }

    /// <summary>The netmask of a prefix <paramref name="length"/>, 0 to 128.</summary>
    public static Ipv6Key Mask(int length) => new(
        length <= 0 ? 0 : length >= 64 ? ulong.MaxValue : ulong.MaxValue << (64 - length),
        length <= 64 ? 0 : length >= 128 ? ulong.MaxValue : ulong.MaxValue << (128 - length));

    /// <summary>The bits set in both.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Ipv6Key And(Ipv6Key mask) => new(High & mask.High, Low & mask.Low);

    /// <summary>True when <paramref name="network"/>/<paramref name="length"/> is a prefix: length 0 to 128, no bit set past it.</summary>
    public static bool IsPrefix(Ipv6Key network, int length)
        => (uint)length <= 128 && network.And(Mask(length)) == network;

    /// <summary>Byte-wise order, as addresses sort.</summary>
    public int CompareTo(Ipv6Key other) => High != other.High ? High.CompareTo(other.High) : Low.CompareTo(other.Low);

    /// <summary>
    /// A 64-bit hash whose top bits index a table (<see cref="Ipv6LpmTable"/> shifts them down):
    /// the halves folded by one multiply, then multiplied again (Fibonacci hashing). A product's
    /// top bits depend on every bit of the multiplicand, so prefixes that differ anywhere (the
    /// subnet bits of a /48 or /64, the host bits of a /128) spread over them. Two multiplies where
    /// splitmix64's finalizer, which mixes into the low bits, took three and three shifts.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong Hash() => (High * 0x9E3779B97F4A7C15UL ^ Low) * 0xBF58476D1CE4E5B9UL;
}
