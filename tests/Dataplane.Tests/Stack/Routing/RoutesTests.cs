using Dataplane.Stack.Routing;
using Dataplane.Wire;
using static Dataplane.Tests.Stack.Routing.RouteText;

namespace Dataplane.Tests.Stack.Routing;

/// <summary>The control side: what a change is refused for, what it publishes and that a refusal changes nothing.</summary>
public class RoutesTests
{
    private static readonly NextHop4 Hop = Via("10.0.0.1");
    private static readonly NextHop6 Hop6 = Via6("fe80::1");

    [Theory]
    [InlineData("10.1.1.1", 24)]
    [InlineData("11.0.0.0", 7)]
    [InlineData("0.0.0.1", 0)]
    [InlineData("10.0.0.0", 33)]
    [InlineData("10.0.0.0", -1)]
    public void A_prefix_with_host_bits_or_a_length_out_of_range_is_refused(string network, int length)
    {
        var routes = new Routes();
        Assert.Equal(RouteChange.BadPrefix, routes.Add(V4(network), length, Hop));
        Assert.Equal(RouteChange.BadPrefix, routes.Delete(V4(network), length));
        Assert.Same(RoutingTable.Empty, routes.Current);
    }

    [Theory]
    [InlineData("2001:db8::1", 64)]
    [InlineData("2001:db8:8000::", 32)]
    [InlineData("::1", 127)]
    [InlineData("2001:db8::", 129)]
    [InlineData("2001:db8::", -1)]
    public void An_ipv6_prefix_with_host_bits_or_a_length_out_of_range_is_refused(string network, int length)
    {
        var routes = new Routes();
        Assert.Equal(RouteChange.BadPrefix, routes.Add(V6(network), length, Hop6));
        Assert.Equal(RouteChange.BadPrefix, routes.Delete(V6(network), length));
        Assert.Same(RoutingTable.Empty, routes.Current);
    }

    [Fact]
    public void A_second_route_to_the_same_prefix_is_refused_and_the_first_stays()
    {
        var routes = new Routes();
        routes.Add("10.1.0.0/16", Hop);
        routes.Add("2001:db8::/32", Hop6);
        RoutingTable before = routes.Current;

        Assert.Equal(RouteChange.Exists, routes.Add(V4("10.1.0.0"), 16, Via("10.0.0.2")));
        Assert.Equal(RouteChange.Exists, routes.Add(V6("2001:db8::"), 32, Via6("fe80::2")));
        Assert.Same(before, routes.Current);
        Assert.Equal(Hop, routes.Current.Lookup("10.1.2.3"));
        // Same network, other length: a different route.
        Assert.Equal(RouteChange.Added, routes.Add(V4("10.1.0.0"), 17, Via("10.0.0.2")));
    }

    [Fact]
    public void Deleting_what_is_not_there_is_not_found()
    {
        var routes = new Routes();
        routes.Add("10.1.0.0/16", Hop);
        Assert.Equal(RouteChange.NotFound, routes.Delete(V4("10.1.0.0"), 24));
        Assert.Equal(RouteChange.NotFound, routes.Delete(V4("10.2.0.0"), 16));
        Assert.Equal(RouteChange.NotFound, routes.Delete(V6("2001:db8::"), 32));
    }

    [Fact]
    public void A_connected_route_is_not_deleted_by_route_delete_but_goes_with_its_address()
    {
        var routes = new Routes();
        var connected = new NextHop4(1, Ipv4Address.Any, RouteOrigin.Connected);
        var connected6 = new NextHop6(1, Ipv6Address.Any, RouteOrigin.Connected);
        Assert.Equal(RouteChange.Added, routes.Add(V4("10.10.11.0"), 24, connected));
        Assert.Equal(RouteChange.Added, routes.Add(V6("fdd7::"), 64, connected6));
        Assert.True(connected.IsDirect);

        Assert.Equal(RouteChange.ConnectedRoute, routes.Delete(V4("10.10.11.0"), 24));
        Assert.Equal(RouteChange.ConnectedRoute, routes.Delete(V6("fdd7::"), 64));
        Assert.Equal(connected, routes.Current.Lookup("10.10.11.7"));

        Assert.Equal(RouteChange.Deleted, routes.DeleteConnected(V4("10.10.11.0"), 24));
        Assert.Equal(RouteChange.Deleted, routes.DeleteConnected(V6("fdd7::"), 64));
        Assert.Null(routes.Current.Lookup("10.10.11.7"));
        routes.Add("10.20.0.0/16", Hop);
        Assert.Equal(RouteChange.NotFound, routes.DeleteConnected(V4("10.20.0.0"), 16));
    }

    [Fact]
    public void A_next_hop_on_no_interface_a_connected_route_with_a_gateway_or_a_multicast_gateway_is_refused()
    {
        var routes = new Routes();
        Assert.Equal(RouteChange.BadNextHop, routes.Add(V4("10.0.0.0"), 8, new NextHop4(-1, V4("10.0.0.1"), RouteOrigin.Static)));
        Assert.Equal(RouteChange.BadNextHop, routes.Add(V4("10.0.0.0"), 8, new NextHop4(0, V4("10.0.0.1"), RouteOrigin.Connected)));
        Assert.Equal(RouteChange.BadNextHop, routes.Add(V4("10.0.0.0"), 8, Via("224.0.0.1")));
        Assert.Equal(RouteChange.BadNextHop, routes.Add(V4("10.0.0.0"), 8, Via("255.255.255.255")));
        Assert.Equal(RouteChange.BadNextHop, routes.Add(V6("2001:db8::"), 32, Via6("ff02::1")));
        Assert.Equal(RouteChange.BadNextHop, routes.Add(V6("2001:db8::"), 32, new NextHop6(0, V6("fe80::1"), RouteOrigin.Connected)));
        Assert.Equal(RouteChange.BadNextHop, routes.Add(V6("2001:db8::"), 32, new NextHop6(0, V6("fe80::1"), (RouteOrigin)7)));
        Assert.Same(RoutingTable.Empty, routes.Current);
    }

    [Fact]
    public void Every_change_publishes_a_new_snapshot_and_leaves_the_old_one_as_it_was()
    {
        var routes = new Routes();
        routes.Add("10.1.0.0/16", Hop);
        RoutingTable first = routes.Current;
        routes.Add("10.1.1.0/24", Via("10.0.0.2"));
        routes.Add("2001:db8::/32", Hop6);
        RoutingTable third = routes.Current;

        Assert.Equal(1, first.Generation);
        Assert.Equal(3, third.Generation);
        Assert.Equal(Hop, first.Lookup("10.1.1.1"));
        Assert.Null(first.Lookup6("2001:db8::1"));
        Assert.Equal(Via("10.0.0.2"), third.Lookup("10.1.1.1"));
        Assert.Equal(Hop6, third.Lookup6("2001:db8::1"));
        // An IPv6 change shares the IPv4 snapshot instead of copying 32 MiB.
        routes.Add("2001:db8:1::/48", Hop6);
        Assert.Same(third.Ipv4, routes.Current.Ipv4);
    }

    [Fact]
    public void A_batch_goes_in_as_one_snapshot_or_not_at_all()
    {
        var routes = new Routes();
        Route4[] batch = [.. Enumerable.Range(0, 1000).Select(i => new Route4(Ipv4Address.FromUInt32(0x0A000000u | (uint)i << 8), 24, Via("10.255.0.1", i % 4)))];

        Assert.Equal(RouteChange.Added, routes.AddMany(batch, out int rejected));
        Assert.Equal(-1, rejected);
        Assert.Equal(1, routes.Current.Generation);
        Assert.Equal(1000, routes.Current.Routes4.Count);
        Assert.Equal(batch[999].NextHop, routes.Current.Lookup("10.3.231.9"));

        Route4[] bad = [new(V4("11.0.0.0"), 8, Hop), new(V4("12.0.0.0"), 8, Hop), new(V4("10.0.5.0"), 24, Hop), new(V4("13.0.0.0"), 8, Hop)];
        Assert.Equal(RouteChange.Exists, routes.AddMany(bad, out rejected));
        Assert.Equal(2, rejected);
        Assert.Equal(1, routes.Current.Generation);
        Assert.Null(routes.Current.Lookup("11.1.1.1"));
        // The refused batch left nothing behind: its first routes can be added again.
        routes.Add("11.0.0.0/8", Hop);

        Route6[] bad6 = [new(V6("2001:db8::"), 32, Hop6), new(V6("2001:db8::1"), 32, Hop6)];
        Assert.Equal(RouteChange.BadPrefix, routes.AddMany(bad6, out rejected));
        Assert.Equal(1, rejected);
        Assert.Empty(routes.Current.Routes6);
    }

    [Fact]
    public void Routes_are_listed_by_network_then_prefix_length()
    {
        var routes = new Routes();
        routes.Add("10.1.0.0/16", Hop);
        routes.Add("0.0.0.0/0", Hop);
        routes.Add("10.0.0.0/8", Hop);
        routes.Add("9.0.0.0/8", Hop);
        routes.Add("10.0.0.0/16", Hop);
        routes.Add("2001:db8:1::/48", Hop6);
        routes.Add("::/0", Hop6);
        routes.Add("2001:db8::/32", Hop6);

        Assert.Equal(["0.0.0.0/0", "9.0.0.0/8", "10.0.0.0/8", "10.0.0.0/16", "10.1.0.0/16"],
            routes.Current.Routes4.Select(r => $"{r.Network}/{r.PrefixLength}"));
        Assert.Equal(["::/0", "2001:db8::/32", "2001:db8:1::/48"],
            routes.Current.Routes6.Select(r => $"{r.Network}/{r.PrefixLength}"));
    }
}
