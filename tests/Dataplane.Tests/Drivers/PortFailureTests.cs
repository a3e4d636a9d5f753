using Dataplane.Buffers;
using Dataplane.Drivers.Memory;
using Dataplane.Drivers.Tap;
using Dataplane.Engine;
using Dataplane.Wire;

namespace Dataplane.Tests.Drivers;

/// <summary>A port that fails while running is counted and given up on; the other ports keep working.</summary>
[Trait("Category", "Linux")]
public class PortFailureTests
{
    /// <summary>Sends every packet back out of the port it came in on.</summary>
    private readonly struct Reflector : IPacketProcessor
    {
        public void Process<TFacts>(WorkerContext context, int port, PacketBuffer packet)
            where TFacts : struct, IReceiveFacts
            => context.Transmit(port, packet);

        public void OnTimer(TimerWheel wheel, in ExpiredTimer timer)
        {
        }
    }

    private static int Bounce(MemoryPort peer, BufferCache cache, int frames)
    {
        BufferPool pool = cache.Pool;
        var burst = new PacketBuffer[32];
        for (int i = 0; i < frames; i++)
        {
            Assert.True(cache.TryAllocate(out PacketBuffer b));
            pool.Metadata(b).DataLength = 60;
            pool.Metadata(b).PacketLength = 60;
            new EthernetFrame.Repr { Destination = MacAddress.FromUInt64(2), Source = MacAddress.FromUInt64(1), EtherType = EtherType.Arp }.Emit(pool.Data(b));
            Assert.Equal(1, peer.Queue(0).Transmit([b]));
        }
        int back = 0;
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (back < frames && DateTime.UtcNow < deadline)
        {
            int n = peer.Queue(0).Receive(burst);
            cache.Release(burst.AsSpan(0, n));
            back += n;
            if (n == 0)
                Thread.Sleep(1);
        }
        return back;
    }

    [SkippableFact]
    public void A_tap_deleted_under_a_running_worker_is_given_up_on_and_the_memory_port_keeps_forwarding()
    {
        TapLab.RequireRoot();
        string name = TapLab.UniqueName('f');
        var pool = new BufferPool(2048);
        var cache = new BufferCache(pool, size: 128, burst: 32);
        using var tap = new TapPort("left", name, queues: 1);
        (MemoryPort peer, MemoryPort memory) = MemoryPort.CreatePair("peer", "m0", queues: 1);
        peer.Start();
        using var engine = new PacketEngine<Reflector>(
            pool,
            [0],
            [
                new PortBinding(tap, (q, c) => new TapQueuePath(tap.Queue(q, c))),
                new PortBinding(memory, (q, _) => new MemoryQueuePath(memory.Queue(q))),
            ],
            _ => default)
        {
            PinThreads = false,
        };
        engine.Start();
        try
        {
            Assert.Equal(10, Bounce(peer, cache, 10));

            TapLab.Run("ip", "link", "del", name);
            LinuxLab.Until(() => engine.FailedQueues.Any(), TimeSpan.FromSeconds(30));

            Assert.Equal([("left", 0)], engine.FailedQueues.Select(f => (f.Port.Name, f.Queue)));
            Assert.True(tap.Counters(0).Errors > 0);
            Assert.Equal(10, Bounce(peer, cache, 10)); // the memory port still forwards
        }
        finally
        {
            engine.Stop();
        }
    }
}
