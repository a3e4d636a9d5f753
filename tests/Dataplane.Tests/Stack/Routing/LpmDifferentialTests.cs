using Dataplane.Stack.Routing;
using Dataplane.Wire;

namespace Dataplane.Tests.Stack.Routing;

/// <summary>
/// Thousands of random, heavily overlapping routes and lookups against <see cref="NaiveLpm"/>,
/// from fixed seeds, then random adds and deletes, each checked again.
/// </summary>
[Collection(CpuHeavyCollection.Name)] // linear scans of thousands of routes, a 32 MiB table a change
public class LpmDifferentialTests
{
    private const int RouteCount = 3000;
    private const int Lookups = 20_000;

    [Theory]
    [InlineData(4242)]
    [InlineData(1998)]
    public void Ipv4_lookups_agree_with_a_linear_scan(int seed)
    {
        var random = new Random(seed);
        NextHop4[] hops = [.. Enumerable.Range(0, 40).Select(i => new NextHop4(i % 4, Ipv4Address.FromUInt32(0xC0000200u + (uint)i), RouteOrigin.Static))];
        var routes = new Dictionary<(uint, int), Route4>();
        while (routes.Count < RouteCount)
        {
            Route4 r = RandomRoute4(random, routes.Values, hops);
            routes.TryAdd((r.Network.ToUInt32(), r.PrefixLength), r);
        }
        var table = new Routes();
        Assert.Equal(RouteChange.Added, table.AddMany([.. routes.Values], out _));
        Assert.True(table.Current.Ipv4.Tbl8Groups > 100, "the random routes should exercise tbl8 groups");

        List<Route4> expected = [.. routes.Values];
        Check4(random, table.Current, expected, Lookups);

        for (int change = 0; change < 40; change++)
        {
            if (change % 2 == 0)
            {
                Route4 gone = expected[random.Next(expected.Count)];
                Assert.Equal(RouteChange.Deleted, table.Delete(gone.Network, gone.PrefixLength));
                expected.Remove(gone);
                Check4Near(random, table.Current, expected, gone);
            }
            else
            {
                Route4 added = RandomRoute4(random, expected, hops);
                RouteChange result = table.Add(added.Network, added.PrefixLength, added.NextHop);
                if (result == RouteChange.Exists)
                    continue;
                Assert.Equal(RouteChange.Added, result);
                expected.Add(added);
                Check4Near(random, table.Current, expected, added);
            }
            Check4(random, table.Current, expected, 500);
        }
        Assert.Equal(expected.Count, table.Current.Routes4.Count);
    }

    [Theory]
    [InlineData(6464, null)] // many lengths: the binary search on lengths
    [InlineData(2460, null)]
    [InlineData(1717, new[] { 0, 48, 64, 128 })] // few: longest first, no markers
    [InlineData(4848, new[] { 0, 32, 48, 56, 64, 128 })]
    public void Ipv6_lookups_agree_with_a_linear_scan(int seed, int[]? lengths)
    {
        var random = new Random(seed);
        Route6 RandomRoute6(Random random, IEnumerable<Route6> existing, NextHop6[] hops) =>
            LpmDifferentialTests.RandomRoute6(random, existing, hops, lengths);
        NextHop6[] hops = [.. Enumerable.Range(0, 40).Select(i => new NextHop6(i % 4, new Ipv6Key(0xFE80_0000_0000_0000, (ulong)i + 1).ToAddress(), RouteOrigin.Static))];
        var routes = new Dictionary<(Ipv6Key, int), Route6>();
        while (routes.Count < RouteCount)
        {
            Route6 r = RandomRoute6(random, routes.Values, hops);
            routes.TryAdd((Ipv6Key.From(r.Network), r.PrefixLength), r);
        }
        var table = new Routes();
        Assert.Equal(RouteChange.Added, table.AddMany([.. routes.Values], out _));

        List<Route6> expected = [.. routes.Values];
        Check6(random, table.Current, expected, Lookups);

        for (int change = 0; change < 200; change++)
        {
            if (change % 2 == 0)
            {
                Route6 gone = expected[random.Next(expected.Count)];
                Assert.Equal(RouteChange.Deleted, table.Delete(gone.Network, gone.PrefixLength));
                expected.Remove(gone);
                Check6Near(random, table.Current, expected, gone);
            }
            else
            {
                Route6 added = RandomRoute6(random, expected, hops);
                RouteChange result = table.Add(added.Network, added.PrefixLength, added.NextHop);
                if (result == RouteChange.Exists)
                    continue;
                Assert.Equal(RouteChange.Added, result);
                expected.Add(added);
                Check6Near(random, table.Current, expected, added);
            }
        }
        Check6(random, table.Current, expected, Lookups / 4);
    }

    /// <summary>
    /// A route of any length (a default route now and then), half the time inside or around an
    /// existing one so that prefixes nest several deep, as real tables do.
    /// </summary>
    private static Route4 RandomRoute4(Random random, IEnumerable<Route4> existing, NextHop4[] hops)
    {
        int length = random.Next(100) switch
        {
            0 => 0,
            < 10 => random.Next(1, 16),
            < 60 => random.Next(16, 25),
            _ => random.Next(25, 33),
        };
        uint network = (uint)random.NextInt64(0, 1L << 32);
        if (random.Next(2) == 0 && existing.Any())
        {
            Route4 near = existing.ElementAt(random.Next(Math.Min(64, existing.Count())));
            network = near.Network.ToUInt32() ^ (uint)random.Next(1 << 12);
        }
        uint mask = Ipv4LpmTable.Mask(length);
        return new Route4(Ipv4Address.FromUInt32(network & mask), length, hops[random.Next(hops.Length)]);
    }

    private static Route6 RandomRoute6(Random random, IEnumerable<Route6> existing, NextHop6[] hops, int[]? lengths = null)
    {
        int[] common = [0, 16, 29, 32, 40, 48, 56, 60, 64, 64, 64, 96, 112, 127, 128, 128];
        int length = lengths is not null ? lengths[random.Next(lengths.Length)]
            : random.Next(4) == 0 ? random.Next(0, 129) : common[random.Next(common.Length)];
        var key = new Ipv6Key((ulong)random.NextInt64() | (ulong)random.Next(2) << 63, (ulong)random.NextInt64());
        if (random.Next(4) != 0 && existing.Any())
        {
            // Near another route: same top bits, so that many prefixes nest and share hashes' neighbourhoods.
            Ipv6Key near = Ipv6Key.From(existing.ElementAt(random.Next(Math.Min(64, existing.Count()))).Network);
            key = new Ipv6Key(near.High ^ (ulong)random.Next(1 << 8) << random.Next(0, 56), near.Low ^ (ulong)random.Next(1 << 16) << random.Next(0, 48));
        }
        return new Route6(key.And(Ipv6Key.Mask(length)).ToAddress(), length, hops[random.Next(hops.Length)]);
    }

    private static void Check4(Random random, RoutingTable table, List<Route4> expected, int count)
    {
        for (int i = 0; i < count; i++)
        {
            Ipv4Address destination = i % 2 == 0
                ? Ipv4Address.FromUInt32((uint)random.NextInt64(0, 1L << 32))
                : Around(random, expected[random.Next(expected.Count)]);
            Same(expected, table, destination);
        }
    }

    private static void Check4Near(Random random, RoutingTable table, List<Route4> expected, Route4 changed)
    {
        for (int i = 0; i < 64; i++)
            Same(expected, table, Around(random, changed));
    }

    /// <summary>An address at an edge of the route's range, just outside it, or inside it at random.</summary>
    private static Ipv4Address Around(Random random, Route4 r)
    {
        uint first = r.Network.ToUInt32();
        uint last = first | ~Ipv4LpmTable.Mask(r.PrefixLength);
        uint a = random.Next(5) switch
        {
            0 => first,
            1 => last,
            2 => first - 1,
            3 => last + 1,
            _ => first | ((uint)random.NextInt64(0, 1L << 32) & ~Ipv4LpmTable.Mask(r.PrefixLength)),
        };
        return Ipv4Address.FromUInt32(a);
    }

    private static void Same(List<Route4> expected, RoutingTable table, Ipv4Address destination)
    {
        NextHop4? want = NaiveLpm.Lookup(expected, destination);
        NextHop4? got = table.TryLookup(destination, out NextHop4 hop) ? hop : null;
        if (want != got)
            Assert.Fail($"{destination}: expected {want?.ToString() ?? "no route"}, got {got?.ToString() ?? "no route"}");
    }

    private static void Check6(Random random, RoutingTable table, List<Route6> expected, int count)
    {
        for (int i = 0; i < count; i++)
        {
            Ipv6Address destination = i % 4 == 0
                ? new Ipv6Key((ulong)random.NextInt64(), (ulong)random.NextInt64()).ToAddress()
                : Around(random, expected[random.Next(expected.Count)]);
            Same(expected, table, destination);
        }
    }

    private static void Check6Near(Random random, RoutingTable table, List<Route6> expected, Route6 changed)
    {
        for (int i = 0; i < 32; i++)
            Same(expected, table, Around(random, changed));
    }

    private static Ipv6Address Around(Random random, Route6 r)
    {
        Ipv6Key network = Ipv6Key.From(r.Network);
        Ipv6Key mask = Ipv6Key.Mask(r.PrefixLength);
        Ipv6Key host = new((ulong)random.NextInt64() & ~mask.High, (ulong)random.NextInt64() & ~mask.Low);
        Ipv6Key last = new(network.High | ~mask.High, network.Low | ~mask.Low);
        Ipv6Key a = random.Next(4) switch
        {
            0 => network,
            1 => last,
            // One past the end: flips bits at and above the prefix's last bit.
            2 => last.Low == ulong.MaxValue ? new(last.High + 1, 0) : new(last.High, last.Low + 1),
            _ => new(network.High | host.High, network.Low | host.Low),
        };
        return a.ToAddress();
    }

    private static void Same(List<Route6> expected, RoutingTable table, Ipv6Address destination)
    {
        NextHop6? want = NaiveLpm.Lookup(expected, destination);
        NextHop6? got = table.TryLookup(destination, out NextHop6 hop) ? hop : null;
        if (want != got)
            Assert.Fail($"{destination}: expected {want?.ToString() ?? "no route"}, got {got?.ToString() ?? "no route"}");
    }
}
