using Dataplane.Stack.Routing;
using Dataplane.Wire;

namespace Dataplane.Tests.Stack.Routing;

/// <summary>
/// The oracle: longest-prefix match by scanning every route and comparing bit by bit over the
/// address bytes, sharing no code with the tables under test.
/// </summary>
internal static class NaiveLpm
{
    public static NextHop4? Lookup(IReadOnlyList<Route4> routes, Ipv4Address destination)
    {
        Span<byte> d = stackalloc byte[4], n = stackalloc byte[4];
        destination.CopyTo(d);
        NextHop4? best = null;
        int bestLength = -1;
        foreach (Route4 r in routes)
        {
            r.Network.CopyTo(n);
            if (r.PrefixLength > bestLength && SameFirstBits(d, n, r.PrefixLength))
                (best, bestLength) = (r.NextHop, r.PrefixLength);
        }
        return best;
    }

    public static NextHop6? Lookup(IReadOnlyList<Route6> routes, Ipv6Address destination)
    {
        Span<byte> d = stackalloc byte[16], n = stackalloc byte[16];
        destination.CopyTo(d);
        NextHop6? best = null;
        int bestLength = -1;
        foreach (Route6 r in routes)
        {
            r.Network.CopyTo(n);
            if (r.PrefixLength > bestLength && SameFirstBits(d, n, r.PrefixLength))
                (best, bestLength) = (r.NextHop, r.PrefixLength);
        }
        return best;
    }

    private static bool SameFirstBits(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b, int bits)
    {
        for (int i = 0; i < bits; i++)
        {
            int bit = 7 - (i & 7);
            if (((a[i >> 3] >> bit) & 1) != ((b[i >> 3] >> bit) & 1))
                return false;
        }
        return true;
    }
}
