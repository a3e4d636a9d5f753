using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Dataplane.Wire;

namespace Dataplane.Engine;

/// <summary>
/// The Toeplitz hash of Microsoft's Receive Side Scaling specification ("RSS Hashing Functions",
/// NdisHashFunctionToeplitz), the hash NICs compute to pick a receive queue. Computed here so that
/// a flow the NIC did not hash (a host-backed port, a decapsulated packet, an outgoing connection)
/// lands on the same worker as if it had.
/// </summary>
/// <remarks>
/// The specification's definition walks the input bit by bit: for each 1 bit, XOR in the 32 key bits
/// that start at that bit position. That is linear over GF(2) in the input, so the contribution of
/// each input byte at each position is a function of the byte's value alone; the constructor
/// tabulates it (256 entries per input position) and a hash is one lookup and one XOR per byte.
/// The tables take 1 KiB per input byte: 12 KiB of them serve an IPv4 4-tuple, 36 KiB an IPv6 one.
/// One instance per key, shared read-only by every worker after construction.
/// </remarks>
internal sealed class ToeplitzHash
{
    /// <summary>Bytes of the key the RSS specification defines (320 bits).</summary>
    public const int KeyLength = 40;

    // Longer keys (E810 takes 52 bytes) only hash longer inputs; nothing here needs more than 256.
    internal const int MaxKeyLength = 256;

    private readonly byte[] _key;

    // _table[(position << 8) | value]: what byte `value` at input `position` XORs into the hash.
    private readonly uint[] _table;

    /// <summary>
    /// The key of Microsoft's RSS verification suite, which Windows, DPDK and most NIC drivers also
    /// use as their default ("Verifying the RSS Hash Calculation").
    /// </summary>
    public static ReadOnlySpan<byte> MicrosoftKey =>
    [
        0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0,
        0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30, 0xf2, 0x0c,
        0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
    ];

    /// <summary>
    /// 0x6d5a repeated: a key with a 16-bit period, so swapping source and destination (addresses
    /// shift by 32 or 128 bits, ports by 16) leaves the hash unchanged and both directions of a
    /// connection land on one worker (Woo and Park, "Scalable TCP Session Monitoring with Symmetric
    /// Receive-side Scaling", 2012). The price: the hash depends only on the 16-bit XOR fold of the
    /// tuple, which still spreads flows well over an indirection table of 128 entries.
    /// </summary>
    public static ReadOnlySpan<byte> SymmetricKey =>
    [
        0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
        0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
        0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
    ];

    /// <summary>Tabulates the hash for <paramref name="key"/>, at least <see cref="KeyLength"/> bytes.</summary>
    public ToeplitzHash(ReadOnlySpan<byte> key)
    {
        // At least 40 bytes, so every tuple of the specification (36 bytes at most) can be hashed
        // and the typed overloads below need no length check.
        if (key.Length < KeyLength || key.Length > MaxKeyLength)
            throw new ArgumentException($"an RSS key has {KeyLength} to {MaxKeyLength} bytes, not {key.Length}", nameof(key));
        _key = key.ToArray();
        MaxInputLength = key.Length - 4;
        _table = new uint[MaxInputLength << 8];
        for (int position = 0; position < MaxInputLength; position++)
        {
            // Input bit j of this byte (j = 0 the most significant) selects key bits
            // 8*position + j .. 8*position + j + 31: all lie in the 40 key bits from byte `position`.
            ulong window = 0;
            for (int b = 0; b < 5; b++)
                window = window << 8 | key[position + b];
            Span<uint> row = _table.AsSpan(position << 8, 256);
            for (int value = 1; value < 256; value++)
            {
                // Each value is a smaller value plus its lowest set bit, whose key window is one shift.
                int lowest = value & -value;
                int j = 7 - System.Numerics.BitOperations.Log2((uint)lowest);
                row[value] = row[value ^ lowest] ^ (uint)(window >> (8 - j));
            }
        }
    }

    /// <summary>A hash with <see cref="MicrosoftKey"/>.</summary>
    public static ToeplitzHash CreateMicrosoft() => new(MicrosoftKey);

    /// <summary>A hash with <see cref="SymmetricKey"/>: hash(a, b) equals hash(b, a).</summary>
    public static ToeplitzHash CreateSymmetric() => new(SymmetricKey);

    /// <summary>The key, as given.</summary>
    public ReadOnlySpan<byte> Key => _key;

    /// <summary>The longest input this key can hash: the key length less 4 bytes.</summary>
    public int MaxInputLength { get; }

    /// <summary>
    /// The hash of an arbitrary input of at most <see cref="MaxInputLength"/> bytes (the
    /// specification's ComputeHash). A longer input is a caller's bug, never packet data: it throws.
    /// </summary>
    public uint Hash(ReadOnlySpan<byte> input)
    {
        if ((uint)input.Length > (uint)MaxInputLength)
            ThrowInputTooLong(input.Length);
        ReadOnlySpan<uint> table = _table;
        uint hash = 0;
        for (int i = 0; i < input.Length; i++)
            hash ^= table[(i << 8) | input[i]];
        return hash;
    }

    /// <summary>The IPv4 2-tuple hash (NDIS_HASH_IPV4): source address, then destination address.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public uint HashIpv4(Ipv4Address source, Ipv4Address destination)
        => Word(source.ToUInt32(), 0) ^ Word(destination.ToUInt32(), 4);

    /// <summary>
    /// The IPv4 4-tuple hash (NDIS_HASH_TCP_IPV4, NDIS_HASH_UDP_IPV4): source address, destination
    /// address, source port, destination port, each in network order.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public uint HashIpv4(Ipv4Address source, Ipv4Address destination, ushort sourcePort, ushort destinationPort)
        => Word(source.ToUInt32(), 0) ^ Word(destination.ToUInt32(), 4) ^ Word((uint)sourcePort << 16 | destinationPort, 8);

    /// <summary>The IPv6 2-tuple hash (NDIS_HASH_IPV6): source address, then destination address.</summary>
    public uint HashIpv6(in Ipv6Address source, in Ipv6Address destination)
        => Address(source, 0) ^ Address(destination, 16);

    /// <summary>The IPv6 4-tuple hash (NDIS_HASH_TCP_IPV6, NDIS_HASH_UDP_IPV6): addresses, then ports.</summary>
    public uint HashIpv6(in Ipv6Address source, in Ipv6Address destination, ushort sourcePort, ushort destinationPort)
        => Address(source, 0) ^ Address(destination, 16) ^ Word((uint)sourcePort << 16 | destinationPort, 32);

    // Four input bytes, most significant first, at input positions position .. position + 3.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private uint Word(uint value, int position)
    {
        ReadOnlySpan<uint> table = _table;
        int row = position << 8;
        return table[row | (int)(value >> 24)]
            ^ table[(row + 256) | (int)((value >> 16) & 0xFF)]
            ^ table[(row + 512) | (int)((value >> 8) & 0xFF)]
            ^ table[(row + 768) | (int)(value & 0xFF)];
    }

    // Sixteen address bytes in wire order at input positions position .. position + 15.
    private uint Address(in Ipv6Address address, int position)
    {
        ReadOnlySpan<byte> bytes = MemoryMarshal.AsBytes(new ReadOnlySpan<Ipv6Address>(in address));
        ReadOnlySpan<uint> table = _table;
        uint hash = 0;
        int row = position << 8;
        for (int i = 0; i < bytes.Length; i++, row += 256)
            hash ^= table[row | bytes[i]];
        return hash;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowInputTooLong(int length)
        => throw new ArgumentException($"a {_key.Length}-byte key hashes at most {MaxInputLength} bytes, not {length}", "input");
}
