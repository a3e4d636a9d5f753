namespace Dataplane.Wire.Tests.Values;

public class MacAddressTests
{
    [Theory]
    [InlineData("52:54:00:12:34:56")]
    [InlineData("52-54-00-12-34-56")]
    public void Parses_six_hex_pairs_separated_by_colons_or_hyphens(string text)
    {
        Assert.True(MacAddress.TryParse(text, out MacAddress address));
        Assert.Equal(new MacAddress(0x52, 0x54, 0x00, 0x12, 0x34, 0x56), address);
    }

    [Fact]
    public void Parses_upper_case_hex()
    {
        Assert.True(MacAddress.TryParse("00:1A:2B:3C:4D:5E", out MacAddress address));
        Assert.Equal(new MacAddress(0x00, 0x1a, 0x2b, 0x3c, 0x4d, 0x5e), address);
    }

    [Fact]
    public void Formats_as_lower_case_colon_separated_and_round_trips()
    {
        var address = new MacAddress(0x00, 0x1A, 0x2B, 0x3C, 0x4D, 0x5E);
        Assert.Equal("00:1a:2b:3c:4d:5e", address.ToString());
        Assert.Equal("00:1a:2b:3c:4d:5e", $"{address}");
        Assert.True(MacAddress.TryParse(address.ToString(), out MacAddress back));
        Assert.Equal(address, back);
    }

    [Fact]
    public void TryFormat_refuses_a_destination_shorter_than_17_characters()
    {
        var address = new MacAddress(1, 2, 3, 4, 5, 6);
        Assert.False(address.TryFormat(new char[16], out int written, default, null));
        Assert.Equal(0, written);
        Assert.True(address.TryFormat(new char[17], out written, default, null));
        Assert.Equal(17, written);
    }

    [Theory]
    [InlineData("")]
    [InlineData("52:54:00:12:34")] // five octets
    [InlineData("52:54:00:12:34:56:78")] // seven octets
    [InlineData("52:54:00:12:34:5g")] // not hex
    [InlineData("525400123456")] // no separators
    [InlineData("52.54.00.12.34.56")] // wrong separator
    [InlineData("52:54:00:12:34:56 ")] // trailing space
    [InlineData(" 52:54:00:12:34:56")] // leading space
    [InlineData("5:254:00:12:34:56")] // separator out of place
    [InlineData("+2:54:00:12:34:56")] // a sign is not a hex digit
    public void Refuses_anything_but_six_hex_pairs(string text)
    {
        Assert.False(MacAddress.TryParse(text, out MacAddress address));
        Assert.Equal(default, address);
    }

    [Fact]
    public void Broadcast_is_all_ones_and_multicast()
    {
        Assert.Equal("ff:ff:ff:ff:ff:ff", MacAddress.Broadcast.ToString());
        Assert.True(MacAddress.Broadcast.IsBroadcast);
        Assert.True(MacAddress.Broadcast.IsMulticast);
    }

    [Theory]
    [InlineData("01:00:5e:00:00:fb", true)] // IPv4 multicast 224.0.0.251 (RFC 1112 6.4)
    [InlineData("33:33:00:00:00:16", true)] // IPv6 multicast ff02::16 (RFC 2464 7)
    [InlineData("01:80:c2:00:00:00", true)] // spanning tree
    [InlineData("52:54:00:12:34:56", false)]
    [InlineData("02:00:00:00:00:01", false)] // locally administered, still unicast
    [InlineData("fe:ff:ff:ff:ff:ff", false)]
    public void Multicast_is_the_group_bit_of_the_first_octet(string text, bool multicast)
    {
        Assert.True(MacAddress.TryParse(text, out MacAddress address));
        Assert.Equal(multicast, address.IsMulticast);
        Assert.False(address.IsBroadcast);
    }

    [Fact]
    public void ToUInt64_puts_the_first_octet_most_significant_and_FromUInt64_inverts_it()
    {
        var address = new MacAddress(0x52, 0x54, 0x00, 0x12, 0x34, 0x56);
        Assert.Equal(0x5254_0012_3456UL, address.ToUInt64());
        Assert.Equal(address, MacAddress.FromUInt64(0x5254_0012_3456UL));
        Assert.Equal(MacAddress.Broadcast, MacAddress.FromUInt64(0xFFFF_FFFF_FFFFUL));
        // Bits above 48 are not part of an address.
        Assert.Equal(address, MacAddress.FromUInt64(0xABCD_5254_0012_3456UL));
    }

    [Fact]
    public void Reads_and_writes_wire_order()
    {
        byte[] wire = [0xAA, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0xBB];
        var address = new MacAddress(wire.AsSpan(1));
        Assert.Equal("52:54:00:12:34:56", address.ToString());

        byte[] written = new byte[8];
        address.CopyTo(written.AsSpan(1));
        Assert.Equal(new byte[] { 0, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0 }, written);
    }

    [Fact]
    public void Equality_compares_all_six_octets()
    {
        var a = new MacAddress(1, 2, 3, 4, 5, 6);
        Assert.True(a == new MacAddress(1, 2, 3, 4, 5, 6));
        Assert.True(a != new MacAddress(1, 2, 3, 4, 5, 7));
        Assert.True(a != new MacAddress(0, 2, 3, 4, 5, 6));
        Assert.Equal(a.GetHashCode(), new MacAddress(1, 2, 3, 4, 5, 6).GetHashCode());
        Assert.False(a.Equals((object)"01:02:03:04:05:06"));
    }

    [Fact]
    public void Bits_are_equal_exactly_when_the_addresses_are_and_use_48_bits()
    {
        var a = new MacAddress(0x52, 0x54, 0x00, 0x12, 0x34, 0x56);
        Assert.True(a.Bits < 1UL << 48);
        Assert.Equal(new MacAddress(0x52, 0x54, 0x00, 0x12, 0x34, 0x56).Bits, a.Bits);
        for (int octet = 0; octet < MacAddress.Length; octet++)
        {
            // One bit of one octet apart, the lowest and the highest: the receive path's compare sees it.
            foreach (int bit in (int[])[0, 7])
            {
                byte[] bytes = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];
                bytes[octet] ^= (byte)(1 << bit);
                var b = new MacAddress(bytes);
                Assert.NotEqual(a.Bits, b.Bits);
                Assert.True(b.Bits < 1UL << 48);
            }
        }
        Assert.Equal(0xFFFF_FFFF_FFFFUL, MacAddress.Broadcast.Bits);
        Assert.Equal(a, MacAddress.FromBits(a.Bits));
        Assert.Equal(a, MacAddress.FromBits(a.Bits | 1UL << 62)); // bits above 48 are not part of an address
    }
}

public class MacAddressGroupBitTests
{
    [Theory]
    [InlineData("01:00:5e:00:00:01", true)]
    [InlineData("33:33:00:00:00:01", true)]
    [InlineData("ff:ff:ff:ff:ff:ff", true)]
    [InlineData("02:00:00:00:00:01", false)]
    [InlineData("00:01:00:00:00:00", false)]
    public void The_group_bit_is_the_low_bit_of_the_first_byte(string text, bool multicast)
    {
        Assert.True(MacAddress.TryParse(text, out MacAddress mac));
        Assert.Equal(multicast, mac.IsMulticast);
    }
}
