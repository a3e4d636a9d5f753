using Dataplane.Stack.Routing;
using static Dataplane.Tests.Stack.Routing.RouteText;

namespace Dataplane.Tests.Stack.Routing;

/// <summary>The IPv6 table (binary search on prefix lengths) through <see cref="Routes"/>: literal prefixes and the answers they must give.</summary>
public class Ipv6LpmTableTests
{
    private static readonly NextHop6 Default = Via6("fe80::1");
    private static readonly NextHop6 Slash32 = Via6("fe80::32");
    private static readonly NextHop6 Slash48 = Via6("fe80::48", port: 1);
    private static readonly NextHop6 Slash64 = Via6("fe80::64", port: 1);
    private static readonly NextHop6 Slash65 = Via6("fe80::65", port: 2);
    private static readonly NextHop6 Slash128 = Via6("fe80::128", port: 2);

    private static Routes Overlapping()
    {
        var routes = new Routes();
        routes.Add("::/0", Default);
        routes.Add("2001:db8::/32", Slash32);
        routes.Add("2001:db8:1::/48", Slash48);
        routes.Add("2001:db8:1:2::/64", Slash64);
        routes.Add("2001:db8:1:2:8000::/65", Slash65);
        routes.Add("2001:db8:1:2::5/128", Slash128);
        return routes;
    }

    [Theory]
    [InlineData("2001:db9::1", "default")]
    [InlineData("::", "default")]
    [InlineData("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "default")]
    [InlineData("2001:db8::", "/32")]
    [InlineData("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", "/32")]
    [InlineData("2001:db8:1::1", "/48")]
    [InlineData("2001:db8:1:3::1", "/48")]
    [InlineData("2001:db8:1:2::1", "/64")]
    [InlineData("2001:db8:1:2:7fff:ffff:ffff:ffff", "/64")]
    [InlineData("2001:db8:1:2:8000::", "/65")]
    [InlineData("2001:db8:1:2:ffff:ffff:ffff:ffff", "/65")]
    [InlineData("2001:db8:1:2::5", "/128")]
    [InlineData("2001:db8:1:2::4", "/64")]
    public void The_longest_of_overlapping_prefixes_wins(string destination, string expected)
    {
        NextHop6 want = expected switch
        {
            "default" => Default,
            "/32" => Slash32,
            "/48" => Slash48,
            "/64" => Slash64,
            "/65" => Slash65,
            _ => Slash128,
        };
        Assert.Equal(want, Overlapping().Current.Lookup6(destination));
    }

    [Fact]
    public void The_empty_table_and_an_uncovered_destination_have_no_route()
    {
        Assert.Null(RoutingTable.Empty.Lookup6("::"));
        Assert.Null(RoutingTable.Empty.Lookup6("2001:db8::1"));
        var routes = new Routes();
        routes.Add("2001:db8::/32", Slash32);
        Assert.Null(routes.Current.Lookup6("2001:db9::1"));
        Assert.False(routes.Current.TryLookup(V6("::1"), out NextHop6 hop));
        Assert.Equal(default, hop);
    }

    [Fact]
    public void Deleting_a_prefix_restores_the_shorter_one_under_it()
    {
        Routes routes = Overlapping();

        Assert.Equal(RouteChange.Deleted, routes.Delete(V6("2001:db8:1:2::5"), 128));
        Assert.Equal(Slash64, routes.Current.Lookup6("2001:db8:1:2::5"));
        Assert.Equal(RouteChange.Deleted, routes.Delete(V6("2001:db8:1:2::"), 64));
        Assert.Equal(Slash48, routes.Current.Lookup6("2001:db8:1:2::5"));
        Assert.Equal(Slash65, routes.Current.Lookup6("2001:db8:1:2:8000::5"));
        Assert.Equal(RouteChange.Deleted, routes.Delete(V6("::"), 0));
        Assert.Null(routes.Current.Lookup6("2001:db9::1"));
        Assert.Equal(3, routes.Current.Ipv6.PrefixLengths); // /32, /48, /65
    }

    [Theory]
    [InlineData("2001:db8:1:2::1", "/64")] // the markers of the /64 lead to it
    [InlineData("2001:db8:1:3::1", "/32")] // they lead toward it and it does not match: the markers' best match
    [InlineData("2001:db8:1:200::1", "/32")] // the /56 marker matches, the /64 does not
    [InlineData("2001:db8:2::1", "/32")] // the /48 marker does not match: the search turns shorter
    [InlineData("2001:db9::1", "default")]
    [InlineData("3000:0:1::1", "/40 elsewhere")] // a route of a length whose table the /64 also marked
    public void Markers_of_a_longer_route_lead_the_search_and_leave_the_best_shorter_match(string destination, string expected)
    {
        // Seven lengths: the search starts at the middle one (/48), where the /64 leaves a marker,
        // and goes on to /56 (another marker) and /64; routes of other lengths elsewhere.
        NextHop6 elsewhere = Via6("fe80::40", port: 1);
        var routes = new Routes();
        routes.Add("::/0", Default);
        routes.Add("2001:db8::/32", Slash32);
        routes.Add("2001:db8:1:2::/64", Slash64);
        routes.Add("3000::/40", elsewhere);
        routes.Add("3000::/48", Slash48);
        routes.Add("3000::/56", Slash48);
        routes.Add("3000::/128", Slash128);
        Assert.Equal(7, routes.Current.Ipv6.PrefixLengths);
        NextHop6 want = expected switch
        {
            "default" => Default,
            "/32" => Slash32,
            "/64" => Slash64,
            _ => elsewhere,
        };
        Assert.Equal(want, routes.Current.Lookup6(destination));
    }

    [Fact]
    public void Many_networks_of_one_length_each_find_their_own_next_hop()
    {
        var routes = new Routes();
        var batch = new Route6[2000];
        for (int i = 0; i < batch.Length; i++)
            batch[i] = new Route6(V6($"2001:db8:{i:x}::"), 48, new NextHop6(i % 7, V6($"fe80::{i:x}"), RouteOrigin.Static));
        Assert.Equal(RouteChange.Added, routes.AddMany(batch, out _));

        for (int i = 0; i < batch.Length; i++)
            Assert.Equal(batch[i].NextHop, routes.Current.Lookup6($"2001:db8:{i:x}:abcd::1"));
        Assert.Null(routes.Current.Lookup6("2001:db8:ffff::1"));
        Assert.Equal(1, routes.Current.Ipv6.PrefixLengths);
    }

    [Theory]
    [InlineData("sequential /64s of one /48")]
    [InlineData("sequential /48s of one /32")]
    [InlineData("hosts of one /64")]
    [InlineData("one /64 in every /56 of a /40")]
    public void Regular_address_plans_spread_over_the_tables_so_no_entry_lies_far_from_its_home_slot(string plan)
    {
        // Real plans number subnets and hosts in sequence; a hash that kept only some of the bits
        // (the low ones of either half, say) would pile them into one run of slots, which every
        // lookup then walks. 4,096 entries in a table of 16,384 slots: a random placement puts the
        // farthest within about a dozen slots.
        var batch = new Route6[4096];
        for (int i = 0; i < batch.Length; i++)
        {
            (string network, int length) = plan switch
            {
                "sequential /64s of one /48" => ($"2001:db8:7:{i:x}::", 64),
                "sequential /48s of one /32" => ($"2001:db8:{i:x}::", 48),
                "hosts of one /64" => ($"2001:db8:7:1::{i + 1:x}", 128),
                _ => ($"2001:db8:{i >> 8:x}:{(i & 0xff) << 8:x}::", 64),
            };
            batch[i] = new Route6(V6(network), length, new NextHop6(0, V6("fe80::1"), RouteOrigin.Static));
        }
        var routes = new Routes();
        Assert.Equal(RouteChange.Added, routes.AddMany(batch, out _));

        Assert.InRange(routes.Current.Ipv6.LongestProbe(), 0, 24);
        foreach (Route6 route in batch)
            Assert.Equal(route.NextHop, routes.Current.Lookup6(route.Network.ToString()));
    }
}
