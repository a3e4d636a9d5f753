using BenchmarkDotNet.Attributes;
using Dataplane.Bench;

namespace Dataplane.Benchmarks;

/// <summary>
/// IP forwarding through the whole stack under the JIT: the rig of <c>dataplane bench forward</c>
/// (<see cref="ForwardingRig"/>: two memory ports cabled back to back, 1,000 routes per family,
/// 64-byte frames, 1,024 in flight per worker, every packet checked forwarded), timed by
/// BenchmarkDotNet. One operation is one packet forwarded; Mpps per core = 1000 / Mean(ns) /
/// Workers (the Mpps/core column). The shipped binary's figure comes from the binary itself.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(MppsPerCoreConfig))]
public class ForwardingBenchmarks
{
    private const int PacketsPerInvoke = 1_000_000;

    private ForwardingRig _rig = null!;

    /// <summary>The address family of the frames.</summary>
    public enum IpFamily
    {
        /// <summary>IPv4 + UDP.</summary>
        Ipv4,

        /// <summary>IPv6 + UDP.</summary>
        Ipv6,
    }

    /// <summary>Worker cores.</summary>
    [Params(1, 2)]
    public int Workers { get; set; }

    /// <summary>IPv4 or IPv6 frames (the table holds 1,000 routes of each family either way).</summary>
    [Params(IpFamily.Ipv4, IpFamily.Ipv6)]
    public IpFamily Family { get; set; }

    /// <summary>The router and its frames, warmed up and checked.</summary>
    [GlobalSetup]
    public void Setup() => _rig = new ForwardingRig(Workers, Family == IpFamily.Ipv4 ? ForwardingFamily.Ipv4 : ForwardingFamily.Ipv6);

    /// <summary>Forwarding, packet by packet through the per-core loop and the stack; worker 0 on this thread, the others on theirs.</summary>
    [Benchmark(OperationsPerInvoke = PacketsPerInvoke)]
    public long Forward() => _rig.Forward(PacketsPerInvoke);

    /// <summary>Stops the helper threads, and fails the run if a packet was dropped while measuring.</summary>
    [GlobalCleanup]
    public void Cleanup() => _rig.Dispose();
}
