using System.Buffers.Binary;

namespace Dataplane.Wire.Tests.Tunnel;

public class GreHeaderTests
{
    // A ping between two tunnel endpoints carried in GRE with all three optional words: checksum
    // (RFC 2784), key 42 and sequence number 1 (RFC 2890). Made with scapy 2.5.0:
    //   IP(id=0x5c01, flags="DF", ttl=64, proto=47, src="10.0.0.1", dst="10.0.0.2")
    //     /GRE(chksum_present=1, key_present=1, seqnum_present=1, key=42, sequence_number=1, proto=0x0800)
    //     /IP(id=0x4b1d, flags="DF", ttl=64, src="172.16.0.1", dst="172.16.0.2")/ICMP(type=8, id=0x1a2c, seq=1)
    //     /Raw(struct.pack("<QQ", 0x6720c3a5, 0x000b71f2) + bytes(range(0x10, 0x38)))
    private static readonly byte[] Packet =
    [
        // outer IPv4 @ 0
        0x45, 0x00, 0x00, 0x78, 0x5c, 0x01, 0x40, 0x00, 0x40, 0x2f, 0xca, 0x53, 0x0a, 0x00, 0x00, 0x01,
        0x0a, 0x00, 0x00, 0x02,
        // GRE @ 20: flags and protocol, checksum and reserved1, key, sequence number
        0xb0, 0x00, 0x08, 0x00, 0x47, 0xd4, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2a, 0x00, 0x00, 0x00, 0x01,
        // inner IPv4 @ 36
        0x45, 0x00, 0x00, 0x54, 0x4b, 0x1d, 0x40, 0x00, 0x40, 0x01, 0x97, 0x68, 0xac, 0x10, 0x00, 0x01,
        0xac, 0x10, 0x00, 0x02,
        // ICMP @ 56
        0x08, 0x00, 0x5b, 0x63, 0x1a, 0x2c, 0x00, 0x01,
        0xa5, 0xc3, 0x20, 0x67, 0x00, 0x00, 0x00, 0x00, 0xf2, 0x71, 0x0b, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
        0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f,
        0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37,
    ];

    private static readonly GreHeader.Repr AllWords = new()
    {
        ChecksumPresent = true,
        RoutingPresent = false,
        KeyPresent = true,
        SequenceNumberPresent = true,
        Reserved0 = 0,
        Version = 0,
        ProtocolType = EtherType.Ipv4,
    };

    [Fact]
    public void Deconstruct_reads_the_flags_the_three_optional_words_and_the_inner_packet()
    {
        byte[] bytes = [.. Packet];
        Assert.True(Ipv4Packet.TryCreate(bytes, out Ipv4Packet outer));
        Assert.Equal(IpProtocol.Gre, outer.Protocol);
        Assert.True(GreHeader.TryCreate(outer.Payload, out GreHeader gre, out WireError error));

        Assert.Equal(WireError.None, error);
        Assert.True(gre.ChecksumPresent);
        Assert.False(gre.RoutingPresent);
        Assert.True(gre.KeyPresent);
        Assert.True(gre.SequenceNumberPresent);
        Assert.Equal(0, gre.Reserved0);
        Assert.Equal(0, gre.Version);
        Assert.Equal(EtherType.Ipv4, gre.ProtocolType);
        Assert.Equal(4, GreHeader.FixedLength);
        Assert.Equal(16, gre.HeaderLength);
        Assert.Equal(100, gre.PacketLength);
        Assert.Equal(Packet[24..36], gre.Variable.ToArray());
        Assert.Equal((ushort)0x47d4, gre.Checksum);
        Assert.Equal(42u, gre.Key);
        Assert.Equal(1u, gre.SequenceNumber);
        Assert.Equal(Packet[36..], gre.Payload.ToArray());
        // RFC 2784 2.5: the checksum covers the GRE header and the payload.
        Assert.True(InternetChecksum.IsValid(gre.Buffer));

        Assert.True(Ipv4Packet.Repr.TryParse(gre.Payload, out Ipv4Packet.Repr inner));
        Assert.Equal(new Ipv4Address(172, 16, 0, 2), inner.Destination);
    }

    [Theory]
    [InlineData(0x00, 4, null, null, null)]
    [InlineData(0x80, 8, (ushort)0x1234, null, null)]
    [InlineData(0x20, 8, null, 0x11223344u, null)]
    [InlineData(0x10, 8, null, null, 0x11223344u)]
    [InlineData(0x30, 12, null, 0x11223344u, 0x55667788u)]
    [InlineData(0xa0, 12, (ushort)0x1234, 0x11223344u, null)]
    [InlineData(0x90, 12, (ushort)0x1234, null, 0x11223344u)]
    public void Each_optional_word_sits_after_the_ones_present_before_it(byte flags, int headerLength, ushort? checksum, uint? key, uint? sequence)
    {
        byte[] bytes = new byte[headerLength + 2];
        bytes[0] = flags;
        bytes[2] = 0x65;
        bytes[3] = 0x58; // transparent Ethernet bridging
        Span<byte> words = bytes.AsSpan(4, headerLength - 4);
        if (checksum is ushort c)
        {
            BinaryPrimitives.WriteUInt16BigEndian(words, c);
            words = words[4..];
        }
        if (key is uint k)
        {
            BinaryPrimitives.WriteUInt32BigEndian(words, k);
            words = words[4..];
        }
        if (sequence is uint s)
            BinaryPrimitives.WriteUInt32BigEndian(words, s);

        Assert.True(GreHeader.TryCreate(bytes, out GreHeader gre));
        Assert.Equal(headerLength, gre.HeaderLength);
        Assert.Equal(checksum, gre.Checksum);
        Assert.Equal(key, gre.Key);
        Assert.Equal(sequence, gre.SequenceNumber);
        Assert.Equal(EtherType.TransparentEthernetBridging, gre.ProtocolType);
        Assert.Equal(2, gre.Payload.Length);
    }

    [Fact]
    public void Construct_through_the_setters_gives_the_packet()
    {
        byte[] bytes = [.. Packet];
        bytes.AsSpan(20, 16).Clear();
        bytes[20] = 0xb0; // the presence bits first, so that the view covers the optional words
        Assert.True(GreHeader.TryCreate(bytes.AsSpan(20, 100), out GreHeader gre));
        gre.ChecksumPresent = true;
        gre.RoutingPresent = false;
        gre.KeyPresent = true;
        gre.SequenceNumberPresent = true;
        gre.Reserved0 = 0;
        gre.Version = 0;
        gre.ProtocolType = EtherType.Ipv4;
        BinaryPrimitives.WriteUInt32BigEndian(gre.Variable[4..], 42);
        BinaryPrimitives.WriteUInt32BigEndian(gre.Variable[8..], 1);
        BinaryPrimitives.WriteUInt16BigEndian(gre.Variable, InternetChecksum.Compute(gre.Buffer));

        Assert.Equal(Packet, bytes);
    }

    [Fact]
    public void Parse_gives_the_repr()
    {
        Assert.True(GreHeader.Repr.TryParse(Packet.AsSpan(20), out GreHeader.Repr repr, out WireError error));
        Assert.Equal(WireError.None, error);
        Assert.Equal(AllWords, repr);
    }

    [Theory]
    [InlineData(1)] // PPTP's enhanced GRE (RFC 2637)
    [InlineData(7)]
    public void Parse_refuses_a_version_other_than_0(byte version)
    {
        byte[] bytes = [.. Packet[20..]];
        bytes[1] |= version;
        Assert.False(GreHeader.Repr.TryParse(bytes, out _, out WireError error));
        Assert.Equal(WireError.UnexpectedValue, error);
    }

    [Fact]
    public void Emit_writes_the_fixed_part()
    {
        byte[] bytes = [.. Packet];
        Array.Fill(bytes, (byte)0xff, 20, 4);
        Assert.Equal(4, AllWords.Emit(bytes.AsSpan(20)));
        Assert.Equal(Packet, bytes);
    }

    [Fact]
    public void Emit_refuses_a_destination_shorter_than_the_fixed_part()
        => Assert.Throws<ArgumentException>(() => AllWords.Emit(new byte[3]));

    [Fact]
    public void TryCreate_refuses_every_buffer_shorter_than_the_fixed_part()
    {
        for (int length = 0; length < GreHeader.FixedLength; length++)
        {
            byte[] bytes = Packet.AsSpan(20, length).ToArray();
            Assert.False(GreHeader.TryCreate(bytes, out _, out WireError error));
            Assert.Equal(WireError.Truncated, error);
            Assert.False(GreHeader.Repr.TryParse(bytes, out _, out error));
            Assert.Equal(WireError.Truncated, error);
        }
    }

    [Theory]
    [InlineData(4)]
    [InlineData(8)]
    [InlineData(15)]
    public void TryCreate_refuses_optional_words_past_the_buffer(int length)
    {
        // All three presence bits: 16 bytes of header.
        byte[] bytes = Packet.AsSpan(20, length).ToArray();
        Assert.False(GreHeader.TryCreate(bytes, out _, out WireError error));
        Assert.Equal(WireError.BadHeaderLength, error);
        Assert.False(GreHeader.Repr.TryParse(bytes, out _, out error));
        Assert.Equal(WireError.BadHeaderLength, error);
    }

    [Fact]
    public void The_bits_of_the_first_word_do_not_spill_into_each_other()
    {
        byte[] bytes = [0x00, 0x00, 0x08, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        Assert.True(GreHeader.TryCreate(bytes, out GreHeader gre));
        gre.Reserved0 = 0x1ff;
        Assert.Equal(new byte[] { 0x0f, 0xf8, 0x08, 0x00 }, bytes[..4]);
        gre.Version = 7;
        Assert.Equal(new byte[] { 0x0f, 0xff, 0x08, 0x00 }, bytes[..4]);
        gre.RoutingPresent = true;
        Assert.Equal(0x4f, bytes[0]);
        gre.Reserved0 = 0;
        Assert.Equal(new byte[] { 0x40, 0x07, 0x08, 0x00 }, bytes[..4]);
        Assert.True(gre.RoutingPresent);
        Assert.Equal(7, gre.Version);
        Assert.False(gre.ChecksumPresent);
        Assert.Equal(EtherType.Ipv4, gre.ProtocolType);
    }
}
