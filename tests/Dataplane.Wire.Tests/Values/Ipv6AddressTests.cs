namespace Dataplane.Wire.Tests.Values;

public class Ipv6AddressTests
{
    private static Ipv6Address Parse(string text)
    {
        Assert.True(Ipv6Address.TryParse(text, out Ipv6Address address), text);
        return address;
    }

    [Theory]
    [InlineData("2001:db8::1", "20010db8000000000000000000000001")]
    [InlineData("::", "00000000000000000000000000000000")]
    [InlineData("::1", "00000000000000000000000000000001")]
    [InlineData("fe80::5054:ff:fe12:3456", "fe80000000000000505400fffe123456")]
    [InlineData("ff02::1:ff3c:4d5e", "ff0200000000000000000001ff3c4d5e")]
    [InlineData("2001:0db8:0000:0000:0000:0000:0000:0001", "20010db8000000000000000000000001")]
    [InlineData("2001:DB8::A", "20010db800000000000000000000000a")]
    [InlineData("::ffff:192.0.2.1", "00000000000000000000ffffc0000201")]
    [InlineData("1:2:3:4:5:6:7:8", "00010002000300040005000600070008")]
    public void Parses_the_text_forms_of_rfc_4291_into_wire_order(string text, string hex)
    {
        Ipv6Address address = Parse(text);
        byte[] wire = new byte[16];
        address.CopyTo(wire);
        Assert.Equal(Convert.FromHexString(hex), wire);
        for (int i = 0; i < 16; i++)
            Assert.Equal(wire[i], address[i]);
    }

    [Theory]
    [InlineData("2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1")]
    [InlineData("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1")] // RFC 5952 4.2.3: the first of equal runs
    [InlineData("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1")] // RFC 5952 4.2.2: one 0 field stays
    [InlineData("2001:DB8::A", "2001:db8::a")] // RFC 5952 4.3: lower case
    [InlineData("0:0:0:0:0:0:0:0", "::")]
    [InlineData("fe80:0:0:0:5054:ff:fe12:3456", "fe80::5054:ff:fe12:3456")]
    public void Formats_the_rfc_5952_canonical_form(string text, string canonical)
    {
        Ipv6Address address = Parse(text);
        Assert.Equal(canonical, address.ToString());
        Assert.Equal(canonical, $"{address}");
        Assert.Equal(address, Parse(address.ToString()));
    }

    [Theory]
    [InlineData("")]
    [InlineData("fe80::1%eth0")] // zone index
    [InlineData("fe80::1%2")]
    [InlineData("2001:db8::/32")] // prefix
    [InlineData("192.168.1.1")] // IPv4
    [InlineData("2001:db8:::1")]
    [InlineData("2001:db8::1::2")]
    [InlineData("1:2:3:4:5:6:7:8:9")]
    [InlineData("1:2:3:4:5:6:7")]
    [InlineData("g::1")]
    [InlineData("12345::1")]
    [InlineData("2001:db8::1 ")]
    public void Refuses_zones_prefixes_and_malformed_text(string text)
    {
        Assert.False(Ipv6Address.TryParse(text, out Ipv6Address address));
        Assert.Equal(default, address);
    }

    [Theory]
    [InlineData("[2001:db8::1]")]
    [InlineData("[2001:db8::1]:80")]
    public void Refuses_brackets_and_ports_of_a_uri_host(string text)
    {
        // RFC 4291 2.2 text forms have no brackets; "[addr]:port" is URI syntax (RFC 3986 3.2.2).
        Assert.False(Ipv6Address.TryParse(text, out _));
    }

    [Theory]
    [InlineData("ff02::1", true)]
    [InlineData("ff3e::8000:1", true)]
    [InlineData("ff00::", true)]
    [InlineData("fe80::1", false)]
    [InlineData("2001:db8::1", false)]
    public void Multicast_is_ff00_slash_8(string text, bool multicast)
        => Assert.Equal(multicast, Parse(text).IsMulticast);

    [Theory]
    [InlineData("fe80::1", true)]
    [InlineData("fe80::5054:ff:fe12:3456", true)]
    [InlineData("febf:ffff::1", true)]
    [InlineData("fec0::1", false)] // site-local, deprecated
    [InlineData("fe7f::1", false)]
    [InlineData("ff02::1", false)]
    public void Link_local_is_fe80_slash_10(string text, bool linkLocal)
        => Assert.Equal(linkLocal, Parse(text).IsLinkLocal);

    [Theory]
    [InlineData("::1", true)]
    [InlineData("::", false)]
    [InlineData("::2", false)]
    [InlineData("::101", false)]
    [InlineData("1::1", false)]
    [InlineData("::1:0:0:1", false)]
    [InlineData("::ffff:127.0.0.1", false)] // a mapped IPv4 loopback is not ::1
    public void Loopback_is_exactly_colon_colon_1(string text, bool loopback)
        => Assert.Equal(loopback, Parse(text).IsLoopback);

    [Fact]
    public void Unspecified_is_all_zero()
    {
        Assert.True(Ipv6Address.Any.IsUnspecified);
        Assert.True(Parse("::").IsUnspecified);
        Assert.False(Parse("::1").IsUnspecified);
        Assert.False(Parse("8000::").IsUnspecified);
    }

    [Fact]
    public void Reads_and_writes_wire_order_at_any_offset()
    {
        byte[] wire = new byte[18];
        Convert.FromHexString("20010db8000100000000000000000100").CopyTo(wire, 1);
        var address = new Ipv6Address(wire.AsSpan(1));
        Assert.Equal(Parse("2001:db8:1::100"), address);

        byte[] written = new byte[18];
        address.CopyTo(written.AsSpan(1));
        Assert.Equal(wire, written);
    }

    [Fact]
    public void The_indexer_refuses_bytes_past_16()
    {
        Ipv6Address address = Parse("2001:db8::1");
        Assert.Equal(0x20, address[0]);
        Assert.Equal(0x01, address[15]);
        Assert.Throws<ArgumentOutOfRangeException>(() => address[16]);
        Assert.Throws<ArgumentOutOfRangeException>(() => address[-1]);
    }

    [Fact]
    public void Equality_compares_all_sixteen_bytes()
    {
        Ipv6Address a = Parse("2001:db8::1");
        Assert.True(a == Parse("2001:db8:0::1"));
        Assert.True(a != Parse("2001:db8::2"));
        Assert.True(a != Parse("2001:db9::1"));
        Assert.Equal(a.GetHashCode(), Parse("2001:db8::1").GetHashCode());
        Assert.False(a.Equals((object)"2001:db8::1"));
    }
}
