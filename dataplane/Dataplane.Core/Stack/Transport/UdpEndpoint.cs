using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Dataplane.Wire;

namespace Dataplane.Stack.Transport;

/// <summary>
/// An IPv4 or IPv6 address and a UDP port: one end of a datagram or of a socket. IPv4 addresses
/// are held in their IPv4-mapped IPv6 form (RFC 4291 2.5.5.2), as <see cref="Engine.FlowKey"/>
/// holds them, so both families compare, hash and copy alike; <see cref="IsIpv6"/> keeps the
/// families apart (an IPv4 endpoint never equals the IPv6 endpoint of its mapped address).
/// </summary>
internal readonly struct UdpEndpoint : IEquatable<UdpEndpoint>
{
    private readonly Ipv6Address _address;

    private UdpEndpoint(in Ipv6Address address, ushort port, bool isIpv6)
    {
        _address = address;
        Port = port;
        IsIpv6 = isIpv6;
    }

    /// <summary>True for an IPv6 endpoint, false for IPv4.</summary>
    public bool IsIpv6 { get; }

    /// <summary>The port; 0 means any (a socket not bound yet).</summary>
    public ushort Port { get; }

    /// <summary>The address of an IPv6 endpoint, or the IPv4-mapped form of an IPv4 one.</summary>
    public Ipv6Address Address => _address;

    /// <summary>The address of an IPv4 endpoint.</summary>
    public Ipv4Address Address4 => new(MemoryMarshal.AsBytes(new ReadOnlySpan<Ipv6Address>(in _address))[12..]);

    /// <summary>True when the address is 0.0.0.0 or :: (any local address).</summary>
    public bool IsUnspecifiedAddress => IsIpv6 ? _address.IsUnspecified : Address4.IsUnspecified;

    /// <summary>True when the address is multicast, or the IPv4 limited broadcast.</summary>
    public bool IsMulticastOrBroadcast => IsIpv6 ? _address.IsMulticast : Address4 is { IsMulticast: true } or { IsBroadcast: true };

    /// <summary>An IPv4 endpoint.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static UdpEndpoint Ipv4(Ipv4Address address, ushort port) => new(Mapped(address), port, isIpv6: false);

    /// <summary>An IPv6 endpoint.</summary>
    public static UdpEndpoint Ipv6(in Ipv6Address address, ushort port) => new(address, port, isIpv6: true);

    /// <summary>The unspecified endpoint of a family: 0.0.0.0:0 or [::]:0.</summary>
    public static UdpEndpoint Any(bool ipv6) => ipv6 ? Ipv6(Ipv6Address.Any, 0) : Ipv4(Ipv4Address.Any, 0);

    /// <summary>The same address with another port.</summary>
    public UdpEndpoint WithPort(ushort port) => new(_address, port, IsIpv6);

    /// <inheritdoc/>
    public bool Equals(UdpEndpoint other) => _address == other._address && Port == other.Port && IsIpv6 == other.IsIpv6;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is UdpEndpoint other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(_address, Port, IsIpv6);

    /// <summary>Equality.</summary>
    public static bool operator ==(UdpEndpoint a, UdpEndpoint b) => a.Equals(b);

    /// <summary>Inequality.</summary>
    public static bool operator !=(UdpEndpoint a, UdpEndpoint b) => !a.Equals(b);

    /// <summary>10.0.0.1:53 or [fd00::1]:53, as the config writes endpoints.</summary>
    public override string ToString() => IsIpv6 ? $"[{_address}]:{Port}" : $"{Address4}:{Port}";

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Ipv6Address Mapped(Ipv4Address address)
    {
        Span<byte> bytes = stackalloc byte[Ipv6Address.Length];
        bytes[..10].Clear();
        bytes[10] = 0xFF;
        bytes[11] = 0xFF;
        address.CopyTo(bytes[12..]);
        return new Ipv6Address(bytes);
    }
}

/// <summary>
/// The key of a connected socket: both ends and the family, as the socket sees them (local first).
/// A datagram's key is its destination and source.
/// </summary>
internal readonly struct UdpFlowKey(in UdpEndpoint local, in UdpEndpoint remote) : IEquatable<UdpFlowKey>
{
    private readonly Ipv6Address _local = local.Address;
    private readonly Ipv6Address _remote = remote.Address;
    private readonly uint _ports = (uint)local.Port << 16 | remote.Port;
    private readonly bool _ipv6 = local.IsIpv6;

    /// <inheritdoc/>
    public bool Equals(UdpFlowKey other) => _ports == other._ports && _local == other._local && _remote == other._remote && _ipv6 == other._ipv6;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is UdpFlowKey other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(_local, _remote, _ports, _ipv6);
}
