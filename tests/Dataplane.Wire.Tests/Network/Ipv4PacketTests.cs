namespace Dataplane.Wire.Tests.Network;

public class Ipv4PacketTests
{
    // `ping 192.168.1.1` from a Linux host: DF set, TTL 64, 56 bytes of data (struct timeval, then
    // 0x10..0x37 as iputils fills it). Made with scapy 2.5.0:
    //   IP(id=0x4b1c, flags="DF", ttl=64, src="192.168.1.100", dst="192.168.1.1")
    //     /ICMP(type=8, id=0x1a2b, seq=1)/Raw(struct.pack("<QQ", 0x6720c3a5, 0x000b71f2) + bytes(range(0x10, 0x38)))
    private static readonly byte[] Ping =
    [
        // IPv4 @ 0
        0x45, 0x00, 0x00, 0x54, 0x4b, 0x1c, 0x40, 0x00, 0x40, 0x01, 0x6b, 0xd7, 0xc0, 0xa8, 0x01, 0x64,
        0xc0, 0xa8, 0x01, 0x01,
        // ICMP @ 20
        0x08, 0x00, 0x5b, 0x64, 0x1a, 0x2b, 0x00, 0x01,
        0xa5, 0xc3, 0x20, 0x67, 0x00, 0x00, 0x00, 0x00, 0xf2, 0x71, 0x0b, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
        0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f,
        0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37,
    ];

    // An IGMPv2 membership report as Linux sends it: TOS 0xc0 (CS6), TTL 1, DF and the Router Alert
    // option (RFC 2113), in an Ethernet frame padded to 60 bytes. Made with scapy 2.5.0:
    //   Ether(dst="01:00:5e:00:00:fb", src="52:54:00:12:34:56")/IP(tos=0xc0, id=0, flags="DF", ttl=1,
    //     src="192.168.1.100", dst="224.0.0.251", options=[IPOption_Router_Alert()])
    //     /IGMP(type=0x16, mrcode=0, gaddr="224.0.0.251") + 14 bytes of padding
    private static readonly byte[] IgmpReportFrame =
    [
        // Ethernet @ 0
        0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0x08, 0x00,
        // IPv4 @ 14, options @ 34
        0x46, 0xc0, 0x00, 0x20, 0x00, 0x00, 0x40, 0x00, 0x01, 0x02, 0x41, 0x10, 0xc0, 0xa8, 0x01, 0x64,
        0xe0, 0x00, 0x00, 0xfb, 0x94, 0x04, 0x00, 0x00,
        // IGMP @ 38
        0x16, 0x00, 0x09, 0x04, 0xe0, 0x00, 0x00, 0xfb,
        // padding @ 46
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    ];

    // A header with several options: NOP, Record Route with one of two slots filled, End of Option
    // List, then padding to a word. Made with scapy 2.5.0:
    //   IP(id=0x1234, ttl=64, proto=17, src="10.0.0.1", dst="10.0.0.2", options=[IPOption_NOP(),
    //     IPOption_RR(pointer=8, routers=["10.0.0.1", "0.0.0.0"]), IPOption_EOL()])/UDP(sport=1234, dport=5678)/Raw(b"hi")
    private static readonly byte[] RecordRoute =
    [
        // IPv4 @ 0, options @ 20
        0x49, 0x00, 0x00, 0x2e, 0x12, 0x34, 0x00, 0x00, 0x40, 0x11, 0x3a, 0x79, 0x0a, 0x00, 0x00, 0x01,
        0x0a, 0x00, 0x00, 0x02, 0x01, 0x07, 0x0b, 0x08, 0x0a, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00,
        // UDP @ 36
        0x04, 0xd2, 0x16, 0x2e, 0x00, 0x0a, 0x68, 0x6e, 0x68, 0x69,
    ];

    private static readonly Ipv4Address Host = new(192, 168, 1, 100);
    private static readonly Ipv4Address Router = new(192, 168, 1, 1);

    private static readonly Ipv4Packet.Repr PingRepr = new()
    {
        Version = 4,
        Ihl = 5,
        Dscp = 0,
        Ecn = 0,
        TotalLength = 84,
        Identification = 0x4b1c,
        Flags = Ipv4Flags.DontFragment,
        FragmentOffset = 0,
        TimeToLive = 64,
        Protocol = IpProtocol.Icmp,
        Source = Host,
        Destination = Router,
    };

    private static readonly Ipv4Packet.Repr IgmpReportRepr = new()
    {
        Version = 4,
        Ihl = 6,
        Dscp = 48, // CS6: TOS 0xc0
        Ecn = 0,
        TotalLength = 32,
        Identification = 0,
        Flags = Ipv4Flags.DontFragment,
        FragmentOffset = 0,
        TimeToLive = 1,
        Protocol = IpProtocol.Igmp,
        Source = Host,
        Destination = new Ipv4Address(224, 0, 0, 251),
    };

    [Fact]
    public void Deconstruct_reads_every_field_of_a_ping()
    {
        byte[] bytes = [.. Ping];
        Assert.True(Ipv4Packet.TryCreate(bytes, out Ipv4Packet ip, out WireError error));

        Assert.Equal(WireError.None, error);
        Assert.Equal(4, ip.Version);
        Assert.Equal(5, ip.Ihl);
        Assert.Equal(0, ip.Dscp);
        Assert.Equal(0, ip.Ecn);
        Assert.Equal(84, ip.TotalLength);
        Assert.Equal(0x4b1c, ip.Identification);
        Assert.Equal(Ipv4Flags.DontFragment, ip.Flags);
        Assert.True(ip.HasFlags(Ipv4Flags.DontFragment));
        Assert.False(ip.HasFlags(Ipv4Flags.MoreFragments));
        Assert.Equal(0, ip.FragmentOffset);
        Assert.Equal(64, ip.TimeToLive);
        Assert.Equal(IpProtocol.Icmp, ip.Protocol);
        Assert.Equal(0x6bd7, ip.HeaderChecksum);
        Assert.Equal(Host, ip.Source);
        Assert.Equal(Router, ip.Destination);

        Assert.Equal(20, ip.HeaderLength);
        Assert.Equal(84, ip.PacketLength);
        Assert.Equal(Ping[..20], ip.Header.ToArray());
        Assert.Equal(Ping[20..], ip.Payload.ToArray());
        Assert.True(ip.Options.IsEmpty);
        Assert.False(ip.EnumerateOptions().MoveNext());
        Assert.True(ip.VerifyHeaderChecksum());
        Assert.Equal(0x6bd7, ip.ComputeHeaderChecksum());
    }

    [Fact]
    public void Deconstruct_reads_the_router_alert_option_and_leaves_the_ethernet_padding_out()
    {
        byte[] bytes = [.. IgmpReportFrame];
        Assert.True(EthernetFrame.TryCreate(bytes, out EthernetFrame frame));
        Assert.Equal(46, frame.Payload.Length);

        Assert.True(Ipv4Packet.TryCreate(frame.Payload, out Ipv4Packet ip));
        Assert.Equal(6, ip.Ihl);
        Assert.Equal(48, ip.Dscp);
        Assert.Equal(1, ip.TimeToLive);
        Assert.Equal(IpProtocol.Igmp, ip.Protocol);
        Assert.Equal(24, ip.HeaderLength);
        Assert.Equal(32, ip.PacketLength);
        Assert.Equal(IgmpReportFrame[38..46], ip.Payload.ToArray()); // the 14 padding bytes are not payload
        Assert.Equal(IgmpReportFrame[34..38], ip.Options.ToArray());
        Assert.True(ip.VerifyHeaderChecksum());

        WireOptionEnumerator options = ip.EnumerateOptions();
        Assert.True(options.MoveNext());
        Assert.Equal(0x94, options.Current.Type); // RFC 2113: copied, class 0, number 20
        Assert.Equal(new byte[] { 0x00, 0x00 }, options.Current.Data.ToArray());
        Assert.Equal(new byte[] { 0x94, 0x04, 0x00, 0x00 }, options.Current.Raw.ToArray());
        Assert.False(options.MoveNext());
        Assert.False(options.IsMalformed);
    }

    [Fact]
    public void Options_walk_skips_no_operation_and_stops_at_end_of_list()
    {
        byte[] bytes = [.. RecordRoute];
        Assert.True(Ipv4Packet.TryCreate(bytes, out Ipv4Packet ip));
        Assert.Equal(9, ip.Ihl);
        Assert.Equal(36, ip.HeaderLength);
        Assert.Equal(46, ip.PacketLength);
        Assert.Equal(16, ip.Options.Length);
        Assert.True(ip.VerifyHeaderChecksum());

        int count = 0;
        foreach (WireOption option in ip.EnumerateOptions())
        {
            count++;
            Assert.Equal(7, option.Type); // Record Route
            Assert.Equal(11, option.Raw.Length);
            Assert.Equal(new byte[] { 0x08, 0x0a, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00 }, option.Data.ToArray());
        }
        Assert.Equal(1, count);
        Assert.True(WireOptionEnumerator.IsWellFormed(ip.Options, OptionFormat.KindLength));

        Assert.True(UdpDatagram.TryCreate(ip.Payload, out UdpDatagram udp));
        Assert.Equal(1234, udp.SourcePort);
        Assert.True(udp.VerifyChecksum(ip.Source, ip.Destination));
    }

    [Fact]
    public void Construct_through_the_setters_gives_the_ping()
    {
        byte[] bytes = new byte[Ping.Length];
        bytes[0] = 0x05; // IHL first, so that the view sees a header length it accepts
        bytes[3] = (byte)Ping.Length;
        Assert.True(Ipv4Packet.TryCreate(bytes, out Ipv4Packet ip));

        ip.Version = 4;
        ip.Ihl = 5;
        ip.Dscp = 0;
        ip.Ecn = 0;
        ip.TotalLength = 84;
        ip.Identification = 0x4b1c;
        ip.Flags = Ipv4Flags.DontFragment;
        ip.FragmentOffset = 0;
        ip.TimeToLive = 64;
        ip.Protocol = IpProtocol.Icmp;
        ip.Source = Host;
        ip.Destination = Router;
        Ping.AsSpan(20).CopyTo(ip.Payload);
        ip.FillHeaderChecksum();

        Assert.Equal(Ping, bytes);
    }

    [Fact]
    public void Construct_with_an_option_gives_the_igmp_report()
    {
        byte[] bytes = new byte[32];
        bytes[0] = 0x06;
        bytes[3] = 32;
        Assert.True(Ipv4Packet.TryCreate(bytes, out Ipv4Packet ip));

        ip.Version = 4;
        ip.Dscp = 48;
        ip.SetFlags(Ipv4Flags.DontFragment, true);
        ip.TimeToLive = 1;
        ip.Protocol = IpProtocol.Igmp;
        ip.Source = Host;
        ip.Destination = new Ipv4Address(224, 0, 0, 251);
        byte[] routerAlert = [0x94, 0x04, 0x00, 0x00];
        routerAlert.CopyTo(ip.Options);
        IgmpReportFrame.AsSpan(38, 8).CopyTo(ip.Payload);
        ip.FillHeaderChecksum();

        Assert.Equal(IgmpReportFrame[14..46], bytes);
    }

    [Fact]
    public void Parse_gives_the_repr()
    {
        Assert.True(Ipv4Packet.Repr.TryParse(Ping, out Ipv4Packet.Repr repr, out WireError error));
        Assert.Equal(WireError.None, error);
        Assert.Equal(PingRepr, repr);

        Assert.True(Ipv4Packet.Repr.TryParse(IgmpReportFrame.AsSpan(14), out repr));
        Assert.Equal(IgmpReportRepr, repr);
    }

    [Fact]
    public void Parse_refuses_a_version_other_than_4()
    {
        byte[] bytes = [.. Ping];
        Assert.True(Ipv4Packet.TryCreate(bytes, out Ipv4Packet ip));
        ip.Version = 6;
        ip.FillHeaderChecksum(); // only the version is wrong

        Assert.False(Ipv4Packet.Repr.TryParse(bytes, out _, out WireError error));
        Assert.Equal(WireError.UnexpectedValue, error);
    }

    [Fact]
    public void Parse_refuses_a_corrupted_header_checksum()
    {
        byte[] bytes = [.. Ping];
        bytes[11] ^= 0x01;
        Assert.False(Ipv4Packet.Repr.TryParse(bytes, out _, out WireError error));
        Assert.Equal(WireError.BadChecksum, error);

        bytes = [.. Ping];
        bytes[8] = 63; // TTL decremented, checksum not updated
        Assert.False(Ipv4Packet.Repr.TryParse(bytes, out _, out error));
        Assert.Equal(WireError.BadChecksum, error);
    }

    [Fact]
    public void Parse_refuses_a_corrupted_option_byte_through_the_checksum()
    {
        byte[] bytes = [.. IgmpReportFrame[14..46]];
        bytes[22] = 0x01; // the router alert value is covered by the header checksum
        Assert.False(Ipv4Packet.Repr.TryParse(bytes, out _, out WireError error));
        Assert.Equal(WireError.BadChecksum, error);
    }

    [Theory]
    [InlineData(new byte[] { 0x07, 0x0b, 0x04, 0x00 })] // record route claims 11 bytes, 4 remain
    [InlineData(new byte[] { 0x01, 0x01, 0x01, 0x94 })] // a kind in the last byte, no room for its length
    [InlineData(new byte[] { 0x94, 0x01, 0x00, 0x00 })] // a length of 1 cannot hold kind and length
    [InlineData(new byte[] { 0x94, 0x00, 0x00, 0x00 })] // a length of 0
    public void Parse_refuses_options_whose_length_does_not_fit(byte[] options)
    {
        byte[] bytes = [.. IgmpReportFrame[14..46]];
        Assert.True(Ipv4Packet.TryCreate(bytes, out Ipv4Packet ip));
        options.CopyTo(ip.Options);
        ip.FillHeaderChecksum(); // only the options are wrong

        Assert.False(Ipv4Packet.Repr.TryParse(bytes, out _, out WireError error));
        Assert.Equal(WireError.BadOptions, error);

        WireOptionEnumerator walk = ip.EnumerateOptions();
        while (walk.MoveNext())
        {
        }
        Assert.True(walk.IsMalformed);
    }

    [Fact]
    public void Emit_writes_the_header_and_fills_the_header_checksum()
    {
        byte[] bytes = new byte[Ping.Length];
        int written = PingRepr.Emit(bytes);
        Ping.AsSpan(20).CopyTo(bytes.AsSpan(written));

        Assert.Equal(20, written);
        Assert.Equal(Ping, bytes);
    }

    [Fact]
    public void Emit_covers_options_written_before_it()
    {
        byte[] bytes = new byte[32];
        byte[] routerAlert = [0x94, 0x04, 0x00, 0x00];
        routerAlert.CopyTo(bytes, 20);
        IgmpReportFrame.AsSpan(38, 8).CopyTo(bytes.AsSpan(24));

        Assert.Equal(20, IgmpReportRepr.Emit(bytes));
        Assert.Equal(IgmpReportFrame[14..46], bytes);
    }

    [Fact]
    public void Emit_overwrites_every_bit_of_a_dirty_destination()
    {
        byte[] bytes = new byte[20];
        Array.Fill(bytes, (byte)0xff);
        PingRepr.Emit(bytes);
        Assert.Equal(Ping[..20], bytes);
    }

    [Fact]
    public void Emit_refuses_a_destination_shorter_than_the_header_or_its_options()
    {
        Assert.Throws<ArgumentException>(() => PingRepr.Emit(new byte[19]));
        Assert.Throws<ArgumentException>(() => IgmpReportRepr.Emit(new byte[23])); // IHL 6 needs 24 bytes
        Assert.Throws<ArgumentException>(() => (PingRepr with { Ihl = 4 }).Emit(new byte[20]));
    }

    [Fact]
    public void TryCreate_refuses_every_buffer_shorter_than_the_fixed_header()
    {
        for (int length = 0; length < Ipv4Packet.FixedLength; length++)
        {
            Assert.False(Ipv4Packet.TryCreate(Ping.AsSpan(0, length).ToArray(), out _, out WireError error));
            Assert.Equal(WireError.Truncated, error);
            Assert.False(Ipv4Packet.Repr.TryParse(Ping.AsSpan(0, length), out _, out error));
            Assert.Equal(WireError.Truncated, error);
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(4)]
    public void TryCreate_refuses_header_length_below_fixed_part(byte ihl)
    {
        byte[] bytes = [.. Ping];
        bytes[0] = (byte)(0x40 | ihl);
        Assert.False(Ipv4Packet.TryCreate(bytes, out _, out WireError error));
        Assert.Equal(WireError.BadHeaderLength, error);
        Assert.False(Ipv4Packet.Repr.TryParse(bytes, out _, out error));
        Assert.Equal(WireError.BadHeaderLength, error);
    }

    [Fact]
    public void TryCreate_refuses_header_length_past_the_buffer()
    {
        byte[] bytes = [.. Ping[..20]];
        bytes[0] = 0x46; // 24 bytes of header in a 20-byte buffer
        bytes[3] = 20;
        Assert.False(Ipv4Packet.TryCreate(bytes, out _, out WireError error));
        Assert.Equal(WireError.BadHeaderLength, error);

        bytes = [.. Ping[..56]];
        bytes[0] = 0x4f; // 60 bytes of header
        Assert.False(Ipv4Packet.TryCreate(bytes, out _, out error));
        Assert.Equal(WireError.BadHeaderLength, error);
    }

    [Fact]
    public void TryCreate_accepts_the_largest_header_length()
    {
        byte[] bytes = new byte[60];
        bytes[0] = 0x4f;
        bytes[3] = 60;
        Assert.True(Ipv4Packet.TryCreate(bytes, out Ipv4Packet ip));
        Assert.Equal(60, ip.HeaderLength);
        Assert.Equal(40, ip.Options.Length);
        Assert.True(ip.Payload.IsEmpty);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(19)]
    [InlineData(23)] // below the 24-byte header with its option
    public void TryCreate_refuses_total_length_below_the_header(ushort totalLength)
    {
        byte[] bytes = [.. IgmpReportFrame[14..46]];
        bytes[2] = (byte)(totalLength >> 8);
        bytes[3] = (byte)totalLength;
        Assert.False(Ipv4Packet.TryCreate(bytes, out _, out WireError error));
        Assert.Equal(WireError.BadTotalLength, error);
        Assert.False(Ipv4Packet.Repr.TryParse(bytes, out _, out error));
        Assert.Equal(WireError.BadTotalLength, error);
    }

    [Theory]
    [InlineData(85)]
    [InlineData(1500)]
    [InlineData(65535)]
    public void TryCreate_refuses_total_length_past_the_buffer(ushort totalLength)
    {
        byte[] bytes = [.. Ping];
        bytes[2] = (byte)(totalLength >> 8);
        bytes[3] = (byte)totalLength;
        Assert.False(Ipv4Packet.TryCreate(bytes, out _, out WireError error));
        Assert.Equal(WireError.BadTotalLength, error);
    }

    [Fact]
    public void A_header_alone_has_an_empty_payload()
    {
        byte[] bytes = [.. Ping];
        bytes[2] = 0;
        bytes[3] = 20;
        Assert.True(Ipv4Packet.TryCreate(bytes, out Ipv4Packet ip));
        Assert.Equal(20, ip.PacketLength);
        Assert.True(ip.Payload.IsEmpty);
    }

    [Fact]
    public void Bytes_past_the_total_length_are_not_payload()
    {
        byte[] bytes = [.. Ping, 0xde, 0xad, 0xbe, 0xef];
        Assert.True(Ipv4Packet.TryCreate(bytes, out Ipv4Packet ip));
        Assert.Equal(84, ip.PacketLength);
        Assert.Equal(Ping[20..], ip.Payload.ToArray());
        Assert.Equal(88, ip.Buffer.Length);
    }

    [Fact]
    public void Forwarding_decrements_the_ttl_with_an_incremental_checksum()
    {
        byte[] bytes = [.. Ping];
        Assert.True(Ipv4Packet.TryCreate(bytes, out Ipv4Packet ip));
        ip.SetTimeToLiveUpdatingHeaderChecksum((byte)(ip.TimeToLive - 1));

        Assert.Equal(63, ip.TimeToLive);
        Assert.Equal(0x6cd7, ip.HeaderChecksum); // RFC 1141: TTL - 1 adds 0x0100
        Assert.True(ip.VerifyHeaderChecksum());
    }

    [Fact]
    public void Decrementing_the_ttl_gives_the_checksum_of_a_full_recompute_and_of_the_general_update()
    {
        var random = new Random(1812);
        byte[] header = [.. IgmpReportFrame[14..46]];
        for (int i = 0; i < 2000; i++)
        {
            random.NextBytes(header.AsSpan(4, 4)); // identification, flags, offset
            random.NextBytes(header.AsSpan(12, 8)); // addresses
            header[8] = (byte)random.Next(1, 256);
            Assert.True(Ipv4Packet.TryCreate(header, out Ipv4Packet ip));
            ip.HeaderChecksum = ip.ComputeHeaderChecksum();
            byte[] general = [.. header];
            Assert.True(Ipv4Packet.TryCreate(general, out Ipv4Packet expected));
            expected.SetTimeToLiveUpdatingHeaderChecksum((byte)(expected.TimeToLive - 1));

            ip.DecrementTimeToLive();

            Assert.Equal(expected.TimeToLive, ip.TimeToLive);
            Assert.Equal(expected.HeaderChecksum, ip.HeaderChecksum);
            Assert.Equal(ip.ComputeHeaderChecksum(), ip.HeaderChecksum);
        }
    }

    [Fact]
    public void Decrementing_the_ttl_agrees_with_the_general_update_for_every_checksum_value()
    {
        // Every stored checksum, 0x0000 and 0xFFFF included, whatever the header sums to: the
        // constant-based update must give what RFC 1624 eqn. 3 gives for the TTL word's change.
        byte[] bytes = [.. Ping];
        Assert.True(Ipv4Packet.TryCreate(bytes, out Ipv4Packet ip));
        foreach ((byte ttl, IpProtocol protocol) in new[] { ((byte)1, IpProtocol.Icmp), ((byte)64, IpProtocol.Udp), ((byte)255, IpProtocol.Tcp) })
        {
            for (int checksum = 0; checksum <= 0xFFFF; checksum++)
            {
                ip.TimeToLive = ttl;
                ip.Protocol = protocol;
                ip.HeaderChecksum = (ushort)checksum;
                ushort oldWord = (ushort)(ttl << 8 | (byte)protocol);
                ushort expected = InternetChecksum.Update((ushort)checksum, oldWord, (ushort)(oldWord - 0x0100));

                ip.DecrementTimeToLive();

                Assert.Equal(ttl - 1, ip.TimeToLive);
                Assert.Equal(expected, ip.HeaderChecksum);
            }
        }
    }

    [Fact]
    public void Decrementing_the_ttl_to_every_value_keeps_the_header_valid()
    {
        byte[] bytes = [.. Ping];
        Assert.True(Ipv4Packet.TryCreate(bytes, out Ipv4Packet ip));
        ip.TimeToLive = 255;
        ip.HeaderChecksum = ip.ComputeHeaderChecksum();
        for (int ttl = 254; ttl >= 0; ttl--)
        {
            ip.DecrementTimeToLive();
            Assert.Equal(ttl, ip.TimeToLive);
            Assert.Equal(ip.ComputeHeaderChecksum(), ip.HeaderChecksum);
            Assert.True(ip.VerifyHeaderChecksum());
        }
    }

    [Fact]
    public void Incremental_setters_give_the_checksum_of_a_full_recompute()
    {
        var random = new Random(1624);
        byte[] bytes = [.. IgmpReportFrame[14..46]];
        Assert.True(Ipv4Packet.TryCreate(bytes, out Ipv4Packet ip));
        for (int i = 0; i < 5000; i++)
        {
            switch (random.Next(9))
            {
                case 0: ip.SetTimeToLiveUpdatingHeaderChecksum((byte)random.Next(256)); break;
                case 1: ip.SetIdentificationUpdatingHeaderChecksum((ushort)random.Next(65536)); break;
                case 2: ip.SetDscpUpdatingHeaderChecksum((byte)random.Next(64)); break;
                case 3: ip.SetEcnUpdatingHeaderChecksum((byte)random.Next(4)); break;
                case 4: ip.SetFlagsUpdatingHeaderChecksum((Ipv4Flags)random.Next(8)); break;
                case 5: ip.SetFragmentOffsetUpdatingHeaderChecksum((ushort)random.Next(8192)); break;
                case 6: ip.SetProtocolUpdatingHeaderChecksum((IpProtocol)random.Next(256)); break;
                case 7: ip.SetSourceUpdatingHeaderChecksum(Ipv4Address.FromUInt32((uint)random.NextInt64(1L << 32))); break;
                default: ip.SetDestinationUpdatingHeaderChecksum(Ipv4Address.FromUInt32((uint)random.NextInt64(1L << 32))); break;
            }
            Assert.Equal(ip.ComputeHeaderChecksum(), ip.HeaderChecksum);
            Assert.True(ip.VerifyHeaderChecksum());
        }
        Assert.Equal(6, ip.Ihl);
        Assert.Equal(32, ip.TotalLength);
    }

    [Fact]
    public void Fields_that_share_a_byte_do_not_spill_into_each_other()
    {
        byte[] bytes = [.. Ping];
        Assert.True(Ipv4Packet.TryCreate(bytes, out Ipv4Packet ip));

        ip.FragmentOffset = 0x1fff;
        Assert.Equal(Ipv4Flags.DontFragment, ip.Flags);
        Assert.Equal(new byte[] { 0x5f, 0xff }, bytes[6..8]);
        ip.SetFlags(Ipv4Flags.MoreFragments, true);
        Assert.Equal(Ipv4Flags.DontFragment | Ipv4Flags.MoreFragments, ip.Flags);
        Assert.Equal(0x1fff, ip.FragmentOffset);
        ip.SetFlags(Ipv4Flags.DontFragment, false);
        Assert.Equal(Ipv4Flags.MoreFragments, ip.Flags);
        Assert.Equal(new byte[] { 0x3f, 0xff }, bytes[6..8]);
        ip.FragmentOffset = 185; // 1480 / 8: the second fragment of a 1500-byte MTU
        Assert.Equal(new byte[] { 0x20, 0xb9 }, bytes[6..8]);

        ip.Dscp = 46; // EF
        ip.Ecn = 3; // CE
        Assert.Equal(0xbb, bytes[1]);
        ip.Ecn = 0;
        Assert.Equal(46, ip.Dscp);
        Assert.Equal(0xb8, bytes[1]);

        ip.Ihl = 15;
        Assert.Equal(4, ip.Version);
        Assert.Equal(0x4f, bytes[0]);
    }
}
