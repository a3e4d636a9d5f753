using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Dataplane.Buffers;
using Dataplane.Stack.Routing;
using Dataplane.Wire;

namespace Dataplane.Stack;

// IPv6 input with its extension header chain (RFC 8200), forwarding and output.
internal sealed partial class StackWorker
{
    private const int Ipv6Header = Ipv6Packet.FixedLength;

    private void Ipv6Input(NetInterface iface, PacketBuffer packet, Span<byte> frame, bool linkMulticast)
    {
        Counters.Count(Ip6Counter.Received);
        Span<byte> l3 = frame[EthernetHeader..];
        if (l3.Length < Ipv6Header)
        {
            Drop(packet, Ip6Counter.TooShort);
            return;
        }
        if (l3[0] >> 4 != 6)
        {
            Drop(packet, Ip6Counter.BadVersion);
            return;
        }
        // A chained frame: the view is over its first buffer, which holds the headers (see HeadersInFirstBuffer).
        int available = _pool.Metadata(packet).PacketLength - EthernetHeader;
        if (!Ipv6Packet.TryCreate(l3, available, out Ipv6Packet ip, out _))
        {
            Drop(packet, Ip6Counter.BadLength);
            return;
        }
        if (ip.PacketLength < available)
            _packets.Trim(packet, EthernetHeader + ip.PacketLength);
        Ipv6Address source = ip.Source;
        Ipv6Address destination = ip.Destination;
        // RFC 4291 2.7 and 2.5.3: a multicast or loopback source never appears on a link. Nor does
        // one of ours, except in neighbour discovery: a host that holds an address we are still
        // probing defends it from that very address (RFC 4862 5.4.4), and that is how we hear of it.
        if (source.IsMulticast || source.IsLoopback || (_stack.Owner(source) is not null && ip.NextHeader != IpProtocol.Icmpv6))
        {
            Drop(packet, Ip6Counter.MartianSource);
            return;
        }
        if (destination.IsLoopback || destination.IsUnspecified)
        {
            Drop(packet, Ip6Counter.MartianDestination);
            return;
        }
        IpProtocol next = ip.NextHeader;
        int offset = Ipv6Header;
        int nameField = 6; // where the field naming the header at `offset` sits, for parameter problems
        if (next == IpProtocol.HopByHop)
        {
            // RFC 8200 4.3: examined by every node on the path, so before the local/forward decision.
            if (!Ipv6HopByHopOrDestination(iface, packet, ip, offset, out next, out int length))
                return;
            nameField = offset;
            offset += length;
        }
        bool local = destination.IsMulticast ? iface.Listens(destination) : _stack.Owner(destination) is not null;
        if (local)
        {
            if (!ip.IsContiguous)
            {
                // A packet for us in a chain goes up as a reassembled one does: the view over a linear copy.
                Ipv6Packet.TryCreate(Linearize(packet)[EthernetHeader..], out ip);
            }
            Ipv6Deliver(iface, packet, ip, next, offset, nameField);
            return;
        }
        if (destination.IsMulticast)
        {
            Drop(packet, Ip6Counter.NotOurGroup);
            return;
        }
        if (!_stack.Forwarding || linkMulticast)
        {
            Drop(packet, Ip6Counter.NotForwarding);
            return;
        }
        Ipv6Forward(iface, packet, ip);
    }

    /// <summary>Walks the rest of the extension header chain of a packet for us, to its upper layer.</summary>
    private void Ipv6Deliver(NetInterface iface, PacketBuffer packet, Ipv6Packet ip, IpProtocol next, int offset, int nameField)
    {
        while (true)
        {
            switch (next)
            {
                case IpProtocol.Ipv6DestinationOptions:
                {
                    if (!Ipv6HopByHopOrDestination(iface, packet, ip, offset, out next, out int length))
                        return;
                    nameField = offset;
                    offset += length;
                    continue;
                }
                case IpProtocol.Ipv6Routing:
                {
                    if (!Ipv6RoutingHeader.TryCreate(ip.Buffer[offset..ip.PacketLength], out Ipv6RoutingHeader routing))
                    {
                        Drop(packet, Ip6Counter.BadExtensionHeader);
                        return;
                    }
                    if (routing.SegmentsLeft != 0)
                    {
                        // RFC 8200 4.4 (and RFC 5095 for type 0): no routing type is processed here.
                        Counters.Count(Ip6Counter.BadExtensionHeader);
                        SendIcmp6Error(iface, ip, Icmpv6Type.ParameterProblem, 0, (uint)(offset + 2));
                        _context.Drop(packet);
                        return;
                    }
                    next = routing.NextHeader;
                    nameField = offset;
                    offset += routing.HeaderLength;
                    continue;
                }
                case IpProtocol.Ipv6Fragment:
                    Ipv6Reassemble(iface, packet, ip, offset);
                    return;
                case IpProtocol.Ipv6NoNextHeader:
                    Counters.Count(Ip6Counter.Delivered);
                    _packets.Consume(packet);
                    return;
                case IpProtocol.Icmpv6:
                    Counters.Count(Ip6Counter.Delivered);
                    Icmp6Input(iface, packet, ip, offset);
                    return;
                case IpProtocol.Udp:
                    Counters.Count(Ip6Counter.Delivered);
                    UdpInput6(iface, packet, ip, offset);
                    return;
                case IpProtocol.HopByHop:
                    // RFC 8200 4.1: hop-by-hop options only right after the IPv6 header.
                    Counters.Count(Ip6Counter.BadExtensionHeader);
                    SendIcmp6Error(iface, ip, Icmpv6Type.ParameterProblem, 1, (uint)nameField);
                    _context.Drop(packet);
                    return;
                default:
                    Counters.Count(Ip6Counter.NoProtocol);
                    SendIcmp6Error(iface, ip, Icmpv6Type.ParameterProblem, 1, (uint)nameField);
                    _context.Drop(packet);
                    return;
            }
        }
    }

    /// <summary>
    /// Checks the options of a hop-by-hop or destination options header at <paramref name="offset"/>
    /// (RFC 8200 4.2: the two high bits of an unknown option's type say what to do); false when
    /// the packet was dropped.
    /// </summary>
    private bool Ipv6HopByHopOrDestination(NetInterface iface, PacketBuffer packet, Ipv6Packet ip, int offset, out IpProtocol next, out int length)
    {
        next = default;
        length = 0;
        // Before the local or forward decision, so possibly over the first buffer of a chain: the header must lie in it.
        if (!Ipv6HopByHopHeader.TryCreate(ip.Buffer[offset..Math.Min(ip.PacketLength, ip.Buffer.Length)], out Ipv6HopByHopHeader header))
        {
            Drop(packet, Ip6Counter.BadExtensionHeader);
            return false;
        }
        WireOptionEnumerator options = header.EnumerateOptions();
        while (options.MoveNext())
        {
            WireOption option = options.Current;
            byte type = option.Type;
            if (type is 1 or 5) // PadN; router alert (RFC 2711), which asks nothing of a router that does not intercept
                continue;
            int action = type >> 6;
            if (action == 0)
                continue;
            Counters.Count(Ip6Counter.BadExtensionHeader);
            if (action == 2 || (action == 3 && !ip.Destination.IsMulticast))
            {
                int pointer = (int)Unsafe.ByteOffset(ref MemoryMarshal.GetReference(ip.Buffer), ref MemoryMarshal.GetReference(option.Raw));
                SendIcmp6Error(iface, ip, Icmpv6Type.ParameterProblem, 2, (uint)pointer);
            }
            _context.Drop(packet);
            return false;
        }
        if (options.IsMalformed)
        {
            Drop(packet, Ip6Counter.BadExtensionHeader);
            return false;
        }
        next = header.NextHeader;
        length = header.HeaderLength;
        return true;
    }

    private void Ipv6Forward(NetInterface iface, PacketBuffer packet, Ipv6Packet ip)
    {
        if (ip.HopLimit <= 1)
        {
            Counters.Count(Ip6Counter.HopLimitExceeded);
            SendIcmp6Error(iface, ip, Icmpv6Type.TimeExceeded, 0, 0);
            _context.Drop(packet);
            return;
        }
        Ipv6Address destination = ip.Destination;
        if (destination.IsLinkLocal || ip.Source.IsLinkLocal || ip.Source.IsUnspecified)
        {
            // RFC 4291 2.5.6: link-local packets stay on their link; code 2 is "beyond scope of source address".
            Counters.Count(Ip6Counter.BeyondScope);
            if (!destination.IsLinkLocal)
                SendIcmp6Error(iface, ip, Icmpv6Type.DestinationUnreachable, 2, 0);
            _context.Drop(packet);
            return;
        }
        if (!_stack.Routes.Current.TryLookup(destination, out NextHop6 hop))
        {
            Counters.Count(Ip6Counter.NoRoute);
            SendIcmp6Error(iface, ip, Icmpv6Type.DestinationUnreachable, 0, 0);
            _context.Drop(packet);
            return;
        }
        NetInterface output = _stack.Interfaces[hop.Interface];
        if (ip.PacketLength > output.Mtu)
        {
            // RFC 8200 5: routers never fragment; the source learns the MTU (RFC 8201).
            Counters.Count(Ip6Counter.TooBig);
            SendIcmp6Error(iface, ip, Icmpv6Type.PacketTooBig, 0, (uint)output.Mtu);
            _context.Drop(packet);
            return;
        }
        ip.HopLimit--;
        Counters.Count(Ip6Counter.Forwarded);
        Ipv6SendTo(output, hop.IsDirect ? destination : hop.Gateway, packet);
    }

    /// <summary>Sends an IPv6 frame to <paramref name="nextHop"/> on <paramref name="iface"/>: multicast maps to its MAC address, unicast goes through neighbour discovery.</summary>
    private void Ipv6SendTo(NetInterface iface, in Ipv6Address nextHop, PacketBuffer packet)
    {
        if (nextHop.IsMulticast)
        {
            WorkerPackets.WriteMacs(_pool.Data(packet), Ipv6Addresses.MulticastMac(nextHop), iface.Mac);
            _context.Transmit(iface.Index, packet);
            return;
        }
        _link.SendToNeighbor(iface, _stack.Nd[iface.Index], nextHop, packet);
    }

    /// <summary>
    /// Sends a packet this host built, its IPv6 header written: link-scoped destinations go out of
    /// <paramref name="scope"/> (the interface the conversation is on), others follow the route.
    /// </summary>
    private bool Ipv6Output(PacketBuffer packet, in Ipv6Address destination, NetInterface? scope)
    {
        if (!TryRoute6(destination, scope, out NetInterface output, out Ipv6Address nextHop))
        {
            Drop(packet, Ip6Counter.NoRoute);
            return false;
        }
        Counters.Count(Ip6Counter.LocalOut);
        Ipv6Packet.TryCreate(_pool.Data(packet)[EthernetHeader..], _pool.Metadata(packet).PacketLength - EthernetHeader, out Ipv6Packet ip, out _);
        if (ip.PacketLength > output.Mtu)
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
    private bool TryRoute6(in Ipv6Address destination, NetInterface? scope, out NetInterface output, out Ipv6Address nextHop)
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
    private void WriteIpv6Header(PacketBuffer packet, in Ipv6Address source, in Ipv6Address destination, IpProtocol next, int payloadLength, byte hopLimit = DefaultTtl)
    {
        Span<byte> frame = _pool.Data(packet);
        WorkerPackets.SetEtherType(frame, EtherType.Ipv6);
        WriteIpv6Header(frame[EthernetHeader..], source, destination, next, payloadLength, hopLimit);
    }

    /// <summary>Writes an IPv6 header at the front of <paramref name="l3"/>.</summary>
    private static void WriteIpv6Header(Span<byte> l3, in Ipv6Address source, in Ipv6Address destination, IpProtocol next, int payloadLength, byte hopLimit = DefaultTtl)
        => new Ipv6Packet.Repr
        {
            PayloadLength = (ushort)payloadLength,
            NextHeader = next,
            HopLimit = hopLimit,
            Source = source,
            Destination = destination,
        }.Emit(l3);
}
