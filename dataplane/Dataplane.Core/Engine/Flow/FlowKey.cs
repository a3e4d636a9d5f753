using System.Runtime.InteropServices;
using Dataplane.Wire;

namespace Dataplane.Engine;

/// <summary>
/// What identifies a flow for steering and lookup: addresses, protocol and, for TCP and UDP
/// datagrams that carry them, ports. IPv4 addresses are held in their IPv4-mapped IPv6 form
/// (RFC 4291 2.5.5.2) so that both families compare and copy alike; <see cref="IsIpv6"/> keeps the
/// families apart.
/// </summary>
/// <remarks>
/// A fragment carries no ports but in its first piece, so every fragment is keyed on its addresses
/// alone: all pieces of a datagram then reach the same worker, which is what NICs do too (RSS
/// hashes a fragment with the 2-tuple hash type).
/// </remarks>
[StructLayout(LayoutKind.Auto)]
internal readonly struct FlowKey : IEquatable<FlowKey>
{
    // Extension headers walked before giving up and keying on addresses; real traffic has one or two.
    private const int MaxExtensionHeaders = 8;

    private readonly Ipv6Address _source;
    private readonly Ipv6Address _destination;

    private FlowKey(in Ipv6Address source, in Ipv6Address destination, IpProtocol protocol, bool isIpv6, bool hasPorts, ushort sourcePort, ushort destinationPort)
    {
        _source = source;
        _destination = destination;
        Protocol = protocol;
        IsIpv6 = isIpv6;
        HasPorts = hasPorts;
        SourcePort = sourcePort;
        DestinationPort = destinationPort;
    }

    /// <summary>True for an IPv6 flow, false for IPv4.</summary>
    public bool IsIpv6 { get; }

    /// <summary>The transport protocol (for IPv6, the header after any extension headers walked).</summary>
    public IpProtocol Protocol { get; }

    /// <summary>True when the ports were read from a TCP or UDP header: the 4-tuple hash applies.</summary>
    public bool HasPorts { get; }

    /// <summary>Source port, or 0 when <see cref="HasPorts"/> is false.</summary>
    public ushort SourcePort { get; }

    /// <summary>Destination port, or 0 when <see cref="HasPorts"/> is false.</summary>
    public ushort DestinationPort { get; }

    /// <summary>The source address of an IPv6 flow, or the IPv4-mapped form of an IPv4 one.</summary>
    public Ipv6Address Source => _source;

    /// <summary>The destination address of an IPv6 flow, or the IPv4-mapped form of an IPv4 one.</summary>
    public Ipv6Address Destination => _destination;

    /// <summary>The source address of an IPv4 flow.</summary>
    public Ipv4Address SourceV4 => new(MemoryMarshal.AsBytes(new ReadOnlySpan<Ipv6Address>(in _source))[12..]);

    /// <summary>The destination address of an IPv4 flow.</summary>
    public Ipv4Address DestinationV4 => new(MemoryMarshal.AsBytes(new ReadOnlySpan<Ipv6Address>(in _destination))[12..]);

    /// <summary>An IPv4 flow keyed on addresses and protocol alone.</summary>
    public static FlowKey Ipv4(Ipv4Address source, Ipv4Address destination, IpProtocol protocol)
        => new(Ipv6Address.MapIpv4(source), Ipv6Address.MapIpv4(destination), protocol, isIpv6: false, hasPorts: false, 0, 0);

    /// <summary>An IPv4 flow with ports.</summary>
    public static FlowKey Ipv4(Ipv4Address source, Ipv4Address destination, IpProtocol protocol, ushort sourcePort, ushort destinationPort)
        => new(Ipv6Address.MapIpv4(source), Ipv6Address.MapIpv4(destination), protocol, isIpv6: false, hasPorts: true, sourcePort, destinationPort);

    /// <summary>An IPv6 flow keyed on addresses and protocol alone.</summary>
    public static FlowKey Ipv6(in Ipv6Address source, in Ipv6Address destination, IpProtocol protocol)
        => new(source, destination, protocol, isIpv6: true, hasPorts: false, 0, 0);

    /// <summary>An IPv6 flow with ports.</summary>
    public static FlowKey Ipv6(in Ipv6Address source, in Ipv6Address destination, IpProtocol protocol, ushort sourcePort, ushort destinationPort)
        => new(source, destination, protocol, isIpv6: true, hasPorts: true, sourcePort, destinationPort);

    /// <summary>The flow of a TCP segment over IPv4.</summary>
    public static FlowKey FromTcp(Ipv4Packet ip, TcpSegment tcp) => Ipv4(ip.Source, ip.Destination, IpProtocol.Tcp, tcp.SourcePort, tcp.DestinationPort);

    /// <summary>The flow of a UDP datagram over IPv4.</summary>
    public static FlowKey FromUdp(Ipv4Packet ip, UdpDatagram udp) => Ipv4(ip.Source, ip.Destination, IpProtocol.Udp, udp.SourcePort, udp.DestinationPort);

    /// <summary>The flow of a TCP segment over IPv6 (after whatever extension headers the caller walked).</summary>
    public static FlowKey FromTcp(Ipv6Packet ip, TcpSegment tcp) => Ipv6(ip.Source, ip.Destination, IpProtocol.Tcp, tcp.SourcePort, tcp.DestinationPort);

    /// <summary>The flow of a UDP datagram over IPv6 (after whatever extension headers the caller walked).</summary>
    public static FlowKey FromUdp(Ipv6Packet ip, UdpDatagram udp) => Ipv6(ip.Source, ip.Destination, IpProtocol.Udp, udp.SourcePort, udp.DestinationPort);

    /// <summary>
    /// The flow of an IPv4 packet: with ports for an unfragmented TCP or UDP packet, on addresses for
    /// fragments and other protocols. False when the TCP or UDP header is malformed (drop and count).
    /// </summary>
    public static bool TryCreate(Ipv4Packet ip, out FlowKey key)
    {
        IpProtocol protocol = ip.Protocol;
        bool fragment = ip.FragmentOffset != 0 || ip.HasFlags(Ipv4Flags.MoreFragments);
        if (!fragment && protocol == IpProtocol.Tcp)
            return TryTcp(ip.Payload, out ushort sp, out ushort dp) ? Set(out key, Ipv4(ip.Source, ip.Destination, protocol, sp, dp)) : Fail(out key);
        if (!fragment && protocol == IpProtocol.Udp)
            return TryUdp(ip.Payload, ip.PacketLength - ip.HeaderLength, out ushort sp, out ushort dp) ? Set(out key, Ipv4(ip.Source, ip.Destination, protocol, sp, dp)) : Fail(out key);
        key = Ipv4(ip.Source, ip.Destination, protocol);
        return true;
    }

    /// <summary>
    /// The flow of an IPv6 packet: hop-by-hop, routing and destination-options headers are skipped
    /// to reach TCP or UDP, as NDIS_HASH_TCP_IPV6 asks of a NIC; a fragment, an unknown header or a
    /// chain of more than eight is keyed on addresses. False when a header on the way is malformed.
    /// </summary>
    public static bool TryCreate(Ipv6Packet ip, out FlowKey key)
    {
        IpProtocol next = ip.NextHeader;
        Span<byte> rest = ip.Payload;
        for (int walked = 0; walked <= MaxExtensionHeaders; walked++)
        {
            switch (next)
            {
                case IpProtocol.Tcp:
                    return TryTcp(rest, out ushort tsp, out ushort tdp) ? Set(out key, Ipv6(ip.Source, ip.Destination, next, tsp, tdp)) : Fail(out key);
                case IpProtocol.Udp:
                    return TryUdp(rest, ip.PacketLength - Ipv6Packet.FixedLength - (ip.Payload.Length - rest.Length), out ushort usp, out ushort udp) ? Set(out key, Ipv6(ip.Source, ip.Destination, next, usp, udp)) : Fail(out key);
                case IpProtocol.HopByHop:
                    if (!Ipv6HopByHopHeader.TryCreate(rest, out var hopByHop))
                        return Fail(out key);
                    next = hopByHop.NextHeader;
                    rest = rest[hopByHop.HeaderLength..];
                    break;
                case IpProtocol.Ipv6DestinationOptions:
                    if (!Ipv6DestinationOptionsHeader.TryCreate(rest, out var options))
                        return Fail(out key);
                    next = options.NextHeader;
                    rest = rest[options.HeaderLength..];
                    break;
                case IpProtocol.Ipv6Routing:
                    if (!Ipv6RoutingHeader.TryCreate(rest, out var routing))
                        return Fail(out key);
                    next = routing.NextHeader;
                    rest = rest[routing.HeaderLength..];
                    break;
                case IpProtocol.Ipv6Fragment:
                    // Every piece, the first too, goes on addresses: the pieces must meet on one worker.
                    if (!Ipv6FragmentHeader.TryCreate(rest, out var fragment))
                        return Fail(out key);
                    key = Ipv6(ip.Source, ip.Destination, fragment.NextHeader);
                    return true;
                default:
                    key = Ipv6(ip.Source, ip.Destination, next);
                    return true;
            }
        }
        key = Ipv6(ip.Source, ip.Destination, next);
        return true;
    }

    /// <summary>The placement hash with <paramref name="hash"/> of a frame, as a worker computes it for a frame its driver did not hash: the symmetric Toeplitz hash of its flow, 0 for a frame that is not IP (ARP).</summary>
    internal static uint FrameHash(ToeplitzHash hash, Span<byte> frame, int frameLength)
    {
        if (!EthernetFrame.TryCreate(frame, out EthernetFrame eth))
            return 0;
        FlowKey key;
        int chainLength = frameLength - EthernetFrame.FixedLength;
        switch (eth.EtherType)
        {
            case EtherType.Ipv4 when Ipv4Packet.TryCreate(eth.Payload, chainLength, out Ipv4Packet ip, out _) && FlowKey.TryCreate(ip, out key):
            case EtherType.Ipv6 when Ipv6Packet.TryCreate(eth.Payload, chainLength, out Ipv6Packet ip6, out _) && FlowKey.TryCreate(ip6, out key):
                return key.Hash(hash);
            default:
                return 0;
        }
    }

    /// <summary>
    /// The RSS hash a NIC with the same key computes for this flow: the 4-tuple hash when there are
    /// ports, the 2-tuple hash otherwise.
    /// </summary>
    public uint Hash(ToeplitzHash toeplitz)
    {
        if (IsIpv6)
            return HasPorts ? toeplitz.HashIpv6(_source, _destination, SourcePort, DestinationPort) : toeplitz.HashIpv6(_source, _destination);
        return HasPorts ? toeplitz.HashIpv4(SourceV4, DestinationV4, SourcePort, DestinationPort) : toeplitz.HashIpv4(SourceV4, DestinationV4);
    }

    /// <summary>The same flow seen from the other end: addresses and ports swapped.</summary>
    public FlowKey Reversed() => new(_destination, _source, Protocol, IsIpv6, HasPorts, DestinationPort, SourcePort);

    /// <inheritdoc/>
    public bool Equals(FlowKey other)
        => _source == other._source && _destination == other._destination && Protocol == other.Protocol
        && IsIpv6 == other.IsIpv6 && HasPorts == other.HasPorts && SourcePort == other.SourcePort && DestinationPort == other.DestinationPort;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is FlowKey other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode()
        => HashCode.Combine(_source, _destination, Protocol, IsIpv6, HasPorts, SourcePort, DestinationPort);

    /// <summary>Equality.</summary>
    public static bool operator ==(FlowKey a, FlowKey b) => a.Equals(b);

    /// <summary>Inequality.</summary>
    public static bool operator !=(FlowKey a, FlowKey b) => !a.Equals(b);

    /// <summary>The flow as text, such as <c>tcp 10.0.0.1:1234 -> 10.0.0.2:80</c>.</summary>
    public override string ToString()
    {
        string protocol = Protocol switch { IpProtocol.Tcp => "tcp", IpProtocol.Udp => "udp", _ => $"proto {(byte)Protocol}" };
        string source = IsIpv6 ? (HasPorts ? $"[{_source}]" : _source.ToString()) : SourceV4.ToString();
        string destination = IsIpv6 ? (HasPorts ? $"[{_destination}]" : _destination.ToString()) : DestinationV4.ToString();
        return HasPorts ? $"{protocol} {source}:{SourcePort} -> {destination}:{DestinationPort}" : $"{protocol} {source} -> {destination}";
    }

    // Only the ports are needed to steer, but the views check the whole header once, as the owner will.
    private static bool TryTcp(Span<byte> payload, out ushort sourcePort, out ushort destinationPort)
    {
        bool ok = TcpSegment.TryCreate(payload, out var tcp);
        (sourcePort, destinationPort) = ok ? (tcp.SourcePort, tcp.DestinationPort) : ((ushort)0, (ushort)0);
        return ok;
    }

    // available: the bytes of the IP payload from here on, which pass the span's end in the first buffer of a chain.
    private static bool TryUdp(Span<byte> payload, int available, out ushort sourcePort, out ushort destinationPort)
    {
        bool ok = UdpDatagram.TryCreate(payload, available, out var udp, out _);
        (sourcePort, destinationPort) = ok ? (udp.SourcePort, udp.DestinationPort) : ((ushort)0, (ushort)0);
        return ok;
    }

    private static bool Set(out FlowKey key, FlowKey value)
    {
        key = value;
        return true;
    }

    private static bool Fail(out FlowKey key)
    {
        key = default;
        return false;
    }
}
