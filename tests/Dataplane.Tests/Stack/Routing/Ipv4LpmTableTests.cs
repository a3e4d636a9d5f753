using Dataplane.Stack.Routing;
using Dataplane.Wire;
using static Dataplane.Tests.Stack.Routing.RouteText;

namespace Dataplane.Tests.Stack.Routing;

/// <summary>The DIR-24-8 IPv4 table through <see cref="Routes"/>: literal prefixes and the answers they must give.</summary>
[Collection(CpuHeavyCollection.Name)] // a 32 MiB table a change, dozens of changes
public class Ipv4LpmTableTests
{
    private static readonly NextHop4 Default = Via("192.0.2.1");
    private static readonly NextHop4 Slash8 = Via("192.0.2.8");
    private static readonly NextHop4 Slash16 = Via("192.0.2.16", port: 1);
    private static readonly NextHop4 Slash24 = Via("192.0.2.24", port: 1);
    private static readonly NextHop4 Slash25 = Via("192.0.2.25", port: 2);
    private static readonly NextHop4 Slash32 = Via("192.0.2.32", port: 2);

    private static Routes Overlapping()
    {
        var routes = new Routes();
        routes.Add("0.0.0.0/0", Default);
        routes.Add("10.0.0.0/8", Slash8);
        routes.Add("10.1.0.0/16", Slash16);
        routes.Add("10.1.1.0/24", Slash24);
        routes.Add("10.1.1.128/25", Slash25);
        routes.Add("10.1.1.200/32", Slash32);
        return routes;
    }

    [Theory]
    [InlineData("192.168.1.1", "default")]
    [InlineData("9.255.255.255", "default")]
    [InlineData("11.0.0.0", "default")]
    [InlineData("10.0.0.0", "/8")]
    [InlineData("10.2.3.4", "/8")]
    [InlineData("10.255.255.255", "/8")]
    [InlineData("10.1.0.0", "/16")]
    [InlineData("10.1.2.3", "/16")]
    [InlineData("10.1.255.255", "/16")]
    [InlineData("10.1.0.255", "/16")]
    [InlineData("10.1.1.0", "/24")]
    [InlineData("10.1.1.127", "/24")]
    [InlineData("10.1.1.128", "/25")]
    [InlineData("10.1.1.199", "/25")]
    [InlineData("10.1.1.200", "/32")]
    [InlineData("10.1.1.201", "/25")]
    [InlineData("10.1.1.255", "/25")]
    [InlineData("0.0.0.0", "default")]
    [InlineData("255.255.255.255", "default")]
    public void The_longest_of_overlapping_prefixes_wins(string destination, string expected)
    {
        NextHop4 want = expected switch
        {
            "default" => Default,
            "/8" => Slash8,
            "/16" => Slash16,
            "/24" => Slash24,
            "/25" => Slash25,
            _ => Slash32,
        };
        Assert.Equal(want, Overlapping().Current.Lookup(destination));
    }

    [Fact]
    public void Without_a_default_route_an_uncovered_destination_has_no_route()
    {
        var routes = new Routes();
        routes.Add("10.0.0.0/8", Slash8);

        Assert.False(routes.Current.TryLookup(V4("11.0.0.1"), out NextHop4 hop));
        Assert.Equal(default, hop);
        Assert.Equal(Slash8, routes.Current.Lookup("10.200.0.1"));
    }

    [Fact]
    public void The_empty_table_has_no_route_for_anything()
    {
        Assert.Null(RoutingTable.Empty.Lookup("0.0.0.0"));
        Assert.Null(RoutingTable.Empty.Lookup("10.1.1.1"));
        Assert.Null(RoutingTable.Empty.Lookup("255.255.255.255"));
        Assert.Empty(RoutingTable.Empty.Routes4);
        // No 32 MiB tbl24 for a table without IPv4 routes.
        Assert.InRange(RoutingTable.Empty.Ipv4.SizeInBytes, 0, 64);
    }

    [Fact]
    public void A_default_route_alone_covers_every_address()
    {
        var routes = new Routes();
        routes.Add("0.0.0.0/0", Default);

        foreach (string a in new[] { "0.0.0.0", "1.2.3.4", "127.0.0.1", "224.0.0.1", "255.255.255.255" })
            Assert.Equal(Default, routes.Current.Lookup(a));
    }

    [Fact]
    public void Host_routes_match_their_address_only_at_both_ends_of_the_space()
    {
        var routes = new Routes();
        routes.Add("0.0.0.0/32", Slash8);
        routes.Add("255.255.255.255/32", Slash32);
        routes.Add("128.0.0.0/1", Slash16);

        Assert.Equal(Slash8, routes.Current.Lookup("0.0.0.0"));
        Assert.Null(routes.Current.Lookup("0.0.0.1"));
        Assert.Equal(Slash32, routes.Current.Lookup("255.255.255.255"));
        Assert.Equal(Slash16, routes.Current.Lookup("255.255.255.254"));
        Assert.Equal(Slash16, routes.Current.Lookup("128.0.0.0"));
        Assert.Null(routes.Current.Lookup("127.255.255.255"));
    }

    [Fact]
    public void Deleting_a_prefix_restores_the_shorter_one_under_it_step_by_step()
    {
        Routes routes = Overlapping();

        Assert.Equal(RouteChange.Deleted, routes.Delete(V4("10.1.1.128"), 25));
        Assert.Equal(Slash24, routes.Current.Lookup("10.1.1.201"));
        Assert.Equal(Slash32, routes.Current.Lookup("10.1.1.200"));

        Assert.Equal(RouteChange.Deleted, routes.Delete(V4("10.1.1.0"), 24));
        Assert.Equal(Slash16, routes.Current.Lookup("10.1.1.201"));
        Assert.Equal(Slash32, routes.Current.Lookup("10.1.1.200"));

        Assert.Equal(RouteChange.Deleted, routes.Delete(V4("10.1.1.200"), 32));
        Assert.Equal(Slash16, routes.Current.Lookup("10.1.1.200"));

        Assert.Equal(RouteChange.Deleted, routes.Delete(V4("10.1.0.0"), 16));
        Assert.Equal(Slash8, routes.Current.Lookup("10.1.1.200"));

        Assert.Equal(RouteChange.Deleted, routes.Delete(V4("10.0.0.0"), 8));
        Assert.Equal(Default, routes.Current.Lookup("10.1.1.200"));

        Assert.Equal(RouteChange.Deleted, routes.Delete(V4("0.0.0.0"), 0));
        Assert.Null(routes.Current.Lookup("10.1.1.200"));
        Assert.Empty(routes.Current.Routes4);
    }

    [Fact]
    public void Deleting_the_shorter_prefix_leaves_the_longer_ones_and_the_rest_of_its_range_falls_through()
    {
        Routes routes = Overlapping();

        Assert.Equal(RouteChange.Deleted, routes.Delete(V4("10.1.0.0"), 16));

        Assert.Equal(Slash8, routes.Current.Lookup("10.1.2.3"));
        Assert.Equal(Slash24, routes.Current.Lookup("10.1.1.5"));
        Assert.Equal(Slash25, routes.Current.Lookup("10.1.1.130"));
        Assert.Equal(Slash32, routes.Current.Lookup("10.1.1.200"));
    }

    [Fact]
    public void A_tbl8_group_serves_each_24_with_longer_prefixes_and_is_freed_when_the_last_one_goes()
    {
        var routes = new Routes();
        routes.Add("10.1.1.0/24", Slash24);
        Assert.Equal(0, routes.Current.Ipv4.Tbl8Groups);

        routes.Add("10.1.1.128/25", Slash25);
        routes.Add("10.1.1.64/26", Slash32);
        Assert.Equal(1, routes.Current.Ipv4.Tbl8Groups);

        routes.Add("10.9.9.9/32", Slash32);
        Assert.Equal(2, routes.Current.Ipv4.Tbl8Groups);

        // The /26 still needs the group of 10.1.1.0/24.
        Assert.Equal(RouteChange.Deleted, routes.Delete(V4("10.1.1.128"), 25));
        Assert.Equal(2, routes.Current.Ipv4.Tbl8Groups);
        Assert.Equal(RouteChange.Deleted, routes.Delete(V4("10.1.1.64"), 26));
        Assert.Equal(1, routes.Current.Ipv4.Tbl8Groups);
        // The /24 is a plain tbl24 entry again and answers for all of its addresses.
        Assert.Equal(Slash24, routes.Current.Lookup("10.1.1.70"));
        Assert.Equal(Slash24, routes.Current.Lookup("10.1.1.130"));
        Assert.Equal(Slash32, routes.Current.Lookup("10.9.9.9"));
        Assert.Null(routes.Current.Lookup("10.9.9.8"));
    }

    [Fact]
    public void When_every_tbl8_group_is_taken_a_longer_prefix_in_a_new_24_is_refused_until_one_is_freed()
    {
        var routes = new Routes(maxTbl8Groups: 2);
        routes.Add("10.0.1.0/25", Slash25);
        routes.Add("10.0.2.0/25", Slash25);
        // Another long prefix in a /24 that has a group already needs no new group.
        routes.Add("10.0.2.128/25", Slash32);
        RoutingTable before = routes.Current;

        Assert.Equal(RouteChange.TableFull, routes.Add(V4("10.0.3.0"), 25, Slash25));
        Assert.Same(before, routes.Current);
        Assert.DoesNotContain(routes.Current.Routes4, r => r.Network == V4("10.0.3.0"));
        // Routes of /24 or shorter never need a group.
        routes.Add("10.0.4.0/24", Slash24);

        Assert.Equal(RouteChange.Deleted, routes.Delete(V4("10.0.1.0"), 25));
        routes.Add("10.0.3.0/25", Slash25);
        Assert.Equal(2, routes.Current.Ipv4.Tbl8Groups);
        Assert.Equal(Slash25, routes.Current.Lookup("10.0.3.1"));
        Assert.Null(routes.Current.Lookup("10.0.1.1"));
        Assert.Equal(Slash25, routes.Current.Lookup("10.0.2.1"));
        Assert.Equal(Slash32, routes.Current.Lookup("10.0.2.129"));
    }

    [Fact]
    public void Next_hops_shared_by_many_routes_are_stored_once()
    {
        var routes = new Routes();
        for (int i = 0; i < 100; i++)
            routes.Add($"10.{i}.0.0/16", i % 2 == 0 ? Slash8 : Slash16);

        Assert.Equal(2, routes.Current.Ipv4.NextHops);
    }

    [Fact]
    public void A_snapshot_of_ipv4_routes_costs_tbl24_of_ushorts_plus_512_bytes_a_group()
    {
        var routes = new Routes();
        routes.Add("10.1.1.0/25", Slash25);

        long size = routes.Current.Ipv4.SizeInBytes;
        Assert.InRange(size - (32L << 20) - 512, 0, 256);
    }
}
