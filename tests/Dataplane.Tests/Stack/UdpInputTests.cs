using System.Buffers.Binary;
using Dataplane.Buffers;
using Dataplane.Stack;
using Dataplane.Stack.Apps;
using Dataplane.Stack.Transport;
using Dataplane.Wire;
using static Dataplane.Tests.Stack.StackHarness;

namespace Dataplane.Tests.Stack;

/// <summary>UDP input of one worker with literal frames: the checks of RFC 768 and RFC 8200 8.1, port unreachable, echo and discard.</summary>
public class UdpInputTests
{
    private static StackHarness WithEcho(bool ipv6 = false)
    {
        var h = Host();
        Assert.Equal(UdpError.None, h.Udp.Start(new UdpEchoApp(ipv6 ? InetEndpoint.Ipv6(Ipv6Address.Any, 7) : InetEndpoint.Ipv4(Ipv4Address.Any, 7))));
        return h;
    }

    [Fact]
    public void Echo_sends_each_datagram_back_from_the_address_and_port_it_was_sent_to_with_a_correct_checksum()
    {
        StackHarness h = WithEcho();
        byte[] payload = Frames.Payload(101);

        h.Receive(0, Frames.Udp4Frame(h.Mac(0), Client, Ours, 40000, 7, payload));

        byte[] reply = Assert.Single(h.Sent(0));
        Assert.Equal(PeerMac, new MacAddress(reply));
        Assert.Equal(h.Mac(0), new MacAddress(reply.AsSpan(6)));
        Assert.Equal(payload, Frames.CheckUdp4(reply, Ours, 7, Client, 40000));
        Assert.Equal(1, h.Count(UdpCounter.Received));
        Assert.Equal(1, h.Count(UdpCounter.Delivered));
        Assert.Equal(1, h.Count(UdpCounter.Sent));
    }

    [Fact]
    public void Echo_over_ipv6_answers_with_a_correct_checksum()
    {
        StackHarness h = WithEcho(ipv6: true);
        byte[] payload = Frames.Payload(33);

        h.Receive(0, Frames.Udp6Frame(h.Mac(0), Client6, Ours6, 40000, 7, payload));

        byte[] reply = Assert.Single(h.Sent(0));
        Assert.Equal(payload, Frames.CheckUdp6(reply, Ours6, 7, Client6, 40000));
    }

    [Fact]
    public void An_ipv4_socket_does_not_receive_ipv6_datagrams()
    {
        StackHarness h = WithEcho(ipv6: false);

        h.Receive(0, Frames.Udp6Frame(h.Mac(0), Client6, Ours6, 40000, 7, Frames.Payload(8)));

        byte[] error = Assert.Single(h.Sent(0));
        Assert.Equal(58, error[20]); // ICMPv6
        Assert.Equal(1, h.Count(UdpCounter.NoPort));
    }

    [Fact]
    public void Ipv4_datagrams_without_a_checksum_are_accepted_and_answered_with_one()
    {
        StackHarness h = WithEcho();
        byte[] payload = Frames.Payload(20);

        h.Receive(0, Frames.Udp4Frame(h.Mac(0), Client, Ours, 40000, 7, payload, noChecksum: true));

        Assert.Equal(payload, Frames.CheckUdp4(Assert.Single(h.Sent(0)), Ours, 7, Client, 40000));
        Assert.Equal(0, h.Count(UdpCounter.BadChecksum));
    }

    [Fact]
    public void Ipv6_datagrams_with_a_zero_checksum_are_dropped_and_counted()
    {
        StackHarness h = WithEcho(ipv6: true);

        h.Receive(0, Frames.Udp6Frame(h.Mac(0), Client6, Ours6, 40000, 7, Frames.Payload(20), noChecksum: true));

        Assert.Empty(h.Sent(0));
        Assert.Equal(1, h.Count(UdpCounter.ZeroChecksum6));
        Assert.Equal(0, h.Count(UdpCounter.Delivered));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_bad_checksum_is_dropped_and_counted(bool ipv6)
    {
        StackHarness h = WithEcho(ipv6);
        byte[] frame = ipv6
            ? Frames.Udp6Frame(h.Mac(0), Client6, Ours6, 40000, 7, Frames.Payload(20))
            : Frames.Udp4Frame(h.Mac(0), Client, Ours, 40000, 7, Frames.Payload(20));
        frame[^1] ^= 0x40;

        h.Receive(0, frame);

        Assert.Empty(h.Sent(0));
        Assert.Equal(1, h.Count(UdpCounter.BadChecksum));
        Assert.Equal(0, h.Count(UdpCounter.Delivered));
    }

    [Fact]
    public void A_checksum_the_driver_verified_is_not_checked_again()
    {
        StackHarness h = WithEcho();
        byte[] frame = Frames.Udp4Frame(h.Mac(0), Client, Ours, 40000, 7, Frames.Payload(20));
        frame[^1] ^= 0x40; // wrong, but the kernel under the port says it is right

        h.Receive(0, frame, OffloadFlags.L4ChecksumVerified);

        Assert.Single(h.Sent(0));
        Assert.Equal(0, h.Count(UdpCounter.BadChecksum));
        Assert.Equal(1, h.Count(UdpCounter.Delivered));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_partial_checksum_from_the_kernel_is_accepted_and_the_answer_carries_a_whole_one(bool ipv6)
    {
        StackHarness h = WithEcho(ipv6);
        byte[] payload = Frames.Payload(31);
        // NEEDS_CSUM: the field holds the pseudo-header sum only (not complemented), the rest is left to "hardware".
        byte[] udp = ipv6 ? Frames.Udp6(Client6, Ours6, 40000, 7, payload) : Frames.Udp4(Client, Ours, 40000, 7, payload);
        ulong pseudo = ipv6 ? InternetChecksum.PseudoHeaderSum(Client6, Ours6, 17, udp.Length) : InternetChecksum.PseudoHeaderSum(Client, Ours, 17, udp.Length);
        BinaryPrimitives.WriteUInt16BigEndian(udp.AsSpan(6), (ushort)InternetChecksum.FoldToUInt16(pseudo));
        byte[] frame = ipv6 ? Frames.Ipv6Frame(h.Mac(0), Client6, Ours6, 17, udp) : Frames.Ipv4Frame(h.Mac(0), Client, Ours, 17, udp);

        h.Receive(0, frame, OffloadFlags.L4ChecksumPartial);

        byte[] reply = Assert.Single(h.Sent(0));
        Assert.Equal(payload, ipv6 ? Frames.CheckUdp6(reply, Ours6, 7, Client6, 40000) : Frames.CheckUdp4(reply, Ours, 7, Client, 40000));
    }

    [Theory]
    [InlineData("length below the header", 7)]
    [InlineData("length past the IP payload", 8 + 21)]
    public void A_bad_length_is_dropped_and_counted(string what, int length)
    {
        StackHarness h = WithEcho();
        byte[] udp = Frames.Udp4(Client, Ours, 40000, 7, Frames.Payload(20));
        BinaryPrimitives.WriteUInt16BigEndian(udp.AsSpan(4), (ushort)length);

        h.Receive(0, Frames.Ipv4Frame(h.Mac(0), Client, Ours, 17, udp));

        Assert.Empty(h.Sent(0));
        Assert.True(h.Count(UdpCounter.BadLength) == 1, what);
    }

    [Fact]
    public void Bytes_after_the_udp_length_are_trimmed()
    {
        StackHarness h = WithEcho();
        byte[] payload = Frames.Payload(12);
        byte[] udp = Frames.Udp4(Client, Ours, 40000, 7, payload);
        byte[] longer = [.. udp, 0xEE, 0xEE, 0xEE, 0xEE]; // inside the IP packet, outside the datagram

        h.Receive(0, Frames.Ipv4Frame(h.Mac(0), Client, Ours, 17, longer));

        Assert.Equal(payload, Frames.CheckUdp4(Assert.Single(h.Sent(0)), Ours, 7, Client, 40000));
    }

    [Fact]
    public void A_datagram_to_a_closed_port_gets_port_unreachable_quoting_it()
    {
        var h = Host();
        byte[] ip = Frames.Ipv4(Client, Ours, 17, 1, Frames.Udp4(Client, Ours, 40000, 9999, Frames.Payload(30)));

        h.Receive(0, Frames.Ethernet(h.Mac(0), PeerMac, 0x0800, ip));

        byte[] error = Assert.Single(h.Sent(0));
        Span<byte> icmp = error.AsSpan(34);
        Assert.Equal(1, error[23]); // ICMP
        Assert.Equal(Client, new Ipv4Address(error.AsSpan(30)));
        Assert.Equal(3, icmp[0]);
        Assert.Equal(3, icmp[1]);
        Assert.Equal(0, Frames.Checksum(icmp));
        Assert.Equal(ip, icmp[8..].ToArray());
        Assert.Equal(1, h.Count(UdpCounter.NoPort));
        Assert.Equal(1, h.Count(IcmpCounter.ErrorsSent));
    }

    [Fact]
    public void An_ipv6_datagram_to_a_closed_port_gets_port_unreachable_code_4_quoting_it()
    {
        var h = Host();
        byte[] ip = Frames.Ipv6(Client6, Ours6, 17, Frames.Udp6(Client6, Ours6, 40000, 9999, Frames.Payload(30)));

        h.Receive(0, Frames.Ethernet(h.Mac(0), PeerMac, 0x86DD, ip));

        byte[] error = Assert.Single(h.Sent(0));
        Assert.Equal(58, error[20]);
        Span<byte> icmp = error.AsSpan(54);
        Assert.Equal(1, icmp[0]);
        Assert.Equal(4, icmp[1]);
        Assert.Equal(0, Frames.Checksum6(Ours6, Client6, 58, icmp));
        Assert.Equal(ip, icmp[8..].ToArray());
        Assert.Equal(1, h.Count(UdpCounter.NoPort));
    }

    [Fact]
    public void A_broadcast_to_a_closed_port_is_counted_and_not_answered()
    {
        var h = Host();
        Ipv4Address broadcast = Addr("10.10.11.255");

        h.Receive(0, Frames.Udp4Frame(MacAddress.Broadcast, Client, broadcast, 40000, 9999, Frames.Payload(10)));
        h.Receive(0, Frames.Udp4Frame(MacAddress.Broadcast, Client, Ipv4Address.Broadcast, 40000, 9999, Frames.Payload(10)));

        Assert.Empty(h.Sent(0));
        Assert.Equal(2, h.Count(UdpCounter.NoPortBroadcast));
        Assert.Equal(0, h.Count(UdpCounter.NoPort));
    }

    [Fact]
    public void Echo_does_not_answer_broadcasts_or_ports_that_could_loop()
    {
        StackHarness h = WithEcho();

        h.Receive(0, Frames.Udp4Frame(MacAddress.Broadcast, Client, Addr("10.10.11.255"), 40000, 7, Frames.Payload(10)));
        h.Receive(0, Frames.Udp4Frame(h.Mac(0), Client, Ours, 19, 7, Frames.Payload(10))); // chargen
        h.Receive(0, Frames.Udp4Frame(h.Mac(0), Client, Ours, 7, 7, Frames.Payload(10))); // another echo

        Assert.Empty(h.Sent(0));
        Assert.Equal(3, h.Count(UdpCounter.Delivered));
        Assert.Equal(3, h.Count(UdpCounter.AppRefused));
    }

    [Fact]
    public void Discard_counts_and_releases_every_datagram()
    {
        var h = Host();
        var discard = new UdpDiscardApp(InetEndpoint.Ipv4(Ours, 9));
        Assert.Equal(UdpError.None, h.Udp.Start(discard));
        int free = h.Cache.Count + h.Pool.Shared.Count;

        for (int i = 0; i < 10; i++)
            h.Receive(0, Frames.Udp4Frame(h.Mac(0), Client, Ours, (ushort)(40000 + i), 9, Frames.Payload(100 + i)));

        Assert.Empty(h.Sent(0));
        Assert.Equal(10, h.Count(UdpCounter.Delivered));
        Assert.Equal(10, discard.Socket!.Received);
        Assert.Equal(free, h.Cache.Count + h.Pool.Shared.Count);
    }

    [Fact]
    public void Echo_allocates_nothing_per_datagram()
    {
        StackHarness h = WithEcho();
        byte[] frame = Frames.Udp4Frame(h.Mac(0), Client, Ours, 40000, 7, Frames.Payload(64));

        long allocated = SteadyStateAllocation(() => EchoOne(h, frame), 100_000);

        Assert.Equal(0, allocated);
        Assert.Equal(h.Count(UdpCounter.Received), h.Count(UdpCounter.Sent));
    }

    [Fact]
    public void Echo_over_ipv6_allocates_nothing_per_datagram()
    {
        StackHarness h = WithEcho(ipv6: true);
        byte[] frame = Frames.Udp6Frame(h.Mac(0), Client6, Ours6, 40000, 7, Frames.Payload(64));

        long allocated = SteadyStateAllocation(() => EchoOne(h, frame), 100_000);

        Assert.Equal(0, allocated);
        Assert.Equal(h.Count(UdpCounter.Received), h.Count(UdpCounter.Sent));
    }

    private static void EchoOne(StackHarness h, byte[] frame)
    {
        h.Receive(0, frame);
        h.Discard(0);
    }
}
