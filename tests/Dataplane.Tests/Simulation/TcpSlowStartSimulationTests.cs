using Dataplane.Stack;
using Dataplane.Stack.Apps;
using Dataplane.Stack.Transport;
using static Dataplane.Tests.Simulation.RouterLab;

namespace Dataplane.Tests.Simulation;

/// <summary>
/// Slow start on a path that never drops: a bottleneck with a queue deeper than the send buffer,
/// as a tap's queue or a packet ring in front of a busy worker is. Every segment's round trip
/// grows with the queue, and that, not a loss, has to end slow start (HyStart's delay detection),
/// or the whole send buffer ends up waiting in the queue, in front of everything else that shares it.
/// </summary>
[Collection(CpuHeavyCollection.Name)]
public class TcpSlowStartSimulationTests
{
    /// <summary>
    /// A 4 MB echo through a router whose link to the server carries 20 Mbit/s behind a queue of
    /// 2000 frames (3 MB: it never overflows), base round trip well under a millisecond. The client's
    /// slow start ends when the queue delays its ACKs by 4 ms: the queue peaks at a few dozen frames
    /// (tens of milliseconds), not at the send buffer's 1 MiB (~700 frames, half a second of
    /// waiting for everything behind it); the echo comes back whole.
    /// </summary>
    [Fact]
    public void Slow_start_without_loss_ends_when_the_queue_it_fills_delays_the_acks()
    {
        SimSeeds.Run<TcpSlowStartSimulationTests>(1, 3, network =>
        {
            var bottleneck = new LinkModel { RateBitsPerSecond = 20_000_000, QueueFrames = 2000, Delay = 50_000 };
            var lab = new RouterLab(network, [LinkModel.Perfect, LinkModel.Perfect, bottleneck, LinkModel.Perfect], poolBuffers: 4096);
            lab.Server.StartTcp(new TcpEchoApp(InetEndpoint.Ipv4(default, TcpSimulationTests.Port)));
            TcpEchoClient client = lab.Client.StartTcp(new TcpEchoClient());
            byte[] payload = new byte[4 << 20];
            SimRandom.Stream(network.Seed, "payload").Fill(payload);
            network.At(SimulatedNetwork.Origin + 1100 * Ms, lab.Client, () => client.Open(InetEndpoint.Ipv4(lab.ServerAddress, TcpSimulationTests.Port), payload));
            long deadline = SimulatedNetwork.Origin + 60 * Second;
            network.Run(SimulatedNetwork.Origin + 1200 * Ms);
            while (network.Now < deadline && client.Streams[0].Socket is not null)
                network.RunFor(100 * Ms);

            TcpEchoClient.Stream stream = client.Streams[0];
            Assert.True(stream.Finished && stream.FirstMismatch < 0, $"{stream}\n{TcpSimulationTests.TcpCounters(network)}");
            LinkDirection queue = lab.Right.Forward;
            Assert.Equal(0, queue.QueueDrops);
            Assert.True(queue.MostQueued <= 100, $"{queue.MostQueued} frames waited at the bottleneck at once: slow start filled the queue with the send buffer\n{TcpSimulationTests.TcpCounters(network)}");
            Assert.True(lab.Client.Counters.Tcp[(int)TcpCounter.SlowStartDelayExits] == 1,
                $"the client's slow start did not end on the delay\n{TcpSimulationTests.TcpCounters(network)}");
        });
    }
}
