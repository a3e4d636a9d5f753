using System.Runtime.CompilerServices;
using Dataplane.Ports;
using Dataplane.Wire;

namespace Dataplane.Stack;

/// <summary>An IPv4 address of an interface and its connected prefix.</summary>
/// <param name="Address">The address.</param>
/// <param name="PrefixLength">The length of the connected prefix, 0 to 32.</param>
internal readonly record struct InterfaceAddress4(Ipv4Address Address, int PrefixLength)
{
    /// <summary>The network mask as a host-order number.</summary>
    public uint Mask => PrefixLength == 0 ? 0 : uint.MaxValue << (32 - PrefixLength);

    /// <summary>The network, host bits clear.</summary>
    public Ipv4Address Network => Ipv4Address.FromUInt32(Address.ToUInt32() & Mask);

    /// <summary>The directed broadcast of the prefix (none for /31 and /32, RFC 3021).</summary>
    public Ipv4Address Broadcast => PrefixLength >= 31 ? Ipv4Address.Broadcast : Ipv4Address.FromUInt32(Address.ToUInt32() | ~Mask);

    /// <summary>True when <paramref name="other"/> lies in the connected prefix.</summary>
    public bool Contains(Ipv4Address other) => ((other.ToUInt32() ^ Address.ToUInt32()) & Mask) == 0;
}

/// <summary>Where an IPv6 address stands in duplicate address detection (RFC 4862 5.4).</summary>
internal enum AddressState
{
    /// <summary>Probed; usable already (optimistic, RFC 4429), and given up when a duplicate answers.</summary>
    Tentative,

    /// <summary>No other host claimed it.</summary>
    Preferred,

    /// <summary>Another host answered for it: not used (RFC 4862 5.4.5).</summary>
    Duplicated,
}

/// <summary>An IPv6 address of an interface, its connected prefix, and its DAD state.</summary>
internal sealed class InterfaceAddress6(Ipv6Address address, int prefixLength)
{
    private int _state = (int)AddressState.Tentative;

    /// <summary>The address.</summary>
    public Ipv6Address Address { get; } = address;

    /// <summary>The length of the connected prefix, 0 to 128.</summary>
    public int PrefixLength { get; } = prefixLength;

    /// <summary>The solicited-node multicast group of the address (RFC 4291 2.7.1): ff02::1:ffXX:XXXX.</summary>
    public Ipv6Address SolicitedNode { get; } = Ipv6Address.SolicitedNode(address);

    /// <summary>Where DAD stands; written by the worker that saw the answer, read by all.</summary>
    public AddressState State
    {
        get => (AddressState)Volatile.Read(ref _state);
        set => Volatile.Write(ref _state, (int)value);
    }

    /// <summary>True while the address may be used as a source and answered for.</summary>
    public bool Usable => State != AddressState.Duplicated;

    /// <summary>True when <paramref name="other"/> lies in the connected prefix.</summary>
    public bool Contains(in Ipv6Address other) => Ipv6Addresses.SamePrefix(Address, other, PrefixLength);
}

/// <summary>
/// One interface of the stack: a port with its MAC address, MTU and addresses. Built before the
/// workers start; its address lists do not change while they run (the DAD state of an IPv6
/// address is the one field that does, and it is read with a volatile read).
/// </summary>
internal sealed class NetInterface
{
    /// <summary>An interface over port <paramref name="index"/>.</summary>
    public NetInterface(int index, string name, MacAddress mac, int mtu, PortCapabilities capabilities, InterfaceAddress4[] ipv4, InterfaceAddress6[] ipv6)
    {
        Index = index;
        Name = name;
        Mac = mac;
        MacBits = mac.Bits;
        Mtu = mtu;
        Capabilities = capabilities;
        Ipv4 = ipv4;
        _directedBroadcasts = [.. ipv4.Where(a => a.PrefixLength < 31).Select(a => a.Broadcast)];
        // RFC 4291 2.1: every IPv6 interface has a link-local address; ours is the EUI-64 one (RFC 4862 5.3).
        // As on OpenBSD, IPv6 runs on an interface only once the config gives it an inet6 address.
        LinkLocal = new InterfaceAddress6(Ipv6Address.LinkLocal(mac), 64);
        Ipv6 = ipv6.Length == 0 ? [] : [LinkLocal, .. ipv6];
    }

    // The directed broadcast of each prefix shorter than /31, worked out once: a forwarded packet asks.
    private readonly Ipv4Address[] _directedBroadcasts;

    /// <summary>The port index, which is also the interface index.</summary>
    public int Index { get; }

    /// <summary>The port's name in the config.</summary>
    public string Name { get; }

    /// <summary>The MAC address frames are sent from.</summary>
    public MacAddress Mac { get; }

    /// <summary><see cref="Mac"/> as one number (<see cref="MacAddress.Bits"/>), worked out once for the receive path's compares.</summary>
    public ulong MacBits { get; }

    /// <summary>The IP MTU: the largest IP packet sent in one frame.</summary>
    public int Mtu { get; }

    /// <summary>What the port's hardware (or the kernel under it) does for us.</summary>
    public PortCapabilities Capabilities { get; }

    /// <summary>The IPv4 addresses, in config order.</summary>
    public InterfaceAddress4[] Ipv4 { get; }

    /// <summary>The IPv6 addresses: the link-local one first, then the config's; none when the config gives the interface no inet6 address.</summary>
    public InterfaceAddress6[] Ipv6 { get; }

    /// <summary>The link-local address, fe80::/64 from the MAC address (in use only when <see cref="Ipv6"/> is not empty).</summary>
    public InterfaceAddress6 LinkLocal { get; }

    /// <summary>True when <paramref name="address"/> is the directed broadcast of one of the interface's IPv4 prefixes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] // per sent packet; AOT has no profile to say so
    public bool IsDirectedBroadcast(Ipv4Address address)
    {
        foreach (Ipv4Address broadcast in _directedBroadcasts)
        {
            if (broadcast == address)
                return true;
        }
        return false;
    }

    /// <summary>True when <paramref name="address"/> is one of the IPv4 addresses.</summary>
    public bool Owns(Ipv4Address address)
    {
        foreach (InterfaceAddress4 a in Ipv4)
        {
            if (a.Address == address)
                return true;
        }
        return false;
    }

    /// <summary>The usable IPv6 address equal to <paramref name="address"/>, or null.</summary>
    public InterfaceAddress6? Find(in Ipv6Address address)
    {
        foreach (InterfaceAddress6 a in Ipv6)
        {
            if (a.Address == address)
                return a;
        }
        return null;
    }

    /// <summary>
    /// The IPv4 source for a packet to <paramref name="destination"/> out of this interface: the
    /// address whose prefix holds the destination, else the first one; false when there is none.
    /// </summary>
    public bool TrySelectSource(Ipv4Address destination, out Ipv4Address source)
    {
        source = default;
        if (Ipv4.Length == 0)
            return false;
        source = Ipv4[0].Address;
        foreach (InterfaceAddress4 a in Ipv4)
        {
            if (a.Contains(destination))
            {
                source = a.Address;
                break;
            }
        }
        return true;
    }

    /// <summary>
    /// The IPv6 source for a packet to <paramref name="destination"/> out of this interface (RFC
    /// 6724 in short: same scope, then the longest matching prefix); false when none is usable.
    /// </summary>
    public bool TrySelectSource(in Ipv6Address destination, out Ipv6Address source)
    {
        source = default;
        bool linkLocal = destination.IsLinkLocal || (destination.IsMulticast && (destination[1] & 0x0F) <= 2);
        InterfaceAddress6? best = null;
        foreach (InterfaceAddress6 a in Ipv6)
        {
            if (!a.Usable || a.Address.IsLinkLocal != linkLocal)
                continue;
            if (best is null || a.Contains(destination))
                best = a;
        }
        best ??= Ipv6.Length > 0 && LinkLocal.Usable ? LinkLocal : null;
        if (best is null)
            return false;
        source = best.Address;
        return true;
    }

    /// <summary>True when <paramref name="group"/> is a multicast group this interface listens to: all-nodes, all-routers, or the solicited-node group of one of its addresses.</summary>
    public bool Listens(in Ipv6Address group)
    {
        if (Ipv6.Length == 0)
            return false;
        if (group == Ipv6Addresses.AllNodes || group == Ipv6Addresses.AllRouters)
            return true;
        foreach (InterfaceAddress6 a in Ipv6)
        {
            if (a.SolicitedNode == group)
                return true;
        }
        return false;
    }
}
