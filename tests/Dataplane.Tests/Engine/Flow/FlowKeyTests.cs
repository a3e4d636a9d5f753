using Dataplane.Engine;
using Dataplane.Wire;
using static Dataplane.Tests.Engine.Flow.ToeplitzHashTests;

namespace Dataplane.Tests.Engine.Flow;

/// <summary>Flow keys read from literal packets through the wire views, and the RSS hash they give.</summary>
public class FlowKeyTests
{
    private static readonly ToeplitzHash Microsoft = ToeplitzHash.CreateMicrosoft();
    private static readonly ToeplitzHash Symmetric = ToeplitzHash.CreateSymmetric();

    // The first vector of the verification suite, as packets.
    private static readonly byte[] Src4 = [66, 9, 149, 187];
    private static readonly byte[] Dst4 = [161, 142, 100, 80];
    private static readonly byte[] Src6 = [0x3f, 0xfe, 0x25, 0x01, 0x02, 0x00, 0x1f, 0xff, 0, 0, 0, 0, 0, 0, 0, 0x07];
    private static readonly byte[] Dst6 = [0x3f, 0xfe, 0x25, 0x01, 0x02, 0x00, 0x00, 0x03, 0, 0, 0, 0, 0, 0, 0, 0x01];

    private static byte[] Tcp(ushort sourcePort, ushort destinationPort) =>
    [
        (byte)(sourcePort >> 8), (byte)sourcePort, (byte)(destinationPort >> 8), (byte)destinationPort,
        0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0,
    ];

    private static byte[] Udp(ushort sourcePort, ushort destinationPort) =>
        [(byte)(sourcePort >> 8), (byte)sourcePort, (byte)(destinationPort >> 8), (byte)destinationPort, 0, 12, 0, 0, 1, 2, 3, 4];

    private static byte[] Ipv4(IpProtocol protocol, byte[] payload, ushort flagsAndOffset = 0)
    {
        int total = 20 + payload.Length;
        byte[] packet =
        [
            0x45, 0, (byte)(total >> 8), (byte)total, 0x12, 0x34, (byte)(flagsAndOffset >> 8), (byte)flagsAndOffset,
            64, (byte)protocol, 0, 0, .. Src4, .. Dst4, .. payload,
        ];
        return packet;
    }

    private static byte[] Ipv6(IpProtocol next, byte[] payload) =>
        [0x60, 0, 0, 0, (byte)(payload.Length >> 8), (byte)payload.Length, (byte)next, 64, .. Src6, .. Dst6, .. payload];

    private static FlowKey Key4(byte[] packet)
    {
        Assert.True(Ipv4Packet.TryCreate(packet, out var ip));
        Assert.True(FlowKey.TryCreate(ip, out FlowKey key));
        return key;
    }

    private static FlowKey Key6(byte[] packet)
    {
        Assert.True(Ipv6Packet.TryCreate(packet, out var ip));
        Assert.True(FlowKey.TryCreate(ip, out FlowKey key));
        return key;
    }

    [Fact]
    public void A_tcp_ipv4_packet_keys_on_the_4_tuple_and_hashes_like_the_suite()
    {
        FlowKey key = Key4(Ipv4(IpProtocol.Tcp, Tcp(2794, 1766)));
        Assert.False(key.IsIpv6);
        Assert.True(key.HasPorts);
        Assert.Equal(IpProtocol.Tcp, key.Protocol);
        Assert.Equal(V4("66.9.149.187"), key.SourceV4);
        Assert.Equal(V4("161.142.100.80"), key.DestinationV4);
        Assert.Equal((2794, 1766), (key.SourcePort, key.DestinationPort));
        Assert.Equal(0x51ccc178u, key.Hash(Microsoft));
    }

    [Fact]
    public void A_udp_ipv4_packet_keys_on_the_4_tuple()
    {
        FlowKey key = Key4(Ipv4(IpProtocol.Udp, Udp(2794, 1766)));
        Assert.Equal(FlowKey.Ipv4(V4("66.9.149.187"), V4("161.142.100.80"), IpProtocol.Udp, 2794, 1766), key);
        Assert.Equal(0x51ccc178u, key.Hash(Microsoft));
    }

    [Fact]
    public void Other_ipv4_protocols_key_on_addresses_and_hash_on_the_2_tuple()
    {
        FlowKey key = Key4(Ipv4(IpProtocol.Icmp, [8, 0, 0, 0, 0, 1, 0, 1]));
        Assert.False(key.HasPorts);
        Assert.Equal(IpProtocol.Icmp, key.Protocol);
        Assert.Equal(0x323e8fc2u, key.Hash(Microsoft));
    }

    [Theory]
    [InlineData((ushort)0x2000)] // more fragments: the first piece, ports present but not used
    [InlineData((ushort)0x0010)] // a later piece: no transport header at all
    [InlineData((ushort)0x2010)]
    public void Every_ipv4_fragment_keys_on_addresses_so_the_pieces_meet(ushort flagsAndOffset)
    {
        FlowKey key = Key4(Ipv4(IpProtocol.Udp, Udp(2794, 1766), flagsAndOffset));
        Assert.False(key.HasPorts);
        Assert.Equal(IpProtocol.Udp, key.Protocol);
        Assert.Equal(0x323e8fc2u, key.Hash(Microsoft));
    }

    [Fact]
    public void A_truncated_tcp_header_is_refused()
    {
        Assert.True(Ipv4Packet.TryCreate(Ipv4(IpProtocol.Tcp, Tcp(1, 2)[..12]), out var ip));
        Assert.False(FlowKey.TryCreate(ip, out FlowKey key));
        Assert.Equal(default, key);
    }

    [Fact]
    public void A_udp_header_with_a_bad_length_is_refused()
    {
        byte[] udp = Udp(1, 2);
        udp[5] = 200;
        Assert.True(Ipv4Packet.TryCreate(Ipv4(IpProtocol.Udp, udp), out var ip));
        Assert.False(FlowKey.TryCreate(ip, out _));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void The_first_buffer_of_a_chained_udp_datagram_keys_as_the_whole_datagram(bool ipv6)
    {
        byte[] udp = [.. Udp(1, 2), .. new byte[8992]];
        udp[4] = (byte)(udp.Length >> 8);
        udp[5] = (byte)udp.Length;
        byte[] packet = ipv6 ? Ipv6(IpProtocol.Udp, udp) : Ipv4(IpProtocol.Udp, udp);
        FlowKey whole = ipv6 ? Key6(packet) : Key4(packet);
        byte[] first = packet[..2048];
        FlowKey key = default;
        bool keyed = ipv6
            ? Ipv6Packet.TryCreate(first, packet.Length, out Ipv6Packet ip6, out _) && FlowKey.TryCreate(ip6, out key)
            : Ipv4Packet.TryCreate(first, packet.Length, out Ipv4Packet ip, out _) && FlowKey.TryCreate(ip, out key);
        Assert.True(keyed);
        Assert.Equal(whole, key);
        Assert.Equal(2, key.DestinationPort);
    }

    [Fact]
    public void A_tcp_ipv6_packet_keys_on_the_4_tuple_and_hashes_like_the_suite()
    {
        FlowKey key = Key6(Ipv6(IpProtocol.Tcp, Tcp(2794, 1766)));
        Assert.True(key.IsIpv6);
        Assert.True(key.HasPorts);
        Assert.Equal(V6("3ffe:2501:200:1fff::7"), key.Source);
        Assert.Equal(V6("3ffe:2501:200:3::1"), key.Destination);
        Assert.Equal(0x40207d3du, key.Hash(Microsoft));
    }

    [Fact]
    public void Hop_by_hop_routing_and_destination_options_are_skipped_to_reach_udp()
    {
        byte[] hopByHop = [(byte)IpProtocol.Ipv6Routing, 0, 1, 4, 0, 0, 0, 0];
        byte[] routing = [(byte)IpProtocol.Ipv6DestinationOptions, 0, 4, 0, 0, 0, 0, 0];
        byte[] options = [(byte)IpProtocol.Udp, 0, 1, 4, 0, 0, 0, 0];
        FlowKey key = Key6(Ipv6(IpProtocol.HopByHop, [.. hopByHop, .. routing, .. options, .. Udp(2794, 1766)]));
        Assert.Equal(FlowKey.Ipv6(V6("3ffe:2501:200:1fff::7"), V6("3ffe:2501:200:3::1"), IpProtocol.Udp, 2794, 1766), key);
        Assert.Equal(0x40207d3du, key.Hash(Microsoft));
    }

    [Fact]
    public void An_ipv6_fragment_keys_on_addresses_with_the_upper_protocol()
    {
        byte[] fragment = [(byte)IpProtocol.Tcp, 0, 0, 1, 0, 0, 0, 9]; // offset 0, more fragments
        FlowKey key = Key6(Ipv6(IpProtocol.Ipv6Fragment, [.. fragment, .. Tcp(2794, 1766)]));
        Assert.False(key.HasPorts);
        Assert.Equal(IpProtocol.Tcp, key.Protocol);
        Assert.Equal(0x2cc18cd5u, key.Hash(Microsoft));
    }

    [Theory]
    [InlineData((ushort)0x0001)] // offset 0, more fragments: the first piece, ports right behind
    [InlineData((ushort)0x05a9)] // offset 181 (1448 bytes), more fragments: data only
    [InlineData((ushort)0x0b50)] // offset 362, the last piece
    public void Every_ipv6_fragment_keys_on_addresses_so_the_pieces_meet(ushort offsetAndMore)
    {
        byte[] fragment = [(byte)IpProtocol.Udp, 0, (byte)(offsetAndMore >> 8), (byte)offsetAndMore, 0xde, 0xad, 0xbe, 0xef];
        // Behind a later piece's fragment header is datagram data, which must not be read as ports.
        byte[] data = offsetAndMore >> 3 == 0 ? Udp(2794, 1766) : [0xff, 0xff, 0xff, 0xff, 0, 12, 0, 0];
        FlowKey key = Key6(Ipv6(IpProtocol.Ipv6Fragment, [.. fragment, .. data]));
        Assert.False(key.HasPorts);
        Assert.Equal(FlowKey.Ipv6(V6("3ffe:2501:200:1fff::7"), V6("3ffe:2501:200:3::1"), IpProtocol.Udp), key);
        Assert.Equal(0x2cc18cd5u, key.Hash(Microsoft));
        Assert.Equal(key.Hash(Symmetric), key.Reversed().Hash(Symmetric));
    }

    [Fact]
    public void Icmpv6_keys_on_addresses()
    {
        FlowKey key = Key6(Ipv6(IpProtocol.Icmpv6, [128, 0, 0, 0, 0, 1, 0, 1]));
        Assert.Equal(FlowKey.Ipv6(V6("3ffe:2501:200:1fff::7"), V6("3ffe:2501:200:3::1"), IpProtocol.Icmpv6), key);
        Assert.Equal(0x2cc18cd5u, key.Hash(Microsoft));
    }

    [Fact]
    public void A_chain_of_more_than_eight_extension_headers_keys_on_addresses()
    {
        byte[] chain = [];
        for (int i = 0; i < 9; i++)
            chain = [.. chain, (byte)IpProtocol.Ipv6DestinationOptions, 0, 1, 4, 0, 0, 0, 0];
        chain[^8] = (byte)IpProtocol.Udp;
        FlowKey key = Key6(Ipv6(IpProtocol.Ipv6DestinationOptions, [.. chain, .. Udp(1, 2)]));
        Assert.False(key.HasPorts);
    }

    [Fact]
    public void A_truncated_extension_header_is_refused()
    {
        byte[] hopByHop = [(byte)IpProtocol.Udp, 1, 1, 4, 0, 0, 0, 0]; // says 16 bytes, has 8
        Assert.True(Ipv6Packet.TryCreate(Ipv6(IpProtocol.HopByHop, hopByHop), out var ip));
        Assert.False(FlowKey.TryCreate(ip, out _));
    }

    [Fact]
    public void Keys_from_existing_views_equal_the_parsed_ones()
    {
        byte[] packet = Ipv4(IpProtocol.Tcp, Tcp(2794, 1766));
        Assert.True(Ipv4Packet.TryCreate(packet, out var ip));
        Assert.True(TcpSegment.TryCreate(ip.Payload, out var tcp));
        Assert.Equal(Key4(packet), FlowKey.FromTcp(ip, tcp));

        byte[] packet6 = Ipv6(IpProtocol.Udp, Udp(5, 6));
        Assert.True(Ipv6Packet.TryCreate(packet6, out var ip6));
        Assert.True(UdpDatagram.TryCreate(ip6.Payload, out var udp));
        Assert.Equal(Key6(packet6), FlowKey.FromUdp(ip6, udp));
    }

    [Fact]
    public void The_reversed_key_swaps_ends_and_hashes_the_same_with_the_symmetric_key()
    {
        FlowKey key = FlowKey.Ipv4(V4("10.0.0.1"), V4("10.0.0.2"), IpProtocol.Tcp, 40000, 80);
        FlowKey reply = key.Reversed();
        Assert.Equal(FlowKey.Ipv4(V4("10.0.0.2"), V4("10.0.0.1"), IpProtocol.Tcp, 80, 40000), reply);
        Assert.Equal(key, reply.Reversed());
        Assert.Equal(key.Hash(Symmetric), reply.Hash(Symmetric));

        FlowKey key6 = FlowKey.Ipv6(V6("fd00::1"), V6("fd00::2"), IpProtocol.Udp, 5353, 53);
        Assert.Equal(key6.Hash(Symmetric), key6.Reversed().Hash(Symmetric));
    }

    [Fact]
    public void An_ipv4_key_differs_from_the_ipv6_key_of_the_mapped_addresses()
    {
        FlowKey v4 = FlowKey.Ipv4(V4("192.0.2.1"), V4("192.0.2.2"), IpProtocol.Udp, 1, 2);
        FlowKey v6 = FlowKey.Ipv6(V6("::ffff:192.0.2.1"), V6("::ffff:192.0.2.2"), IpProtocol.Udp, 1, 2);
        Assert.Equal(v6.Source, v4.Source);
        Assert.NotEqual(v4, v6);
        Assert.True(v4 != v6);
    }

    [Fact]
    public void Keys_with_and_without_ports_differ()
    {
        Assert.NotEqual(
            FlowKey.Ipv4(V4("192.0.2.1"), V4("192.0.2.2"), IpProtocol.Udp),
            FlowKey.Ipv4(V4("192.0.2.1"), V4("192.0.2.2"), IpProtocol.Udp, 0, 0));
    }

    [Fact]
    public void Equal_keys_have_equal_hash_codes()
    {
        FlowKey a = FlowKey.Ipv6(V6("fd00::1"), V6("fd00::2"), IpProtocol.Tcp, 1, 2);
        FlowKey b = FlowKey.Ipv6(V6("fd00::1"), V6("fd00::2"), IpProtocol.Tcp, 1, 2);
        Assert.True(a == b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.True(a.Equals((object)b));
    }

    [Fact]
    public void Keys_print_as_protocol_and_endpoints()
    {
        Assert.Equal("tcp 10.0.0.1:40000 -> 10.0.0.2:80", FlowKey.Ipv4(V4("10.0.0.1"), V4("10.0.0.2"), IpProtocol.Tcp, 40000, 80).ToString());
        Assert.Equal("udp [fd00::1]:53 -> [fd00::2]:5353", FlowKey.Ipv6(V6("fd00::1"), V6("fd00::2"), IpProtocol.Udp, 53, 5353).ToString());
        Assert.Equal("proto 1 10.0.0.1 -> 10.0.0.2", FlowKey.Ipv4(V4("10.0.0.1"), V4("10.0.0.2"), IpProtocol.Icmp).ToString());
    }

    [Fact]
    public void Keying_and_hashing_a_packet_allocates_nothing()
    {
        byte[] v4 = Ipv4(IpProtocol.Tcp, Tcp(2794, 1766));
        byte[] v6 = Ipv6(IpProtocol.Udp, Udp(2794, 1766));
        uint sink = 0;
        Assert.Equal(0, Allocations.Least(3, () => sink ^= Run(100_000)));
        Sink = sink; // the hashes are used, so the loop is not optimized away

        uint Run(int n)
        {
            uint h = 0;
            for (int i = 0; i < n; i++)
            {
                if (Ipv4Packet.TryCreate(v4, out var ip) && FlowKey.TryCreate(ip, out FlowKey k))
                    h ^= k.Hash(Microsoft) ^ k.Reversed().Hash(Symmetric);
                if (Ipv6Packet.TryCreate(v6, out var ip6) && FlowKey.TryCreate(ip6, out FlowKey k6))
                    h ^= k6.Hash(Microsoft) + (uint)(k6 == k6.Reversed() ? 1 : 0);
            }
            return h;
        }
    }

    /// <summary>Where the allocation tests leave their hashes.</summary>
    private static uint Sink;
}
