using System.Diagnostics;
using System.Reflection;
using Dataplane.Engine;

namespace Dataplane.Tests.Engine.Rings;

/// <summary>The single-producer single-consumer ring: semantics on one thread, then two threads at once.</summary>
[Collection(CpuHeavyCollection.Name)] // two threads spin on a ring for 10 million items
public class SpscRingTests
{
    private static readonly TimeSpan StressLimit = TimeSpan.FromSeconds(60);

    /// <summary>A two-word element: a torn or misplaced copy shows as a check that does not match.</summary>
    private readonly record struct Item(long Sequence, long Check)
    {
        public static Item For(long sequence) => new(sequence, ~sequence * 31);

        public bool IsIntact => Check == ~Sequence * 31;
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    [InlineData(100)]
    [InlineData(-8)]
    public void A_capacity_that_is_not_a_power_of_two_is_refused(int capacity)
        => Assert.Throws<ArgumentOutOfRangeException>(() => new SpscRing<int>(capacity));

    [Fact]
    public void An_empty_ring_yields_nothing()
    {
        var ring = new SpscRing<int>(8);
        Assert.Equal(0, ring.TryDequeue(new int[4]));
        Assert.False(ring.TryDequeue(out int item));
        Assert.Equal(0, item);
        Assert.Equal(0, ring.Count);
    }

    [Fact]
    public void Elements_come_out_in_the_order_they_went_in()
    {
        var ring = new SpscRing<int>(16);
        Assert.Equal(3, ring.TryEnqueue([1, 2, 3]));
        Assert.True(ring.TryEnqueue(4));
        Assert.Equal(2, ring.TryEnqueue([5, 6]));
        Assert.Equal(6, ring.Count);

        int[] buffer = new int[4];
        Assert.Equal(4, ring.TryDequeue(buffer));
        Assert.Equal([1, 2, 3, 4], buffer);
        Assert.True(ring.TryDequeue(out int five));
        Assert.Equal(5, five);
        Assert.Equal(1, ring.TryDequeue(buffer));
        Assert.Equal(6, buffer[0]);
        Assert.Equal((6L, 6L), (ring.Enqueued, ring.Dequeued));
    }

    [Fact]
    public void Every_slot_is_usable_and_a_full_ring_takes_what_fits_and_counts_the_rest()
    {
        var ring = new SpscRing<int>(8);
        Assert.Equal(5, ring.TryEnqueue([1, 2, 3, 4, 5]));
        Assert.Equal(3, ring.TryEnqueue([6, 7, 8, 9, 10]));
        Assert.Equal(8, ring.Count);
        Assert.Equal((1L, 2L), (ring.FullCount, ring.DropCount));

        Assert.False(ring.TryEnqueue(11));
        Assert.Equal(0, ring.TryEnqueue([12, 13]));
        Assert.Equal((3L, 5L), (ring.FullCount, ring.DropCount));

        int[] all = new int[16];
        Assert.Equal(8, ring.TryDequeue(all));
        Assert.Equal([1, 2, 3, 4, 5, 6, 7, 8], all[..8]);
        Assert.Equal(0, ring.Count);
    }

    [Fact]
    public void An_empty_burst_is_neither_full_nor_a_drop()
    {
        var ring = new SpscRing<int>(2);
        Assert.Equal(2, ring.TryEnqueue([1, 2]));
        Assert.Equal(0, ring.TryEnqueue([]));
        Assert.Equal(0, ring.TryDequeue([]));
        Assert.Equal((0L, 0L), (ring.FullCount, ring.DropCount));
    }

    [Fact]
    public void Bursts_that_straddle_the_end_of_the_array_wrap_around_intact()
    {
        var ring = new SpscRing<int>(8);
        Assert.Equal(6, ring.TryEnqueue([0, 1, 2, 3, 4, 5]));
        int[] out6 = new int[6];
        Assert.Equal(6, ring.TryDequeue(out6));

        // Slots 6, 7, then 0..4: one burst in two pieces, out in two pieces too.
        Assert.Equal(7, ring.TryEnqueue([10, 11, 12, 13, 14, 15, 16]));
        int[] out7 = new int[7];
        Assert.Equal(7, ring.TryDequeue(out7));
        Assert.Equal([10, 11, 12, 13, 14, 15, 16], out7);
    }

    [Fact]
    public void Many_revolutions_of_odd_sized_bursts_keep_the_sequence()
    {
        var ring = new SpscRing<long>(8);
        long next = 0, expected = 0;
        long[] inBurst = new long[5], outBurst = new long[3];
        for (int round = 0; round < 10_000; round++)
        {
            for (int i = 0; i < inBurst.Length; i++)
                inBurst[i] = next + i;
            next += ring.TryEnqueue(inBurst);
            int n = ring.TryDequeue(outBurst);
            for (int i = 0; i < n; i++)
                Assert.Equal(expected++, outBurst[i]);
        }
        while (ring.TryDequeue(out long rest))
            Assert.Equal(expected++, rest);
        Assert.Equal(next, expected);
        Assert.True(ring.DropCount > 0); // the producer outpaced the consumer, so bursts were cut
    }

    [Fact]
    public void A_ring_of_references_hands_them_over_and_lets_go_of_them()
    {
        var ring = new SpscRing<string>(4);
        Assert.Equal(3, ring.TryEnqueue(["a", "b", "c"]));
        string[] taken = new string[3];
        Assert.Equal(3, ring.TryDequeue(taken));
        Assert.Equal(["a", "b", "c"], taken);

        var slots = (string?[])typeof(SpscRing<string>).GetField("_slots", BindingFlags.NonPublic | BindingFlags.Instance)!.GetValue(ring)!;
        Assert.All(slots, Assert.Null);
    }

    [Fact]
    public void Head_and_tail_lie_on_lines_at_least_128_bytes_apart()
    {
        // The two sides' lines are structs of 320 bytes with the hot fields 128 bytes in: whatever
        // order the runtime lays them out in, the indices are at least 128 bytes apart.
        Assert.Equal(320, System.Runtime.CompilerServices.Unsafe.SizeOf<SpscProducerLine>());
        Assert.Equal(320, System.Runtime.CompilerServices.Unsafe.SizeOf<SpscConsumerLine>());
    }

    [Fact]
    public void Steady_state_enqueue_and_dequeue_allocate_nothing()
    {
        var ring = new SpscRing<Item>(64);
        Item[] burst = new Item[32], received = new Item[32];
        long moved = 0;
        Assert.Equal(0, Allocations.Least(3, () => moved += Run(1_000_000)));
        Assert.True(moved > 0);

        long Run(int rounds)
        {
            long total = 0;
            for (int i = 0; i < rounds; i++)
            {
                burst[0] = Item.For(i);
                ring.TryEnqueue(burst.AsSpan(0, 1 + i % 32));
                ring.TryEnqueue(Item.For(i));
                total += ring.TryDequeue(received.AsSpan(0, 1 + (i * 7) % 32));
                if (ring.TryDequeue(out Item one))
                    total += one.Sequence & 1;
            }
            return total;
        }
    }

    [Fact]
    public void Ten_million_structs_cross_between_two_threads_in_exact_order()
    {
        const long Total = 10_000_000;
        var ring = new SpscRing<Item>(1024);
        long refused = 0;
        string? failure = null;
        var clock = Stopwatch.StartNew();

        var producer = new Thread(() =>
        {
            var random = new Random(1);
            Item[] burst = new Item[64];
            long next = 0;
            while (next < Total && clock.Elapsed < StressLimit && failure is null)
            {
                int want = (int)Math.Min(random.Next(1, 65), Total - next);
                for (int i = 0; i < want; i++)
                    burst[i] = Item.For(next + i);
                int n = ring.TryEnqueue(burst.AsSpan(0, want));
                refused += want - n;
                next += n;
                if (n == 0)
                    Thread.Yield(); // two shared cores: let the consumer run
            }
        }) { IsBackground = true, Name = "ring producer" };

        long received = 0;
        var consumer = new Thread(() =>
        {
            var random = new Random(2);
            Item[] burst = new Item[64];
            while (received < Total && clock.Elapsed < StressLimit && failure is null)
            {
                int n = ring.TryDequeue(burst.AsSpan(0, random.Next(1, 65)));
                for (int i = 0; i < n; i++, received++)
                {
                    if (!burst[i].IsIntact || burst[i].Sequence != received)
                    {
                        failure = $"element {received}: got {burst[i]}";
                        return;
                    }
                }
                if (n == 0)
                    Thread.Yield();
            }
        }) { IsBackground = true, Name = "ring consumer" };

        producer.Start();
        consumer.Start();
        Assert.True(producer.Join(StressLimit + TimeSpan.FromSeconds(5)), "producer did not finish");
        Assert.True(consumer.Join(StressLimit + TimeSpan.FromSeconds(5)), "consumer did not finish");
        Assert.Null(failure);
        Assert.True(received == Total, $"only {received} of {Total} elements arrived within {StressLimit}");
        Assert.Equal(Total, ring.Enqueued);
        Assert.Equal(Total, ring.Dequeued);
        Assert.Equal(0, ring.Count);
        Assert.Equal(refused, ring.DropCount);
    }

    [Fact]
    public void A_million_objects_cross_between_two_threads_each_once()
    {
        const int Total = 1_000_000;
        var ring = new SpscRing<object>(256);
        object[] sent = new object[Total];
        for (int i = 0; i < Total; i++)
            sent[i] = new object();
        int mismatches = 0, received = 0;
        var clock = Stopwatch.StartNew();

        var producer = new Thread(() =>
        {
            int next = 0;
            while (next < Total && clock.Elapsed < StressLimit)
            {
                int n = ring.TryEnqueue(sent.AsSpan(next, Math.Min(16, Total - next)));
                next += n;
                if (n == 0)
                    Thread.Yield();
            }
        }) { IsBackground = true };
        var consumer = new Thread(() =>
        {
            object[] burst = new object[16];
            while (received < Total && clock.Elapsed < StressLimit)
            {
                int n = ring.TryDequeue(burst);
                for (int i = 0; i < n; i++, received++)
                    mismatches += ReferenceEquals(burst[i], sent[received]) ? 0 : 1;
                if (n == 0)
                    Thread.Yield();
            }
        }) { IsBackground = true };

        producer.Start();
        consumer.Start();
        Assert.True(producer.Join(StressLimit + TimeSpan.FromSeconds(5)));
        Assert.True(consumer.Join(StressLimit + TimeSpan.FromSeconds(5)));
        Assert.Equal(Total, received);
        Assert.Equal(0, mismatches);
    }
}
