using Dataplane.Config;
using Dataplane.Control;
using Dataplane.Stack.Routing;
using Dataplane.Wire;
using static Dataplane.Tests.Stack.Routing.RouteText;

namespace Dataplane.Tests.Control;

/// <summary><c>ctl route add|delete|show</c> against a live route set, with the config's parsing and messages.</summary>
public class RouteCommandTests
{
    private static readonly string[] Names = ["left", "right"];

    private readonly Routes _routes = new();

    public RouteCommandTests()
    {
        _routes.Add("10.10.11.0/24", new NextHop4(0, Ipv4Address.Any, RouteOrigin.Connected));
        _routes.Add("10.10.12.0/24", new NextHop4(1, Ipv4Address.Any, RouteOrigin.Connected));
        _routes.Add("fdd7:e83e:66bd:1012::/64", new NextHop6(1, Ipv6Address.Any, RouteOrigin.Connected));
    }

    /// <summary>The connected networks above, as the stack would answer: the interface whose prefix holds the gateway.</summary>
    private static int? InterfaceFor(IpAddress gateway)
    {
        IpPrefix[] connected = [new(new IpAddress(V4("10.10.11.0")), 24), new(new IpAddress(V4("10.10.12.0")), 24), new(new IpAddress(V6("fdd7:e83e:66bd:1012::")), 64)];
        int[] ports = [0, 1, 1];
        for (int i = 0; i < connected.Length; i++)
        {
            if (connected[i].Contains(gateway))
                return ports[i];
        }
        return null;
    }

    private ControlReply Run(string line) => RouteCommand.Execute(line.Split(' '), _routes, InterfaceFor, Names);

    [Fact]
    public void Route_add_puts_a_static_route_through_the_gateways_interface_and_echoes_it_as_route_8_does()
    {
        Assert.Equal(new ControlReply(ControlStatus.Ok, "add net 10.20.0.0/16: gateway 10.10.12.4\n"), Run("route add 10.20.0.0/16 10.10.12.4"));
        Assert.Equal(new ControlReply(ControlStatus.Ok, "add net default: gateway 10.10.11.1\n"), Run("route add default 10.10.11.1"));
        Assert.Equal(new ControlReply(ControlStatus.Ok, "add host 10.30.1.1: gateway 10.10.12.5\n"), Run("route add 10.30.1.1 10.10.12.5"));
        Assert.Equal(new ControlReply(ControlStatus.Ok, "add net default: gateway fdd7:e83e:66bd:1012::4\n"), Run("route add -inet6 default fdd7:e83e:66bd:1012::4"));
        Assert.Equal(new ControlReply(ControlStatus.Ok, "add net fdd7:1::/48: gateway fdd7:e83e:66bd:1012::4\n"), Run("route add fdd7:1::/48 fdd7:e83e:66bd:1012::4"));

        RoutingTable table = _routes.Current;
        Assert.Equal(new NextHop4(1, V4("10.10.12.4"), RouteOrigin.Static), table.Lookup("10.20.3.4"));
        Assert.Equal(new NextHop4(0, V4("10.10.11.1"), RouteOrigin.Static), table.Lookup("8.8.8.8"));
        Assert.Equal(new NextHop4(1, V4("10.10.12.5"), RouteOrigin.Static), table.Lookup("10.30.1.1"));
        Assert.Equal(new NextHop6(1, V6("fdd7:e83e:66bd:1012::4"), RouteOrigin.Static), table.Lookup6("2001:db8::1"));
        Assert.Equal(new NextHop6(1, V6("fdd7:e83e:66bd:1012::4"), RouteOrigin.Static), table.Lookup6("fdd7:1:2::3"));
    }

    [Fact]
    public void A_gateway_off_every_connected_network_is_refused_and_nothing_changes()
    {
        RoutingTable before = _routes.Current;

        ControlReply reply = Run("route add 10.20.0.0/16 192.0.2.1");

        Assert.Equal(new ControlReply(ControlStatus.Error, "route add: gateway 192.0.2.1 is not on a connected network\n"), reply);
        Assert.Same(before, _routes.Current);
        Assert.Equal("route add -inet6: gateway 2001:db8::1 is not on a connected network\n", Run("route add -inet6 default 2001:db8::1").Text);
    }

    [Theory]
    [InlineData("route add 10.20.0.1/16 10.10.12.4", "route add: destination '10.20.0.1/16' has host bits set (the network is 10.20.0.0/16)")]
    [InlineData("route add default fdd7:e83e:66bd:1012::4", "route add: gateway 'fdd7:e83e:66bd:1012::4' is IPv6 but the route is IPv4 (write 'route add -inet6 default fdd7:e83e:66bd:1012::4')")]
    [InlineData("route add 10.20.0.0/33 10.10.12.4", "route add: prefix length '33' out of range 0-32 for IPv4")]
    [InlineData("route add 10.20.0.0/16", "route add: missing gateway")]
    [InlineData("route add", "route add: missing destination and gateway")]
    [InlineData("route add 10.20.0.0/16 10.10.12.4 extra", "route add: unexpected 'extra' after the gateway")]
    [InlineData("route add 10.20.0.0/16 10.10.12.255.1", "route add: bad gateway '10.10.12.255.1'")]
    [InlineData("route add 10.20.0.0/16 224.0.0.1", "route add: gateway '224.0.0.1' is not a unicast address")]
    [InlineData("route add -inet6 10.20.0.0/16 10.10.12.4", "route add -inet6: destination '10.20.0.0/16' is not an IPv6 prefix")]
    [InlineData("route add -inet7 default 10.10.12.4", "route add: unknown flag '-inet7' (expected -inet or -inet6)")]
    [InlineData("route delete", "route delete: missing destination")]
    [InlineData("route delete 10.20.0.0/16 10.10.12.4", "route delete: unexpected '10.10.12.4' after the destination")]
    [InlineData("route delete -inet 10.20.0.1/16", "route delete -inet: destination '10.20.0.1/16' has host bits set (the network is 10.20.0.0/16)")]
    [InlineData("route delete nowhere", "route delete: bad address 'nowhere'")]
    [InlineData("route flush", "route: unknown command 'flush' (expected add, delete or show)")]
    [InlineData("route", "route: missing command (expected " + RouteCommand.Usage + ")")]
    [InlineData("route show everything", "route show: unexpected 'everything' (expected nothing, -inet or -inet6)")]
    public void A_malformed_command_gets_the_configs_message_and_changes_nothing(string line, string message)
    {
        RoutingTable before = _routes.Current;

        Assert.Equal(new ControlReply(ControlStatus.Error, message + "\n"), Run(line));
        Assert.Same(before, _routes.Current);
        Assert.Equal(message, RouteCommand.Validate(line.Split(' ')));
    }

    [Fact]
    public void Route_delete_removes_a_static_route_and_the_shorter_prefix_takes_over()
    {
        Run("route add default 10.10.11.1");
        Run("route add 10.20.0.0/16 10.10.12.4");
        Run("route add -inet6 fdd7:1::/48 fdd7:e83e:66bd:1012::4");

        Assert.Equal(new ControlReply(ControlStatus.Ok, "delete net 10.20.0.0/16\n"), Run("route delete 10.20.0.0/16"));
        Assert.Equal(new ControlReply(ControlStatus.Ok, "delete net fdd7:1::/48\n"), Run("route delete -inet6 fdd7:1::/48"));
        Assert.Equal(V4("10.10.11.1"), _routes.Current.Lookup("10.20.3.4")?.Gateway);
        Assert.Null(_routes.Current.Lookup6("fdd7:1::1"));
        Assert.Equal(new ControlReply(ControlStatus.Ok, "delete net default\n"), Run("route delete default"));
        Assert.Null(_routes.Current.Lookup("10.20.3.4"));
    }

    [Fact]
    public void Deleting_a_missing_route_or_a_connected_one_is_an_error()
    {
        Assert.Equal(new ControlReply(ControlStatus.Error, "route delete: no route to 10.20.0.0/16\n"), Run("route delete 10.20.0.0/16"));
        Assert.Equal(new ControlReply(ControlStatus.Error, "route delete -inet6: no route to ::/0\n"), Run("route delete -inet6 default"));
        Assert.Equal(new ControlReply(ControlStatus.Error, "route delete: 10.10.11.0/24 is a connected route; it goes with its interface address\n"), Run("route delete 10.10.11.0/24"));
        Assert.NotNull(_routes.Current.Lookup("10.10.11.9"));
    }

    [Fact]
    public void Adding_a_route_twice_is_an_error_and_the_first_stays()
    {
        Run("route add 10.20.0.0/16 10.10.12.4");

        Assert.Equal(new ControlReply(ControlStatus.Error, "route add: a route to 10.20.0.0/16 is already there (route delete it first)\n"), Run("route add 10.20.0.0/16 10.10.11.1"));
        Assert.Equal(V4("10.10.12.4"), _routes.Current.Lookup("10.20.0.1")?.Gateway);
    }

    [Fact]
    public void Route_show_writes_the_report_of_the_current_table()
    {
        Run("route add default 10.10.12.4");

        ControlReply all = Run("route show");
        ControlReply inet6 = Run("route show -inet6");

        Assert.Equal(ControlStatus.Ok, all.Status);
        Assert.Equal(RouteReport.Write(_routes.Current, Names), all.Text);
        Assert.Contains("default            10.10.12.4         UGS    right\n", all.Text);
        Assert.Equal(RouteReport.Write(_routes.Current, Names, inet: false, inet6: true), inet6.Text);
    }

    [Fact]
    public void A_full_ipv4_table_is_reported_and_the_route_left_out()
    {
        var routes = new Routes(maxTbl8Groups: 1);
        Assert.Equal(ControlStatus.Ok, RouteCommand.Execute("route add 10.20.0.0/25 10.10.12.4".Split(' '), routes, InterfaceFor).Status);

        ControlReply reply = RouteCommand.Execute("route add 10.20.1.0/25 10.10.12.4".Split(' '), routes, InterfaceFor);

        Assert.Equal(new ControlReply(ControlStatus.Error, "route add: the IPv4 routing table is full (every second-level group for prefixes longer than /24 is taken)\n"), reply);
        Assert.Single(routes.Current.Routes4);
    }
}
