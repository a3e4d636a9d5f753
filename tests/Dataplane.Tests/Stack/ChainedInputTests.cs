using System.Buffers.Binary;
using Dataplane.Buffers;
using Dataplane.Stack;
using Dataplane.Stack.Transport;
using Dataplane.Wire;
using static Dataplane.Tests.Stack.StackHarness;

namespace Dataplane.Tests.Stack;

/// <summary>
/// Frames longer than one buffer, as a driver with a jumbo MTU hands them in a chain: forwarded as
/// they are (or in fragments), delivered to ICMP and UDP, and answered; headers split over the first
/// buffers are pulled up. Every buffer comes back.
/// </summary>
public class ChainedInputTests
{
    private const int Jumbo = 9000;

    private static StackHarness JumboRouter(int mtu1 = Jumbo)
        => Router(mtu0: Jumbo, mtu1: mtu1).Started().KnowingPeers();

    [Theory]
    [InlineData(0)]  // the first buffer full, as drivers fill it
    [InlineData(20)] // the IP header split over two buffers: pulled up
    public void A_9000_byte_ipv4_frame_in_a_chain_is_forwarded_whole(int first)
    {
        StackHarness h = JumboRouter();
        byte[] payload = Frames.Payload(Jumbo - 20 - 8);
        byte[] frame = Frames.Udp4Frame(h.Mac(0), Client, Server, 40000, 9, payload);
        Assert.Equal(14 + Jumbo, frame.Length);
        h.ReceiveChained(0, frame, first);
        List<byte[]> sent = h.Sent(1);
        byte[] forwarded = Assert.Single(sent);
        Assert.Equal(frame.Length, forwarded.Length);
        Assert.Equal(63, forwarded[14 + 8]); // one hop less
        Assert.Equal(payload, Frames.CheckUdp4(forwarded, Client, 40000, Server, 9));
        Assert.True(InternetChecksum.IsValid(forwarded.AsSpan(14, 20)));
        Assert.Equal(1, h.Count(IpCounter.Forwarded));
        Assert.Equal(0, h.Count(EtherCounter.Chained));
        Assert.Equal(0, h.BuffersOutstanding);
    }

    [Fact]
    public void A_9000_byte_ipv6_frame_in_a_chain_is_forwarded_whole()
    {
        StackHarness h = JumboRouter();
        byte[] payload = Frames.Payload(Jumbo - 40 - 8);
        byte[] frame = Frames.Udp6Frame(h.Mac(0), Client6, Server6, 40000, 9, payload);
        h.ReceiveChained(0, frame);
        byte[] forwarded = Assert.Single(h.Sent(1));
        Assert.Equal(63, forwarded[14 + 7]);
        Assert.Equal(payload, Frames.CheckUdp6(forwarded, Client6, 40000, Server6, 9));
        Assert.Equal(1, h.Count(Ip6Counter.Forwarded));
        Assert.Equal(0, h.BuffersOutstanding);
    }

    [Fact]
    public void A_chained_ipv4_frame_toward_a_smaller_mtu_leaves_in_fragments_that_reassemble_to_it()
    {
        StackHarness h = JumboRouter(mtu1: 1500);
        byte[] payload = Frames.Payload(Jumbo - 20 - 8, seed: 3);
        byte[] frame = Frames.Udp4Frame(h.Mac(0), Client, Server, 40000, 9, payload);
        h.ReceiveChained(0, frame);
        List<byte[]> fragments = h.Sent(1);
        Assert.Equal(7, fragments.Count); // 8980 bytes of IP payload in pieces of 1480
        Assert.All(fragments, f => Assert.True(f.Length <= 14 + 1500));
        Assert.All(fragments, f => Assert.True(InternetChecksum.IsValid(f.AsSpan(14, 20))));
        // Put back together by offset, the pieces are the datagram that came in, a hop later.
        byte[] data = new byte[Jumbo - 20];
        foreach (byte[] f in fragments)
        {
            int offset = (System.Buffers.Binary.BinaryPrimitives.ReadUInt16BigEndian(f.AsSpan(14 + 6)) & 0x1FFF) * 8;
            int length = System.Buffers.Binary.BinaryPrimitives.ReadUInt16BigEndian(f.AsSpan(14 + 2)) - 20;
            f.AsSpan(14 + 20, length).CopyTo(data.AsSpan(offset));
        }
        Assert.Equal(frame.AsSpan(14 + 20).ToArray(), data);
        Assert.Equal(7, h.Count(IpCounter.FragmentsCreated));
        Assert.Equal(0, h.BuffersOutstanding);
    }

    [Theory]
    [InlineData(0)]  // the first buffer full, as drivers fill it
    [InlineData(20)] // the IP header split over two buffers
    public void A_chained_ipv4_datagram_with_dont_fragment_toward_a_1500_mtu_gets_fragmentation_needed_with_1500(int first)
    {
        // RFC 1191 4: code 4 with the next-hop MTU; RFC 1812 4.3.2.3: the quote is the header and as
        // much of the datagram as fits in 576 bytes, here taken from a chain.
        StackHarness h = JumboRouter(mtu1: 1500);
        byte[] frame = Frames.Udp4Frame(h.Mac(0), Client, Server, 40000, 9, Frames.Payload(Jumbo - 20 - 8, seed: 4));
        frame[14 + 6] |= 0x40; // DF
        frame[14 + 10] = frame[14 + 11] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(14 + 10), Frames.Checksum(frame.AsSpan(14, 20)));
        h.ReceiveChained(0, frame, first);

        Assert.Empty(h.Sent(1));
        byte[] error = Assert.Single(h.Sent(0));
        Assert.True(InternetChecksum.IsValid(error.AsSpan(14, 20)));
        Assert.Equal(Client, new Ipv4Address(error.AsSpan(14 + 16, 4)));
        Span<byte> icmp = error.AsSpan(34);
        Assert.Equal(3, icmp[0]);
        Assert.Equal(4, icmp[1]);
        Assert.Equal(1500, BinaryPrimitives.ReadUInt16BigEndian(icmp[6..]));
        Assert.True(InternetChecksum.IsValid(icmp));
        Assert.True(error.Length - 14 <= 576, $"{error.Length - 14} bytes");
        Assert.True(icmp.Length - 8 >= 20 + 8, "the quote holds the IP header and 8 bytes");
        Assert.Equal(frame.AsSpan(14 + 20, icmp.Length - 8 - 20).ToArray(), icmp[(8 + 20)..].ToArray()); // the datagram's bytes, from across the chain
        Assert.Equal(1, h.Count(IpCounter.CantFragment));
        Assert.Equal(0, h.BuffersOutstanding);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(40)] // the IPv6 header split over two buffers
    public void A_chained_ipv6_packet_toward_a_1500_mtu_gets_packet_too_big_with_1500(int first)
    {
        // RFC 4443 3.2: the MTU of the next hop, and as much of the packet as fits in 1280 (2.4 c).
        StackHarness h = JumboRouter(mtu1: 1500);
        byte[] frame = Frames.Udp6Frame(h.Mac(0), Client6, Server6, 40000, 9, Frames.Payload(Jumbo - 40 - 8, seed: 6));
        h.ReceiveChained(0, frame, first);

        Assert.Empty(h.Sent(1));
        byte[] error = Assert.Single(h.Sent(0));
        Span<byte> icmp = error.AsSpan(54);
        Assert.Equal(2, icmp[0]);
        Assert.Equal(0, icmp[1]);
        Assert.Equal(1500u, BinaryPrimitives.ReadUInt32BigEndian(icmp[4..]));
        Assert.Equal(0, Frames.Checksum6(new Ipv6Address(error.AsSpan(22)), Client6, 58, icmp));
        if (first == 0)
            Assert.Equal(1280, error.Length - 14); // filled to the minimum MTU from a head filled as drivers fill it
        else
            Assert.True(error.Length - 14 is >= 40 + 8 + 48 and <= 1280); // a pulled-up head holds what was pulled up, and the quote is the head's (IcmpLayer.SendError)
        Assert.Equal(frame.AsSpan(14, icmp.Length - 8).ToArray(), icmp[8..].ToArray()); // the packet's first bytes, from across the chain
        Assert.Equal(1, h.Count(Ip6Counter.TooBig));
        Assert.Equal(0, h.BuffersOutstanding);
    }

    [Fact]
    public void A_chained_frame_whose_ip_length_is_shorter_is_trimmed_to_it()
    {
        StackHarness h = JumboRouter();
        byte[] payload = Frames.Payload(5000);
        byte[] frame = Frames.Udp4Frame(h.Mac(0), Client, Server, 40000, 9, payload);
        byte[] padded = [.. frame, .. new byte[3000]]; // junk behind the datagram, in buffers of its own
        h.ReceiveChained(0, padded);
        byte[] forwarded = Assert.Single(h.Sent(1));
        Assert.Equal(frame.Length, forwarded.Length);
        Assert.Equal(payload, Frames.CheckUdp4(forwarded, Client, 40000, Server, 9));
        Assert.Equal(0, h.BuffersOutstanding);
    }

    [Fact]
    public void A_jumbo_ping_in_a_chain_is_answered_whole()
    {
        StackHarness h = JumboRouter();
        byte[] echo = Frames.IcmpEcho(8, 7, 1, Jumbo - 20 - 8);
        h.ReceiveChained(0, Frames.Ipv4Frame(h.Mac(0), Client, Ours, 1, echo));
        List<byte[]> sent = h.Sent(0);
        byte[] reply = Assert.Single(sent);
        Assert.Equal(14 + Jumbo, reply.Length);
        Assert.Equal(0, reply[14 + 20]); // echo reply
        Assert.Equal(echo.AsSpan(4).ToArray(), reply.AsSpan(14 + 20 + 4).ToArray());
        Assert.True(InternetChecksum.IsValid(reply.AsSpan(14 + 20)));
        Assert.Equal(0, h.BuffersOutstanding);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_jumbo_udp_datagram_in_a_chain_reaches_the_echo_app_and_comes_back_whole(bool ipv6)
    {
        StackHarness h = JumboRouter();
        Assert.Equal(UdpError.None, h.Udp.Start(new Dataplane.Stack.Apps.UdpEchoApp(ipv6 ? InetEndpoint.Ipv6(Ours6, 7) : InetEndpoint.Ipv4(Ours, 7))));
        byte[] payload = Frames.Payload(Jumbo - (ipv6 ? 40 : 20) - 8, seed: 5);
        byte[] frame = ipv6
            ? Frames.Udp6Frame(h.Mac(0), Client6, Ours6, 40000, 7, payload)
            : Frames.Udp4Frame(h.Mac(0), Client, Ours, 40000, 7, payload);
        h.ReceiveChained(0, frame);
        byte[] reply = Assert.Single(h.Sent(0));
        byte[] echoed = ipv6 ? Frames.CheckUdp6(reply, Ours6, 7, Client6, 40000) : Frames.CheckUdp4(reply, Ours, 7, Client, 40000);
        Assert.Equal(payload, echoed);
        Assert.Equal(1, h.Count(UdpCounter.Delivered));
        Assert.Equal(0, h.BuffersOutstanding);
    }

    [Fact]
    public void Headers_that_cannot_be_pulled_into_the_first_buffer_are_dropped_and_counted()
    {
        StackHarness h = JumboRouter();
        byte[] frame = Frames.Udp4Frame(h.Mac(0), Client, Server, 40000, 9, Frames.Payload(3000));
        // The first buffer holds 20 bytes and ends with its buffer: the IP header cannot follow into it.
        h.ReceiveChained(0, frame, first: 20, noRoom: true);
        Assert.Empty(h.Sent(1));
        Assert.Equal(1, h.Count(EtherCounter.Chained));
        Assert.Equal(0, h.BuffersOutstanding);
    }
}
