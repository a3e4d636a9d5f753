using System.Buffers.Binary;
using Dataplane.Stack;
using Dataplane.Wire;
using static Dataplane.Tests.Stack.StackHarness;

namespace Dataplane.Tests.Stack;

/// <summary>Neighbour discovery, IPv6 input, ICMPv6 and IPv6 forwarding of one StackWorker, with literal frames.</summary>
public class Ipv6StackTests
{
    private static readonly Ipv6Address Left = Client6;
    private static readonly Ipv6Address Right = Server6;
    private static readonly Ipv6Address Ours = Ours6;

    [Fact]
    public void A_solicitation_for_our_address_gets_a_solicited_advertisement_with_our_mac()
    {
        StackHarness h = Router().Started();
        Ipv6Address group = Ipv6Address.SolicitedNode(Ours);

        h.Receive(0, Frames.NeighborSolicitation(PeerMac, Ipv6Addresses.MulticastMac(group), Left, group, Ours, PeerMac));

        byte[] na = Assert.Single(h.Sent(0));
        Assert.Equal(PeerMac, new MacAddress(na));
        Span<byte> ip = na.AsSpan(14);
        Assert.Equal(255, ip[7]);
        Assert.Equal(Ours, new Ipv6Address(ip[8..]));
        Assert.Equal(Left, new Ipv6Address(ip[24..]));
        Span<byte> message = ip[40..];
        Assert.Equal(136, message[0]);
        Assert.Equal(0xE0, message[4]); // router, solicited, override
        Assert.Equal(Ours, new Ipv6Address(message[8..]));
        Assert.Equal([2, 1], message.Slice(24, 2).ToArray());
        Assert.Equal(h.Mac(0), new MacAddress(message[26..]));
        Assert.Equal(0, Frames.Checksum6(Ours, Left, 58, message));
        Assert.True(h.Stack.Nd[0].TryGet(Left, out var entry) && entry.Mac == PeerMac);
    }

    [Fact]
    public void Neighbour_discovery_with_a_hop_limit_other_than_255_is_dropped_and_counted()
    {
        StackHarness h = Router().Started();
        Ipv6Address group = Ipv6Address.SolicitedNode(Ours);

        h.Receive(0, Frames.NeighborSolicitation(PeerMac, Ipv6Addresses.MulticastMac(group), Left, group, Ours, PeerMac, hopLimit: 64));

        Assert.Empty(h.Sent(0));
        Assert.Equal(1, h.Count(Icmp6Counter.NdBadHopLimit));
        Assert.Equal(0, h.Stack.Nd[0].Count);
    }

    [Fact]
    public void Duplicate_address_detection_probes_our_addresses_and_an_answer_marks_one_duplicated()
    {
        StackHarness h = Router();
        h.Advance(TimeSpan.FromMilliseconds(1));
        List<byte[]> probes = h.Sent(0).Where(f => f.Length > 54 && f[20] == 58 && f[54] == 135).ToList();
        Assert.Equal(2, probes.Count); // link-local and the configured address
        Assert.All(probes, p => Assert.Equal(Ipv6Address.Any, new Ipv6Address(p.AsSpan(22))));

        // Someone answers for the configured address before DAD is over.
        h.Receive(0, Frames.NeighborAdvertisement(PeerMac, Ipv6Addresses.MulticastMac(Ipv6Addresses.AllNodes), Left, Ipv6Addresses.AllNodes, Ours, PeerMac, flags: 0x20));
        h.Advance(TimeSpan.FromSeconds(2));

        Assert.Equal(AddressState.Duplicated, h.Stack.Interfaces[0].Find(Ours)!.State);
        Assert.Equal(AddressState.Preferred, h.Stack.Interfaces[0].LinkLocal.State);
        Assert.Equal(1, h.Count(Icmp6Counter.DuplicateAddresses));
    }

    [Fact]
    public void An_echo_request_is_answered_with_a_valid_checksum()
    {
        StackHarness h = Router().Started();
        h.KnowPeer(0, "fdd7:e83e:66bd:1011::1");

        h.Receive(0, Frames.Ipv6Frame(h.Mac(0), Left, Ours, 58, Frames.Icmp6Echo(Left, Ours, 128, 9, 3, 56)));

        byte[] reply = Assert.Single(h.Sent(0));
        Span<byte> ip = reply.AsSpan(14);
        Assert.Equal(Ours, new Ipv6Address(ip[8..]));
        Assert.Equal(Left, new Ipv6Address(ip[24..]));
        Assert.Equal(129, ip[40]);
        Assert.Equal(0, Frames.Checksum6(Ours, Left, 58, ip[40..]));
        Assert.Equal(1, h.Count(Icmp6Counter.EchoReplies));
    }

    [Fact]
    public void A_forwarded_packet_loses_one_hop_and_waits_for_neighbour_discovery_of_the_next_hop()
    {
        StackHarness h = Router().Started();
        byte[] payload = Frames.Icmp6Echo(Left, Right, 128, 1, 1, 16);

        h.Receive(0, Frames.Ipv6Frame(h.Mac(0), Left, Right, 58, payload, hopLimit: 9));

        // The next hop is asked for at its solicited-node group.
        byte[] ns = Assert.Single(h.Sent(1));
        Assert.Equal(Ipv6Addresses.MulticastMac(Ipv6Address.SolicitedNode(Right)), new MacAddress(ns));
        Assert.Equal(135, ns[54]);
        Assert.Equal(Right, new Ipv6Address(ns.AsSpan(62)));

        h.Receive(1, Frames.NeighborAdvertisement(PeerMac, h.Mac(1), Right, Addr6("fdd7:e83e:66bd:1012::3"), Right, PeerMac));

        byte[] forwarded = Assert.Single(h.Sent(1));
        Assert.Equal(PeerMac, new MacAddress(forwarded));
        Assert.Equal(8, forwarded[14 + 7]);
        Assert.Equal(payload, forwarded.AsSpan(54).ToArray());
        Assert.Equal(1, h.Count(Ip6Counter.Forwarded));
    }

    [Fact]
    public void Hop_limit_1_gets_time_exceeded_and_too_big_gets_packet_too_big_with_the_mtu()
    {
        StackHarness h = Router(mtu1: 1280).Started();
        h.KnowPeer(0, "fdd7:e83e:66bd:1011::1");

        h.Receive(0, Frames.Ipv6Frame(h.Mac(0), Left, Right, 17, new byte[16], hopLimit: 1));
        h.Receive(0, Frames.Ipv6Frame(h.Mac(0), Left, Right, 17, new byte[1400]));

        List<byte[]> errors = h.Sent(0);
        Assert.Equal(2, errors.Count);
        Assert.Equal(3, errors[0][54]);
        Assert.Equal(2, errors[1][54]);
        Assert.Equal(1280u, BinaryPrimitives.ReadUInt32BigEndian(errors[1].AsSpan(58)));
        Assert.All(errors, e => Assert.Equal(0, Frames.Checksum6(new Ipv6Address(e.AsSpan(22)), Left, 58, e.AsSpan(54))));
        Assert.True(errors[1].Length - 14 <= 1280); // RFC 4443 2.4 c
        Assert.Equal(1, h.Count(Ip6Counter.HopLimitExceeded));
        Assert.Equal(1, h.Count(Ip6Counter.TooBig));
    }

    [Fact]
    public void An_unknown_next_header_gets_a_parameter_problem_pointing_at_it()
    {
        StackHarness h = Router().Started();
        h.KnowPeer(0, "fdd7:e83e:66bd:1011::1");

        h.Receive(0, Frames.Ipv6Frame(h.Mac(0), Left, Ours, 253, new byte[8]));

        byte[] error = Assert.Single(h.Sent(0));
        Assert.Equal(4, error[54]);
        Assert.Equal(1, error[55]);
        Assert.Equal(6u, BinaryPrimitives.ReadUInt32BigEndian(error.AsSpan(58)));
        Assert.Equal(1, h.Count(Ip6Counter.NoProtocol));
    }

    [Fact]
    public void A_payload_length_beyond_the_frame_and_a_multicast_source_are_dropped_and_counted()
    {
        StackHarness h = Router().Started();
        byte[] longer = Frames.Ipv6Frame(h.Mac(0), Left, Ours, 58, Frames.Icmp6Echo(Left, Ours, 128, 1, 1, 8));
        BinaryPrimitives.WriteUInt16BigEndian(longer.AsSpan(18), 500);

        h.Receive(0, longer);
        h.Receive(0, Frames.Ipv6Frame(h.Mac(0), Addr6("ff02::1"), Ours, 58, Frames.Icmp6Echo(Addr6("ff02::1"), Ours, 128, 1, 1, 8)));

        Assert.Empty(h.Sent(0));
        Assert.Equal(1, h.Count(Ip6Counter.BadLength));
        Assert.Equal(1, h.Count(Ip6Counter.MartianSource));
    }
}
