using Dataplane.Stack;
using static Dataplane.Tests.Stack.Fragments.IpFragments;
using static Dataplane.Tests.Stack.Frames;
using static Dataplane.Tests.Stack.StackHarness;

namespace Dataplane.Tests.Stack.Fragments;

/// <summary>Reassembly and fragmentation allocate nothing on the managed heap once warm.</summary>
public class FragmentAllocationTests
{
    private const int Rounds = 500;

    /// <summary>Runs <paramref name="frames"/> (one round of input) through the harness <paramref name="rounds"/> times; returns the bytes allocated.</summary>
    private static long Allocated(StackHarness h, byte[][] frames, int rounds, int port = 0)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int r = 0; r < rounds; r++)
        {
            for (int i = 0; i < frames.Length; i++)
                h.Receive(0, frames[i]);
            h.Discard(port);
        }
        return GC.GetAllocatedBytesForCurrentThread() - before;
    }

    /// <summary>
    /// Runs batches of rounds until three in a row allocate nothing, pausing between them past
    /// tiered compilation's delay (100 ms): the runtime allocates while it promotes methods, so a
    /// fixed warm-up is not always enough, and on a loaded machine its background compiler takes
    /// longer still. Bounded by <see cref="WarmUpLimit"/>, a safety net. Returns the rounds run.
    /// </summary>
    private static int WarmUp(Func<int, long> run, int batch)
    {
        int rounds = 0;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        for (int quiet = 0; quiet < 3;)
        {
            Assert.True(clock.Elapsed < WarmUpLimit, $"still allocating after {rounds} rounds and {WarmUpLimit.TotalSeconds} s");
            quiet = run(batch) == 0 ? quiet + 1 : 0;
            rounds += batch;
            Thread.Sleep(150);
        }
        return rounds;
    }

    /// <summary>How long <see cref="WarmUp"/> may take: a bound for a loaded machine, not a measure.</summary>
    private static readonly TimeSpan WarmUpLimit = TimeSpan.FromSeconds(120);

    private static int WarmUp(StackHarness h, byte[][] frames, int port = 0) => WarmUp(rounds => Allocated(h, frames, rounds, port), 100);

    [Fact]
    public void Large_pings_reassembled_and_answered_in_fragments_allocate_nothing()
    {
        var h = Harness();
        byte[][] v4 = [.. FramesFromPeer(Fragments4(Ipv4(Client, Ours, 1, 0x1111, IcmpEcho(8, 1, 1, 4000)), 1480), h.Mac(0), TypeIpv4)];
        byte[][] v6 = [.. FramesFromPeer(Fragments6(Ipv6(Client6, Ours6, 58, Icmp6Echo(Client6, Ours6, 128, 1, 1, 4000)), 1448, id: 77), h.Mac(0), TypeIpv6)];
        byte[][] small = [.. FramesFromPeer(Fragments4(Ipv4(Client, Ours, 1, 0x1112, IcmpEcho(8, 1, 2, 1700)), 1000), h.Mac(0), TypeIpv4)];
        int warm = WarmUp(h, v4) + WarmUp(h, small);
        int warm6 = WarmUp(h, v6);

        Assert.Equal(0, Allocated(h, v4, Rounds));
        Assert.Equal(0, Allocated(h, v6, Rounds));
        Assert.Equal(0, Allocated(h, small, Rounds));
        Assert.Equal(2 * Rounds + warm, h.Count(IpCounter.Reassembled));
        Assert.Equal(Rounds + warm6, h.Count(Ip6Counter.Reassembled));
        Assert.Equal(0, h.BuffersOutstanding);
    }

    [Fact]
    public void Forwarded_datagrams_cut_to_a_smaller_mtu_allocate_nothing()
    {
        var h = Harness(mtu1: 576, forwarding: true);
        byte[] udp = new byte[1400];
        udp[5] = 0x78; // length 1400, the rest zero
        udp[4] = 0x05;
        byte[][] frames = [Ethernet(h.Mac(0), PeerMac, TypeIpv4, Ipv4(Client, Server, 17, 0x2222, udp))];
        int warm = WarmUp(h, frames, port: 1);

        Assert.Equal(0, Allocated(h, frames, Rounds, port: 1));
        Assert.Equal(3 * (Rounds + warm), h.Count(IpCounter.FragmentsCreated));
    }

    [Fact]
    public void Overlapping_and_timed_out_datagrams_allocate_nothing()
    {
        var h = Harness();
        byte[] request = Ipv4(Client, Ours, 1, 0x3333, IcmpEcho(8, 1, 1, 3000));
        byte[][] overlapping =
        [
            Ethernet(h.Mac(0), PeerMac, TypeIpv4, Piece4(request, 0, 1480, more: true)),
            Ethernet(h.Mac(0), PeerMac, TypeIpv4, Piece4(request, 1472, 1480, more: true)),
        ];
        byte[][] incomplete = [Ethernet(h.Mac(0), PeerMac, TypeIpv4, Piece4(request, 0, 1480, more: true))];
        // One round: an overlap discards a datagram, an incomplete one times out with an ICMP error.
        long Round(int rounds)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int r = 0; r < rounds; r++)
            {
                Allocated(h, overlapping, 1);
                h.Advance(TimeSpan.FromSeconds(31)); // the discarded datagram's memory goes
                Allocated(h, incomplete, 1);
                h.Advance(TimeSpan.FromSeconds(31)); // time exceeded
                h.Discard();
            }
            return GC.GetAllocatedBytesForCurrentThread() - before;
        }
        int warm = WarmUp(Round, 20);

        Assert.Equal(0, Round(100));
        Assert.Equal(warm + 100, h.Count(IpCounter.ReassemblyOverlapping));
        Assert.Equal(warm + 100, h.Count(IcmpCounter.ErrorsSent));
        Assert.Equal(0, h.BuffersOutstanding);
    }
}
