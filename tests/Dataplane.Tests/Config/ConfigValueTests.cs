using Dataplane.Config;

namespace Dataplane.Tests.Config;

/// <summary>The small values of the config: prefixes, endpoints, PCI addresses, tokens.</summary>
public class ConfigValueTests
{
    private static IpAddress Ip(string s) => IpAddress.TryParse(s, out IpAddress a) ? a : throw new ArgumentException(s);

    [Theory]
    [InlineData("10.10.11.2", 24, "10.10.11.77", true)]
    [InlineData("10.10.11.2", 24, "10.10.12.1", false)]
    [InlineData("10.10.11.2", 32, "10.10.11.2", true)]
    [InlineData("10.10.11.2", 32, "10.10.11.3", false)]
    [InlineData("0.0.0.0", 0, "192.0.2.1", true)]
    [InlineData("10.10.11.2", 24, "fdd7::1", false)]
    [InlineData("fdd7:e83e:66bd:1011::2", 64, "fdd7:e83e:66bd:1011:ffff::1", true)]
    [InlineData("fdd7:e83e:66bd:1011::2", 64, "fdd7:e83e:66bd:1012::1", false)]
    [InlineData("fdd7:1::", 47, "fdd7:1:1::", true)]
    [InlineData("fdd7:1::", 48, "fdd7:1:1::", false)]
    [InlineData("::", 0, "2001:db8::1", true)]
    public void Prefix_contains_the_addresses_that_share_its_leading_bits(string network, int length, string address, bool contains)
        => Assert.Equal(contains, new IpPrefix(Ip(network), length).Contains(Ip(address)));

    [Theory]
    [InlineData("10.20.1.7", 16, "10.20.0.0/16")]
    [InlineData("10.20.1.7", 31, "10.20.1.6/31")]
    [InlineData("10.20.1.7", 0, "0.0.0.0/0")]
    [InlineData("fdd7:1:2:3::9", 33, "fdd7:1::/33")]
    [InlineData("fdd7:ffff::", 17, "fdd7:8000::/17")]
    [InlineData("fdd7:1:ffff::", 47, "fdd7:1:fffe::/47")]
    public void Network_clears_the_host_bits(string address, int length, string network)
        => Assert.Equal(network, new IpPrefix(Ip(address), length).ToNetwork().ToString());

    [Theory]
    [InlineData("0000:00:03.0", 0, 0, 3, 0)]
    [InlineData("ffff:ff:1f.7", 0xFFFF, 0xFF, 0x1F, 7)]
    [InlineData("0001:AB:0c.1", 1, 0xAB, 0x0C, 1)]
    public void Pci_address_parses_the_full_hex_form(string text, int domain, int bus, int device, int function)
    {
        Assert.True(PciAddress.TryParse(text, out PciAddress a));
        Assert.Equal(new PciAddress(domain, bus, device, function), a);
        Assert.Equal(text.ToLowerInvariant(), a.ToString());
    }

    [Theory]
    [InlineData("00:03.0")]
    [InlineData("0000:00:03")]
    [InlineData("0000-00-03.0")]
    [InlineData("0000:00:20.0")]
    [InlineData("0000:00:03.8")]
    [InlineData("+000:00:03.0")]
    [InlineData("0000:00:03.0 ")]
    [InlineData("")]
    public void Pci_address_refuses_other_forms_and_out_of_range_parts(string text)
        => Assert.False(PciAddress.TryParse(text, out _));

    [Fact]
    public void Endpoint_writes_ipv6_in_brackets()
    {
        Assert.Equal("10.10.11.2:5201", new IpEndpoint(Ip("10.10.11.2"), 5201).ToString());
        Assert.Equal("[fdd7::2]:5201", new IpEndpoint(Ip("fdd7::2"), 5201).ToString());
    }

    [Theory]
    [InlineData("port left  driver tap # comment", new[] { "port", "left", "driver", "tap" })]
    [InlineData("  \t set\tcores 0-1\r", new[] { "set", "cores", "0-1" })]
    [InlineData("# whole line", new string[0])]
    [InlineData("", new string[0])]
    [InlineData("a#b c", new[] { "a" })]
    public void Tokenize_splits_on_whitespace_and_drops_the_comment(string line, string[] tokens)
        => Assert.Equal(tokens, ConfigParser.Tokenize(line));

    [Fact]
    public void Config_error_prints_as_file_colon_line_colon_message()
        => Assert.Equal("a.conf:12: set: unknown key 'x'", new ConfigError("a.conf", 12, "set: unknown key 'x'").ToString());
}
