using Dataplane.Stack;
using Dataplane.Stack.Apps;
using Dataplane.Stack.Transport;
using Dataplane.Stack.Transport.Tcp;
using Dataplane.Wire;
using static Dataplane.Tests.Simulation.RouterLab;

namespace Dataplane.Tests.Simulation;

/// <summary>
/// TCP between two host stacks across a forwarding one, every link lossy, duplicating, corrupting,
/// reordering and rate-limited as its seed draws it: every byte stream must come back intact and
/// in order, every connection must end, and nothing may be left held. A failing seed is named with
/// the command that replays it (SIM_SEED=N; see <see cref="SimSeeds"/>).
/// </summary>
[Collection(CpuHeavyCollection.Name)]
public class TcpSimulationTests
{
    /// <summary>The echo server's port.</summary>
    public const ushort Port = 7;

    /// <summary>The port of the router's relay to the echo server (<see cref="Run"/> with a relay).</summary>
    public const ushort RelayPort = 8007;

    /// <summary>
    /// One seed: one to three streams of up to 96 KiB each, IPv4 or IPv6, opened in the first
    /// second to an echo server; then time for the slowest to finish and for TIME-WAIT to pass.
    /// With <paramref name="relay"/>, the streams go to a TCP relay on the router (<c>app relay
    /// tcp</c>, splice or copy), which opens its own connection to the echo server for each.
    /// </summary>
    internal static TcpEchoClient Run(SimulatedNetwork network, out bool perfect, int maxBytes = 96 * 1024, RouterLab.Mtus? mtus = null, LinkModel[]? models = null, bool? relaySplice = null)
    {
        perfect = models is not null;
        // Each host's port cuts TCP super-segments (TSO) in half the runs: its TCP then sends up to
        // 45 segments behind one header, and the link sees them one by one. Its own stream, so the
        // other draws of a seed are what they were.
        SimRandom offloads = SimRandom.Stream(network.Seed, "tso");
        bool clientTso = offloads.Chance(0.5), serverTso = offloads.Chance(0.5);
        var lab = new RouterLab(network, models ?? DrawModels(network, out perfect), mtus, clientTso: clientTso, serverTso: serverTso);
        lab.Server.StartTcp(new TcpEchoApp(InetEndpoint.Ipv4(default, Port)));
        lab.Server.StartTcp(new TcpEchoApp(InetEndpoint.Ipv6(default, Port)));
        if (relaySplice is { } splice)
        {
            lab.Router.StartTcp(new TcpRelayApp(InetEndpoint.Ipv4(default, RelayPort), InetEndpoint.Ipv4(lab.ServerAddress, Port), splice));
            lab.Router.StartTcp(new TcpRelayApp(InetEndpoint.Ipv6(default, RelayPort), InetEndpoint.Ipv6(lab.ServerAddress6, Port), splice));
        }
        TcpEchoClient client = lab.Client.StartTcp(new TcpEchoClient());
        SimRandom random = SimRandom.Stream(network.Seed, "tcp streams");
        // Each end with or without SACK (a third of the runs without: RFC 6582's NewReno recovery
        // by duplicate ACKs), each with CUBIC or NewReno.
        foreach (SimulatedNode host in relaySplice is null ? (SimulatedNode[])[lab.Client, lab.Server] : [lab.Client, lab.Server, lab.Router])
        {
            host.Tcp.Sack = !random.Chance(1.0 / 3);
            host.Tcp.Congestion = random.Chance(0.5) ? CongestionAlgorithm.Cubic : CongestionAlgorithm.NewReno;
        }
        int streams = random.Between(1, 3);
        for (int i = 0; i < streams; i++)
        {
            bool v6 = random.Chance(0.5);
            var server = relaySplice is null
                ? v6 ? InetEndpoint.Ipv6(lab.ServerAddress6, Port) : InetEndpoint.Ipv4(lab.ServerAddress, Port)
                : v6 ? InetEndpoint.Ipv6(lab.Router.Address6(0), RelayPort) : InetEndpoint.Ipv4(lab.Router.Address(0), RelayPort);
            byte[] payload = new byte[random.Between(0, maxBytes)];
            random.Fill(payload);
            network.At(SimulatedNetwork.Origin + 500 * Ms + random.NextLong(500 * Ms), lab.Client, () => client.Open(server, payload));
        }
        // Run until every stream ended, then until every connection is gone (TIME-WAIT, and a peer
        // whose last ACKs were lost retransmitting with backoff until the reset of a closed port
        // answers it), each bounded.
        network.Run(SimulatedNetwork.Origin + 1100 * Ms);
        long deadline = network.Now + 900 * Second;
        while (network.Now < deadline && client.Streams.Any(s => s.Socket is not null))
            network.RunFor(1 * Second);
        deadline = network.Now + 1800 * Second;
        while (network.Now < deadline && network.Nodes.Any(n => n.Tcp.ConnectionCount > 0))
            network.RunFor(10 * Second);
        network.RunFor(65 * Second); // and every reassembly a corrupted fragment bit started (60 s at most)
        return client;
    }

    [Fact]
    public void Tcp_streams_echoed_across_a_router_over_impaired_links_arrive_intact_in_order_and_every_connection_ends()
    {
        long bytes = 0, retransmits = 0, corrupted = 0, superFrames = 0;
        SimSeeds.Run<TcpSimulationTests>(1, 500, network =>
        {
            TcpEchoClient client = Run(network, out bool perfect);
            foreach (TcpEchoClient.Stream stream in client.Streams)
            {
                Assert.True(stream.FirstMismatch < 0, $"{stream}: the echo differs from what was sent");
                Assert.True(stream.Finished && stream.Error is null, $"{stream}: did not finish\n{TcpCounters(network)}");
                bytes += stream.Echoed;
            }
            foreach (SimulatedNode node in network.Nodes)
            {
                // No segment larger than the path carries: none refused for DF, none cut in fragments by IPv6.
                Assert.True(node.Counters.Ip[(int)IpCounter.CantFragment] == 0 && node.Counters.Ip6[(int)Ip6Counter.Fragmented] == 0,
                    $"{node} sent a TCP segment larger than its MTU\n{TcpCounters(network)}");
                Assert.True(node.Tcp.ConnectionCount == 0, $"{node} still holds {node.Tcp.ConnectionCount} connections: {Sockets(node)}\n{TcpCounters(network)}");
                if (perfect)
                    Assert.Equal(0, node.Counters.Tcp[(int)TcpCounter.RetransmitTimeouts]);
            }
            network.AssertDrained();
            retransmits += network.Nodes.Sum(n => n.Counters.Tcp[(int)TcpCounter.Retransmitted]);
            corrupted += network.Nodes.Sum(n => n.Counters.Tcp[(int)TcpCounter.BadChecksum]);
            superFrames += network.Nodes.Sum(n => n.SuperFramesSent);
        });
        if (SimSeeds.Replaying)
            return;
        Assert.True(bytes > 0 && retransmits > 0 && corrupted > 0, $"{bytes} bytes echoed, {retransmits} retransmissions, {corrupted} bad checksums: the links did their worst");
        Assert.True(superFrames > 0, "no host sent a super-segment: TSO was never exercised");
    }

    /// <summary>
    /// Issue 14: the same streams through a TCP relay on the router, splicing in half the seeds and
    /// copying in the others, both of its legs as impaired as the seed draws them. The relay's two
    /// connections per stream each recover their own losses; what crosses must still be every byte
    /// in order both ways, the client's FIN must reach the server after the last byte (a
    /// half-close: the echo's answer still flows back), the server's FIN the client, and every
    /// connection on every node must end with nothing held.
    /// </summary>
    [Fact]
    public void Tcp_streams_through_a_splicing_or_copying_relay_over_impaired_links_arrive_intact_and_every_connection_ends()
    {
        long bytes = 0, spliced = 0, sessions = 0;
        SimSeeds.Run<TcpSimulationTests>(1, 300, network =>
        {
            bool splice = SimRandom.Stream(network.Seed, "relay").Chance(0.5);
            TcpEchoClient client = Run(network, out bool perfect, relaySplice: splice);
            SimulatedNode router = network.Nodes.Single(n => n.Name == "router");
            foreach (TcpEchoClient.Stream stream in client.Streams)
            {
                Assert.True(stream.FirstMismatch < 0, $"{stream}: the echo differs from what was sent ({(splice ? "splice" : "copy")})");
                Assert.True(stream.Finished && stream.Error is null, $"{stream}: did not finish ({(splice ? "splice" : "copy")})\n{TcpCounters(network)}");
                bytes += stream.Echoed;
            }
            foreach (SimulatedNode node in network.Nodes)
                Assert.True(node.Tcp.ConnectionCount == 0, $"{node} still holds {node.Tcp.ConnectionCount} connections: {Sockets(node)}\n{TcpCounters(network)}");
            network.AssertDrained();
            spliced += router.Counters.Tcp[(int)TcpCounter.SplicedBytes];
            sessions += router.Counters.Tcp[(int)TcpCounter.RelaySessions];
        });
        if (SimSeeds.Replaying)
            return;
        Assert.True(bytes > 0 && spliced > 0 && sessions > 0, $"{bytes} bytes echoed, {spliced} spliced, {sessions} relay sessions");
    }

    /// <summary>
    /// Issue 14: a relay with <c>idle 2</c> whose far side is gone (an address of the server's link
    /// that nobody has: no ARP answer, its SYNs go nowhere): the session, in which nothing moves,
    /// is reset after its 2 s, in splice mode as in copy mode (a splice session's idle timeout was
    /// its splices', which start only once connected, so it waited for the connect's 127 s),
    /// counted once, and nothing is left held.
    /// </summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void A_relay_session_whose_far_side_never_answers_is_reset_at_its_idle_timeout(bool splice)
    {
        var network = new SimulatedNetwork(1);
        var lab = new RouterLab(network, [LinkModel.Perfect, LinkModel.Perfect, LinkModel.Perfect, LinkModel.Perfect]);
        lab.Router.StartTcp(new TcpRelayApp(InetEndpoint.Ipv4(default, RelayPort), InetEndpoint.Ipv4(new Ipv4Address(10, 10, 12, 9), Port), splice, idleTimeout: 2 * Second));
        TcpEchoClient client = lab.Client.StartTcp(new TcpEchoClient());
        TcpEchoClient.Stream stream = null!;
        network.At(SimulatedNetwork.Origin + 100 * Ms, lab.Client, () => stream = client.Open(InetEndpoint.Ipv4(lab.Router.Address(0), RelayPort), new byte[100]));

        network.Run(SimulatedNetwork.Origin + 100 * Ms + 3 * Second);

        Assert.True(stream.Error == TcpError.Reset, $"{stream}\n{TcpCounters(network)}");
        Assert.Equal(1, lab.Router.Counters.Tcp[(int)TcpCounter.RelayIdleClosed]);
        Assert.Equal(0, lab.Router.Tcp.ConnectionCount);
    }

    /// <summary>
    /// RFC 1191 and RFC 8201: the router's link toward the server carries 1280 bytes, the hosts'
    /// links 1500, so the client's full-sized segments meet a router that answers "fragmentation
    /// needed" (IPv4, they carry DF) or "packet too big" (IPv6); the client lowers its MSS and
    /// sends again, and every stream still arrives whole. Over lossy links too.
    /// </summary>
    [Fact]
    public void A_narrower_link_on_the_path_is_found_by_path_mtu_discovery_and_every_stream_arrives()
    {
        long updates = 0;
        SimSeeds.Run<TcpSimulationTests>(1, 60, network =>
        {
            LinkModel[]? models = network.Seed % 2 == 0 ? [LinkModel.Perfect, LinkModel.Perfect, LinkModel.Perfect, LinkModel.Perfect] : null;
            TcpEchoClient client = Run(network, out _, 96 * 1024, new RouterLab.Mtus(1500, 1500, 1280, 1500), models);
            foreach (TcpEchoClient.Stream stream in client.Streams)
            {
                Assert.True(stream.FirstMismatch < 0, $"{stream}: the echo differs from what was sent");
                Assert.True(stream.Finished && stream.Error is null, $"{stream}: did not finish\n{TcpCounters(network)}");
            }
            network.AssertDrained();
            updates += network.Nodes[0].Counters.Tcp[(int)TcpCounter.PathMtuUpdates];
        });
        if (!SimSeeds.Replaying)
            Assert.True(updates > 0, "no path MTU update: the narrow link was never met");
    }

    /// <summary>
    /// RFC 4987: a SYN flood (spoofed sources, 20,000 SYNs a second for 3 s, far past the
    /// listener's backlog) against the server while a bulk transfer runs: SYN cookies answer what
    /// the queue cannot hold, the server keeps no more than its backlog of half-open connections,
    /// and the transfer keeps at least 80 % of the rate it has without the flood (measured in the
    /// same seed, over links of 100 Mbit/s).
    /// </summary>
    [Fact]
    public void A_syn_flood_during_a_bulk_transfer_engages_syn_cookies_and_leaves_the_transfer_at_speed()
    {
        SimSeeds.Run<TcpSimulationTests>(1, 2, network =>
        {
            long quiet = BulkTime(new SimulatedNetwork(network.Seed), flood: false, out _);
            long flooded = BulkTime(network, flood: true, out SimulatedNode server);
            Assert.True(server.Counters.Tcp[(int)TcpCounter.SynCookiesSent] > 0, "no SYN cookie was sent");
            Assert.True(quiet * 10 >= flooded * 8, $"the transfer took {flooded / 1e6:F1} ms under the flood, {quiet / 1e6:F1} ms without");
        });
    }

    /// <summary>
    /// Buffer auto-tuning lets one stream fill a long, fast path: 200 Mbit/s each way and a 20 ms
    /// round trip, a bandwidth-delay product of 500 kB, eight times the 64 KiB each buffer starts
    /// with (which alone would hold the stream to 26 Mbit/s). 16 MiB go to the echo server and come
    /// back at more than half the link's rate, every byte intact.
    /// </summary>
    [Fact]
    public void One_stream_fills_a_long_fast_path_once_its_buffers_have_tuned_themselves()
    {
        SimSeeds.Run<TcpSimulationTests>(1, 1, network =>
        {
            var link = new LinkModel { RateBitsPerSecond = 200_000_000, QueueFrames = 512, Delay = 5_000_000 };
            var lab = new RouterLab(network, [link, link, link, link], poolBuffers: 8192);
            lab.Server.StartTcp(new TcpEchoApp(InetEndpoint.Ipv4(default, Port)));
            TcpEchoClient client = lab.Client.StartTcp(new TcpEchoClient());
            byte[] payload = new byte[16 << 20];
            SimRandom.Stream(network.Seed, "long fat").Fill(payload);
            long start = SimulatedNetwork.Origin + 500 * Ms;
            network.At(start, lab.Client, () => client.Open(InetEndpoint.Ipv4(lab.ServerAddress, Port), payload));
            network.Run(start + 20 * Second);

            TcpEchoClient.Stream stream = Assert.Single(client.Streams);
            Assert.True(stream.Finished && stream.FirstMismatch < 0, $"{stream}\n{TcpCounters(network)}");
            double mbits = payload.Length * 8.0 / ((stream.FinishedAt - start) / 1e9) / 1e6;
            Assert.True(mbits > 100, $"{mbits:F1} Mbit/s\n{TcpCounters(network)}");
            Assert.True(lab.Server.Counters.Tcp[(int)TcpCounter.ReceiveBufferGrown] > 0);
            Assert.True(lab.Client.Counters.Tcp[(int)TcpCounter.ReceiveBufferGrown] > 0);
        });
    }

    /// <summary>How long 4 MiB take to go to the echo server and back, with or without a SYN flood at the server meanwhile.</summary>
    private static long BulkTime(SimulatedNetwork network, bool flood, out SimulatedNode server)
    {
        var link = new LinkModel { RateBitsPerSecond = 100_000_000, QueueFrames = 256, Delay = 200_000 };
        var lab = new RouterLab(network, [link, link, link, link], poolBuffers: 8192);
        server = lab.Server;
        lab.Server.StartTcp(new TcpEchoApp(InetEndpoint.Ipv4(default, Port)));
        TcpEchoClient client = lab.Client.StartTcp(new TcpEchoClient());
        byte[] payload = new byte[4 << 20];
        SimRandom.Stream(network.Seed, "bulk").Fill(payload);
        long start = SimulatedNetwork.Origin + 500 * Ms;
        network.At(start, lab.Client, () => client.Open(InetEndpoint.Ipv4(lab.ServerAddress, Port), payload));
        if (flood)
        {
            // Spoofed sources on the client's subnet that nobody answers for: the SYN-ACKs die at the router.
            SimRandom random = SimRandom.Stream(network.Seed, "flood");
            MacAddress routerMac = lab.Router.Mac(0);
            for (int i = 0; i < 60_000; i++)
            {
                byte[] syn = new byte[20];
                System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(syn, (ushort)(1024 + random.Next(60000)));
                System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(syn.AsSpan(2), Port);
                System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(syn.AsSpan(4), (uint)random.Next(int.MaxValue));
                syn[12] = 5 << 4;
                syn[13] = 0x02;
                System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(syn.AsSpan(14), 64240);
                var source = new Ipv4Address([10, 10, 11, (byte)(100 + random.Next(100))]);
                System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(syn.AsSpan(16), Stack.Frames.Checksum4(source, lab.ServerAddress, 6, syn));
                byte[] frame = Stack.Frames.Ipv4Frame(routerMac, source, lab.ServerAddress, 6, syn);
                network.At(start + i * 50_000L, lab.Client, () => network.Inject(lab.Client, 0, frame));
            }
        }
        network.Run(start + 60 * Second);
        TcpEchoClient.Stream stream = Assert.Single(client.Streams);
        Assert.True(stream.Finished && stream.FirstMismatch < 0, $"{stream}\n{TcpCounters(network)}");
        Assert.True(server.Tcp.ConnectionCount <= 1024 + 1, $"the server holds {server.Tcp.ConnectionCount} connections");
        return stream.FinishedAt - start;
    }

    /// <summary>The TCP counters of every node that are not zero, for a failure message.</summary>
    internal static string TcpCounters(SimulatedNetwork network) => string.Join('\n', network.Nodes.Select(n =>
        $"  {n} tcp: " + string.Join(", ", Enum.GetValues<TcpCounter>().Where(c => n.Counters.Tcp[(int)c] != 0).Select(c => $"{c} {n.Counters.Tcp[(int)c]}"))));

    /// <summary>The sockets of a node as netstat shows them.</summary>
    internal static string Sockets(SimulatedNode node)
    {
        var sockets = new List<TcpSocketInfo>();
        node.Tcp.Snapshot(sockets);
        return string.Join("; ", sockets.Select(s => $"{s.State} {s.Local} {s.Remote} recv-q {s.ReceiveQueue} send-q {s.SendQueue}"));
    }
}
