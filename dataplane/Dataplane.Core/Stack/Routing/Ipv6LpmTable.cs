using System.Collections.ObjectModel;
using System.Numerics;
using System.Runtime.CompilerServices;
using Dataplane.Wire;

namespace Dataplane.Stack.Routing;

/// <summary>
/// IPv6 longest-prefix match by one hash table per distinct prefix length, searched longest first:
/// the destination masked to each length is looked up in that length's table, and the first hit is
/// the longest match.
/// </summary>
/// <remarks>
/// <para>
/// Why this rather than a multibit trie: real IPv6 tables use few distinct lengths (a router here
/// has ::/0, a few /48 or /56, the /64s of its links and perhaps some /128s), so a lookup is a
/// handful of probes into small tables, each a mask, a hash and usually one compare; a stride-8 trie
/// walks up to 16 levels of dependent loads for a /128 and needs 256-entry nodes per level. The cost
/// of this scheme grows with the number of distinct lengths (129 at worst); when that matters,
/// Waldvogel's binary search on prefix lengths (SIGCOMM 1997) fixes it with markers in the same
/// tables, at the price of more build logic.
/// </para>
/// <para>
/// Each table is open addressing with linear probing over structs (key, next-hop index), at most
/// half full, so a miss ends at an empty slot within a probe or two; keys are <see cref="Ipv6Key"/>
/// values compared field by field: nothing boxes and a lookup allocates nothing. Like
/// <see cref="Ipv4LpmTable"/>, a snapshot is never written after it is built.
/// </para>
/// </remarks>
internal sealed partial class Ipv6LpmTable
{
    private readonly LengthTable[] _lengths;
    private readonly NextHop6[] _hops;
    private readonly ReadOnlyCollection<Route6> _routes;

    private Ipv6LpmTable(LengthTable[] lengths, NextHop6[] hops, Route6[] routes)
    {
        _lengths = lengths;
        _hops = hops;
        _routes = Array.AsReadOnly(routes);
    }

    /// <summary>The table with no route: it answers every lookup with "no route".</summary>
    public static Ipv6LpmTable Empty { get; } = new([], [default], []);

    /// <summary>The routes, sorted by network and then prefix length.</summary>
    public IReadOnlyList<Route6> Routes => _routes;

    /// <summary>Distinct prefix lengths: the most hash tables a lookup probes.</summary>
    public int PrefixLengths => _lengths.Length;

    /// <summary>Bytes of the snapshot's arrays: the hash tables, the next hops and the route list.</summary>
    public long SizeInBytes
    {
        get
        {
            long bytes = (long)_hops.Length * Unsafe.SizeOf<NextHop6>() + (long)_routes.Count * Unsafe.SizeOf<Route6>();
            foreach (LengthTable t in _lengths)
                bytes += (long)t.Slots.Length * Unsafe.SizeOf<Slot>();
            return bytes;
        }
    }

    /// <summary>The next hop of the longest prefix that contains <paramref name="destination"/>; false when none does.</summary>
    public bool TryLookup(in Ipv6Address destination, out NextHop6 hop)
    {
        Ipv6Key address = Ipv6Key.From(destination);
        foreach (ref readonly LengthTable table in _lengths.AsSpan())
        {
            Ipv6Key key = address.And(table.Mask);
            Slot[] slots = table.Slots;
            int mask = slots.Length - 1;
            int i = (int)key.Mix() & mask;
            while (true)
            {
                ref readonly Slot slot = ref slots[i];
                if (slot.Hop == 0)
                    break;
                if (slot.Key.High == key.High && slot.Key.Low == key.Low)
                {
                    hop = _hops[slot.Hop];
                    return true;
                }
                i = (i + 1) & mask;
            }
        }
        hop = default;
        return false;
    }

    /// <summary>One slot of a length's table: a network and its next-hop index, 0 when the slot is empty.</summary>
    private readonly record struct Slot(Ipv6Key Key, int Hop);

    /// <summary>The networks of one prefix length, in a power-of-two table at most half full.</summary>
    private readonly record struct LengthTable(int Length, Ipv6Key Mask, Slot[] Slots)
    {
        /// <summary>Slots for <paramref name="count"/> networks: a power of two at least twice the count.</summary>
        public static int Capacity(int count) => (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(2, count * 2));
    }
}
