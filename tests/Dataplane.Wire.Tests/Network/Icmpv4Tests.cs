namespace Dataplane.Wire.Tests.Network;

/// <summary>ICMP (RFC 792): the generic message, echo, errors and redirect.</summary>
public class Icmpv4Tests
{
    // The ICMP part of `ping 192.168.1.1` from Linux: id 0x1a2b, sequence 1, 56 bytes of data.
    // Made with scapy 2.5.0:
    //   ICMP(type=8, id=0x1a2b, seq=1)/Raw(struct.pack("<QQ", 0x6720c3a5, 0x000b71f2) + bytes(range(0x10, 0x38)))
    private static readonly byte[] EchoRequest =
    [
        0x08, 0x00, 0x5b, 0x64, 0x1a, 0x2b, 0x00, 0x01,
        0xa5, 0xc3, 0x20, 0x67, 0x00, 0x00, 0x00, 0x00, 0xf2, 0x71, 0x0b, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
        0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f,
        0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37,
    ];

    // The datagram the errors below quote (RFC 792: its IP header and first 8 data bytes): a
    // traceroute probe. Made with scapy 2.5.0:
    //   bytes(IP(id=0x7a31, ttl=1, src="192.168.1.100", dst="198.51.100.7")/UDP(sport=54321, dport=33434)/Raw(bytes(32)))[:28]
    private static readonly byte[] QuotedProbe =
    [
        0x45, 0x00, 0x00, 0x3c, 0x7a, 0x31, 0x00, 0x00, 0x01, 0x11, 0x53, 0x39, 0xc0, 0xa8, 0x01, 0x64,
        0xc6, 0x33, 0x64, 0x07, 0xd4, 0x31, 0x82, 0x9a, 0x00, 0x28, 0xbc, 0x8a,
    ];

    // Time exceeded in transit, from the first router. Made with scapy 2.5.0:
    //   ICMP(type=11, code=0)/Raw(QuotedProbe)
    private static readonly byte[] TimeExceeded =
    [
        0x0b, 0x00, 0xe1, 0x80, 0x00, 0x00, 0x00, 0x00,
        0x45, 0x00, 0x00, 0x3c, 0x7a, 0x31, 0x00, 0x00, 0x01, 0x11, 0x53, 0x39, 0xc0, 0xa8, 0x01, 0x64,
        0xc6, 0x33, 0x64, 0x07, 0xd4, 0x31, 0x82, 0x9a, 0x00, 0x28, 0xbc, 0x8a,
    ];

    // Fragmentation needed and DF set, next-hop MTU 1400 (RFC 1191), quoting a 1480-byte TCP segment.
    // Made with scapy 2.5.0:
    //   ICMP(type=3, code=4, nexthopmtu=1400)/Raw(bytes(IP(id=0x2f10, flags="DF", ttl=64, src="192.168.1.100",
    //     dst="198.51.100.7")/TCP(sport=46270, dport=443, seq=1000, ack=2000, flags="A", window=502)/Raw(bytes(1440)))[:28])
    private static readonly byte[] FragmentationNeeded =
    [
        0x03, 0x04, 0x3d, 0x22, 0x00, 0x00, 0x05, 0x78,
        0x45, 0x00, 0x05, 0xc8, 0x2f, 0x10, 0x40, 0x00, 0x40, 0x06, 0x19, 0xd9, 0xc0, 0xa8, 0x01, 0x64,
        0xc6, 0x33, 0x64, 0x07, 0xb4, 0xbe, 0x01, 0xbb, 0x00, 0x00, 0x03, 0xe8,
    ];

    // Parameter problem, pointer 20. Made with scapy 2.5.0: ICMP(type=12, code=0, ptr=20)/Raw(QuotedProbe)
    private static readonly byte[] ParameterProblem =
    [
        0x0c, 0x00, 0xcc, 0x80, 0x14, 0x00, 0x00, 0x00,
        0x45, 0x00, 0x00, 0x3c, 0x7a, 0x31, 0x00, 0x00, 0x01, 0x11, 0x53, 0x39, 0xc0, 0xa8, 0x01, 0x64,
        0xc6, 0x33, 0x64, 0x07, 0xd4, 0x31, 0x82, 0x9a, 0x00, 0x28, 0xbc, 0x8a,
    ];

    // Redirect for the host (code 1) to gateway 192.168.1.254. Made with scapy 2.5.0:
    //   ICMP(type=5, code=1, gw="192.168.1.254")/Raw(QuotedProbe)
    private static readonly byte[] Redirect =
    [
        0x05, 0x01, 0x24, 0xd9, 0xc0, 0xa8, 0x01, 0xfe,
        0x45, 0x00, 0x00, 0x3c, 0x7a, 0x31, 0x00, 0x00, 0x01, 0x11, 0x53, 0x39, 0xc0, 0xa8, 0x01, 0x64,
        0xc6, 0x33, 0x64, 0x07, 0xd4, 0x31, 0x82, 0x9a, 0x00, 0x28, 0xbc, 0x8a,
    ];

    private static readonly Icmpv4Echo.Repr EchoRequestRepr = new()
    {
        Type = Icmpv4Type.EchoRequest,
        Code = 0,
        Identifier = 0x1a2b,
        SequenceNumber = 1,
    };

    // ---- the generic message ----

    [Fact]
    public void Packet_deconstruct_reads_type_code_checksum_and_the_rest_of_the_header()
    {
        byte[] bytes = [.. EchoRequest];
        Assert.True(Icmpv4Packet.TryCreate(bytes, out Icmpv4Packet icmp, out WireError error));

        Assert.Equal(WireError.None, error);
        Assert.Equal(Icmpv4Type.EchoRequest, icmp.Type);
        Assert.Equal(0, icmp.Code);
        Assert.Equal(0x5b64, icmp.Checksum);
        Assert.Equal(0x1a2b0001u, icmp.RestOfHeader);
        Assert.Equal(8, icmp.HeaderLength);
        Assert.Equal(64, icmp.PacketLength);
        Assert.Equal(EchoRequest[8..], icmp.Payload.ToArray());
        Assert.True(icmp.VerifyChecksum());
        Assert.Equal(0x5b64, icmp.ComputeChecksum());
    }

    [Fact]
    public void Packet_construct_parse_and_emit_agree_with_the_bytes()
    {
        byte[] bytes = new byte[TimeExceeded.Length];
        Assert.True(Icmpv4Packet.TryCreate(bytes, out Icmpv4Packet icmp));
        icmp.Type = Icmpv4Type.TimeExceeded;
        icmp.Code = 0;
        icmp.RestOfHeader = 0;
        QuotedProbe.CopyTo(icmp.Payload);
        icmp.FillChecksum();
        Assert.Equal(TimeExceeded, bytes);

        var expected = new Icmpv4Packet.Repr { Type = Icmpv4Type.TimeExceeded, Code = 0, RestOfHeader = 0 };
        Assert.True(Icmpv4Packet.Repr.TryParse(TimeExceeded, out Icmpv4Packet.Repr repr, out WireError error));
        Assert.Equal(WireError.None, error);
        Assert.Equal(expected, repr);

        byte[] emitted = new byte[TimeExceeded.Length];
        Assert.Equal(8, expected.Emit(emitted));
        Assert.Equal(0, emitted[2] | emitted[3]); // a checksum over the payload is left for the view
        QuotedProbe.CopyTo(emitted, 8);
        Assert.True(Icmpv4Packet.TryCreate(emitted, out icmp));
        icmp.FillChecksum();
        Assert.Equal(TimeExceeded, emitted);
    }

    // ---- echo ----

    [Fact]
    public void Echo_deconstruct_reads_every_field()
    {
        byte[] bytes = [.. EchoRequest];
        Assert.True(Icmpv4Echo.TryCreate(bytes, out Icmpv4Echo echo));

        Assert.Equal(Icmpv4Type.EchoRequest, echo.Type);
        Assert.Equal(0, echo.Code);
        Assert.Equal(0x5b64, echo.Checksum);
        Assert.Equal(0x1a2b, echo.Identifier);
        Assert.Equal(1, echo.SequenceNumber);
        Assert.Equal(8, echo.HeaderLength);
        Assert.Equal(64, echo.PacketLength);
        Assert.Equal(EchoRequest[8..], echo.Payload.ToArray());
        Assert.True(echo.VerifyChecksum());
    }

    [Fact]
    public void Echo_construct_through_the_setters_gives_the_request()
    {
        byte[] bytes = new byte[EchoRequest.Length];
        Assert.True(Icmpv4Echo.TryCreate(bytes, out Icmpv4Echo echo));
        echo.Type = Icmpv4Type.EchoRequest;
        echo.Code = 0;
        echo.Identifier = 0x1a2b;
        echo.SequenceNumber = 1;
        EchoRequest.AsSpan(8).CopyTo(echo.Payload);
        echo.FillChecksum();

        Assert.Equal(EchoRequest, bytes);
    }

    [Fact]
    public void Echo_parse_gives_the_repr()
    {
        Assert.True(Icmpv4Echo.Repr.TryParse(EchoRequest, out Icmpv4Echo.Repr repr, out WireError error));
        Assert.Equal(WireError.None, error);
        Assert.Equal(EchoRequestRepr, repr);
    }

    [Fact]
    public void Echo_emit_then_fill_gives_the_request()
    {
        byte[] bytes = new byte[EchoRequest.Length];
        Assert.Equal(8, EchoRequestRepr.Emit(bytes));
        EchoRequest.AsSpan(8).CopyTo(bytes.AsSpan(8));
        Assert.True(Icmpv4Echo.TryCreate(bytes, out Icmpv4Echo echo));
        echo.FillChecksum();

        Assert.Equal(EchoRequest, bytes);
    }

    [Fact]
    public void Answering_an_echo_in_place_updates_the_checksum_incrementally()
    {
        byte[] bytes = [.. EchoRequest];
        Assert.True(Icmpv4Echo.TryCreate(bytes, out Icmpv4Echo echo));
        echo.SetTypeUpdatingChecksum(Icmpv4Type.EchoReply);

        Assert.Equal(0x6364, echo.Checksum); // type 8 -> 0 removes 0x0800 from the sum
        Assert.Equal(echo.ComputeChecksum(), echo.Checksum);
        Assert.True(Icmpv4Echo.Repr.TryParse(bytes, out Icmpv4Echo.Repr reply));
        Assert.Equal(EchoRequestRepr with { Type = Icmpv4Type.EchoReply }, reply);
    }

    [Fact]
    public void Echo_incremental_setters_give_the_checksum_of_a_full_recompute()
    {
        var random = new Random(792);
        byte[] bytes = [.. EchoRequest];
        Assert.True(Icmpv4Echo.TryCreate(bytes, out Icmpv4Echo echo));
        for (int i = 0; i < 2000; i++)
        {
            switch (random.Next(4))
            {
                case 0: echo.SetIdentifierUpdatingChecksum((ushort)random.Next(65536)); break;
                case 1: echo.SetSequenceNumberUpdatingChecksum((ushort)random.Next(65536)); break;
                case 2: echo.SetCodeUpdatingChecksum((byte)random.Next(256)); break;
                default: echo.SetTypeUpdatingChecksum((Icmpv4Type)random.Next(256)); break;
            }
            Assert.Equal(echo.ComputeChecksum(), echo.Checksum);
            Assert.True(echo.VerifyChecksum());
        }
    }

    // ---- errors ----

    [Fact]
    public void Error_deconstruct_reads_the_next_hop_mtu_of_fragmentation_needed()
    {
        byte[] bytes = [.. FragmentationNeeded];
        Assert.True(Icmpv4Error.TryCreate(bytes, out Icmpv4Error error));

        Assert.Equal(Icmpv4Type.DestinationUnreachable, error.Type);
        Assert.Equal(4, error.Code);
        Assert.Equal(0x3d22, error.Checksum);
        Assert.Equal(0, error.Pointer);
        Assert.Equal(0, error.Unused);
        Assert.Equal(1400, error.NextHopMtu);
        Assert.Equal(8, error.HeaderLength);
        Assert.Equal(36, error.PacketLength);
        Assert.Equal(FragmentationNeeded[8..], error.Payload.ToArray());
        Assert.True(error.VerifyChecksum());
    }

    [Fact]
    public void Error_deconstruct_reads_the_pointer_of_a_parameter_problem()
    {
        byte[] bytes = [.. ParameterProblem];
        Assert.True(Icmpv4Error.TryCreate(bytes, out Icmpv4Error error));

        Assert.Equal(Icmpv4Type.ParameterProblem, error.Type);
        Assert.Equal(0, error.Code);
        Assert.Equal(20, error.Pointer);
        Assert.Equal(0, error.Unused);
        Assert.Equal(0, error.NextHopMtu);
        Assert.Equal(QuotedProbe, error.Payload.ToArray());
        Assert.True(error.VerifyChecksum());
    }

    [Fact]
    public void Error_construct_through_the_setters_gives_the_bytes()
    {
        byte[] bytes = new byte[FragmentationNeeded.Length];
        Assert.True(Icmpv4Error.TryCreate(bytes, out Icmpv4Error error));
        error.Type = Icmpv4Type.DestinationUnreachable;
        error.Code = 4;
        error.Pointer = 0;
        error.Unused = 0;
        error.NextHopMtu = 1400;
        FragmentationNeeded.AsSpan(8).CopyTo(error.Payload);
        error.FillChecksum();
        Assert.Equal(FragmentationNeeded, bytes);

        bytes = new byte[ParameterProblem.Length];
        Assert.True(Icmpv4Error.TryCreate(bytes, out error));
        error.Type = Icmpv4Type.ParameterProblem;
        error.Pointer = 20;
        QuotedProbe.CopyTo(error.Payload);
        error.FillChecksum();
        Assert.Equal(ParameterProblem, bytes);
    }

    [Fact]
    public void Error_parse_and_emit_agree_with_the_bytes()
    {
        var expected = new Icmpv4Error.Repr { Type = Icmpv4Type.DestinationUnreachable, Code = 4, Pointer = 0, Unused = 0, NextHopMtu = 1400 };
        Assert.True(Icmpv4Error.Repr.TryParse(FragmentationNeeded, out Icmpv4Error.Repr repr, out WireError error));
        Assert.Equal(WireError.None, error);
        Assert.Equal(expected, repr);

        byte[] bytes = new byte[FragmentationNeeded.Length];
        Assert.Equal(8, expected.Emit(bytes));
        FragmentationNeeded.AsSpan(8).CopyTo(bytes.AsSpan(8));
        Assert.True(Icmpv4Error.TryCreate(bytes, out Icmpv4Error view));
        view.FillChecksum();
        Assert.Equal(FragmentationNeeded, bytes);
    }

    [Fact]
    public void Error_incremental_setters_give_the_checksum_of_a_full_recompute()
    {
        var random = new Random(1191);
        byte[] bytes = [.. FragmentationNeeded];
        Assert.True(Icmpv4Error.TryCreate(bytes, out Icmpv4Error error));
        for (int i = 0; i < 2000; i++)
        {
            switch (random.Next(5))
            {
                case 0: error.SetNextHopMtuUpdatingChecksum((ushort)random.Next(65536)); break;
                case 1: error.SetPointerUpdatingChecksum((byte)random.Next(256)); break;
                case 2: error.SetUnusedUpdatingChecksum((byte)random.Next(256)); break;
                case 3: error.SetCodeUpdatingChecksum((byte)random.Next(16)); break;
                default: error.SetTypeUpdatingChecksum((Icmpv4Type)random.Next(256)); break;
            }
            Assert.Equal(error.ComputeChecksum(), error.Checksum);
        }
    }

    // ---- redirect ----

    [Fact]
    public void Redirect_deconstruct_reads_the_gateway()
    {
        byte[] bytes = [.. Redirect];
        Assert.True(Icmpv4Redirect.TryCreate(bytes, out Icmpv4Redirect redirect));

        Assert.Equal(Icmpv4Type.Redirect, redirect.Type);
        Assert.Equal(1, redirect.Code);
        Assert.Equal(0x24d9, redirect.Checksum);
        Assert.Equal(new Ipv4Address(192, 168, 1, 254), redirect.Gateway);
        Assert.Equal(8, redirect.HeaderLength);
        Assert.Equal(QuotedProbe, redirect.Payload.ToArray());
        Assert.True(redirect.VerifyChecksum());
    }

    [Fact]
    public void Redirect_construct_parse_and_emit_agree_with_the_bytes()
    {
        byte[] bytes = new byte[Redirect.Length];
        Assert.True(Icmpv4Redirect.TryCreate(bytes, out Icmpv4Redirect redirect));
        redirect.Type = Icmpv4Type.Redirect;
        redirect.Code = 1;
        redirect.Gateway = new Ipv4Address(192, 168, 1, 254);
        QuotedProbe.CopyTo(redirect.Payload);
        redirect.FillChecksum();
        Assert.Equal(Redirect, bytes);

        var expected = new Icmpv4Redirect.Repr { Type = Icmpv4Type.Redirect, Code = 1, Gateway = new Ipv4Address(192, 168, 1, 254) };
        Assert.True(Icmpv4Redirect.Repr.TryParse(Redirect, out Icmpv4Redirect.Repr repr));
        Assert.Equal(expected, repr);

        byte[] emitted = new byte[Redirect.Length];
        Assert.Equal(8, expected.Emit(emitted));
        QuotedProbe.CopyTo(emitted, 8);
        Assert.True(Icmpv4Redirect.TryCreate(emitted, out redirect));
        redirect.FillChecksum();
        Assert.Equal(Redirect, emitted);
    }

    [Fact]
    public void Redirect_changing_the_gateway_updates_the_checksum_incrementally()
    {
        var random = new Random(5);
        byte[] bytes = [.. Redirect];
        Assert.True(Icmpv4Redirect.TryCreate(bytes, out Icmpv4Redirect redirect));
        for (int i = 0; i < 1000; i++)
        {
            redirect.SetGatewayUpdatingChecksum(Ipv4Address.FromUInt32((uint)random.NextInt64(1L << 32)));
            Assert.Equal(redirect.ComputeChecksum(), redirect.Checksum);
        }
    }

    // ---- refusals ----

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(10)] // a payload byte: the checksum covers the whole message
    public void Parse_refuses_a_corrupted_checksum(int offset)
    {
        byte[] bytes = [.. EchoRequest];
        bytes[offset] ^= 0x40;
        WireError error;
        Assert.False(Icmpv4Packet.Repr.TryParse(bytes, out _, out error));
        Assert.Equal(WireError.BadChecksum, error);
        Assert.False(Icmpv4Echo.Repr.TryParse(bytes, out _, out error));
        Assert.Equal(WireError.BadChecksum, error);

        bytes = [.. FragmentationNeeded];
        bytes[offset] ^= 0x40;
        Assert.False(Icmpv4Error.Repr.TryParse(bytes, out _, out error));
        Assert.Equal(WireError.BadChecksum, error);

        bytes = [.. Redirect];
        bytes[offset] ^= 0x40;
        Assert.False(Icmpv4Redirect.Repr.TryParse(bytes, out _, out error));
        Assert.Equal(WireError.BadChecksum, error);
    }

    [Fact]
    public void TryCreate_refuses_every_buffer_shorter_than_the_header()
    {
        for (int length = 0; length < 8; length++)
        {
            byte[] bytes = EchoRequest.AsSpan(0, length).ToArray();
            WireError error;
            Assert.False(Icmpv4Packet.TryCreate(bytes, out _, out error));
            Assert.Equal(WireError.Truncated, error);
            Assert.False(Icmpv4Echo.TryCreate(bytes, out _, out error));
            Assert.Equal(WireError.Truncated, error);
            Assert.False(Icmpv4Error.TryCreate(bytes, out _, out error));
            Assert.Equal(WireError.Truncated, error);
            Assert.False(Icmpv4Redirect.TryCreate(bytes, out _, out error));
            Assert.Equal(WireError.Truncated, error);
            Assert.False(Icmpv4Packet.Repr.TryParse(bytes, out _, out error));
            Assert.Equal(WireError.Truncated, error);
            Assert.False(Icmpv4Echo.Repr.TryParse(bytes, out _, out error));
            Assert.Equal(WireError.Truncated, error);
            Assert.False(Icmpv4Error.Repr.TryParse(bytes, out _, out error));
            Assert.Equal(WireError.Truncated, error);
            Assert.False(Icmpv4Redirect.Repr.TryParse(bytes, out _, out error));
            Assert.Equal(WireError.Truncated, error);
        }
    }

    [Fact]
    public void A_message_without_data_is_its_header()
    {
        byte[] bytes = [0x08, 0x00, 0x00, 0x00, 0x1a, 0x2b, 0x00, 0x02];
        Assert.True(Icmpv4Echo.TryCreate(bytes, out Icmpv4Echo echo));
        echo.FillChecksum();
        Assert.True(echo.Payload.IsEmpty);
        Assert.Equal(8, echo.PacketLength);
        Assert.True(Icmpv4Echo.Repr.TryParse(bytes, out _));
    }

    [Fact]
    public void Emit_refuses_a_destination_shorter_than_the_header()
        => Assert.Throws<ArgumentException>(() => EchoRequestRepr.Emit(new byte[7]));
}
