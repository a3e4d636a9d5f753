namespace Dataplane.Wire.Tests.Network;

public class Ipv6PacketTests
{
    // `ping -6 2001:db8:1::1` from a Linux host, which puts a flow label on it (RFC 6437). Made with scapy 2.5.0:
    //   IPv6(tc=0, fl=0x9e3a1, hlim=64, src="2001:db8:1::100", dst="2001:db8:1::1")
    //     /ICMPv6EchoRequest(id=0x2c1d, seq=1, data=struct.pack("<QQ", 0x6720c3a5, 0x000b71f2) + bytes(range(0x10, 0x38)))
    private static readonly byte[] Ping =
    [
        // IPv6 @ 0
        0x60, 0x09, 0xe3, 0xa1, 0x00, 0x40, 0x3a, 0x40, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
        // ICMPv6 @ 40
        0x80, 0x00, 0x74, 0x82, 0x2c, 0x1d, 0x00, 0x01, 0xa5, 0xc3, 0x20, 0x67, 0x00, 0x00, 0x00, 0x00,
        0xf2, 0x71, 0x0b, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17,
        0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27,
        0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37,
    ];

    private static Ipv6Address Address(string text)
    {
        Assert.True(Ipv6Address.TryParse(text, out Ipv6Address address));
        return address;
    }

    private static readonly Ipv6Packet.Repr PingRepr = new()
    {
        Version = 6,
        TrafficClass = 0,
        FlowLabel = 0x9e3a1,
        PayloadLength = 64,
        NextHeader = IpProtocol.Icmpv6,
        HopLimit = 64,
        Source = Address("2001:db8:1::100"),
        Destination = Address("2001:db8:1::1"),
    };

    [Fact]
    public void Deconstruct_reads_every_field_of_a_ping()
    {
        byte[] bytes = [.. Ping];
        Assert.True(Ipv6Packet.TryCreate(bytes, out Ipv6Packet ip, out WireError error));

        Assert.Equal(WireError.None, error);
        Assert.Equal(6, ip.Version);
        Assert.Equal(0, ip.TrafficClass);
        Assert.Equal(0x9e3a1u, ip.FlowLabel);
        Assert.Equal(64, ip.PayloadLength);
        Assert.Equal(IpProtocol.Icmpv6, ip.NextHeader);
        Assert.Equal(64, ip.HopLimit);
        Assert.Equal(Address("2001:db8:1::100"), ip.Source);
        Assert.Equal(Address("2001:db8:1::1"), ip.Destination);
        Assert.Equal(40, Ipv6Packet.FixedLength);
        Assert.Equal(40, ip.HeaderLength);
        Assert.Equal(104, ip.PacketLength);
        Assert.Equal(Ping[..40], ip.Header.ToArray());
        Assert.Equal(Ping[40..], ip.Payload.ToArray());
    }

    [Fact]
    public void Construct_through_the_setters_gives_the_ping()
    {
        byte[] bytes = new byte[Ping.Length];
        Assert.True(Ipv6Packet.TryCreate(bytes.AsSpan(0, 40), out Ipv6Packet header));
        header.PayloadLength = 64; // the length field first, so that the whole packet can be viewed
        Assert.True(Ipv6Packet.TryCreate(bytes, out Ipv6Packet ip));

        ip.Version = 6;
        ip.TrafficClass = 0;
        ip.FlowLabel = 0x9e3a1;
        ip.NextHeader = IpProtocol.Icmpv6;
        ip.HopLimit = 64;
        ip.Source = Address("2001:db8:1::100");
        ip.Destination = Address("2001:db8:1::1");
        Ping.AsSpan(40).CopyTo(ip.Payload);

        Assert.Equal(Ping, bytes);
    }

    [Fact]
    public void Parse_gives_the_repr()
    {
        Assert.True(Ipv6Packet.Repr.TryParse(Ping, out Ipv6Packet.Repr repr, out WireError error));
        Assert.Equal(WireError.None, error);
        Assert.Equal(PingRepr, repr);
    }

    [Theory]
    [InlineData(0x40)]
    [InlineData(0x00)]
    [InlineData(0xf0)]
    public void Parse_refuses_a_version_other_than_6(byte firstByte)
    {
        byte[] bytes = [.. Ping];
        bytes[0] = firstByte;
        Assert.False(Ipv6Packet.Repr.TryParse(bytes, out _, out WireError error));
        Assert.Equal(WireError.UnexpectedValue, error);
    }

    [Fact]
    public void Emit_writes_the_header()
    {
        byte[] bytes = new byte[Ping.Length];
        Assert.Equal(40, PingRepr.Emit(bytes));
        Ping.AsSpan(40).CopyTo(bytes.AsSpan(40));
        Assert.Equal(Ping, bytes);
    }

    [Fact]
    public void Emit_overwrites_every_bit_of_a_dirty_destination()
    {
        byte[] bytes = new byte[40];
        Array.Fill(bytes, (byte)0xff);
        PingRepr.Emit(bytes);
        Assert.Equal(Ping[..40], bytes);
    }

    [Fact]
    public void Emit_refuses_a_destination_shorter_than_the_header()
        => Assert.Throws<ArgumentException>(() => PingRepr.Emit(new byte[39]));

    [Fact]
    public void TryCreate_refuses_every_buffer_shorter_than_the_header()
    {
        for (int length = 0; length < Ipv6Packet.FixedLength; length++)
        {
            Assert.False(Ipv6Packet.TryCreate(Ping.AsSpan(0, length).ToArray(), out _, out WireError error));
            Assert.Equal(WireError.Truncated, error);
            Assert.False(Ipv6Packet.Repr.TryParse(Ping.AsSpan(0, length), out _, out error));
            Assert.Equal(WireError.Truncated, error);
        }
    }

    [Theory]
    [InlineData(65)]
    [InlineData(1460)]
    [InlineData(65535)]
    public void TryCreate_refuses_payload_length_past_the_buffer(ushort payloadLength)
    {
        byte[] bytes = [.. Ping];
        bytes[4] = (byte)(payloadLength >> 8);
        bytes[5] = (byte)payloadLength;
        Assert.False(Ipv6Packet.TryCreate(bytes, out _, out WireError error));
        Assert.Equal(WireError.BadTotalLength, error);
        Assert.False(Ipv6Packet.Repr.TryParse(bytes, out _, out error));
        Assert.Equal(WireError.BadTotalLength, error);
    }

    [Fact]
    public void A_payload_length_of_zero_is_a_bare_header()
    {
        // The payload length counts only what follows the fixed header, so it cannot fall below it;
        // 0 is a header alone (or a jumbogram, RFC 2675, which this view does not follow).
        byte[] bytes = [.. Ping];
        bytes[4] = 0;
        bytes[5] = 0;
        Assert.True(Ipv6Packet.TryCreate(bytes, out Ipv6Packet ip));
        Assert.Equal(40, ip.PacketLength);
        Assert.True(ip.Payload.IsEmpty);
    }

    [Fact]
    public void Bytes_past_the_payload_length_are_not_payload()
    {
        byte[] bytes = [.. Ping, 0, 0, 0, 0, 0, 0];
        Assert.True(Ipv6Packet.TryCreate(bytes, out Ipv6Packet ip));
        Assert.Equal(104, ip.PacketLength);
        Assert.Equal(Ping[40..], ip.Payload.ToArray());
    }

    [Fact]
    public void Traffic_class_and_flow_label_do_not_spill_into_their_neighbours()
    {
        byte[] bytes = [.. Ping];
        Assert.True(Ipv6Packet.TryCreate(bytes, out Ipv6Packet ip));

        ip.TrafficClass = 0xb8; // DSCP EF
        Assert.Equal(new byte[] { 0x6b, 0x89, 0xe3, 0xa1 }, bytes[..4]);
        Assert.Equal(0x9e3a1u, ip.FlowLabel);

        ip.FlowLabel = 0xfffff;
        Assert.Equal(new byte[] { 0x6b, 0x8f, 0xff, 0xff, 0x00, 0x40 }, bytes[..6]);
        Assert.Equal(0xb8, ip.TrafficClass);
        Assert.Equal(64, ip.PayloadLength);

        ip.FlowLabel = 0;
        ip.TrafficClass = 0;
        Assert.Equal(new byte[] { 0x60, 0x00, 0x00, 0x00, 0x00, 0x40 }, bytes[..6]);
        Assert.Equal(6, ip.Version);

        ip.FlowLabel = 0x123456; // wider than 20 bits: cut, not spilled into the traffic class
        Assert.Equal(0x23456u, ip.FlowLabel);
        Assert.Equal(0, ip.TrafficClass);
    }
}
