using Dataplane.Buffers;
using Dataplane.Stack.Ip;
using Dataplane.Stack.Routing;
using Dataplane.Wire;

namespace Dataplane.Stack;

// IPv4 input (RFC 791, with the checks of RFC 1122 3.2.1 and RFC 1812 5.2.2), forwarding (RFC
// 1812 5.2 and 5.3) and output.
internal sealed partial class StackWorker
{
    private const int Ipv4Header = Ipv4Packet.FixedLength;

    private void Ipv4Input(NetInterface iface, PacketBuffer packet, Span<byte> frame, bool linkMulticast)
    {
        Counters.Count(IpCounter.Received);
        Span<byte> l3 = frame[EthernetHeader..];
        if (l3.Length < Ipv4Header)
        {
            Drop(packet, IpCounter.TooShort);
            return;
        }
        if (l3[0] >> 4 != 4)
        {
            Drop(packet, IpCounter.BadVersion);
            return;
        }
        ref BufferMetadata m = ref _pool.Metadata(packet);
        // A chained frame: the view is over its first buffer, which holds the header (see HeadersInFirstBuffer).
        int available = m.PacketLength - EthernetHeader;
        if (!Ipv4Packet.TryCreate(l3, available, out Ipv4Packet ip, out WireError error))
        {
            Drop(packet, error == WireError.BadTotalLength ? IpCounter.BadLength : IpCounter.BadHeaderLength);
            return;
        }
        if ((m.Offload & OffloadFlags.Ipv4ChecksumVerified) == 0 && !ip.VerifyHeaderChecksum())
        {
            Drop(packet, IpCounter.BadChecksum);
            return;
        }
        if (ip.PacketLength < available)
            _packets.Trim(packet, EthernetHeader + ip.PacketLength); // Ethernet padding, or trailing junk
        Ipv4Address source = ip.Source;
        Ipv4Address destination = ip.Destination;
        LocalKind4 from = _stack.Local.Find(source);
        if (Ipv4Addresses.IsMartian(source) || (from & LocalKind4.Address) != 0 || (from != 0 && iface.IsDirectedBroadcast(source)))
        {
            Drop(packet, IpCounter.MartianSource);
            return;
        }
        uint first = destination.ToUInt32() >> 24;
        if (first == 0 || first == 127)
        {
            Drop(packet, IpCounter.MartianDestination);
            return;
        }
        if (ip.HeaderLength > Ipv4Header && HasSourceRoute(ip))
        {
            Drop(packet, IpCounter.SourceRouted);
            return;
        }
        LocalKind4 to = _stack.Local.Find(destination);
        if ((to & LocalKind4.Address) != 0 || destination.IsBroadcast || (to != 0 && iface.IsDirectedBroadcast(destination)))
        {
            Ipv4Deliver(iface, packet, ip);
            return;
        }
        if (destination.IsMulticast)
        {
            // 224.0.0.1 (all systems) is ours; other groups are neither joined nor routed yet.
            if (destination.ToUInt32() == 0xE0000001)
                Ipv4Deliver(iface, packet, ip);
            else
                Drop(packet, IpCounter.NotForwardable);
            return;
        }
        if (!_stack.Forwarding)
        {
            Drop(packet, IpCounter.NotForwarding);
            return;
        }
        if ((to & LocalKind4.Broadcast) != 0)
        {
            // RFC 2644: a router does not forward directed broadcasts by default (smurf amplifiers).
            Drop(packet, IpCounter.NotForwardable);
            return;
        }
        if (linkMulticast)
        {
            // RFC 1812 5.3.4: a unicast packet in a link-layer broadcast is not forwarded.
            Drop(packet, IpCounter.NotForwardable);
            return;
        }
        Ipv4Forward(iface, packet, ip);
    }

    private void Ipv4Deliver(NetInterface iface, PacketBuffer packet, Ipv4Packet ip)
    {
        if (ip.TimeToLive == 0)
        {
            Drop(packet, IpCounter.ZeroTtl);
            return;
        }
        if (ip.FragmentOffset != 0 || ip.HasFlags(Ipv4Flags.MoreFragments))
        {
            if (!ip.IsContiguous)
            {
                // A fragment that came in a chain (a jumbo frame's): reassembly holds fragments of one buffer each.
                Counters.Count(IpCounter.Fragments);
                Drop(packet, IpCounter.FragmentsDropped);
                return;
            }
            Ipv4Reassemble(iface, packet, ip);
            return;
        }
        if (!ip.IsContiguous)
        {
            // A datagram for us in a chain goes up as a reassembled one does: the view over a linear copy.
            Ipv4Packet.TryCreate(Linearize(packet)[EthernetHeader..], out ip);
        }
        Ipv4Protocol(iface, packet, ip);
    }

    /// <summary>Hands a whole (possibly reassembled) datagram for us to its protocol.</summary>
    private void Ipv4Protocol(NetInterface iface, PacketBuffer packet, Ipv4Packet ip)
    {
        switch (ip.Protocol)
        {
            case IpProtocol.Icmp:
                Counters.Count(IpCounter.Delivered);
                IcmpInput(iface, packet, ip);
                break;
            case IpProtocol.Udp:
                Counters.Count(IpCounter.Delivered);
                UdpInput4(iface, packet, ip);
                break;
            default:
                // RFC 1122 3.2.2.1: protocol unreachable for a transport we do not have.
                Counters.Count(IpCounter.NoProtocol);
                SendIcmpError(iface, ip, Icmpv4Type.DestinationUnreachable, IcmpUnreachable.Protocol, 0);
                _context.Drop(packet);
                break;
        }
    }

    private void Ipv4Forward(NetInterface iface, PacketBuffer packet, Ipv4Packet ip)
    {
        byte ttl = ip.TimeToLive;
        if (ttl <= 1)
        {
            Counters.Count(IpCounter.TtlExceeded);
            SendIcmpError(iface, ip, Icmpv4Type.TimeExceeded, 0, 0);
            _context.Drop(packet);
            return;
        }
        Ipv4Address destination = ip.Destination;
        if (!_stack.Routes.Current.TryLookup(destination, out NextHop4 hop))
        {
            Counters.Count(IpCounter.NoRoute);
            SendIcmpError(iface, ip, Icmpv4Type.DestinationUnreachable, IcmpUnreachable.Network, 0);
            _context.Drop(packet);
            return;
        }
        NetInterface output = _stack.Interfaces[hop.Interface];
        if (ip.PacketLength > output.Mtu)
        {
            if (ip.HasFlags(Ipv4Flags.DontFragment))
            {
                // RFC 1191 4: fragmentation needed, with the MTU of the next hop.
                Counters.Count(IpCounter.CantFragment);
                SendIcmpError(iface, ip, Icmpv4Type.DestinationUnreachable, IcmpUnreachable.FragmentationNeeded, (uint)output.Mtu);
                _context.Drop(packet);
                return;
            }
            ip.SetTimeToLiveUpdatingHeaderChecksum((byte)(ttl - 1));
            Counters.Count(IpCounter.Forwarded);
            CompletePartialChecksum(packet); // the pieces go out with no offload request to finish it
            Ipv4Fragment(output, hop.IsDirect ? destination : hop.Gateway, packet, ip);
            return;
        }
        // RFC 1812 5.3.1 and RFC 1624: one less hop, and the checksum updated for it.
        ip.SetTimeToLiveUpdatingHeaderChecksum((byte)(ttl - 1));
        Counters.Count(IpCounter.Forwarded);
        Ipv4SendTo(output, hop.IsDirect ? destination : hop.Gateway, packet);
    }

    /// <summary>Sends an IPv4 frame to <paramref name="nextHop"/> on <paramref name="iface"/>: broadcast and multicast map to their MAC addresses, unicast goes through ARP.</summary>
    private void Ipv4SendTo(NetInterface iface, Ipv4Address nextHop, PacketBuffer packet)
    {
        if (nextHop.IsBroadcast || iface.IsDirectedBroadcast(nextHop))
        {
            WorkerPackets.WriteMacs(_pool.Data(packet), MacAddress.Broadcast, iface.Mac);
            _context.Transmit(iface.Index, packet);
        }
        else if (nextHop.IsMulticast)
        {
            WorkerPackets.WriteMacs(_pool.Data(packet), Ipv6Addresses.MulticastMac(nextHop), iface.Mac);
            _context.Transmit(iface.Index, packet);
        }
        else
        {
            _link.SendToNeighbor(iface, _stack.Arp[iface.Index], nextHop, packet);
        }
    }

    /// <summary>
    /// Sends a packet this host built: its IPv4 header written at offset 14 but for the route,
    /// which is looked up here. Counts and releases it when there is no route.
    /// </summary>
    private bool Ipv4Output(PacketBuffer packet, Ipv4Address destination)
    {
        if (!_stack.Routes.Current.TryLookup(destination, out NextHop4 hop))
        {
            // A broadcast or a reply to a martian has no route: nothing to do.
            Drop(packet, IpCounter.NoRoute);
            return false;
        }
        NetInterface output = _stack.Interfaces[hop.Interface];
        Counters.Count(IpCounter.LocalOut);
        Span<byte> l3 = _pool.Data(packet)[EthernetHeader..];
        Ipv4Packet.TryCreate(l3, _pool.Metadata(packet).PacketLength - EthernetHeader, out Ipv4Packet ip, out _);
        Ipv4Address nextHop = hop.IsDirect ? destination : hop.Gateway;
        if (ip.PacketLength > output.Mtu)
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
    private void WriteIpv4Header(PacketBuffer packet, Ipv4Address source, Ipv4Address destination, IpProtocol protocol, int totalLength, bool dontFragment = false)
    {
        Span<byte> frame = _pool.Data(packet);
        WorkerPackets.SetEtherType(frame, EtherType.Ipv4);
        WriteIpv4Header(frame[EthernetHeader..], source, destination, protocol, totalLength, dontFragment);
    }

    /// <summary>Writes an IPv4 header without options at the front of <paramref name="l3"/> and fills its checksum.</summary>
    private void WriteIpv4Header(Span<byte> l3, Ipv4Address source, Ipv4Address destination, IpProtocol protocol, int totalLength, bool dontFragment = false)
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
    private void CompletePartialChecksum(PacketBuffer packet)
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
            System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(frame[field..], checksum == 0 ? (ushort)0xFFFF : checksum);
        }
        m.Offload &= ~OffloadFlags.L4ChecksumPartial;
    }

    /// <summary>The first IPv4 address of any interface, for a message from an interface that has none.</summary>
    private bool TryAnySource4(out Ipv4Address source)
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
}
