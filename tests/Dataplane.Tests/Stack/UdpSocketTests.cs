using Dataplane.Stack;
using Dataplane.Stack.Transport;
using Dataplane.Wire;
using static Dataplane.Tests.Stack.StackHarness;

namespace Dataplane.Tests.Stack;

/// <summary>The socket operations of one worker's UDP table: bind, connect, send, close, and which socket a datagram finds.</summary>
public class UdpSocketTests
{
    /// <summary>An app that notes every datagram it is given.</summary>
    internal sealed class RecordingApp : UdpApp
    {
        public readonly List<(UdpSocket Socket, InetEndpoint From, InetEndpoint To, byte[] Payload)> Seen = [];
        public int Timers;

        public override string Name => "recording";

        public UdpSocketTable Table => Udp;

        protected override UdpError OnStart() => UdpError.None;

        public override void OnDatagram(UdpSocket socket, ref UdpReceived datagram)
            => Seen.Add((socket, datagram.From, datagram.To, datagram.Payload.ToArray()));

        protected internal override void OnTimer(int payload) => Timers += payload;
    }

    private static (StackHarness H, RecordingApp App) Build(int index = 0, int count = 1)
    {
        var h = Host(index, count);
        var app = new RecordingApp();
        Assert.Equal(UdpError.None, h.Udp.Start(app));
        return (h, app);
    }

    private static InetEndpoint V4(Ipv4Address address, ushort port) => InetEndpoint.Ipv4(address, port);

    [Fact]
    public void Bind_refuses_a_taken_endpoint_an_address_not_ours_the_wrong_family_and_a_second_bind()
    {
        (StackHarness h, RecordingApp app) = Build();
        UdpSocket first = h.Udp.Open(false, app);
        Assert.Equal(UdpError.None, first.Bind(V4(Ours, 5000)));

        Assert.Equal(UdpError.AddressInUse, h.Udp.Open(false, app).Bind(V4(Ours, 5000)));
        Assert.Equal(UdpError.None, h.Udp.Open(false, app).Bind(V4(Ipv4Address.Any, 5000))); // wildcard beside a specific address
        Assert.Equal(UdpError.None, h.Udp.Open(false, app).Bind(V4(Ours, 5000), reusePort: true));
        Assert.Equal(UdpError.AddressNotAvailable, h.Udp.Open(false, app).Bind(V4(Client, 5000)));
        Assert.Equal(UdpError.InvalidArgument, h.Udp.Open(true, app).Bind(V4(Ours, 5001)));
        Assert.Equal(UdpError.InvalidState, first.Bind(V4(Ours, 5002)));
        Assert.Equal(UdpError.None, h.Udp.Open(true, app).Bind(InetEndpoint.Ipv6(Ours6, 5000))); // another family, another port space
    }

    [Fact]
    public void Binding_port_0_takes_an_ephemeral_port()
    {
        (StackHarness h, RecordingApp app) = Build();
        UdpSocket socket = h.Udp.Open(false, app);

        Assert.Equal(UdpError.None, socket.Bind(V4(Ipv4Address.Any, 0)));

        Assert.InRange(socket.Local.Port, UdpSocketTable.EphemeralFirst, ushort.MaxValue);
        Assert.Equal(UdpSocketState.Bound, socket.State);
    }

    [Fact]
    public void A_connected_socket_takes_its_peers_datagrams_ahead_of_a_specific_and_then_a_wildcard_binding()
    {
        (StackHarness h, RecordingApp app) = Build();
        UdpSocket wildcard = h.Udp.Open(false, app);
        UdpSocket specific = h.Udp.Open(false, app);
        UdpSocket connected = h.Udp.Open(false, app);
        Assert.Equal(UdpError.None, wildcard.Bind(V4(Ipv4Address.Any, 5000)));
        Assert.Equal(UdpError.None, specific.Bind(V4(Ours, 5000)));
        Assert.Equal(UdpError.None, connected.Bind(V4(Ours, 5000), reusePort: true));
        Assert.Equal(UdpError.None, connected.Connect(V4(Client, 40001)));
        Ipv4Address broadcast = Addr("10.10.11.255");

        h.Receive(0, Frames.Udp4Frame(h.Mac(0), Client, Ours, 40001, 5000, [1]));
        h.Receive(0, Frames.Udp4Frame(h.Mac(0), Client, Ours, 40002, 5000, [2]));
        h.Receive(0, Frames.Udp4Frame(MacAddress.Broadcast, Client, broadcast, 40001, 5000, [3]));

        Assert.Equal(3, app.Seen.Count);
        Assert.Same(connected, app.Seen[0].Socket);
        Assert.Same(specific, app.Seen[1].Socket);
        Assert.Same(wildcard, app.Seen[2].Socket);
        Assert.Equal(V4(Client, 40002), app.Seen[1].From);
        Assert.Equal(V4(broadcast, 5000), app.Seen[2].To);
        Assert.Equal([2], app.Seen[1].Payload);
        Assert.Empty(h.Sent(0));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Connect_picks_the_source_address_toward_the_peer_and_ports_whose_answers_land_on_this_worker(bool ipv6)
    {
        (StackHarness h, RecordingApp app) = Build(index: 2, count: 4);
        InetEndpoint server = ipv6 ? InetEndpoint.Ipv6(Server6, 9000) : V4(Server, 9000);
        var ports = new HashSet<ushort>();

        for (int i = 0; i < 64; i++)
        {
            UdpSocket socket = h.Udp.Open(ipv6, app);
            Assert.Equal(UdpError.None, socket.Connect(server));
            Assert.Equal(UdpSocketState.Connected, socket.State);
            Assert.Equal(ipv6 ? InetEndpoint.Ipv6(OursRight6, 0).Address : V4(OursRight, 0).Address, socket.Local.Address);
            Assert.InRange(socket.Local.Port, UdpSocketTable.EphemeralFirst, ushort.MaxValue);
            Assert.Equal(2, h.OwnerOf(server, socket.Local));
            Assert.True(ports.Add(socket.Local.Port), "two sockets share a four-tuple");
        }
    }

    [Fact]
    public void Connect_refuses_a_bound_port_whose_answers_would_land_on_another_worker()
    {
        (StackHarness h, RecordingApp app) = Build(index: 1, count: 4);
        InetEndpoint server = V4(Server, 9000);
        ushort port = 5000;
        while (h.OwnerOf(server, V4(OursRight, port)) == 1)
            port++;
        UdpSocket socket = h.Udp.Open(false, app);
        Assert.Equal(UdpError.None, socket.Bind(V4(OursRight, port)));

        Assert.Equal(UdpError.OtherWorker, socket.Connect(server));
    }

    [Fact]
    public void Connect_refuses_peers_that_are_not_one_unicast_endpoint()
    {
        (StackHarness h, RecordingApp app) = Build();
        UdpSocket socket = h.Udp.Open(false, app);

        Assert.Equal(UdpError.InvalidArgument, socket.Connect(V4(Ipv4Address.Broadcast, 9)));
        Assert.Equal(UdpError.InvalidArgument, socket.Connect(V4(Server, 0)));
        Assert.Equal(UdpError.InvalidArgument, socket.Connect(InetEndpoint.Ipv6(Server6, 9)));
        Assert.Equal(UdpError.NetworkUnreachable, socket.Connect(V4(Addr("192.0.2.1"), 9)));
        Assert.Equal(UdpError.None, socket.Connect(V4(Server, 9)));
        Assert.Equal(UdpError.InvalidState, socket.Connect(V4(Server, 10)));
    }

    [Fact]
    public void A_connected_socket_sends_a_copy_of_the_payload_to_its_peer()
    {
        (StackHarness h, RecordingApp app) = Build();
        UdpSocket socket = h.Udp.Open(false, app);
        Assert.Equal(UdpError.None, socket.Connect(V4(Server, 9000)));
        byte[] payload = Frames.Payload(333);

        Assert.Equal(UdpError.None, socket.Send(payload));

        byte[] sent = Assert.Single(h.Sent(1));
        Assert.Equal(payload, Frames.CheckUdp4(sent, OursRight, socket.Local.Port, Server, 9000));
        Assert.Equal(1, socket.Sent);
        Assert.Equal(1, h.Count(UdpCounter.Sent));
    }

    [Fact]
    public void Sendto_from_an_open_socket_binds_it_to_an_ephemeral_port_and_picks_the_source()
    {
        (StackHarness h, RecordingApp app) = Build();
        UdpSocket socket = h.Udp.Open(true, app);

        Assert.Equal(UdpError.None, socket.SendTo(InetEndpoint.Ipv6(Server6, 53), [1, 2, 3]));

        Assert.Equal(UdpSocketState.Bound, socket.State);
        Assert.True(socket.Local.IsUnspecifiedAddress);
        Assert.Equal([1, 2, 3], Frames.CheckUdp6(Assert.Single(h.Sent(1)), OursRight6, socket.Local.Port, Server6, 53));
    }

    [Fact]
    public void Sends_that_cannot_go_say_why_and_are_counted()
    {
        (StackHarness h, RecordingApp app) = Build();
        UdpSocket socket = h.Udp.Open(false, app);

        Assert.Equal(UdpError.InvalidState, socket.Send([1]));
        Assert.Equal(UdpError.InvalidArgument, socket.SendTo(V4(Server, 0), [1]));
        Assert.Equal(UdpError.NetworkUnreachable, socket.SendTo(V4(Addr("192.0.2.1"), 9), [1]));
        Assert.Equal(UdpError.MessageTooLong, socket.SendTo(V4(Server, 9), new byte[ushort.MaxValue - 20 - 8 + 1])); // past what an IPv4 total length holds
        Assert.Empty(h.Sent(1));
        Assert.Equal(3, h.Count(UdpCounter.SendFailed)); // an unconnected send is refused before the stack sees it
    }

    [Fact]
    public void A_closed_socket_leaves_the_table_and_its_port_is_unreachable_again()
    {
        (StackHarness h, RecordingApp app) = Build();
        UdpSocket socket = h.Udp.Open(false, app);
        Assert.Equal(UdpError.None, socket.Bind(V4(Ours, 5000)));
        Assert.Single(h.Sockets());

        socket.Close();
        h.Receive(0, Frames.Udp4Frame(h.Mac(0), Client, Ours, 40000, 5000, [1]));

        Assert.Equal(UdpSocketState.Closed, socket.State);
        Assert.Empty(h.Sockets());
        Assert.Empty(app.Seen);
        Assert.Equal(1, h.Count(UdpCounter.NoPort));
        Assert.Same(socket, h.Udp.Open(false, app)); // pooled
    }

    [Fact]
    public void The_snapshot_shows_each_open_socket_with_its_endpoints()
    {
        (StackHarness h, RecordingApp app) = Build();
        UdpSocket bound = h.Udp.Open(false, app);
        Assert.Equal(UdpError.None, bound.Bind(V4(Ipv4Address.Any, 7)));
        UdpSocket connected = h.Udp.Open(true, app);
        Assert.Equal(UdpError.None, connected.Connect(InetEndpoint.Ipv6(Server6, 9000)));

        List<UdpSocketInfo> sockets = h.Sockets();

        Assert.Equal(2, sockets.Count);
        Assert.Contains(sockets, s => !s.IsIpv6 && s.State == UdpSocketState.Bound && s.Local == V4(Ipv4Address.Any, 7) && s.Remote.IsUnspecifiedAddress);
        Assert.Contains(sockets, s => s.IsIpv6 && s.State == UdpSocketState.Connected && s.Remote == InetEndpoint.Ipv6(Server6, 9000) && s.Local == connected.Local);
    }

    [Fact]
    public void App_timers_come_back_to_the_app_with_their_payload()
    {
        (StackHarness h, RecordingApp app) = Build();

        Assert.True(app.Table.ScheduleTimer(app, 10_000_000, 5));
        h.Advance(TimeSpan.FromMilliseconds(5));
        Assert.Equal(0, app.Timers);
        h.Advance(TimeSpan.FromMilliseconds(10));

        Assert.Equal(5, app.Timers);
    }
}
