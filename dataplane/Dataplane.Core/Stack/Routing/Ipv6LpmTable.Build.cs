namespace Dataplane.Stack.Routing;

/// <summary>Building a hash-per-length snapshot from a route set.</summary>
internal sealed partial class Ipv6LpmTable
{
    /// <summary>Builds the table of <paramref name="routes"/> (distinct prefixes, host bits clear, lengths 0 to 128).</summary>
    public static Ipv6LpmTable Build(IReadOnlyCollection<Route6> routes)
    {
        if (routes.Count == 0)
            return Empty;
        var hopIndex = new Dictionary<NextHop6, int>();
        var hops = new List<NextHop6> { default };
        var byLength = new SortedDictionary<int, List<Route6>>(Comparer<int>.Create(static (a, b) => b.CompareTo(a)));
        foreach (Route6 r in routes)
        {
            if (!byLength.TryGetValue(r.PrefixLength, out List<Route6>? list))
                byLength.Add(r.PrefixLength, list = []);
            list.Add(r);
        }

        var lengths = new LengthTable[byLength.Count];
        int n = 0;
        foreach ((int length, List<Route6> list) in byLength)
        {
            var slots = new Slot[LengthTable.Capacity(list.Count)];
            int mask = slots.Length - 1;
            foreach (Route6 r in list)
            {
                if (!hopIndex.TryGetValue(r.NextHop, out int hop))
                {
                    hop = hops.Count;
                    hopIndex.Add(r.NextHop, hop);
                    hops.Add(r.NextHop);
                }
                Ipv6Key key = Ipv6Key.From(r.Network);
                int i = (int)key.Mix() & mask;
                while (slots[i].Hop != 0)
                    i = (i + 1) & mask;
                slots[i] = new Slot(key, hop);
            }
            lengths[n++] = new LengthTable(length, Ipv6Key.Mask(length), slots);
        }

        Route6[] shown = [.. routes];
        Array.Sort(shown, static (a, b) =>
        {
            int byNetwork = Ipv6Key.From(a.Network).CompareTo(Ipv6Key.From(b.Network));
            return byNetwork != 0 ? byNetwork : a.PrefixLength.CompareTo(b.PrefixLength);
        });
        return new Ipv6LpmTable(lengths, [.. hops], shown);
    }
}
