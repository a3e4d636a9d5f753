namespace Dataplane.Wire.Tests.Values;

public class Ipv4AddressTests
{
    [Theory]
    [InlineData("192.168.1.100", 192, 168, 1, 100)]
    [InlineData("0.0.0.0", 0, 0, 0, 0)]
    [InlineData("255.255.255.255", 255, 255, 255, 255)]
    [InlineData("10.0.0.1", 10, 0, 0, 1)]
    [InlineData("100.64.200.9", 100, 64, 200, 9)]
    public void Parses_dotted_quads_and_formats_them_back(string text, byte a, byte b, byte c, byte d)
    {
        Assert.True(Ipv4Address.TryParse(text, out Ipv4Address address));
        Assert.Equal(new Ipv4Address(a, b, c, d), address);
        Assert.Equal(text, address.ToString());
        Assert.Equal(text, $"{address}");
    }

    [Theory]
    [InlineData("")]
    [InlineData("192.168.01.1")] // leading zero: octal to inet_aton
    [InlineData("00.0.0.0")]
    [InlineData("010.0.0.1")]
    [InlineData("256.0.0.1")] // out of range
    [InlineData("1.2.3.999")]
    [InlineData("1234.1.1.1")]
    [InlineData("1.2.3")] // three octets
    [InlineData("1.2.3.4.5")] // five octets
    [InlineData("1..2.3")]
    [InlineData(".1.2.3")]
    [InlineData("1.2.3.4.")]
    [InlineData(" 1.2.3.4")]
    [InlineData("1.2.3.4 ")]
    [InlineData("1.2.3.-4")]
    [InlineData("0x1.2.3.4")]
    [InlineData("1.2.3.4/24")]
    [InlineData("3232235876")] // one number, as inet_aton would take it
    [InlineData("::ffff:1.2.3.4")]
    public void Refuses_anything_but_four_decimal_octets_without_leading_zeros(string text)
    {
        Assert.False(Ipv4Address.TryParse(text, out Ipv4Address address));
        Assert.Equal(default, address);
    }

    [Fact]
    public void ToUInt32_puts_the_first_octet_most_significant_and_FromUInt32_inverts_it()
    {
        var address = new Ipv4Address(192, 168, 1, 100);
        Assert.Equal(0xC0A8_0164u, address.ToUInt32());
        Assert.Equal(address, Ipv4Address.FromUInt32(0xC0A8_0164u));

        var random = new Random(791);
        for (int i = 0; i < 1000; i++)
        {
            uint value = (uint)random.NextInt64(0, 1L << 32);
            Assert.Equal(value, Ipv4Address.FromUInt32(value).ToUInt32());
        }
    }

    [Fact]
    public void Reads_and_writes_wire_order()
    {
        byte[] wire = [0xAA, 192, 168, 1, 100, 0xBB];
        var address = new Ipv4Address(wire.AsSpan(1));
        Assert.Equal(new Ipv4Address(192, 168, 1, 100), address);

        byte[] written = new byte[6];
        address.CopyTo(written.AsSpan(1));
        Assert.Equal(new byte[] { 0, 192, 168, 1, 100, 0 }, written);
    }

    [Theory]
    [InlineData("224.0.0.1", true)]
    [InlineData("224.0.0.251", true)]
    [InlineData("239.255.255.255", true)]
    [InlineData("223.255.255.255", false)]
    [InlineData("240.0.0.0", false)]
    [InlineData("192.168.1.1", false)]
    public void Multicast_is_224_0_0_0_slash_4(string text, bool multicast)
    {
        Assert.True(Ipv4Address.TryParse(text, out Ipv4Address address));
        Assert.Equal(multicast, address.IsMulticast);
    }

    [Fact]
    public void Named_addresses_have_their_predicates()
    {
        Assert.True(Ipv4Address.Broadcast.IsBroadcast);
        Assert.Equal("255.255.255.255", Ipv4Address.Broadcast.ToString());
        Assert.False(new Ipv4Address(192, 168, 1, 255).IsBroadcast); // a directed broadcast is not the limited one

        Assert.True(Ipv4Address.Any.IsUnspecified);
        Assert.Equal("0.0.0.0", Ipv4Address.Any.ToString());
        Assert.False(new Ipv4Address(0, 0, 0, 1).IsUnspecified);

        Assert.True(new Ipv4Address(127, 0, 0, 1).IsLoopback);
        Assert.True(new Ipv4Address(127, 255, 255, 254).IsLoopback);
        Assert.False(new Ipv4Address(128, 0, 0, 1).IsLoopback);
        Assert.False(new Ipv4Address(126, 255, 255, 255).IsLoopback);
    }

    [Fact]
    public void Ordering_is_numeric_not_by_memory_layout()
    {
        var low = new Ipv4Address(10, 0, 0, 255);
        var high = new Ipv4Address(10, 0, 1, 0);
        Assert.True(low.CompareTo(high) < 0);
        Assert.True(high.CompareTo(low) > 0);
        Assert.Equal(0, low.CompareTo(new Ipv4Address(10, 0, 0, 255)));
        Assert.True(new Ipv4Address(9, 255, 255, 255).CompareTo(new Ipv4Address(10, 0, 0, 0)) < 0);
    }

    [Fact]
    public void TryFormat_refuses_a_destination_too_short()
    {
        var address = new Ipv4Address(192, 168, 100, 200);
        Assert.False(address.TryFormat(new char[14], out _, default, null));
        Assert.True(address.TryFormat(new char[15], out int written, default, null));
        Assert.Equal(15, written);
    }

    [Fact]
    public void Equality_compares_all_four_octets()
    {
        var a = new Ipv4Address(1, 2, 3, 4);
        Assert.True(a == new Ipv4Address(1, 2, 3, 4));
        Assert.True(a != new Ipv4Address(4, 3, 2, 1));
        Assert.Equal(a.GetHashCode(), new Ipv4Address(1, 2, 3, 4).GetHashCode());
        Assert.False(a.Equals((object)"1.2.3.4"));
    }
}
