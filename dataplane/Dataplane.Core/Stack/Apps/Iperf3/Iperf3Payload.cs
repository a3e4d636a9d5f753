using System.Buffers.Binary;

namespace Dataplane.Stack.Apps.Iperf3;

/// <summary>
/// What travels on iperf3's data streams: blocks of <c>len</c> bytes, random (readentropy) or, with
/// --repeating-payload, "0123456789" repeated (iperf_util.c fill_with_repeating_pattern); a UDP
/// block begins with a header of the send time and a sequence number (iperf_udp.c iperf_udp_send).
/// </summary>
public static class Iperf3Payload
{
    /// <summary>The UDP header with a 32-bit count: seconds, microseconds, count, all big-endian.</summary>
    public const int UdpHeaderLength32 = 12;

    /// <summary>The UDP header with a 64-bit count (--udp-counters-64bit).</summary>
    public const int UdpHeaderLength64 = 16;

    /// <summary>Offset of the send time's seconds.</summary>
    private const int SecondsOffset = 0;

    /// <summary>Offset of the send time's microseconds.</summary>
    private const int MicrosecondsOffset = 4;

    /// <summary>Offset of the sequence number.</summary>
    private const int CountOffset = 8;

    /// <summary>
    /// The datagram a client sends on a new UDP stream: iperf.h UDP_CONNECT_MSG 0x36373839 written
    /// as a host-order int, on the little-endian hosts iperf3 runs on the bytes "9876". The server
    /// reads four bytes and ignores them (iperf_udp_accept); only the peer's address matters.
    /// </summary>
    public static ReadOnlySpan<byte> UdpConnectMessage => "9876"u8;

    /// <summary>The server's answer: UDP_CONNECT_REPLY 0x39383736 as a little-endian int, "6789".</summary>
    public static ReadOnlySpan<byte> UdpConnectReply => "6789"u8;

    /// <summary>What servers before 3.10 answer: LEGACY_UDP_CONNECT_REPLY 987654321 as a little-endian int.</summary>
    public static ReadOnlySpan<byte> LegacyUdpConnectReply => [0xB1, 0x68, 0xDE, 0x3A];

    /// <summary>The byte a server answers a refused connection with: ACCESS_DENIED.</summary>
    public const byte AccessDeniedByte = unchecked((byte)Iperf3State.AccessDenied);

    /// <summary>The length of a UDP block's header for the counter width.</summary>
    public static int UdpHeaderLength(bool counters64Bit) => counters64Bit ? UdpHeaderLength64 : UdpHeaderLength32;

    /// <summary>Fills a block with "0123456789" repeated, as --repeating-payload does.</summary>
    public static void FillRepeating(Span<byte> block)
    {
        int digit = 0;
        for (int i = 0; i < block.Length; i++)
        {
            block[i] = (byte)('0' + digit);
            digit = digit == 9 ? 0 : digit + 1;
        }
    }

    /// <summary>Fills a block the way the parameters ask: the repeating pattern, or random bytes (iperf3 fills a stream's block once, at its creation).</summary>
    public static void Fill(Span<byte> block, bool repeating)
    {
        if (repeating)
            FillRepeating(block);
        else
            Native.Entropy.Fill(block);
    }

    /// <summary>
    /// Writes a UDP block's header: the send time as Unix seconds and microseconds (each truncated to
    /// 32 bits, as the C code's uint32_t does) and the sequence number, the first being 1. Returns
    /// the header's length; false-free: <paramref name="block"/> must hold it.
    /// </summary>
    public static int WriteUdpHeader(Span<byte> block, long unixMicroseconds, ulong sequence, bool counters64Bit)
    {
        BinaryPrimitives.WriteUInt32BigEndian(block[SecondsOffset..], unchecked((uint)(unixMicroseconds / 1_000_000)));
        BinaryPrimitives.WriteUInt32BigEndian(block[MicrosecondsOffset..], (uint)(unixMicroseconds % 1_000_000));
        if (counters64Bit)
        {
            BinaryPrimitives.WriteUInt64BigEndian(block[CountOffset..], sequence);
            return UdpHeaderLength64;
        }
        BinaryPrimitives.WriteUInt32BigEndian(block[CountOffset..], unchecked((uint)sequence));
        return UdpHeaderLength32;
    }

    /// <summary>Reads a UDP block's header; false when the datagram is shorter than it.</summary>
    public static bool TryReadUdpHeader(ReadOnlySpan<byte> datagram, bool counters64Bit, out uint seconds, out uint microseconds, out ulong sequence)
    {
        if (datagram.Length < UdpHeaderLength(counters64Bit))
        {
            seconds = microseconds = 0;
            sequence = 0;
            return false;
        }
        seconds = BinaryPrimitives.ReadUInt32BigEndian(datagram[SecondsOffset..]);
        microseconds = BinaryPrimitives.ReadUInt32BigEndian(datagram[MicrosecondsOffset..]);
        sequence = counters64Bit
            ? BinaryPrimitives.ReadUInt64BigEndian(datagram[CountOffset..])
            : BinaryPrimitives.ReadUInt32BigEndian(datagram[CountOffset..]);
        return true;
    }

    /// <summary>Whether <paramref name="reply"/> is a server's answer to <see cref="UdpConnectMessage"/>, current or legacy.</summary>
    public static bool IsUdpConnectReply(ReadOnlySpan<byte> reply) =>
        reply.Length == 4 && (reply.SequenceEqual(UdpConnectReply) || reply.SequenceEqual(LegacyUdpConnectReply));
}
