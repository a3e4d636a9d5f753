using Dataplane.Buffers;
using Dataplane.Wire;

namespace Dataplane.Stack.Link;

// ARP, RFC 826, with the merge rule of its "Packet Reception" section and the announcements of
// RFC 5227 3.
internal sealed partial class LinkLayer
{
    private const int ArpLength = ArpPacket.FixedLength;

    /// <summary>Handles a received ARP frame: learns the sender, answers a request for one of our addresses.</summary>
    public void ArpInput(NetInterface iface, PacketBuffer packet, Span<byte> frame)
    {
        _counters.Count(ArpCounter.Received);
        if (!ArpPacket.TryCreate(frame[WorkerPackets.EthernetHeader..], out ArpPacket arp)
            || arp.HardwareType != 1 || arp.ProtocolType != EtherType.Ipv4 || arp.HardwareLength != MacAddress.Length || arp.ProtocolLength != Ipv4Address.Length
            || arp.Operation is not (ArpOperation.Request or ArpOperation.Reply))
        {
            Drop(packet, ArpCounter.BadFormat);
            return;
        }
        Ipv4Address sender = arp.SenderProtocolAddress;
        Ipv4Address target = arp.TargetProtocolAddress;
        MacAddress senderMac = arp.SenderHardwareAddress;
        if (senderMac.IsMulticast || (!sender.IsUnspecified && Ipv4Addresses.IsMartian(sender)))
        {
            Drop(packet, ArpCounter.BadSender);
            return;
        }
        if (iface.Owns(sender))
        {
            // Somebody else claims our address (RFC 5227 2.4): we keep it, and count.
            Drop(packet, ArpCounter.AddressConflict);
            return;
        }
        bool forUs = iface.Owns(target);
        // RFC 826: update the sender's entry if there is one; make one when the packet is for us.
        // A probe (sender 0.0.0.0, RFC 5227 2.1.1) teaches nothing.
        if (!sender.IsUnspecified)
            ConfirmNeighbor(iface, _stack.Arp[iface.Index], sender, senderMac, create: forUs);
        if (!forUs)
        {
            Drop(packet, ArpCounter.ForeignTarget);
            return;
        }
        if (arp.Operation == ArpOperation.Reply)
        {
            _counters.Count(ArpCounter.RepliesReceived);
            _packets.Consume(packet);
            return;
        }
        // A request for us: turn it into the reply in place.
        _counters.Count(ArpCounter.RequestsForUs);
        arp.Operation = ArpOperation.Reply;
        arp.TargetHardwareAddress = senderMac;
        arp.TargetProtocolAddress = sender;
        arp.SenderHardwareAddress = iface.Mac;
        arp.SenderProtocolAddress = target;
        WorkerPackets.WriteMacs(frame, senderMac, iface.Mac);
        _packets.Trim(packet, WorkerPackets.EthernetHeader + ArpLength); // a request may have come in a chain (a jumbo link's padding)
        _packets.ClearOffloads(packet);
        _counters.Count(ArpCounter.RepliesSent);
        _context.Transmit(iface.Index, packet);
    }

    /// <summary>Broadcasts (or unicasts, to refresh a stale entry) a request for <paramref name="target"/>.</summary>
    private void SendArpRequest(NetInterface iface, Ipv4Address target, MacAddress destination)
    {
        if (!iface.TrySelectSource(target, out Ipv4Address source))
            return;
        if (WriteArp(iface, ArpOperation.Request, source, target, destination))
            _counters.Count(ArpCounter.RequestsSent);
    }

    /// <summary>A gratuitous ARP request for each of our addresses (RFC 5227 3's announcement), so peers learn our MAC address.</summary>
    private void AnnounceArp(NetInterface iface)
    {
        foreach (InterfaceAddress4 a in iface.Ipv4)
        {
            if (WriteArp(iface, ArpOperation.Request, a.Address, a.Address, MacAddress.Broadcast))
                _counters.Count(ArpCounter.AnnouncementsSent);
        }
    }

    private bool WriteArp(NetInterface iface, ArpOperation operation, Ipv4Address sender, Ipv4Address target, MacAddress destination)
    {
        Span<byte> l3 = _packets.New(ArpLength, out PacketBuffer packet);
        if (!packet.IsValid)
            return false;
        ArpPacket.TryCreate(l3, out ArpPacket arp);
        arp.HardwareType = 1;
        arp.ProtocolType = EtherType.Ipv4;
        arp.HardwareLength = MacAddress.Length;
        arp.ProtocolLength = Ipv4Address.Length;
        arp.Operation = operation;
        arp.SenderHardwareAddress = iface.Mac;
        arp.SenderProtocolAddress = sender;
        arp.TargetHardwareAddress = default;
        arp.TargetProtocolAddress = target;
        WorkerPackets.WriteEthernet(_pool.Data(packet), destination, iface.Mac, EtherType.Arp);
        _context.Transmit(iface.Index, packet);
        return true;
    }

    /// <summary>Worker 0's announcement round <paramref name="round"/>: gratuitous ARP, and in the first round the IPv6 DAD probes.</summary>
    public void Announce(int round)
    {
        foreach (NetInterface iface in _stack.Interfaces)
        {
            AnnounceArp(iface);
            if (round == 0)
                StartDad(iface);
        }
    }
}
