namespace Dataplane.Wire.Tests.Network;

/// <summary>Hop-by-hop, routing, fragment and destination options headers (RFC 8200 4).</summary>
public class Ipv6ExtensionHeadersTests
{
    // A chain of every extension header, in the order RFC 8200 4.1 recommends, in front of a UDP
    // datagram: hop-by-hop (router alert, PadN), a segment routing header (RFC 8754) with one
    // segment, a first fragment (M set), destination options (Pad1, PadN), UDP. Made with scapy 2.5.0:
    //   IPv6(hlim=64, src="2001:db8:1::100", dst="2001:db8:2::1")
    //     /IPv6ExtHdrHopByHop(options=[RouterAlert(value=0), PadN(optdata=b"")])
    //     /IPv6ExtHdrSegmentRouting(addresses=["2001:db8:2::1"], segleft=0, lastentry=0)
    //     /IPv6ExtHdrFragment(offset=0, m=1, id=0xdeadbeef)
    //     /IPv6ExtHdrDestOpt(options=[Pad1(), PadN(optdata=b"\x00\x00\x00")])
    //     /UDP(sport=5353, dport=5353)/Raw(b"hello")
    private static readonly byte[] Chain =
    [
        // IPv6 @ 0
        0x60, 0x00, 0x00, 0x00, 0x00, 0x3d, 0x00, 0x40, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x02, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
        // hop-by-hop @ 40
        0x2b, 0x00, 0x05, 0x02, 0x00, 0x00, 0x01, 0x00,
        // routing @ 48
        0x2c, 0x02, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x02, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
        // fragment @ 72
        0x3c, 0x00, 0x00, 0x01, 0xde, 0xad, 0xbe, 0xef,
        // destination options @ 80
        0x11, 0x00, 0x00, 0x01, 0x03, 0x00, 0x00, 0x00,
        // UDP @ 88
        0x14, 0xe9, 0x14, 0xe9, 0x00, 0x0d, 0x35, 0xba,
        0x68, 0x65, 0x6c, 0x6c, 0x6f,
    ];

    private static Ipv6Address Address(string text)
    {
        Assert.True(Ipv6Address.TryParse(text, out Ipv6Address address));
        return address;
    }

    [Fact]
    public void Walking_the_chain_with_the_views_reaches_the_udp_datagram()
    {
        byte[] bytes = [.. Chain];
        Assert.True(Ipv6Packet.TryCreate(bytes, out Ipv6Packet ip));
        Assert.Equal(IpProtocol.HopByHop, ip.NextHeader);
        Assert.Equal(61, ip.PayloadLength);

        Assert.True(Ipv6HopByHopHeader.TryCreate(ip.Payload, out Ipv6HopByHopHeader hopByHop, out WireError error));
        Assert.Equal(WireError.None, error);
        Assert.Equal(IpProtocol.Ipv6Routing, hopByHop.NextHeader);
        Assert.Equal(0, hopByHop.HeaderExtensionLength);
        Assert.Equal(8, hopByHop.HeaderLength);
        Assert.Equal(Chain[42..48], hopByHop.Options.ToArray());

        Assert.True(Ipv6RoutingHeader.TryCreate(hopByHop.Payload, out Ipv6RoutingHeader routing));
        Assert.Equal(IpProtocol.Ipv6Fragment, routing.NextHeader);
        Assert.Equal(2, routing.HeaderExtensionLength);
        Assert.Equal(24, routing.HeaderLength);
        Assert.Equal(4, routing.RoutingType); // segment routing
        Assert.Equal(0, routing.SegmentsLeft);
        Assert.Equal(20, routing.Variable.Length);
        Assert.Equal(Address("2001:db8:2::1"), new Ipv6Address(routing.Variable[4..]));

        Assert.True(Ipv6FragmentHeader.TryCreate(routing.Payload, out Ipv6FragmentHeader fragment));
        Assert.Equal(IpProtocol.Ipv6DestinationOptions, fragment.NextHeader);
        Assert.Equal(0, fragment.Reserved);
        Assert.Equal(0, fragment.FragmentOffset);
        Assert.Equal(0, fragment.Reserved2);
        Assert.True(fragment.MoreFragments);
        Assert.Equal(0xdeadbeefu, fragment.Identification);
        Assert.Equal(8, fragment.HeaderLength);

        Assert.True(Ipv6DestinationOptionsHeader.TryCreate(fragment.Payload, out Ipv6DestinationOptionsHeader destination));
        Assert.Equal(IpProtocol.Udp, destination.NextHeader);
        Assert.Equal(0, destination.HeaderExtensionLength);
        Assert.Equal(8, destination.HeaderLength);

        Assert.True(UdpDatagram.TryCreate(destination.Payload, out UdpDatagram udp));
        Assert.Equal(5353, udp.SourcePort);
        Assert.Equal(5353, udp.DestinationPort);
        Assert.Equal(13, udp.Length);
        Assert.Equal("hello"u8.ToArray(), udp.Payload.ToArray());
        // RFC 8200 8.1: the pseudo-header carries the final destination and the upper-layer length,
        // not the length of the extension headers.
        Assert.True(udp.VerifyChecksum(ip.Source, ip.Destination));
    }

    [Fact]
    public void Hop_by_hop_options_walk_yields_router_alert_and_skips_padn()
    {
        byte[] bytes = [.. Chain[40..48]];
        Assert.True(Ipv6HopByHopHeader.TryCreate(bytes, out Ipv6HopByHopHeader hopByHop));

        WireOptionEnumerator options = hopByHop.EnumerateOptions();
        Assert.True(options.MoveNext());
        Assert.Equal(5, options.Current.Type); // RFC 2711 router alert
        Assert.Equal(new byte[] { 0x00, 0x00 }, options.Current.Data.ToArray()); // MLD
        Assert.Equal(new byte[] { 0x05, 0x02, 0x00, 0x00 }, options.Current.Raw.ToArray());
        // Then PadN with no data, two bytes of padding: skipped like Pad1.
        Assert.False(options.MoveNext());
        Assert.False(options.IsMalformed);
    }

    [Fact]
    public void Destination_options_walk_skips_pad1_and_padn()
    {
        byte[] bytes = [.. Chain[80..88]];
        Assert.True(Ipv6DestinationOptionsHeader.TryCreate(bytes, out Ipv6DestinationOptionsHeader header));

        WireOptionEnumerator options = header.EnumerateOptions();
        Assert.False(options.MoveNext());
        Assert.False(options.IsMalformed);
    }

    [Fact]
    public void Options_walk_over_pad1_router_alert_and_a_longer_padn_yields_only_the_router_alert()
    {
        // 16 bytes: next header, length 1, Pad1, router alert (value 2: RSVP), Pad1, PadN with 6 data bytes.
        byte[] bytes = [0x11, 0x01, 0x00, 0x05, 0x02, 0x00, 0x02, 0x00, 0x01, 0x06, 0, 0, 0, 0, 0, 0];
        Assert.True(Ipv6HopByHopHeader.TryCreate(bytes, out Ipv6HopByHopHeader header));
        Assert.Equal(16, header.HeaderLength);

        int count = 0;
        foreach (WireOption option in header.EnumerateOptions())
        {
            Assert.Equal(5, option.Type);
            Assert.Equal(new byte[] { 0x00, 0x02 }, option.Data.ToArray());
            count++;
        }
        Assert.Equal(1, count);
        Assert.True(Ipv6HopByHopHeader.Repr.TryParse(bytes, out _));
    }

    [Fact]
    public void Construct_the_chain_header_by_header_gives_the_packet()
    {
        byte[] bytes = new byte[Chain.Length];
        Assert.Equal(40, new Ipv6Packet.Repr
        {
            Version = 6,
            PayloadLength = 61,
            NextHeader = IpProtocol.HopByHop,
            HopLimit = 64,
            Source = Address("2001:db8:1::100"),
            Destination = Address("2001:db8:2::1"),
        }.Emit(bytes));

        Span<byte> rest = bytes.AsSpan(40);
        Assert.True(Ipv6HopByHopHeader.TryCreate(rest, out Ipv6HopByHopHeader hopByHop));
        hopByHop.NextHeader = IpProtocol.Ipv6Routing;
        hopByHop.HeaderExtensionLength = 0;
        byte[] hopByHopOptions = [0x05, 0x02, 0x00, 0x00, 0x01, 0x00];
        hopByHopOptions.CopyTo(hopByHop.Options);

        rest = hopByHop.Payload;
        rest[1] = 2; // the length first, so that the view covers the segment list
        Assert.True(Ipv6RoutingHeader.TryCreate(rest, out Ipv6RoutingHeader routing));
        routing.NextHeader = IpProtocol.Ipv6Fragment;
        routing.RoutingType = 4;
        routing.SegmentsLeft = 0;
        Address("2001:db8:2::1").CopyTo(routing.Variable[4..]);

        rest = routing.Payload;
        Assert.True(Ipv6FragmentHeader.TryCreate(rest, out Ipv6FragmentHeader fragment));
        fragment.NextHeader = IpProtocol.Ipv6DestinationOptions;
        fragment.FragmentOffset = 0;
        fragment.MoreFragments = true;
        fragment.Identification = 0xdeadbeef;

        rest = fragment.Payload;
        Assert.True(Ipv6DestinationOptionsHeader.TryCreate(rest, out Ipv6DestinationOptionsHeader destination));
        destination.NextHeader = IpProtocol.Udp;
        byte[] destinationOptions = [0x00, 0x01, 0x03, 0x00, 0x00, 0x00];
        destinationOptions.CopyTo(destination.Options);

        rest = destination.Payload;
        new UdpDatagram.Repr { SourcePort = 5353, DestinationPort = 5353, Length = 13 }.Emit(rest);
        "hello"u8.CopyTo(rest[8..]);
        Assert.True(UdpDatagram.TryCreate(rest, out UdpDatagram udp));
        udp.FillChecksum(Address("2001:db8:1::100"), Address("2001:db8:2::1"));

        Assert.Equal(Chain, bytes);
    }

    [Fact]
    public void Parse_gives_the_reprs()
    {
        Assert.True(Ipv6HopByHopHeader.Repr.TryParse(Chain.AsSpan(40), out Ipv6HopByHopHeader.Repr hopByHop, out WireError error));
        Assert.Equal(WireError.None, error);
        Assert.Equal(new Ipv6HopByHopHeader.Repr { NextHeader = IpProtocol.Ipv6Routing, HeaderExtensionLength = 0 }, hopByHop);

        Assert.True(Ipv6RoutingHeader.Repr.TryParse(Chain.AsSpan(48), out Ipv6RoutingHeader.Repr routing));
        Assert.Equal(new Ipv6RoutingHeader.Repr { NextHeader = IpProtocol.Ipv6Fragment, HeaderExtensionLength = 2, RoutingType = 4, SegmentsLeft = 0 }, routing);

        Assert.True(Ipv6FragmentHeader.Repr.TryParse(Chain.AsSpan(72), out Ipv6FragmentHeader.Repr fragment));
        Assert.Equal(new Ipv6FragmentHeader.Repr
        {
            NextHeader = IpProtocol.Ipv6DestinationOptions,
            Reserved = 0,
            FragmentOffset = 0,
            Reserved2 = 0,
            MoreFragments = true,
            Identification = 0xdeadbeef,
        }, fragment);

        Assert.True(Ipv6DestinationOptionsHeader.Repr.TryParse(Chain.AsSpan(80), out Ipv6DestinationOptionsHeader.Repr destination));
        Assert.Equal(new Ipv6DestinationOptionsHeader.Repr { NextHeader = IpProtocol.Udp, HeaderExtensionLength = 0 }, destination);
    }

    [Fact]
    public void Emit_writes_the_fixed_part_of_each_header()
    {
        byte[] bytes = [.. Chain];
        bytes.AsSpan(40, 2).Clear();
        bytes.AsSpan(48, 4).Clear();
        bytes.AsSpan(72, 8).Clear();
        bytes.AsSpan(80, 2).Clear();

        Assert.Equal(2, new Ipv6HopByHopHeader.Repr { NextHeader = IpProtocol.Ipv6Routing }.Emit(bytes.AsSpan(40, 8)));
        Assert.Equal(4, new Ipv6RoutingHeader.Repr { NextHeader = IpProtocol.Ipv6Fragment, HeaderExtensionLength = 2, RoutingType = 4 }.Emit(bytes.AsSpan(48, 24)));
        Assert.Equal(8, new Ipv6FragmentHeader.Repr { NextHeader = IpProtocol.Ipv6DestinationOptions, MoreFragments = true, Identification = 0xdeadbeef }.Emit(bytes.AsSpan(72, 8)));
        Assert.Equal(2, new Ipv6DestinationOptionsHeader.Repr { NextHeader = IpProtocol.Udp }.Emit(bytes.AsSpan(80, 8)));

        Assert.Equal(Chain, bytes);
    }

    [Fact]
    public void A_later_fragment_has_its_offset_and_no_more_fragments_bit()
    {
        // The second fragment of a 1500-byte MTU: offset 1448 / 8 = 181, M clear.
        byte[] bytes = [0x11, 0x00, 0x05, 0xa8, 0xde, 0xad, 0xbe, 0xef];
        Assert.True(Ipv6FragmentHeader.TryCreate(bytes, out Ipv6FragmentHeader fragment));
        Assert.Equal(181, fragment.FragmentOffset);
        Assert.False(fragment.MoreFragments);
        Assert.Equal(0, fragment.Reserved2);

        fragment.MoreFragments = true;
        Assert.Equal(new byte[] { 0x05, 0xa9 }, bytes[2..4]);
        fragment.Reserved2 = 3;
        Assert.Equal(new byte[] { 0x05, 0xaf }, bytes[2..4]);
        fragment.FragmentOffset = 0x1fff;
        Assert.Equal(new byte[] { 0xff, 0xff }, bytes[2..4]);
        fragment.FragmentOffset = 0;
        Assert.Equal(new byte[] { 0x00, 0x07 }, bytes[2..4]);
        Assert.True(fragment.MoreFragments);
        Assert.Equal(3, fragment.Reserved2);
    }

    [Fact]
    public void Parse_refuses_an_option_whose_length_runs_past_the_header()
    {
        // Router alert claims 5 data bytes; 4 remain in the 8-byte header.
        byte[] bytes = [0x3a, 0x00, 0x05, 0x05, 0x00, 0x00, 0x00, 0x00];
        Assert.False(Ipv6HopByHopHeader.Repr.TryParse(bytes, out _, out WireError error));
        Assert.Equal(WireError.BadOptions, error);
        Assert.False(Ipv6DestinationOptionsHeader.Repr.TryParse(bytes, out _, out error));
        Assert.Equal(WireError.BadOptions, error);

        Assert.True(Ipv6HopByHopHeader.TryCreate(bytes, out Ipv6HopByHopHeader header));
        WireOptionEnumerator options = header.EnumerateOptions();
        Assert.False(options.MoveNext());
        Assert.True(options.IsMalformed);
    }

    [Fact]
    public void Parse_refuses_an_option_type_without_room_for_its_length()
    {
        byte[] bytes = [0x3a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05]; // four Pad1, then a type in the last byte
        Assert.False(Ipv6HopByHopHeader.Repr.TryParse(bytes, out _, out WireError error));
        Assert.Equal(WireError.BadOptions, error);
    }

    [Fact]
    public void TryCreate_refuses_every_buffer_shorter_than_the_fixed_part()
    {
        for (int length = 0; length < 8; length++)
        {
            byte[] bytes = Chain.AsSpan(72, length).ToArray();
            WireError error;
            if (length < Ipv6HopByHopHeader.FixedLength)
            {
                Assert.False(Ipv6HopByHopHeader.TryCreate(bytes, out _, out error));
                Assert.Equal(WireError.Truncated, error);
                Assert.False(Ipv6DestinationOptionsHeader.TryCreate(bytes, out _, out error));
                Assert.Equal(WireError.Truncated, error);
                Assert.False(Ipv6HopByHopHeader.Repr.TryParse(bytes, out _, out error));
                Assert.Equal(WireError.Truncated, error);
            }
            if (length < Ipv6RoutingHeader.FixedLength)
            {
                Assert.False(Ipv6RoutingHeader.TryCreate(bytes, out _, out error));
                Assert.Equal(WireError.Truncated, error);
            }
            Assert.False(Ipv6FragmentHeader.TryCreate(bytes, out _, out error));
            Assert.Equal(WireError.Truncated, error);
            Assert.False(Ipv6FragmentHeader.Repr.TryParse(bytes, out _, out error));
            Assert.Equal(WireError.Truncated, error);
        }
    }

    [Fact]
    public void TryCreate_refuses_header_length_past_the_buffer()
    {
        // Every one of these headers is at least 8 bytes (the length counts 8-octet units past the
        // first 8), so a length field can never say less than the fixed part; it can say too much.
        byte[] shortOptions = [0x3a, 0x00, 0x01, 0x00, 0x00, 0x00]; // 6 bytes
        Assert.False(Ipv6HopByHopHeader.TryCreate(shortOptions, out _, out WireError error));
        Assert.Equal(WireError.BadHeaderLength, error);
        Assert.False(Ipv6DestinationOptionsHeader.TryCreate(shortOptions, out _, out error));
        Assert.Equal(WireError.BadHeaderLength, error);

        byte[] longer = [0x3a, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]; // says 16 bytes
        Assert.False(Ipv6HopByHopHeader.Repr.TryParse(longer, out _, out error));
        Assert.Equal(WireError.BadHeaderLength, error);

        byte[] routing = [.. Chain[48..70]]; // says 24 bytes, 22 present
        Assert.False(Ipv6RoutingHeader.TryCreate(routing, out _, out error));
        Assert.Equal(WireError.BadHeaderLength, error);
        Assert.False(Ipv6RoutingHeader.Repr.TryParse(routing, out _, out error));
        Assert.Equal(WireError.BadHeaderLength, error);

        byte[] largest = new byte[8 + 255 * 8];
        largest[1] = 255;
        Assert.True(Ipv6RoutingHeader.TryCreate(largest, out Ipv6RoutingHeader header));
        Assert.Equal(2048, header.HeaderLength);
        Assert.False(Ipv6RoutingHeader.TryCreate(largest.AsSpan(0, 2047), out _, out error));
        Assert.Equal(WireError.BadHeaderLength, error);
    }
}
