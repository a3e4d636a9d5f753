using Dataplane.Buffers;
using Dataplane.Wire;

namespace Dataplane.Tests.Buffers;

public class FrameChainTests
{
    private readonly BufferPool _pool = new(256);
    private readonly BufferCache _cache;

    public FrameChainTests() => _cache = new BufferCache(_pool);

    // A chain of the given piece lengths holding bytes 0, 1, 2, ... (mod 251).
    private PacketBuffer Chain(params int[] pieces)
    {
        PacketBuffer head = PacketBuffer.None, tail = PacketBuffer.None;
        int at = 0;
        foreach (int piece in pieces)
        {
            Assert.True(_cache.TryAllocate(out PacketBuffer b));
            ref BufferMetadata m = ref _pool.Metadata(b);
            m.DataLength = (ushort)piece;
            m.PacketLength = piece;
            Span<byte> data = _pool.Data(b);
            for (int i = 0; i < piece; i++)
                data[i] = (byte)((at + i) % 251);
            at += piece;
            if (head.IsValid)
                _pool.Metadata(tail).Next = b.Index;
            else
                head = b;
            tail = b;
        }
        _pool.Metadata(head).PacketLength = at;
        _pool.Metadata(head).Segments = (byte)pieces.Length;
        return head;
    }

    private byte[] Bytes(PacketBuffer head)
    {
        var bytes = new List<byte>();
        int segments = 0;
        for (PacketBuffer b = head; b.IsValid; b = new PacketBuffer(_pool.Metadata(b).Next), segments++)
            bytes.AddRange(_pool.Data(b).ToArray());
        Assert.Equal(_pool.Metadata(head).PacketLength, bytes.Count);
        Assert.Equal(_pool.Metadata(head).Segments, segments);
        return [.. bytes];
    }

    private static byte[] Expected(int length) => [.. Enumerable.Range(0, length).Select(i => (byte)(i % 251))];

    private int Outstanding => _pool.Count - _pool.Shared.Count - _cache.Count;

    [Theory]
    [InlineData(new[] { 7, 5, 3, 1000 }, 0, 1015)]
    [InlineData(new[] { 7, 5, 3, 1000 }, 3, 1000)]
    [InlineData(new[] { 1, 1, 1, 1, 2000 }, 1, 2003)]
    [InlineData(new[] { 2000, 1999, 3 }, 5, 3990)]
    public void A_sum_over_pieces_of_odd_lengths_equals_the_sum_over_one_span(int[] pieces, int at, int length)
    {
        PacketBuffer head = Chain(pieces);
        byte[] all = Bytes(head);
        ulong expected = InternetChecksum.FoldToUInt16(InternetChecksum.Add(12345, all.AsSpan(at, length)));
        Assert.Equal(expected, InternetChecksum.FoldToUInt16(FrameChain.Sum(_pool, head, at, length, 12345)));
        _cache.Release(head);
    }

    [Fact]
    public void A_pull_up_moves_the_bytes_into_the_first_buffer_and_gives_back_the_emptied_ones()
    {
        PacketBuffer head = Chain(10, 4, 6, 500);
        Assert.True(FrameChain.TryPullUp(_cache, head, 100));
        Assert.Equal(100, _pool.Metadata(head).DataLength);
        Assert.Equal(2, _pool.Metadata(head).Segments);
        Assert.Equal(Expected(520), Bytes(head));
        Assert.False(FrameChain.TryPullUp(_cache, head, 521)); // longer than the frame
        _cache.Release(head);
        Assert.Equal(0, Outstanding);
    }

    [Fact]
    public void A_trim_cuts_the_chain_and_gives_back_the_buffers_past_the_end()
    {
        PacketBuffer head = Chain(100, 100, 100, 100);
        FrameChain.Trim(_cache, head, 150);
        Assert.Equal(Expected(150), Bytes(head));
        FrameChain.Trim(_cache, head, 60);
        Assert.Equal(Expected(60), Bytes(head));
        _cache.Release(head);
        Assert.Equal(0, Outstanding);
    }

    [Fact]
    public void Read_and_copy_cross_the_buffers()
    {
        PacketBuffer head = Chain(3, 700, 5, 900);
        byte[] into = new byte[1000];
        FrameChain.Read(_pool, head, 2, into);
        Assert.Equal(Expected(1002)[2..], into);
        Assert.True(FrameChain.TryAllocate(_cache, 1200, out PacketBuffer copy));
        FrameChain.Copy(_pool, head, 1, copy, 100, 1000);
        Assert.Equal(Expected(1001)[1..], Bytes(copy).AsSpan(100, 1000).ToArray());
        _cache.Release(head);
        _cache.Release(copy);
        Assert.Equal(0, Outstanding);
    }
}
