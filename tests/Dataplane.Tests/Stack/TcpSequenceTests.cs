using Dataplane.Stack;
using Dataplane.Stack.Ip;
using Dataplane.Stack.Transport.Tcp;
using Dataplane.Wire;

namespace Dataplane.Tests.Stack;

/// <summary>Sequence-number arithmetic across the wrap (RFC 9293 3.4), SipHash-2-4 against the paper's vectors, and RFC 6528 initial sequence numbers.</summary>
public class TcpSequenceTests
{
    [Fact]
    public void Comparisons_hold_across_the_wrap()
    {
        var before = new TcpSequence(0xFFFFFFF0);
        TcpSequence after = before + 0x20; // 0x10, past the wrap
        Assert.Equal(0x10u, after.Value);
        Assert.True(before < after);
        Assert.True(after > before);
        TcpSequence same = new(0xFFFFFFF0);
        Assert.True(before <= same && before >= same && !(before < same));
        Assert.Equal(0x20, after - before);
        Assert.Equal(-0x20, before - after);
        Assert.Equal(after, TcpSequence.Max(before, after));
        Assert.Equal(before, TcpSequence.Min(after, before));
        Assert.Equal(before, after - 0x20);
        // Half the space ahead is "after"; beyond it, "before" (SEQ_LT's rule).
        Assert.True(new TcpSequence(0) < new TcpSequence(0x7FFFFFFF));
        Assert.True(new TcpSequence(0) > new TcpSequence(0x80000001));
    }

    [Theory]
    [InlineData(0xFFFFFFF0u, 0xFFFFFFF0u, 1u, true)]   // the first octet of the window
    [InlineData(0x0000000Fu, 0xFFFFFFF0u, 0x20u, true)] // across the wrap
    [InlineData(0x00000010u, 0xFFFFFFF0u, 0x20u, false)] // one past the end
    [InlineData(0xFFFFFFEFu, 0xFFFFFFF0u, 0x20u, false)] // one before the start
    [InlineData(0x00000000u, 0x00000000u, 0u, false)]   // an empty window takes nothing
    public void A_number_is_in_a_window_from_its_start_up_to_but_not_including_its_end(uint value, uint start, uint size, bool inside)
        => Assert.Equal(inside, new TcpSequence(value).IsInWindow(new TcpSequence(start), size));

    [Theory]
    [InlineData(0, 0x726fdb47dd0e0e31UL)]
    [InlineData(1, 0x74f839c593dc67fdUL)]
    [InlineData(2, 0x0d6c8009d9a94f5aUL)]
    [InlineData(3, 0x85676696d7fb7e2dUL)]
    [InlineData(4, 0xcf2794e0277187b7UL)]
    [InlineData(8, 0x93f5f5799a932462UL)]
    [InlineData(15, 0xa129ca6149be45e5UL)]
    public void SipHash_gives_the_reference_vectors(int length, ulong expected)
    {
        byte[] key = Enumerable.Range(0, 16).Select(i => (byte)i).ToArray();
        byte[] message = Enumerable.Range(0, length).Select(i => (byte)i).ToArray();
        Assert.Equal(expected, new SipHash(key).Hash(message));
    }

    [Fact]
    public void Initial_sequence_numbers_follow_the_clock_for_one_four_tuple_and_differ_between_tuples_and_keys()
    {
        byte[] key = Enumerable.Range(0, 16).Select(i => (byte)(i * 3)).ToArray();
        var isn = new InitialSequenceNumbers(new SipHash(key));
        InetAddress local = InetAddress.Ipv4(new Ipv4Address(10, 0, 0, 1)), remote = InetAddress.Ipv4(new Ipv4Address(10, 0, 0, 2));
        TcpSequence first = isn.For(local, 80, remote, 40000, now: 1_000_000_000);

        // RFC 6528 3: the same four-tuple moves on with M, one step per 4 microseconds.
        Assert.Equal(first + 250, isn.For(local, 80, remote, 40000, now: 1_001_000_000));
        // Another port, another family, another key: numbers a peer cannot derive from the first.
        Assert.NotEqual(first, isn.For(local, 80, remote, 40001, now: 1_000_000_000));
        Assert.NotEqual(first, isn.For(InetAddress.Ipv6(local.Mapped), 80, InetAddress.Ipv6(remote.Mapped), 40000, now: 1_000_000_000));
        key[0] ^= 1;
        Assert.NotEqual(first, new InitialSequenceNumbers(new SipHash(key)).For(local, 80, remote, 40000, now: 1_000_000_000));
    }

    [Fact]
    public void An_initial_sequence_number_allocates_nothing()
    {
        var isn = new InitialSequenceNumbers(SipHash.WithRandomKey());
        InetAddress local = InetAddress.Ipv6(StackHarness.Ours6), remote = InetAddress.Ipv6(StackHarness.Client6);
        long allocated = StackHarness.SteadyStateAllocation(() => isn.For(local, 80, remote, 40000, 123), 1000);
        Assert.Equal(0, allocated);
    }
}
