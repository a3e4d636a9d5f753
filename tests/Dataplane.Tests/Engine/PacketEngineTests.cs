using Dataplane.Buffers;
using Dataplane.Drivers.Memory;
using Dataplane.Engine;
using Dataplane.Wire;

namespace Dataplane.Tests.Engine;

/// <summary>The per-core engine over the memory driver: flow ownership, hand-off, buffer accounting, allocations.</summary>
[Collection(CpuHeavyCollection.Name)] // two busy-polling workers, millions of packets
public class PacketEngineTests
{
    private const int Flows = 64;

    /// <summary>Which worker handled each flow, and how often two workers handled the same one.</summary>
    private sealed class FlowLedger
    {
        public readonly int[] Owner = new int[Flows];
        public int Conflicts;
    }

    /// <summary>Sends every packet back out of the port it came in on, noting the flow's worker.</summary>
    private struct Reflector(FlowLedger ledger) : IPacketProcessor
    {
        public readonly void Process<TFacts>(WorkerContext context, int port, PacketBuffer packet)
            where TFacts : struct, IReceiveFacts
        {
            Span<byte> frame = context.Pool.Data(packet);
            int flow = (frame[34] << 8 | frame[35]) - 10_000; // UDP source port
            int mine = context.Index + 1;
            int seen = Interlocked.CompareExchange(ref ledger.Owner[flow], mine, 0);
            if (seen != 0 && seen != mine)
                Interlocked.Increment(ref ledger.Conflicts);
            context.Transmit(port, packet);
        }

        public readonly void OnTimer(TimerWheel wheel, in ExpiredTimer timer)
        {
        }
    }

    /// <summary>A 64-byte Ethernet + IPv4 + UDP frame of flow <paramref name="flow"/>.</summary>
    private static void WriteFrame(BufferPool pool, PacketBuffer buffer, int flow)
    {
        ref BufferMetadata m = ref pool.Metadata(buffer);
        m.DataLength = 64;
        m.PacketLength = 64;
        Span<byte> f = pool.Data(buffer);
        new EthernetFrame.Repr { Destination = MacAddress.FromUInt64(2), Source = MacAddress.FromUInt64(1), EtherType = EtherType.Ipv4 }.Emit(f);
        new Ipv4Packet.Repr
        {
            Ihl = 5, TotalLength = 50, TimeToLive = 64, Protocol = IpProtocol.Udp,
            Source = new Ipv4Address(10, 10, 11, 1), Destination = new Ipv4Address(10, 10, 12, 4),
        }.Emit(f[14..]);
        new UdpDatagram.Repr { SourcePort = (ushort)(10_000 + flow), DestinationPort = 9, Length = 30 }.Emit(f[34..]);
    }

    private static (PacketEngine<Reflector> Engine, MemoryPort Peer, FlowLedger Ledger, BufferPool Pool) Build(int workers)
    {
        var pool = new BufferPool(4096);
        (MemoryPort peer, MemoryPort port) = MemoryPort.CreatePair("peer", "port0", workers);
        var ledger = new FlowLedger();
        var engine = new PacketEngine<Reflector>(
            pool,
            Enumerable.Range(0, workers).ToArray(),
            [new PortBinding(port, (q, _) => new MemoryQueuePath(port.Queue(q)))],
            _ => new Reflector(ledger))
        {
            PinThreads = false,
        };
        peer.Start();
        return (engine, peer, ledger, pool);
    }

    [Fact]
    public void A_port_with_more_queues_than_workers_has_every_queue_read()
    {
        const int Packets = 20_000, Queues = 5;
        var pool = new BufferPool(4096);
        (MemoryPort peer, MemoryPort port) = MemoryPort.CreatePair("peer", "port0", Queues);
        var ledger = new FlowLedger();
        using var engine = new PacketEngine<Reflector>(
            pool, [0, 1], [new PortBinding(port, (q, _) => new MemoryQueuePath(port.Queue(q)))], _ => new Reflector(ledger))
        {
            PinThreads = false,
        };
        peer.Start();
        var cache = new BufferCache(pool, size: 128, burst: 32);
        engine.Start();
        int sent = 0, received = 0;
        var burst = new PacketBuffer[32];
        var deadline = DateTime.UtcNow.AddSeconds(60);
        try
        {
            while (received < Packets && DateTime.UtcNow < deadline)
            {
                // Frames go in on all five queues; worker 0 reads 0, 2 and 4, worker 1 reads 1 and 3,
                // and each sends out through its own queue.
                if (sent < Packets && sent - received < 256 && cache.TryAllocate(out PacketBuffer b))
                {
                    WriteFrame(pool, b, sent % Flows);
                    if (peer.Queue(sent % Queues).Transmit([b]) == 1)
                        sent++;
                    else
                        cache.Release(b);
                }
                for (int q = 0; q < Queues; q++)
                {
                    int n = peer.Queue(q).Receive(burst);
                    cache.Release(burst.AsSpan(0, n));
                    received += n;
                }
            }
        }
        finally
        {
            engine.Stop();
        }
        cache.Flush();

        Assert.Equal(Packets, received); // before, the frames of queues 2 to 4 were never read
        for (int q = 0; q < Queues; q++)
            Assert.Equal(Packets / Queues, port.Counters(q).ReceivedPackets);
        Assert.Equal(0, port.Counters(2).TransmittedPackets + port.Counters(3).TransmittedPackets + port.Counters(4).TransmittedPackets);
        Assert.Equal(pool.Count, pool.Shared.Count);
    }

    [Fact]
    public void Two_workers_each_own_their_flows_hand_off_the_others_and_return_every_buffer()
    {
        const int Packets = 200_000;
        (PacketEngine<Reflector> engine, MemoryPort peer, FlowLedger ledger, BufferPool pool) = Build(workers: 2);
        var cache = new BufferCache(pool, size: 128, burst: 32);
        engine.Start();
        int sent = 0, received = 0;
        var burst = new PacketBuffer[32];
        var deadline = DateTime.UtcNow.AddSeconds(60);
        try
        {
            while (received < Packets && DateTime.UtcNow < deadline)
            {
                // At most 256 in flight, so no ring can overflow: a loss would be a bug, not load.
                if (sent < Packets && sent - received < 256 && cache.TryAllocate(out PacketBuffer b))
                {
                    WriteFrame(pool, b, sent % Flows);
                    // Every flow arrives on both queues, so half of it lands on the wrong worker.
                    if (peer.Queue(sent % 2).Transmit([b]) == 1)
                        sent++;
                    else
                        cache.Release(b);
                }
                for (int q = 0; q < 2; q++)
                {
                    int n = peer.Queue(q).Receive(burst);
                    cache.Release(burst.AsSpan(0, n));
                    received += n;
                }
            }
        }
        finally
        {
            engine.Stop();
        }
        cache.Flush();

        Assert.Equal(Packets, received);
        Assert.Equal(0, ledger.Conflicts);
        WorkerCounters w0 = engine.Workers[0].Context.Counters, w1 = engine.Workers[1].Context.Counters;
        Assert.True(w0.Processed > 0 && w1.Processed > 0, $"one worker did everything: {w0.Processed} / {w1.Processed}");
        Assert.Equal(Packets, w0.Processed + w1.Processed);
        Assert.Equal(w0.HandedOff, w1.HandedIn);
        Assert.Equal(w1.HandedOff, w0.HandedIn);
        Assert.True(w0.HandedOff + w1.HandedOff > Packets / 4, "packets on the wrong queue were not handed off");
        Assert.Equal(0, w0.HandOffDrops + w1.HandOffDrops + w0.TransmitDrops + w1.TransmitDrops);
        Assert.Equal(pool.Count, pool.Shared.Count); // every buffer back in the pool
        engine.Dispose();
    }

    /// <summary>
    /// A queue with more waiting than a burst: a turn takes up to four bursts of it (a TCP
    /// connection's share of a turn and then some), and says the worker is behind
    /// (<see cref="WorkerContext.Saturated"/>) until a turn finds less than a burst.
    /// </summary>
    /// <summary>
    /// An idle worker gives its core back within microseconds: after each wake it polls for a short
    /// spell and sleeps again. (It spent 768 turns yielding after every wake, each a poll of every
    /// queue: milliseconds of a core, taken from the applications on a two-core machine.)
    /// </summary>
    [Fact]
    public void An_idle_worker_polls_a_few_turns_per_wake_before_it_sleeps_again()
    {
        (PacketEngine<Reflector> engine, _, _, _) = Build(workers: 1);
        engine.Start();
        WorkerCounters counters = engine.Workers[0].Context.Counters;
        try
        {
            // Idle once it has slept; then 50 sleeps more, counted, not timed (the memory port has no
            // descriptor, so a sleep lasts 1 ms: a few hundred a second on a quiet machine).
            Assert.True(SpinWait.SpinUntil(() => Volatile.Read(ref counters.Sleeps) > 0, TimeSpan.FromSeconds(10)), "the idle worker never slept");
            long loops = Volatile.Read(ref counters.Loops), sleeps = Volatile.Read(ref counters.Sleeps);
            long first = sleeps;
            Assert.True(SpinWait.SpinUntil(() => Volatile.Read(ref counters.Sleeps) - first >= 50, TimeSpan.FromSeconds(10)),
                $"{Volatile.Read(ref counters.Sleeps) - first} sleeps in 10 s");
            loops = Volatile.Read(ref counters.Loops) - loops;
            sleeps = Volatile.Read(ref counters.Sleeps) - sleeps;
            Assert.True(loops < 256 * sleeps, $"{loops} turns for {sleeps} sleeps: {loops / sleeps} per wake");
        }
        finally
        {
            engine.Stop();
        }
        engine.Dispose();
    }

    [Fact]
    public void A_backed_up_queue_gives_a_turn_four_bursts_and_marks_the_worker_behind()
    {
        (PacketEngine<Reflector> engine, MemoryPort peer, _, BufferPool pool) = Build(workers: 1);
        var cache = new BufferCache(pool, size: 256, burst: 32);
        var burst = new PacketBuffer[32];
        void Offer(int packets)
        {
            for (int sent = 0; sent < packets;)
            {
                int n = cache.Allocate(burst.AsSpan(0, Math.Min(32, packets - sent)));
                for (int i = 0; i < n; i++)
                    WriteFrame(pool, burst[i], i);
                Assert.Equal(n, peer.Queue(0).Transmit(burst.AsSpan(0, n)));
                sent += n;
            }
        }
        void Drain()
        {
            int n;
            while ((n = peer.Queue(0).Receive(burst)) > 0)
                cache.Release(burst.AsSpan(0, n));
        }
        Worker<Reflector> worker = engine.Workers[0];

        Offer(200);
        Assert.Equal(4 * WorkerContext.BurstSize, worker.RunOnce());
        Assert.True(worker.Context.Saturated);
        Drain();
        Assert.Equal(200 - 4 * WorkerContext.BurstSize, worker.RunOnce());
        Assert.True(worker.Context.Saturated); // 72 waited: more than a burst
        Drain();
        Offer(10);
        Assert.Equal(10, worker.RunOnce());
        Assert.False(worker.Context.Saturated);
        Assert.Equal(3, worker.Context.Turn);
        Drain();
        cache.Flush();
        engine.Dispose();
        Assert.Equal(pool.Count, pool.Shared.Count);
    }

    [Fact]
    public void A_million_packets_through_two_workers_allocate_nothing()
    {
        (PacketEngine<Reflector> engine, MemoryPort peer, _, BufferPool pool) = Build(workers: 2);
        var cache = new BufferCache(pool, size: 256, burst: 32);
        var burst = new PacketBuffer[32];
        // The workers' turns run on this thread, one after the other: the rings stay single-producer
        // and single-consumer, and the allocation counter sees everything.
        long Run(int packets)
        {
            long moved = 0;
            while (moved < packets)
            {
                for (int q = 0; q < 2; q++)
                {
                    int n = cache.Allocate(burst.AsSpan(0, 16));
                    for (int i = 0; i < n; i++)
                        WriteFrame(pool, burst[i], i + q * 16);
                    int accepted = peer.Queue(q).Transmit(burst.AsSpan(0, n));
                    cache.Release(burst.AsSpan(accepted, n - accepted));
                }
                engine.Workers[0].RunOnce();
                engine.Workers[1].RunOnce();
                engine.Workers[0].RunOnce(); // hand-offs made by worker 1 in its turn
                for (int q = 0; q < 2; q++)
                {
                    int n = peer.Queue(q).Receive(burst);
                    cache.Release(burst.AsSpan(0, n));
                    moved += n;
                }
            }
            return moved;
        }

        long moved = 0;
        long allocated = Allocations.Least(3, () => moved += Run(1_000_000));

        Assert.True(moved >= 4 * 1_000_000);
        Assert.Equal(0, allocated);
        Assert.True(engine.Workers[0].Context.Counters.HandedOff + engine.Workers[1].Context.Counters.HandedOff > 0);
        engine.Dispose();
    }
}
