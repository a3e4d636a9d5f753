using Dataplane.Buffers;

namespace Dataplane.Tests.Buffers;

[Collection(CpuHeavyCollection.Name)] // two threads hand a million buffers over
public class BufferPoolTests
{
    [Fact]
    public void A_fresh_buffer_is_empty_with_headroom_and_one_reference()
    {
        var pool = new BufferPool(8, headroom: 128, dataRoom: 2048);
        var cache = new BufferCache(pool, size: 8, burst: 4);

        Assert.True(cache.TryAllocate(out PacketBuffer b));

        ref BufferMetadata m = ref pool.Metadata(b);
        Assert.Equal(128, m.DataOffset);
        Assert.Equal(0, m.DataLength);
        Assert.Equal(1, m.ReferenceCount);
        Assert.Equal(-1, m.Next);
        Assert.Equal(0, pool.Data(b).Length);
        Assert.Equal(pool.BufferSize - 128, pool.Room(b).Length);
        Assert.Equal(0, pool.BufferSize % 64);
    }

    [Fact]
    public void Exhaustion_refuses_and_counts_then_recovers_when_buffers_return()
    {
        var pool = new BufferPool(16);
        var cache = new BufferCache(pool, size: 16, burst: 8);
        var held = new PacketBuffer[16];

        Assert.Equal(16, cache.Allocate(held));
        Assert.False(cache.TryAllocate(out PacketBuffer none));
        Assert.False(none.IsValid);
        Assert.Equal(1, cache.Exhausted);

        cache.Release(held[3]);
        Assert.True(cache.TryAllocate(out PacketBuffer again));
        Assert.Equal(held[3], again);
    }

    [Fact]
    public void Data_of_distinct_buffers_never_overlaps()
    {
        var pool = new BufferPool(4, headroom: 0, dataRoom: 64);
        var cache = new BufferCache(pool, size: 4, burst: 2);
        var held = new PacketBuffer[4];
        cache.Allocate(held);
        for (int i = 0; i < held.Length; i++)
        {
            pool.Metadata(held[i]).DataLength = 64;
            pool.Data(held[i]).Fill((byte)(i + 1));
        }
        for (int i = 0; i < held.Length; i++)
            Assert.All(pool.Data(held[i]).ToArray(), b => Assert.Equal(i + 1, b));
    }

    [Fact]
    public void Prepend_uses_headroom_and_trim_gives_it_back()
    {
        var pool = new BufferPool(2, headroom: 32);
        var cache = new BufferCache(pool, size: 2, burst: 1);
        cache.TryAllocate(out PacketBuffer b);
        pool.Metadata(b).DataLength = 100;
        pool.Metadata(b).PacketLength = 100;

        Assert.True(pool.TryPrepend(b, 14));
        Assert.Equal(114, pool.Data(b).Length);
        Assert.Equal(114, pool.Metadata(b).PacketLength);
        Assert.False(pool.TryPrepend(b, 19)); // 18 bytes of headroom left
        Assert.True(pool.TryTrimFront(b, 14));
        Assert.Equal(100, pool.Data(b).Length);
        Assert.False(pool.TryTrimFront(b, 101));
    }

    [Fact]
    public void A_chain_carries_the_frame_length_and_releases_as_a_whole()
    {
        var pool = new BufferPool(4);
        var cache = new BufferCache(pool, size: 4, burst: 2);
        var held = new PacketBuffer[3];
        cache.Allocate(held);
        foreach (PacketBuffer b in held)
        {
            pool.Metadata(b).DataLength = 1000;
            pool.Metadata(b).PacketLength = 1000;
        }

        Assert.True(cache.TryAppend(held[0], held[1]));
        Assert.True(cache.TryAppend(held[0], held[2]));

        Assert.Equal(3000, pool.Metadata(held[0]).PacketLength);
        Assert.Equal(3, pool.Metadata(held[0]).Segments);
        Assert.Equal(held[1].Index, pool.Metadata(held[0]).Next);
        Assert.Equal(held[2].Index, pool.Metadata(held[1]).Next);

        cache.Release(held[0]);
        Assert.Equal(4, cache.Allocate(new PacketBuffer[4]));
    }

    [Fact]
    public void A_chain_longer_than_64_KiB_is_refused()
    {
        var pool = new BufferPool(2);
        var cache = new BufferCache(pool, size: 2, burst: 1);
        cache.TryAllocate(out PacketBuffer a);
        cache.TryAllocate(out PacketBuffer b);
        pool.Metadata(a).PacketLength = 60_000;
        pool.Metadata(b).PacketLength = 6_000;

        Assert.False(cache.TryAppend(a, b));
        Assert.Equal(-1, pool.Metadata(a).Next);
    }

    [Fact]
    public void A_shared_buffer_returns_to_the_pool_only_with_its_last_reference()
    {
        var pool = new BufferPool(1);
        var cache = new BufferCache(pool, size: 2, burst: 1);
        cache.TryAllocate(out PacketBuffer b);
        cache.AddReference(b);

        cache.Release(b);
        Assert.False(cache.TryAllocate(out _));

        cache.Release(b);
        Assert.True(cache.TryAllocate(out PacketBuffer again));
        Assert.Equal(b, again);
    }

    [Fact]
    public void A_shared_chain_returns_every_buffer_exactly_once()
    {
        var pool = new BufferPool(3);
        var cache = new BufferCache(pool, size: 4, burst: 2);
        var held = new PacketBuffer[3];
        cache.Allocate(held);
        Assert.True(cache.TryAppend(held[0], held[1]));
        Assert.True(cache.TryAppend(held[0], held[2]));

        cache.AddReference(held[0]);
        Assert.All(held, b => Assert.Equal(2, pool.Metadata(b).ReferenceCount));
        cache.Release(held[0]);
        Assert.Equal(0, cache.Allocate(new PacketBuffer[3])); // still held by the second owner

        cache.Release(held[0]);
        var again = new PacketBuffer[4];
        Assert.Equal(3, cache.Allocate(again)); // each buffer back once, not twice
        Assert.Equal(3, again[..3].Distinct().Count());
    }

    [Fact]
    public void Appending_a_buffer_already_in_the_chain_is_refused()
    {
        var pool = new BufferPool(2);
        var cache = new BufferCache(pool, size: 2, burst: 1);
        cache.TryAllocate(out PacketBuffer a);
        cache.TryAllocate(out PacketBuffer b);
        Assert.True(cache.TryAppend(a, b));

        Assert.False(cache.TryAppend(a, b));
        Assert.False(cache.TryAppend(a, a));
        Assert.Equal(-1, pool.Metadata(b).Next);
    }

    [Fact]
    public void Buffers_start_on_a_page()
    {
        var pool = new BufferPool(8, headroom: 0, dataRoom: 4096);
        for (int i = 0; i < pool.Count; i++)
            Assert.Equal(0, pool.Address(i) % 4096);
    }

    [Fact]
    public void A_cache_spills_to_the_shared_ring_and_another_cache_gets_the_buffers()
    {
        var pool = new BufferPool(64);
        var first = new BufferCache(pool, size: 16, burst: 8);
        var second = new BufferCache(pool, size: 16, burst: 8);
        var held = new PacketBuffer[64];

        Assert.Equal(64, first.Allocate(held));
        first.Release(held);
        Assert.True(first.Count <= 16);
        Assert.Equal(64 - first.Count, pool.Shared.Count);
        Assert.Equal(64 - first.Count, second.Allocate(new PacketBuffer[64]));
    }

    [Fact]
    public void After_a_million_packets_on_two_threads_every_buffer_is_back_in_the_pool_and_neither_thread_allocated()
    {
        var pool = new BufferPool(1024);
        var handoff = new RefillRing(256); // stands in for a cross-core ring: buffers allocated on one thread, freed on the other
        // Both threads run pool code, and each counts only its own allocation, so each measures itself:
        // its share of the packets in a warm-up and three windows of 250 000 (Allocations.Least).
        const int Window = 250_000, Windows = 3;
        long producerAllocated = -1, consumerAllocated = -1;
        Exception? failure = null;
        var producer = new Thread(() =>
        {
            try
            {
                var cache = new BufferCache(pool, size: 128, burst: 32);
                var burst = new PacketBuffer[32];
                var indices = new int[32];
                producerAllocated = Allocations.Least(Windows, () =>
                {
                    for (int sent = 0; sent < Window;)
                    {
                        int n = cache.Allocate(burst.AsSpan(0, Math.Min(32, Window - sent)));
                        for (int i = 0; i < n; i++)
                            indices[i] = burst[i].Index;
                        for (int queued = 0; queued < n;)
                        {
                            int q = handoff.Enqueue(indices.AsSpan(queued, n - queued));
                            queued += q;
                            if (q == 0)
                                Thread.Yield(); // two shared cores: let the consumer run
                        }
                        sent += n;
                        if (n == 0)
                            Thread.Yield(); // every buffer is in flight: the consumer is to free some
                    }
                });
                cache.Flush();
            }
            catch (Exception e)
            {
                failure = e;
            }
        });
        var consumer = new Thread(() =>
        {
            try
            {
                var cache = new BufferCache(pool, size: 128, burst: 32);
                var indices = new int[32];
                consumerAllocated = Allocations.Least(Windows, () =>
                {
                    for (int received = 0; received < Window;)
                    {
                        int n = handoff.Dequeue(indices.AsSpan(0, Math.Min(32, Window - received)));
                        for (int i = 0; i < n; i++)
                            cache.Release(new PacketBuffer(indices[i]));
                        received += n;
                        if (n == 0)
                            Thread.Yield();
                    }
                });
                cache.Flush();
            }
            catch (Exception e)
            {
                failure = e;
            }
        });
        producer.Start();
        consumer.Start();
        Assert.True(producer.Join(TimeSpan.FromSeconds(60)) && consumer.Join(TimeSpan.FromSeconds(60)), "the hand-off did not finish in 60 s");

        Assert.Null(failure);
        Assert.Equal(pool.Count, pool.Shared.Count);
        Assert.Equal(0, producerAllocated);
        Assert.Equal(0, consumerAllocated);
    }
}

public class BufferPoolHugePageTests
{
    [SkippableFact]
    [Trait("Category", "Linux")]
    public void With_huge_pages_reserved_the_pool_lives_on_them_and_works_the_same()
    {
        Skip.IfNot(Environment.UserName == "root", "reserving huge pages needs root");
        const string Knob = "/proc/sys/vm/nr_hugepages";
        string before = File.ReadAllText(Knob).Trim();
        try
        {
            File.WriteAllText(Knob, (int.Parse(before, System.Globalization.CultureInfo.InvariantCulture) + 8).ToString(System.Globalization.CultureInfo.InvariantCulture));
            Skip.If(Native.HugePages.FreeCount() < 8, "the kernel could not reserve 8 huge pages");

            var pool = new BufferPool(1024, hugePages: true);
            var cache = new BufferCache(pool);

            Assert.True(pool.OnHugePages);
            Assert.Equal(0, pool.Address(0) % Native.HugePages.Size);
            Assert.True(cache.TryAllocate(out PacketBuffer b));
            pool.Metadata(b).DataLength = 64;
            pool.Data(b).Fill(0xA5);
            Assert.All(pool.Data(b).ToArray(), x => Assert.Equal(0xA5, x));
        }
        finally
        {
            // The pool keeps its pages until the process ends; the kernel frees them then.
            File.WriteAllText(Knob, before);
        }
    }

    [SkippableFact]
    public void Without_huge_pages_reserved_the_pool_falls_back_to_pinned_memory()
    {
        Skip.If(Native.HugePages.FreeCount() * Native.HugePages.Size >= 1024L * (BufferPool.DefaultHeadroom + BufferPool.DefaultDataRoom));
        var pool = new BufferPool(1024, hugePages: true);
        Assert.False(pool.OnHugePages);
        Assert.Equal(0, pool.Address(0) % 4096);
    }
}
