namespace Dataplane.Stack.Routing;

/// <summary>Building a binary-search-on-lengths snapshot from a route set.</summary>
internal sealed partial class Ipv6LpmTable
{
    /// <summary>Builds the table of <paramref name="routes"/> (distinct prefixes, host bits clear, lengths 0 to 128).</summary>
    public static Ipv6LpmTable Build(IReadOnlyCollection<Route6> routes)
    {
        if (routes.Count == 0)
            return Empty;
        var hopIndex = new Dictionary<NextHop6, int>();
        var hops = new List<NextHop6> { default };
        int[] lengths = [.. routes.Select(r => r.PrefixLength).Distinct().Order()];
        var level = new Dictionary<int, int>(); // prefix length -> its index in lengths
        for (int k = 0; k < lengths.Length; k++)
            level[lengths[k]] = k;

        // The routes of each length, network -> next-hop index.
        var real = new Dictionary<Ipv6Key, int>[lengths.Length];
        for (int k = 0; k < lengths.Length; k++)
            real[k] = [];
        foreach (Route6 r in routes)
        {
            if (!hopIndex.TryGetValue(r.NextHop, out int hop))
            {
                hop = hops.Count;
                hopIndex.Add(r.NextHop, hop);
                hops.Add(r.NextHop);
            }
            real[level[r.PrefixLength]][Ipv6Key.From(r.Network)] = hop;
        }

        // The markers: each route cut to every length where the binary search toward its own turns
        // longer. None for a table searched longest first, whose tables they would only fill.
        var markers = new HashSet<Ipv6Key>[lengths.Length];
        for (int k = 0; k < lengths.Length; k++)
            markers[k] = [];
        foreach (Route6 r in lengths.Length > LongestFirstUpTo ? routes : [])
        {
            Ipv6Key network = Ipv6Key.From(r.Network);
            int target = level[r.PrefixLength];
            int low = 0, high = lengths.Length - 1;
            while (low <= high)
            {
                int middle = (low + high) >>> 1;
                if (middle == target)
                    break;
                if (middle < target)
                {
                    Ipv6Key cut = network.And(Ipv6Key.Mask(lengths[middle]));
                    if (!real[middle].ContainsKey(cut))
                        markers[middle].Add(cut);
                    low = middle + 1;
                }
                else
                {
                    high = middle - 1;
                }
            }
        }

        var tables = new LengthTable[lengths.Length];
        for (int k = 0; k < lengths.Length; k++)
        {
            var table = new LengthTable(Ipv6Key.Mask(lengths[k]), new Slot[LengthTable.Capacity(real[k].Count + markers[k].Count)]);
            foreach ((Ipv6Key key, int hop) in real[k])
                Place(table, new Slot(key, SlotKind.Route, hop));
            foreach (Ipv6Key key in markers[k])
                Place(table, new Slot(key, SlotKind.Marker, BestMatch(real, lengths, key, k - 1)));
            tables[k] = table;
        }

        Route6[] shown = [.. routes];
        Array.Sort(shown, static (a, b) =>
        {
            int byNetwork = Ipv6Key.From(a.Network).CompareTo(Ipv6Key.From(b.Network));
            return byNetwork != 0 ? byNetwork : a.PrefixLength.CompareTo(b.PrefixLength);
        });
        return new Ipv6LpmTable(tables, [.. hops], shown);
    }

    /// <summary>The next-hop index of the longest route of level <paramref name="from"/> or shorter that contains <paramref name="key"/>; 0 when none does.</summary>
    private static int BestMatch(Dictionary<Ipv6Key, int>[] real, int[] lengths, Ipv6Key key, int from)
    {
        for (int k = from; k >= 0; k--)
        {
            if (real[k].TryGetValue(key.And(Ipv6Key.Mask(lengths[k])), out int hop))
                return hop;
        }
        return 0;
    }

    /// <summary>
    /// The farthest any entry, route or marker, lies from its home slot: what a lookup that finds
    /// it walks beyond the first slot. Small with a hash that spreads the table's keys (a test's
    /// measure of <see cref="Ipv6Key.Hash"/> on regular address plans).
    /// </summary>
    internal int LongestProbe()
    {
        int longest = 0;
        foreach (LengthTable table in _lengths)
        {
            int mask = table.Slots.Length - 1;
            for (int i = 0; i < table.Slots.Length; i++)
            {
                if (table.Slots[i].Kind != SlotKind.Empty)
                    longest = Math.Max(longest, (i - table.Home(table.Slots[i].Key)) & mask);
            }
        }
        return longest;
    }

    private static void Place(in LengthTable table, Slot slot)
    {
        Slot[] slots = table.Slots;
        int mask = slots.Length - 1;
        int i = table.Home(slot.Key);
        while (slots[i].Kind != SlotKind.Empty)
            i = (i + 1) & mask;
        slots[i] = slot;
    }
}
