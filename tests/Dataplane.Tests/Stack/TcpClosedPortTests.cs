using System.Buffers.Binary;
using Dataplane.Buffers;
using Dataplane.Stack;
using Dataplane.Wire;
using static Dataplane.Tests.Stack.StackHarness;

namespace Dataplane.Tests.Stack;

/// <summary>
/// TCP input of a host with no connection for the segment (RFC 9293 3.10.7.1, the CLOSED state),
/// with literal segments in both families: a reset the sender accepts, never a reset for a reset,
/// nothing for a broadcast, malformed segments dropped and counted, resets rate-limited per worker.
/// </summary>
public class TcpClosedPortTests
{
    private const byte Fin = 0x01, Syn = 0x02, Rst = 0x04, Psh = 0x08, Ack = 0x10;

    /// <summary>A TCP segment without options, its checksum over the pseudo-header of its family.</summary>
    private static byte[] Segment(bool ipv6, ushort sourcePort, ushort destinationPort, uint sequence, uint acknowledgment, byte flags, int dataLength = 0, int dataOffsetWords = 5)
    {
        byte[] t = new byte[20 + dataLength];
        BinaryPrimitives.WriteUInt16BigEndian(t, sourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(t.AsSpan(2), destinationPort);
        BinaryPrimitives.WriteUInt32BigEndian(t.AsSpan(4), sequence);
        BinaryPrimitives.WriteUInt32BigEndian(t.AsSpan(8), acknowledgment);
        t[12] = (byte)(dataOffsetWords << 4);
        t[13] = flags;
        BinaryPrimitives.WriteUInt16BigEndian(t.AsSpan(14), 64240);
        for (int i = 20; i < t.Length; i++)
            t[i] = (byte)i;
        ushort sum = ipv6 ? Frames.Checksum6(Client6, Ours6, 6, t) : Frames.Checksum4(Client, Ours, 6, t);
        BinaryPrimitives.WriteUInt16BigEndian(t.AsSpan(16), sum);
        return t;
    }

    private static byte[] Frame(StackHarness h, bool ipv6, byte[] segment)
        => ipv6 ? Frames.Ipv6Frame(h.Mac(0), Client6, Ours6, 6, segment) : Frames.Ipv4Frame(h.Mac(0), Client, Ours, 6, segment);

    /// <summary>The TCP header of a frame the stack sent, checked: addresses swapped, checksum right; returns it.</summary>
    private static byte[] Reset(byte[] frame, bool ipv6)
    {
        int l4 = ipv6 ? 14 + 40 : 14 + 20;
        Assert.Equal(6, ipv6 ? frame[14 + 6] : frame[14 + 9]);
        byte[] tcp = frame.AsSpan(l4).ToArray();
        Assert.Equal(20, tcp.Length);
        if (ipv6)
        {
            Assert.Equal(Ours6, new Ipv6Address(frame.AsSpan(14 + 8)));
            Assert.Equal(Client6, new Ipv6Address(frame.AsSpan(14 + 24)));
            Assert.Equal(0, Frames.Checksum6(Ours6, Client6, 6, tcp));
        }
        else
        {
            Assert.Equal(Ours, new Ipv4Address(frame.AsSpan(14 + 12)));
            Assert.Equal(Client, new Ipv4Address(frame.AsSpan(14 + 16)));
            Assert.Equal(0, Frames.Checksum4(Ours, Client, 6, tcp));
        }
        return tcp;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_syn_to_a_closed_port_is_answered_with_a_reset_acknowledging_it(bool ipv6)
    {
        StackHarness h = Host();

        h.Receive(0, Frame(h, ipv6, Segment(ipv6, 40000, 80, 1000, 0, Syn)));

        byte[] tcp = Reset(Assert.Single(h.Sent(0)), ipv6);
        Assert.Equal(80, BinaryPrimitives.ReadUInt16BigEndian(tcp));
        Assert.Equal(40000, BinaryPrimitives.ReadUInt16BigEndian(tcp.AsSpan(2)));
        Assert.Equal(0u, BinaryPrimitives.ReadUInt32BigEndian(tcp.AsSpan(4)));     // SEQ=0
        Assert.Equal(1001u, BinaryPrimitives.ReadUInt32BigEndian(tcp.AsSpan(8)));  // ACK=SEG.SEQ+SEG.LEN, the SYN counting one
        Assert.Equal(Rst | Ack, tcp[13]);
        Assert.Equal(0x50, tcp[12]);
        Assert.Equal(1, h.Count(TcpCounter.NoPort));
        Assert.Equal(1, h.Count(TcpCounter.ResetsSent));
        Assert.Equal(0, ipv6 ? h.Count(Ip6Counter.NoProtocol) : h.Count(IpCounter.NoProtocol)); // no protocol unreachable any more
        Assert.Equal(0, h.BuffersOutstanding);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_segment_with_an_ack_gets_a_reset_at_the_acknowledged_sequence(bool ipv6)
    {
        StackHarness h = Host();

        h.Receive(0, Frame(h, ipv6, Segment(ipv6, 40000, 80, 5000, 0xFFFFFFF0, Ack | Psh, dataLength: 100)));

        byte[] tcp = Reset(Assert.Single(h.Sent(0)), ipv6);
        Assert.Equal(0xFFFFFFF0u, BinaryPrimitives.ReadUInt32BigEndian(tcp.AsSpan(4))); // SEQ=SEG.ACK
        Assert.Equal(0u, BinaryPrimitives.ReadUInt32BigEndian(tcp.AsSpan(8)));
        Assert.Equal(Rst, tcp[13]);
    }

    [Fact]
    public void Data_and_a_fin_without_an_ack_are_acknowledged_past_both_and_the_sum_wraps()
    {
        StackHarness h = Host();

        h.Receive(0, Frame(h, false, Segment(false, 40000, 80, 0xFFFFFFFF, 0, Fin, dataLength: 10)));

        byte[] tcp = Reset(Assert.Single(h.Sent(0)), false);
        Assert.Equal(10u, BinaryPrimitives.ReadUInt32BigEndian(tcp.AsSpan(8))); // 0xFFFFFFFF + 10 + 1, modulo 2^32
        Assert.Equal(Rst | Ack, tcp[13]);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_reset_is_never_answered(bool ipv6)
    {
        StackHarness h = Host();

        h.Receive(0, Frame(h, ipv6, Segment(ipv6, 40000, 80, 1, 1, Rst | Ack)));

        Assert.Empty(h.Sent(0));
        Assert.Equal(1, h.Count(TcpCounter.ResetNoPort));
        Assert.Equal(0, h.Count(TcpCounter.ResetsSent));
        Assert.Equal(0, h.BuffersOutstanding);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Malformed_segments_are_dropped_and_counted_by_name(bool ipv6)
    {
        StackHarness h = Host();
        byte[] badSum = Segment(ipv6, 40000, 80, 1, 0, Syn);
        badSum[^1] ^= 0x01;
        byte[] shortOffset = Segment(ipv6, 40000, 80, 1, 0, Syn, dataOffsetWords: 4);
        byte[] longOffset = Segment(ipv6, 40000, 80, 1, 0, Syn, dataOffsetWords: 6);

        h.Receive(0, Frame(h, ipv6, badSum));
        h.Receive(0, Frame(h, ipv6, shortOffset));
        h.Receive(0, Frame(h, ipv6, longOffset));
        h.Receive(0, Frame(h, ipv6, new byte[12]));

        Assert.Empty(h.Sent(0));
        Assert.Equal(1, h.Count(TcpCounter.BadChecksum));
        Assert.Equal(3, h.Count(TcpCounter.BadHeaderLength));
        Assert.Equal(4, h.Count(TcpCounter.Received));
        Assert.Equal(0, h.BuffersOutstanding);
    }

    [Fact]
    public void A_checksum_the_driver_verified_is_not_checked_again()
    {
        StackHarness h = Host();
        byte[] segment = Segment(false, 40000, 80, 1, 0, Syn);
        segment[^1] ^= 0x01; // wrong, but the kernel under the port says it is right

        h.Receive(0, Frame(h, false, segment), OffloadFlags.L4ChecksumVerified);

        Assert.Single(h.Sent(0));
        Assert.Equal(0, h.Count(TcpCounter.BadChecksum));
    }

    [Fact]
    public void A_segment_to_a_broadcast_address_gets_no_reset()
    {
        StackHarness h = Host();
        var broadcast = new Ipv4Address(10, 10, 11, 255);
        byte[] segment = Segment(false, 40000, 80, 1, 0, Syn);
        BinaryPrimitives.WriteUInt16BigEndian(segment.AsSpan(16), 0);
        BinaryPrimitives.WriteUInt16BigEndian(segment.AsSpan(16), Frames.Checksum4(Client, broadcast, 6, segment));

        h.Receive(0, Frames.Ipv4Frame(MacAddress.Broadcast, Client, broadcast, 6, segment));

        Assert.Empty(h.Sent(0));
        Assert.Equal(1, h.Count(TcpCounter.Broadcast));
    }

    [Fact]
    public void Resets_are_rate_limited_per_worker_and_the_bucket_refills()
    {
        StackHarness h = Host();
        for (int i = 0; i < PacketRateLimit.PerSecond + 20; i++)
            h.Receive(0, Frame(h, false, Segment(false, (ushort)(40000 + i), 80, 1, 0, Syn)));

        Assert.Equal(PacketRateLimit.PerSecond, h.Discard(0));
        Assert.Equal(20, h.Count(TcpCounter.ResetsRateLimited));

        h.Advance(TimeSpan.FromSeconds(1));
        h.Receive(0, Frame(h, false, Segment(false, 41000, 80, 1, 0, Syn)));
        Assert.Single(h.Sent(0));
        Assert.Equal(0, h.BuffersOutstanding);
    }

    [Fact]
    public void Answering_a_closed_port_allocates_nothing_in_the_steady_state()
    {
        StackHarness h = Host();
        byte[] frame = Frame(h, false, Segment(false, 40000, 80, 1, 0, Syn | Ack));
        long allocated = SteadyStateAllocation(() =>
        {
            h.Advance(TimeSpan.FromMilliseconds(20)); // keeps the reset bucket from running dry
            h.Receive(0, frame);
            h.Discard(0);
        }, 200);
        Assert.Equal(0, allocated);
    }
}
