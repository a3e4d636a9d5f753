using System.Buffers.Binary;
using Dataplane.Stack.Ip;

namespace Dataplane.Stack.Transport.Tcp;

/// <summary>
/// SYN cookies (RFC 4987 3.6): when a listener's queue of connections in their handshake is full,
/// the SYN-ACK carries the connection's state in its sequence number instead of a socket holding
/// it, and the ACK that completes the handshake brings it back. A SYN flood then costs no memory.
/// </summary>
/// <remarks>
/// The ISS is <c>[5 bits: a counter of 64-second periods][3 bits: MSS index][24 bits: SipHash of
/// the four-tuple, the peer's ISN, the counter and the MSS index]</c>, as FreeBSD's syncookies lay
/// it out: a cookie is good for the period it was made in and the next (64 to 128 s), and a forger
/// must guess 24 bits. What the sequence number cannot hold, window scale and SACK-permitted, rides
/// in the low 6 bits of our timestamp when the peer uses timestamps, as Linux's cookie_init_timestamp
/// puts it; without timestamps a cookie connection has neither (RFC 4987 3.6's known cost).
/// </remarks>
internal readonly struct SynCookies(SipHash key)
{
    /// <summary>Nanoseconds of one cookie period.</summary>
    public const long Period = 64_000_000_000;

    /// <summary>The MSS values a cookie can carry (Linux's msstab, with IPv6's 1220 and more steps near 1500).</summary>
    public static ReadOnlySpan<ushort> MssTable => [536, 1220, 1300, 1360, 1400, 1440, 1452, 1460];

    /// <summary>The low bits of the timestamp value that carry the options.</summary>
    public const uint OptionBits = 0x3F;

    /// <summary>The ISS of a cookie SYN-ACK for the peer's SYN; <paramref name="mss"/> is rounded down to a value the table holds.</summary>
    public uint Make(in InetEndpoint local, in InetEndpoint remote, uint peerIsn, int mss, long now)
    {
        int index = 0;
        for (int i = MssTable.Length - 1; i > 0; i--)
        {
            if (MssTable[i] <= mss)
            {
                index = i;
                break;
            }
        }
        uint counter = (uint)(now / Period) & 0x1F;
        return counter << 27 | (uint)index << 24 | Mac(local, remote, peerIsn, counter, index);
    }

    /// <summary>
    /// Checks the cookie <paramref name="iss"/> (the ACK's acknowledgment number less one) of the
    /// peer whose ISN was <paramref name="peerIsn"/>; gives the MSS it carried.
    /// </summary>
    public bool TryCheck(in InetEndpoint local, in InetEndpoint remote, uint peerIsn, uint iss, long now, out int mss)
    {
        mss = 0;
        uint counter = iss >> 27;
        int index = (int)(iss >> 24 & 7);
        uint current = (uint)(now / Period) & 0x1F;
        // This period's or the last one's.
        if (counter != current && counter != ((current - 1) & 0x1F))
            return false;
        if ((iss & 0xFF_FFFF) != Mac(local, remote, peerIsn, counter, index))
            return false;
        mss = MssTable[index];
        return true;
    }

    /// <summary>The options a cookie connection keeps, in the low bits of our timestamp: the peer's window shift (15: none) and SACK-permitted.</summary>
    public static uint EncodeOptions(int? windowShift, bool sack) => (uint)(windowShift ?? 15) & 0xF | (sack ? 0x10u : 0);

    /// <summary>Reads what <see cref="EncodeOptions"/> wrote.</summary>
    public static (int? WindowShift, bool Sack) DecodeOptions(uint bits) => ((bits & 0xF) == 15 ? null : (int)(bits & 0xF), (bits & 0x10) != 0);

    private uint Mac(in InetEndpoint local, in InetEndpoint remote, uint peerIsn, uint counter, int index)
    {
        Span<byte> input = stackalloc byte[16 + 16 + 4 + 4 + 4];
        local.Address.CopyTo(input);
        remote.Address.CopyTo(input[16..]);
        BinaryPrimitives.WriteUInt32LittleEndian(input[32..], (uint)local.Port << 16 | remote.Port);
        BinaryPrimitives.WriteUInt32LittleEndian(input[36..], peerIsn);
        BinaryPrimitives.WriteUInt32LittleEndian(input[40..], counter << 8 | (uint)index | (local.IsIpv6 ? 0x8000u : 0));
        return (uint)key.Hash(input) & 0xFF_FFFF;
    }
}
