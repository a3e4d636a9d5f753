using System.Buffers.Binary;
using Dataplane.Stack;
using Dataplane.Wire;
using static Dataplane.Tests.Stack.Fragments.IpFragments;
using static Dataplane.Tests.Stack.Frames;
using static Dataplane.Tests.Stack.StackHarness;

namespace Dataplane.Tests.Stack.Fragments;

/// <summary>IPv6 reassembly (RFC 8200 4.5, RFC 5722) and source fragmentation through a stack worker.</summary>
public class Ipv6ReassemblyTests
{
    private static readonly TimeSpan Second = TimeSpan.FromSeconds(1);

    private static byte[] Request(int dataLength = 3000, ushort sequence = 1)
        => Ipv6(Client6, Ours6, 58, Icmp6Echo(Client6, Ours6, 128, 0x66, sequence, dataLength));

    private static byte[] Frame(StackHarness h, byte[] packet) => Ethernet(h.Mac(0), PeerMac, TypeIpv6, packet);

    private static List<byte[]> Frames(StackHarness h, IEnumerable<byte[]> packets) => FramesFromPeer(packets, h.Mac(0), TypeIpv6);

    /// <summary>Checks <paramref name="fragments"/> rebuild the echo reply to <paramref name="request"/>.</summary>
    private static void AssertReply(byte[] request, IReadOnlyList<Seen6> fragments)
    {
        byte[] reply = Reassemble6(fragments);
        Assert.Equal(request.Length, reply.Length);
        Assert.Equal(Ours6, new Ipv6Address(reply.AsSpan(8)));
        Assert.Equal(Client6, new Ipv6Address(reply.AsSpan(24)));
        Assert.Equal(58, reply[6]);
        Assert.Equal(129, reply[40]); // echo reply
        Assert.Equal(0, Checksum6(Ours6, Client6, 58, reply.AsSpan(40)));
        Assert.Equal(request.AsSpan(44).ToArray(), reply.AsSpan(44).ToArray());
    }

    /// <summary>The ICMPv6 message of a frame we sent (no extension headers), its checksum checked.</summary>
    private static byte[] Icmp6Of(byte[] frame)
    {
        Assert.Equal(TypeIpv6, BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(12)));
        Assert.Equal(58, frame[14 + 6]);
        byte[] message = frame.AsSpan(14 + 40).ToArray();
        Assert.Equal(0, Checksum6(new Ipv6Address(frame.AsSpan(14 + 8)), new Ipv6Address(frame.AsSpan(14 + 24)), 58, message));
        return message;
    }

    [Fact]
    public void A_3000_byte_ping6_in_fragments_is_reassembled_and_answered_in_source_fragments()
    {
        var h = Harness();
        byte[] request = Request();

        h.Receive(0, Frames(h, Fragments6(request, 1448, id: 0xdead_beef)));

        List<Seen6> reply = [.. h.Sent().Select(Read6)];
        Assert.Equal([0, 1448, 2896], reply.Select(f => f.Offset));
        Assert.Equal([true, true, false], reply.Select(f => f.More));
        Assert.All(reply, f => Assert.True(f.Frame.Length - 14 <= 1500));
        Assert.All(reply, f => Assert.Equal(58, f.Next));
        AssertReply(request, reply);
        Assert.Equal(3, h.Count(Ip6Counter.Fragments));
        Assert.Equal(1, h.Count(Ip6Counter.Reassembled));
        Assert.Equal(1, h.Count(Ip6Counter.Fragmented));
        Assert.Equal(3, h.Count(Ip6Counter.FragmentsCreated));
        Assert.Equal(1, h.Count(Icmp6Counter.EchoReplies));
        Assert.Equal(0, h.BuffersOutstanding);
    }

    [Fact]
    public void Each_fragmented_packet_gets_its_own_identification()
    {
        var h = Harness();
        h.Receive(0, Frames(h, Fragments6(Request(sequence: 1), 1448, id: 1)));
        h.Receive(0, Frames(h, Fragments6(Request(sequence: 2), 1448, id: 2)));

        List<Seen6> sent = [.. h.Sent().Select(Read6)];

        Assert.Equal(6, sent.Count);
        Assert.Equal(2, sent.Select(f => f.Id).Distinct().Count());
        AssertReply(Request(sequence: 1), sent[..3]);
        AssertReply(Request(sequence: 2), sent[3..]);
    }

    [Fact]
    public void Shuffled_fragments_of_a_small_packet_rebuild_it_in_one_buffer()
    {
        var h = Harness();
        byte[] request = Request(dataLength: 1600); // 1648 bytes: fits a buffer
        List<byte[]> frames = Frames(h, Fragments6(request, 512, id: 7));

        h.Receive(0, [frames[3], frames[1], frames[0], frames[2]]);

        List<Seen6> reply = [.. h.Sent().Select(Read6)];
        Assert.Equal(2, reply.Count);
        AssertReply(request, reply);
        Assert.Equal(0, h.BuffersOutstanding);
    }

    [Fact]
    public void An_atomic_fragment_is_processed_as_a_whole_packet()
    {
        var h = Harness();
        byte[] request = Request(dataLength: 56);

        h.Receive(0, Frame(h, Piece6(request, 0, request.Length - 40, more: false, id: 9)));

        byte[] reply = Icmp6Of(Assert.Single(h.Sent()));
        Assert.Equal(129, reply[0]);
        Assert.Equal(0, h.Count(Ip6Counter.Reassembled));
        Assert.Equal(0, h.Worker.Reassembly.Datagrams);
    }

    [Fact]
    public void Overlapping_fragments_discard_the_packet_silently_as_RFC_5722_says()
    {
        var h = Harness();
        byte[] request = Request();

        h.Receive(0, Frame(h, Piece6(request, 0, 1448, more: true, id: 5)));
        h.Receive(0, Frame(h, Piece6(request, 1440, 1448, more: true, id: 5)));
        h.Receive(0, Frame(h, Piece6(request, 2888, 120, more: false, id: 5)));

        Assert.Empty(h.Sent());
        Assert.Equal(1, h.Count(Ip6Counter.ReassemblyOverlapping));
        Assert.Equal(1, h.Count(Ip6Counter.FragmentsAfterDiscard));
        Assert.Equal(3, h.Count(Ip6Counter.FragmentsDropped));
        Assert.Equal(0, h.BuffersOutstanding);

        h.Receive(0, Frames(h, Fragments6(request, 1448, id: 6)));
        AssertReply(request, [.. h.Sent().Select(Read6)]);
    }

    [Fact]
    public void A_fragment_not_a_multiple_of_8_before_the_last_draws_a_parameter_problem_at_the_payload_length()
    {
        var h = Harness();

        h.Receive(0, Frame(h, Piece6(Request(), 0, 100, more: true, id: 3)));

        byte[] error = Icmp6Of(Assert.Single(h.Sent()));
        Assert.Equal(4, error[0]); // parameter problem
        Assert.Equal(0, error[1]); // erroneous header field
        Assert.Equal(4u, BinaryPrimitives.ReadUInt32BigEndian(error.AsSpan(4)));
        Assert.Equal(1, h.Count(Ip6Counter.FragmentsMalformed));
        Assert.Equal(0, h.Worker.Reassembly.Datagrams);
        Assert.Equal(0, h.BuffersOutstanding);
    }

    [Fact]
    public void A_fragment_reaching_past_65535_draws_a_parameter_problem_at_the_fragment_offset()
    {
        var h = Harness();
        byte[] packet = Ipv6(Client6, Ours6, 17, new byte[65528 + 16]);

        h.Receive(0, Frame(h, Piece6(packet, 65528, 16, more: false, id: 4)));

        byte[] error = Icmp6Of(Assert.Single(h.Sent()));
        Assert.Equal(4, error[0]);
        Assert.Equal(0, error[1]);
        Assert.Equal(42u, BinaryPrimitives.ReadUInt32BigEndian(error.AsSpan(4)));
        Assert.Equal(1, h.Count(Ip6Counter.FragmentsMalformed));
        Assert.Equal(0, h.BuffersOutstanding);
    }

    [Fact]
    public void A_packet_missing_a_fragment_times_out_after_60_seconds_with_time_exceeded()
    {
        var h = Harness();
        List<byte[]> frames = Frames(h, Fragments6(Request(), 1448, id: 11));
        h.Receive(0, [frames[0], frames[1]]);

        h.Advance(59 * Second);
        Assert.Empty(h.Sent());

        h.Advance(Second + TimeSpan.FromMilliseconds(2));
        byte[] error = Icmp6Of(Assert.Single(h.Sent()));
        Assert.Equal(3, error[0]); // time exceeded
        Assert.Equal(1, error[1]); // fragment reassembly time exceeded
        Assert.Equal(frames[0].AsSpan(14, 48).ToArray(), error.AsSpan(8, 48).ToArray()); // the first fragment, fragment header and all
        Assert.Equal(2, h.Count(Ip6Counter.FragmentsTimedOut));
        Assert.Equal(0, h.BuffersOutstanding);
    }

    [Fact]
    public void A_packet_whose_first_fragment_never_came_times_out_silently()
    {
        var h = Harness();
        h.Receive(0, Frames(h, Fragments6(Request(), 1448, id: 12).Skip(1)));

        h.Advance(61 * Second);

        Assert.Empty(h.Sent());
        Assert.Equal(2, h.Count(Ip6Counter.FragmentsTimedOut));
        Assert.Equal(0, h.BuffersOutstanding);
    }

    [Fact]
    public void A_duplicate_fragment_is_dropped_and_the_packet_still_completes()
    {
        var h = Harness();
        byte[] request = Request();
        List<byte[]> frames = Frames(h, Fragments6(request, 1448, id: 14));

        h.Receive(0, [frames[2], frames[0], frames[2], frames[1]]);

        AssertReply(request, [.. h.Sent().Select(Read6)]);
        Assert.Equal(1, h.Count(Ip6Counter.FragmentsDuplicate));
        Assert.Equal(1, h.Count(Ip6Counter.FragmentsDropped));
        Assert.Equal(0, h.BuffersOutstanding);
    }

    [Fact]
    public void More_fragments_than_a_packet_may_have_discard_it()
    {
        var h = Harness();
        List<byte[]> pieces = Fragments6(Request(), 8, id: 15); // 376 fragments

        h.Receive(0, Frames(h, pieces));

        Assert.Empty(h.Sent());
        Assert.Equal(1, h.Count(Ip6Counter.ReassemblyTooManyFragments));
        Assert.Equal(pieces.Count, h.Count(Ip6Counter.FragmentsDropped));
        Assert.Equal(0, h.BuffersOutstanding);
    }

    [Fact]
    public void Ipv4_and_ipv6_datagrams_share_the_table_and_its_bounds()
    {
        var h = Harness();
        h.Receive(0, Frame(h, Piece6(Request(), 0, 1448, more: true, id: 13)));
        h.Receive(0, Ethernet(h.Mac(0), PeerMac, TypeIpv4, Piece4(Ipv4(Client, Ours, 1, 13, IcmpEcho(8, 1, 1, 3000)), 0, 1480, more: true)));

        Assert.Equal(2, h.Worker.Reassembly.Datagrams);
        Assert.Equal(2, h.Worker.Reassembly.FragmentsHeld);
    }
}
