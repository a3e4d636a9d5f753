namespace Dataplane.Tests.Simulation;

/// <summary>
/// A seed is a run: the same seed gives the same trace to the last event, which is what makes a
/// failing seed worth its number; and different seeds give different runs.
/// </summary>
[Collection(CpuHeavyCollection.Name)]
public class DeterminismTests
{
    [Fact]
    public void One_seed_run_twice_gives_the_same_trace_and_different_seeds_give_different_ones()
    {
        var fingerprints = new Dictionary<ulong, int>();
        SimSeeds.Run<DeterminismTests>(1000, 10, network =>
        {
            // The UDP scenario on even seeds, the ICMP one on odd ones.
            ulong first = Fingerprint(network);
            var again = new SimulatedNetwork(network.Seed);
            ulong second = Fingerprint(again);
            Assert.True(first == second, $"seed {network.Seed}: trace {first:x16} then {second:x16} ({network.Trace.Count} and {again.Trace.Count} events)");
            Assert.True(fingerprints.TryAdd(first, network.Seed), $"seeds {fingerprints.GetValueOrDefault(first)} and {network.Seed} gave the same trace");
        });
    }

    private static ulong Fingerprint(SimulatedNetwork network)
    {
        if (network.Seed % 2 == 0)
            UdpSimulationTests.Run(network, out _);
        else
            IcmpSimulationTests.Run(network, out _);
        return network.Fingerprint();
    }
}
