namespace Dataplane.Tests.Simulation;

/// <summary>
/// The simulation's random numbers: xoshiro256** (Blackman and Vigna, "Scrambled linear
/// pseudorandom number generators", 2021), seeded through SplitMix64 as its authors advise. Written
/// out here rather than taken from System.Random so that what a seed draws is fixed by this file,
/// not by a runtime version. Every part of a run (each direction of each link, each node's stack,
/// each scenario's traffic) draws from a stream of its own, named by <see cref="Stream"/>, so that a
/// draw added in one place does not shift every other.
/// </summary>
internal sealed class SimRandom
{
    private ulong _s0, _s1, _s2, _s3;

    /// <summary>A generator whose whole sequence follows from <paramref name="seed"/>.</summary>
    public SimRandom(ulong seed)
    {
        ulong x = seed;
        _s0 = SplitMix64(ref x);
        _s1 = SplitMix64(ref x);
        _s2 = SplitMix64(ref x);
        _s3 = SplitMix64(ref x);
    }

    /// <summary>The stream <paramref name="name"/> of the run of <paramref name="seed"/>.</summary>
    public static SimRandom Stream(int seed, string name) => new(StreamSeed(seed, name));

    /// <summary>The 64-bit seed of stream <paramref name="name"/> of the run of <paramref name="seed"/> (FNV-1a of the name, mixed with the seed).</summary>
    public static ulong StreamSeed(int seed, string name)
    {
        ulong h = 0xCBF29CE484222325;
        foreach (char c in name)
            h = (h ^ c) * 0x100000001B3;
        ulong x = h ^ (ulong)(uint)seed * 0x9E3779B97F4A7C15;
        return SplitMix64(ref x);
    }

    /// <summary>64 random bits.</summary>
    public ulong NextUInt64()
    {
        ulong result = RotateLeft(_s1 * 5, 7) * 9;
        ulong t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>A number from 0 to <paramref name="maxExclusive"/> - 1 (Lemire's multiply-shift; the bias is below 2^-32).</summary>
    public int Next(int maxExclusive)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxExclusive);
        return (int)((NextUInt64() >> 32) * (ulong)maxExclusive >> 32);
    }

    /// <summary>A number from <paramref name="min"/> to <paramref name="max"/>, both included.</summary>
    public int Between(int min, int max) => min + Next(max - min + 1);

    /// <summary>A number from 0 to <paramref name="maxExclusive"/> - 1, for spans of time.</summary>
    public long NextLong(long maxExclusive)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxExclusive);
        return (long)(NextUInt64() % (ulong)maxExclusive);
    }

    /// <summary>A number in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>True with probability <paramref name="p"/>; draws nothing when <paramref name="p"/> is 0.</summary>
    public bool Chance(double p) => p > 0 && NextDouble() < p;

    /// <summary>Fills <paramref name="bytes"/> with random bytes.</summary>
    public void Fill(Span<byte> bytes)
    {
        for (int i = 0; i < bytes.Length; i += 8)
        {
            ulong r = NextUInt64();
            for (int j = i; j < Math.Min(i + 8, bytes.Length); j++, r >>= 8)
                bytes[j] = (byte)r;
        }
    }

    private static ulong RotateLeft(ulong x, int k) => x << k | x >> (64 - k);

    private static ulong SplitMix64(ref ulong x)
    {
        ulong z = x += 0x9E3779B97F4A7C15;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
        return z ^ (z >> 31);
    }
}
