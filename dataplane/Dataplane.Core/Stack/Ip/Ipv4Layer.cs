using System.Runtime.CompilerServices;
using Dataplane.Buffers;
using Dataplane.Engine;
using Dataplane.Stack.Fragments;
using Dataplane.Stack.Offload;
using Dataplane.Stack.Routing;
using Dataplane.Wire;

namespace Dataplane.Stack.Ip;

/// <summary>
/// IPv4 input of one worker (RFC 791, with the checks of RFC 1122 3.2.1 and RFC 1812 5.2.2) and
/// forwarding (RFC 1812 5.2 and 5.3): what is for this host goes to ICMP, to reassembly, or up to
/// a transport as an <see cref="IpDatagram"/>; what is not is forwarded through
/// <see cref="IpOutput"/>. Counts under IP. Calls nothing above it: a datagram for a transport is
/// returned to the dispatcher.
/// </summary>
internal sealed class Ipv4Layer
{
    private const int EthernetHeader = WorkerPackets.EthernetHeader;
    private const int Ipv4Header = Ipv4Packet.FixedLength;

    private readonly NetworkStack _stack;
    private readonly BufferPool _pool;
    private readonly WorkerPackets _packets;
    private readonly IpOutput _output;
    private readonly IcmpLayer _icmp;
    private readonly Reassembler _reassembly;
    private readonly StackCounters _counters;

    /// <summary>The IPv4 layer of the worker whose buffers <paramref name="packets"/> handles.</summary>
    public Ipv4Layer(NetworkStack stack, WorkerPackets packets, IpOutput output, IcmpLayer icmp, Reassembler reassembly, StackCounters counters)
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
    /// Takes an IPv4 packet that arrived on <paramref name="iface"/> (in a link-layer broadcast or
    /// multicast when <paramref name="linkMulticast"/>): checks it, forwards it, answers it (ICMP),
    /// reassembles it, or passes it up. True when <paramref name="datagram"/> is a whole datagram for
    /// a transport; false when the packet was dealt with here. Compiled for
    /// <typeparamref name="TFacts"/>, what the packet's driver promises of its checksums.
    /// </summary>
    public bool Input<TFacts>(NetInterface iface, PacketBuffer packet, Span<byte> frame, bool linkMulticast, ref IpDatagram datagram)
        where TFacts : struct, IReceiveFacts
    {
        ref BufferMetadata m = ref _pool.Metadata(packet);
        if ((m.Offload & OffloadFlags.Reassembled) == 0)
            _counters.Count(IpCounter.Received);
        else
            m.Offload &= ~OffloadFlags.Reassembled; // its fragments were counted, on the worker that reassembled it; the mark ends here
        Span<byte> l3 = frame[EthernetHeader..];
        if (l3.Length < Ipv4Header)
        {
            Drop(packet, IpCounter.TooShort);
            return false;
        }
        if (l3[0] >> 4 != 4)
        {
            Drop(packet, IpCounter.BadVersion);
            return false;
        }
        // A chained frame: the view is over its first buffer, into which the dispatcher pulled the header.
        int available = m.PacketLength - EthernetHeader;
        if (!Ipv4Packet.TryCreate(l3, available, out Ipv4Packet ip, out WireError error))
        {
            Drop(packet, error == WireError.BadTotalLength ? IpCounter.BadLength : IpCounter.BadHeaderLength);
            return false;
        }
        // What the driver said of the checksums, read once (or known from its facts without reading):
        // the header's is used here, the transport's above.
        OffloadFlags checksums = ReceiveFacts.ChecksumState<TFacts>(m);
        if ((checksums & OffloadFlags.Ipv4ChecksumVerified) == 0 && !ip.VerifyHeaderChecksum())
        {
            Drop(packet, IpCounter.BadChecksum);
            return false;
        }
        if (ip.PacketLength < available)
            _packets.Trim(packet, EthernetHeader + ip.PacketLength); // Ethernet padding, or trailing junk
        Ipv4Address source = ip.Source;
        Ipv4Address destination = ip.Destination;
        LocalKind4 from = _stack.Local.Find(source);
        if (Ipv4Addresses.IsMartian(source) || (from & LocalKind4.Address) != 0 || (from != 0 && iface.IsDirectedBroadcast(source)))
        {
            Drop(packet, IpCounter.MartianSource);
            return false;
        }
        uint first = destination.ToUInt32() >> 24;
        if (first == 0 || first == 127)
        {
            Drop(packet, IpCounter.MartianDestination);
            return false;
        }
        if (ip.HeaderLength > Ipv4Header && HasSourceRoute(ip))
        {
            Drop(packet, IpCounter.SourceRouted);
            return false;
        }
        LocalKind4 to = _stack.Local.Find(destination);
        if ((to & LocalKind4.Address) != 0 || destination.IsBroadcast || (to != 0 && iface.IsDirectedBroadcast(destination)))
        {
            return Deliver(iface, packet, ip, checksums, linkMulticast, ref datagram);
        }
        if (destination.IsMulticast)
        {
            // 224.0.0.1 (all systems) is ours; other groups are neither joined nor routed yet.
            if (destination.ToUInt32() == 0xE0000001)
                return Deliver(iface, packet, ip, checksums, linkMulticast, ref datagram);
            Drop(packet, IpCounter.NotForwardable);
            return false;
        }
        if (!_stack.Forwarding)
        {
            Drop(packet, IpCounter.NotForwarding);
            return false;
        }
        if ((to & LocalKind4.Broadcast) != 0)
        {
            // RFC 2644: a router does not forward directed broadcasts by default (smurf amplifiers).
            Drop(packet, IpCounter.NotForwardable);
            return false;
        }
        if (linkMulticast)
        {
            // RFC 1812 5.3.4: a unicast packet in a link-layer broadcast is not forwarded.
            Drop(packet, IpCounter.NotForwardable);
            return false;
        }
        Forward(iface, packet, in ip);
        return false;
    }

    /// <summary>
    /// A packet for this host, with the checksum state <paramref name="checksums"/> its driver
    /// reported: reassembled when a fragment, then handed to its protocol.
    /// </summary>
    private bool Deliver(NetInterface iface, PacketBuffer packet, Ipv4Packet ip, OffloadFlags checksums, bool linkMulticast, ref IpDatagram datagram)
    {
        if (ip.TimeToLive == 0)
        {
            Drop(packet, IpCounter.ZeroTtl);
            return false;
        }
        if (ip.FragmentOffset != 0 || ip.HasFlags(Ipv4Flags.MoreFragments))
        {
            if (!ip.IsContiguous)
            {
                // A fragment that came in a chain (a jumbo frame's): reassembly holds fragments of one buffer each.
                _counters.Count(IpCounter.Fragments);
                Drop(packet, IpCounter.FragmentsDropped);
                return false;
            }
            if (!_reassembly.Reassemble(iface, packet, ip, out packet, out ip))
                return false;
            return Protocol(iface, packet, ip, OffloadFlags.None, linkMulticast, ref datagram); // no driver vouches for a reassembled datagram
        }
        if (!ip.IsContiguous && ip.Protocol != IpProtocol.Tcp)
        {
            // A datagram for us in a chain goes up as a reassembled one does: the view over a linear
            // copy. TCP reads its header in the first buffer and queues the chain (IpDatagram.TransportLength).
            Ipv4Packet.TryCreate(_packets.Linearize(packet)[EthernetHeader..], out ip);
        }
        return Protocol(iface, packet, ip, checksums, linkMulticast, ref datagram);
    }

    /// <summary>
    /// Hands a whole (possibly reassembled) datagram for us to its protocol: ICMP here, any other
    /// up as an <see cref="IpDatagram"/> (the dispatcher knows which transports there are).
    /// </summary>
    private bool Protocol(NetInterface iface, PacketBuffer packet, Ipv4Packet ip, OffloadFlags checksums, bool linkMulticast, ref IpDatagram datagram)
    {
        if (ip.Protocol == IpProtocol.Icmp)
        {
            _counters.Count(IpCounter.Delivered);
            _icmp.Input(iface, packet, ip, checksums);
            return false;
        }
        Ipv4Address destination = ip.Destination;
        datagram = new IpDatagram
        {
            Packet = packet,
            Interface = iface,
            Network = ip.Buffer,
            TransportOffset = ip.HeaderLength,
            Transport = ip.Payload,
            TransportLength = ip.PacketLength - ip.HeaderLength,
            Protocol = ip.Protocol,
            Source = InetAddress.Ipv4(ip.Source),
            Destination = InetAddress.Ipv4(destination),
            HopLimit = ip.TimeToLive,
            IsBroadcast = linkMulticast || destination.IsBroadcast || destination.IsMulticast || iface.IsDirectedBroadcast(destination),
            Offload = checksums & ~OffloadFlags.Ipv4ChecksumVerified,
        };
        return true;
    }

    /// <summary>Forwards a packet not for us (RFC 1812 5.2): one hop less, along the route, in fragments when it passes the MTU and may be cut.</summary>
    /// <remarks>
    /// Inlined into <see cref="Input{TFacts}"/>, its one caller, with every refusal and the rarer
    /// ways (a super-frame, a packet over the MTU) in methods of their own: what a packet that is
    /// simply forwarded runs is one body, and the compiler's room for inlining goes to that.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Forward(NetInterface iface, PacketBuffer packet, in Ipv4Packet ip)
    {
        if (ip.TimeToLive <= 1)
        {
            Refuse(iface, packet, ip, IpCounter.TtlExceeded, Icmpv4Type.TimeExceeded, 0, 0);
            return;
        }
        Ipv4Address destination = ip.Destination;
        RoutingTable routes = _stack.Routes.Current;
        if (!routes.TryLookup(destination, out NextHop4 hop, out int index))
        {
            Refuse(iface, packet, ip, IpCounter.NoRoute, Icmpv4Type.DestinationUnreachable, IcmpUnreachable.Network, 0);
            return;
        }
        NetInterface output = _stack.Interfaces[hop.Interface];
        if (_pool.Metadata(packet).Gso != GsoType.None)
        {
            ForwardSuperFrame(iface, packet, ip, output, hop.IsDirect ? destination : hop.Gateway);
            return;
        }
        if (ip.PacketLength > output.Mtu)
        {
            ForwardOverMtu(iface, packet, ip, output, hop.IsDirect ? destination : hop.Gateway);
            return;
        }
        // RFC 1812 5.3.1 and RFC 1624: one less hop, and the checksum updated for it.
        ip.DecrementTimeToLive();
        _counters.Count(IpCounter.Forwarded);
        if (hop.IsDirect)
            _output.Ipv4SendTo(output, destination, packet);
        else
            _output.Ipv4SendToGateway(output, routes.Ipv4, index, hop.Gateway, packet);
    }

    /// <summary>A packet longer than the next hop's MTU: refused with its MTU when it may not be cut (RFC 1191 4), else one hop less and fragmented.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ForwardOverMtu(NetInterface iface, PacketBuffer packet, Ipv4Packet ip, NetInterface output, Ipv4Address nextHop)
    {
        if (ip.HasFlags(Ipv4Flags.DontFragment))
        {
            Refuse(iface, packet, ip, IpCounter.CantFragment, Icmpv4Type.DestinationUnreachable, IcmpUnreachable.FragmentationNeeded, (uint)output.Mtu);
            return;
        }
        ip.DecrementTimeToLive();
        _counters.Count(IpCounter.Forwarded);
        _output.CompletePartialChecksum(packet); // the pieces go out with no offload request to finish it
        _output.Ipv4Fragment(output, nextHop, packet, ip);
    }

    /// <summary>A packet not forwarded: counted under <paramref name="reason"/>, answered with an ICMP error, released.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Refuse(NetInterface iface, PacketBuffer packet, Ipv4Packet ip, IpCounter reason, Icmpv4Type type, byte code, uint info)
    {
        _counters.Count(reason);
        _icmp.SendError(iface, ip, type, code, info);
        _packets.Drop(packet);
    }

    /// <summary>
    /// Forwards a super-frame (its TTL checked, its route found): judged by the length of one
    /// segment, not its own (Linux's skb_gso_validate_network_len), so a segment above the MTU with
    /// DF is answered with fragmentation needed and the MTU (RFC 1191 4), and one without DF is cut
    /// and fragmented. One hop less on the super-frame, which every segment copies.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ForwardSuperFrame(NetInterface iface, PacketBuffer packet, Ipv4Packet ip, NetInterface output, Ipv4Address nextHop)
    {
        SuperFrame layout = SuperFrame.Read(_pool, packet);
        if (layout.SegmentNetworkLength > output.Mtu && ip.HasFlags(Ipv4Flags.DontFragment))
        {
            Refuse(iface, packet, ip, IpCounter.CantFragment, Icmpv4Type.DestinationUnreachable, IcmpUnreachable.FragmentationNeeded, (uint)output.Mtu);
            return;
        }
        ip.DecrementTimeToLive();
        _counters.Count(IpCounter.Forwarded);
        _output.Ipv4SendSuperFrame(output, nextHop, packet, layout);
    }

    /// <summary>True when the options hold a loose or strict source route (RFC 791 3.1, types 131 and 137).</summary>
    private static bool HasSourceRoute(Ipv4Packet ip)
    {
        foreach (WireOption option in ip.EnumerateOptions())
        {
            if (option.Type is 131 or 137)
                return true;
        }
        return false;
    }

    [MethodImpl(MethodImplOptions.NoInlining)] // a refusal: out of the forwarding body
    private void Drop(PacketBuffer packet, IpCounter reason)
    {
        _counters.Count(reason);
        _packets.Drop(packet);
    }
}
