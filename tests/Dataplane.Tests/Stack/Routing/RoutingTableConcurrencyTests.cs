using Dataplane.Stack.Routing;
using Dataplane.Wire;
using static Dataplane.Tests.Stack.Routing.RouteText;

namespace Dataplane.Tests.Stack.Routing;

/// <summary>What workers rely on: lookups allocate nothing, and a change never shows them a half-built table.</summary>
public class RoutingTableConcurrencyTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    [Fact]
    public void A_million_lookups_of_each_family_allocate_nothing()
    {
        var routes = new Routes();
        var random = new Random(7);
        Route4[] v4 = [.. Enumerable.Range(0, 1000).Select(i =>
        {
            int length = 16 + i % 17;
            return new Route4(Ipv4Address.FromUInt32((uint)random.NextInt64(0, 1L << 32) & Ipv4LpmTable.Mask(length)), length, Via("10.0.0.1", i % 3));
        }).DistinctBy(r => (r.Network, r.PrefixLength))];
        Assert.Equal(RouteChange.Added, routes.AddMany(v4, out _));
        routes.Add("0.0.0.0/0", Via("10.0.0.2"));
        Route6[] v6 = [.. Enumerable.Range(0, 1000).Select(i => new Route6(V6($"2001:db8:{i:x}::"), 48 + i % 3 * 8, Via6("fe80::1", i % 3)))];
        Assert.Equal(RouteChange.Added, routes.AddMany(v6, out _));
        routes.Add("::/0", Via6("fe80::2"));
        RoutingTable table = routes.Current;
        var destinations = new Ipv4Address[1024];
        var destinations6 = new Ipv6Address[1024];
        for (int i = 0; i < destinations.Length; i++)
        {
            destinations[i] = Ipv4Address.FromUInt32((uint)random.NextInt64(0, 1L << 32));
            destinations6[i] = V6($"2001:db8:{random.Next(1200):x}::{i:x}");
        }

        long found = Run(10_000);
        // Steady state: on a loaded machine the JIT may still install tier-1 code (allocating on
        // this thread's account) during the first window; one clean window of the three is the proof.
        var windows = new List<long>();
        for (int w = 0; w < 3 && (windows.Count == 0 || windows[^1] != 0); w++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            found += Run(1_000_000);
            windows.Add(GC.GetAllocatedBytesForCurrentThread() - before);
        }
        Assert.True(windows[^1] == 0, $"bytes allocated per window of 1M lookups: {string.Join(", ", windows)}");
        Assert.True(found > 0);

        long Run(int lookups)
        {
            long hits = 0;
            for (int i = 0; i < lookups; i++)
            {
                if (table.TryLookup(destinations[i & 1023], out NextHop4 hop))
                    hits++;
                if (table.TryLookup(in destinations6[i & 1023], out NextHop6 hop6))
                    hits++;
            }
            return hits;
        }
    }

    [Fact]
    public void A_reader_sees_the_old_or_the_new_answer_while_routes_change_never_anything_else()
    {
        var routes = new Routes();
        NextHop4 wide = Via("10.0.0.1", 0), narrow = Via("10.0.0.2", 1), other = Via("10.0.0.3", 2);
        NextHop6 wide6 = Via6("fe80::1", 0), narrow6 = Via6("fe80::2", 1);
        routes.Add("10.1.0.0/16", wide);
        routes.Add("10.9.0.0/16", wide);
        routes.Add("2001:db8::/32", wide6);

        using var stop = new CancellationTokenSource();
        Exception? failure = null;
        long lookups = 0, sawNarrow = 0, sawWide = 0;
        var reader = new Thread(() =>
        {
            try
            {
                Ipv4Address underSlash25 = V4("10.1.1.200"), underSlash17 = V4("10.9.1.1");
                Ipv6Address underSlash64 = V6("2001:db8:1:2::5");
                long generation = 0;
                while (!stop.IsCancellationRequested)
                {
                    RoutingTable table = routes.Current;
                    Assert.True(table.Generation >= generation, "a newer table was followed by an older one");
                    generation = table.Generation;
                    Assert.True(table.TryLookup(underSlash25, out NextHop4 hop25));
                    Assert.True(table.TryLookup(underSlash17, out NextHop4 hop17));
                    Assert.True(table.TryLookup(in underSlash64, out NextHop6 hop64));
                    Assert.True(hop25 == wide || hop25 == narrow, $"10.1.1.200 went to {hop25}");
                    Assert.True(hop17 == wide || hop17 == other, $"10.9.1.1 went to {hop17}");
                    Assert.True(hop64 == wide6 || hop64 == narrow6, $"2001:db8:1:2::5 went to {hop64}");
                    // And the answer is the one of the snapshot it came from, as its own route list says.
                    bool has25 = table.Routes4.Any(r => r.PrefixLength == 25);
                    Assert.Equal(has25 ? narrow : wide, hop25);
                    Assert.Equal(table.Routes4.Any(r => r.PrefixLength == 17) ? other : wide, hop17);
                    Assert.Equal(table.Routes6.Any(r => r.PrefixLength == 64) ? narrow6 : wide6, hop64);
                    if (has25)
                        sawNarrow++;
                    else
                        sawWide++;
                    lookups++;
                }
            }
            catch (Exception e)
            {
                failure = e;
            }
        });
        reader.Start();

        // Each state is held until the reader has looked up in it (bounded, for a loaded machine
        // that keeps the reader off a CPU), so it sees both, and the changes between.
        long Narrow() => Volatile.Read(ref sawNarrow);
        long Wide() => Volatile.Read(ref sawWide);
        bool Seen(Func<long> count, long before) =>
            LinuxLab.Until(() => count() > before || Volatile.Read(ref failure) is not null || !reader.IsAlive, Limit);
        for (int round = 0; round < 25 && failure is null; round++)
        {
            // 10.1.1.128/25 brings a tbl8 group in and takes it out again; the /17 and the /64 overlap its changes.
            Assert.Equal(RouteChange.Added, routes.Add(V4("10.1.1.128"), 25, narrow));
            Assert.Equal(RouteChange.Added, routes.Add(V6("2001:db8:1:2::"), 64, narrow6));
            Assert.Equal(RouteChange.Added, routes.Add(V4("10.9.0.0"), 17, other));
            Assert.True(Seen(Narrow, Narrow()), $"the reader saw no table with the /25 in {Limit.TotalSeconds} s");
            Assert.Equal(RouteChange.Deleted, routes.Delete(V4("10.1.1.128"), 25));
            Assert.Equal(RouteChange.Deleted, routes.Delete(V6("2001:db8:1:2::"), 64));
            Assert.Equal(RouteChange.Deleted, routes.Delete(V4("10.9.0.0"), 17));
            Assert.True(Seen(Wide, Wide()), $"the reader saw no table without the /25 in {Limit.TotalSeconds} s");
        }
        stop.Cancel();
        Assert.True(reader.Join(Limit));
        Assert.Null(failure);
        Assert.True(sawNarrow > 0 && sawWide > 0, $"{lookups} lookups: {sawNarrow} with the /25, {sawWide} without");
    }
}
