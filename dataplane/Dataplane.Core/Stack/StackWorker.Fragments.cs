using Dataplane.Buffers;
using Dataplane.Wire;

namespace Dataplane.Stack;

// Fragments: not reassembled or created yet; counted and dropped.
internal sealed partial class StackWorker
{
    private void Ipv4Reassemble(NetInterface iface, PacketBuffer packet, Ipv4Packet ip)
    {
        Counters.Count(IpCounter.Fragments);
        Drop(packet, IpCounter.FragmentsDropped);
    }

    private void Ipv4Fragment(NetInterface output, Ipv4Address nextHop, PacketBuffer packet, Ipv4Packet ip)
    {
        Drop(packet, IpCounter.CantFragment);
    }

    private void Ipv6Reassemble(NetInterface iface, PacketBuffer packet, Ipv6Packet ip, int offset)
    {
        Counters.Count(Ip6Counter.Fragments);
        Drop(packet, Ip6Counter.FragmentsDropped);
    }

    private void Ipv6Fragment(NetInterface output, in Ipv6Address nextHop, PacketBuffer packet, Ipv6Packet ip)
    {
        Drop(packet, Ip6Counter.TooBig);
    }
}
