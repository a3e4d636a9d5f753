using Dataplane.Stack;
using Dataplane.Stack.Transport;
using Dataplane.Wire;
using static Dataplane.Tests.Stack.StackHarness;

namespace Dataplane.Tests.Stack;

/// <summary>
/// UDP splices with the semantics of TCP's (OpenBSD's SO_SPLICE for UDP): whole datagrams move, a
/// maximum and an idle timeout dissolve the splice, a datagram larger than the drain can send is an
/// error that dissolves it rather than a truncation, a closed drain dissolves it; each reason on
/// the source and told to its app; the refusals.
/// </summary>
public class UdpSpliceTests
{
    private const ushort SourcePort = 9000;
    private const ushort FarPort = 9001;

    /// <summary>An app that records what reaches it.</summary>
    private sealed class Recorder : UdpApp
    {
        public List<int> Datagrams { get; } = [];
        public List<SpliceEnd> Ended { get; } = [];
        public override string Name => "recorder";
        public UdpSocketTable Table => Udp;
        protected override UdpError OnStart() => UdpError.None;
        public override void OnDatagram(UdpSocket socket, ref UdpReceived datagram) => Datagrams.Add(datagram.Payload.Length);
        protected internal override void OnSpliceEnded(UdpSocket source, SpliceEnd reason) => Ended.Add(reason);
    }

    /// <summary>A source bound on <paramref name="ipv6"/>'s port 9000 of the left port, a drain connected to the server's port 9001 on the right (IPv4).</summary>
    private static (StackHarness H, Recorder App, UdpSocket Source, UdpSocket Drain) Build(bool ipv6 = false)
    {
        StackHarness h = Host();
        var app = new Recorder();
        Assert.Equal(UdpError.None, h.Udp.Start(app));
        UdpSocket source = app.Table.Open(ipv6, app);
        Assert.Equal(UdpError.None, source.Bind(ipv6 ? InetEndpoint.Ipv6(Ours6, SourcePort) : InetEndpoint.Ipv4(Ours, SourcePort)));
        UdpSocket drain = app.Table.Open(false, app);
        Assert.Equal(UdpError.None, drain.Connect(InetEndpoint.Ipv4(Server, FarPort)));
        h.KnowingPeers();
        return (h, app, source, drain);
    }

    private static void ClientSends(StackHarness h, int length, byte seed = 0) =>
        h.Receive(0, Frames.Udp4Frame(h.Mac(0), Client, Ours, 4000, SourcePort, Frames.Payload(length, seed)));

    [Fact]
    public void The_datagram_that_would_pass_the_maximum_goes_to_the_app_and_ends_the_splice()
    {
        (StackHarness h, Recorder app, UdpSocket source, UdpSocket drain) = Build();
        Assert.Equal(UdpError.None, source.Splice(drain, maxBytes: 250));
        ClientSends(h, 100, 1);
        ClientSends(h, 100, 2);
        Assert.Equal(2, h.Sent(1).Count(f => !Frames.IsNeighborDiscovery(f)));
        ClientSends(h, 100, 3);
        Assert.All(h.Sent(1), f => Assert.True(Frames.IsNeighborDiscovery(f)));
        Assert.Equal([100], app.Datagrams);
        Assert.Equal([SpliceEnd.MaximumReached], app.Ended);
        Assert.Equal((200, SpliceEnd.MaximumReached), (source.SpliceMoved, source.SpliceEnded));
        Assert.Null(source.SpliceDrain);
        Assert.Equal(1, h.Count(UdpCounter.SpliceMaximum));
        Assert.Equal(200, h.Counters.Udp[(int)UdpCounter.SplicedBytes]);
    }

    [Fact]
    public void A_maximum_reached_exactly_ends_the_splice_at_once()
    {
        (StackHarness h, Recorder app, UdpSocket source, UdpSocket drain) = Build();
        Assert.Equal(UdpError.None, source.Splice(drain, maxBytes: 200));
        ClientSends(h, 100);
        ClientSends(h, 100);
        Assert.Equal([SpliceEnd.MaximumReached], app.Ended);
        ClientSends(h, 10);
        Assert.Equal([10], app.Datagrams);
    }

    [Fact]
    public void The_idle_timeout_counts_from_the_last_datagram_moved()
    {
        (StackHarness h, Recorder app, UdpSocket source, UdpSocket drain) = Build();
        Assert.Equal(UdpError.None, source.Splice(drain, idleTimeout: 1_000_000_000));
        h.Advance(TimeSpan.FromMilliseconds(700));
        h.KnowingPeers();
        ClientSends(h, 50);
        h.Advance(TimeSpan.FromMilliseconds(700));
        Assert.NotNull(source.SpliceDrain);
        h.Advance(TimeSpan.FromMilliseconds(700));
        Assert.Null(source.SpliceDrain);
        Assert.Equal([SpliceEnd.IdleTimeout], app.Ended);
        Assert.Equal(1, h.Count(UdpCounter.SpliceIdleTimeout));
    }

    /// <summary>
    /// An IPv6 datagram of 65,510 payload bytes cannot leave as IPv4 (65,507 at most): the splice
    /// dissolves with EMSGSIZE, the datagram is dropped and counted, nothing truncated leaves.
    /// </summary>
    [Fact]
    public void A_datagram_larger_than_the_drain_can_send_dissolves_the_splice_and_is_not_truncated()
    {
        (StackHarness h, Recorder app, UdpSocket source, UdpSocket drain) = Build(ipv6: true);
        Assert.Equal(UdpError.None, source.Splice(drain));
        h.ReceiveChained(0, Frames.Udp6Frame(h.Mac(0), Client6, Ours6, 4000, SourcePort, Frames.Payload(65_510, 7)));
        Assert.All(h.Sent(1), f => Assert.True(Frames.IsNeighborDiscovery(f)));
        Assert.Equal([SpliceEnd.MessageTooLong], app.Ended);
        Assert.Equal(SpliceEnd.MessageTooLong, source.SpliceEnded);
        Assert.Equal(1, h.Count(UdpCounter.SpliceMessageTooLong));
    }

    [Fact]
    public void Closing_the_drain_dissolves_the_splice_and_datagrams_reach_the_app_again()
    {
        (StackHarness h, Recorder app, UdpSocket source, UdpSocket drain) = Build();
        Assert.Equal(UdpError.None, source.Splice(drain));
        drain.Close();
        Assert.Equal([SpliceEnd.DrainGone], app.Ended);
        ClientSends(h, 30);
        Assert.Equal([30], app.Datagrams);
    }

    [Fact]
    public void Splicing_is_refused_for_an_unconnected_drain_a_socket_spliced_already_and_bad_limits()
    {
        (StackHarness h, Recorder app, UdpSocket source, UdpSocket drain) = Build();
        UdpSocket unconnected = app.Table.Open(false, app);
        Assert.Equal(UdpError.InvalidState, source.Splice(unconnected));
        Assert.Equal(UdpError.InvalidArgument, source.Splice(drain, maxBytes: -1));
        Assert.Equal(UdpError.InvalidArgument, source.Splice(drain, idleTimeout: -1));
        Assert.Equal(UdpError.InvalidArgument, source.Splice(source));
        Assert.Equal(UdpError.None, source.Splice(drain));
        Assert.Equal(UdpError.Busy, source.Splice(drain));
        Assert.Equal(UdpError.Busy, unconnected.Splice(drain));
        Assert.Equal(6, h.Count(UdpCounter.SplicesRefused));
        Assert.Equal(UdpError.None, source.Splice(null));
        Assert.Equal(SpliceEnd.Unspliced, source.SpliceEnded);
        Assert.Empty(app.Ended); // the app's own unsplice is not news to it
    }

    /// <summary>
    /// An app that closes every socket it holds when told a splice ended (a relay shutting down),
    /// from the idle sweep: the sweep walked the open sockets while the app closed them under it,
    /// and read a slot the closes had emptied (found in review); now the apps are told after the
    /// sweep, and a socket closed by then is not told.
    /// </summary>
    [Fact]
    public void An_app_closing_every_socket_when_told_an_idle_splice_ended_breaks_nothing()
    {
        StackHarness h = Host();
        var app = new Closer();
        Assert.Equal(UdpError.None, h.Udp.Start(app));
        for (int i = 0; i < 3; i++)
        {
            UdpSocket source = app.Table.Open(false, app);
            Assert.Equal(UdpError.None, source.Bind(InetEndpoint.Ipv4(Ours, (ushort)(SourcePort + i))));
            UdpSocket drain = app.Table.Open(false, app);
            Assert.Equal(UdpError.None, drain.Connect(InetEndpoint.Ipv4(Server, (ushort)(FarPort + i))));
            app.Held.AddRange([source, drain]);
            Assert.Equal(UdpError.None, source.Splice(drain, idleTimeout: 100_000_000));
        }
        Assert.Equal(6, h.Sockets().Count);
        h.Advance(TimeSpan.FromMilliseconds(300));
        Assert.Equal(1, app.Ended);
        Assert.Empty(h.Sockets());
    }

    private sealed class Closer : UdpApp
    {
        public List<UdpSocket> Held { get; } = [];
        public int Ended { get; private set; }
        public override string Name => "closer";
        public UdpSocketTable Table => Udp;
        protected override UdpError OnStart() => UdpError.None;
        public override void OnDatagram(UdpSocket socket, ref UdpReceived datagram) { }
        protected internal override void OnSpliceEnded(UdpSocket source, SpliceEnd reason)
        {
            Ended++;
            foreach (UdpSocket socket in Held)
                socket.Close();
            Held.Clear();
        }
    }
}
