using Dataplane.Control;
using Dataplane.Stack.Routing;
using Dataplane.Wire;
using static Dataplane.Tests.Stack.Routing.RouteText;

namespace Dataplane.Tests.Control;

/// <summary><c>ctl route show</c>: the table in the layout of OpenBSD's netstat -rn.</summary>
public class RouteReportTests
{
    private static readonly string[] Names = ["left", "right"];

    private static Routes Example()
    {
        var routes = new Routes();
        routes.Add("10.10.11.0/24", new NextHop4(0, Ipv4Address.Any, RouteOrigin.Connected));
        routes.Add("10.10.12.0/24", new NextHop4(1, Ipv4Address.Any, RouteOrigin.Connected));
        routes.Add("0.0.0.0/0", Via("10.10.12.4", 1));
        routes.Add("10.20.0.0/16", Via("10.10.12.4", 1));
        routes.Add("10.30.1.1/32", Via("10.10.12.5", 1));
        routes.Add("224.0.0.0/4", Via("10.10.11.1", 0));
        routes.Add("10.40.0.128/25", Via("10.10.11.1", 0));
        routes.Add("fdd7:e83e:66bd:1011::/64", new NextHop6(0, Ipv6Address.Any, RouteOrigin.Connected));
        routes.Add("::/0", Via6("fdd7:e83e:66bd:1012::4", 1));
        routes.Add("fdd7:1::/48", Via6("fe80::1", 1));
        routes.Add("fdd7:2::5/128", Via6("fdd7:e83e:66bd:1011::9", 0));
        return routes;
    }

    [Fact]
    public void Both_families_are_listed_under_netstat_headers_sorted_with_flags_and_interface_names()
    {
        string text = RouteReport.Write(Example().Current, Names);

        Assert.Equal(
            """
            Routing tables

            Internet:
            Destination        Gateway            Flags  Interface
            default            10.10.12.4         UGS    right
            10.10.11/24        link#1             UC     left
            10.10.12/24        link#2             UC     right
            10.20/16           10.10.12.4         UGS    right
            10.30.1.1          10.10.12.5         UGHS   right
            10.40.0.128/25     10.10.11.1         UGS    left
            224/4              10.10.11.1         UGS    left

            Internet6:
            Destination                        Gateway                        Flags  Interface
            default                            fdd7:e83e:66bd:1012::4         UGS    right
            fdd7:1::/48                        fe80::1                        UGS    right
            fdd7:2::5                          fdd7:e83e:66bd:1011::9         UGHS   left
            fdd7:e83e:66bd:1011::/64           link#1                         UC     left

            """.ReplaceLineEndings("\n"), text);
    }

    [Fact]
    public void An_empty_table_still_shows_both_sections_with_their_headers()
    {
        Assert.Equal(
            "Routing tables\n\nInternet:\nDestination        Gateway            Flags  Interface\n\n" +
            "Internet6:\nDestination                        Gateway                        Flags  Interface\n",
            RouteReport.Write(RoutingTable.Empty, Names));
    }

    [Fact]
    public void One_family_alone_can_be_asked_for()
    {
        RoutingTable table = Example().Current;
        string inet = RouteReport.Write(table, Names, inet: true, inet6: false);
        string inet6 = RouteReport.Write(table, Names, inet: false, inet6: true);

        Assert.Contains("Internet:\n", inet);
        Assert.DoesNotContain("Internet6:", inet);
        Assert.Contains("Internet6:\n", inet6);
        Assert.DoesNotContain("Internet:", inet6);
    }

    [Theory]
    [InlineData("10.0.0.0", 8, "10/8")]
    [InlineData("10.128.0.0", 9, "10.128/9")]
    [InlineData("10.20.0.0", 16, "10.20/16")]
    [InlineData("10.20.128.0", 17, "10.20.128/17")]
    [InlineData("10.20.30.0", 24, "10.20.30/24")]
    [InlineData("10.20.30.128", 25, "10.20.30.128/25")]
    [InlineData("10.20.30.254", 31, "10.20.30.254/31")]
    [InlineData("10.20.30.40", 32, "10.20.30.40")]
    [InlineData("0.0.0.0", 32, "0.0.0.0")]
    [InlineData("0.0.0.0", 0, "default")]
    [InlineData("128.0.0.0", 1, "128/1")]
    public void Ipv4_networks_are_written_with_the_octets_their_prefix_covers(string network, int length, string expected)
        => Assert.Equal(expected, RouteReport.Destination(new Route4(V4(network), length, Via("10.0.0.1"))));

    [Fact]
    public void An_interface_without_a_name_is_shown_as_its_link_number_and_a_long_address_widens_its_line()
    {
        var routes = new Routes();
        routes.Add("2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff/128", Via6("2001:db8:aaaa:bbbb:cccc:dddd:eeee:1", 5));

        string text = RouteReport.Write(routes.Current, []);

        Assert.Contains("\n2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff 2001:db8:aaaa:bbbb:cccc:dddd:eeee:1 UGHS   link#6\n", text);
    }
}
