using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Dataplane.Wire;

/// <summary>
/// The Internet checksum (RFC 1071): the 16-bit one's complement of the one's complement sum of
/// 16-bit words. Sums are carried as <see cref="ulong"/> partial sums in network word order so
/// that pieces (pseudo-header, header, payload) can be added before the final fold.
/// </summary>
public static class InternetChecksum
{
    /// <summary>
    /// Stores <paramref name="checksum"/> in the two bytes of <paramref name="field"/>, in network
    /// order: for a checksum field known by its position only (the one a driver's offload request
    /// names, virtio-net's csum_offset), where no header view applies.
    /// </summary>
    public static void Store(Span<byte> field, ushort checksum) => BinaryPrimitives.WriteUInt16BigEndian(field, checksum);

    /// <summary>
    /// Adds the bytes of <paramref name="data"/> to <paramref name="sum"/>, as big-endian 16-bit
    /// words; an odd last byte is padded with zero (RFC 1071 4.1). <paramref name="data"/> must start
    /// at an even offset of the checksummed message.
    /// </summary>
    public static ulong Add(ulong sum, ReadOnlySpan<byte> data)
    {
        // RFC 1071 2(B): the sum is independent of byte order, so add native-order 32-bit words
        // into 64-bit lanes (no carry can be lost below 2^32 words) and swap once at the end.
        ref byte p = ref MemoryMarshal.GetReference(data);
        nuint length = (nuint)data.Length;
        nuint i = 0;
        ulong acc = 0;

        if (Vector256.IsHardwareAccelerated && length >= 64)
        {
            Vector256<ulong> a0 = Vector256<ulong>.Zero, a1 = Vector256<ulong>.Zero;
            for (; i + 32 <= length; i += 32)
            {
                var (lo, hi) = Vector256.Widen(Vector256.LoadUnsafe(ref Unsafe.As<byte, uint>(ref Unsafe.Add(ref p, i))));
                a0 += lo;
                a1 += hi;
            }
            acc = Vector256.Sum(a0 + a1);
        }
        for (; i + 8 <= length; i += 8)
        {
            ulong v = Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref p, i));
            acc += (v & 0xFFFF_FFFF) + (v >> 32);
        }
        if (i + 4 <= length)
        {
            acc += Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref p, i));
            i += 4;
        }
        if (i + 2 <= length)
        {
            acc += Unsafe.ReadUnaligned<ushort>(ref Unsafe.Add(ref p, i));
            i += 2;
        }
        if (i < length)
        {
            // The odd byte is the high byte of a big-endian word: in native order on a
            // little-endian machine that is the low byte.
            acc += BitConverter.IsLittleEndian ? Unsafe.Add(ref p, i) : (uint)Unsafe.Add(ref p, i) << 8;
        }

        ushort folded = (ushort)FoldToUInt16(acc);
        return sum + (BitConverter.IsLittleEndian ? BinaryPrimitives.ReverseEndianness(folded) : folded);
    }

    /// <summary>Adds a 16-bit word, in host order, to a partial sum.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Add(ulong sum, ushort word) => sum + word;

    /// <summary>Adds a 32-bit value, in host order, as two 16-bit words.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Add(ulong sum, uint value) => sum + (value >> 16) + (value & 0xFFFF);

    /// <summary>Folds a partial sum to 16 bits with end-around carry.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint FoldToUInt16(ulong sum)
    {
        sum = (sum & 0xFFFF_FFFF) + (sum >> 32);
        sum = (sum & 0xFFFF_FFFF) + (sum >> 32);
        uint s = (uint)sum;
        s = (s & 0xFFFF) + (s >> 16);
        s = (s & 0xFFFF) + (s >> 16);
        return s;
    }

    /// <summary>The checksum field value for a partial sum: the one's complement of its fold.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort Finish(ulong sum) => (ushort)~FoldToUInt16(sum);

    /// <summary>The checksum of <paramref name="data"/>, in host order, ready to be written big-endian.</summary>
    public static ushort Compute(ReadOnlySpan<byte> data) => Finish(Add(0, data));

    /// <summary>True when <paramref name="data"/>, checksum field included, sums to 0xFFFF (RFC 1071 1(3)).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool IsValid(ReadOnlySpan<byte> data)
    {
        // An IPv4 header without options, checked once a forwarded packet: five 32-bit words added
        // in native order, no byte swap, where the general sum cost about three times the
        // instructions. Byte order does not matter (RFC 1071 2(B)): swapping the bytes of every word
        // multiplies the sum by 256 modulo 0xFFFF, and 256 has an inverse there, so the sum is a
        // multiple of 0xFFFF in one order exactly when it is in the other.
        if (data.Length == 20)
        {
            ref byte p = ref MemoryMarshal.GetReference(data);
            ulong sum = (ulong)Unsafe.ReadUnaligned<uint>(ref p)
                + Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref p, 4))
                + Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref p, 8))
                + Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref p, 12))
                + Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref p, 16));
            // Folding with end-around carry keeps a sum's value modulo 0xFFFF (2^16 = 1 there) and
            // never makes 0 of a sum that is not 0: the fold is 0xFFFF exactly when the sum is a
            // non-zero multiple of 0xFFFF, which a multiply by the reciprocal tells in fewer
            // instructions than the four folds.
            return sum != 0 && sum % 0xFFFF == 0;
        }
        return FoldToUInt16(Add(0, data)) == 0xFFFF;
    }

    /// <summary>The partial sum of the IPv4 pseudo-header (RFC 768, RFC 9293 3.1).</summary>
    public static ulong PseudoHeaderSum(Ipv4Address source, Ipv4Address destination, byte protocol, int length)
        => Add(Add(Add(0, source.ToUInt32()), destination.ToUInt32()), (uint)protocol + (uint)length);

    /// <summary>The partial sum of the IPv6 pseudo-header (RFC 8200 8.1).</summary>
    public static ulong PseudoHeaderSum(in Ipv6Address source, in Ipv6Address destination, byte protocol, int length)
    {
        ulong sum = Add(0, MemoryMarshal.AsBytes(new ReadOnlySpan<Ipv6Address>(in source)));
        sum = Add(sum, MemoryMarshal.AsBytes(new ReadOnlySpan<Ipv6Address>(in destination)));
        return Add(Add(sum, (uint)length), (uint)protocol);
    }

    /// <summary>
    /// RFC 1624 eqn. 3: the checksum after one 16-bit word of the covered data changes from
    /// <paramref name="oldWord"/> to <paramref name="newWord"/>, without summing the data again:
    /// HC' = ~(~HC + ~m + m').
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort Update(ushort checksum, ushort oldWord, ushort newWord)
        => (ushort)~FoldToUInt16((uint)(ushort)~checksum + (uint)(ushort)~oldWord + newWord);

    /// <summary>RFC 1624 eqn. 3 for a 32-bit value (an IPv4 address) that changed.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort Update(ushort checksum, uint oldValue, uint newValue)
        => (ushort)~FoldToUInt16((uint)(ushort)~checksum
            + (uint)(ushort)~(oldValue >> 16) + (uint)(ushort)~oldValue
            + (newValue >> 16) + (newValue & 0xFFFF));

    /// <summary>RFC 1624 for a run of bytes that changed in place, starting at an even offset.</summary>
    public static ushort Update(ushort checksum, ReadOnlySpan<byte> oldBytes, ReadOnlySpan<byte> newBytes)
    {
        // ~m summed is the complement of sum(m): HC' = ~(~HC + ~sum(m) + sum(m')).
        uint oldSum = FoldToUInt16(Add(0, oldBytes));
        uint newSum = FoldToUInt16(Add(0, newBytes));
        return (ushort)~FoldToUInt16((uint)(ushort)~checksum + (uint)(ushort)~oldSum + newSum);
    }
}
