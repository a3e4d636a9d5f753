using System.Buffers.Binary;
using Dataplane.Stack;
using Dataplane.Wire;
using static Dataplane.Tests.Stack.Fragments.IpFragments;
using static Dataplane.Tests.Stack.Frames;
using static Dataplane.Tests.Stack.StackHarness;

namespace Dataplane.Tests.Stack.Fragments;

/// <summary>IPv4 fragmentation of forwarded datagrams onto a link with a smaller MTU (RFC 791 3.2, RFC 1812 5.2.6).</summary>
public class Ipv4FragmentationTests
{
    // Security (130, copied into every fragment) and record route (7, first fragment only), with a no-op: 20 bytes.
    private static readonly byte[] Options =
    [
        130, 11, 0xF1, 0x35, 0, 0, 0, 0, 0, 0, 0,
        1,
        7, 7, 4, 0, 0, 0, 0,
        0,
    ];

    private static byte[] Udp(int length)
    {
        byte[] udp = new byte[length];
        BinaryPrimitives.WriteUInt16BigEndian(udp, 40000);
        BinaryPrimitives.WriteUInt16BigEndian(udp.AsSpan(2), 9);
        BinaryPrimitives.WriteUInt16BigEndian(udp.AsSpan(4), (ushort)length);
        for (int i = 8; i < length; i++)
            udp[i] = (byte)(i * 13);
        return udp;
    }

    private static byte[] Frame(StackHarness h, byte[] packet) => Ethernet(h.Mac(0), PeerMac, TypeIpv4, packet);

    [Fact]
    public void A_forwarded_datagram_is_cut_to_the_next_mtu_at_8_byte_boundaries_with_copied_options_in_every_fragment()
    {
        var h = Harness(mtu1: 576, forwarding: true);
        byte[] datagram = Ipv4(Client, Server, 17, 0x4242, Udp(1380), Options);

        h.Receive(0, Frame(h, datagram));

        List<Seen4> sent = [.. h.Sent(1).Select(Read4)];
        Assert.Equal([0, 536, 1080], sent.Select(f => f.Offset));
        Assert.Equal([576, 576, 332], sent.Select(f => f.TotalLength));
        Assert.Equal([40, 32, 32], sent.Select(f => f.HeaderLength));
        Assert.Equal([true, true, false], sent.Select(f => f.More));
        Assert.All(sent, f => Assert.Equal(0x4242, f.Id));
        Assert.All(sent, f => Assert.Equal(63, f.Header[8])); // one hop less
        Assert.All(sent, f => Assert.Equal(ServerMac, new MacAddress(f.Frame)));
        Assert.Equal(Options, sent[0].Header[20..].ToArray());
        Assert.All(sent.Skip(1), f => Assert.Equal([.. Options.AsSpan(0, 11), 0], f.Header[20..].ToArray()));
        // Put back together, it is the datagram sent, one hop older.
        byte[] whole = Reassemble4(sent);
        byte[] expected = Ipv4(Client, Server, 17, 0x4242, Udp(1380), Options, ttl: 63);
        Assert.Equal(expected, whole);
        Assert.Equal(1, h.Count(IpCounter.Forwarded));
        Assert.Equal(1, h.Count(IpCounter.Fragmented));
        Assert.Equal(3, h.Count(IpCounter.FragmentsCreated));
        Assert.Equal(0, h.BuffersOutstanding);
    }

    [Fact]
    public void A_forwarded_fragment_cut_again_keeps_its_offset_and_its_more_fragments_flag_on_the_last_piece()
    {
        var h = Harness(mtu1: 576, forwarding: true);
        // The middle piece of a larger datagram: offset 1480, more to come.
        byte[] fragment = Ipv4(Client, Server, 17, 0x4343, Udp(1000), flagsAndOffset: 0x2000 | 1480 / 8);

        h.Receive(0, Frame(h, fragment));

        List<Seen4> sent = [.. h.Sent(1).Select(Read4)];
        Assert.Equal([1480, 1480 + 552], sent.Select(f => f.Offset));
        Assert.Equal([true, true], sent.Select(f => f.More));
        byte[] data = [.. sent[0].Data, .. sent[1].Data];
        Assert.Equal(fragment.AsSpan(20).ToArray(), data);
    }

    [Fact]
    public void Dont_fragment_is_refused_with_fragmentation_needed_and_the_next_mtu()
    {
        var h = Harness(mtu1: 576, forwarding: true);

        h.Receive(0, Frame(h, Ipv4(Client, Server, 17, 0x4444, Udp(1000), flagsAndOffset: 0x4000)));

        Assert.Empty(h.Sent(1));
        byte[] error = Assert.Single(h.Sent());
        Span<byte> icmp = error.AsSpan(14 + 20);
        Assert.Equal((3, 4), (icmp[0], icmp[1]));
        Assert.Equal(576, BinaryPrimitives.ReadUInt16BigEndian(icmp[6..]));
        Assert.Equal(1, h.Count(IpCounter.CantFragment));
    }

    [Fact]
    public void A_datagram_within_the_mtu_is_forwarded_whole()
    {
        var h = Harness(mtu1: 576, forwarding: true);

        h.Receive(0, Frame(h, Ipv4(Client, Server, 17, 0x4545, Udp(556))));

        Seen4 sent = Read4(Assert.Single(h.Sent(1)));
        Assert.Equal(576, sent.TotalLength);
        Assert.Equal(0, h.Count(IpCounter.Fragmented));
    }
}
