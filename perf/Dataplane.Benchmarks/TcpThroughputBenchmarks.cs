using BenchmarkDotNet.Attributes;
using Dataplane.Engine;
using Dataplane.Stack;
using Dataplane.Stack.Transport;
using Dataplane.Stack.Transport.Tcp;

namespace Dataplane.Benchmarks;

/// <summary>
/// One bulk TCP connection between two whole stacks cabled back to back (<see cref="TcpBackToBack"/>):
/// a source app writes from a static buffer as fast as the send buffer takes it, a sink app drops
/// what arrives in place, and the stacks do the rest (segmentation, checksums in software, ACKs,
/// window updates, congestion control; 1500-byte MTU, timestamps and SACK on, 1 MiB buffers).
/// <para>
/// <see cref="Threads"/> = 1: both workers turn on the benchmark thread, one after the other, so
/// one core does both ends and the rate is per core for the pair. <see cref="Threads"/> = 2: the
/// receiving end turns on the benchmark thread and the sending end on a helper thread, one core
/// each (not pinned; the machine's other load shares them). <see cref="Direction"/> says which end
/// sends: ClientToServer as iperf3's default, ServerToClient as its -R.
/// </para>
/// One operation is one full segment of payload (<see cref="SegmentPayload"/> bytes: MSS 1460 less
/// the timestamp option) consumed by the sink; Gbit/s and kseg/s are of payload. The setup warms
/// up for 3 s and then checks, over a further 256 MiB on one thread, that the steady state
/// allocates nothing (GC.GetAllocatedBytesForCurrentThread; it prints what it finds and fails the run
/// otherwise); the cleanup prints the segments each way and the drops and retransmits. Every GiB
/// the connection is replaced by a new one (see <c>BytesPerConnection</c>: the congestion window
/// of a connection that never loses a segment overflows past 2 GiB).
/// </summary>
[MemoryDiagnoser]
[Config(typeof(TcpThroughputConfig))]
public class TcpThroughputBenchmarks
{
    /// <summary>The payload of a full segment: 1500 - 20 (IPv4) - 20 (TCP) - 12 (timestamps).</summary>
    public const int SegmentPayload = 1448;

    private const int SegmentsPerInvoke = 16_384;
    private const ushort Port = 5201;
    private const long StallNanoseconds = 10_000_000_000;

    // A connection carries at most this much before it is replaced: past 2 GiB acknowledged without
    // a loss its congestion window overflows (TcpCongestion.OnAck grows it while the receive window
    // limits the flight, and it is an int), goes negative and the connection stalls for good.
    private const long BytesPerConnection = 1L << 30;

    private TcpBackToBack _pair = null!;
    private TcpSinkApp _sink = null!;
    private TcpSourceApp _source = null!;
    private long _renewals;
    private Worker<StackProcessor> _sendLoop = null!;
    private Worker<StackProcessor> _receiveLoop = null!;
    private StackWorker _sender = null!;
    private StackWorker _receiver = null!;
    private Thread? _helper;
    private readonly SemaphoreSlim _go = new(0);
    private readonly SemaphoreSlim _done = new(0);
    private volatile bool _running;
    private volatile bool _stopping;
    private long[] _start = [];

    /// <summary>Which end sends.</summary>
    public enum TcpDirection
    {
        /// <summary>The connecting end sends (iperf3's default).</summary>
        ClientToServer,

        /// <summary>The listening end sends (iperf3 -R).</summary>
        ServerToClient,
    }

    /// <summary>Which end sends.</summary>
    [Params(TcpDirection.ClientToServer, TcpDirection.ServerToClient)]
    public TcpDirection Direction { get; set; }

    /// <summary>1: both ends on one thread (one core); 2: one end per thread.</summary>
    [Params(1, 2)]
    public int Threads { get; set; }

    /// <summary>The stacks, the connection, the warm-up and the allocation check.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _pair = new TcpBackToBack(poolBuffers: 32_768);
        var source = _source = new TcpSourceApp();
        _sink = new TcpSinkApp();
        InetEndpoint server = TcpBackToBack.ServerEndpoint(Port);
        if (Direction == TcpDirection.ClientToServer)
        {
            Check(_pair.Server.Tcp.Start(_sink), "start the sink");
            Check(_pair.Client.Tcp.Start(source), "start the source");
            Check(_sink.ListenOn(server), "listen");
            Check(source.Connect(server), "connect");
            (_sender, _receiver, _sendLoop, _receiveLoop) = (_pair.Client, _pair.Server, _pair.ClientLoop, _pair.ServerLoop);
        }
        else
        {
            Check(_pair.Server.Tcp.Start(source), "start the source");
            Check(_pair.Client.Tcp.Start(_sink), "start the sink");
            Check(source.ListenOn(server), "listen");
            Check(_sink.Connect(server), "connect");
            (_sender, _receiver, _sendLoop, _receiveLoop) = (_pair.Server, _pair.Client, _pair.ServerLoop, _pair.ClientLoop);
        }

        // 3 s of traffic: past the announcements at 0, 1 and 2 s, slow start, and the JIT's tiers.
        long until = EngineClock.Nanoseconds() + 3_000_000_000;
        while (EngineClock.Nanoseconds() < until)
        {
            _pair.Turn();
            if (_source.Connection is { BytesAcked: > BytesPerConnection })
                Renew();
        }
        if (_sink.Received == 0)
            throw new InvalidOperationException("no data arrived in 3 s");

        // The steady state on this thread: must allocate nothing.
        const long checkBytes = 256L << 20;
        long segments0 = _sender.Counters.Tcp[(int)TcpCounter.DataSegmentsSent];
        long target = _sink.Received + checkBytes;
        long allocated0 = GC.GetAllocatedBytesForCurrentThread();
        while (_sink.Received < target)
            _pair.Turn();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - allocated0;
        long segments = _sender.Counters.Tcp[(int)TcpCounter.DataSegmentsSent] - segments0;
        Console.WriteLine($"// allocation check ({Direction}): {allocated} bytes allocated over {segments} data segments ({(double)allocated / segments:0.###} B/segment)");
        if (allocated != 0)
            throw new InvalidOperationException($"the steady state allocated {allocated} bytes over {segments} segments");

        _start = Snapshot();
        if (Threads == 2)
        {
            _helper = new Thread(Help) { IsBackground = true, Name = "tcp bench sender" };
            _helper.Start();
        }
    }

    /// <summary>Delivers <c>SegmentsPerInvoke</c> full segments of payload to the sink.</summary>
    [Benchmark(OperationsPerInvoke = SegmentsPerInvoke)]
    public long Transfer()
    {
        _pair.ConfirmNeighbours();
        if (_source.Connection is not { } sending || sending.BytesAcked > BytesPerConnection)
            Renew();
        long target = _sink.Received + (long)SegmentsPerInvoke * SegmentPayload;
        long deadline = EngineClock.Nanoseconds() + StallNanoseconds;
        if (Threads == 1)
        {
            while (_sink.Received < target)
            {
                if (_pair.Turn() == 0 && EngineClock.Nanoseconds() > deadline)
                    throw Stalled(target);
            }
            return _sink.Received;
        }
        _running = true;
        _go.Release();
        Worker<StackProcessor> loop = _receiveLoop;
        while (_sink.Received < target)
        {
            if (loop.RunOnce() == 0 && EngineClock.Nanoseconds() > deadline)
            {
                _running = false;
                _done.Wait();
                throw Stalled(target);
            }
        }
        _running = false;
        _done.Wait();
        return _sink.Received;
    }

    /// <summary>What the connection looks like when an invocation does not finish in time.</summary>
    internal Exception Stalled(long target)
    {
        TcpSocket? sender = _source.Connection;
        TcpSocket? receiver = _sink.Connection;
        return new InvalidOperationException(
            $"stalled: {target - _sink.Received} bytes short after {StallNanoseconds / 1e9} s; sender {sender?.State} queued {sender?.SendQueued} cwnd {sender?.CongestionWindow} " +
            $"retransmits {sender?.Retransmits} srtt {sender?.SmoothedRtt} ns; receiver {receiver?.State} readable {receiver?.ReadableBytes}; buffers outstanding {_pair.BuffersOutstanding} of {_pair.Pool.Count}; engine drops {_pair.EngineDrops}");
    }

    /// <summary>Prints the segments each way over the measured runs, and stops the helper.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        if (_helper is not null)
        {
            _stopping = true;
            _go.Release();
            _helper.Join();
        }
        long[] end = Snapshot();
        long data = end[0] - _start[0], acks = end[1] - _start[1], retransmits = end[2] - _start[2], drops = end[3] - _start[3];
        Console.WriteLine($"// {Direction}, {Threads} thread(s), after setup: {_renewals} connections renewed, {data} data segments sent, {acks} segments sent back by the receiver ({(double)acks / Math.Max(1, data):0.00} per data segment), {retransmits} retransmits, {drops} engine drops; {_sink.Received / (1 << 20)} MiB received in all");
    }

    /// <summary>
    /// A fresh connection in place of the one that has carried <see cref="BytesPerConnection"/>
    /// (inside the measurement: a handshake and a slow start per GiB, about 1% of it): the
    /// connecting end aborts it and connects again.
    /// </summary>
    private void Renew()
    {
        _renewals++;
        InetEndpoint server = TcpBackToBack.ServerEndpoint(Port);
        if (Direction == TcpDirection.ClientToServer)
        {
            _source.Connection?.Abort();
            Check(_source.Connect(server), "connect again");
        }
        else
        {
            _sink.Connection?.Abort();
            Check(_sink.Connect(server), "connect again");
        }
    }

    private void Help()
    {
        Worker<StackProcessor> loop = _sendLoop;
        while (true)
        {
            _go.Wait();
            if (_stopping)
                return;
            while (_running)
                loop.RunOnce();
            _done.Release();
        }
    }

    private long[] Snapshot()
    {
        return
        [
            _sender.Counters.Tcp[(int)TcpCounter.DataSegmentsSent],
            _receiver.Counters.Tcp[(int)TcpCounter.Sent],
            _sender.Counters.Tcp[(int)TcpCounter.Retransmitted],
            _pair.EngineDrops,
        ];
    }

    private static void Check(TcpError error, string what)
    {
        if (error != TcpError.None)
            throw new InvalidOperationException($"{what}: {error}");
    }
}
