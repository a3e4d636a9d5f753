using System.Buffers.Binary;
using Dataplane.Stack;
using Dataplane.Stack.Routing;
using Dataplane.Wire;
using static Dataplane.Tests.Stack.StackHarness;

namespace Dataplane.Tests.Stack;

/// <summary>Review of 76ea3b0: segments a host must not answer with a reset though they find no connection.</summary>
public class TcpClosedPortReviewTests
{
    private const byte Syn = 0x02;

    private static byte[] Segment(in Ipv6Address source, in Ipv6Address destination)
    {
        byte[] t = new byte[20];
        BinaryPrimitives.WriteUInt16BigEndian(t, 40000);
        BinaryPrimitives.WriteUInt16BigEndian(t.AsSpan(2), 80);
        BinaryPrimitives.WriteUInt32BigEndian(t.AsSpan(4), 1000);
        t[12] = 5 << 4;
        t[13] = Syn;
        BinaryPrimitives.WriteUInt16BigEndian(t.AsSpan(14), 64240);
        BinaryPrimitives.WriteUInt16BigEndian(t.AsSpan(16), Frames.Checksum6(source, destination, 6, t));
        return t;
    }

    private static byte[] Segment4()
    {
        byte[] t = new byte[20];
        BinaryPrimitives.WriteUInt16BigEndian(t, 40000);
        BinaryPrimitives.WriteUInt16BigEndian(t.AsSpan(2), 80);
        BinaryPrimitives.WriteUInt32BigEndian(t.AsSpan(4), 1000);
        t[12] = 5 << 4;
        t[13] = Syn;
        BinaryPrimitives.WriteUInt16BigEndian(t.AsSpan(14), 64240);
        BinaryPrimitives.WriteUInt16BigEndian(t.AsSpan(16), Frames.Checksum4(Client, Ours, 6, t));
        return t;
    }

    /// <summary>
    /// RFC 4291 2.5.2: the unspecified address is never a destination. ICMPv6 suppresses its errors
    /// to :: (IcmpLayer.V6 SendError); TCP sent a reset to ::, here along the default route, until
    /// it dropped and counted such segments.
    /// </summary>
    [Fact]
    public void A_segment_from_the_unspecified_address_gets_no_reset()
    {
        StackHarness h = Host();
        Assert.Equal(RouteChange.Added, h.Stack.Routes.Add(Ipv6Address.Any, 0, new NextHop6(0, Client6, RouteOrigin.Static)));

        h.Receive(0, Frames.Ipv6Frame(h.Mac(0), Ipv6Address.Any, Ours6, 6, Segment(Ipv6Address.Any, Ours6)));

        Assert.Equal(0, h.Count(TcpCounter.ResetsSent));
        Assert.Equal(1, h.Count(TcpCounter.UnspecifiedSource));
        Assert.Empty(h.Sent(0));
        Assert.Equal(0, h.BuffersOutstanding);
    }

    /// <summary>
    /// RFC 1122 3.3.6 (SHOULD discard a datagram received via a link-layer broadcast whose IP
    /// destination is unicast); Linux's tcp_v4_rcv drops any segment whose pkt_type is not
    /// PACKET_HOST. A unicast SYN in a broadcast frame was answered with a reset until the IP layer
    /// marked such datagrams as broadcast.
    /// </summary>
    [Fact]
    public void A_unicast_segment_in_a_link_layer_broadcast_gets_no_reset()
    {
        StackHarness h = Host();

        h.Receive(0, Frames.Ipv4Frame(MacAddress.Broadcast, Client, Ours, 6, Segment4()));

        Assert.Equal(0, h.Count(TcpCounter.ResetsSent));
        Assert.Equal(1, h.Count(TcpCounter.Broadcast));
        Assert.Empty(h.Sent(0));
    }
}
