using Dataplane.Buffers;

namespace Dataplane.Tests.Buffers;

[Collection(CpuHeavyCollection.Name)] // four threads spin on one ring
public class RefillRingTests
{
    [Fact]
    public void Capacity_rounds_up_to_a_power_of_two_and_bursts_stop_when_full()
    {
        var ring = new RefillRing(5);
        Assert.Equal(8, ring.Capacity);

        Assert.Equal(8, ring.Enqueue([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]));
        Assert.Equal(0, ring.Enqueue([11]));
        Assert.Equal(8, ring.Count);

        var out3 = new int[3];
        Assert.Equal(3, ring.Dequeue(out3));
        Assert.Equal([1, 2, 3], out3);
        Assert.Equal(3, ring.Enqueue([11, 12, 13]));

        var all = new int[16];
        Assert.Equal(8, ring.Dequeue(all));
        Assert.Equal([4, 5, 6, 7, 8, 11, 12, 13], all[..8]);
        Assert.Equal(0, ring.Dequeue(all));
    }

    [Fact]
    public void Two_producers_and_two_consumers_move_every_item_exactly_once()
    {
        const int PerProducer = 500_000;
        var ring = new RefillRing(1024);
        var seen = new int[2 * PerProducer];
        long received = 0;

        Thread Producer(int first) => new(() =>
        {
            Span<int> burst = stackalloc int[16];
            for (int next = first; next < first + PerProducer;)
            {
                int n = Math.Min(16, first + PerProducer - next);
                for (int i = 0; i < n; i++)
                    burst[i] = next + i;
                int queued = ring.Enqueue(burst[..n]);
                next += queued;
                if (queued == 0)
                    Thread.Yield(); // four threads on two shared cores: let a consumer run
            }
        });
        Thread Consumer() => new(() =>
        {
            Span<int> burst = stackalloc int[16];
            while (Interlocked.Read(ref received) < 2 * PerProducer)
            {
                int n = ring.Dequeue(burst);
                for (int i = 0; i < n; i++)
                    Interlocked.Increment(ref seen[burst[i]]);
                Interlocked.Add(ref received, n);
                if (n == 0)
                    Thread.Yield();
            }
        });

        Thread[] threads = [Producer(0), Producer(PerProducer), Consumer(), Consumer()];
        foreach (Thread t in threads)
            t.Start();
        foreach (Thread t in threads)
            Assert.True(t.Join(TimeSpan.FromSeconds(60)), "the ring did not drain in 60 s");

        Assert.All(seen, count => Assert.Equal(1, count));
    }
}
