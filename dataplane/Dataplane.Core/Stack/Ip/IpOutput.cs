using Dataplane.Buffers;
using Dataplane.Engine;
using Dataplane.Ports;
using Dataplane.Stack.Link;
using Dataplane.Stack.Neighbors;
using Dataplane.Stack.Offload;
using Dataplane.Stack.Routing;
using Dataplane.Wire;

namespace Dataplane.Stack.Ip;

/// <summary>
/// IP output of one worker, both families: the route to a destination and the source address
/// toward it, the IPv4 and IPv6 headers of packets this host builds, fragmentation on the way out
/// (Ip/IpOutput.Fragments.cs), and the hand-over to the link layer, which resolves the next hop.
/// Forwarding, ICMP and the transports send through it; it owns the worker's identification spaces
/// and counts under IP and IPv6. It never calls up.
/// </summary>
internal sealed partial class IpOutput
{
    /// <summary>Time to live and hop limit of packets this host originates (RFC 1700's default).</summary>
    public const byte DefaultTtl = 64;

    private const int EthernetHeader = WorkerPackets.EthernetHeader;
    private const int Ipv4Header = Ipv4Packet.FixedLength;
    private const int Ipv6Header = Ipv6Packet.FixedLength;

    private readonly NetworkStack _stack;
    private readonly WorkerContext _context;
    private readonly BufferPool _pool;
    private readonly WorkerPackets _packets;
    private readonly LinkLayer _link;
    private readonly StackCounters _counters;
    private ushort _nextId;
    private uint _nextId6;
    private readonly GatewayNeighbors<Ipv4Address> _gateways4 = new();
    private readonly GatewayNeighbors<Ipv6Address> _gateways6 = new();

    /// <summary>The output of the worker whose buffers <paramref name="packets"/> handles, over <paramref name="link"/>; counts in <paramref name="counters"/>.</summary>
    public IpOutput(NetworkStack stack, WorkerPackets packets, LinkLayer link, StackCounters counters)
    {
        _stack = stack;
        _packets = packets;
        _context = packets.Context;
        _pool = packets.Pool;
        _link = link;
        _counters = counters;
        // Each worker takes its own slice of the identification space, so that two workers never
        // give one source/destination pair the same ID at once (RFC 6864 4.1).
        _nextId = (ushort)(_context.Index * 0x1000 + _context.Random.Next(0x1000));
        // IPv6: each worker starts in its own sixteenth of the 32-bit space, from an unpredictable
        // point (RFC 7739 3.1).
        _nextId6 = (uint)(_context.Index & 0xF) << 28 | (uint)_context.Random.Next(1 << 28);
    }

    /// <summary>The length of the IP header this host writes for a family (no options, no extension headers).</summary>
    public static int HeaderLength(bool ipv6) => ipv6 ? Ipv6Header : Ipv4Header;

    /// <summary>
    /// Sends a transport segment this host built in <paramref name="packet"/>, its transport header
    /// and payload (<paramref name="transportLength"/> bytes) written behind the room for the IP
    /// header of its family: writes that header and sends it along the route, in fragments when it
    /// passes the MTU. A link-scoped IPv6 destination leaves by interface <paramref name="scope"/>
    /// (-1: none given). An IPv4 datagram with <paramref name="dontFragment"/> carries DF (TCP's,
    /// for path MTU discovery). False, the packet counted and released, when there is no route.
    /// </summary>
    public bool Send(PacketBuffer packet, in InetAddress source, in InetAddress destination, IpProtocol protocol, int transportLength, int scope, bool dontFragment = false)
    {
        if (destination.IsIpv6)
        {
            WriteIpv6Header(packet, source.Mapped, destination.Mapped, protocol, transportLength);
            NetInterface? scopeInterface = (uint)scope < (uint)_stack.Interfaces.Length ? _stack.Interfaces[scope] : null;
            return Ipv6Output(packet, destination.Mapped, scopeInterface);
        }
        WriteIpv4Header(packet, source.V4, destination.V4, protocol, Ipv4Header + transportLength, dontFragment);
        return Ipv4Output(packet, destination.V4);
    }

    /// <summary>Counts a packet this host could not build for want of a buffer, under its family.</summary>
    public void CountNoBuffer(bool ipv6)
    {
        if (ipv6)
            _counters.Count(Ip6Counter.NoBuffer);
        else
            _counters.Count(IpCounter.NoBuffer);
    }

    /// <summary>True when <paramref name="address"/> is one of ours (and usable: not a duplicated IPv6 address).</summary>
    public bool IsOurs(in InetAddress address)
        => address.IsIpv6 ? _stack.Owner(address.Mapped) is not null : _stack.IsOurs(address.V4);

    /// <summary>
    /// The source address for a packet to <paramref name="destination"/>: the address of the
    /// route's interface (of <paramref name="scope"/> for a link-scoped IPv6 destination) chosen
    /// for it. False when there is no route or the interface has no address of the family.
    /// </summary>
    public bool TrySelectSource(in InetAddress destination, int scope, out InetAddress source)
    {
        source = default;
        if (!destination.IsIpv6)
        {
            Ipv4Address destination4 = destination.V4;
            if (!_stack.Routes.Current.TryLookup(destination4, out NextHop4 hop)
                || !_stack.Interfaces[hop.Interface].TrySelectSource(destination4, out Ipv4Address address))
                return false;
            source = InetAddress.Ipv4(address);
            return true;
        }
        Ipv6Address destination6 = destination.Mapped;
        NetInterface iface;
        if ((destination6.IsLinkLocal || destination6.IsMulticast) && (uint)scope < (uint)_stack.Interfaces.Length)
            iface = _stack.Interfaces[scope];
        else if (_stack.Routes.Current.TryLookup(destination6, out NextHop6 hop6))
            iface = _stack.Interfaces[hop6.Interface];
        else
            return false;
        if (!iface.TrySelectSource(destination6, out Ipv6Address address6))
            return false;
        source = InetAddress.Ipv6(address6);
        return true;
    }

    /// <summary>
    /// The MTU of the interface the route to <paramref name="destination"/> leaves by (of
    /// <paramref name="scope"/> for a link-scoped IPv6 destination); the family's minimum (576,
    /// RFC 1122 3.3.3; 1280, RFC 8200 5) when there is no route.
    /// </summary>
    public int RouteMtu(in InetAddress destination, int scope)
        => RouteInterface(destination, scope)?.Mtu ?? (destination.IsIpv6 ? 1280 : 576);

    /// <summary>The interface the route to <paramref name="destination"/> leaves by (of <paramref name="scope"/> for a link-scoped IPv6 destination); null when there is no route.</summary>
    public NetInterface? RouteInterface(in InetAddress destination, int scope)
    {
        if (!destination.IsIpv6)
            return _stack.Routes.Current.TryLookup(destination.V4, out NextHop4 hop) ? _stack.Interfaces[hop.Interface] : null;
        Ipv6Address destination6 = destination.Mapped;
        if ((destination6.IsLinkLocal || destination6.IsMulticast) && (uint)scope < (uint)_stack.Interfaces.Length)
            return _stack.Interfaces[scope];
        return _stack.Routes.Current.TryLookup(destination6, out NextHop6 hop6) ? _stack.Interfaces[hop6.Interface] : null;
    }

    /// <summary>Our address on interface <paramref name="iface"/> toward <paramref name="peer"/>, of its family.</summary>
    public bool TrySourceOn(int iface, in InetAddress peer, out InetAddress source)
    {
        source = default;
        NetInterface on = _stack.Interfaces[iface];
        if (peer.IsIpv6)
        {
            if (!on.TrySelectSource(peer.Mapped, out Ipv6Address address6))
                return false;
            source = InetAddress.Ipv6(address6);
            return true;
        }
        if (!on.TrySelectSource(peer.V4, out Ipv4Address address))
            return false;
        source = InetAddress.Ipv4(address);
        return true;
    }

    /// <summary>
    /// Sends an IPv4 frame to <paramref name="nextHop"/> on <paramref name="iface"/>: broadcast and
    /// multicast map to their MAC addresses, unicast goes through ARP. The ARP entry it was sent
    /// through, when it was (<see cref="LinkLayer.SendToNeighbor"/>); null otherwise.
    /// </summary>
    public NeighborEntry<Ipv4Address>? Ipv4SendTo(NetInterface iface, Ipv4Address nextHop, PacketBuffer packet)
    {
        if (nextHop.IsBroadcast || iface.IsDirectedBroadcast(nextHop))
        {
            WorkerPackets.WriteMacs(_pool.Data(packet), MacAddress.Broadcast, iface.Mac);
            _context.Transmit(iface.Index, packet);
            return null;
        }
        if (nextHop.IsMulticast)
        {
            WorkerPackets.WriteMacs(_pool.Data(packet), Ipv6Addresses.MulticastMac(nextHop), iface.Mac);
            _context.Transmit(iface.Index, packet);
            return null;
        }
        return _link.SendToNeighbor(iface, _stack.Arp[iface.Index], nextHop, packet);
    }

    /// <summary>
    /// Forwards <paramref name="packet"/> to <paramref name="gateway"/>, next hop
    /// <paramref name="hop"/> of <paramref name="routes"/>: through the gateway's neighbour entry
    /// this worker kept for that next hop when it has one that still holds, else as
    /// <see cref="Ipv4SendTo"/> does, keeping the entry that sent it (none for a broadcast or
    /// multicast gateway, or one still unresolved) for the packets after it.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public void Ipv4SendToGateway(NetInterface iface, Ipv4LpmTable routes, int hop, Ipv4Address gateway, PacketBuffer packet)
    {
        if (_gateways4.Get(routes.SnapshotKey, hop) is { } kept && _link.TrySendToEntry(iface, kept, packet))
            return;
        if (Ipv4SendTo(iface, gateway, packet) is { } entry)
            _gateways4.Keep(routes.SnapshotKey, routes.NextHops, hop, entry);
    }

    /// <summary>As <see cref="Ipv4SendToGateway"/>, for IPv6: through the kept entry, else as <see cref="Ipv6SendTo"/>.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public void Ipv6SendToGateway(NetInterface iface, Ipv6LpmTable routes, int hop, in Ipv6Address gateway, PacketBuffer packet)
    {
        if (_gateways6.Get(routes.SnapshotKey, hop) is { } kept && _link.TrySendToEntry(iface, kept, packet))
            return;
        if (Ipv6SendTo(iface, gateway, packet) is { } entry)
            _gateways6.Keep(routes.SnapshotKey, routes.NextHops, hop, entry);
    }

    /// <summary>
    /// Sends a packet this host built: its IPv4 header written at offset 14 but for the route,
    /// which is looked up here. Counts and releases it when there is no route.
    /// </summary>
    public bool Ipv4Output(PacketBuffer packet, Ipv4Address destination)
    {
        if (!_stack.Routes.Current.TryLookup(destination, out NextHop4 hop))
        {
            // A broadcast or a reply to a martian has no route: nothing to do.
            Drop(packet, IpCounter.NoRoute);
            return false;
        }
        NetInterface output = _stack.Interfaces[hop.Interface];
        _counters.Count(IpCounter.LocalOut);
        Span<byte> l3 = _pool.Data(packet)[EthernetHeader..];
        Ipv4Packet.TryCreate(l3, _pool.Metadata(packet).PacketLength - EthernetHeader, out Ipv4Packet ip, out _);
        Ipv4Address nextHop = hop.IsDirect ? destination : hop.Gateway;
        if (ip.PacketLength > output.Mtu && !FitsAsSegments(packet, output))
        {
            if (ip.HasFlags(Ipv4Flags.DontFragment))
            {
                Drop(packet, IpCounter.CantFragment);
                return false;
            }
            Ipv4Fragment(output, nextHop, packet, ip);
            return true;
        }
        Ipv4SendTo(output, nextHop, packet);
        return true;
    }

    /// <summary>
    /// Writes an IPv4 header without options after the Ethernet header of <paramref name="packet"/>,
    /// for a packet of <paramref name="totalLength"/> bytes, and fills its checksum; writes the EtherType too.
    /// </summary>
    public void WriteIpv4Header(PacketBuffer packet, Ipv4Address source, Ipv4Address destination, IpProtocol protocol, int totalLength, bool dontFragment = false)
    {
        Span<byte> frame = _pool.Data(packet);
        WorkerPackets.SetEtherType(frame, EtherType.Ipv4);
        WriteIpv4Header(frame[EthernetHeader..], source, destination, protocol, totalLength, dontFragment);
    }

    /// <summary>Writes an IPv4 header without options at the front of <paramref name="l3"/> and fills its checksum.</summary>
    public void WriteIpv4Header(Span<byte> l3, Ipv4Address source, Ipv4Address destination, IpProtocol protocol, int totalLength, bool dontFragment = false)
    {
        new Ipv4Packet.Repr
        {
            Ihl = Ipv4Header / 4,
            TotalLength = (ushort)totalLength,
            Identification = NextId(),
            Flags = dontFragment ? Ipv4Flags.DontFragment : Ipv4Flags.None,
            TimeToLive = DefaultTtl,
            Protocol = protocol,
            Source = source,
            Destination = destination,
        }.Emit(l3); // and the header checksum
    }

    /// <summary>
    /// Finishes a transport checksum the kernel under the port left partial (virtio-net's
    /// NEEDS_CSUM: the pseudo-header sum in place, the rest to fold in from ChecksumStart), for a
    /// packet that leaves in a form no driver can finish for it.
    /// </summary>
    public void CompletePartialChecksum(PacketBuffer packet)
    {
        ref BufferMetadata m = ref _pool.Metadata(packet);
        if ((m.Offload & OffloadFlags.L4ChecksumPartial) == 0)
            return;
        int field = m.ChecksumStart + m.ChecksumOffset;
        if (field + 2 <= m.PacketLength && FrameChain.TryPullUp(_context.Cache, packet, field + 2))
        {
            Span<byte> frame = _pool.Data(packet);
            ushort checksum = InternetChecksum.Finish(FrameChain.Sum(_pool, packet, m.ChecksumStart, m.PacketLength - m.ChecksumStart, 0));
            // RFC 768: a computed zero goes out as all ones (zero means "none" for UDP; TCP does not care).
            InternetChecksum.Store(frame[field..], checksum == 0 ? (ushort)0xFFFF : checksum);
        }
        m.Offload &= ~OffloadFlags.L4ChecksumPartial;
    }

    /// <summary>The first IPv4 address of any interface, for a message from an interface that has none.</summary>
    public bool TryAnySource4(out Ipv4Address source)
    {
        foreach (NetInterface iface in _stack.Interfaces)
        {
            if (iface.Ipv4.Length > 0)
            {
                source = iface.Ipv4[0].Address;
                return true;
            }
        }
        source = default;
        return false;
    }

    /// <summary>
    /// Sends an IPv6 frame to <paramref name="nextHop"/> on <paramref name="iface"/>: multicast maps
    /// to its MAC address, unicast goes through neighbour discovery. The neighbour entry it was sent
    /// through, when it was; null otherwise.
    /// </summary>
    public NeighborEntry<Ipv6Address>? Ipv6SendTo(NetInterface iface, in Ipv6Address nextHop, PacketBuffer packet)
    {
        if (nextHop.IsMulticast)
        {
            WorkerPackets.WriteMacs(_pool.Data(packet), Ipv6Addresses.MulticastMac(nextHop), iface.Mac);
            _context.Transmit(iface.Index, packet);
            return null;
        }
        return _link.SendToNeighbor(iface, _stack.Nd[iface.Index], nextHop, packet);
    }

    /// <summary>
    /// Sends a packet this host built, its IPv6 header written: link-scoped destinations go out of
    /// <paramref name="scope"/> (the interface the conversation is on), others follow the route.
    /// </summary>
    public bool Ipv6Output(PacketBuffer packet, in Ipv6Address destination, NetInterface? scope)
    {
        if (!TryRoute6(destination, scope, out NetInterface output, out Ipv6Address nextHop))
        {
            Drop(packet, Ip6Counter.NoRoute);
            return false;
        }
        _counters.Count(Ip6Counter.LocalOut);
        Ipv6Packet.TryCreate(_pool.Data(packet)[EthernetHeader..], _pool.Metadata(packet).PacketLength - EthernetHeader, out Ipv6Packet ip, out _);
        if (ip.PacketLength > output.Mtu && !FitsAsSegments(packet, output))
        {
            Ipv6Fragment(output, nextHop, packet, ip);
            return true;
        }
        Ipv6SendTo(output, nextHop, packet);
        return true;
    }

    /// <summary>
    /// The interface and next hop for a packet this host sends to <paramref name="destination"/>:
    /// link-scoped destinations go out of <paramref name="scope"/>, others follow the route.
    /// </summary>
    public bool TryRoute6(in Ipv6Address destination, NetInterface? scope, out NetInterface output, out Ipv6Address nextHop)
    {
        nextHop = destination;
        bool linkScoped = destination.IsLinkLocal || (destination.IsMulticast && (destination[1] & 0x0F) <= 2);
        if (linkScoped && scope is not null)
        {
            output = scope;
            return true;
        }
        if (_stack.Routes.Current.TryLookup(destination, out NextHop6 hop))
        {
            output = _stack.Interfaces[hop.Interface];
            if (!hop.IsDirect)
                nextHop = hop.Gateway;
            return true;
        }
        output = null!;
        return false;
    }

    /// <summary>Writes an IPv6 header (and the EtherType) for a payload of <paramref name="payloadLength"/> bytes.</summary>
    public void WriteIpv6Header(PacketBuffer packet, in Ipv6Address source, in Ipv6Address destination, IpProtocol next, int payloadLength, byte hopLimit = DefaultTtl)
    {
        Span<byte> frame = _pool.Data(packet);
        WorkerPackets.SetEtherType(frame, EtherType.Ipv6);
        WriteIpv6Header(frame[EthernetHeader..], source, destination, next, payloadLength, hopLimit);
    }

    /// <summary>Writes an IPv6 header at the front of <paramref name="l3"/>.</summary>
    public static void WriteIpv6Header(Span<byte> l3, in Ipv6Address source, in Ipv6Address destination, IpProtocol next, int payloadLength, byte hopLimit = DefaultTtl)
        => new Ipv6Packet.Repr
        {
            PayloadLength = (ushort)payloadLength,
            NextHeader = next,
            HopLimit = hopLimit,
            Source = source,
            Destination = destination,
        }.Emit(l3);

    /// <summary>
    /// Whether <paramref name="packet"/> is a super-segment this host built for <paramref name="output"/>
    /// to cut (TSO), whose segments each fit its MTU: the port cuts it, so its total length is not
    /// what the MTU bounds. Its transport sized it from the route's MTU; a route that changed in
    /// between sends it down the fragment path like any packet too big.
    /// </summary>
    private bool FitsAsSegments(PacketBuffer packet, NetInterface output)
    {
        return _pool.Metadata(packet).Gso != GsoType.None && (output.Capabilities & PortCapabilities.Tso) != 0
            && SuperFrame.Read(_pool, packet).SegmentNetworkLength <= output.Mtu;
    }

    /// <summary>The next IPv4 identification of this worker.</summary>
    private ushort NextId() => _nextId++;

    private void Drop(PacketBuffer packet, IpCounter reason)
    {
        _counters.Count(reason);
        _packets.Drop(packet);
    }

    private void Drop(PacketBuffer packet, Ip6Counter reason)
    {
        _counters.Count(reason);
        _packets.Drop(packet);
    }
}
