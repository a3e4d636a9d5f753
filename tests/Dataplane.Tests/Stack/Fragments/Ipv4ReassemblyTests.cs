using System.Buffers.Binary;
using Dataplane.Stack;
using Dataplane.Stack.Fragments;
using Dataplane.Wire;
using static Dataplane.Tests.Stack.Fragments.IpFragments;
using static Dataplane.Tests.Stack.Frames;
using static Dataplane.Tests.Stack.StackHarness;

namespace Dataplane.Tests.Stack.Fragments;

/// <summary>IPv4 reassembly through a stack worker: ICMP echo requests in fragments, good and bad.</summary>
public class Ipv4ReassemblyTests
{
    private static readonly TimeSpan Second = TimeSpan.FromSeconds(1);

    private static byte[] Request(ushort id, int dataLength = 3000, ushort sequence = 1)
        => Ipv4(Client, Ours, 1, id, IcmpEcho(8, 0x77, sequence, dataLength));

    private static byte[] Frame(StackHarness h, byte[] packet) => Ethernet(h.Mac(0), PeerMac, TypeIpv4, packet);

    private static List<byte[]> Frames(StackHarness h, IEnumerable<byte[]> packets) => FramesFromPeer(packets, h.Mac(0), TypeIpv4);

    /// <summary>Checks <paramref name="sent"/> is the echo reply to <paramref name="request"/>, in fragments or whole; returns the fragments.</summary>
    private static List<Seen4> AssertReply(StackHarness h, byte[] request, List<byte[]> sent)
    {
        Assert.NotEmpty(sent);
        List<Seen4> seen = [.. sent.Select(Read4)];
        foreach (byte[] frame in sent)
        {
            Assert.Equal(PeerMac, new MacAddress(frame));
            Assert.Equal(h.Mac(0), new MacAddress(frame.AsSpan(6)));
        }
        Assert.Single(seen.Select(f => f.Id).Distinct());
        byte[] reply = Reassemble4(seen);
        Assert.Equal(Ours, new Ipv4Address(reply.AsSpan(12)));
        Assert.Equal(Client, new Ipv4Address(reply.AsSpan(16)));
        Assert.Equal(1, reply[9]);
        Assert.Equal(request.Length, reply.Length);
        Assert.Equal(0, reply[20]); // echo reply
        Assert.Equal(0, Checksum(reply.AsSpan(20)));
        Assert.Equal(request.AsSpan(24).ToArray(), reply.AsSpan(24).ToArray()); // identifier, sequence, data
        return seen;
    }

    [Fact]
    public void A_3000_byte_ping_in_three_fragments_is_reassembled_and_answered_in_three_fragments()
    {
        var h = Harness();
        byte[] request = Request(0x1234);

        h.Receive(0, Frames(h, Fragments4(request, 1480)));

        List<Seen4> reply = AssertReply(h, request, h.Sent());
        Assert.Equal([0, 1480, 2960], reply.Select(f => f.Offset));
        Assert.Equal([1500, 1500, 68], reply.Select(f => f.TotalLength));
        Assert.Equal([true, true, false], reply.Select(f => f.More));
        Assert.All(reply, f => Assert.False(f.DontFragment));
        Assert.Equal(3, h.Count(IpCounter.Fragments));
        Assert.Equal(1, h.Count(IpCounter.Reassembled));
        Assert.Equal(1, h.Count(IpCounter.Fragmented));
        Assert.Equal(3, h.Count(IpCounter.FragmentsCreated));
        Assert.Equal(0, h.Count(IpCounter.FragmentsDropped));
        Assert.Equal(1, h.Count(IcmpCounter.EchoReplies));
        Assert.Equal(0, h.Worker.Reassembly.Datagrams);
        Assert.Equal(0, h.BuffersOutstanding);
    }

    [Theory]
    [InlineData(new[] { 2, 1, 0 })]
    [InlineData(new[] { 1, 2, 0 })]
    [InlineData(new[] { 0, 2, 1 })]
    [InlineData(new[] { 2, 0, 1 })]
    public void Fragments_in_any_order_make_the_same_datagram(int[] order)
    {
        var h = Harness();
        byte[] request = Request(0x2345);
        List<byte[]> frames = Frames(h, Fragments4(request, 1480));

        foreach (int i in order)
            h.Receive(0, frames[i]);

        AssertReply(h, request, h.Sent());
        Assert.Equal(1, h.Count(IpCounter.Reassembled));
        Assert.Equal(0, h.BuffersOutstanding);
    }

    [Fact]
    public void A_duplicate_fragment_is_dropped_and_counted_and_the_datagram_still_completes()
    {
        var h = Harness();
        byte[] request = Request(0x3456);
        List<byte[]> frames = Frames(h, Fragments4(request, 1480));

        h.Receive(0, [frames[0], frames[1], frames[1], frames[2]]);

        AssertReply(h, request, h.Sent());
        Assert.Equal(1, h.Count(IpCounter.FragmentsDuplicate));
        Assert.Equal(1, h.Count(IpCounter.FragmentsDropped));
        Assert.Equal(1, h.Count(IpCounter.Reassembled));
        Assert.Equal(0, h.BuffersOutstanding);
    }

    [Fact]
    public void A_datagram_that_fits_one_buffer_is_rebuilt_in_the_first_fragments_buffer()
    {
        var h = Harness();
        byte[] request = Request(0x4567, dataLength: 1700); // 1728 bytes: fits a 2 KiB buffer

        h.Receive(0, Frames(h, Fragments4(request, 1000)));

        List<Seen4> reply = AssertReply(h, request, h.Sent());
        Assert.Equal([1500, 248], reply.Select(f => f.TotalLength)); // the reply passes the MTU: cut again
        Assert.Equal(1, h.Count(IpCounter.Reassembled));
        Assert.Equal(0, h.BuffersOutstanding);
    }

    [Fact]
    public void A_reassembled_ping_within_a_jumbo_mtu_is_answered_whole_in_a_chain()
    {
        var h = Harness(mtu0: 9000);
        byte[] request = Request(0x5678, dataLength: 8000);

        h.Receive(0, Frames(h, Fragments4(request, 1480)));

        List<byte[]> sent = h.Sent();
        Assert.Single(sent);
        List<Seen4> reply = AssertReply(h, request, sent);
        Assert.False(reply[0].More);
        Assert.Equal(0, h.Count(IpCounter.Fragmented));
        Assert.Equal(0, h.BuffersOutstanding);
    }

    [Fact]
    public void Overlapping_fragments_discard_the_datagram_and_its_late_fragments_but_not_other_datagrams()
    {
        var h = Harness();
        byte[] request = Request(0x6789);

        h.Receive(0, Frame(h, Piece4(request, 0, 1480, more: true)));
        h.Receive(0, Frame(h, Piece4(request, 1472, 1480, more: true))); // 8 bytes over the first

        Assert.Equal(1, h.Count(IpCounter.ReassemblyOverlapping));
        Assert.Equal(2, h.Count(IpCounter.FragmentsDropped));
        Assert.Equal(0, h.Worker.Reassembly.FragmentsHeld);

        h.Receive(0, Frame(h, Piece4(request, 1480, 1480, more: true)));
        h.Receive(0, Frame(h, Piece4(request, 2960, 48, more: false)));
        Assert.Equal(2, h.Count(IpCounter.FragmentsAfterDiscard));
        Assert.Empty(h.Sent());

        byte[] other = Request(0x6790);
        h.Receive(0, Frames(h, Fragments4(other, 1480)));
        AssertReply(h, other, h.Sent());
        Assert.Equal(1, h.Count(IpCounter.Reassembled));
        Assert.Equal(0, h.BuffersOutstanding);
    }

    [Fact]
    public void A_fragment_inside_one_held_is_an_overlap_too()
    {
        var h = Harness();
        byte[] request = Request(0x6791);

        h.Receive(0, Frame(h, Piece4(request, 0, 1480, more: true)));
        h.Receive(0, Frame(h, Piece4(request, 8, 16, more: true)));

        Assert.Equal(1, h.Count(IpCounter.ReassemblyOverlapping));
        Assert.Equal(0, h.BuffersOutstanding);
    }

    [Fact]
    public void Two_different_last_fragments_discard_the_datagram_as_malformed()
    {
        var h = Harness();
        byte[] request = Request(0x6792);

        h.Receive(0, Frame(h, Piece4(request, 2960, 48, more: false)));
        h.Receive(0, Frame(h, Piece4(request, 1480, 16, more: false))); // ends before the first's data
        h.Receive(0, Frame(h, Piece4(request, 0, 1480, more: true)));

        Assert.Equal(1, h.Count(IpCounter.FragmentsMalformed));
        Assert.Equal(1, h.Count(IpCounter.FragmentsAfterDiscard));
        Assert.Equal(3, h.Count(IpCounter.FragmentsDropped));
        Assert.Empty(h.Sent());
        Assert.Equal(0, h.BuffersOutstanding);
    }

    [Fact]
    public void More_fragments_than_a_datagram_may_have_discard_it()
    {
        var h = Harness();
        byte[] request = Request(0x789A);
        List<byte[]> pieces = Fragments4(request, 8); // 376 fragments of 8 bytes

        h.Receive(0, Frames(h, pieces));

        Assert.Empty(h.Sent());
        Assert.Equal(1, h.Count(IpCounter.ReassemblyTooManyFragments));
        Assert.Equal(pieces.Count - ReassemblyTable.DefaultMaxFragmentsPerDatagram - 1, h.Count(IpCounter.FragmentsAfterDiscard));
        Assert.Equal(pieces.Count, h.Count(IpCounter.FragmentsDropped));
        Assert.Equal(0, h.BuffersOutstanding);
    }

    [Fact]
    public void Bad_lengths_are_dropped_as_malformed_and_hold_nothing()
    {
        var h = Harness();
        byte[] request = Request(0x89AB);
        byte[] odd = Piece4(request, 0, 100, more: true); // not a multiple of 8 before the last
        byte[] past = Ipv4(Client, Ours, 17, 0x89AC, new byte[100], flagsAndOffset: 8188); // 65504 + 120 > 65535
        byte[] empty = Ipv4(Client, Ours, 17, 0x89AD, [], flagsAndOffset: 0x2000 | 10);

        h.Receive(0, [Frame(h, odd), Frame(h, past), Frame(h, empty)]);

        Assert.Equal(3, h.Count(IpCounter.FragmentsMalformed));
        Assert.Equal(3, h.Count(IpCounter.FragmentsDropped));
        Assert.Equal(0, h.Worker.Reassembly.Datagrams);
        Assert.Empty(h.Sent());
        Assert.Equal(0, h.BuffersOutstanding);
    }

    [Fact]
    public void A_datagram_missing_a_fragment_times_out_after_30_seconds_with_time_exceeded()
    {
        var h = Harness();
        byte[] request = Request(0x9ABC);
        List<byte[]> frames = Frames(h, Fragments4(request, 1480));
        h.Receive(0, [frames[0], frames[2]]);

        h.Advance(29 * Second);
        Assert.Empty(h.Sent());
        Assert.Equal(1, h.Worker.Reassembly.Datagrams);

        h.Advance(Second + TimeSpan.FromMilliseconds(2));
        List<byte[]> sent = h.Sent();
        byte[] error = Assert.Single(sent);
        Seen4 ip = Read4(error);
        Assert.Equal(Ours, new Ipv4Address(error.AsSpan(14 + 12)));
        Assert.Equal(Client, new Ipv4Address(error.AsSpan(14 + 16)));
        Span<byte> icmp = error.AsSpan(14 + ip.HeaderLength);
        Assert.Equal(11, icmp[0]); // time exceeded
        Assert.Equal(1, icmp[1]);  // fragment reassembly time exceeded
        Assert.Equal(0, Checksum(icmp));
        Assert.Equal(frames[0].AsSpan(14, 28).ToArray(), icmp.Slice(8, 28).ToArray()); // quotes the first fragment
        Assert.Equal(2, h.Count(IpCounter.FragmentsTimedOut));
        Assert.Equal(0, h.Worker.Reassembly.Datagrams);
        Assert.Equal(0, h.BuffersOutstanding);
    }

    [Fact]
    public void A_datagram_whose_first_fragment_never_came_times_out_silently()
    {
        var h = Harness();
        byte[] request = Request(0xABCD);
        h.Receive(0, Frames(h, Fragments4(request, 1480).Skip(1)));

        h.Advance(31 * Second);

        Assert.Empty(h.Sent());
        Assert.Equal(2, h.Count(IpCounter.FragmentsTimedOut));
        Assert.Equal(0, h.BuffersOutstanding);
    }

    [Fact]
    public void Past_64_datagrams_the_oldest_are_discarded_and_new_ones_still_complete()
    {
        var h = Harness();
        const int Datagrams = 70;
        for (int i = 0; i < Datagrams; i++)
            h.Receive(0, Frame(h, Piece4(Request((ushort)i), 0, 1480, more: true)));

        Assert.Equal(ReassemblyTable.DefaultMaxDatagrams, h.Worker.Reassembly.Datagrams);
        Assert.Equal(Datagrams - ReassemblyTable.DefaultMaxDatagrams, h.Count(IpCounter.ReassemblyOutOfMemory));
        Assert.Equal(Datagrams - ReassemblyTable.DefaultMaxDatagrams, h.Count(IpCounter.FragmentsDropped));

        // The newest is still there: its other fragments complete it.
        byte[] newest = Request(Datagrams - 1);
        h.Receive(0, Frames(h, Fragments4(newest, 1480).Skip(1)));
        AssertReply(h, newest, h.Sent());
        // The oldest was evicted: its other fragments start over and wait.
        h.Receive(0, Frames(h, Fragments4(Request(0), 1480).Skip(1)));
        Assert.Empty(h.Sent());
        Assert.Equal(h.Worker.Reassembly.FragmentsHeld, h.BuffersOutstanding);
    }

    [Fact]
    public void Past_the_fragment_bound_the_oldest_datagrams_go_and_buffers_held_stay_bounded()
    {
        var h = Harness();
        ReassemblyTable table = h.Worker.Reassembly;
        Assert.Equal(ReassemblyTable.DefaultMaxFragments, table.MaxFragments);
        const int Datagrams = 20, Pieces = 61; // 20 x 60 fragments held would be 1200
        var requests = new List<List<byte[]>>();
        for (int i = 0; i < Datagrams; i++)
            requests.Add(Frames(h, Fragments4(Request((ushort)(100 + i), dataLength: Pieces * 64 - 8), 64)));

        int most = 0;
        foreach (List<byte[]> frames in requests)
        {
            foreach (byte[] frame in frames.Take(Pieces - 1))
            {
                h.Receive(0, frame);
                most = Math.Max(most, table.FragmentsHeld);
            }
        }

        Assert.Equal(table.MaxFragments, most);
        Assert.Equal(3, h.Count(IpCounter.ReassemblyOutOfMemory)); // 1200 - 1024 = 176: three datagrams of 60
        Assert.Equal(table.FragmentsHeld, h.BuffersOutstanding);
        // The newest complete with their last fragment; the evicted oldest do not.
        h.Receive(0, requests[^1][^1]);
        h.Receive(0, requests[0][^1]);
        Assert.Equal(1, h.Count(IpCounter.Reassembled));
        AssertReply(h, Request((ushort)(100 + Datagrams - 1), dataLength: Pieces * 64 - 8), h.Sent());
    }

    [Fact]
    public void Fragments_of_the_same_id_from_another_source_or_protocol_are_another_datagram()
    {
        var h = Harness();
        byte[] request = Request(0xBCDE);
        List<byte[]> pieces = Fragments4(request, 1480);
        byte[] udp = pieces[1].ToArray();
        udp[9] = 17; // same id, addresses, offset: another protocol
        udp[10] = udp[11] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(udp.AsSpan(10), Checksum(udp.AsSpan(0, 20)));

        h.Receive(0, [Frame(h, pieces[0]), Frame(h, udp), Frame(h, pieces[2])]);

        Assert.Empty(h.Sent());
        Assert.Equal(2, h.Worker.Reassembly.Datagrams);
        h.Receive(0, Frame(h, pieces[1]));
        AssertReply(h, request, h.Sent());
    }
}
