using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Dataplane.Wire;

namespace Dataplane.Stack.Ip;

/// <summary>
/// An IPv4 or IPv6 address, for the layers that serve both families alike (transport, and the IP
/// output they send through). An IPv4 address is held in its IPv4-mapped IPv6 form (RFC 4291
/// 2.5.5.2), as <see cref="Engine.FlowKey"/> holds it, so both families compare and copy alike;
/// <see cref="IsIpv6"/> keeps them apart (an IPv4 address never equals the IPv6 address it maps to).
/// </summary>
internal readonly struct InetAddress : IEquatable<InetAddress>
{
    private readonly Ipv6Address _address;

    private InetAddress(in Ipv6Address address, bool isIpv6)
    {
        _address = address;
        IsIpv6 = isIpv6;
    }

    /// <summary>True for an IPv6 address, false for IPv4.</summary>
    public bool IsIpv6 { get; }

    /// <summary>The IPv6 address, or the IPv4-mapped form of an IPv4 one.</summary>
    public Ipv6Address Mapped => _address;

    /// <summary>The IPv4 address (of an IPv4 one).</summary>
    public Ipv4Address V4 => new(MemoryMarshal.AsBytes(new ReadOnlySpan<Ipv6Address>(in _address))[12..]);

    /// <summary>True for 0.0.0.0 and ::.</summary>
    public bool IsUnspecified => IsIpv6 ? _address.IsUnspecified : V4.IsUnspecified;

    /// <summary>True for a multicast address, or the IPv4 limited broadcast.</summary>
    public bool IsMulticastOrBroadcast => IsIpv6 ? _address.IsMulticast : V4 is { IsMulticast: true } or { IsBroadcast: true };

    /// <summary>An IPv4 address.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static InetAddress Ipv4(Ipv4Address address) => new(Ipv6Address.MapIpv4(address), isIpv6: false);

    /// <summary>An IPv6 address.</summary>
    public static InetAddress Ipv6(in Ipv6Address address) => new(address, isIpv6: true);

    /// <summary>The unspecified address of a family.</summary>
    public static InetAddress Any(bool ipv6) => ipv6 ? Ipv6(Ipv6Address.Any) : Ipv4(Ipv4Address.Any);

    /// <summary>The partial sum of the pseudo-header of a transport segment of <paramref name="length"/> bytes from <paramref name="source"/> to <paramref name="destination"/> (RFC 768, RFC 8200 8.1).</summary>
    public static ulong PseudoHeaderSum(in InetAddress source, in InetAddress destination, IpProtocol protocol, int length) => destination.IsIpv6
        ? InternetChecksum.PseudoHeaderSum(source._address, destination._address, (byte)protocol, length)
        : InternetChecksum.PseudoHeaderSum(source.V4, destination.V4, (byte)protocol, length);

    /// <inheritdoc/>
    public bool Equals(InetAddress other) => _address == other._address && IsIpv6 == other.IsIpv6;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is InetAddress other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(_address, IsIpv6);

    /// <summary>Equality.</summary>
    public static bool operator ==(InetAddress a, InetAddress b) => a.Equals(b);

    /// <summary>Inequality.</summary>
    public static bool operator !=(InetAddress a, InetAddress b) => !a.Equals(b);

    /// <summary>10.0.0.1 or fd00::1.</summary>
    public override string ToString() => IsIpv6 ? _address.ToString() : V4.ToString();
}
