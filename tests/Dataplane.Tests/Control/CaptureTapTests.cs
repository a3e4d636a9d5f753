using Dataplane.Buffers;
using Dataplane.Drivers.Memory;
using Dataplane.Engine;

namespace Dataplane.Tests.Control;

/// <summary>The worker side of capture: what an armed slot does to a transmitted frame, and a full ring.</summary>
public sealed class CaptureTapTests
{
    private static (WorkerContext Context, MemoryPort Port) Worker(BufferPool pool)
    {
        MemoryPort port = MemoryPort.CreateLoopback("m0", queues: 1);
        port.Start();
        var poller = new MemoryQueuePath(port.Queue(0)) { Port = 0 };
        var context = new WorkerContext(0, pool, new BufferCache(pool, size: 16, burst: 4), new TimerWheel(0), [poller]);
        return (context, port);
    }

    /// <summary>A worker whose port 0 is captured, as CaptureService arms it: the count raised, the slot filled.</summary>
    private static (WorkerContext Context, MemoryPort Port, CaptureTap Tap) Armed(BufferPool pool, int ringSize)
    {
        (WorkerContext context, MemoryPort port) = Worker(pool);
        var tap = new CaptureTap(0, workers: 1, ringSize: ringSize);
        context.CapturesChanged(+1);
        context.CaptureSlots[0] = tap;
        return (context, port, tap);
    }

    [Fact]
    public void A_transmitted_frame_is_offered_outbound_with_a_reference_that_outlives_the_queue()
    {
        var pool = new BufferPool(64);
        (WorkerContext context, MemoryPort port, CaptureTap tap) = Armed(pool, ringSize: 4);
        context.Now = 12345;
        Assert.True(context.Cache.TryAllocate(out PacketBuffer frame));

        context.Transmit(0, frame);
        context.FlushAll();

        Assert.True(tap.Rings[0].TryDequeue(out CapturedPacket captured));
        Assert.Equal(new CapturedPacket(frame, 12345, Outbound: true), captured);
        Assert.Equal(2, pool.Metadata(frame).ReferenceCount);
        // The frame comes back on the loopback and its receiver frees it: the copy still holds it.
        var burst = new PacketBuffer[4];
        Assert.Equal(1, port.Queue(0).Receive(burst));
        context.Cache.Release(burst[0]);
        Assert.Equal(1, pool.Metadata(frame).ReferenceCount);
        context.Cache.Release(captured.Buffer);
        Assert.Equal(0, pool.Metadata(frame).ReferenceCount);
    }

    [Fact]
    public void A_full_ring_drops_the_copy_only_and_counts_it()
    {
        var pool = new BufferPool(64);
        (WorkerContext context, MemoryPort port, CaptureTap tap) = Armed(pool, ringSize: 1);
        Assert.True(context.Cache.TryAllocate(out PacketBuffer a));
        Assert.True(context.Cache.TryAllocate(out PacketBuffer b));

        context.Transmit(0, a);
        context.Transmit(0, b);
        context.FlushAll();

        Assert.Equal(2, context.Counters.Transmitted);
        Assert.Equal(1, context.Counters.CaptureDrops);
        Assert.Equal(1, tap.Drops);
        Assert.Equal(2, pool.Metadata(a).ReferenceCount);
        Assert.Equal(1, pool.Metadata(b).ReferenceCount);
        Assert.Equal(2, port.Queue(0).Receive(new PacketBuffer[4]));
    }

    [Fact]
    public void An_idle_slot_takes_no_reference()
    {
        var pool = new BufferPool(64);
        (WorkerContext context, _) = Worker(pool);
        Assert.True(context.Cache.TryAllocate(out PacketBuffer a));

        context.Transmit(0, a);
        context.FlushAll();

        Assert.Equal(1, pool.Metadata(a).ReferenceCount);
    }

    [Fact]
    public void A_worker_looks_at_the_slots_only_while_a_capture_is_counted_armed()
    {
        // CaptureService raises the count before it fills a slot and lowers it once the slot is
        // empty: a slot filled without it is not seen, and a count back at 0 stops the copies.
        var pool = new BufferPool(64);
        (WorkerContext context, MemoryPort port) = Worker(pool);
        var tap = new CaptureTap(0, workers: 1, ringSize: 8);
        context.CaptureSlots[0] = tap;
        var burst = new PacketBuffer[8];
        int Send()
        {
            Assert.True(context.Cache.TryAllocate(out PacketBuffer frame));
            context.Transmit(0, frame);
            context.FlushAll();
            int n = port.Queue(0).Receive(burst);
            for (int i = 0; i < n; i++)
                context.Cache.Release(burst[i]);
            int copies = 0;
            while (tap.Rings[0].TryDequeue(out CapturedPacket c))
            {
                context.Cache.Release(c.Buffer);
                copies++;
            }
            return copies;
        }

        Assert.Equal(0, Send());
        context.CapturesChanged(+1);
        Assert.Equal(1, Send());
        context.CapturesChanged(+1); // a second port's capture
        context.CapturesChanged(-1);
        Assert.Equal(1, Send());
        context.CapturesChanged(-1);
        Assert.Equal(0, Send());
    }
}
