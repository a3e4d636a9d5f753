using System.Buffers.Binary;
using Dataplane.Stack;
using Dataplane.Wire;
using static Dataplane.Tests.Stack.StackHarness;

namespace Dataplane.Tests.Stack;

/// <summary>ARP, IPv4 input, ICMP and IPv4 forwarding of one StackWorker, with literal frames over memory ports.</summary>
public class Ipv4StackTests
{
    private static readonly Ipv4Address Left = Client;
    private static readonly Ipv4Address Right = Server;

    [Fact]
    public void An_arp_request_for_our_address_gets_a_reply_with_our_mac_and_teaches_us_the_asker()
    {
        StackHarness h = Router().Started();

        h.Receive(0, Frames.ArpRequest(PeerMac, Left, Ours));

        byte[] reply = Assert.Single(h.Sent(0));
        Assert.Equal(Frames.ArpReply(h.Mac(0), Ours, PeerMac, Left), reply);
        Assert.True(h.Stack.Arp[0].TryGet(Left, out var entry) && entry.Mac == PeerMac);
        Assert.Equal(1, h.Count(ArpCounter.RepliesSent));
    }

    [Fact]
    public void An_arp_request_for_a_foreign_address_is_dropped_and_counted_and_teaches_nothing()
    {
        StackHarness h = Router().Started();

        h.Receive(0, Frames.ArpRequest(PeerMac, Left, Addr("10.10.11.77")));

        Assert.Empty(h.Sent(0));
        Assert.Equal(1, h.Count(ArpCounter.ForeignTarget));
        Assert.Equal(0, h.Stack.Arp[0].Count);
    }

    [Fact]
    public void Our_addresses_are_announced_with_gratuitous_arp_three_times_a_second_apart()
    {
        StackHarness h = Router();
        byte[] announcement = Frames.Arp(MacAddress.Broadcast, h.Mac(0), 1, Ours, default, Ours);

        h.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Contains(h.Sent(0), f => f.AsSpan().SequenceEqual(announcement));
        h.Advance(TimeSpan.FromMilliseconds(500));
        Assert.DoesNotContain(h.Sent(0), f => f[12] == 0x08 && f[13] == 0x06);
        h.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(2, h.Sent(0).Count(f => f.AsSpan().SequenceEqual(announcement)));
    }

    [Fact]
    public void An_echo_request_waits_for_arp_and_its_reply_goes_out_once_the_asker_answers()
    {
        StackHarness h = Router().Started();

        h.Receive(0, Frames.Ipv4Frame(h.Mac(0), Left, Ours, 1, Frames.IcmpEcho(8, 0x1234, 7, 56)));

        // We do not know the asker's MAC yet: an ARP request goes out, the reply waits.
        byte[] request = Assert.Single(h.Sent(0));
        Assert.Equal(Frames.ArpRequest(h.Mac(0), Ours, Left), request);
        Assert.Equal(1, h.Count(ArpCounter.Held));

        h.Receive(0, Frames.ArpReply(PeerMac, Left, h.Mac(0), Ours));

        byte[] reply = Assert.Single(h.Sent(0));
        Assert.Equal(PeerMac, new MacAddress(reply));
        Assert.Equal(h.Mac(0), new MacAddress(reply.AsSpan(6)));
        Span<byte> ip = reply.AsSpan(14);
        Assert.Equal(0, Frames.Checksum(ip[..20]));
        Assert.Equal(Ours, new Ipv4Address(ip[12..]));
        Assert.Equal(Left, new Ipv4Address(ip[16..]));
        Assert.Equal(64, ip[8]);
        Span<byte> icmp = ip[20..];
        Assert.Equal(0, icmp[0]); // echo reply
        Assert.Equal(0, Frames.Checksum(icmp));
        Assert.Equal(Frames.IcmpEcho(0, 0x1234, 7, 56).AsSpan(4).ToArray(), icmp[4..].ToArray());
        Assert.Equal(1, h.Count(IcmpCounter.EchoReplies));
    }

    [Fact]
    public void A_forwarded_packet_loses_one_ttl_keeps_a_valid_checksum_and_leaves_with_the_next_hops_mac()
    {
        StackHarness h = Router().Started();
        h.KnowPeer(1, "10.10.12.4");
        byte[] udp = Frames.Udp4(Left, Right, 5000, 6000, 100);

        h.Receive(0, Frames.Ipv4Frame(h.Mac(0), Left, Right, 17, udp, ttl: 17));

        byte[] sent = Assert.Single(h.Sent(1));
        Assert.Equal(PeerMac, new MacAddress(sent));
        Assert.Equal(h.Mac(1), new MacAddress(sent.AsSpan(6)));
        Assert.Equal(16, sent[14 + 8]);
        Assert.Equal(0, Frames.Checksum(sent.AsSpan(14, 20)));
        Assert.Equal(udp, sent.AsSpan(34).ToArray());
        Assert.Equal(1, h.Count(IpCounter.Forwarded));
        Assert.Empty(h.Sent(0));
    }

    [Fact]
    public void Time_to_live_1_is_not_forwarded_and_the_source_gets_time_exceeded_from_the_incoming_interface()
    {
        StackHarness h = Router().Started();
        h.KnowPeer(0, "10.10.11.1");
        byte[] original = Frames.Ipv4(Left, Right, 17, 1, Frames.Udp4(Left, Right, 33434, 33434, 32), ttl: 1);

        h.Receive(0, Frames.Ethernet(h.Mac(0), PeerMac, 0x0800, original));

        Assert.Empty(h.Sent(1));
        byte[] error = Assert.Single(h.Sent(0));
        Span<byte> ip = error.AsSpan(14);
        Assert.Equal(Ours, new Ipv4Address(ip[12..])); // traceroute names this hop by it
        Assert.Equal(Left, new Ipv4Address(ip[16..]));
        Assert.Equal(1, ip[9]);
        Span<byte> icmp = ip[20..];
        Assert.Equal(11, icmp[0]);
        Assert.Equal(0, icmp[1]);
        Assert.Equal(0, Frames.Checksum(icmp));
        Assert.Equal(original, icmp[8..].ToArray()); // the whole small packet is quoted
        Assert.Equal(1, h.Count(IpCounter.TtlExceeded));
    }

    [Fact]
    public void A_packet_without_a_route_gets_network_unreachable()
    {
        StackHarness h = Router().Started();
        h.KnowPeer(0, "10.10.11.1");

        h.Receive(0, Frames.Ipv4Frame(h.Mac(0), Left, Addr("192.0.2.9"), 17, Frames.Udp4(Left, Addr("192.0.2.9"), 1, 2, 8)));

        byte[] error = Assert.Single(h.Sent(0));
        Assert.Equal(3, error[34]);
        Assert.Equal(0, error[35]);
        Assert.Equal(1, h.Count(IpCounter.NoRoute));
    }

    [Fact]
    public void Too_big_with_dont_fragment_gets_fragmentation_needed_with_the_next_hop_mtu()
    {
        StackHarness h = Router(mtu1: 1400).Started();
        h.KnowPeer(0, "10.10.11.1");
        h.KnowPeer(1, "10.10.12.4");

        h.Receive(0, Frames.Ipv4Frame(h.Mac(0), Left, Right, 17, Frames.Udp4(Left, Right, 1, 2, 1472), dontFragment: true));

        Assert.Empty(h.Sent(1));
        byte[] error = Assert.Single(h.Sent(0));
        Span<byte> icmp = error.AsSpan(34);
        Assert.Equal(3, icmp[0]);
        Assert.Equal(4, icmp[1]);
        Assert.Equal(1400, BinaryPrimitives.ReadUInt16BigEndian(icmp[6..]));
        Assert.Equal(1, h.Count(IpCounter.CantFragment));
    }

    [Fact]
    public void Without_forwarding_packets_for_others_are_dropped_and_counted()
    {
        StackHarness h = Router(forwarding: false).Started();
        h.KnowPeer(1, "10.10.12.4");

        h.Receive(0, Frames.Ipv4Frame(h.Mac(0), Left, Right, 17, Frames.Udp4(Left, Right, 1, 2, 8)));

        Assert.Empty(h.Sent(1));
        Assert.Equal(1, h.Count(IpCounter.NotForwarding));
    }

    public static TheoryData<string, Func<MacAddress, byte[]>, string> BadPackets => new()
    {
        { "version 5", mac => Mangle(mac, ip => ip[0] = 0x55), nameof(IpCounter.BadVersion) },
        { "header length 4 words", mac => Mangle(mac, ip => ip[0] = 0x44), nameof(IpCounter.BadHeaderLength) },
        { "header length beyond the packet", mac => Mangle(mac, ip => ip[0] = 0x4F), nameof(IpCounter.BadHeaderLength) },
        { "total length beyond the frame", mac => Mangle(mac, ip => BinaryPrimitives.WriteUInt16BigEndian(ip[2..], 1400)), nameof(IpCounter.BadLength) },
        { "total length below the header", mac => Mangle(mac, ip => BinaryPrimitives.WriteUInt16BigEndian(ip[2..], 12)), nameof(IpCounter.BadLength) },
        { "bad header checksum", mac => Frames.Ethernet(mac, PeerMac, 0x0800, Frames.Ipv4(Left, Ours, 1, 1, Frames.IcmpEcho(8, 1, 1, 8), badChecksum: true)), nameof(IpCounter.BadChecksum) },
        { "loopback source", mac => Frames.Ipv4Frame(mac, Addr("127.0.0.1"), Ours, 1, Frames.IcmpEcho(8, 1, 1, 8)), nameof(IpCounter.MartianSource) },
        { "multicast source", mac => Frames.Ipv4Frame(mac, Addr("224.1.1.1"), Ours, 1, Frames.IcmpEcho(8, 1, 1, 8)), nameof(IpCounter.MartianSource) },
        { "our own address as source", mac => Frames.Ipv4Frame(mac, Ours, Ours, 1, Frames.IcmpEcho(8, 1, 1, 8)), nameof(IpCounter.MartianSource) },
        { "zero time to live", mac => Frames.Ipv4Frame(mac, Left, Ours, 1, Frames.IcmpEcho(8, 1, 1, 8), ttl: 0), nameof(IpCounter.ZeroTtl) },
        { "short", mac => Frames.Ethernet(mac, PeerMac, 0x0800, new byte[12]), nameof(IpCounter.TooShort) },
    };

    [Theory]
    [MemberData(nameof(BadPackets))]
    public void Bad_ipv4_packets_are_dropped_and_counted_by_name(string what, Func<MacAddress, byte[]> frame, string counter)
    {
        StackHarness h = Router().Started();
        h.KnowPeer(0, "10.10.11.1");

        h.Receive(0, frame(h.Mac(0)));

        Assert.True(h.Count(Enum.Parse<IpCounter>(counter)) == 1, what);
        Assert.Empty(h.Sent(0));
        Assert.Equal(0, h.Count(IcmpCounter.EchoReplies));
        // And the next good packet is answered as ever.
        h.Receive(0, Frames.Ipv4Frame(h.Mac(0), Left, Ours, 1, Frames.IcmpEcho(8, 1, 1, 8)));
        Assert.Single(h.Sent(0));
    }

    [Fact]
    public void A_bad_icmp_checksum_is_dropped_and_counted()
    {
        StackHarness h = Router().Started();
        byte[] echo = Frames.IcmpEcho(8, 1, 1, 8);
        echo[2] ^= 0xFF;

        h.Receive(0, Frames.Ipv4Frame(h.Mac(0), Left, Ours, 1, echo));

        Assert.Empty(h.Sent(0));
        Assert.Equal(1, h.Count(IcmpCounter.BadChecksum));
    }

    [Fact]
    public void Ethernet_padding_after_the_packet_is_not_forwarded()
    {
        StackHarness h = Router().Started();
        h.KnowPeer(1, "10.10.12.4");
        byte[] frame = Frames.Ipv4Frame(h.Mac(0), Left, Right, 17, Frames.Udp4(Left, Right, 1, 2, 0));
        byte[] padded = new byte[60];
        frame.CopyTo(padded, 0);

        h.Receive(0, padded);

        Assert.Equal(frame.Length, Assert.Single(h.Sent(1)).Length);
    }

    [Fact]
    public void Forwarding_allocates_nothing_per_packet()
    {
        StackHarness h = Router().Started();
        h.KnowPeer(1, "10.10.12.4");
        byte[] frame = Frames.Ipv4Frame(h.Mac(0), Left, Right, 17, Frames.Udp4(Left, Right, 1, 2, 18));

        // The JIT may still be replacing methods with their tier-1 code (which allocates on the
        // compiling thread's behalf) in a round on a busy machine: the least of five rounds.
        long allocated = Allocations.Least(5, () =>
        {
            for (int i = 0; i < 20_000; i++)
                ForwardOne(h, frame);
        });

        Assert.Equal(0, allocated);
        Assert.Equal((1 + 5) * 20_000, h.Count(IpCounter.Forwarded)); // the warm-up and five rounds, every packet
    }

    private static void ForwardOne(StackHarness h, byte[] frame)
    {
        h.Receive(0, frame);
        h.Discard(1);
    }

    private static byte[] Mangle(MacAddress mac, SpanAction mangle)
    {
        byte[] frame = Frames.Ipv4Frame(mac, Left, Ours, 1, Frames.IcmpEcho(8, 1, 1, 8));
        mangle(frame.AsSpan(14));
        // Keep the checksum right, so that only the mangled field is wrong.
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(24), 0);
        int headerLength = Math.Clamp((frame[14] & 0xF) * 4, 20, frame.Length - 14);
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(24), Frames.Checksum(frame.AsSpan(14, headerLength)));
        return frame;
    }

    private delegate void SpanAction(Span<byte> span);
}
