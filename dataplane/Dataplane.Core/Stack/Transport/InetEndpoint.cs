using System.Runtime.CompilerServices;
using Dataplane.Stack.Ip;
using Dataplane.Wire;

namespace Dataplane.Stack.Transport;

/// <summary>
/// An IPv4 or IPv6 address and a port: one end of a datagram, a connection or a socket, UDP or TCP. The address is an
/// <see cref="InetAddress"/>, so both families compare, hash and copy alike.
/// </summary>
internal readonly struct InetEndpoint : IEquatable<InetEndpoint>
{
    private readonly InetAddress _address;

    private InetEndpoint(in InetAddress address, ushort port)
    {
        _address = address;
        Port = port;
    }

    /// <summary>True for an IPv6 endpoint, false for IPv4.</summary>
    public bool IsIpv6 => _address.IsIpv6;

    /// <summary>The port; 0 means any (a socket not bound yet).</summary>
    public ushort Port { get; }

    /// <summary>The address, of either family.</summary>
    public InetAddress Ip => _address;

    /// <summary>The address of an IPv6 endpoint, or the IPv4-mapped form of an IPv4 one.</summary>
    public Ipv6Address Address => _address.Mapped;

    /// <summary>The address of an IPv4 endpoint.</summary>
    public Ipv4Address Address4 => _address.V4;

    /// <summary>True when the address is 0.0.0.0 or :: (any local address).</summary>
    public bool IsUnspecifiedAddress => _address.IsUnspecified;

    /// <summary>True when the address is multicast, or the IPv4 limited broadcast.</summary>
    public bool IsMulticastOrBroadcast => _address.IsMulticastOrBroadcast;

    /// <summary>An IPv4 endpoint.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static InetEndpoint Ipv4(Ipv4Address address, ushort port) => new(InetAddress.Ipv4(address), port);

    /// <summary>An IPv6 endpoint.</summary>
    public static InetEndpoint Ipv6(in Ipv6Address address, ushort port) => new(InetAddress.Ipv6(address), port);

    /// <summary>An endpoint of either family.</summary>
    public static InetEndpoint Of(in InetAddress address, ushort port) => new(address, port);

    /// <summary>The unspecified endpoint of a family: 0.0.0.0:0 or [::]:0.</summary>
    public static InetEndpoint Any(bool ipv6) => new(InetAddress.Any(ipv6), 0);

    /// <summary>The same address with another port.</summary>
    public InetEndpoint WithPort(ushort port) => new(_address, port);

    /// <inheritdoc/>
    public bool Equals(InetEndpoint other) => _address == other._address && Port == other.Port;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is InetEndpoint other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(_address, Port);

    /// <summary>Equality.</summary>
    public static bool operator ==(InetEndpoint a, InetEndpoint b) => a.Equals(b);

    /// <summary>Inequality.</summary>
    public static bool operator !=(InetEndpoint a, InetEndpoint b) => !a.Equals(b);

    /// <summary>10.0.0.1:53 or [fd00::1]:53, as the config writes endpoints.</summary>
    public override string ToString() => IsIpv6 ? $"[{_address}]:{Port}" : $"{_address}:{Port}";
}

/// <summary>
/// The key of a connected socket or a connection: both ends and the family, as the socket sees them (local first).
/// A received packet's key is its destination and source. Hashed by <see cref="HashCode"/>, whose seed is random per process, so a peer cannot aim packets at one bucket.
/// </summary>
internal readonly struct FlowKey(in InetEndpoint local, in InetEndpoint remote) : IEquatable<FlowKey>
{
    private readonly Ipv6Address _local = local.Address;
    private readonly Ipv6Address _remote = remote.Address;
    private readonly uint _ports = (uint)local.Port << 16 | remote.Port;
    private readonly bool _ipv6 = local.IsIpv6;

    /// <inheritdoc/>
    public bool Equals(FlowKey other) => _ports == other._ports && _local == other._local && _remote == other._remote && _ipv6 == other._ipv6;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is FlowKey other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(_local, _remote, _ports, _ipv6);

    /// <summary>The key hashed by <paramref name="key"/>, over all its bytes: what a table keyed by a secret uses.</summary>
    public ulong Hash(in SipHash key)
    {
        Span<byte> input = stackalloc byte[37];
        _local.CopyTo(input);
        _remote.CopyTo(input[16..]);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(input[32..], _ports);
        input[36] = _ipv6 ? (byte)6 : (byte)4;
        return key.Hash(input);
    }
}
