using Dataplane.Stack;
using static Dataplane.Tests.Simulation.RouterLab;

namespace Dataplane.Tests.Simulation;

/// <summary>
/// ping (ICMP and ICMPv6 echo) from a client through a forwarding stack to a host stack, over
/// impaired links: requests up to 4000 bytes, so that the server reassembles some into chains and
/// answers them in fragments. Replay a failing seed with SIM_SEED=N (see <see cref="SimSeeds"/>).
/// </summary>
[Collection(CpuHeavyCollection.Name)]
public class IcmpSimulationTests
{
    /// <summary>The scenario of one seed: 30 pings from half a second on, then 65 s for the reassembly timers.</summary>
    internal static Pinger Run(SimulatedNetwork network, out bool perfect)
    {
        var lab = new RouterLab(network, DrawModels(network, out perfect));
        var ping = new Pinger(lab);
        ping.Schedule(SimulatedNetwork.Origin + 500 * Ms, count: 30, maxGap: 30 * Ms, maxData: 4000);
        network.Run(SimulatedNetwork.Origin + 2 * Second + 65 * Second);
        return ping;
    }

    [Fact]
    public void Echo_replies_across_a_router_over_impaired_links_match_their_requests_and_nothing_leaks()
    {
        long sent = 0, replies = 0, chained = 0;
        SimSeeds.Run<IcmpSimulationTests>(1, 200, network =>
        {
            Pinger ping = Run(network, out bool perfect);
            ping.Check(perfect);
            network.AssertDrained();
            sent += ping.Sent;
            replies += ping.Replies;
            SimulatedNode server = network.Nodes[2];
            chained += server.Counters.Icmp[(int)IcmpCounter.EchoReplies] + server.Counters.Icmp6[(int)Icmp6Counter.EchoReplies];
        });
        if (SimSeeds.Replaying)
            return;
        Assert.True(replies > sent / 2, $"{replies} replies to {sent} pings");
        Assert.True(chained > 0);
    }
}
