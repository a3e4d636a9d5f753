namespace Dataplane.Wire.Tests.Network;

/// <summary>ICMPv6 (RFC 4443): the generic message, echo and errors; the checksum covers the IPv6 pseudo-header.</summary>
public class Icmpv6Tests
{
    // `ping -6 2001:db8:1::1` from Linux, IPv6 header then ICMPv6. Made with scapy 2.5.0:
    //   IPv6(tc=0, fl=0x9e3a1, hlim=64, src="2001:db8:1::100", dst="2001:db8:1::1")
    //     /ICMPv6EchoRequest(id=0x2c1d, seq=1, data=struct.pack("<QQ", 0x6720c3a5, 0x000b71f2) + bytes(range(0x10, 0x38)))
    private static readonly byte[] Ping =
    [
        // IPv6 @ 0
        0x60, 0x09, 0xe3, 0xa1, 0x00, 0x40, 0x3a, 0x40, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
        // ICMPv6 echo request @ 40
        0x80, 0x00, 0x74, 0x82, 0x2c, 0x1d, 0x00, 0x01, 0xa5, 0xc3, 0x20, 0x67, 0x00, 0x00, 0x00, 0x00,
        0xf2, 0x71, 0x0b, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17,
        0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27,
        0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37,
    ];

    // Packet too big, MTU 1280, from the router, quoting the start of a 1480-byte TCP segment.
    // Made with scapy 2.5.0:
    //   IPv6(hlim=64, src="2001:db8:1::1", dst="2001:db8:1::100")/ICMPv6PacketTooBig(mtu=1280)
    //     /Raw(bytes(IPv6(fl=0x9e3a1, hlim=64, src="2001:db8:1::100", dst="2001:db8:2::7")
    //       /TCP(sport=46270, dport=443, seq=1000, ack=2000, flags="A", window=502)/Raw(bytes(1420)))[:72])
    private static readonly byte[] PacketTooBig =
    [
        // IPv6 @ 0
        0x60, 0x00, 0x00, 0x00, 0x00, 0x50, 0x3a, 0x40, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00,
        // ICMPv6 packet too big @ 40
        0x02, 0x00, 0x52, 0x1b, 0x00, 0x00, 0x05, 0x00,
        // invoking packet @ 48
        0x60, 0x09, 0xe3, 0xa1, 0x05, 0xa0, 0x06, 0x40, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x02, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07, 0xb4, 0xbe, 0x01, 0xbb, 0x00, 0x00, 0x03, 0xe8,
        0x00, 0x00, 0x07, 0xd0, 0x50, 0x10, 0x01, 0xf6, 0x89, 0xa5, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    ];

    // Parameter problem, code 1 (unrecognized next header), pointer 40. Made with scapy 2.5.0:
    //   IPv6(hlim=64, src="2001:db8:1::1", dst="2001:db8:1::100")/ICMPv6ParamProblem(code=1, ptr=40)/Raw(<same segment>[:48])
    private static readonly byte[] ParameterProblem =
    [
        // ICMPv6 @ 0 (the IPv6 header is that of PacketTooBig with payload length 56)
        0x04, 0x01, 0x38, 0x86, 0x00, 0x00, 0x00, 0x28,
        0x60, 0x09, 0xe3, 0xa1, 0x05, 0xa0, 0x06, 0x40, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x02, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07, 0xb4, 0xbe, 0x01, 0xbb, 0x00, 0x00, 0x03, 0xe8,
    ];

    private static Ipv6Address Address(string text)
    {
        Assert.True(Ipv6Address.TryParse(text, out Ipv6Address address));
        return address;
    }

    private static readonly Ipv6Address Host = Address("2001:db8:1::100");
    private static readonly Ipv6Address Router = Address("2001:db8:1::1");

    private static readonly Icmpv6Echo.Repr EchoRequestRepr = new()
    {
        Type = Icmpv6Type.EchoRequest,
        Code = 0,
        Identifier = 0x2c1d,
        SequenceNumber = 1,
    };

    [Fact]
    public void Packet_deconstruct_reads_the_generic_fields_and_verifies_with_the_pseudo_header()
    {
        byte[] bytes = [.. Ping];
        Assert.True(Ipv6Packet.TryCreate(bytes, out Ipv6Packet ip));
        Assert.True(Icmpv6Packet.TryCreate(ip.Payload, out Icmpv6Packet icmp, out WireError error));

        Assert.Equal(WireError.None, error);
        Assert.Equal(Icmpv6Type.EchoRequest, icmp.Type);
        Assert.Equal(0, icmp.Code);
        Assert.Equal(0x7482, icmp.Checksum);
        Assert.Equal(0x2c1d0001u, icmp.RestOfHeader);
        Assert.Equal(8, icmp.HeaderLength);
        Assert.Equal(64, icmp.PacketLength);
        Assert.Equal(Ping[48..], icmp.Payload.ToArray());

        Assert.True(icmp.VerifyChecksum(ip.Source, ip.Destination));
        Assert.Equal(0x7482, icmp.ComputeChecksum(ip.Source, ip.Destination));
        // The pseudo-header is part of the sum: another address does not verify.
        Assert.False(icmp.VerifyChecksum(ip.Source, Address("2001:db8:1::2")));
    }

    [Fact]
    public void Packet_construct_parse_and_emit_agree_with_the_bytes()
    {
        byte[] bytes = new byte[64];
        Assert.True(Icmpv6Packet.TryCreate(bytes, out Icmpv6Packet icmp));
        icmp.Type = Icmpv6Type.EchoRequest;
        icmp.Code = 0;
        icmp.RestOfHeader = 0x2c1d0001;
        Ping.AsSpan(48).CopyTo(icmp.Payload);
        icmp.FillChecksum(Host, Router);
        Assert.Equal(Ping[40..], bytes);

        var expected = new Icmpv6Packet.Repr { Type = Icmpv6Type.EchoRequest, Code = 0, RestOfHeader = 0x2c1d0001 };
        Assert.True(Icmpv6Packet.Repr.TryParse(Ping.AsSpan(40), out Icmpv6Packet.Repr repr, out WireError error));
        Assert.Equal(WireError.None, error);
        Assert.Equal(expected, repr);

        byte[] emitted = new byte[64];
        Assert.Equal(8, expected.Emit(emitted));
        Ping.AsSpan(48).CopyTo(emitted.AsSpan(8));
        Assert.True(Icmpv6Packet.TryCreate(emitted, out icmp));
        icmp.FillChecksum(Host, Router);
        Assert.Equal(Ping[40..], emitted);
    }

    [Fact]
    public void Echo_deconstruct_reads_every_field()
    {
        byte[] bytes = [.. Ping[40..]];
        Assert.True(Icmpv6Echo.TryCreate(bytes, out Icmpv6Echo echo));

        Assert.Equal(Icmpv6Type.EchoRequest, echo.Type);
        Assert.Equal(0, echo.Code);
        Assert.Equal(0x7482, echo.Checksum);
        Assert.Equal(0x2c1d, echo.Identifier);
        Assert.Equal(1, echo.SequenceNumber);
        Assert.Equal(8, echo.HeaderLength);
        Assert.Equal(64, echo.PacketLength);
        Assert.Equal(Ping[48..], echo.Payload.ToArray());
        Assert.True(echo.VerifyChecksum(Host, Router));
    }

    [Fact]
    public void Echo_construct_through_the_setters_gives_the_request()
    {
        byte[] bytes = new byte[64];
        Assert.True(Icmpv6Echo.TryCreate(bytes, out Icmpv6Echo echo));
        echo.Type = Icmpv6Type.EchoRequest;
        echo.Code = 0;
        echo.Identifier = 0x2c1d;
        echo.SequenceNumber = 1;
        Ping.AsSpan(48).CopyTo(echo.Payload);
        echo.FillChecksum(Host, Router);

        Assert.Equal(Ping[40..], bytes);
    }

    [Fact]
    public void Echo_parse_gives_the_repr()
    {
        Assert.True(Icmpv6Echo.Repr.TryParse(Ping.AsSpan(40), out Icmpv6Echo.Repr repr, out WireError error));
        Assert.Equal(WireError.None, error);
        Assert.Equal(EchoRequestRepr, repr);
    }

    [Fact]
    public void Parse_leaves_a_checksum_with_a_pseudo_header_to_the_caller()
    {
        // Repr.TryParse cannot know the addresses, so it does not check this checksum: the caller
        // verifies it with VerifyChecksum(source, destination).
        byte[] bytes = [.. Ping[40..]];
        bytes[3] ^= 0xff;
        Assert.True(Icmpv6Echo.Repr.TryParse(bytes, out Icmpv6Echo.Repr repr));
        Assert.Equal(EchoRequestRepr, repr);
        Assert.True(Icmpv6Echo.TryCreate(bytes, out Icmpv6Echo echo));
        Assert.False(echo.VerifyChecksum(Host, Router));
    }

    [Fact]
    public void Echo_emit_then_fill_gives_the_request()
    {
        byte[] bytes = new byte[64];
        Assert.Equal(8, EchoRequestRepr.Emit(bytes));
        Assert.Equal(0, bytes[2] | bytes[3]);
        Ping.AsSpan(48).CopyTo(bytes.AsSpan(8));
        Assert.True(Icmpv6Echo.TryCreate(bytes, out Icmpv6Echo echo));
        echo.FillChecksum(Host, Router);

        Assert.Equal(Ping[40..], bytes);
    }

    [Fact]
    public void Answering_an_echo_in_place_updates_the_checksum_incrementally()
    {
        byte[] bytes = [.. Ping[40..]];
        Assert.True(Icmpv6Echo.TryCreate(bytes, out Icmpv6Echo echo));
        echo.SetTypeUpdatingChecksum(Icmpv6Type.EchoReply);

        // The reply goes back from the router to the host: the pseudo-header sum does not depend on
        // the order of the two addresses.
        Assert.True(echo.VerifyChecksum(Router, Host));
        Assert.Equal(echo.ComputeChecksum(Router, Host), echo.Checksum);
        Assert.Equal(0x7382, echo.Checksum); // type 128 -> 129 adds 0x0100 to the sum
    }

    [Fact]
    public void Echo_incremental_setters_give_the_checksum_of_a_full_recompute()
    {
        var random = new Random(4443);
        byte[] bytes = [.. Ping[40..]];
        Assert.True(Icmpv6Echo.TryCreate(bytes, out Icmpv6Echo echo));
        for (int i = 0; i < 2000; i++)
        {
            switch (random.Next(4))
            {
                case 0: echo.SetIdentifierUpdatingChecksum((ushort)random.Next(65536)); break;
                case 1: echo.SetSequenceNumberUpdatingChecksum((ushort)random.Next(65536)); break;
                case 2: echo.SetCodeUpdatingChecksum((byte)random.Next(256)); break;
                default: echo.SetTypeUpdatingChecksum((Icmpv6Type)random.Next(256)); break;
            }
            Assert.Equal(echo.ComputeChecksum(Host, Router), echo.Checksum);
            Assert.True(echo.VerifyChecksum(Host, Router));
        }
    }

    [Fact]
    public void Error_deconstruct_reads_the_mtu_of_packet_too_big_and_the_invoking_packet()
    {
        byte[] bytes = [.. PacketTooBig];
        Assert.True(Ipv6Packet.TryCreate(bytes, out Ipv6Packet ip));
        Assert.Equal(IpProtocol.Icmpv6, ip.NextHeader);
        Assert.True(Icmpv6Error.TryCreate(ip.Payload, out Icmpv6Error error));

        Assert.Equal(Icmpv6Type.PacketTooBig, error.Type);
        Assert.Equal(0, error.Code);
        Assert.Equal(0x521b, error.Checksum);
        Assert.Equal(1280u, error.Parameter);
        Assert.Equal(8, error.HeaderLength);
        Assert.Equal(80, error.PacketLength);
        Assert.Equal(PacketTooBig[48..], error.Payload.ToArray());
        Assert.True(error.VerifyChecksum(ip.Source, ip.Destination));
    }

    [Fact]
    public void Error_deconstruct_reads_the_pointer_of_a_parameter_problem()
    {
        byte[] bytes = [.. ParameterProblem];
        Assert.True(Icmpv6Error.TryCreate(bytes, out Icmpv6Error error));
        Assert.Equal(Icmpv6Type.ParameterProblem, error.Type);
        Assert.Equal(1, error.Code);
        Assert.Equal(40u, error.Parameter);
        Assert.True(error.VerifyChecksum(Router, Host));
    }

    [Fact]
    public void Error_construct_parse_and_emit_agree_with_the_bytes()
    {
        byte[] bytes = new byte[80];
        Assert.True(Icmpv6Error.TryCreate(bytes, out Icmpv6Error error));
        error.Type = Icmpv6Type.PacketTooBig;
        error.Code = 0;
        error.Parameter = 1280;
        PacketTooBig.AsSpan(48).CopyTo(error.Payload);
        error.FillChecksum(Router, Host);
        Assert.Equal(PacketTooBig[40..], bytes);

        var expected = new Icmpv6Error.Repr { Type = Icmpv6Type.PacketTooBig, Code = 0, Parameter = 1280 };
        Assert.True(Icmpv6Error.Repr.TryParse(PacketTooBig.AsSpan(40), out Icmpv6Error.Repr repr, out WireError parseError));
        Assert.Equal(WireError.None, parseError);
        Assert.Equal(expected, repr);

        byte[] emitted = new byte[80];
        Assert.Equal(8, expected.Emit(emitted));
        PacketTooBig.AsSpan(48).CopyTo(emitted.AsSpan(8));
        Assert.True(Icmpv6Error.TryCreate(emitted, out error));
        error.FillChecksum(Router, Host);
        Assert.Equal(PacketTooBig[40..], emitted);
    }

    [Fact]
    public void Error_incremental_setter_gives_the_checksum_of_a_full_recompute()
    {
        var random = new Random(8201);
        byte[] bytes = [.. PacketTooBig[40..]];
        Assert.True(Icmpv6Error.TryCreate(bytes, out Icmpv6Error error));
        for (int i = 0; i < 2000; i++)
        {
            error.SetParameterUpdatingChecksum((uint)random.NextInt64(1L << 32));
            Assert.Equal(error.ComputeChecksum(Router, Host), error.Checksum);
        }
    }

    [Fact]
    public void The_checksum_over_ipv4_addresses_uses_the_ipv4_pseudo_header()
    {
        // Not a combination the protocol uses, but the overload must still follow RFC 768's layout.
        byte[] bytes = [.. Ping[40..]];
        Assert.True(Icmpv6Echo.TryCreate(bytes, out Icmpv6Echo echo));
        var source = new Ipv4Address(192, 0, 2, 1);
        var destination = new Ipv4Address(192, 0, 2, 2);
        echo.FillChecksum(source, destination);
        Assert.True(echo.VerifyChecksum(source, destination));

        bytes[2] = 0;
        bytes[3] = 0;
        ulong sum = InternetChecksum.PseudoHeaderSum(source, destination, 58, 64);
        Assert.Equal(InternetChecksum.Finish(InternetChecksum.Add(sum, bytes)), echo.ComputeChecksum(source, destination));
    }

    [Fact]
    public void TryCreate_refuses_every_buffer_shorter_than_the_header()
    {
        for (int length = 0; length < 8; length++)
        {
            byte[] bytes = Ping.AsSpan(40, length).ToArray();
            WireError error;
            Assert.False(Icmpv6Packet.TryCreate(bytes, out _, out error));
            Assert.Equal(WireError.Truncated, error);
            Assert.False(Icmpv6Echo.TryCreate(bytes, out _, out error));
            Assert.Equal(WireError.Truncated, error);
            Assert.False(Icmpv6Error.TryCreate(bytes, out _, out error));
            Assert.Equal(WireError.Truncated, error);
            Assert.False(Icmpv6Packet.Repr.TryParse(bytes, out _, out error));
            Assert.Equal(WireError.Truncated, error);
            Assert.False(Icmpv6Echo.Repr.TryParse(bytes, out _, out error));
            Assert.Equal(WireError.Truncated, error);
            Assert.False(Icmpv6Error.Repr.TryParse(bytes, out _, out error));
            Assert.Equal(WireError.Truncated, error);
        }
    }
}
