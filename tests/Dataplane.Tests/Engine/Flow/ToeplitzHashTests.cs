using Dataplane.Engine;
using Dataplane.Wire;

namespace Dataplane.Tests.Engine.Flow;

/// <summary>
/// The Toeplitz hash against Microsoft's RSS verification suite ("Verifying the RSS Hash
/// Calculation", Windows driver documentation; the same table is in the Intel 82599 datasheet,
/// 7.1.2.8.3 "RSS Verification Suite", and in DPDK's app/test/test_thash.c), against the
/// specification's bit-by-bit definition, and for the symmetry of the symmetric key.
/// </summary>
public class ToeplitzHashTests
{
    private static readonly ToeplitzHash Microsoft = ToeplitzHash.CreateMicrosoft();
    private static readonly ToeplitzHash Symmetric = ToeplitzHash.CreateSymmetric();

    // Source address:port, destination address:port, IPv4-only hash, IPv4 with TCP hash. The
    // document lists destination first; the hash input is source, destination, source port,
    // destination port.
    public static TheoryData<string, ushort, string, ushort, uint, uint> Ipv4Suite => new()
    {
        { "66.9.149.187", 2794, "161.142.100.80", 1766, 0x323e8fc2, 0x51ccc178 },
        { "199.92.111.2", 14230, "65.69.140.83", 4739, 0xd718262a, 0xc626b0ea },
        { "24.19.198.95", 12898, "12.22.207.184", 38024, 0xd2d0a5de, 0x5c2b394a },
        { "38.27.205.30", 48228, "209.142.163.6", 2217, 0x82989176, 0xafc7327f },
        { "153.39.163.191", 44251, "202.188.127.2", 1303, 0x5d1809c5, 0x10e828a2 },
    };

    public static TheoryData<string, ushort, string, ushort, uint, uint> Ipv6Suite => new()
    {
        { "3ffe:2501:200:1fff::7", 2794, "3ffe:2501:200:3::1", 1766, 0x2cc18cd5, 0x40207d3d },
        { "3ffe:501:8::260:97ff:fe40:efab", 14230, "ff02::1", 4739, 0x0f0c461c, 0xdde51bbf },
        { "3ffe:1900:4545:3:200:f8ff:fe21:67cf", 44251, "fe80::200:f8ff:fe21:67cf", 38024, 0x4b61e985, 0x02d1feef },
    };

    internal static Ipv4Address V4(string text) => Ipv4Address.TryParse(text, out Ipv4Address a) ? a : throw new ArgumentException(text);

    internal static Ipv6Address V6(string text) => Ipv6Address.TryParse(text, out Ipv6Address a) ? a : throw new ArgumentException(text);

    [Theory]
    [MemberData(nameof(Ipv4Suite))]
    public void Ipv4_hashes_match_the_Microsoft_verification_suite(string source, ushort sourcePort, string destination, ushort destinationPort, uint ipOnly, uint withPorts)
    {
        Assert.Equal(ipOnly, Microsoft.HashIpv4(V4(source), V4(destination)));
        Assert.Equal(withPorts, Microsoft.HashIpv4(V4(source), V4(destination), sourcePort, destinationPort));
    }

    [Theory]
    [MemberData(nameof(Ipv6Suite))]
    public void Ipv6_hashes_match_the_Microsoft_verification_suite(string source, ushort sourcePort, string destination, ushort destinationPort, uint ipOnly, uint withPorts)
    {
        Assert.Equal(ipOnly, Microsoft.HashIpv6(V6(source), V6(destination)));
        Assert.Equal(withPorts, Microsoft.HashIpv6(V6(source), V6(destination), sourcePort, destinationPort));
    }

    [Theory]
    [MemberData(nameof(Ipv4Suite))]
    public void Hashing_the_concatenated_ipv4_tuple_bytes_gives_the_same_values(string source, ushort sourcePort, string destination, ushort destinationPort, uint ipOnly, uint withPorts)
    {
        byte[] input = new byte[12];
        V4(source).CopyTo(input);
        V4(destination).CopyTo(input.AsSpan(4));
        input[8] = (byte)(sourcePort >> 8);
        input[9] = (byte)sourcePort;
        input[10] = (byte)(destinationPort >> 8);
        input[11] = (byte)destinationPort;
        Assert.Equal(ipOnly, Microsoft.Hash(input.AsSpan(0, 8)));
        Assert.Equal(withPorts, Microsoft.Hash(input));
    }

    [Theory]
    [MemberData(nameof(Ipv6Suite))]
    public void Hashing_the_concatenated_ipv6_tuple_bytes_gives_the_same_values(string source, ushort sourcePort, string destination, ushort destinationPort, uint ipOnly, uint withPorts)
    {
        byte[] input = new byte[36];
        V6(source).CopyTo(input);
        V6(destination).CopyTo(input.AsSpan(16));
        input[32] = (byte)(sourcePort >> 8);
        input[33] = (byte)sourcePort;
        input[34] = (byte)(destinationPort >> 8);
        input[35] = (byte)destinationPort;
        Assert.Equal(ipOnly, Microsoft.Hash(input.AsSpan(0, 32)));
        Assert.Equal(withPorts, Microsoft.Hash(input));
    }

    [Fact]
    public void Tables_agree_with_the_bit_by_bit_definition_for_every_input_length_and_random_keys()
    {
        var random = new Random(20240607);
        for (int round = 0; round < 20; round++)
        {
            byte[] key = new byte[40 + random.Next(0, 24)];
            random.NextBytes(key);
            var toeplitz = new ToeplitzHash(key);
            for (int length = 0; length <= toeplitz.MaxInputLength; length++)
            {
                byte[] input = new byte[length];
                random.NextBytes(input);
                Assert.Equal(Reference(key, input), toeplitz.Hash(input));
            }
        }
    }

    [Fact]
    public void Bit_by_bit_reference_itself_reproduces_the_first_suite_vector()
    {
        byte[] input = [66, 9, 149, 187, 161, 142, 100, 80, 2794 >> 8, 2794 & 0xFF, 1766 >> 8, 1766 & 0xFF];
        Assert.Equal(0x51ccc178u, Reference(ToeplitzHash.MicrosoftKey.ToArray(), input));
    }

    [Fact]
    public void A_longer_key_hashes_longer_inputs_and_agrees_on_short_ones()
    {
        byte[] key = new byte[52];
        ToeplitzHash.MicrosoftKey.CopyTo(key);
        new Random(7).NextBytes(key.AsSpan(40));
        var toeplitz = new ToeplitzHash(key);

        Assert.Equal(48, toeplitz.MaxInputLength);
        Assert.Equal(0x51ccc178u, toeplitz.HashIpv4(V4("66.9.149.187"), V4("161.142.100.80"), 2794, 1766));
        byte[] input = new byte[48];
        new Random(8).NextBytes(input);
        Assert.Equal(Reference(key, input), toeplitz.Hash(input));
    }

    [Fact]
    public void The_empty_input_hashes_to_zero() => Assert.Equal(0u, Microsoft.Hash([]));

    [Fact]
    public void The_symmetric_key_gives_both_directions_of_a_flow_the_same_hash()
    {
        var random = new Random(42);
        for (int i = 0; i < 1000; i++)
        {
            var a4 = Ipv4Address.FromUInt32((uint)random.Next() ^ (uint)random.Next() << 16);
            var b4 = Ipv4Address.FromUInt32((uint)random.Next() ^ (uint)random.Next() << 16);
            Ipv6Address a6 = RandomV6(random), b6 = RandomV6(random);
            ushort p = (ushort)random.Next(65536), q = (ushort)random.Next(65536);

            Assert.Equal(Symmetric.HashIpv4(a4, b4), Symmetric.HashIpv4(b4, a4));
            Assert.Equal(Symmetric.HashIpv4(a4, b4, p, q), Symmetric.HashIpv4(b4, a4, q, p));
            Assert.Equal(Symmetric.HashIpv6(a6, b6), Symmetric.HashIpv6(b6, a6));
            Assert.Equal(Symmetric.HashIpv6(a6, b6, p, q), Symmetric.HashIpv6(b6, a6, q, p));
        }
    }

    [Fact]
    public void The_Microsoft_key_is_not_symmetric()
    {
        Assert.NotEqual(
            Microsoft.HashIpv4(V4("66.9.149.187"), V4("161.142.100.80"), 2794, 1766),
            Microsoft.HashIpv4(V4("161.142.100.80"), V4("66.9.149.187"), 1766, 2794));
    }

    [Fact]
    public void The_keys_are_the_published_forty_bytes()
    {
        Assert.Equal(40, ToeplitzHash.MicrosoftKey.Length);
        Assert.Equal(new byte[] { 0x6d, 0x5a, 0x56, 0xda }, ToeplitzHash.MicrosoftKey[..4].ToArray());
        Assert.Equal(0xfa, ToeplitzHash.MicrosoftKey[39]);
        Assert.Equal(40, ToeplitzHash.SymmetricKey.Length);
        for (int i = 0; i < 40; i += 2)
            Assert.Equal((0x6d, 0x5a), (ToeplitzHash.SymmetricKey[i], ToeplitzHash.SymmetricKey[i + 1]));
        Assert.Equal(ToeplitzHash.MicrosoftKey.ToArray(), Microsoft.Key.ToArray());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(39)]
    [InlineData(257)]
    public void A_key_outside_40_to_256_bytes_is_refused(int length)
        => Assert.Throws<ArgumentException>(() => new ToeplitzHash(new byte[length]));

    [Fact]
    public void An_input_longer_than_the_key_allows_is_refused()
        => Assert.Throws<ArgumentException>(() => Microsoft.Hash(new byte[37]));

    [Fact]
    public void Hashing_allocates_nothing()
    {
        Ipv4Address a = V4("66.9.149.187"), b = V4("161.142.100.80");
        Ipv6Address c = V6("3ffe:2501:200:1fff::7"), d = V6("3ffe:2501:200:3::1");
        byte[] input = new byte[36];
        uint sink = 0;
        // A one-off of the runtime (seen once in CI as 5 KB) is not a per-hash allocation.
        Assert.Equal(0, Allocations.Least(3, () => sink ^= Run(100_000)));
        Sink = sink; // the hashes are used, so the loop is not optimized away

        uint Run(int n)
        {
            uint h = 0;
            for (int i = 0; i < n; i++)
            {
                h ^= Microsoft.HashIpv4(a, b, (ushort)i, 80) ^ Microsoft.HashIpv4(a, b);
                h ^= Microsoft.HashIpv6(c, d, (ushort)i, 443) ^ Microsoft.HashIpv6(c, d);
                h ^= Microsoft.Hash(input);
            }
            return h;
        }
    }

    // The specification's ComputeHash, literally: for each input bit from the left, if it is 1, XOR
    // in the leftmost 32 bits of the key, then shift the key left by one bit.
    internal static uint Reference(byte[] key, byte[] input)
    {
        uint result = 0;
        for (int bit = 0; bit < input.Length * 8; bit++)
        {
            if ((input[bit / 8] & (0x80 >> (bit % 8))) == 0)
                continue;
            uint window = 0;
            for (int k = 0; k < 32; k++)
            {
                int keyBit = bit + k;
                int value = keyBit / 8 < key.Length ? (key[keyBit / 8] >> (7 - keyBit % 8)) & 1 : 0;
                window = window << 1 | (uint)value;
            }
            result ^= window;
        }
        return result;
    }

    internal static Ipv6Address RandomV6(Random random)
    {
        byte[] bytes = new byte[16];
        random.NextBytes(bytes);
        return new Ipv6Address(bytes);
    }

    /// <summary>Where the allocation tests leave their hashes.</summary>
    private static uint Sink;
}
