using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Dataplane.Buffers;
using Dataplane.Engine;
using Dataplane.Stack.Fragments;
using Dataplane.Stack.Offload;
using Dataplane.Stack.Routing;
using Dataplane.Wire;

namespace Dataplane.Stack.Ip;

/// <summary>
/// IPv6 input of one worker with its extension header chain (RFC 8200), and forwarding: what is
/// for this host goes to ICMPv6, to reassembly, or up to a transport as an
/// <see cref="IpDatagram"/>; what is not is forwarded through <see cref="IpOutput"/>. Counts under
/// IPv6. Calls nothing above it: a packet for a transport is returned to the dispatcher.
/// </summary>
internal sealed class Ipv6Layer
{
    private const int EthernetHeader = WorkerPackets.EthernetHeader;
    private const int Ipv6Header = Ipv6Packet.FixedLength;

    private readonly NetworkStack _stack;
    private readonly BufferPool _pool;
    private readonly WorkerPackets _packets;
    private readonly IpOutput _output;
    private readonly IcmpLayer _icmp;
    private readonly Reassembler _reassembly;
    private readonly StackCounters _counters;

    /// <summary>The IPv6 layer of the worker whose buffers <paramref name="packets"/> handles.</summary>
    public Ipv6Layer(NetworkStack stack, WorkerPackets packets, IpOutput output, IcmpLayer icmp, Reassembler reassembly, StackCounters counters)
    {
        _stack = stack;
        _packets = packets;
        _pool = packets.Pool;
        _output = output;
        _icmp = icmp;
        _reassembly = reassembly;
        _counters = counters;
    }

    /// <summary>
    /// Takes an IPv6 packet that arrived on <paramref name="iface"/> (in a link-layer multicast
    /// when <paramref name="linkMulticast"/>): checks it, walks its extension headers, forwards it,
    /// answers it (ICMPv6), reassembles it, or passes it up. True when <paramref name="datagram"/>
    /// is a whole packet for a transport; false when it was dealt with here. Compiled for
    /// <typeparamref name="TFacts"/>, what the packet's driver promises of its checksums.
    /// </summary>
    public bool Input<TFacts>(NetInterface iface, PacketBuffer packet, Span<byte> frame, bool linkMulticast, ref IpDatagram datagram)
        where TFacts : struct, IReceiveFacts
    {
        ref BufferMetadata m = ref _pool.Metadata(packet);
        if ((m.Offload & OffloadFlags.Reassembled) == 0)
            _counters.Count(Ip6Counter.Received);
        else
            m.Offload &= ~OffloadFlags.Reassembled; // its fragments were counted, on the worker that reassembled it; the mark ends here
        Span<byte> l3 = frame[EthernetHeader..];
        if (l3.Length < Ipv6Header)
        {
            Drop(packet, Ip6Counter.TooShort);
            return false;
        }
        if (l3[0] >> 4 != 6)
        {
            Drop(packet, Ip6Counter.BadVersion);
            return false;
        }
        // A chained frame: the view is over its first buffer, into which the dispatcher pulled the headers.
        int available = m.PacketLength - EthernetHeader;
        if (!Ipv6Packet.TryCreate(l3, available, out Ipv6Packet ip, out _))
        {
            Drop(packet, Ip6Counter.BadLength);
            return false;
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
            return false;
        }
        if (destination.IsLoopback || destination.IsUnspecified)
        {
            Drop(packet, Ip6Counter.MartianDestination);
            return false;
        }
        IpProtocol next = ip.NextHeader;
        int offset = Ipv6Header;
        int nameField = 6; // where the field naming the header at `offset` sits, for parameter problems
        if (next == IpProtocol.HopByHop)
        {
            // RFC 8200 4.3: examined by every node on the path, so before the local/forward decision.
            if (!HopByHopOrDestination(iface, packet, ip, offset, out next, out int length))
                return false;
            nameField = offset;
            offset += length;
        }
        bool local = destination.IsMulticast ? iface.Listens(destination) : _stack.Owner(destination) is not null;
        if (local)
        {
            if (!ip.IsContiguous && !(next == IpProtocol.Tcp && offset == Ipv6Header))
            {
                // A packet for us in a chain goes up as a reassembled one does: the view over a linear
                // copy. TCP right behind the header reads it in the first buffer and queues the chain
                // (IpDatagram.TransportLength).
                Ipv6Packet.TryCreate(_packets.Linearize(packet)[EthernetHeader..], out ip);
            }
            // The transport's checksum state (IPv6 has no header checksum), read once or known from the driver's facts.
            OffloadFlags checksums = ReceiveFacts.ChecksumState<TFacts>(m) & ~OffloadFlags.Ipv4ChecksumVerified;
            return Deliver(iface, packet, ip, next, offset, nameField, checksums, linkMulticast, ref datagram);
        }
        if (destination.IsMulticast)
        {
            Drop(packet, Ip6Counter.NotOurGroup);
            return false;
        }
        if (!_stack.Forwarding || linkMulticast)
        {
            Drop(packet, Ip6Counter.NotForwarding);
            return false;
        }
        Forward(iface, packet, in ip);
        return false;
    }

    /// <summary>
    /// Walks the rest of the extension header chain of a packet for us, to its upper layer, with the
    /// checksum state <paramref name="checksums"/> its driver reported.
    /// </summary>
    private bool Deliver(NetInterface iface, PacketBuffer packet, Ipv6Packet ip, IpProtocol next, int offset, int nameField, OffloadFlags checksums, bool linkMulticast, ref IpDatagram datagram)
    {
        while (true)
        {
            switch (next)
            {
                case IpProtocol.Ipv6DestinationOptions:
                {
                    if (!HopByHopOrDestination(iface, packet, ip, offset, out next, out int length))
                        return false;
                    nameField = offset;
                    offset += length;
                    continue;
                }
                case IpProtocol.Ipv6Routing:
                {
                    if (!Ipv6RoutingHeader.TryCreate(ip.Buffer[offset..ip.PacketLength], out Ipv6RoutingHeader routing))
                    {
                        Drop(packet, Ip6Counter.BadExtensionHeader);
                        return false;
                    }
                    if (routing.SegmentsLeft != 0)
                    {
                        // RFC 8200 4.4 (and RFC 5095 for type 0): no routing type is processed here.
                        _counters.Count(Ip6Counter.BadExtensionHeader);
                        _icmp.SendError(iface, ip, Icmpv6Type.ParameterProblem, 0, (uint)(offset + 2));
                        _packets.Drop(packet);
                        return false;
                    }
                    next = routing.NextHeader;
                    nameField = offset;
                    offset += routing.HeaderLength;
                    continue;
                }
                case IpProtocol.Ipv6Fragment:
                {
                    if (!_reassembly.Reassemble(iface, packet, ip, offset, out packet, out ip, out next, out offset, out nameField, out bool atomic))
                        return false;
                    if (!atomic)
                        checksums = OffloadFlags.None; // gathered from fragments: what a driver said of one of them says nothing of the whole
                    continue;
                }
                case IpProtocol.Ipv6NoNextHeader:
                    _counters.Count(Ip6Counter.Delivered);
                    _packets.Consume(packet);
                    return false;
                case IpProtocol.Icmpv6:
                    _counters.Count(Ip6Counter.Delivered);
                    _icmp.Input(iface, packet, ip, offset, checksums);
                    return false;
                case IpProtocol.HopByHop:
                    // RFC 8200 4.1: hop-by-hop options only right after the IPv6 header.
                    _counters.Count(Ip6Counter.BadExtensionHeader);
                    _icmp.SendError(iface, ip, Icmpv6Type.ParameterProblem, 1, (uint)nameField);
                    _packets.Drop(packet);
                    return false;
                default:
                    // A transport's, or none: the dispatcher knows which transports there are.
                    datagram = new IpDatagram
                    {
                        Packet = packet,
                        Interface = iface,
                        Network = ip.Buffer,
                        TransportOffset = offset,
                        Transport = ip.Buffer[offset..Math.Min(ip.PacketLength, ip.Buffer.Length)],
                        TransportLength = ip.PacketLength - offset,
                        Protocol = next,
                        Source = InetAddress.Ipv6(ip.Source),
                        Destination = InetAddress.Ipv6(ip.Destination),
                        HopLimit = ip.HopLimit,
                        IsBroadcast = linkMulticast || ip.Destination.IsMulticast,
                        Offload = checksums,
                        NameField = nameField,
                    };
                    return true;
            }
        }
    }

    /// <summary>
    /// Checks the options of a hop-by-hop or destination options header at <paramref name="offset"/>
    /// (RFC 8200 4.2: the two high bits of an unknown option's type say what to do); false when
    /// the packet was dropped.
    /// </summary>
    private bool HopByHopOrDestination(NetInterface iface, PacketBuffer packet, Ipv6Packet ip, int offset, out IpProtocol next, out int length)
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
            _counters.Count(Ip6Counter.BadExtensionHeader);
            if (action == 2 || (action == 3 && !ip.Destination.IsMulticast))
            {
                int pointer = (int)Unsafe.ByteOffset(ref MemoryMarshal.GetReference(ip.Buffer), ref MemoryMarshal.GetReference(option.Raw));
                _icmp.SendError(iface, ip, Icmpv6Type.ParameterProblem, 2, (uint)pointer);
            }
            _packets.Drop(packet);
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

    /// <summary>Forwards a packet not for us: one hop less, along the route, never fragmented (RFC 8200 5).</summary>
    /// <remarks>
    /// Inlined into <see cref="Input{TFacts}"/>, its one caller, with every refusal and the
    /// super-frame's way in methods of their own: what a packet that is simply forwarded runs is
    /// one body, and the compiler's room for inlining goes to that.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Forward(NetInterface iface, PacketBuffer packet, in Ipv6Packet ip)
    {
        if (ip.HopLimit <= 1)
        {
            Refuse(iface, packet, ip, Ip6Counter.HopLimitExceeded, Icmpv6Type.TimeExceeded, 0, 0);
            return;
        }
        Ipv6Address destination = ip.Destination;
        Ipv6Address source = ip.Source;
        if (destination.IsLinkLocal || source.IsLinkLocal || source.IsUnspecified)
        {
            BeyondScope(iface, packet, ip);
            return;
        }
        Ipv6LpmTable routes = _stack.Routes.Current.Ipv6;
        int index = routes.Lookup(destination);
        if (index == 0)
        {
            Refuse(iface, packet, ip, Ip6Counter.NoRoute, Icmpv6Type.DestinationUnreachable, 0, 0);
            return;
        }
        ref readonly NextHop6 hop = ref routes.NextHop(index); // in place: 32 bytes not copied
        NetInterface output = _stack.Interfaces[hop.Interface];
        if (_pool.Metadata(packet).Gso != GsoType.None)
        {
            ForwardSuperFrame(iface, packet, ip, output, hop.IsDirect ? destination : hop.Gateway);
            return;
        }
        if (ip.PacketLength > output.Mtu)
        {
            TooBig(iface, packet, ip, output);
            return;
        }
        ip.HopLimit--;
        _counters.Count(Ip6Counter.Forwarded);
        if (hop.IsDirect)
            _output.Ipv6SendTo(output, destination, packet);
        else
            _output.Ipv6SendToGateway(output, routes, index, hop.Gateway, packet);
    }

    /// <summary>
    /// Forwards a super-frame (its hop limit checked, its route found): judged by the length of one
    /// segment, not its own (Linux's skb_gso_validate_network_len). One hop less on the
    /// super-frame, which every segment copies.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ForwardSuperFrame(NetInterface iface, PacketBuffer packet, Ipv6Packet ip, NetInterface output, in Ipv6Address nextHop)
    {
        SuperFrame layout = SuperFrame.Read(_pool, packet);
        if (layout.SegmentNetworkLength > output.Mtu)
        {
            TooBig(iface, packet, ip, output);
            return;
        }
        ip.HopLimit--;
        _counters.Count(Ip6Counter.Forwarded);
        _output.Ipv6SendSuperFrame(output, nextHop, packet, layout);
    }

    /// <summary>RFC 8200 5: routers never fragment; the source learns the MTU (RFC 8201).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void TooBig(NetInterface iface, PacketBuffer packet, Ipv6Packet ip, NetInterface output)
        => Refuse(iface, packet, ip, Ip6Counter.TooBig, Icmpv6Type.PacketTooBig, 0, (uint)output.Mtu);

    /// <summary>RFC 4291 2.5.6: link-local packets stay on their link; code 2 is "beyond scope of source address".</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void BeyondScope(NetInterface iface, PacketBuffer packet, Ipv6Packet ip)
    {
        _counters.Count(Ip6Counter.BeyondScope);
        if (!ip.Destination.IsLinkLocal)
            _icmp.SendError(iface, ip, Icmpv6Type.DestinationUnreachable, 2, 0);
        _packets.Drop(packet);
    }

    /// <summary>A packet not forwarded: counted under <paramref name="reason"/>, answered with an ICMPv6 error, released.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Refuse(NetInterface iface, PacketBuffer packet, Ipv6Packet ip, Ip6Counter reason, Icmpv6Type type, byte code, uint info)
    {
        _counters.Count(reason);
        _icmp.SendError(iface, ip, type, code, info);
        _packets.Drop(packet);
    }

    [MethodImpl(MethodImplOptions.NoInlining)] // a refusal: out of the forwarding body
    private void Drop(PacketBuffer packet, Ip6Counter reason)
    {
        _counters.Count(reason);
        _packets.Drop(packet);
    }
}
