using BenchmarkDotNet.Attributes;
using Dataplane.Buffers;
using Dataplane.Drivers.Memory;
using Dataplane.Engine;
using Dataplane.Wire;

namespace Dataplane.Benchmarks;

/// <summary>
/// The engine's own cost: receive and transmit of 64-byte frames through the memory driver with no
/// processing (every frame goes back out where it came in), 1 and 2 workers. The frames carry an
/// RSS hash as a NIC would give, each landing on the worker whose queue it arrives on. One
/// operation is one packet received and transmitted; Mpps per core = 1000 / Mean(ns) / Workers.
/// </summary>
[MemoryDiagnoser]
public class EngineBenchmarks
{
    private const int PacketsPerInvoke = 1_000_000;
    private const int FramesInFlight = 256;

    private BufferPool _pool = null!;
    private PacketEngine<Reflector> _engine = null!;

    /// <summary>Worker cores.</summary>
    [Params(1, 2)]
    public int Workers { get; set; }

    /// <summary>A loopback port with a queue per worker, each ring primed with frames.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _pool = new BufferPool(FramesInFlight * Workers + 4096);
        MemoryPort port = MemoryPort.CreateLoopback("bench", Workers, ringSize: 1024);
        _engine = new PacketEngine<Reflector>(
            _pool,
            Enumerable.Range(0, Workers).ToArray(),
            [new PortBinding(port, (q, _) => new MemoryQueuePath(port.Queue(q)))],
            _ => default);
        var cache = new BufferCache(_pool, size: 512, burst: 64);
        var frames = new PacketBuffer[FramesInFlight];
        for (int q = 0; q < Workers; q++)
        {
            cache.Allocate(frames);
            foreach (PacketBuffer b in frames)
                WriteFrame(b, hash: (uint)q);
            port.Queue(q).Transmit(frames);
        }
    }

    /// <summary>Receive and transmit, packet by packet through the per-core loop.</summary>
    [Benchmark(OperationsPerInvoke = PacketsPerInvoke)]
    public long ReceiveTransmit()
    {
        if (Workers == 1)
            return Spin(_engine.Workers[0], PacketsPerInvoke);
        var threads = new Thread[Workers];
        for (int w = 0; w < Workers; w++)
        {
            Worker<Reflector> worker = _engine.Workers[w];
            threads[w] = new Thread(() => Spin(worker, PacketsPerInvoke / Workers));
            threads[w].Start();
        }
        foreach (Thread t in threads)
            t.Join();
        return _engine.Workers[0].Context.Counters.Received;
    }

    private static long Spin(Worker<Reflector> worker, long packets)
    {
        long target = worker.Context.Counters.Received + packets;
        while (worker.Context.Counters.Received < target)
            worker.RunOnce();
        return target;
    }

    private void WriteFrame(PacketBuffer buffer, uint hash)
    {
        ref BufferMetadata m = ref _pool.Metadata(buffer);
        m.DataLength = 64;
        m.PacketLength = 64;
        m.RssHash = hash;
        m.Offload = OffloadFlags.RssHashValid;
        Span<byte> f = _pool.Data(buffer);
        new EthernetFrame.Repr { Destination = MacAddress.FromUInt64(2), Source = MacAddress.FromUInt64(1), EtherType = EtherType.Ipv4 }.Emit(f);
    }

    /// <summary>No processing: every packet goes back out of the port it came in on.</summary>
    private struct Reflector : IPacketProcessor
    {
        public readonly void Process<TFacts>(WorkerContext context, int port, PacketBuffer packet)
            where TFacts : struct, IReceiveFacts
            => context.Transmit(port, packet);

        public readonly void OnTimer(TimerWheel wheel, in ExpiredTimer timer)
        {
        }
    }
}
