using Dataplane.Stack;
using Dataplane.Stack.Apps;
using Dataplane.Stack.Transport;
using Dataplane.Tests.Stack;
using Dataplane.Wire;
using static Dataplane.Tests.Stack.StackHarness;

namespace Dataplane.Tests.Stack.Fragments;

public class Ipv6TinyTailTests
{
    [Theory]
    [InlineData(1)] // later fragments carry 1..7 bytes in all: fewer than the fragment header that left
    [InlineData(0)]
    public void An_ipv6_datagram_whose_later_fragments_hold_under_8_bytes_is_reassembled_not_a_crash(int tail)
    {
        StackHarness h = Host();
        Assert.Equal(UdpError.None, h.Udp.Start(new UdpEchoApp(InetEndpoint.Ipv6(Ipv6Address.Any, 7))));
        byte[] packet = Frames.Ipv6(Client6, Ours6, 17, Frames.Udp6(Client6, Ours6, 40000, 7, Frames.Payload(tail)));
        List<byte[]> pieces = [IpFragments.Piece6(packet, 0, 8, more: true, 9), IpFragments.Piece6(packet, 8, tail, more: false, 9)];
        h.Receive(0, IpFragments.FramesFromPeer(pieces, h.Mac(0), 0x86DD)); // a NullReferenceException in review: the payload length set through a view that failed
        Assert.Equal(1, h.Count(Ip6Counter.Reassembled));
        Assert.Equal(1, h.Count(UdpCounter.Delivered));
        byte[] echo = Assert.Single(h.Sent(0));
        Assert.Equal(Frames.Payload(tail), Frames.CheckUdp6(echo, Ours6, 7, Client6, 40000));
        Assert.Equal(0, h.BuffersOutstanding);
    }
}
