using System.Diagnostics.CodeAnalysis;
using Dataplane.Wire;

namespace Dataplane.Stack.Routing;

/// <summary>Building a DIR-24-8 snapshot from a route set.</summary>
internal sealed partial class Ipv4LpmTable
{
    /// <summary>
    /// Builds the table of <paramref name="routes"/> (distinct prefixes, host bits clear, lengths
    /// 0 to 32). False when they need more than <paramref name="maxGroups"/> tbl8 groups or more
    /// than <see cref="MaxNextHops"/> distinct next hops.
    /// </summary>
    /// <remarks>
    /// The table is painted from scratch, shorter prefixes first, so a longer prefix overwrites the
    /// entries of the shorter ones it lies in and every entry ends up with the longest prefix that
    /// covers it; a tbl8 group starts as a copy of the tbl24 entry above it (the longest prefix of
    /// /24 or less) and is painted the same way. Rebuilding rather than patching a copy, as
    /// rte_lpm_add and rte_lpm_delete patch the live table, makes a delete as simple as an add (no
    /// search for the prefix that takes over, no depth per entry) and frees the groups of /24s left
    /// without long prefixes by construction. The cost is a pass over tbl24 per change: milliseconds
    /// on the control thread, and the snapshot it replaces is garbage once the workers move on.
    /// </remarks>
    public static bool TryBuild(IReadOnlyCollection<Route4> routes, int maxGroups, [NotNullWhen(true)] out Ipv4LpmTable? table)
    {
        table = null;
        if (routes.Count == 0)
        {
            table = Empty;
            return true;
        }
        Route4[] painted = [.. routes];
        Array.Sort(painted, static (a, b) => a.PrefixLength != b.PrefixLength
            ? a.PrefixLength.CompareTo(b.PrefixLength)
            : a.Network.CompareTo(b.Network));

        var groupOfBlock = new Dictionary<uint, int>();
        foreach (Route4 r in painted)
        {
            if (r.PrefixLength > 24)
                groupOfBlock.TryAdd(r.Network.ToUInt32() >> 8, groupOfBlock.Count);
        }
        if (groupOfBlock.Count > maxGroups)
            return false;

        var hopIndex = new Dictionary<NextHop4, int>();
        var hops = new List<NextHop4> { default };
        ushort[] tbl24 = GC.AllocateUninitializedArray<ushort>(Tbl24Entries);
        tbl24.AsSpan().Clear();
        ushort[] tbl8 = new ushort[groupOfBlock.Count * Tbl8GroupEntries];

        int i = 0;
        for (; i < painted.Length && painted[i].PrefixLength <= 24; i++)
        {
            if (!TryIndex(painted[i].NextHop, hopIndex, hops, out ushort entry))
                return false;
            uint network = painted[i].Network.ToUInt32();
            tbl24.AsSpan((int)(network >> 8), 1 << (24 - painted[i].PrefixLength)).Fill(entry);
        }
        foreach ((uint block, int group) in groupOfBlock)
            tbl8.AsSpan(group * Tbl8GroupEntries, Tbl8GroupEntries).Fill(tbl24[block]);
        for (; i < painted.Length; i++)
        {
            if (!TryIndex(painted[i].NextHop, hopIndex, hops, out ushort entry))
                return false;
            uint network = painted[i].Network.ToUInt32();
            int group = groupOfBlock[network >> 8];
            tbl8.AsSpan(group * Tbl8GroupEntries + (int)(network & 0xFF), 1 << (32 - painted[i].PrefixLength)).Fill(entry);
        }
        foreach ((uint block, int group) in groupOfBlock)
            tbl24[block] = (ushort)(GroupFlag | group);

        Route4[] shown = [.. routes];
        Array.Sort(shown, static (a, b) => a.Network != b.Network
            ? a.Network.CompareTo(b.Network)
            : a.PrefixLength.CompareTo(b.PrefixLength));
        table = new Ipv4LpmTable(tbl24, tbl8, [.. hops], shown);
        return true;
    }

    /// <summary>True when <paramref name="network"/>/<paramref name="length"/> is a prefix: length 0 to 32, no bit set past it.</summary>
    public static bool IsPrefix(Ipv4Address network, int length)
        => (uint)length <= 32 && (network.ToUInt32() & ~Mask(length)) == 0;

    /// <summary>The netmask of a prefix <paramref name="length"/> (0 to 32) as a number.</summary>
    public static uint Mask(int length) => length == 0 ? 0 : uint.MaxValue << (32 - length);

    /// <summary>The entry that names <paramref name="hop"/>, adding it to the next hops when new.</summary>
    private static bool TryIndex(NextHop4 hop, Dictionary<NextHop4, int> index, List<NextHop4> hops, out ushort entry)
    {
        if (!index.TryGetValue(hop, out int i))
        {
            i = hops.Count;
            if (i > MaxNextHops)
            {
                entry = 0;
                return false;
            }
            index.Add(hop, i);
            hops.Add(hop);
        }
        entry = (ushort)i;
        return true;
    }
}
