using System.Buffers.Binary;
using Dataplane.Stack;
using Dataplane.Stack.Apps;
using Dataplane.Stack.Transport;
using Dataplane.Wire;
using static Dataplane.Tests.Stack.StackHarness;

namespace Dataplane.Tests.Stack;

/// <summary>
/// <c>app relay udp</c> on worker 2 of 4, in copy and splice mode: sessions, both directions, the far
/// side's port landing on the worker, expiry, the bound on sessions, allocations.
/// </summary>
public class UdpRelayTests
{
    private const ushort ListenPort = 9000;
    private const ushort FarPort = 9001;
    private static readonly InetEndpoint Listen = InetEndpoint.Ipv4(Ours, ListenPort);

    private static (StackHarness H, UdpRelayApp Relay) Build(bool splice, bool ipv6Far = false, int maxSessions = UdpRelayApp.DefaultMaxSessions, long idleTimeout = UdpRelayApp.DefaultIdleTimeout)
    {
        var h = Host(worker: 2, workers: 4);
        InetEndpoint far = ipv6Far ? InetEndpoint.Ipv6(Server6, FarPort) : InetEndpoint.Ipv4(Server, FarPort);
        var relay = new UdpRelayApp(InetEndpoint.Ipv4(Ipv4Address.Any, ListenPort), far, splice, maxSessions, idleTimeout);
        Assert.Equal(UdpError.None, h.Udp.Start(relay));
        return (h, relay);
    }

    /// <summary>Sends <paramref name="payload"/> from the client port to the relay and returns the far side's local port it went out from.</summary>
    private static ushort ClientSends(StackHarness h, ushort clientPort, byte[] payload, bool ipv6Far = false)
    {
        h.Receive(0, Frames.Udp4Frame(h.Mac(0), Client, Ours, clientPort, ListenPort, payload));
        byte[] sent = Assert.Single(h.Sent(1));
        ushort farLocal = BinaryPrimitives.ReadUInt16BigEndian(sent.AsSpan(ipv6Far ? 54 : 34));
        byte[] moved = ipv6Far
            ? Frames.CheckUdp6(sent, OursRight6, farLocal, Server6, FarPort)
            : Frames.CheckUdp4(sent, OursRight, farLocal, Server, FarPort);
        Assert.Equal(payload, moved);
        return farLocal;
    }

    private static void ServerAnswers(StackHarness h, ushort farLocal, ushort clientPort, byte[] payload, bool ipv6Far = false)
    {
        h.Receive(1, ipv6Far
            ? Frames.Udp6Frame(h.Mac(1), Server6, OursRight6, FarPort, farLocal, payload)
            : Frames.Udp4Frame(h.Mac(1), Server, OursRight, FarPort, farLocal, payload));
        Assert.Equal(payload, Frames.CheckUdp4(Assert.Single(h.Sent(0)), Ours, ListenPort, Client, clientPort));
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public void A_session_moves_datagrams_both_ways_from_a_far_port_whose_answers_land_on_this_worker(bool splice, bool ipv6Far)
    {
        (StackHarness h, UdpRelayApp relay) = Build(splice, ipv6Far);
        ushort clientPort = h.ClientPortLandingHere(InetEndpoint.Ipv4(Client, 0), Listen);

        ushort farLocal = ClientSends(h, clientPort, Frames.Payload(100, 1), ipv6Far);
        Assert.Equal(farLocal, ClientSends(h, clientPort, Frames.Payload(1, 2), ipv6Far));
        ServerAnswers(h, farLocal, clientPort, Frames.Payload(70, 3), ipv6Far);
        ServerAnswers(h, farLocal, clientPort, [], ipv6Far);

        Assert.InRange(farLocal, UdpSocketTable.EphemeralFirst, ushort.MaxValue);
        InetEndpoint far = ipv6Far ? InetEndpoint.Ipv6(Server6, FarPort) : InetEndpoint.Ipv4(Server, FarPort);
        InetEndpoint local = ipv6Far ? InetEndpoint.Ipv6(OursRight6, farLocal) : InetEndpoint.Ipv4(OursRight, farLocal);
        Assert.Equal(2, h.OwnerOf(far, local));
        Assert.Equal(1, relay.SessionCount);
        Assert.Equal(1, h.Count(UdpCounter.RelaySessions));
        Assert.Equal(splice ? 3 : 0, h.Count(UdpCounter.Spliced)); // all but the first, which opened the session
        Assert.Equal(4, h.Count(UdpCounter.Sent));
        Assert.Equal(3, h.Sockets().Count); // the listener, and the session's two
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void An_ipv6_client_is_relayed_to_an_ipv4_far_end_and_back(bool splice)
    {
        var h = Host(worker: 2, workers: 4);
        var relay = new UdpRelayApp(InetEndpoint.Ipv6(Ipv6Address.Any, ListenPort), InetEndpoint.Ipv4(Server, FarPort), splice);
        Assert.Equal(UdpError.None, h.Udp.Start(relay));
        InetEndpoint listen6 = InetEndpoint.Ipv6(Ours6, ListenPort);
        ushort clientPort = h.ClientPortLandingHere(InetEndpoint.Ipv6(Client6, 0), listen6);
        ushort farLocal = 0;

        for (int i = 0; i < 2; i++)
        {
            byte[] up = Frames.Payload(40 + i, (byte)i);
            h.Receive(0, Frames.Udp6Frame(h.Mac(0), Client6, Ours6, clientPort, ListenPort, up));
            byte[] sent = Assert.Single(h.Sent(1));
            farLocal = BinaryPrimitives.ReadUInt16BigEndian(sent.AsSpan(34));
            Assert.Equal(up, Frames.CheckUdp4(sent, OursRight, farLocal, Server, FarPort));
            byte[] down = Frames.Payload(90 + i, (byte)(10 + i));
            h.Receive(1, Frames.Udp4Frame(h.Mac(1), Server, OursRight, FarPort, farLocal, down));
            Assert.Equal(down, Frames.CheckUdp6(Assert.Single(h.Sent(0)), Ours6, ListenPort, Client6, clientPort));
        }

        Assert.Equal(1, relay.SessionCount);
        Assert.Equal(splice ? 3 : 0, h.Count(UdpCounter.Spliced));
        Assert.Equal(2, h.OwnerOf(InetEndpoint.Ipv4(Server, FarPort), InetEndpoint.Ipv4(OursRight, farLocal)));
    }

    [Fact]
    public void Each_client_gets_its_own_session_and_far_port()
    {
        (StackHarness h, UdpRelayApp relay) = Build(splice: false);
        ushort a = h.ClientPortLandingHere(InetEndpoint.Ipv4(Client, 0), Listen);
        ushort b = h.ClientPortLandingHere(InetEndpoint.Ipv4(Client, 0), Listen, (ushort)(a + 1));

        ushort farA = ClientSends(h, a, [1]);
        ushort farB = ClientSends(h, b, [2]);
        ServerAnswers(h, farB, b, [3]);
        ServerAnswers(h, farA, a, [4]);

        Assert.NotEqual(farA, farB);
        Assert.Equal(2, relay.SessionCount);
    }

    [Fact]
    public void Sessions_expire_after_the_idle_timeout_and_the_client_then_gets_a_new_one()
    {
        (StackHarness h, UdpRelayApp relay) = Build(splice: true, idleTimeout: 2_000_000_000);
        ushort clientPort = h.ClientPortLandingHere(InetEndpoint.Ipv4(Client, 0), Listen);
        ushort farLocal = ClientSends(h, clientPort, [1]);

        h.Advance(TimeSpan.FromSeconds(1));
        ServerAnswers(h, farLocal, clientPort, [2]); // traffic either way keeps it
        h.Advance(TimeSpan.FromSeconds(1.5));
        Assert.Equal(1, relay.SessionCount);
        h.Advance(TimeSpan.FromSeconds(1));

        Assert.Equal(0, relay.SessionCount);
        Assert.Equal(1, h.Count(UdpCounter.RelaySessionsExpired));
        Assert.Single(h.Sockets()); // the listener
        // The far side's port is closed now: port unreachable.
        h.Receive(1, Frames.Udp4Frame(h.Mac(1), Server, OursRight, FarPort, farLocal, [3]));
        Assert.Equal(1, Assert.Single(h.Sent(1))[23]); // ICMP
        Assert.Equal(1, h.Count(UdpCounter.NoPort));
        ClientSends(h, clientPort, [4]);
        Assert.Equal(1, relay.SessionCount);
        Assert.Equal(2, h.Count(UdpCounter.RelaySessions));
    }

    [Fact]
    public void Clients_beyond_the_bound_on_sessions_are_dropped_and_counted()
    {
        (StackHarness h, UdpRelayApp relay) = Build(splice: false, maxSessions: 2);
        ushort port = 40000;
        for (int i = 0; i < 3; i++)
        {
            port = h.ClientPortLandingHere(InetEndpoint.Ipv4(Client, 0), Listen, (ushort)(port + 1));
            h.Receive(0, Frames.Udp4Frame(h.Mac(0), Client, Ours, port, ListenPort, [(byte)i]));
        }

        Assert.Equal(2, h.Sent(1).Count);
        Assert.Equal(2, relay.SessionCount);
        Assert.Equal(1, h.Count(UdpCounter.RelaySessionsRefused));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_relay_allocates_nothing_per_datagram_once_the_session_is_open(bool splice)
    {
        (StackHarness h, _) = Build(splice);
        ushort clientPort = h.ClientPortLandingHere(InetEndpoint.Ipv4(Client, 0), Listen);
        ushort farLocal = ClientSends(h, clientPort, [0]);
        byte[] up = Frames.Udp4Frame(h.Mac(0), Client, Ours, clientPort, ListenPort, Frames.Payload(200));
        byte[] down = Frames.Udp4Frame(h.Mac(1), Server, OursRight, FarPort, farLocal, Frames.Payload(300));

        long allocated = SteadyStateAllocation(() => RoundTrip(h, up, down), 50_000);

        Assert.Equal(0, allocated);
        Assert.Equal(h.Count(UdpCounter.Received), h.Count(UdpCounter.Sent)); // every datagram each way went on
        Assert.Equal(0, h.Count(UdpCounter.SendFailed) + h.Count(UdpCounter.NoPort));
    }

    private static void RoundTrip(StackHarness h, byte[] up, byte[] down)
    {
        // No asserts in here: they may allocate. The count of datagrams sent says it all afterwards.
        h.Receive(0, up);
        h.Discard(1);
        h.Receive(1, down);
        h.Discard(0);
    }
}
