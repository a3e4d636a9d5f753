using Dataplane.Config;
using Dataplane.Wire;

namespace Dataplane.Tests.Config;

/// <summary>What each statement puts into the model when it is right.</summary>
public class ConfigParserTests
{
    private static DataplaneConfig Parse(string text)
    {
        ConfigResult result = ConfigParser.Parse("t.conf", text);
        Assert.Equal([], result.Errors.Select(e => e.ToString()));
        Assert.True(result.IsValid);
        return result.Config;
    }

    private static IpAddress V4(string s) => new(Ipv4Address.TryParse(s, out Ipv4Address a) ? a : throw new ArgumentException(s));

    private static IpAddress V6(string s) => new(Ipv6Address.TryParse(s, out Ipv6Address a) ? a : throw new ArgumentException(s));

    [Fact]
    public void Empty_text_comments_and_blank_lines_give_an_empty_config()
    {
        DataplaneConfig c = Parse("\n   \n# only a comment\n\t# indented comment\n");
        Assert.Empty(c.Ports);
        Assert.Empty(c.Addresses);
        Assert.Empty(c.Routes);
        Assert.Empty(c.Settings);
        Assert.Empty(c.Mtus);
        Assert.Empty(c.Vlans);
        Assert.Empty(c.Apps);
    }

    [Fact]
    public void Port_statements_give_driver_ifname_pci_queues_and_line()
    {
        DataplaneConfig c = Parse("""
            port left  driver tap   ifname dpl0 queues 2
            port right driver afxdp ifname vr0 queues 2
            port p0    driver vfio  pci 0000:0A:03.7 queues 4
            port m0    driver memory
            port pk    queues 3 ifname eth1 driver afpacket
            """);
        Assert.Equal(
        [
            new PortConfig("left", PortDriver.Tap, "dpl0", null, 2, 1),
            new PortConfig("right", PortDriver.AfXdp, "vr0", null, 2, 2),
            new PortConfig("p0", PortDriver.Vfio, null, new PciAddress(0, 0x0A, 3, 7), 4, 3),
            new PortConfig("m0", PortDriver.Memory, null, null, 1, 4),
            new PortConfig("pk", PortDriver.AfPacket, "eth1", null, 3, 5),
        ], c.Ports.ToArray());
        Assert.Equal("0000:0a:03.7", c.Ports[2].Pci.ToString());
    }

    [Fact]
    public void Port_names_take_letters_digits_and_dot_dash_underscore_up_to_15_characters()
        => Assert.Equal(["a", "Wan_1.b-2", "abcdefghijklmno"], Parse("port a driver memory\nport Wan_1.b-2 driver memory\nport abcdefghijklmno driver memory\n").Ports.Select(p => p.Name));

    [Fact]
    public void A_port_may_override_set_tso_and_set_lro_and_follows_them_when_it_does_not_say()
    {
        DataplaneConfig c = Parse("""
            set tso off
            port a driver memory tso on lro off
            port b driver memory
            port c driver memory lro on
            """);
        Assert.Equal([true, false, false], c.Ports.Select(c.TsoOn));
        Assert.Equal([false, true, true], c.Ports.Select(c.LroOn));
        Assert.Equal([true, null, null], c.Ports.Select(p => p.Tso));
        Assert.True(Parse("port a driver memory\n").TsoOn(Parse("port a driver memory\n").Ports[0])); // both on by default
    }

    [Fact]
    public void Inet_and_inet6_give_addresses_with_their_prefix_length()
    {
        DataplaneConfig c = Parse("""
            port left driver memory
            inet  left  10.10.11.2/24
            inet6 left  fdd7:e83e:66bd:1011::2/64
            inet6 left  FDD7:E83E:66BD:1011:0:0:0:3/128
            """);
        Assert.Equal(
        [
            new InterfaceAddress("left", new IpPrefix(V4("10.10.11.2"), 24), 2),
            new InterfaceAddress("left", new IpPrefix(V6("fdd7:e83e:66bd:1011::2"), 64), 3),
            new InterfaceAddress("left", new IpPrefix(V6("fdd7:e83e:66bd:1011::3"), 128), 4),
        ], c.Addresses.ToArray());
        Assert.Equal([IpFamily.Inet, IpFamily.Inet6, IpFamily.Inet6], c.Addresses.Select(a => a.Family));
    }

    [Fact]
    public void Route_statements_give_destination_and_gateway_of_either_family()
    {
        DataplaneConfig c = Parse("""
            port right driver memory
            inet  right 10.10.12.3/24
            inet6 right fdd7:e83e:66bd:1012::3/64
            route add default 10.10.12.4
            route add 10.20.0.0/16 10.10.12.4
            route add -inet6 default fdd7:e83e:66bd:1012::4
            route add -inet6 fdd7:1::/48 fdd7:e83e:66bd:1012::4
            route add 10.30.1.1 10.10.12.5
            route add fdd7:2::/48 fdd7:e83e:66bd:1012::4
            route add -inet 10.40.0.0/16 10.10.12.4
            """);
        Assert.Equal(
        [
            new RouteConfig(new IpPrefix(V4("0.0.0.0"), 0), V4("10.10.12.4"), 4),
            new RouteConfig(new IpPrefix(V4("10.20.0.0"), 16), V4("10.10.12.4"), 5),
            new RouteConfig(new IpPrefix(V6("::"), 0), V6("fdd7:e83e:66bd:1012::4"), 6),
            new RouteConfig(new IpPrefix(V6("fdd7:1::"), 48), V6("fdd7:e83e:66bd:1012::4"), 7),
            new RouteConfig(new IpPrefix(V4("10.30.1.1"), 32), V4("10.10.12.5"), 8),
            new RouteConfig(new IpPrefix(V6("fdd7:2::"), 48), V6("fdd7:e83e:66bd:1012::4"), 9),
            new RouteConfig(new IpPrefix(V4("10.40.0.0"), 16), V4("10.10.12.4"), 10),
        ], c.Routes.ToArray());
        Assert.Equal([true, false, true, false, false, false, false], c.Routes.Select(r => r.IsDefault));
    }

    [Fact]
    public void Set_statements_give_settings_and_the_typed_values()
    {
        DataplaneConfig c = Parse("set forwarding on\nset cores 0,2,4-7\nset tso off\nset lro off\n");
        Assert.True(c.Forwarding);
        Assert.False(c.Tso);
        Assert.False(c.Lro);
        Assert.Equal([0, 2, 4, 5, 6, 7], c.Cores.ToArray());
        Assert.Equal([1, 2, 3, 4], c.Settings.Select(s => s.Line));
        Assert.Equal([SettingKey.Forwarding, SettingKey.Cores, SettingKey.Tso, SettingKey.Lro], c.Settings.Select(s => s.Key));
    }

    [Fact]
    public void Settings_not_set_have_their_defaults()
    {
        DataplaneConfig c = Parse("");
        Assert.False(c.Forwarding);
        Assert.True(c.Tso);
        Assert.True(c.Lro);
        Assert.Equal([0], c.Cores.ToArray());
    }

    [Theory]
    [InlineData("0-1", new[] { 0, 1 })]
    [InlineData("3", new[] { 3 })]
    [InlineData("7,0,3-4", new[] { 0, 3, 4, 7 })]
    [InlineData("1023", new[] { 1023 })]
    [InlineData("5-5", new[] { 5 })]
    public void Set_cores_takes_numbers_and_ranges_in_any_order(string list, int[] cores)
        => Assert.Equal(cores, Parse($"set cores {list}\n").Cores.ToArray());

    [Fact]
    public void Mtu_and_vlan_statements_give_their_values_and_vlans_take_addresses()
    {
        DataplaneConfig c = Parse("""
            port left driver memory
            port right driver memory
            mtu right 9000
            vlan vlan11 parent left vnetid 11
            vlan vlan12 vnetid 4094 parent left
            inet vlan11 10.11.0.1/24
            inet6 vlan11 fdd7:11::1/64
            mtu vlan11 1280
            mtu left 68
            """);
        Assert.Equal([new MtuConfig("right", 9000, 3), new MtuConfig("vlan11", 1280, 8), new MtuConfig("left", 68, 9)], c.Mtus.ToArray());
        Assert.Equal([new VlanConfig("vlan11", "left", 11, 4), new VlanConfig("vlan12", "left", 4094, 5)], c.Vlans.ToArray());
        Assert.Equal(["vlan11", "vlan11"], c.Addresses.Select(a => a.Interface));
    }

    [Fact]
    public void App_statements_give_kind_transport_endpoints_and_mode()
    {
        DataplaneConfig c = Parse("""
            port left driver memory
            inet left 10.10.11.2/24
            inet6 left fdd7:e83e:66bd:1011::2/64
            app iperf3 listen 10.10.11.2:5201
            app relay tcp listen 10.10.11.2:8080 connect 10.10.12.4:5201 mode splice
            app relay udp listen 10.10.11.2:9000 connect 10.10.12.4:9000 mode copy
            app echo udp listen 10.10.11.2:7
            app discard udp listen 10.10.11.2:9
            app echo tcp listen [fdd7:e83e:66bd:1011::2]:7
            app discard tcp listen 0.0.0.0:9
            app relay tcp listen [::]:8443 connect [fdd7::4]:443
            """);
        IpEndpoint Ep(IpAddress a, int port) => new(a, port);
        Assert.Equal(
        [
            new AppConfig(AppKind.Iperf3, AppTransport.Tcp, Ep(V4("10.10.11.2"), 5201), null, RelayMode.Splice, 4),
            new AppConfig(AppKind.Relay, AppTransport.Tcp, Ep(V4("10.10.11.2"), 8080), Ep(V4("10.10.12.4"), 5201), RelayMode.Splice, 5),
            new AppConfig(AppKind.Relay, AppTransport.Udp, Ep(V4("10.10.11.2"), 9000), Ep(V4("10.10.12.4"), 9000), RelayMode.Copy, 6),
            new AppConfig(AppKind.Echo, AppTransport.Udp, Ep(V4("10.10.11.2"), 7), null, RelayMode.Splice, 7),
            new AppConfig(AppKind.Discard, AppTransport.Udp, Ep(V4("10.10.11.2"), 9), null, RelayMode.Splice, 8),
            new AppConfig(AppKind.Echo, AppTransport.Tcp, Ep(V6("fdd7:e83e:66bd:1011::2"), 7), null, RelayMode.Splice, 9),
            new AppConfig(AppKind.Discard, AppTransport.Tcp, Ep(V4("0.0.0.0"), 9), null, RelayMode.Splice, 10),
            new AppConfig(AppKind.Relay, AppTransport.Tcp, Ep(V6("::"), 8443), Ep(V6("fdd7::4"), 443), RelayMode.Splice, 11),
        ], c.Apps.ToArray());
        Assert.Equal("[fdd7:e83e:66bd:1011::2]:7", c.Apps[5].Listen.ToString());
    }

    [Fact]
    public void A_tcp_relay_takes_a_maximum_in_bytes_and_an_idle_timeout_in_seconds()
    {
        DataplaneConfig c = Parse("""
            port left driver memory
            inet left 10.10.11.2/24
            app relay tcp listen 10.10.11.2:8080 connect 10.10.12.4:80 mode copy max 1048576 idle 30
            app relay tcp listen 10.10.11.2:8081 connect 10.10.12.4:80
            """);
        Assert.Equal((1048576L, 30L, RelayMode.Copy), (c.Apps[0].MaxBytes, c.Apps[0].IdleSeconds, c.Apps[0].Mode));
        Assert.Equal((0L, 0L, RelayMode.Splice), (c.Apps[1].MaxBytes, c.Apps[1].IdleSeconds, c.Apps[1].Mode));
    }

    [Fact]
    public void A_name_may_be_used_before_the_line_that_defines_it()
    {
        DataplaneConfig c = Parse("""
            inet v5 10.5.0.1/24
            mtu left 1500
            vlan v5 parent left vnetid 5
            route add default 10.5.0.254
            app echo udp listen 10.5.0.1:7
            port left driver memory
            """);
        Assert.Single(c.Ports);
        Assert.Single(c.Vlans);
        Assert.Single(c.Routes);
    }

    [Fact]
    public void Comments_end_a_statement_anywhere_on_the_line_and_tabs_and_cr_separate_tokens()
    {
        DataplaneConfig c = Parse("port\tleft driver memory# no space before the comment\r\nset forwarding on   # route\r\n");
        Assert.Equal("left", c.Ports[0].Name);
        Assert.True(c.Forwarding);
        Assert.Equal(2, c.Settings[0].Line);
    }

    [Fact]
    public void Line_numbers_count_newlines_only()
    {
        ConfigResult result = ConfigParser.Parse("t.conf", "set tso on\f\nset x on\n");
        Assert.Equal(["t.conf:2: set: unknown key 'x' (expected forwarding, cores, tso, lro, tcp connections, tcp buffer or tcp congestion)"], result.Errors.Select(e => e.ToString()));
    }

    [Fact]
    public void Set_tcp_gives_the_connections_the_buffer_and_the_congestion_control_with_defaults_otherwise()
    {
        DataplaneConfig set = Parse("set tcp connections 500\nset tcp buffer 65536\nset tcp congestion newreno\n");
        Assert.Equal(500, set.TcpConnections);
        Assert.Equal(65536, set.TcpBuffer);
        Assert.Equal(Dataplane.Stack.Transport.Tcp.CongestionAlgorithm.NewReno, set.TcpCongestion);

        DataplaneConfig unset = Parse("");
        Assert.Equal(100_000, unset.TcpConnections);
        Assert.Equal(1 << 20, unset.TcpBuffer);
        Assert.Equal(Dataplane.Stack.Transport.Tcp.CongestionAlgorithm.Cubic, unset.TcpCongestion);
    }
}
