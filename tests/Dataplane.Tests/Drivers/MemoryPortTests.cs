using Dataplane.Buffers;
using Dataplane.Drivers.Memory;

namespace Dataplane.Tests.Drivers;

public class MemoryPortTests
{
    [Fact]
    public void A_frame_sent_on_queue_i_of_one_end_arrives_on_queue_i_of_the_other()
    {
        var pool = new BufferPool(16);
        var cache = new BufferCache(pool, size: 16, burst: 4);
        (MemoryPort a, MemoryPort b) = MemoryPort.CreatePair("a", "b", queues: 2);
        a.Start();
        b.Start();
        Assert.True(a.LinkUp);
        cache.TryAllocate(out PacketBuffer frame);

        Assert.Equal(1, a.Queue(1).Transmit([frame]));

        var burst = new PacketBuffer[4];
        Assert.Equal(0, b.Queue(0).Receive(burst));
        Assert.Equal(0, a.Queue(1).Receive(burst));
        Assert.Equal(1, b.Queue(1).Receive(burst));
        Assert.Equal(frame, burst[0]);
        Assert.Equal(1, a.Counters(1).TransmittedPackets);
        Assert.Equal(1, b.Counters(1).ReceivedPackets);
    }

    [Fact]
    public void A_loopback_port_receives_what_it_sends()
    {
        MemoryPort port = MemoryPort.CreateLoopback("lo", queues: 1);
        Assert.Equal(1, port.Queue(0).Transmit([new PacketBuffer(7)]));
        var burst = new PacketBuffer[1];
        Assert.Equal(1, port.Queue(0).Receive(burst));
        Assert.Equal(7, burst[0].Index);
    }

    [Fact]
    public void A_full_ring_takes_only_the_front_of_a_burst_and_the_rest_stays_the_callers()
    {
        (MemoryPort a, MemoryPort b) = MemoryPort.CreatePair("a", "b", queues: 1, ringSize: 4);
        PacketBuffer[] burst = [new(0), new(1), new(2), new(3), new(4), new(5)];

        Assert.Equal(4, a.Queue(0).Transmit(burst));
        Assert.Equal(0, a.Queue(0).Transmit(burst.AsSpan(4)));

        var received = new PacketBuffer[8];
        Assert.Equal(4, b.Queue(0).Receive(received));
        Assert.Equal(burst[..4], received[..4]);
    }

    [Fact]
    public void Asking_for_a_queue_the_port_does_not_have_is_an_error()
    {
        MemoryPort port = MemoryPort.CreateLoopback("lo", queues: 2);
        Assert.Throws<ArgumentOutOfRangeException>(() => port.Queue(2));
    }
}
