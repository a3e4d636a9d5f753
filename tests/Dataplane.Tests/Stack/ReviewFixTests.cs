using Dataplane.Stack;
using Dataplane.Stack.Apps;
using Dataplane.Stack.Transport;
using Dataplane.Tests.Stack.Fragments;
using Dataplane.Wire;
using static Dataplane.Tests.Stack.StackHarness;

namespace Dataplane.Tests.Stack;

/// <summary>Bugs a review of the stack found; each test failed before its fix.</summary>
public class ReviewFixTests
{
    [Fact]
    public void A_udp_datagram_reassembled_into_a_chain_reaches_its_socket_and_its_echo_leaves_in_fragments()
    {
        // It was dropped as udp.too_large before input learned chains (issue 11); a crash before that.
        StackHarness h = Host();
        Assert.Equal(UdpError.None, h.Udp.Start(new UdpEchoApp(InetEndpoint.Ipv4(Ipv4Address.Any, 7))));
        byte[] udp = Frames.Udp4(Client, Ours, 40000, 7, 3000);
        byte[] datagram = Frames.Ipv4(Client, Ours, 17, 77, udp);

        h.Receive(0, IpFragments.FramesFromPeer(IpFragments.Fragments4(datagram, 1480), h.Mac(0), 0x0800));

        Assert.Equal(1, h.Count(IpCounter.Reassembled));
        Assert.Equal(1, h.Count(UdpCounter.Delivered));
        List<byte[]> sent = h.Sent(0);
        Assert.Equal(3, sent.Count); // 3008 bytes of UDP in pieces of 1480
        byte[] echo = IpFragments.Reassemble4(sent.Select(IpFragments.Read4));
        byte[] echoed = Frames.CheckUdp4([.. new byte[12], 0x08, 0x00, .. echo], Ours, 7, Client, 40000);
        Assert.Equal(udp.AsSpan(8).ToArray(), echoed);
        Assert.Equal(0, h.BuffersOutstanding);
    }

    [Fact]
    public void A_neighbour_that_never_answers_is_forgotten_so_the_table_cannot_fill_with_dead_entries()
    {
        StackHarness h = Router().Started();
        h.KnowPeer(0, Client, PeerMac);

        h.Receive(0, Frames.Ipv4Frame(h.Mac(0), Client, Addr("10.10.12.99"), 17, Frames.Udp4(Client, Addr("10.10.12.99"), 1, 2, 8)));
        for (int i = 0; i < 10; i++)
            h.Advance(TimeSpan.FromMilliseconds(500));

        Assert.Equal(3, h.Sent(1).Count); // three requests, a second apart
        Assert.Equal(1, h.Count(ArpCounter.ResolutionFailed));
        Assert.Equal(1, h.Count(ArpCounter.HeldDropped));
        Assert.False(h.Stack.Arp[1].TryGet(Addr("10.10.12.99"), out _));
        Assert.Equal(0, h.BuffersOutstanding);
    }

    [Fact]
    public void A_stale_neighbour_that_stops_answering_probes_is_forgotten()
    {
        StackHarness h = Router().Started();
        h.KnowPeer(0, Client, PeerMac);
        h.KnowPeer(1, Server, ServerMac);
        h.Advance(TimeSpan.FromSeconds(31)); // stale now
        h.Sent(1);

        byte[] frame = Frames.Ipv4Frame(h.Mac(0), Client, Server, 17, Frames.Udp4(Client, Server, 1, 2, 8));
        for (int i = 0; i < 3; i++)
        {
            h.Receive(0, frame);
            h.Advance(TimeSpan.FromSeconds(1.1));
        }

        // Three unicast probes went unanswered: the address is forgotten, and the next packet asks the whole link.
        Assert.False(h.Stack.Arp[1].TryGet(Server, out _));
        h.Sent(1);
        h.Receive(0, frame);
        byte[] request = Assert.Single(h.Sent(1));
        Assert.Equal(MacAddress.Broadcast, new MacAddress(request));
    }

    [Fact]
    public void A_stale_neighbour_answering_its_unicast_probe_without_an_address_option_stays_reachable()
    {
        StackHarness h = Router().Started();
        h.KnowPeer(0, Client6, PeerMac);
        h.KnowPeer(1, Server6, ServerMac);
        h.Advance(TimeSpan.FromSeconds(31)); // stale now
        h.Sent(1);

        // Linux answers a unicast solicitation without the target's link-layer address (RFC 4861
        // 7.2.4 allows it): solicited, and it confirms the address the entry already has.
        byte[] frame = Frames.Udp6Frame(h.Mac(0), Client6, Server6, 1, 2, Frames.Payload(8));
        for (int i = 0; i < 5; i++)
        {
            h.Receive(0, frame);
            foreach (byte[] sent in h.Sent(1))
            {
                if (sent[14 + 40] == 135)
                    h.Receive(1, Frames.NeighborAdvertisement(ServerMac, h.Mac(1), Server6, OursRight6, Server6, targetLinkLayer: null, flags: 0x40));
            }
            h.Advance(TimeSpan.FromSeconds(1.1));
        }

        Assert.True(h.Stack.Nd[1].TryGet(Server6, out var entry) && entry.HasMac);
        Assert.Equal(0, h.Count(Icmp6Counter.Held));
        h.Receive(0, frame);
        byte[] forwarded = Assert.Single(h.Sent(1));
        Assert.Equal(ServerMac, new MacAddress(forwarded)); // to the neighbour itself, no solicitation to its group
        Assert.Equal(0, h.BuffersOutstanding);
    }

    [Fact]
    public void A_stale_neighbour_that_never_answers_gets_three_unicast_probes_then_is_forgotten()
    {
        StackHarness h = Router().Started();
        h.KnowPeer(0, Client6, PeerMac);
        h.KnowPeer(1, Server6, ServerMac);
        h.Advance(TimeSpan.FromSeconds(31)); // stale now
        h.Sent(1);

        // Traffic keeps flowing to the silent neighbour for 10 s: RFC 4861 7.3.3 allows
        // MAX_UNICAST_SOLICIT (3) probes, then the entry goes and resolution starts afresh.
        byte[] frame = Frames.Udp6Frame(h.Mac(0), Client6, Server6, 1, 2, Frames.Payload(8));
        int probes = 0;
        for (int i = 0; i < 1000; i++)
        {
            h.Receive(0, frame);
            foreach (byte[] sent in h.Sent(1))
            {
                if (sent[14 + 40] == 135 && new MacAddress(sent) == ServerMac)
                    probes++;
            }
            h.Advance(TimeSpan.FromMilliseconds(10));
        }

        Assert.Equal(3, probes);
        Assert.True(!h.Stack.Nd[1].TryGet(Server6, out var entry) || !entry.HasMac);
    }

    [Fact]
    public void Duplicate_address_detection_hears_a_linux_host_defending_the_address_from_the_address_itself()
    {
        StackHarness h = Router();
        h.Advance(TimeSpan.FromMilliseconds(1));

        // RFC 4862 5.4.4: the owner answers the probe with an advertisement from the address itself.
        h.Receive(0, Frames.NeighborAdvertisement(PeerMac, Ipv6Addresses.MulticastMac(Ipv6Addresses.AllNodes), Ours6, Ipv6Addresses.AllNodes, Ours6, PeerMac, flags: 0x20));
        h.Advance(TimeSpan.FromSeconds(2));

        Assert.Equal(AddressState.Duplicated, h.Stack.Interfaces[0].Find(Ours6)!.State);
        Assert.Equal(0, h.Count(Ip6Counter.MartianSource));
    }

    [Fact]
    public void A_directed_broadcast_of_another_connected_network_is_not_forwarded()
    {
        StackHarness h = Router().Started();
        h.KnowPeer(0, Client, PeerMac);
        Ipv4Address broadcast = Addr("10.10.12.255");

        h.Receive(0, Frames.Ipv4Frame(h.Mac(0), Client, broadcast, 17, Frames.Udp4(Client, broadcast, 1, 2, 8)));

        Assert.Empty(h.Sent(1));
        Assert.Equal(1, h.Count(IpCounter.NotForwardable));
        Assert.Equal(0, h.Count(IpCounter.Forwarded));
    }
}
