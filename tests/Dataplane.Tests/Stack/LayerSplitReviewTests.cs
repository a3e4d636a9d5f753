using Dataplane.Buffers;
using Dataplane.Stack;
using Dataplane.Stack.Apps;
using Dataplane.Stack.Transport;
using Dataplane.Wire;
using static Dataplane.Tests.Stack.Fragments.IpFragments;
using static Dataplane.Tests.Stack.Frames;
using static Dataplane.Tests.Stack.StackHarness;

namespace Dataplane.Tests.Stack;

/// <summary>
/// Behaviour the split of StackWorker into layers must keep: what a driver said of the checksum of
/// one fragment says nothing of the reassembled datagram (Reassembler.Gather clears the offload
/// flags), whichever fragment completes it.
/// </summary>
public class LayerSplitReviewTests
{
    /// <summary>
    /// An IPv6 packet cut in two, sent tail first, so that the first fragment (whose buffer heads
    /// the reassembled packet) completes it; the first fragment carries <paramref name="offload"/>.
    /// </summary>
    private static void ReceiveHeadLast(StackHarness h, byte[] packet, OffloadFlags offload)
    {
        int payload = packet.Length - 40;
        byte[] head = Piece6(packet, 0, 32, more: true, id: 0x1234);
        byte[] tail = Piece6(packet, 32, payload - 32, more: false, id: 0x1234);
        h.Receive(0, Ethernet(h.Mac(0), PeerMac, TypeIpv6, tail));
        h.Receive(0, Ethernet(h.Mac(0), PeerMac, TypeIpv6, head), offload);
    }

    [Fact]
    public void A_reassembled_udp6_datagram_is_checksummed_even_when_its_first_fragment_came_last_with_a_verified_flag()
    {
        StackHarness h = Host();
        Assert.Equal(UdpError.None, h.Udp.Start(new UdpEchoApp(InetEndpoint.Ipv6(Ipv6Address.Any, 7))));
        byte[] packet = Ipv6(Client6, Ours6, 17, Udp6(Client6, Ours6, 40000, 7, Payload(64)));
        packet[^1] ^= 0x40; // a wrong checksum

        ReceiveHeadLast(h, packet, OffloadFlags.L4ChecksumVerified);

        Assert.Equal(1, h.Count(Ip6Counter.Reassembled));
        Assert.Equal(1, h.Count(UdpCounter.BadChecksum));
        Assert.Equal(0, h.Count(UdpCounter.Delivered));
        Assert.Empty(h.Sent(0));
    }

    [Fact]
    public void A_reassembled_ping6_is_checksummed_even_when_its_first_fragment_came_last_with_a_verified_flag()
    {
        StackHarness h = Harness();
        byte[] packet = Ipv6(Client6, Ours6, 58, Icmp6Echo(Client6, Ours6, 128, 0x66, 1, 64));
        packet[^1] ^= 0x40; // a wrong checksum

        ReceiveHeadLast(h, packet, OffloadFlags.L4ChecksumVerified);

        Assert.Equal(1, h.Count(Ip6Counter.Reassembled));
        Assert.Equal(1, h.Count(Icmp6Counter.BadChecksum));
        Assert.Equal(0, h.Count(Icmp6Counter.EchoReplies));
        Assert.Empty(h.Sent(0));
    }

    [Fact]
    public void A_reassembled_udp6_datagram_with_a_zero_checksum_is_dropped_even_when_its_first_fragment_came_last_marked_partial()
    {
        StackHarness h = Host();
        Assert.Equal(UdpError.None, h.Udp.Start(new UdpEchoApp(InetEndpoint.Ipv6(Ipv6Address.Any, 7))));
        byte[] packet = Ipv6(Client6, Ours6, 17, Udp6(Client6, Ours6, 40000, 7, Payload(64), noChecksum: true));

        ReceiveHeadLast(h, packet, OffloadFlags.L4ChecksumPartial);

        Assert.Equal(1, h.Count(Ip6Counter.Reassembled));
        Assert.Equal(1, h.Count(UdpCounter.ZeroChecksum6));
        Assert.Equal(0, h.Count(UdpCounter.Delivered));
    }
}
