namespace Dataplane.Native.Tests;

public class EntropyTests
{
    [Fact]
    public void Fill_fills_every_byte_with_fresh_random_bytes()
    {
        // 100 KiB: past getrandom's 256-byte guarantee, so the loop's partial reads are allowed for.
        byte[] a = new byte[100 * 1024], b = new byte[100 * 1024];
        Entropy.Fill(a);
        Entropy.Fill(b);
        Assert.NotEqual(a, b);
        // Every byte value turns up in 100 KiB of random bytes (a 1 in 10^160 miss); an untouched
        // tail of zeros, or a fill of a repeated pattern, would not.
        Assert.Equal(256, a.Distinct().Count());
        Assert.True(a.AsSpan(a.Length - 64).IndexOfAnyExcept((byte)0) >= 0, "the tail was left unfilled");
    }

    [Fact]
    public void An_empty_span_is_nothing_to_fill() => Entropy.Fill([]);
}
