using Dataplane.Stack;
using Dataplane.Stack.Transport;
using static Dataplane.Tests.Simulation.RouterLab;

namespace Dataplane.Tests.Simulation;

/// <summary>
/// UDP echo through a forwarding stack between two host stacks, every link lossy, duplicating,
/// corrupting, reordering and rate-limited as its seed draws it. A failing seed is named in the
/// failure with the command that replays it (SIM_SEED=N; see <see cref="SimSeeds"/>).
/// </summary>
[Collection(CpuHeavyCollection.Name)]
public class UdpSimulationTests
{
    /// <summary>
    /// The scenario of one seed: 40 datagrams of IPv4 and IPv6, a third of them in fragments, from
    /// half a second on, then 65 s for every reassembly timer (60 s at most) to run out.
    /// </summary>
    internal static UdpEchoTraffic Run(SimulatedNetwork network, out bool perfect)
    {
        var lab = new RouterLab(network, DrawModels(network, out perfect));
        var udp = new UdpEchoTraffic(lab);
        // Over perfect links the first datagrams only wait for ARP and neighbour discovery (at most
        // ten wait per neighbour), so everything must arrive.
        udp.Schedule(SimulatedNetwork.Origin + 500 * Ms, count: 40, maxGap: 20 * Ms);
        network.Run(udp.LastSend + 65 * Second);
        return udp;
    }

    [Fact]
    public void Udp_datagrams_echoed_across_a_router_over_impaired_links_arrive_intact_or_not_at_all_and_nothing_leaks()
    {
        long sent = 0, echoed = 0, corrupted = 0, badChecksums = 0;
        SimSeeds.Run<UdpSimulationTests>(1, 200, network =>
        {
            UdpEchoTraffic udp = Run(network, out bool perfect);
            udp.Check(perfect);
            network.AssertDrained();
            sent += udp.Sent;
            echoed += udp.Client.Received.Count;
            corrupted += network.Links.Sum(l => l.Forward.Corrupted + l.Backward.Corrupted);
            badChecksums += network.Nodes.Sum(n => n.Counters.Ip[(int)IpCounter.BadChecksum] + n.Counters.Udp[(int)UdpCounter.BadChecksum]
                + n.Counters.Icmp[(int)IcmpCounter.BadChecksum] + n.Counters.Icmp6[(int)Icmp6Counter.BadChecksum]);
        });
        if (SimSeeds.Replaying)
            return;
        // Over all seeds: most datagrams make it back, and the corruption the links did was caught.
        Assert.True(echoed > sent / 2, $"{echoed} of {sent} datagrams came back");
        Assert.True(corrupted > 0 && badChecksums > 0, $"{corrupted} frames corrupted, {badChecksums} bad checksums counted");
    }

    /// <summary>
    /// A host sends a UDP datagram as long as one buffer holds (UdpSendCopy's limit: a 2048-byte
    /// frame); over IPv6 it goes in fragments, and the receiver must take it too, although taking
    /// the fragment header out costs the first buffer 8 bytes of room, so that the datagram becomes
    /// a chain. (The simulation found these dropped as udp.too_large before chains were delivered.)
    /// </summary>
    [Fact]
    public void An_ipv6_datagram_as_long_as_one_buffer_holds_arrives_when_it_came_in_fragments()
    {
        var network = new SimulatedNetwork(1);
        var lab = new RouterLab(network, [LinkModel.Perfect, LinkModel.Perfect, LinkModel.Perfect, LinkModel.Perfect]);
        UdpProbe server = lab.Server.Start(new UdpProbe(UdpEchoTraffic.Port, echo: false));
        UdpProbe client = lab.Client.Start(new UdpProbe(0, echo: false));
        byte[] payload = UdpProbe.Payload(1, lab.Client.Pool.DataRoom - 14 - 40 - 8, SimRandom.Stream(1, "payload"));
        network.At(SimulatedNetwork.Origin + 500 * Ms, lab.Client,
            () => Assert.Equal(UdpError.None, client.SendTo(InetEndpoint.Ipv6(lab.ServerAddress6, UdpEchoTraffic.Port), payload)));
        network.RunFor(1 * Second);

        Assert.Equal(1, lab.Server.Counters.Ip6[(int)Ip6Counter.Reassembled]);
        Assert.Equal(payload, Assert.Single(server.Received).Payload);
    }
}
