using Dataplane.Stack;
using static Dataplane.Tests.Stack.Fragments.IpFragments;
using static Dataplane.Tests.Stack.Frames;
using static Dataplane.Tests.Stack.StackHarness;

namespace Dataplane.Tests.Stack.Fragments;

/// <summary>Reassembly and fragmentation allocate nothing on the managed heap once warm.</summary>
public class FragmentAllocationTests
{
    private const int Rounds = 500;

    /// <summary>
    /// Measured windows of each kind of input (<see cref="Allocations.Least"/>): the runtime keeps
    /// promoting methods of these long paths for a while, so more than the usual three.
    /// </summary>
    private const int Windows = 5;

    /// <summary>Runs <paramref name="frames"/> (one round of input) through the harness <paramref name="rounds"/> times.</summary>
    private static void Run(StackHarness h, byte[][] frames, int rounds, int port = 0)
    {
        for (int r = 0; r < rounds; r++)
        {
            for (int i = 0; i < frames.Length; i++)
                h.Receive(0, frames[i]);
            h.Discard(port);
        }
    }

    [Fact]
    public void Large_pings_reassembled_and_answered_in_fragments_allocate_nothing()
    {
        var h = Harness();
        byte[][] v4 = [.. FramesFromPeer(Fragments4(Ipv4(Client, Ours, 1, 0x1111, IcmpEcho(8, 1, 1, 4000)), 1480), h.Mac(0), TypeIpv4)];
        byte[][] v6 = [.. FramesFromPeer(Fragments6(Ipv6(Client6, Ours6, 58, Icmp6Echo(Client6, Ours6, 128, 1, 1, 4000)), 1448, id: 77), h.Mac(0), TypeIpv6)];
        byte[][] small = [.. FramesFromPeer(Fragments4(Ipv4(Client, Ours, 1, 0x1112, IcmpEcho(8, 1, 2, 1700)), 1000), h.Mac(0), TypeIpv4)];

        Assert.Equal(0, Allocations.Least(Windows, () => Run(h, v4, Rounds)));
        Assert.Equal(0, Allocations.Least(Windows, () => Run(h, v6, Rounds)));
        Assert.Equal(0, Allocations.Least(Windows, () => Run(h, small, Rounds)));
        // Every round of the warm-ups and the windows reassembled its datagram.
        Assert.Equal(2 * (1 + Windows) * Rounds, h.Count(IpCounter.Reassembled));
        Assert.Equal((1 + Windows) * Rounds, h.Count(Ip6Counter.Reassembled));
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

        Assert.Equal(0, Allocations.Least(Windows, () => Run(h, frames, Rounds, port: 1)));
        Assert.Equal(3 * (1 + Windows) * Rounds, h.Count(IpCounter.FragmentsCreated));
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
        const int RoundsOfBoth = 100;

        // One round: an overlap discards a datagram, an incomplete one times out with an ICMP error.
        Assert.Equal(0, Allocations.Least(Windows, () =>
        {
            for (int r = 0; r < RoundsOfBoth; r++)
            {
                Run(h, overlapping, 1);
                h.Advance(TimeSpan.FromSeconds(31)); // the discarded datagram's memory goes
                Run(h, incomplete, 1);
                h.Advance(TimeSpan.FromSeconds(31)); // time exceeded
                h.Discard();
            }
        }));
        Assert.Equal((1 + Windows) * RoundsOfBoth, h.Count(IpCounter.ReassemblyOverlapping));
        Assert.Equal((1 + Windows) * RoundsOfBoth, h.Count(IcmpCounter.ErrorsSent));
        Assert.Equal(0, h.BuffersOutstanding);
    }
}
