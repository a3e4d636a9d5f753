using Dataplane.Buffers;
using Dataplane.Engine;
using Dataplane.Wire;

namespace Dataplane.Stack;

// UDP input: no sockets yet, so every datagram is answered with port unreachable.
internal sealed partial class StackWorker
{
    private void UdpInput4(NetInterface iface, PacketBuffer packet, Ipv4Packet ip)
    {
        Counters.Count(UdpCounter.Received);
        Counters.Count(UdpCounter.NoPort);
        SendIcmpError(iface, ip, Icmpv4Type.DestinationUnreachable, IcmpUnreachable.Port, 0);
        _context.Drop(packet);
    }

    private void UdpInput6(NetInterface iface, PacketBuffer packet, Ipv6Packet ip, int offset)
    {
        Counters.Count(UdpCounter.Received);
        Counters.Count(UdpCounter.NoPort);
        SendIcmp6Error(iface, ip, Icmpv6Type.DestinationUnreachable, 4, 0);
        _context.Drop(packet);
    }

    private void OnTransportTimer(in ExpiredTimer timer)
    {
    }
}
