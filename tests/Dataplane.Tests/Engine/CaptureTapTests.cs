using Dataplane.Buffers;
using Dataplane.Engine;

namespace Dataplane.Tests.Engine;

public class CaptureTapTests
{
    [Fact]
    public void A_received_frame_is_captured_as_it_arrived_even_when_forwarding_then_rewrites_it()
    {
        var pool = new BufferPool(64);
        var cache = new BufferCache(pool);
        var context = new WorkerContext(0, pool, cache, new TimerWheel(0), []);
        var tap = new CaptureTap(port: 0, workers: 1);
        byte[] frame = [.. Enumerable.Range(0, 60).Select(i => (byte)i)];
        Assert.True(cache.TryAllocate(out PacketBuffer packet));
        pool.Metadata(packet).DataLength = 60;
        pool.Metadata(packet).PacketLength = 60;
        frame.CopyTo(pool.Data(packet));

        tap.Offer(context, packet, outbound: false);
        pool.Data(packet)[22] = 0x99; // the TTL goes down, the MAC addresses change: in place
        pool.Data(packet)[0] = 0x99;

        var captured = new CapturedPacket[1];
        Assert.Equal(1, tap.Rings[0].TryDequeue(captured));
        Assert.NotEqual(packet, captured[0].Buffer);
        Assert.Equal(frame, pool.Data(captured[0].Buffer).ToArray());
        cache.Release(captured[0].Buffer);
        cache.Release(packet);
        cache.Flush();
        Assert.Equal(pool.Count, pool.Shared.Count);
    }

    [Fact]
    public void A_sent_frame_is_captured_by_reference_without_a_copy()
    {
        var pool = new BufferPool(64);
        var cache = new BufferCache(pool);
        var context = new WorkerContext(0, pool, cache, new TimerWheel(0), []);
        var tap = new CaptureTap(port: 0, workers: 1);
        Assert.True(cache.TryAllocate(out PacketBuffer packet));

        tap.Offer(context, packet, outbound: true);

        var captured = new CapturedPacket[1];
        Assert.Equal(1, tap.Rings[0].TryDequeue(captured));
        Assert.Equal(packet, captured[0].Buffer);
        Assert.Equal(2, pool.Metadata(packet).ReferenceCount);
    }
}
