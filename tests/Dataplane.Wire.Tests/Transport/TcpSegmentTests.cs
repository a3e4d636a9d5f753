using System.Buffers.Binary;

namespace Dataplane.Wire.Tests.Transport;

/// <summary>The TCP header (RFC 9293 3.1), its options and the option views.</summary>
public class TcpSegmentTests
{
    // A SYN as Linux sends it to port 80: window 64240, MSS 1460, SACK permitted, timestamps, NOP,
    // window scale 7, in that order. Made with scapy 2.5.0:
    //   IP(id=0x3e5f, flags="DF", ttl=64, src="192.168.1.100", dst="93.184.215.14")/TCP(sport=46270, dport=80,
    //     seq=0x8e2f1a3b, ack=0, flags="S", window=64240, options=[("MSS", 1460), ("SAckOK", b""),
    //     ("Timestamp", (2817282345, 0)), ("NOP", None), ("WScale", 7)])
    private static readonly byte[] SynV4 =
    [
        // IPv4 @ 0
        0x45, 0x00, 0x00, 0x3c, 0x3e, 0x5f, 0x40, 0x00, 0x40, 0x06, 0x05, 0x8a, 0xc0, 0xa8, 0x01, 0x64,
        0x5d, 0xb8, 0xd7, 0x0e,
        // TCP @ 20, options @ 40
        0xb4, 0xbe, 0x00, 0x50, 0x8e, 0x2f, 0x1a, 0x3b, 0x00, 0x00, 0x00, 0x00, 0xa0, 0x02, 0xfa, 0xf0,
        0xff, 0xac, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a, 0xa7, 0xec, 0x51, 0x29,
        0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x07,
    ];

    // The same over IPv6 to port 443: window 64800, MSS 1440. Made with scapy 2.5.0:
    //   IPv6(fl=0x5c1e2, hlim=64, src="2001:db8:1::100", dst="2001:db8:2::7")/TCP(sport=46272, dport=443,
    //     seq=0x1c9d4e07, ack=0, flags="S", window=64800, options=[("MSS", 1440), ("SAckOK", b""),
    //     ("Timestamp", (2817282345, 0)), ("NOP", None), ("WScale", 7)])
    private static readonly byte[] SynV6 =
    [
        // IPv6 @ 0
        0x60, 0x05, 0xc1, 0xe2, 0x00, 0x28, 0x06, 0x40, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x02, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07,
        // TCP @ 40
        0xb4, 0xc0, 0x01, 0xbb, 0x1c, 0x9d, 0x4e, 0x07, 0x00, 0x00, 0x00, 0x00, 0xa0, 0x02, 0xfd, 0x20,
        0xd4, 0x41, 0x00, 0x00, 0x02, 0x04, 0x05, 0xa0, 0x04, 0x02, 0x08, 0x0a, 0xa7, 0xec, 0x51, 0x29,
        0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x07,
    ];

    // A duplicate ACK with timestamps and two SACK blocks. Made with scapy 2.5.0:
    //   IP(id=0x3e70, flags="DF", ttl=64, src="192.168.1.100", dst="93.184.215.14")/TCP(sport=46270, dport=80,
    //     seq=0x8e2f1c70, ack=0x5d2a9c41, flags="A", window=501, options=[("NOP", None), ("NOP", None),
    //     ("Timestamp", (2817282412, 1912043)), ("NOP", None), ("NOP", None),
    //     ("SAck", (0x5d2aa1e9, 0x5d2aa791, 0x5d2aad39, 0x5d2ab2e1))])
    private static readonly byte[] AckWithSack =
    [
        // IPv4 @ 0
        0x45, 0x00, 0x00, 0x48, 0x3e, 0x70, 0x40, 0x00, 0x40, 0x06, 0x05, 0x6d, 0xc0, 0xa8, 0x01, 0x64,
        0x5d, 0xb8, 0xd7, 0x0e,
        // TCP @ 20, options @ 40
        0xb4, 0xbe, 0x00, 0x50, 0x8e, 0x2f, 0x1c, 0x70, 0x5d, 0x2a, 0x9c, 0x41, 0xd0, 0x10, 0x01, 0xf5,
        0x8a, 0x12, 0x00, 0x00, 0x01, 0x01, 0x08, 0x0a, 0xa7, 0xec, 0x51, 0x6c, 0x00, 0x1d, 0x2c, 0xeb,
        0x01, 0x01, 0x05, 0x12, 0x5d, 0x2a, 0xa1, 0xe9, 0x5d, 0x2a, 0xa7, 0x91, 0x5d, 0x2a, 0xad, 0x39,
        0x5d, 0x2a, 0xb2, 0xe1,
    ];

    // An HTTP request with PSH and timestamps; 37 bytes of data, an odd length. Made with scapy 2.5.0:
    //   IP(id=0x3e60, flags="DF", ttl=64, src="192.168.1.100", dst="93.184.215.14")/TCP(sport=46270, dport=80,
    //     seq=0x8e2f1a3c, ack=0x5d2a9c41, flags="PA", window=502, options=[("NOP", None), ("NOP", None),
    //     ("Timestamp", (2817282370, 1912040))])/Raw(b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n")
    private static readonly byte[] HttpRequest =
    [
        // IPv4 @ 0
        0x45, 0x00, 0x00, 0x59, 0x3e, 0x60, 0x40, 0x00, 0x40, 0x06, 0x05, 0x6c, 0xc0, 0xa8, 0x01, 0x64,
        0x5d, 0xb8, 0xd7, 0x0e,
        // TCP @ 20
        0xb4, 0xbe, 0x00, 0x50, 0x8e, 0x2f, 0x1a, 0x3c, 0x5d, 0x2a, 0x9c, 0x41, 0x80, 0x18, 0x01, 0xf6,
        0xb8, 0x07, 0x00, 0x00, 0x01, 0x01, 0x08, 0x0a, 0xa7, 0xec, 0x51, 0x42, 0x00, 0x1d, 0x2c, 0xe8,
        // data @ 52
        0x47, 0x45, 0x54, 0x20, 0x2f, 0x20, 0x48, 0x54, 0x54, 0x50, 0x2f, 0x31, 0x2e, 0x31, 0x0d, 0x0a,
        0x48, 0x6f, 0x73, 0x74, 0x3a, 0x20, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x2e, 0x63, 0x6f,
        0x6d, 0x0d, 0x0a, 0x0d, 0x0a,
    ];

    private static Ipv6Address Address(string text)
    {
        Assert.True(Ipv6Address.TryParse(text, out Ipv6Address address));
        return address;
    }

    private static readonly Ipv4Address Client = new(192, 168, 1, 100);
    private static readonly Ipv4Address Server = new(93, 184, 215, 14);
    private static readonly Ipv6Address ClientV6 = Address("2001:db8:1::100");
    private static readonly Ipv6Address ServerV6 = Address("2001:db8:2::7");

    private static readonly TcpSegment.Repr SynRepr = new()
    {
        SourcePort = 46270,
        DestinationPort = 80,
        SequenceNumber = 0x8e2f1a3b,
        AcknowledgmentNumber = 0,
        DataOffset = 10,
        Reserved = 0,
        Flags = TcpFlags.Syn,
        Window = 64240,
        UrgentPointer = 0,
    };

    [Fact]
    public void Deconstruct_reads_every_field_of_a_linux_syn()
    {
        byte[] bytes = [.. SynV4[20..]];
        Assert.True(TcpSegment.TryCreate(bytes, out TcpSegment tcp, out WireError error));

        Assert.Equal(WireError.None, error);
        Assert.Equal(46270, tcp.SourcePort);
        Assert.Equal(80, tcp.DestinationPort);
        Assert.Equal(0x8e2f1a3bu, tcp.SequenceNumber);
        Assert.Equal(0u, tcp.AcknowledgmentNumber);
        Assert.Equal(10, tcp.DataOffset);
        Assert.Equal(0, tcp.Reserved);
        Assert.Equal(TcpFlags.Syn, tcp.Flags);
        Assert.True(tcp.HasFlags(TcpFlags.Syn));
        Assert.False(tcp.HasFlags(TcpFlags.Ack));
        Assert.False(tcp.HasFlags(TcpFlags.Syn | TcpFlags.Ack));
        Assert.Equal(64240, tcp.Window);
        Assert.Equal(0xffac, tcp.Checksum);
        Assert.Equal(0, tcp.UrgentPointer);
        Assert.Equal(20, TcpSegment.FixedLength);
        Assert.Equal(40, tcp.HeaderLength);
        Assert.Equal(40, tcp.PacketLength);
        Assert.Equal(SynV4[40..], tcp.Options.ToArray());
        Assert.True(tcp.Payload.IsEmpty);
        Assert.True(tcp.VerifyChecksum(Client, Server));
        Assert.Equal(0xffac, tcp.ComputeChecksum(Client, Server));
    }

    [Fact]
    public void Options_walk_of_a_linux_syn_yields_mss_sack_permitted_timestamps_and_window_scale()
    {
        byte[] bytes = [.. SynV4[20..]];
        Assert.True(TcpSegment.TryCreate(bytes, out TcpSegment tcp));

        WireOptionEnumerator options = tcp.EnumerateOptions();
        Assert.True(options.MoveNext());
        Assert.Equal((byte)TcpOptionKind.MaximumSegmentSize, options.Current.Type);
        Assert.Equal(new byte[] { 0x05, 0xb4 }, options.Current.Data.ToArray());
        Assert.True(TcpMssOption.TryCreate(options.Current.Raw, out TcpMssOption mss));
        Assert.Equal(TcpOptionKind.MaximumSegmentSize, mss.Kind);
        Assert.Equal(4, mss.Length);
        Assert.Equal(1460, mss.MaximumSegmentSize);

        Assert.True(options.MoveNext());
        Assert.Equal((byte)TcpOptionKind.SackPermitted, options.Current.Type);
        Assert.True(options.Current.Data.IsEmpty);
        Assert.True(TcpSackPermittedOption.TryCreate(options.Current.Raw, out TcpSackPermittedOption sackPermitted));
        Assert.Equal(TcpOptionKind.SackPermitted, sackPermitted.Kind);
        Assert.Equal(2, sackPermitted.Length);

        Assert.True(options.MoveNext());
        Assert.Equal((byte)TcpOptionKind.Timestamps, options.Current.Type);
        Assert.True(TcpTimestampsOption.TryCreate(options.Current.Raw, out TcpTimestampsOption timestamps));
        Assert.Equal(TcpOptionKind.Timestamps, timestamps.Kind);
        Assert.Equal(10, timestamps.Length);
        Assert.Equal(2817282345u, timestamps.Value);
        Assert.Equal(0u, timestamps.EchoReply);

        // The NOP before window scale is padding, skipped.
        Assert.True(options.MoveNext());
        Assert.Equal((byte)TcpOptionKind.WindowScale, options.Current.Type);
        Assert.True(TcpWindowScaleOption.TryCreate(options.Current.Raw, out TcpWindowScaleOption windowScale));
        Assert.Equal(TcpOptionKind.WindowScale, windowScale.Kind);
        Assert.Equal(3, windowScale.Length);
        Assert.Equal(7, windowScale.ShiftCount);

        Assert.False(options.MoveNext());
        Assert.False(options.IsMalformed);
    }

    [Fact]
    public void Deconstruct_verifies_a_syn_over_ipv6()
    {
        byte[] bytes = [.. SynV6];
        Assert.True(Ipv6Packet.TryCreate(bytes, out Ipv6Packet ip));
        Assert.Equal(IpProtocol.Tcp, ip.NextHeader);
        Assert.True(TcpSegment.TryCreate(ip.Payload, out TcpSegment tcp));

        Assert.Equal(46272, tcp.SourcePort);
        Assert.Equal(443, tcp.DestinationPort);
        Assert.Equal(64800, tcp.Window);
        Assert.Equal(0xd441, tcp.Checksum);
        Assert.True(tcp.VerifyChecksum(ip.Source, ip.Destination));
        Assert.Equal(0xd441, tcp.ComputeChecksum(ClientV6, ServerV6));
        Assert.False(tcp.VerifyChecksum(ip.Source, Address("2001:db8:2::8")));

        WireOptionEnumerator options = tcp.EnumerateOptions();
        Assert.True(options.MoveNext());
        Assert.True(TcpMssOption.TryCreate(options.Current.Raw, out TcpMssOption mss));
        Assert.Equal(1440, mss.MaximumSegmentSize); // 1500 - 40 - 20
    }

    [Fact]
    public void Deconstruct_reads_the_sack_blocks_of_a_duplicate_ack()
    {
        byte[] bytes = [.. AckWithSack[20..]];
        Assert.True(TcpSegment.TryCreate(bytes, out TcpSegment tcp));
        Assert.Equal(13, tcp.DataOffset);
        Assert.Equal(52, tcp.HeaderLength);
        Assert.Equal(TcpFlags.Ack, tcp.Flags);
        Assert.Equal(0x5d2a9c41u, tcp.AcknowledgmentNumber);
        Assert.Equal(501, tcp.Window);
        Assert.True(tcp.VerifyChecksum(Client, Server));

        WireOptionEnumerator options = tcp.EnumerateOptions();
        Assert.True(options.MoveNext());
        Assert.True(TcpTimestampsOption.TryCreate(options.Current.Raw, out TcpTimestampsOption timestamps));
        Assert.Equal(2817282412u, timestamps.Value);
        Assert.Equal(1912043u, timestamps.EchoReply);

        Assert.True(options.MoveNext());
        Assert.Equal((byte)TcpOptionKind.Sack, options.Current.Type);
        Assert.True(TcpSackOption.TryCreate(options.Current.Raw, out TcpSackOption sack, out WireError error));
        Assert.Equal(WireError.None, error);
        Assert.Equal(TcpOptionKind.Sack, sack.Kind);
        Assert.Equal(18, sack.Length);
        Assert.Equal(18, sack.HeaderLength);
        Assert.Equal(16, sack.Variable.Length);
        Assert.Equal(0x5d2aa1e9u, BinaryPrimitives.ReadUInt32BigEndian(sack.Variable));
        Assert.Equal(0x5d2aa791u, BinaryPrimitives.ReadUInt32BigEndian(sack.Variable[4..]));
        Assert.Equal(0x5d2aad39u, BinaryPrimitives.ReadUInt32BigEndian(sack.Variable[8..]));
        Assert.Equal(0x5d2ab2e1u, BinaryPrimitives.ReadUInt32BigEndian(sack.Variable[12..]));

        Assert.False(options.MoveNext());
        Assert.False(options.IsMalformed);
    }

    [Fact]
    public void Deconstruct_reads_the_data_of_a_request_with_an_odd_length()
    {
        byte[] bytes = [.. HttpRequest];
        Assert.True(Ipv4Packet.TryCreate(bytes, out Ipv4Packet ip));
        Assert.True(TcpSegment.TryCreate(ip.Payload, out TcpSegment tcp));

        Assert.Equal(TcpFlags.Psh | TcpFlags.Ack, tcp.Flags);
        Assert.True(tcp.HasFlags(TcpFlags.Psh));
        Assert.Equal(8, tcp.DataOffset);
        Assert.Equal(32, tcp.HeaderLength);
        Assert.Equal(69, tcp.PacketLength);
        Assert.Equal("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n"u8.ToArray(), tcp.Payload.ToArray());
        Assert.True(tcp.VerifyChecksum(ip.Source, ip.Destination));
        Assert.Equal(0xb807, tcp.ComputeChecksum(ip.Source, ip.Destination));
    }

    [Fact]
    public void Construct_through_the_setters_and_option_views_gives_the_syn()
    {
        byte[] bytes = new byte[40];
        bytes[12] = 0xa0; // the data offset first, so that the view covers the options
        Assert.True(TcpSegment.TryCreate(bytes, out TcpSegment tcp));
        tcp.SourcePort = 46270;
        tcp.DestinationPort = 80;
        tcp.SequenceNumber = 0x8e2f1a3b;
        tcp.AcknowledgmentNumber = 0;
        tcp.DataOffset = 10;
        tcp.Reserved = 0;
        tcp.Flags = TcpFlags.None;
        tcp.SetFlags(TcpFlags.Syn, true);
        tcp.Window = 64240;
        tcp.UrgentPointer = 0;

        Span<byte> options = tcp.Options;
        Assert.True(TcpMssOption.TryCreate(options, out TcpMssOption mss));
        mss.Kind = TcpOptionKind.MaximumSegmentSize;
        mss.Length = 4;
        mss.MaximumSegmentSize = 1460;
        Assert.True(TcpSackPermittedOption.TryCreate(options[4..], out TcpSackPermittedOption sackPermitted));
        sackPermitted.Kind = TcpOptionKind.SackPermitted;
        sackPermitted.Length = 2;
        Assert.True(TcpTimestampsOption.TryCreate(options[6..], out TcpTimestampsOption timestamps));
        timestamps.Kind = TcpOptionKind.Timestamps;
        timestamps.Length = 10;
        timestamps.Value = 2817282345;
        timestamps.EchoReply = 0;
        options[16] = (byte)TcpOptionKind.NoOperation;
        Assert.True(TcpWindowScaleOption.TryCreate(options[17..], out TcpWindowScaleOption windowScale));
        windowScale.Kind = TcpOptionKind.WindowScale;
        windowScale.Length = 3;
        windowScale.ShiftCount = 7;
        tcp.FillChecksum(Client, Server);

        Assert.Equal(SynV4[20..], bytes);
    }

    [Fact]
    public void Construct_with_data_gives_the_request()
    {
        byte[] bytes = new byte[69];
        bytes[12] = 0x80;
        Assert.True(TcpSegment.TryCreate(bytes, out TcpSegment tcp));
        tcp.SourcePort = 46270;
        tcp.DestinationPort = 80;
        tcp.SequenceNumber = 0x8e2f1a3c;
        tcp.AcknowledgmentNumber = 0x5d2a9c41;
        tcp.Flags = TcpFlags.Psh | TcpFlags.Ack;
        tcp.Window = 502;
        HttpRequest.AsSpan(40, 12).CopyTo(tcp.Options);
        HttpRequest.AsSpan(52).CopyTo(tcp.Payload);
        tcp.FillChecksum(Client, Server);

        Assert.Equal(HttpRequest[20..], bytes);
    }

    [Fact]
    public void Parse_gives_the_repr()
    {
        Assert.True(TcpSegment.Repr.TryParse(SynV4.AsSpan(20), out TcpSegment.Repr repr, out WireError error));
        Assert.Equal(WireError.None, error);
        Assert.Equal(SynRepr, repr);

        Assert.True(TcpSegment.Repr.TryParse(AckWithSack.AsSpan(20), out repr));
        Assert.Equal(new TcpSegment.Repr
        {
            SourcePort = 46270,
            DestinationPort = 80,
            SequenceNumber = 0x8e2f1c70,
            AcknowledgmentNumber = 0x5d2a9c41,
            DataOffset = 13,
            Flags = TcpFlags.Ack,
            Window = 501,
        }, repr);
    }

    [Fact]
    public void Parse_leaves_the_checksum_to_the_caller()
    {
        byte[] bytes = [.. SynV4[20..]];
        bytes[16] ^= 0xff;
        Assert.True(TcpSegment.Repr.TryParse(bytes, out TcpSegment.Repr repr));
        Assert.Equal(SynRepr, repr);
        Assert.True(TcpSegment.TryCreate(bytes, out TcpSegment tcp));
        Assert.False(tcp.VerifyChecksum(Client, Server));
    }

    [Theory]
    [InlineData(27, 0x0f)] // the timestamps option claims 15 bytes, 14 remain before the end
    [InlineData(21, 0x01)] // an MSS option of length 1 cannot hold kind and length
    [InlineData(21, 0x00)] // length 0
    [InlineData(39, 0x08)] // window scale replaced by a kind whose length byte is past the end
    public void Parse_refuses_an_option_whose_length_does_not_fit(int offset, byte value)
    {
        byte[] bytes = [.. SynV4[20..]];
        if (offset == 39)
        {
            bytes[36] = 1;
            bytes[37] = 1;
            bytes[38] = 1;
        }
        bytes[offset] = value;
        Assert.False(TcpSegment.Repr.TryParse(bytes, out _, out WireError error));
        Assert.Equal(WireError.BadOptions, error);

        Assert.True(TcpSegment.TryCreate(bytes, out TcpSegment tcp));
        WireOptionEnumerator options = tcp.EnumerateOptions();
        while (options.MoveNext())
        {
        }
        Assert.True(options.IsMalformed);
    }

    [Fact]
    public void Options_walk_stops_at_end_of_option_list()
    {
        // MSS, end of list, then bytes that would be malformed if they were read.
        byte[] bytes = new byte[28];
        bytes[12] = 0x70;
        byte[] options = [0x02, 0x04, 0x05, 0xb4, 0x00, 0x08, 0xff, 0xff];
        options.CopyTo(bytes, 20);
        Assert.True(TcpSegment.TryCreate(bytes, out TcpSegment tcp));

        int count = 0;
        foreach (WireOption option in tcp.EnumerateOptions())
        {
            Assert.Equal((byte)TcpOptionKind.MaximumSegmentSize, option.Type);
            count++;
        }
        Assert.Equal(1, count);
        Assert.True(TcpSegment.Repr.TryParse(bytes, out _));
    }

    [Fact]
    public void Emit_then_options_then_fill_gives_the_syn()
    {
        byte[] bytes = new byte[40];
        Assert.Equal(20, SynRepr.Emit(bytes));
        Assert.Equal(0, bytes[16] | bytes[17]);
        SynV4.AsSpan(40).CopyTo(bytes.AsSpan(20));
        Assert.True(TcpSegment.TryCreate(bytes, out TcpSegment tcp));
        tcp.FillChecksum(Client, Server);

        Assert.Equal(SynV4[20..], bytes);
    }

    [Fact]
    public void Emit_overwrites_every_bit_of_a_dirty_destination()
    {
        byte[] bytes = new byte[20];
        Array.Fill(bytes, (byte)0xff);
        SynRepr.Emit(bytes);
        byte[] expected = [.. SynV4[20..40]];
        expected[16] = 0; // the checksum is left 0 for FillChecksum
        expected[17] = 0;
        Assert.Equal(expected, bytes);
    }

    [Fact]
    public void Emit_refuses_a_destination_shorter_than_the_header()
        => Assert.Throws<ArgumentException>(() => SynRepr.Emit(new byte[19]));

    [Fact]
    public void TryCreate_refuses_every_buffer_shorter_than_the_fixed_header()
    {
        for (int length = 0; length < TcpSegment.FixedLength; length++)
        {
            byte[] bytes = SynV4.AsSpan(20, length).ToArray();
            Assert.False(TcpSegment.TryCreate(bytes, out _, out WireError error));
            Assert.Equal(WireError.Truncated, error);
            Assert.False(TcpSegment.Repr.TryParse(bytes, out _, out error));
            Assert.Equal(WireError.Truncated, error);
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(4)]
    public void TryCreate_refuses_header_length_below_fixed_part(byte dataOffset)
    {
        byte[] bytes = [.. SynV4[20..]];
        bytes[12] = (byte)(dataOffset << 4);
        Assert.False(TcpSegment.TryCreate(bytes, out _, out WireError error));
        Assert.Equal(WireError.BadHeaderLength, error);
        Assert.False(TcpSegment.Repr.TryParse(bytes, out _, out error));
        Assert.Equal(WireError.BadHeaderLength, error);
    }

    [Theory]
    [InlineData(11)]
    [InlineData(15)]
    public void TryCreate_refuses_header_length_past_the_buffer(byte dataOffset)
    {
        byte[] bytes = [.. SynV4[20..]];
        bytes[12] = (byte)(dataOffset << 4);
        Assert.False(TcpSegment.TryCreate(bytes, out _, out WireError error));
        Assert.Equal(WireError.BadHeaderLength, error);
    }

    [Fact]
    public void The_payload_is_everything_after_the_header()
    {
        // TCP has no length field: its length is what the IP layer gives it.
        byte[] bytes = [.. SynV4[20..], 0x01, 0x02, 0x03];
        Assert.True(TcpSegment.TryCreate(bytes, out TcpSegment tcp));
        Assert.Equal(43, tcp.PacketLength);
        Assert.Equal(new byte[] { 0x01, 0x02, 0x03 }, tcp.Payload.ToArray());
    }

    [Fact]
    public void Incremental_setters_give_the_checksum_of_a_full_recompute_over_both_families()
    {
        var random = new Random(9293);
        byte[] v4 = [.. HttpRequest[20..]];
        byte[] v6 = [.. SynV6[40..]];
        Assert.True(TcpSegment.TryCreate(v4, out TcpSegment overV4));
        Assert.True(TcpSegment.TryCreate(v6, out TcpSegment overV6));
        for (int i = 0; i < 5000; i++)
        {
            TcpSegment tcp = random.Next(2) == 0 ? overV4 : overV6;
            switch (random.Next(8))
            {
                case 0: tcp.SetSourcePortUpdatingChecksum((ushort)random.Next(65536)); break;
                case 1: tcp.SetDestinationPortUpdatingChecksum((ushort)random.Next(65536)); break;
                case 2: tcp.SetSequenceNumberUpdatingChecksum((uint)random.NextInt64(1L << 32)); break;
                case 3: tcp.SetAcknowledgmentNumberUpdatingChecksum((uint)random.NextInt64(1L << 32)); break;
                case 4: tcp.SetFlagsUpdatingChecksum((TcpFlags)random.Next(512)); break;
                case 5: tcp.SetReservedUpdatingChecksum((byte)random.Next(8)); break;
                case 6: tcp.SetWindowUpdatingChecksum((ushort)random.Next(65536)); break;
                default: tcp.SetUrgentPointerUpdatingChecksum((ushort)random.Next(65536)); break;
            }
            Assert.Equal(overV4.ComputeChecksum(Client, Server), overV4.Checksum);
            Assert.Equal(overV6.ComputeChecksum(ClientV6, ServerV6), overV6.Checksum);
        }
        Assert.Equal(8, overV4.DataOffset);
        Assert.Equal(10, overV6.DataOffset);
    }

    [Fact]
    public void Data_offset_reserved_bits_and_flags_do_not_spill_into_each_other()
    {
        byte[] bytes = [.. SynV4[20..]];
        Assert.True(TcpSegment.TryCreate(bytes, out TcpSegment tcp));

        tcp.Flags = TcpFlags.Ns | TcpFlags.Cwr | TcpFlags.Ece | TcpFlags.Urg | TcpFlags.Ack | TcpFlags.Psh | TcpFlags.Rst | TcpFlags.Syn | TcpFlags.Fin;
        Assert.Equal(new byte[] { 0xa1, 0xff }, bytes[12..14]);
        Assert.Equal(10, tcp.DataOffset);
        Assert.Equal(0, tcp.Reserved);

        tcp.Reserved = 7;
        Assert.Equal(new byte[] { 0xaf, 0xff }, bytes[12..14]);
        tcp.SetFlags(TcpFlags.Ns, false);
        Assert.Equal(new byte[] { 0xae, 0xff }, bytes[12..14]);
        Assert.Equal(7, tcp.Reserved);
        tcp.Flags = TcpFlags.None;
        tcp.Reserved = 0;
        Assert.Equal(new byte[] { 0xa0, 0x00 }, bytes[12..14]);
        tcp.SetFlags(TcpFlags.Syn | TcpFlags.Ack, true);
        Assert.True(tcp.HasFlags(TcpFlags.Syn | TcpFlags.Ack));
        Assert.Equal(new byte[] { 0xa0, 0x12 }, bytes[12..14]);
        tcp.DataOffset = 5;
        Assert.Equal(new byte[] { 0x50, 0x12 }, bytes[12..14]);
        Assert.Equal(TcpFlags.Syn | TcpFlags.Ack, tcp.Flags);
    }

    // ---- option views ----

    [Fact]
    public void Option_views_parse_and_emit_agree_with_the_bytes()
    {
        byte[] options = SynV4[40..];

        var mss = new TcpMssOption.Repr { Kind = TcpOptionKind.MaximumSegmentSize, Length = 4, MaximumSegmentSize = 1460 };
        Assert.True(TcpMssOption.Repr.TryParse(options, out TcpMssOption.Repr mssParsed, out WireError error));
        Assert.Equal(WireError.None, error);
        Assert.Equal(mss, mssParsed);

        var sackPermitted = new TcpSackPermittedOption.Repr { Kind = TcpOptionKind.SackPermitted, Length = 2 };
        Assert.True(TcpSackPermittedOption.Repr.TryParse(options.AsSpan(4), out TcpSackPermittedOption.Repr sackPermittedParsed));
        Assert.Equal(sackPermitted, sackPermittedParsed);

        var timestamps = new TcpTimestampsOption.Repr { Kind = TcpOptionKind.Timestamps, Length = 10, Value = 2817282345, EchoReply = 0 };
        Assert.True(TcpTimestampsOption.Repr.TryParse(options.AsSpan(6), out TcpTimestampsOption.Repr timestampsParsed));
        Assert.Equal(timestamps, timestampsParsed);

        var windowScale = new TcpWindowScaleOption.Repr { Kind = TcpOptionKind.WindowScale, Length = 3, ShiftCount = 7 };
        Assert.True(TcpWindowScaleOption.Repr.TryParse(options.AsSpan(17), out TcpWindowScaleOption.Repr windowScaleParsed));
        Assert.Equal(windowScale, windowScaleParsed);

        byte[] sackBytes = AckWithSack[54..];
        var sack = new TcpSackOption.Repr { Kind = TcpOptionKind.Sack, Length = 18 };
        Assert.True(TcpSackOption.Repr.TryParse(sackBytes, out TcpSackOption.Repr sackParsed));
        Assert.Equal(sack, sackParsed);

        byte[] emitted = new byte[20];
        emitted[16] = 1;
        Assert.Equal(4, mss.Emit(emitted));
        Assert.Equal(2, sackPermitted.Emit(emitted.AsSpan(4)));
        Assert.Equal(10, timestamps.Emit(emitted.AsSpan(6)));
        Assert.Equal(3, windowScale.Emit(emitted.AsSpan(17)));
        Assert.Equal(options, emitted);

        byte[] sackEmitted = [.. sackBytes];
        sackEmitted.AsSpan(0, 2).Clear();
        Assert.Equal(2, sack.Emit(sackEmitted));
        Assert.Equal(sackBytes, sackEmitted);
    }

    [Fact]
    public void Option_views_refuse_another_kind_or_length()
    {
        WireError error;
        Assert.False(TcpMssOption.Repr.TryParse([0x02, 0x05, 0x05, 0xb4, 0x00], out _, out error));
        Assert.Equal(WireError.UnexpectedValue, error);
        Assert.False(TcpMssOption.Repr.TryParse([0x03, 0x04, 0x05, 0xb4], out _, out error));
        Assert.Equal(WireError.UnexpectedValue, error);
        Assert.False(TcpWindowScaleOption.Repr.TryParse([0x03, 0x04, 0x07, 0x00], out _, out error));
        Assert.Equal(WireError.UnexpectedValue, error);
        Assert.False(TcpSackPermittedOption.Repr.TryParse([0x04, 0x03, 0x00], out _, out error));
        Assert.Equal(WireError.UnexpectedValue, error);
        Assert.False(TcpTimestampsOption.Repr.TryParse([0x08, 0x0c, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0], out _, out error));
        Assert.Equal(WireError.UnexpectedValue, error);
        Assert.False(TcpSackOption.Repr.TryParse([0x04, 0x02], out _, out error));
        Assert.Equal(WireError.UnexpectedValue, error);
    }

    [Fact]
    public void Sack_option_refuses_a_length_below_two_or_past_the_buffer()
    {
        byte[] sack = AckWithSack[54..];
        WireError error;
        sack[1] = 1;
        Assert.False(TcpSackOption.TryCreate(sack, out _, out error));
        Assert.Equal(WireError.BadHeaderLength, error);
        sack[1] = 26; // three blocks claimed, two present
        Assert.False(TcpSackOption.TryCreate(sack, out _, out error));
        Assert.Equal(WireError.BadHeaderLength, error);
        Assert.False(TcpSackOption.Repr.TryParse(sack, out _, out error));
        Assert.Equal(WireError.BadHeaderLength, error);
        sack[1] = 10;
        Assert.True(TcpSackOption.TryCreate(sack, out TcpSackOption one));
        Assert.Equal(8, one.Variable.Length);
    }

    [Fact]
    public void Option_views_refuse_every_buffer_shorter_than_their_fixed_part()
    {
        byte[] options = SynV4[40..];
        for (int length = 0; length < 10; length++)
        {
            byte[] bytes = options.AsSpan(6, length).ToArray();
            WireError error;
            Assert.False(TcpTimestampsOption.TryCreate(bytes, out _, out error));
            Assert.Equal(WireError.Truncated, error);
            Assert.False(TcpTimestampsOption.Repr.TryParse(bytes, out _, out error));
            Assert.Equal(WireError.Truncated, error);
            if (length < 4)
            {
                Assert.False(TcpMssOption.TryCreate(bytes, out _, out error));
                Assert.Equal(WireError.Truncated, error);
            }
            if (length < 3)
            {
                Assert.False(TcpWindowScaleOption.TryCreate(bytes, out _, out error));
                Assert.Equal(WireError.Truncated, error);
            }
            if (length < 2)
            {
                Assert.False(TcpSackPermittedOption.TryCreate(bytes, out _, out error));
                Assert.Equal(WireError.Truncated, error);
                Assert.False(TcpSackOption.TryCreate(bytes, out _, out error));
                Assert.Equal(WireError.Truncated, error);
            }
        }
    }
}
