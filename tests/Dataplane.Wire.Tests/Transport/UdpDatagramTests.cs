namespace Dataplane.Wire.Tests.Transport;

public class UdpDatagramTests
{
    // A DNS query for example.com A from a Linux resolver. Made with scapy 2.5.0:
    //   IP(id=0x8c21, ttl=64, src="192.168.1.100", dst="192.168.1.1")/UDP(sport=53412, dport=53)
    //     /DNS(id=0x3b7c, rd=1, qd=DNSQR(qname="example.com", qtype="A"))
    private static readonly byte[] DnsQueryV4 =
    [
        // IPv4 @ 0
        0x45, 0x00, 0x00, 0x39, 0x8c, 0x21, 0x00, 0x00, 0x40, 0x11, 0x6a, 0xdd, 0xc0, 0xa8, 0x01, 0x64,
        0xc0, 0xa8, 0x01, 0x01,
        // UDP @ 20
        0xd0, 0xa4, 0x00, 0x35, 0x00, 0x25, 0xa0, 0x2a,
        // DNS @ 28
        0x3b, 0x7c, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07, 0x65, 0x78, 0x61,
        0x6d, 0x70, 0x6c, 0x65, 0x03, 0x63, 0x6f, 0x6d, 0x00, 0x00, 0x01, 0x00, 0x01,
    ];

    // The AAAA query over IPv6. Made with scapy 2.5.0:
    //   IPv6(fl=0x2b7d1, hlim=64, src="2001:db8:1::100", dst="2001:db8:1::1")/UDP(sport=53412, dport=53)
    //     /DNS(id=0x3b7d, rd=1, qd=DNSQR(qname="example.com", qtype="AAAA"))
    private static readonly byte[] DnsQueryV6 =
    [
        // IPv6 @ 0
        0x60, 0x02, 0xb7, 0xd1, 0x00, 0x25, 0x11, 0x40, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
        // UDP @ 40
        0xd0, 0xa4, 0x00, 0x35, 0x00, 0x25, 0xac, 0x6a,
        // DNS @ 48
        0x3b, 0x7d, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07, 0x65, 0x78, 0x61,
        0x6d, 0x70, 0x6c, 0x65, 0x03, 0x63, 0x6f, 0x6d, 0x00, 0x00, 0x1c, 0x00, 0x01,
    ];

    private static Ipv6Address Address(string text)
    {
        Assert.True(Ipv6Address.TryParse(text, out Ipv6Address address));
        return address;
    }

    private static readonly Ipv4Address HostV4 = new(192, 168, 1, 100);
    private static readonly Ipv4Address RouterV4 = new(192, 168, 1, 1);
    private static readonly Ipv6Address HostV6 = Address("2001:db8:1::100");
    private static readonly Ipv6Address RouterV6 = Address("2001:db8:1::1");

    private static readonly UdpDatagram.Repr QueryRepr = new() { SourcePort = 53412, DestinationPort = 53, Length = 37 };

    [Fact]
    public void Deconstruct_reads_every_field_and_verifies_over_ipv4()
    {
        byte[] bytes = [.. DnsQueryV4];
        Assert.True(Ipv4Packet.TryCreate(bytes, out Ipv4Packet ip));
        Assert.True(UdpDatagram.TryCreate(ip.Payload, out UdpDatagram udp, out WireError error));

        Assert.Equal(WireError.None, error);
        Assert.Equal(53412, udp.SourcePort);
        Assert.Equal(53, udp.DestinationPort);
        Assert.Equal(37, udp.Length);
        Assert.Equal(0xa02a, udp.Checksum);
        Assert.Equal(8, UdpDatagram.FixedLength);
        Assert.Equal(8, udp.HeaderLength);
        Assert.Equal(37, udp.PacketLength);
        Assert.Equal(DnsQueryV4[20..28], udp.Header.ToArray());
        Assert.Equal(DnsQueryV4[28..], udp.Payload.ToArray());
        Assert.True(udp.VerifyChecksum(ip.Source, ip.Destination));
        Assert.Equal(0xa02a, udp.ComputeChecksum(ip.Source, ip.Destination));
        Assert.False(udp.VerifyChecksum(ip.Source, new Ipv4Address(192, 168, 1, 2)));
    }

    [Fact]
    public void Deconstruct_verifies_over_ipv6()
    {
        byte[] bytes = [.. DnsQueryV6];
        Assert.True(Ipv6Packet.TryCreate(bytes, out Ipv6Packet ip));
        Assert.True(UdpDatagram.TryCreate(ip.Payload, out UdpDatagram udp));

        Assert.Equal(37, udp.Length);
        Assert.Equal(0xac6a, udp.Checksum);
        Assert.Equal(DnsQueryV6[48..], udp.Payload.ToArray());
        Assert.True(udp.VerifyChecksum(ip.Source, ip.Destination));
        Assert.Equal(0xac6a, udp.ComputeChecksum(ip.Source, ip.Destination));
        Assert.False(udp.VerifyChecksum(ip.Source, Address("2001:db8:1::2")));
    }

    [Fact]
    public void Construct_through_the_setters_gives_the_datagram_over_both_families()
    {
        byte[] bytes = new byte[37];
        bytes[5] = 37; // the length first, so that the view covers the payload
        Assert.True(UdpDatagram.TryCreate(bytes, out UdpDatagram udp));
        udp.SourcePort = 53412;
        udp.DestinationPort = 53;
        udp.Length = 37;
        DnsQueryV4.AsSpan(28).CopyTo(udp.Payload);
        udp.FillChecksum(HostV4, RouterV4);
        Assert.Equal(DnsQueryV4[20..], bytes);

        DnsQueryV6.AsSpan(48).CopyTo(udp.Payload);
        udp.FillChecksum(HostV6, RouterV6);
        Assert.Equal(DnsQueryV6[40..], bytes);
    }

    [Fact]
    public void Parse_gives_the_repr_and_leaves_the_checksum_to_the_caller()
    {
        Assert.True(UdpDatagram.Repr.TryParse(DnsQueryV4.AsSpan(20), out UdpDatagram.Repr repr, out WireError error));
        Assert.Equal(WireError.None, error);
        Assert.Equal(QueryRepr, repr);

        // The checksum needs the pseudo-header, which TryParse does not have.
        byte[] corrupted = [.. DnsQueryV4[20..]];
        corrupted[7] ^= 0xff;
        Assert.True(UdpDatagram.Repr.TryParse(corrupted, out repr));
        Assert.Equal(QueryRepr, repr);
    }

    [Fact]
    public void Emit_then_fill_gives_the_datagram()
    {
        byte[] bytes = new byte[37];
        Assert.Equal(8, QueryRepr.Emit(bytes));
        Assert.Equal(0, bytes[6] | bytes[7]);
        DnsQueryV4.AsSpan(28).CopyTo(bytes.AsSpan(8));
        Assert.True(UdpDatagram.TryCreate(bytes, out UdpDatagram udp));
        udp.FillChecksum(HostV4, RouterV4);
        Assert.Equal(DnsQueryV4[20..], bytes);
    }

    [Fact]
    public void Emit_refuses_a_destination_shorter_than_the_header()
        => Assert.Throws<ArgumentException>(() => QueryRepr.Emit(new byte[7]));

    [Fact]
    public void TryCreate_refuses_every_buffer_shorter_than_the_header()
    {
        for (int length = 0; length < UdpDatagram.FixedLength; length++)
        {
            byte[] bytes = DnsQueryV4.AsSpan(20, length).ToArray();
            Assert.False(UdpDatagram.TryCreate(bytes, out _, out WireError error));
            Assert.Equal(WireError.Truncated, error);
            Assert.False(UdpDatagram.Repr.TryParse(bytes, out _, out error));
            Assert.Equal(WireError.Truncated, error);
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(7)]
    public void TryCreate_refuses_a_length_below_the_header(ushort length)
    {
        byte[] bytes = [.. DnsQueryV4[20..]];
        bytes[4] = (byte)(length >> 8);
        bytes[5] = (byte)length;
        Assert.False(UdpDatagram.TryCreate(bytes, out _, out WireError error));
        Assert.Equal(WireError.BadTotalLength, error);
        Assert.False(UdpDatagram.Repr.TryParse(bytes, out _, out error));
        Assert.Equal(WireError.BadTotalLength, error);
    }

    [Theory]
    [InlineData(38)]
    [InlineData(512)]
    [InlineData(65535)]
    public void TryCreate_refuses_a_length_past_the_buffer(ushort length)
    {
        byte[] bytes = [.. DnsQueryV4[20..]];
        bytes[4] = (byte)(length >> 8);
        bytes[5] = (byte)length;
        Assert.False(UdpDatagram.TryCreate(bytes, out _, out WireError error));
        Assert.Equal(WireError.BadTotalLength, error);
    }

    [Fact]
    public void A_header_alone_is_an_empty_datagram()
    {
        byte[] bytes = [0x30, 0x39, 0x00, 0x35, 0x00, 0x08, 0x00, 0x00];
        Assert.True(UdpDatagram.TryCreate(bytes, out UdpDatagram udp));
        Assert.Equal(8, udp.PacketLength);
        Assert.True(udp.Payload.IsEmpty);
    }

    [Fact]
    public void Bytes_past_the_length_are_not_payload_nor_summed()
    {
        // A datagram in a buffer that runs on (Ethernet padding, a reused buffer): only Length counts.
        byte[] bytes = [.. DnsQueryV4[20..], 0xde, 0xad, 0xbe];
        Assert.True(UdpDatagram.TryCreate(bytes, out UdpDatagram udp));
        Assert.Equal(37, udp.PacketLength);
        Assert.Equal(DnsQueryV4[28..], udp.Payload.ToArray());
        Assert.True(udp.VerifyChecksum(HostV4, RouterV4));
    }

    [Fact]
    public void A_zero_checksum_means_none_over_ipv4_but_not_over_ipv6()
    {
        // RFC 768: 0 means the sender computed no checksum. RFC 8200 8.1: over IPv6 it is mandatory,
        // and a receiver discards a datagram whose checksum is 0.
        byte[] v4 = [.. DnsQueryV4[20..]];
        v4[6] = 0;
        v4[7] = 0;
        Assert.True(UdpDatagram.TryCreate(v4, out UdpDatagram udp));
        Assert.True(udp.VerifyChecksum(HostV4, RouterV4));
        Assert.True(udp.VerifyChecksum(new Ipv4Address(10, 0, 0, 1), new Ipv4Address(10, 0, 0, 2)));

        byte[] v6 = [.. DnsQueryV6[40..]];
        v6[6] = 0;
        v6[7] = 0;
        Assert.True(UdpDatagram.TryCreate(v6, out udp));
        Assert.False(udp.VerifyChecksum(HostV6, RouterV6));
    }

    /// <summary>
    /// Sets the last two payload bytes so that the datagram sums to 0xFFFF over
    /// <paramref name="source"/> and <paramref name="destination"/>: its computed checksum is 0.
    /// </summary>
    private static byte[] DatagramWhoseChecksumComputesToZero(Ipv4Address source, Ipv4Address destination)
    {
        byte[] bytes = [0xd0, 0xa4, 0x00, 0x35, 0x00, 0x0c, 0x00, 0x00, 0x12, 0x34, 0x00, 0x00];
        Assert.True(UdpDatagram.TryCreate(bytes, out UdpDatagram udp));
        ushort word = udp.ComputeChecksum(source, destination); // ~sum without the last word
        bytes[10] = (byte)(word >> 8);
        bytes[11] = (byte)word;
        Assert.Equal(0, udp.ComputeChecksum(source, destination));
        return bytes;
    }

    [Fact]
    public void A_computed_zero_is_sent_as_ffff()
    {
        byte[] bytes = DatagramWhoseChecksumComputesToZero(HostV4, RouterV4);
        Assert.True(UdpDatagram.TryCreate(bytes, out UdpDatagram udp));

        udp.FillChecksum(HostV4, RouterV4);

        Assert.Equal(0xffff, udp.Checksum); // RFC 768: all ones, because 0 would mean none
        Assert.True(udp.VerifyChecksum(HostV4, RouterV4));
    }

    [Fact]
    public void A_computed_zero_is_sent_as_ffff_over_ipv6_too()
    {
        // RFC 8200 8.1 keeps RFC 768's rule for IPv6.
        byte[] bytes = [0xd0, 0xa4, 0x00, 0x35, 0x00, 0x0c, 0x00, 0x00, 0x12, 0x34, 0x00, 0x00];
        Assert.True(UdpDatagram.TryCreate(bytes, out UdpDatagram udp));
        ushort word = udp.ComputeChecksum(HostV6, RouterV6);
        bytes[10] = (byte)(word >> 8);
        bytes[11] = (byte)word;
        Assert.Equal(0, udp.ComputeChecksum(HostV6, RouterV6));

        udp.FillChecksum(HostV6, RouterV6);

        Assert.Equal(0xffff, udp.Checksum);
        Assert.True(udp.VerifyChecksum(HostV6, RouterV6));
    }

    [Fact]
    public void Incremental_port_setters_give_the_checksum_of_a_full_recompute()
    {
        var random = new Random(768);
        byte[] bytes = [.. DnsQueryV4[20..]];
        Assert.True(UdpDatagram.TryCreate(bytes, out UdpDatagram udp));
        for (int i = 0; i < 5000; i++)
        {
            if (random.Next(2) == 0)
                udp.SetSourcePortUpdatingChecksum((ushort)random.Next(65536));
            else
                udp.SetDestinationPortUpdatingChecksum((ushort)random.Next(65536));

            ushort full = udp.ComputeChecksum(HostV4, RouterV4);
            Assert.Equal(full == 0 ? (ushort)0xffff : full, udp.Checksum);
            Assert.True(udp.VerifyChecksum(HostV4, RouterV4));
        }
    }

    [Fact]
    public void Incremental_setter_leaves_an_absent_checksum_absent()
    {
        // A NAT rewriting the port of a datagram sent without checksum (VXLAN and other tunnels over
        // IPv4 do this) must leave the 0 alone: any other value would be checked, and fail.
        byte[] bytes = [.. DnsQueryV4[20..]];
        bytes[6] = 0;
        bytes[7] = 0;
        Assert.True(UdpDatagram.TryCreate(bytes, out UdpDatagram udp));

        udp.SetSourcePortUpdatingChecksum(40000);

        Assert.Equal(40000, udp.SourcePort);
        Assert.Equal(0, udp.Checksum);
        Assert.True(udp.VerifyChecksum(HostV4, RouterV4));
    }

    [Fact]
    public void Incremental_setter_that_lands_on_a_computed_zero_sends_ffff()
    {
        byte[] bytes = DatagramWhoseChecksumComputesToZero(HostV4, RouterV4);
        Assert.True(UdpDatagram.TryCreate(bytes, out UdpDatagram udp));
        udp.FillChecksum(HostV4, RouterV4);
        ushort port = udp.SourcePort;
        udp.SourcePort = 1;
        udp.FillChecksum(HostV4, RouterV4); // a valid checksum, for source port 1
        Assert.NotEqual(0xffff, udp.Checksum);

        udp.SetSourcePortUpdatingChecksum(port); // back to the port whose computed checksum is 0

        Assert.Equal(0xffff, udp.Checksum);
        Assert.True(udp.VerifyChecksum(HostV4, RouterV4));
    }
}
