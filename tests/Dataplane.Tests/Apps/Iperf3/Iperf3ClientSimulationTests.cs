using Dataplane.Stack.Apps.Iperf3;
using Dataplane.Stack.Transport;
using Dataplane.Tests.Simulation;
using static Dataplane.Tests.Simulation.RouterLab;

namespace Dataplane.Tests.Apps.Iperf3;

/// <summary>
/// <c>ctl iperf3 -c</c>'s client (<see cref="Iperf3ClientApp"/>) against a server that refuses or
/// never answers, on the simulation's clock: it gives up as stock iperf3 does, when it does, in its words.
/// </summary>
[Collection(CpuHeavyCollection.Name)]
public class Iperf3ClientSimulationTests
{
    private const ushort Port = 5201;

    /// <summary>
    /// Starts a client test with <paramref name="args"/> toward the lab's server one second in, runs
    /// until the test is over (a bound of <paramref name="limit"/>), and returns it with how long it took.
    /// </summary>
    private static (Iperf3ClientRun Run, TimeSpan Took) Client(SimulatedNetwork network, RouterLab lab, TimeSpan limit, params string[] args)
    {
        Iperf3ClientOptions options = Iperf3ClientOptions.Parse(["-c", lab.ServerAddress.ToString(), .. args], out string? error)
            ?? throw new ArgumentException(error);
        var run = new Iperf3ClientRun(lab.Client.Worker, options.Parameters, InetEndpoint.Ipv4(lab.ServerAddress, Port),
            options.ConnectTimeoutMilliseconds is int connect ? TimeSpan.FromMilliseconds(connect) : null,
            options.ReceiveTimeoutMilliseconds is int idle ? TimeSpan.FromMilliseconds(idle) : null);
        long start = SimulatedNetwork.Origin + 1 * Second;
        network.At(start, lab.Client, run.Run);
        network.Run(start);
        while (!run.Completed.IsSet && network.Now - start < limit.Ticks * 100)
            network.RunFor(10 * Ms);
        return (run, TimeSpan.FromTicks((network.Now - start) / 100));
    }

    /// <summary>No listener on the server's port: its reset refuses the control connection, and the test ends at once with iperf3's message.</summary>
    [Fact]
    public void A_refused_control_connection_fails_at_once()
    {
        SimSeeds.Run<Iperf3ClientSimulationTests>(1, 1, network =>
        {
            var lab = new RouterLab(network, [LinkModel.Perfect, LinkModel.Perfect, LinkModel.Perfect, LinkModel.Perfect]);
            (Iperf3ClientRun run, TimeSpan took) = Client(network, lab, TimeSpan.FromSeconds(10), "-t", "2");
            Assert.True(run.Completed.IsSet, "the test did not end");
            Assert.Equal("unable to connect to server: Connection refused", run.Error);
            Assert.True(took < TimeSpan.FromMilliseconds(100), $"it took {took}");
        });
    }

    /// <summary>
    /// Nothing reaches the server: the control connection's SYN goes unanswered, and the test ends
    /// when TCP gives up, after the SYN and 6 retransmissions at 1, 2, 4, ... 64 s (127 s, as Linux's
    /// tcp_syn_retries = 6), with "Connection timed out"; not at -t plus a margin.
    /// </summary>
    [Fact]
    public void An_unanswered_control_connection_fails_when_the_syn_retransmissions_run_out()
    {
        SimSeeds.Run<Iperf3ClientSimulationTests>(1, 1, network =>
        {
            var lost = new LinkModel { Loss = 1 };
            var lab = new RouterLab(network, [LinkModel.Perfect, LinkModel.Perfect, lost, LinkModel.Perfect]);
            (Iperf3ClientRun run, TimeSpan took) = Client(network, lab, TimeSpan.FromSeconds(200), "-t", "2");
            Assert.True(run.Completed.IsSet, "the test did not end");
            Assert.Equal("unable to connect to server: Connection timed out", run.Error);
            Assert.InRange(took.TotalSeconds, 127, 128);
        });
    }

    /// <summary>--connect-timeout 1500: the unanswered control connection is given up after 1.5 s, with the same words.</summary>
    [Fact]
    public void An_unanswered_control_connection_fails_at_the_connect_timeout()
    {
        SimSeeds.Run<Iperf3ClientSimulationTests>(1, 1, network =>
        {
            var lost = new LinkModel { Loss = 1 };
            var lab = new RouterLab(network, [LinkModel.Perfect, LinkModel.Perfect, lost, LinkModel.Perfect]);
            (Iperf3ClientRun run, TimeSpan took) = Client(network, lab, TimeSpan.FromSeconds(10), "-t", "2", "--connect-timeout", "1500");
            Assert.True(run.Completed.IsSet, "the test did not end");
            Assert.Equal("unable to connect to server: Connection timed out", run.Error);
            Assert.InRange(took.TotalMilliseconds, 1500, 1520);
        });
    }
}
