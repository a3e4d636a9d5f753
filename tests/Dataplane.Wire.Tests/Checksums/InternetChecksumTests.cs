using System.Buffers.Binary;

namespace Dataplane.Wire.Tests.Checksums;

/// <summary>The Internet checksum (RFC 1071) and its incremental update (RFC 1624).</summary>
public class InternetChecksumTests
{
    // RFC 1071 section 3, "Numerical Examples": the one's complement sum of these bytes is 0xddf2.
    private static readonly byte[] Rfc1071Example = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];

    // The IPv4 header of a ping Linux sent from 192.168.1.100 to 192.168.1.1 (made with scapy 2.5.0:
    // IP(id=0x4b1c, flags="DF", ttl=64, src="192.168.1.100", dst="192.168.1.1")/ICMP(...)); checksum 0x6bd7.
    private static readonly byte[] PingIpv4Header =
    [
        0x45, 0x00, 0x00, 0x54, 0x4b, 0x1c, 0x40, 0x00, 0x40, 0x01, 0x6b, 0xd7, 0xc0, 0xa8, 0x01, 0x64,
        0xc0, 0xa8, 0x01, 0x01,
    ];

    /// <summary>A naive reference: big-endian 16-bit words, the odd byte padded with zero, end-around carry.</summary>
    private static ushort ReferenceSum(ReadOnlySpan<byte> data)
    {
        uint sum = 0;
        for (int i = 0; i < data.Length; i += 2)
        {
            uint word = (uint)data[i] << 8 | (i + 1 < data.Length ? data[i + 1] : 0u);
            sum += word;
            sum = (sum & 0xFFFF) + (sum >> 16);
        }
        while (sum >> 16 != 0)
            sum = (sum & 0xFFFF) + (sum >> 16);
        return (ushort)sum;
    }

    private static byte[] RandomBytes(Random random, int length)
    {
        byte[] b = new byte[length];
        random.NextBytes(b);
        return b;
    }

    [Fact]
    public void Rfc1071_section_3_example_sums_to_ddf2()
    {
        Assert.Equal(0xddf2u, InternetChecksum.FoldToUInt16(InternetChecksum.Add(0, Rfc1071Example)));
        Assert.Equal((ushort)0x220d, InternetChecksum.Compute(Rfc1071Example));
        Assert.Equal(0xddf2, ReferenceSum(Rfc1071Example));
    }

    [Fact]
    public void An_odd_last_byte_is_the_high_byte_of_a_word_padded_with_zero()
    {
        Assert.Equal(0xab00u, InternetChecksum.FoldToUInt16(InternetChecksum.Add(0, [0xab])));
        Assert.Equal(0xf201u, InternetChecksum.FoldToUInt16(InternetChecksum.Add(0, [0x00, 0x01, 0xf2])));
        // 0001 + f203 + f4f5 + f6f7 + 0100 (the odd byte 01 as high byte)
        Assert.Equal(0xdef2u, InternetChecksum.FoldToUInt16(InternetChecksum.Add(0, [.. Rfc1071Example, 0x01])));
    }

    [Fact]
    public void The_sum_of_nothing_is_zero()
    {
        Assert.Equal(0u, InternetChecksum.FoldToUInt16(InternetChecksum.Add(0, ReadOnlySpan<byte>.Empty)));
        Assert.Equal((ushort)0xFFFF, InternetChecksum.Compute(ReadOnlySpan<byte>.Empty));
    }

    [Fact]
    public void Every_length_from_0_to_200_matches_the_reference_at_every_alignment()
    {
        // Lengths of 64 and more take the vector path; the alignment of the start changes the
        // unaligned loads but never the sum.
        var random = new Random(1071);
        byte[] backing = RandomBytes(random, 200 + 8);
        for (int offset = 0; offset < 8; offset++)
        {
            for (int length = 0; length <= 200; length++)
            {
                ReadOnlySpan<byte> data = backing.AsSpan(offset, length);
                Assert.Equal(ReferenceSum(data), InternetChecksum.FoldToUInt16(InternetChecksum.Add(0, data)));
            }
        }
    }

    [Theory]
    [InlineData(0x00)]
    [InlineData(0xFF)]
    [InlineData(0x80)]
    public void Long_runs_of_one_value_match_the_reference(byte value)
    {
        // All ones gives the most carries; 9000 and 65535 bytes are a jumbo frame and the largest IP payload.
        foreach (int length in new[] { 63, 64, 65, 1500, 9000, 65535 })
        {
            byte[] data = new byte[length];
            Array.Fill(data, value);
            Assert.Equal(ReferenceSum(data), InternetChecksum.FoldToUInt16(InternetChecksum.Add(0, data)));
        }
    }

    [Fact]
    public void Random_long_buffers_match_the_reference()
    {
        var random = new Random(7);
        for (int i = 0; i < 50; i++)
        {
            byte[] data = RandomBytes(random, random.Next(64, 4000));
            Assert.Equal(ReferenceSum(data), InternetChecksum.FoldToUInt16(InternetChecksum.Add(0, data)));
        }
    }

    [Fact]
    public void Partial_sums_of_pieces_split_at_even_offsets_add_up_to_the_sum_of_the_whole()
    {
        var random = new Random(42);
        byte[] data = RandomBytes(random, 301);
        for (int split = 0; split <= data.Length; split += 2)
        {
            ulong sum = InternetChecksum.Add(InternetChecksum.Add(0, data.AsSpan(0, split)), data.AsSpan(split));
            Assert.Equal(ReferenceSum(data), InternetChecksum.FoldToUInt16(sum));
        }
    }

    [Fact]
    public void Word_and_value_overloads_add_host_order_numbers_as_words()
    {
        Assert.Equal(0x1234u, InternetChecksum.FoldToUInt16(InternetChecksum.Add(0, (ushort)0x1234)));
        // 0xc0a8 + 0x0164
        Assert.Equal(0xc20cu, InternetChecksum.FoldToUInt16(InternetChecksum.Add(0, 0xc0a80164u)));
        // 0xffff + 0xffff = 0x1fffe, folded with end-around carry
        Assert.Equal(0xffffu, InternetChecksum.FoldToUInt16(InternetChecksum.Add(0, 0xffffffffu)));
    }

    [Fact]
    public void FoldToUInt16_carries_every_overflow_back_in()
    {
        Assert.Equal(0u, InternetChecksum.FoldToUInt16(0));
        Assert.Equal(0xffffu, InternetChecksum.FoldToUInt16(0xffff));
        Assert.Equal(1u, InternetChecksum.FoldToUInt16(0x10000));
        Assert.Equal(0xffffu, InternetChecksum.FoldToUInt16(ulong.MaxValue));
        Assert.Equal(0x0002u, InternetChecksum.FoldToUInt16(0x1_0000_0001));
    }

    [Fact]
    public void A_real_ipv4_header_is_valid_and_recomputes_to_its_checksum()
    {
        Assert.True(InternetChecksum.IsValid(PingIpv4Header));
        byte[] zeroed = [.. PingIpv4Header];
        zeroed[10] = 0;
        zeroed[11] = 0;
        Assert.Equal((ushort)0x6bd7, InternetChecksum.Compute(zeroed));

        byte[] decremented = [.. PingIpv4Header];
        decremented[8] = 63; // TTL changed, checksum not
        Assert.False(InternetChecksum.IsValid(decremented));
    }

    [Fact]
    public void The_twenty_byte_check_agrees_with_the_general_sum_on_random_headers_and_every_one_bit_error()
    {
        var random = new Random(1071);
        byte[] header = new byte[20];
        for (int round = 0; round < 2_000; round++)
        {
            random.NextBytes(header);
            header[10] = 0;
            header[11] = 0;
            BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(10), InternetChecksum.Compute(header));
            Assert.True(InternetChecksum.IsValid(header));
            // The general path (21 bytes, a zero pad) gives the same verdict.
            Assert.True(InternetChecksum.IsValid([.. header, 0]));
            int bit = random.Next(160);
            header[bit / 8] ^= (byte)(1 << (bit % 8));
            Assert.False(InternetChecksum.IsValid(header), $"round {round}: bit {bit} flipped still valid");
            Assert.False(InternetChecksum.IsValid([.. header, 0]));
        }
    }

    [Theory]
    [InlineData(0x00, 0x00, 0x00, false)] // a sum of 0: no fold makes 0xFFFF of it
    [InlineData(0x00, 0xFF, 0xFF, true)] // only the checksum: 0xFFFF itself
    [InlineData(0xFF, 0xFF, 0xFF, true)] // all ones: the largest sum, five times 0xFFFFFFFF
    [InlineData(0xFF, 0x00, 0x00, true)] // the other words sum to a multiple of 0xFFFF, checksum 0 (RFC 1624's -0)
    [InlineData(0x01, 0x00, 0x00, false)]
    public void The_twenty_byte_check_agrees_with_the_general_sum_at_the_edges(byte fill, byte checksumHigh, byte checksumLow, bool valid)
    {
        // The twenty-byte check asks whether the 32-bit words' sum is a non-zero multiple of 0xFFFF:
        // the sums where that and a fold differ would be 0 and the multiples, so each is here.
        byte[] header = new byte[20];
        header.AsSpan().Fill(fill);
        header[10] = checksumHigh;
        header[11] = checksumLow;
        Assert.Equal(valid, InternetChecksum.IsValid(header));
        Assert.Equal(valid, InternetChecksum.IsValid([.. header, 0]));
    }

    [Fact]
    public void The_twenty_byte_check_agrees_with_the_general_sum_on_random_bytes()
    {
        var random = new Random(1141);
        byte[] header = new byte[20];
        int valid = 0;
        for (int round = 0; round < 200_000; round++)
        {
            random.NextBytes(header);
            if (round % 3 == 0)
                header.AsSpan(0, random.Next(1, 19)).Clear(); // small sums too
            if (round % 2 == 0)
            {
                // A right checksum (a sum that is a multiple of 0xFFFF), then perhaps one bit wrong.
                header[10] = 0;
                header[11] = 0;
                BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(10), InternetChecksum.Compute(header));
                if (round % 4 == 0)
                    header[random.Next(20)] ^= (byte)(1 << random.Next(8));
            }
            bool expected = InternetChecksum.IsValid([.. header, 0]);
            Assert.Equal(expected, InternetChecksum.IsValid(header));
            valid += expected ? 1 : 0;
        }
        Assert.InRange(valid, 45_000, 55_000); // the rounds with a right checksum left as it was
    }

    [Fact]
    public void Rfc1624_section_4_example_gives_0000_not_ffff()
    {
        // RFC 1624 section 4: the other header words sum to 0xCD7A and a word m = 0x5555 changes to
        // 0x3285. HC = ~(0xCD7A + 0x5555) = 0xDD2F; eqn. 3 gives 0x0000, as a full recompute does
        // (eqn. 2 of RFC 1141 would give 0xFFFF).
        ushort hc = (ushort)~InternetChecksum.FoldToUInt16(0xCD7A + 0x5555);
        Assert.Equal((ushort)0xDD2F, hc);

        Assert.Equal((ushort)0x0000, InternetChecksum.Update(hc, (ushort)0x5555, (ushort)0x3285));
        Assert.Equal((ushort)~InternetChecksum.FoldToUInt16(0xCD7A + 0x3285), InternetChecksum.Update(hc, (ushort)0x5555, (ushort)0x3285));
        Assert.Equal((ushort)0x0000, InternetChecksum.Update(hc, [0x55, 0x55], [0x32, 0x85]));
    }

    [Fact]
    public void Update_of_a_word_matches_a_full_recompute_for_random_words()
    {
        var random = new Random(1624);
        byte[] header = [.. PingIpv4Header];
        ushort checksum = BinaryPrimitives.ReadUInt16BigEndian(header.AsSpan(10));
        for (int i = 0; i < 2000; i++)
        {
            int word = random.Next(0, 10) * 2;
            if (word == 10)
                continue; // the checksum word itself
            ushort old = BinaryPrimitives.ReadUInt16BigEndian(header.AsSpan(word));
            ushort next = (ushort)random.Next(0, 0x10000);
            BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(word), next);
            checksum = InternetChecksum.Update(checksum, old, next);

            BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(10), 0);
            Assert.Equal(InternetChecksum.Compute(header), checksum);
            BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(10), checksum);
            Assert.True(InternetChecksum.IsValid(header));
        }
    }

    [Fact]
    public void Update_of_a_32_bit_value_matches_a_full_recompute_for_random_addresses()
    {
        // What a NAT does to the source address (RFC 3022).
        var random = new Random(3022);
        byte[] header = [.. PingIpv4Header];
        ushort checksum = 0x6bd7;
        for (int i = 0; i < 2000; i++)
        {
            int at = random.Next(2) == 0 ? 12 : 16;
            uint old = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(at));
            uint next = (uint)random.NextInt64(0, 1L << 32);
            BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(at), next);
            checksum = InternetChecksum.Update(checksum, old, next);

            BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(10), 0);
            Assert.Equal(InternetChecksum.Compute(header), checksum);
            BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(10), checksum);
        }
    }

    [Fact]
    public void Update_of_a_run_of_bytes_matches_a_full_recompute()
    {
        var random = new Random(99);
        byte[] data = RandomBytes(random, 64);
        data[0] = 0;
        data[1] = 0;
        ushort checksum = InternetChecksum.Compute(data);
        for (int i = 0; i < 1000; i++)
        {
            int start = 2 + random.Next(0, 30) * 2;
            int length = random.Next(1, 64 - start + 1);
            byte[] old = data.AsSpan(start, length).ToArray();
            byte[] next = RandomBytes(random, length);
            next.CopyTo(data, start);
            checksum = InternetChecksum.Update(checksum, old, next);
            Assert.Equal(InternetChecksum.Compute(data), checksum);
        }
    }

    [Fact]
    public void Ipv4_pseudo_header_sum_matches_the_reference_layout()
    {
        // RFC 9293 3.1: source, destination, zero, protocol, TCP length.
        var source = new Ipv4Address(192, 168, 1, 100);
        var destination = new Ipv4Address(93, 184, 215, 14);
        byte[] pseudo = [192, 168, 1, 100, 93, 184, 215, 14, 0, 6, 0x00, 0x28];

        ulong sum = InternetChecksum.PseudoHeaderSum(source, destination, 6, 40);

        Assert.Equal(ReferenceSum(pseudo), InternetChecksum.FoldToUInt16(sum));
        Assert.Equal(0xf701u, InternetChecksum.FoldToUInt16(sum)); // c0a8+0164+5db8+d70e+0006+0028
    }

    [Fact]
    public void Ipv6_pseudo_header_sum_matches_the_reference_layout()
    {
        // RFC 8200 8.1: source, destination, 32-bit upper-layer length, three zero bytes, next header.
        var random = new Random(8200);
        for (int i = 0; i < 200; i++)
        {
            byte[] source = RandomBytes(random, 16);
            byte[] destination = RandomBytes(random, 16);
            int length = i == 0 ? 0x12345 : random.Next(0, 70000); // past 65535: a jumbogram
            byte protocol = (byte)random.Next(0, 256);
            byte[] pseudo = new byte[40];
            source.CopyTo(pseudo, 0);
            destination.CopyTo(pseudo, 16);
            BinaryPrimitives.WriteInt32BigEndian(pseudo.AsSpan(32), length);
            pseudo[39] = protocol;

            ulong sum = InternetChecksum.PseudoHeaderSum(new Ipv6Address(source), new Ipv6Address(destination), protocol, length);

            Assert.Equal(ReferenceSum(pseudo), InternetChecksum.FoldToUInt16(sum));
        }
    }

    [Fact]
    public void Pseudo_header_and_segment_give_the_checksum_linux_sent()
    {
        // A Linux SYN (scapy 2.5.0, see Transport/TcpSegmentTests): checksum 0xffac with the IPv4 pseudo-header.
        byte[] tcp =
        [
            0xb4, 0xbe, 0x00, 0x50, 0x8e, 0x2f, 0x1a, 0x3b, 0x00, 0x00, 0x00, 0x00, 0xa0, 0x02, 0xfa, 0xf0,
            0x00, 0x00, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a, 0xa7, 0xec, 0x51, 0x29,
            0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x07,
        ];
        ulong pseudo = InternetChecksum.PseudoHeaderSum(new Ipv4Address(192, 168, 1, 100), new Ipv4Address(93, 184, 215, 14), 6, tcp.Length);

        Assert.Equal((ushort)0xffac, InternetChecksum.Finish(InternetChecksum.Add(pseudo, tcp)));
    }
}
