using Dataplane.Buffers;
using Dataplane.Stack.Neighbors;
using Dataplane.Wire;

namespace Dataplane.Stack.Link;

// Neighbour discovery, RFC 4861 (solicitation and advertisement; routers here neither send nor
// take router advertisements), and duplicate address detection, RFC 4862 5.4.
internal sealed partial class LinkLayer
{
    /// <summary>How long DAD waits for an answer before the tentative addresses become preferred: 1 s (RetransTimer).</summary>
    public const long DadTime = 1_000_000_000;

    /// <summary>RFC 4861 7.1: every ND message arrives with hop limit 255, so it cannot have been routed.</summary>
    private const byte NdHopLimit = 255;

    /// <summary>Handles a neighbour solicitation (ICMPv6 hands it down): learns the sender, answers for our address, or sees a duplicate.</summary>
    public void NeighborSolicitationInput(NetInterface iface, PacketBuffer packet, Ipv6Packet ip, Span<byte> message)
    {
        _counters.Count(Icmp6Counter.NeighborSolicitations);
        if (ip.HopLimit != NdHopLimit)
        {
            Drop(packet, Icmp6Counter.NdBadHopLimit);
            return;
        }
        if (!NeighborSolicitation.TryCreate(message, out NeighborSolicitation ns) || ns.Code != 0 || ns.TargetAddress.IsMulticast
            || !TryLinkLayerOption(ns.EnumerateOptions(), NdpOptionType.SourceLinkLayerAddress, out MacAddress? sourceMac))
        {
            Drop(packet, Icmp6Counter.NdBadFormat);
            return;
        }
        Ipv6Address source = ip.Source;
        Ipv6Address target = ns.TargetAddress;
        // RFC 4861 7.1.1: a DAD probe (unspecified source) goes to the solicited-node group and carries no address option.
        if (source.IsUnspecified && (sourceMac is not null || ip.Destination != Ipv6Address.SolicitedNode(target)))
        {
            Drop(packet, Icmp6Counter.NdBadFormat);
            return;
        }
        InterfaceAddress6? ours = iface.Find(target);
        if (ours is null)
        {
            Drop(packet, Icmp6Counter.NdForeignTarget);
            return;
        }
        if (source.IsUnspecified)
        {
            if (ours.State == AddressState.Tentative)
                MarkDuplicate(iface, ours); // RFC 4862 5.4.3: someone else probes for it too
            else if (ours.Usable)
                SendNeighborAdvertisement(iface, target, Ipv6Addresses.AllNodes, Ipv6Addresses.MulticastMac(Ipv6Addresses.AllNodes), solicited: false);
            _packets.Consume(packet);
            return;
        }
        if (sourceMac is { } mac)
            ConfirmNeighbor(iface, _stack.Nd[iface.Index], source, mac, create: true);
        if (ours.Usable)
        {
            MacAddress replyTo = sourceMac ?? new MacAddress(_pool.Data(packet)[MacAddress.Length..]);
            SendNeighborAdvertisement(iface, target, source, replyTo, solicited: true);
        }
        _packets.Consume(packet);
    }

    /// <summary>Handles a neighbour advertisement (ICMPv6 hands it down): confirms the neighbour, or sees a duplicate of ours.</summary>
    public void NeighborAdvertisementInput(NetInterface iface, PacketBuffer packet, Ipv6Packet ip, Span<byte> message)
    {
        _counters.Count(Icmp6Counter.NeighborAdvertisements);
        if (ip.HopLimit != NdHopLimit)
        {
            Drop(packet, Icmp6Counter.NdBadHopLimit);
            return;
        }
        if (!NeighborAdvertisement.TryCreate(message, out NeighborAdvertisement na) || na.Code != 0 || na.TargetAddress.IsMulticast
            || (ip.Destination.IsMulticast && (na.Flags & NeighborAdvertisementFlags.Solicited) != 0)
            || !TryLinkLayerOption(na.EnumerateOptions(), NdpOptionType.TargetLinkLayerAddress, out MacAddress? targetMac))
        {
            Drop(packet, Icmp6Counter.NdBadFormat);
            return;
        }
        Ipv6Address target = na.TargetAddress;
        if (iface.Find(target) is { } ours)
        {
            if (ours.State == AddressState.Tentative)
                MarkDuplicate(iface, ours);
            else
                _counters.Count(Icmp6Counter.DuplicateAddresses);
            _packets.Consume(packet);
            return;
        }
        NeighborTable<Ipv6Address> table = _stack.Nd[iface.Index];
        if (targetMac is { } mac)
            ConfirmNeighbor(iface, table, target, mac, create: false);
        else if ((na.Flags & NeighborAdvertisementFlags.Solicited) != 0 && table.TryGet(target, out NeighborEntry<Ipv6Address> entry) && entry.HasMac)
        {
            // RFC 4861 7.2.5: a solicited answer without the target's link-layer address (Linux's
            // to a unicast probe, which 7.2.4 allows) confirms the address the entry has; an
            // incomplete entry learns nothing from it.
            ConfirmNeighbor(iface, table, target, entry.Mac, create: false);
        }
        _packets.Consume(packet);
    }

    /// <summary>
    /// Finds the link-layer address option of <paramref name="type"/>; false when the options are
    /// malformed (RFC 4861 4.6: a zero length is invalid).
    /// </summary>
    private static bool TryLinkLayerOption(WireOptionEnumerator options, NdpOptionType type, out MacAddress? mac)
    {
        mac = null;
        while (options.MoveNext())
        {
            WireOption option = options.Current;
            if (option.Type == (byte)type && option.Data.Length >= MacAddress.Length)
                mac = new MacAddress(option.Data);
        }
        return !options.IsMalformed;
    }

    /// <summary>Asks for the link-layer address of <paramref name="target"/>: to its solicited-node group, or unicast to refresh a stale entry.</summary>
    private void SendNeighborSolicitation(NetInterface iface, in Ipv6Address target, MacAddress destination)
    {
        if (!iface.TrySelectSource(target, out Ipv6Address source))
            return;
        bool multicast = destination.IsBroadcast;
        Ipv6Address to = multicast ? Ipv6Address.SolicitedNode(target) : target;
        MacAddress toMac = multicast ? Ipv6Addresses.MulticastMac(to) : destination;
        if (WriteSolicitation(iface, source, to, toMac, target, withSourceOption: true))
            _counters.Count(Icmp6Counter.SolicitationsSent);
    }

    /// <summary>Probes every tentative address of <paramref name="iface"/> (RFC 4862 5.4.2): from ::, to its solicited-node group.</summary>
    private void StartDad(NetInterface iface)
    {
        foreach (InterfaceAddress6 a in iface.Ipv6)
        {
            if (a.State != AddressState.Tentative)
                continue;
            if (WriteSolicitation(iface, Ipv6Address.Any, a.SolicitedNode, Ipv6Addresses.MulticastMac(a.SolicitedNode), a.Address, withSourceOption: false))
                _counters.Count(Icmp6Counter.DadProbesSent);
        }
    }

    /// <summary>DAD is over: the addresses nobody claimed become preferred and are announced (RFC 4861 7.2.6).</summary>
    public void CompleteDad()
    {
        foreach (NetInterface iface in _stack.Interfaces)
        {
            foreach (InterfaceAddress6 a in iface.Ipv6)
            {
                if (a.State != AddressState.Tentative)
                    continue;
                a.State = AddressState.Preferred;
                SendNeighborAdvertisement(iface, a.Address, Ipv6Addresses.AllNodes, Ipv6Addresses.MulticastMac(Ipv6Addresses.AllNodes), solicited: false);
            }
        }
    }

    private void MarkDuplicate(NetInterface iface, InterfaceAddress6 address)
    {
        address.State = AddressState.Duplicated;
        _counters.Count(Icmp6Counter.DuplicateAddresses);
        _stack.Log?.Invoke($"{iface.Name}: duplicate address {address.Address} detected; it is not used");
    }

    private bool WriteSolicitation(NetInterface iface, in Ipv6Address source, in Ipv6Address destination, MacAddress destinationMac, in Ipv6Address target, bool withSourceOption)
    {
        int length = NeighborSolicitation.FixedLength + (withSourceOption ? NdpLinkLayerAddressOption.FixedLength : 0);
        Span<byte> l3 = _packets.New(Ipv6Packet.FixedLength + length, out PacketBuffer packet);
        if (!packet.IsValid)
            return false;
        Span<byte> message = l3.Slice(Ipv6Packet.FixedLength, length);
        new NeighborSolicitation.Repr { TargetAddress = target }.Emit(message);
        if (withSourceOption)
            new NdpLinkLayerAddressOption.Repr { Type = NdpOptionType.SourceLinkLayerAddress, Address = iface.Mac }.Emit(message[NeighborSolicitation.FixedLength..]);
        NeighborSolicitation.TryCreate(message, out NeighborSolicitation ns);
        ns.FillChecksum(source, destination);
        Send(iface, packet, l3, source, destination, length, destinationMac);
        return true;
    }

    /// <summary>Advertises our <paramref name="target"/> address with our MAC address (RFC 4861 7.2.4).</summary>
    private void SendNeighborAdvertisement(NetInterface iface, in Ipv6Address target, in Ipv6Address destination, MacAddress destinationMac, bool solicited)
    {
        int length = NeighborAdvertisement.FixedLength + NdpLinkLayerAddressOption.FixedLength;
        Span<byte> l3 = _packets.New(Ipv6Packet.FixedLength + length, out PacketBuffer packet);
        if (!packet.IsValid)
            return;
        Span<byte> message = l3.Slice(Ipv6Packet.FixedLength, length);
        NeighborAdvertisementFlags flags = NeighborAdvertisementFlags.Override;
        if (solicited)
            flags |= NeighborAdvertisementFlags.Solicited;
        if (_stack.Forwarding)
            flags |= NeighborAdvertisementFlags.Router;
        new NeighborAdvertisement.Repr { Flags = flags, TargetAddress = target }.Emit(message);
        new NdpLinkLayerAddressOption.Repr { Type = NdpOptionType.TargetLinkLayerAddress, Address = iface.Mac }.Emit(message[NeighborAdvertisement.FixedLength..]);
        NeighborAdvertisement.TryCreate(message, out NeighborAdvertisement na);
        na.FillChecksum(target, destination);
        _counters.Count(Icmp6Counter.AdvertisementsSent);
        Send(iface, packet, l3, target, destination, length, destinationMac);
    }

    /// <summary>Sends an ND message: the IPv6 header in front of it (hop limit 255) and the Ethernet header, out of <paramref name="iface"/>.</summary>
    private void Send(NetInterface iface, PacketBuffer packet, Span<byte> l3, in Ipv6Address source, in Ipv6Address destination, int length, MacAddress destinationMac)
    {
        new Ipv6Packet.Repr
        {
            PayloadLength = (ushort)length,
            NextHeader = IpProtocol.Icmpv6,
            HopLimit = NdHopLimit,
            Source = source,
            Destination = destination,
        }.Emit(l3);
        WorkerPackets.WriteEthernet(_pool.Data(packet), destinationMac, iface.Mac, EtherType.Ipv6);
        _context.Transmit(iface.Index, packet);
    }
}
