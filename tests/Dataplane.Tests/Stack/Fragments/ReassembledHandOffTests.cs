using Dataplane.Buffers;
using Dataplane.Engine;
using Dataplane.Stack;
using Dataplane.Stack.Apps;
using Dataplane.Stack.Transport;
using Dataplane.Wire;
using static Dataplane.Tests.Stack.StackHarness;

namespace Dataplane.Tests.Stack.Fragments;

/// <summary>
/// Fragments are steered by addresses alone, so a UDP datagram may come together on a worker that
/// does not own its ports: it goes, whole, to the worker that does, as the engine's hand-off ring
/// would take it (recorded here), and that worker delivers it as any whole datagram.
/// </summary>
public class ReassembledHandOffTests
{
    private sealed class Rings : IFlowHandOff
    {
        public readonly List<(int Owner, PacketBuffer Packet)> Handed = [];

        public void HandOff(int owner, PacketBuffer packet) => Handed.Add((owner, packet));
    }

    private static byte[] Bytes(BufferPool pool, PacketBuffer head)
    {
        var bytes = new List<byte>();
        for (PacketBuffer b = head; b.IsValid; b = new PacketBuffer(pool.Metadata(b).Next))
            bytes.AddRange(pool.Data(b).ToArray());
        return [.. bytes];
    }

    [Theory]
    [InlineData(false, 1000)] // reassembled in one buffer
    [InlineData(true, 1000)]
    [InlineData(false, 3000)] // in a chain
    [InlineData(true, 3000)]
    public void A_datagram_whose_ports_belong_to_another_worker_is_handed_to_it_whole_and_delivered_there(bool ipv6, int size)
    {
        StackHarness here = Host(worker: 0, workers: 2);
        StackHarness there = Host(worker: 1, workers: 2);
        var rings = new Rings();
        here.Context.FlowHandOff = rings;
        InetEndpoint server = ipv6 ? InetEndpoint.Ipv6(Ours6, 7) : InetEndpoint.Ipv4(Ours, 7);
        Assert.Equal(UdpError.None, there.Udp.Start(new UdpEchoApp(ipv6 ? InetEndpoint.Ipv6(Ipv6Address.Any, 7) : InetEndpoint.Ipv4(Ipv4Address.Any, 7))));
        InetEndpoint client = ipv6 ? InetEndpoint.Ipv6(Client6, 0) : InetEndpoint.Ipv4(Client, 0);
        ushort port = 40000;
        while (here.OwnerOf(client.WithPort(port), server) != 1)
            port++;
        byte[] payload = Frames.Payload(size, seed: 9);
        List<byte[]> frames = ipv6
            ? IpFragments.FramesFromPeer(IpFragments.Fragments6(Frames.Ipv6(Client6, Ours6, 17, Frames.Udp6(Client6, Ours6, port, 7, payload)), size < 2000 ? 512 : 1232, 5), here.Mac(0), 0x86DD)
            : IpFragments.FramesFromPeer(IpFragments.Fragments4(Frames.Ipv4(Client, Ours, 17, 77, Frames.Udp4(Client, Ours, port, 7, payload)), size < 2000 ? 512 : 1480), here.Mac(0), 0x0800);
        Assert.True(frames.Count > 1);

        here.Receive(0, frames);

        Assert.Equal(1, ipv6 ? here.Count(Ip6Counter.Reassembled) : here.Count(IpCounter.Reassembled));
        Assert.Equal(0, here.Count(UdpCounter.Received));
        (int owner, PacketBuffer handed) = Assert.Single(rings.Handed);
        Assert.Equal(1, owner);
        // The whole datagram, as the other worker's input takes it from its ring.
        byte[] whole = Bytes(here.Pool, handed);
        OffloadFlags mark = here.Pool.Metadata(handed).Offload;
        Assert.Equal(OffloadFlags.Reassembled, mark);
        byte[] seen = ipv6 ? Frames.CheckUdp6(whole, Client6, port, Ours6, 7) : Frames.CheckUdp4(whole, Client, port, Ours, 7);
        Assert.Equal(payload, seen);
        here.Cache.Release(handed);
        Assert.Equal(0, here.BuffersOutstanding);

        there.ReceiveChained(0, whole, offload: mark); // the buffer travels with its metadata
        Assert.Equal(1, there.Count(UdpCounter.Delivered));
        // Received once, as fragments, where they came in: the whole datagram is not counted again.
        Assert.Equal(frames.Count, ipv6 ? here.Count(Ip6Counter.Received) : here.Count(IpCounter.Received));
        Assert.Equal(0, ipv6 ? there.Count(Ip6Counter.Received) : there.Count(IpCounter.Received));
        Assert.NotEmpty(there.Sent(0)); // the echo, in fragments when it passes the MTU
        Assert.Equal(0, there.BuffersOutstanding);
    }

    [Fact]
    public void A_datagram_whose_ports_belong_here_stays()
    {
        StackHarness h = Host(worker: 0, workers: 2);
        var rings = new Rings();
        h.Context.FlowHandOff = rings;
        Assert.Equal(UdpError.None, h.Udp.Start(new UdpEchoApp(InetEndpoint.Ipv4(Ipv4Address.Any, 7))));
        ushort port = 40000;
        while (h.OwnerOf(InetEndpoint.Ipv4(Client, port), InetEndpoint.Ipv4(Ours, 7)) != 0)
            port++;
        h.Receive(0, IpFragments.FramesFromPeer(IpFragments.Fragments4(Frames.Ipv4(Client, Ours, 17, 78, Frames.Udp4(Client, Ours, port, 7, 3000)), 1480), h.Mac(0), 0x0800));
        Assert.Empty(rings.Handed);
        Assert.Equal(1, h.Count(UdpCounter.Delivered));
        Assert.Equal(3, h.Sent(0).Count); // the echo, in fragments
        Assert.Equal(0, h.BuffersOutstanding);
    }
}
