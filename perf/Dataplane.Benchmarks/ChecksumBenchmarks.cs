using BenchmarkDotNet.Attributes;
using Dataplane.Wire;

namespace Dataplane.Benchmarks;

/// <summary>The Internet checksum over a minimum frame, a standard MTU and a jumbo frame.</summary>
[MemoryDiagnoser]
public class ChecksumBenchmarks
{
    private byte[] _data = [];

    /// <summary>Bytes summed.</summary>
    [Params(64, 1500, 9000)]
    public int Size { get; set; }

    /// <summary>Fills the buffer with random bytes.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _data = new byte[Size];
        new Random(1071).NextBytes(_data);
    }

    /// <summary>RFC 1071 sum and fold.</summary>
    [Benchmark]
    public ushort Compute() => InternetChecksum.Compute(_data);

    /// <summary>RFC 1624 incremental update of one 16-bit word, for comparison.</summary>
    [Benchmark]
    public ushort IncrementalUpdate() => InternetChecksum.Update((ushort)Size, (ushort)0x4006, (ushort)0x3f06);
}
