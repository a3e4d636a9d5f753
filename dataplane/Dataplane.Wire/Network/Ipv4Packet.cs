using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Dataplane.Wire;

/// <summary>Flags of the IPv4 header (RFC 791 3.1).</summary>
[Flags]
public enum Ipv4Flags : byte
{
    /// <summary>No flag set.</summary>
    None = 0,

    /// <summary>More fragments follow.</summary>
    MoreFragments = 1,

    /// <summary>Do not fragment.</summary>
    DontFragment = 2,

    /// <summary>Reserved, must be zero (RFC 3514 aside).</summary>
    Reserved = 4,
}

/// <summary>An IPv4 header with its options (RFC 791 3.1).</summary>
[WireHeader(20)]
[HeaderLength(nameof(Ihl), Unit = 4)]
[TotalLength(nameof(TotalLength))]
[Options(OptionFormat.KindLength)]
public readonly ref partial struct Ipv4Packet
{
    /// <summary>Version, 4.</summary>
    [Bits(0, 4), Expect(4)] public partial byte Version { get; set; }

    /// <summary>Internet header length in 32-bit words, 5 to 15.</summary>
    [Bits(4, 4)] public partial byte Ihl { get; set; }

    /// <summary>Differentiated services code point, RFC 2474.</summary>
    [Bits(8, 6)] public partial byte Dscp { get; set; }

    /// <summary>Explicit congestion notification, RFC 3168.</summary>
    [Bits(14, 2)] public partial byte Ecn { get; set; }

    /// <summary>Length of header and payload in bytes.</summary>
    [Field(2)] public partial ushort TotalLength { get; set; }

    /// <summary>Identification, for reassembly.</summary>
    [Field(4)] public partial ushort Identification { get; set; }

    /// <summary>Reserved, don't-fragment and more-fragments flags.</summary>
    [Bits(48, 3)] public partial Ipv4Flags Flags { get; set; }

    /// <summary>Fragment offset in units of 8 bytes.</summary>
    [Bits(51, 13)] public partial ushort FragmentOffset { get; set; }

    /// <summary>Time to live.</summary>
    [Field(8)] public partial byte TimeToLive { get; set; }

    /// <summary>Protocol of the payload.</summary>
    [Field(9)] public partial IpProtocol Protocol { get; set; }

    /// <summary>Header checksum over the header and its options.</summary>
    [Field(10), Checksum(ChecksumScope.Header)] public partial ushort HeaderChecksum { get; set; }

    /// <summary>Source address.</summary>
    [Field(12)] public partial Ipv4Address Source { get; set; }

    /// <summary>Destination address.</summary>
    [Field(16)] public partial Ipv4Address Destination { get; set; }

    /// <summary>
    /// One hop less (RFC 1812 5.3.1), the checksum updated in a handful of instructions: the TTL is
    /// the high byte of its 16-bit word, so the word falls by 0x0100 and RFC 1624 eqn. 3's
    /// ~m + m' is the constant 0xFEFF: HC' = ~(~HC + 0xFEFF). Summed in the machine's byte order
    /// (RFC 1071 2(B)), where the constant reads 0xFFFE on a little-endian machine. The same checksum as
    /// <see cref="SetTimeToLiveUpdatingHeaderChecksum"/> gives, for a forwarder's one write per
    /// packet. The TTL must be at least 1.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void DecrementTimeToLive()
    {
        ref byte b = ref MemoryMarshal.GetReference(_buffer);
        ref byte checksum = ref Unsafe.Add(ref b, 10);
        uint sum = (uint)(ushort)~Unsafe.ReadUnaligned<ushort>(ref checksum) + (BitConverter.IsLittleEndian ? 0xFFFEu : 0xFEFFu);
        sum = (sum & 0xFFFF) + (sum >> 16); // at most 0x1FFFD before, 0xFFFE after: one fold
        Unsafe.WriteUnaligned(ref checksum, (ushort)~sum);
        Unsafe.Add(ref b, 8)--;
    }
}
