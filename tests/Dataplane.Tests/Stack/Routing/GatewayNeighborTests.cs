using System.Runtime.CompilerServices;
using Dataplane.Buffers;
using Dataplane.Stack;
using Dataplane.Stack.Routing;
using Dataplane.Wire;
using static Dataplane.Tests.Stack.StackHarness;

namespace Dataplane.Tests.Stack.Routing;

/// <summary>
/// A forwarding worker keeps each gateway's neighbour entry by next hop (GatewayNeighbors): what it
/// kept must never outlive the truth. A new MAC, an entry that left its table and a route moved to
/// another gateway are each seen by the very next packet, IPv4 and IPv6.
/// </summary>
public class GatewayNeighborTests
{
    private static readonly MacAddress OtherMac = new(0x02, 0xAA, 0, 0, 0, 0x05);

    private static readonly Ipv4Address Far = Addr("198.51.100.7");
    private static readonly Ipv4Address OtherGateway = Addr("10.10.12.5");
    private static readonly Ipv6Address Far6 = Addr6("2001:db8:77::7");
    private static readonly Ipv6Address OtherGateway6 = Addr6("fdd7:e83e:66bd:1012::5");

    [Fact]
    public void An_ipv4_packet_through_a_gateway_follows_its_neighbour_entry_and_its_route_as_they_change()
    {
        StackHarness h = Router().Started();
        Assert.Equal(RouteChange.Added, h.Stack.Routes.Add(Addr("198.51.100.0"), 24, new NextHop4(1, Server, RouteOrigin.Static)));
        h.KnowPeer(1, Server, ServerMac);
        byte[] frame = Frames.Ipv4Frame(h.Mac(0), Client, Far, 17, Frames.Udp4(Client, Far, 5000, 6000, 20));

        Forward(h, frame, 3, ServerMac); // the first finds the entry in the table, the others through what it kept

        h.KnowPeer(1, Server, OtherMac); // the gateway answers from a new MAC
        Forward(h, frame, 1, OtherMac);

        // The entry leaves its table, as a sweep removes a neighbour that stopped answering: the
        // packet waits for ARP as one to an unknown neighbour does, and does not go to the old MAC.
        Assert.True(h.Stack.Arp[1].TryGet(Server, out var entry));
        h.Stack.Arp[1].Remove(entry, new PacketBuffer[8]);
        h.Receive(0, frame);
        byte[] request = Assert.Single(h.Sent(1));
        Assert.Equal(MacAddress.Broadcast, new MacAddress(request));
        Assert.Equal(EtherType.Arp, (EtherType)(request[12] << 8 | request[13]));

        h.KnowPeer(1, Server, ServerMac);
        Forward(h, frame, 2, ServerMac);

        // The route moves to another gateway: the new snapshot's next hop may have the old one's
        // index, and what was kept under the old snapshot must not be used for it.
        Assert.Equal(RouteChange.Deleted, h.Stack.Routes.Delete(Addr("198.51.100.0"), 24));
        Assert.Equal(RouteChange.Added, h.Stack.Routes.Add(Addr("198.51.100.0"), 24, new NextHop4(1, OtherGateway, RouteOrigin.Static)));
        h.KnowPeer(1, OtherGateway, OtherMac);
        Forward(h, frame, 2, OtherMac);
    }

    [Fact]
    public void An_ipv6_packet_through_a_gateway_follows_its_neighbour_entry_and_its_route_as_they_change()
    {
        StackHarness h = Router().Started();
        Assert.Equal(RouteChange.Added, h.Stack.Routes.Add(Addr6("2001:db8:77::"), 48, new NextHop6(1, Server6, RouteOrigin.Static)));
        h.KnowPeer(1, Server6, ServerMac);
        byte[] frame = Frames.Ipv6Frame(h.Mac(0), Client6, Far6, 17, Frames.Udp6(Client6, Far6, 5000, 6000, new byte[20]));

        Forward(h, frame, 3, ServerMac);

        h.KnowPeer(1, Server6, OtherMac);
        Forward(h, frame, 1, OtherMac);

        Assert.True(h.Stack.Nd[1].TryGet(Server6, out var entry));
        h.Stack.Nd[1].Remove(entry, new PacketBuffer[8]);
        h.Receive(0, frame);
        byte[] solicitation = Assert.Single(h.Sent(1));
        Assert.Equal(Ipv6Addresses.MulticastMac(Ipv6Address.SolicitedNode(Server6)), new MacAddress(solicitation));
        Assert.Equal(135, solicitation[54]);

        h.KnowPeer(1, Server6, ServerMac);
        Forward(h, frame, 2, ServerMac);

        Assert.Equal(RouteChange.Deleted, h.Stack.Routes.Delete(Addr6("2001:db8:77::"), 48));
        Assert.Equal(RouteChange.Added, h.Stack.Routes.Add(Addr6("2001:db8:77::"), 48, new NextHop6(1, OtherGateway6, RouteOrigin.Static)));
        h.KnowPeer(1, OtherGateway6, OtherMac);
        Forward(h, frame, 2, OtherMac);
    }

    [Fact]
    public void Forwarding_through_a_gateway_allocates_nothing_per_packet_in_either_family()
    {
        StackHarness h = Router().Started();
        Assert.Equal(RouteChange.Added, h.Stack.Routes.Add(Addr("198.51.100.0"), 24, new NextHop4(1, Server, RouteOrigin.Static)));
        Assert.Equal(RouteChange.Added, h.Stack.Routes.Add(Addr6("2001:db8:77::"), 48, new NextHop6(1, Server6, RouteOrigin.Static)));
        h.KnowPeer(1, Server, ServerMac);
        h.KnowPeer(1, Server6, ServerMac);
        byte[] frame4 = Frames.Ipv4Frame(h.Mac(0), Client, Far, 17, Frames.Udp4(Client, Far, 5000, 6000, 20));
        byte[] frame6 = Frames.Ipv6Frame(h.Mac(0), Client6, Far6, 17, Frames.Udp6(Client6, Far6, 5000, 6000, new byte[20]));

        // The first packet of each family keeps its gateway (an array, once per routing snapshot);
        // the warm-up does that, the measured rounds must not allocate at all.
        long allocated = Allocations.Least(5, () =>
        {
            for (int i = 0; i < 10_000; i++)
            {
                h.Receive(0, frame4);
                h.Receive(0, frame6);
                h.Discard(1);
            }
        });

        Assert.Equal(0, allocated);
        Assert.Equal((1 + 5) * 10_000, h.Count(IpCounter.Forwarded));
        Assert.Equal((1 + 5) * 10_000, h.Count(Ip6Counter.Forwarded));
    }

    [Fact]
    public void What_a_worker_keeps_does_not_hold_a_replaced_routing_snapshot_alive()
    {
        // A snapshot is 32 MiB of tables and more: each worker holding on to an old one after the
        // routes change (its key was the snapshot itself) would be a leak of that much per worker.
        StackHarness h = Router().Started();
        WeakReference old = ForwardThroughGatewayThenDeleteItsRoute(h);
        for (int i = 0; i < 3; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
        Assert.False(old.IsAlive);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference ForwardThroughGatewayThenDeleteItsRoute(StackHarness h)
    {
        Assert.Equal(RouteChange.Added, h.Stack.Routes.Add(Addr("198.51.100.0"), 24, new NextHop4(1, Server, RouteOrigin.Static)));
        h.KnowPeer(1, Server, ServerMac);
        byte[] frame = Frames.Ipv4Frame(h.Mac(0), Client, Far, 17, Frames.Udp4(Client, Far, 5000, 6000, 20));
        Forward(h, frame, 2, ServerMac); // the second through what the worker kept
        var snapshot = new WeakReference(h.Stack.Routes.Current.Ipv4);
        Assert.Equal(RouteChange.Deleted, h.Stack.Routes.Delete(Addr("198.51.100.0"), 24));
        h.Receive(0, frame); // no route now: an ICMP error goes back, nothing is kept
        h.Sent(0);
        Assert.Empty(h.Sent(1));
        return snapshot;
    }

    /// <summary>Forwards <paramref name="frame"/> <paramref name="times"/> times; each must leave port 1 for <paramref name="mac"/>.</summary>
    private static void Forward(StackHarness h, byte[] frame, int times, MacAddress mac)
    {
        for (int i = 0; i < times; i++)
        {
            h.Receive(0, frame);
            byte[] sent = Assert.Single(h.Sent(1));
            Assert.Equal(mac, new MacAddress(sent));
            Assert.Equal(h.Mac(1), new MacAddress(sent.AsSpan(6)));
        }
    }
}
