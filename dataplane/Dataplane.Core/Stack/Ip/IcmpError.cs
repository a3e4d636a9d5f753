using System.Buffers.Binary;
using Dataplane.Wire;

namespace Dataplane.Stack.Ip;

/// <summary>What an ICMP or ICMPv6 error says about a datagram this host sent.</summary>
internal enum IcmpErrorKind : byte
{
    /// <summary>Destination unreachable, any code but fragmentation needed.</summary>
    Unreachable,

    /// <summary>The datagram was too big for a link on the path: fragmentation needed and DF set (RFC 1191), or packet too big (RFC 8201).</summary>
    PacketTooBig,

    /// <summary>Time exceeded.</summary>
    TimeExceeded,

    /// <summary>Parameter problem.</summary>
    ParameterProblem,
}

/// <summary>
/// An ICMP error about a datagram this host sent, read from the part of it the error quotes
/// (RFC 792, RFC 4443 2.4(c)): the transport, its ports, and the four bytes after them (TCP's
/// sequence number), so that the transport can find the connection and check the error against
/// it (RFC 5927 4.1). The quoted source is ours, the quoted destination the peer.
/// </summary>
/// <param name="Kind">What went wrong.</param>
/// <param name="Code">The ICMP code.</param>
/// <param name="Mtu">For <see cref="IcmpErrorKind.PacketTooBig"/>: the MTU the error reports (0 when an old router left it out).</param>
/// <param name="Protocol">The quoted datagram's transport.</param>
/// <param name="Source">Its source: our address.</param>
/// <param name="Destination">Its destination: the peer.</param>
/// <param name="SourcePort">Its source port: ours.</param>
/// <param name="DestinationPort">Its destination port: the peer's.</param>
/// <param name="Sequence">The four bytes after the ports (TCP's sequence number).</param>
internal readonly record struct IcmpError(IcmpErrorKind Kind, byte Code, int Mtu, IpProtocol Protocol, InetAddress Source, InetAddress Destination, ushort SourcePort, ushort DestinationPort, uint Sequence)
{
    /// <summary>Reads the quote of an ICMPv4 error: an IPv4 header and at least 8 bytes of its payload; false when too little is quoted.</summary>
    public static bool TryQuote4(IcmpErrorKind kind, byte code, int mtu, ReadOnlySpan<byte> quoted, out IcmpError error)
    {
        error = default;
        if (quoted.Length < 20 || quoted[0] >> 4 != 4)
            return false;
        int headerLength = (quoted[0] & 0xF) * 4;
        if (headerLength < 20 || quoted.Length < headerLength + 8)
            return false;
        ReadOnlySpan<byte> transport = quoted[headerLength..];
        error = new IcmpError(kind, code, mtu, (IpProtocol)quoted[9],
            InetAddress.Ipv4(new Ipv4Address(quoted[12..])), InetAddress.Ipv4(new Ipv4Address(quoted[16..])),
            BinaryPrimitives.ReadUInt16BigEndian(transport), BinaryPrimitives.ReadUInt16BigEndian(transport[2..]),
            BinaryPrimitives.ReadUInt32BigEndian(transport[4..]));
        return true;
    }

    /// <summary>Reads the quote of an ICMPv6 error: an IPv6 header directly followed by the transport (no extension headers), 8 bytes of it at least.</summary>
    public static bool TryQuote6(IcmpErrorKind kind, byte code, int mtu, ReadOnlySpan<byte> quoted, out IcmpError error)
    {
        error = default;
        if (quoted.Length < 48 || quoted[0] >> 4 != 6)
            return false;
        ReadOnlySpan<byte> transport = quoted[40..];
        error = new IcmpError(kind, code, mtu, (IpProtocol)quoted[6],
            InetAddress.Ipv6(new Ipv6Address(quoted[8..])), InetAddress.Ipv6(new Ipv6Address(quoted[24..])),
            BinaryPrimitives.ReadUInt16BigEndian(transport), BinaryPrimitives.ReadUInt16BigEndian(transport[2..]),
            BinaryPrimitives.ReadUInt32BigEndian(transport[4..]));
        return true;
    }
}

/// <summary>
/// Where the ICMP layer hands the errors it receives about datagrams this host sent: the
/// dispatcher, which knows the transports (the ICMP layer never calls up). Errors are rare; the
/// interface call is not on any data path.
/// </summary>
internal interface IIcmpErrorSink
{
    /// <summary>An error about a datagram we sent, validated as ICMP (checksum, length).</summary>
    void OnIcmpError(in IcmpError error);
}
