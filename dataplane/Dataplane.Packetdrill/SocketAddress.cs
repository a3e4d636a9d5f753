using System.Buffers.Binary;
using Dataplane.Stack.Transport;
using Dataplane.Wire;

namespace Dataplane.Packetdrill;

/// <summary>
/// <c>struct sockaddr_in</c> and <c>struct sockaddr_in6</c> as packetdrill passes them (Linux
/// x86-64): family in host order, port and address in network order.
/// </summary>
internal static class SocketAddress
{
    /// <summary>AF_INET.</summary>
    public const int AfInet = 2;

    /// <summary>AF_INET6.</summary>
    public const int AfInet6 = 10;

    /// <summary>sizeof(struct sockaddr_in).</summary>
    public const int Ipv4Length = 16;

    /// <summary>sizeof(struct sockaddr_in6).</summary>
    public const int Ipv6Length = 28;

    private const int FamilyOffset = 0;
    private const int PortOffset = 2;
    private const int Ipv4AddressOffset = 4;
    private const int Ipv6AddressOffset = 8;

    /// <summary>Reads an endpoint of the family <paramref name="ipv6"/> names; -errno when the bytes are too few or of another family.</summary>
    public static int TryRead(ReadOnlySpan<byte> sockaddr, bool ipv6, out InetEndpoint endpoint)
    {
        endpoint = InetEndpoint.Any(ipv6);
        if (sockaddr.Length < 2)
            return -LinuxErrno.EINVAL;
        int family = BinaryPrimitives.ReadUInt16LittleEndian(sockaddr[FamilyOffset..]);
        if (family != (ipv6 ? AfInet6 : AfInet))
            return -LinuxErrno.EAFNOSUPPORT;
        if (sockaddr.Length < (ipv6 ? Ipv6Length : Ipv4Length))
            return -LinuxErrno.EINVAL;
        ushort port = BinaryPrimitives.ReadUInt16BigEndian(sockaddr[PortOffset..]);
        endpoint = ipv6
            ? InetEndpoint.Ipv6(new Ipv6Address(sockaddr.Slice(Ipv6AddressOffset, Ipv6Address.Length)), port)
            : InetEndpoint.Ipv4(new Ipv4Address(sockaddr.Slice(Ipv4AddressOffset, Ipv4Address.Length)), port);
        return 0;
    }

    /// <summary>
    /// Writes <paramref name="endpoint"/> into <paramref name="into"/>, cut to its length as the
    /// kernel cuts it; returns the full length, which the caller reports in its length argument.
    /// </summary>
    public static int Write(in InetEndpoint endpoint, Span<byte> into)
    {
        int length = endpoint.IsIpv6 ? Ipv6Length : Ipv4Length;
        Span<byte> full = stackalloc byte[Ipv6Length];
        full.Clear();
        BinaryPrimitives.WriteUInt16LittleEndian(full[FamilyOffset..], (ushort)(endpoint.IsIpv6 ? AfInet6 : AfInet));
        BinaryPrimitives.WriteUInt16BigEndian(full[PortOffset..], endpoint.Port);
        if (endpoint.IsIpv6)
            endpoint.Address.CopyTo(full[Ipv6AddressOffset..]);
        else
            endpoint.Address4.CopyTo(full[Ipv4AddressOffset..]);
        full[..Math.Min(length, into.Length)].CopyTo(into);
        return length;
    }
}
