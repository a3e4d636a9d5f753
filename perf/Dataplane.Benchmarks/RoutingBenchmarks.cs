using BenchmarkDotNet.Attributes;
using Dataplane.Stack.Routing;
using Dataplane.Wire;

namespace Dataplane.Benchmarks;

/// <summary>
/// The routing table: lookups of both families over 1,000 routes and a default, with destinations
/// spread over the whole space (so that most IPv4 lookups miss the cache in the 32 MiB tbl24, as
/// forwarding of many flows does) and the control-path cost of a change. One lookup operation is
/// one destination looked up.
/// </summary>
[MemoryDiagnoser]
public class RoutingBenchmarks
{
    private const int Destinations = 4096;

    private Routes _routes = null!;
    private RoutingTable _table = null!;
    private readonly Ipv4Address[] _destinations = new Ipv4Address[Destinations];
    private readonly Ipv6Address[] _destinations6 = new Ipv6Address[Destinations];
    private Route4[] _thousand = [];

    /// <summary>1,000 IPv4 routes of /8 to /32 (a fifth longer than /24), 1,000 IPv6 routes of /48 to /128, a default for each.</summary>
    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(1998);
        var v4 = new Dictionary<(uint, int), Route4>();
        while (v4.Count < 1000)
        {
            int length = random.Next(5) == 0 ? random.Next(25, 33) : random.Next(8, 25);
            uint network = (uint)random.NextInt64(0, 1L << 32) & Ipv4LpmTable.Mask(length);
            v4.TryAdd((network, length), new Route4(Ipv4Address.FromUInt32(network), length, new NextHop4(random.Next(4), Ipv4Address.FromUInt32(0x0A000001u + (uint)random.Next(16)), RouteOrigin.Static)));
        }
        _thousand = [.. v4.Values];
        _routes = new Routes();
        _routes.AddMany(_thousand, out _);
        _routes.Add(Ipv4Address.Any, 0, new NextHop4(0, Ipv4Address.FromUInt32(0x0A0000FEu), RouteOrigin.Static));

        int[] lengths6 = [48, 56, 64, 64, 64, 128];
        var v6 = new Dictionary<(Ipv6Key, int), Route6>();
        while (v6.Count < 1000)
        {
            int length = lengths6[random.Next(lengths6.Length)];
            Ipv6Key network = new Ipv6Key(0x2001_0db8_0000_0000UL | (ulong)random.Next(1 << 20) << 8, (ulong)random.NextInt64()).And(Ipv6Key.Mask(length));
            v6.TryAdd((network, length), new Route6(network.ToAddress(), length, new NextHop6(random.Next(4), new Ipv6Key(0xFE80UL << 48, 1).ToAddress(), RouteOrigin.Static)));
        }
        _routes.AddMany([.. v6.Values], out _);
        _routes.Add(Ipv6Address.Any, 0, new NextHop6(0, new Ipv6Key(0xFE80UL << 48, 2).ToAddress(), RouteOrigin.Static));
        _table = _routes.Current;

        Route6[] routes6 = [.. v6.Values];
        for (int i = 0; i < Destinations; i++)
        {
            _destinations[i] = Ipv4Address.FromUInt32((uint)random.NextInt64(0, 1L << 32));
            // Three in four IPv6 destinations inside a route, the rest falling through to the default.
            Ipv6Key inside = Ipv6Key.From(routes6[random.Next(routes6.Length)].Network);
            _destinations6[i] = (random.Next(4) == 0 ? new Ipv6Key(0x2001_0db9UL << 32, (ulong)i) : new Ipv6Key(inside.High, inside.Low | (ulong)(uint)random.Next())).ToAddress();
        }
    }

    /// <summary>DIR-24-8: one or two loads per destination.</summary>
    [Benchmark(OperationsPerInvoke = Destinations)]
    public int LookupIpv4()
    {
        RoutingTable table = _table;
        int sum = 0;
        foreach (Ipv4Address d in _destinations)
        {
            if (table.TryLookup(d, out NextHop4 hop))
                sum += hop.Interface;
        }
        return sum;
    }

    /// <summary>Hash per prefix length: five lengths, longest first.</summary>
    [Benchmark(OperationsPerInvoke = Destinations)]
    public int LookupIpv6()
    {
        RoutingTable table = _table;
        int sum = 0;
        foreach (ref readonly Ipv6Address d in _destinations6.AsSpan())
        {
            if (table.TryLookup(in d, out NextHop6 hop))
                sum += hop.Interface;
        }
        return sum;
    }

    /// <summary>ctl route add then route delete of a /25 beside 1,000 routes: two IPv4 snapshots built.</summary>
    [Benchmark]
    public long AddDeleteIpv4()
    {
        _routes.Add(Ipv4Address.FromUInt32(0xC6336480u), 25, new NextHop4(1, Ipv4Address.FromUInt32(0x0A000001u), RouteOrigin.Static));
        _routes.Delete(Ipv4Address.FromUInt32(0xC6336480u), 25);
        return _routes.Current.Generation;
    }

    /// <summary>Start-up: 1,000 IPv4 routes in one snapshot.</summary>
    [Benchmark]
    public long AddMany1000Ipv4()
    {
        var routes = new Routes();
        routes.AddMany(_thousand, out _);
        return routes.Current.Ipv4.SizeInBytes;
    }
}
