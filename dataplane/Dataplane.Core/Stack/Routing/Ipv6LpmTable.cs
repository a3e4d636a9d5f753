using System.Collections.ObjectModel;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Dataplane.Wire;

namespace Dataplane.Stack.Routing;

/// <summary>
/// IPv6 longest-prefix match by binary search on prefix lengths (Waldvogel, Varghese, Turner and
/// Plattner, "Scalable High Speed IP Routing Lookups", SIGCOMM 1997): one hash table per distinct
/// prefix length, probed in the order of a binary search over the sorted lengths, so a lookup makes
/// at most ceil(log2(lengths + 1)) probes, 6 for the 33 lengths of a table of /16 to /48s, where a
/// search longest first makes one probe per length longer than the match (all of them for a
/// destination only the default route covers). A table of a few lengths is still searched longest
/// first (<see cref="LongestFirstUpTo"/>).
/// </summary>
/// <remarks>
/// <para>
/// A probe that hits goes on to the longer half, one that misses to the shorter. A hit need not be a
/// route: every prefix leaves a <em>marker</em> (itself cut to that length) at each length where the
/// search toward its own length turns to the longer half, so that the search turns there for an
/// address it covers. Every entry, route or marker, carries its best match: the longest route of its
/// length or shorter that contains it, computed when the table is built, so a marker that leads the
/// search astray (no longer route matches) still leaves the right answer behind, and the answer is
/// the best match of the last hit.
/// </para>
/// <para>
/// Why not a multibit trie: real IPv6 tables use few distinct lengths (a router here has ::/0, some
/// /48 or /56, the /64s of its links and perhaps some /128s), so a lookup is a few probes into small
/// tables, each a mask, a hash and usually one compare; a stride-8 trie walks up to 16 levels of
/// dependent loads for a /128 and needs 256-entry nodes per level.
/// </para>
/// <para>
/// Each table is open addressing with linear probing over structs (key, route, best match), at most
/// a quarter full, so a miss ends at an empty slot within a slot or two; keys are <see cref="Ipv6Key"/>
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

    /// <summary>Distinct prefix lengths: one hash table each, of which a lookup probes at most ceil(log2(PrefixLengths + 1)) (past <see cref="LongestFirstUpTo"/>).</summary>
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

    /// <summary>
    /// Up to this many distinct lengths a lookup probes longest first instead: with a few lengths
    /// (::/0, /48, /64, /128) and traffic mostly to the longer ones, the first probe or two hit,
    /// where a binary search always makes about log2 of them. Such a table has no markers: the
    /// first hit longest first is a route, and the answer.
    /// </summary>
    internal const int LongestFirstUpTo = 6;

    /// <summary>The next hops the routes share, not counting index 0 (none).</summary>
    public int NextHops => _hops.Length - 1;

    /// <summary>
    /// An object of this snapshot's alone, and small (its next-hop array, made anew by every build):
    /// the key of what a worker keeps about the snapshot (<see cref="Neighbors.GatewayNeighbors{TAddress}"/>),
    /// so that what it keeps does not hold the snapshot's tables alive after the routes change.
    /// </summary>
    internal object SnapshotKey => _hops;

    /// <summary>The next hop of the longest prefix that contains <paramref name="destination"/>; false when none does.</summary>
    public bool TryLookup(in Ipv6Address destination, out NextHop6 hop)
    {
        int index = Lookup(destination);
        hop = _hops[index];
        return index != 0;
    }

    /// <summary>The next hop of <paramref name="index"/>, as <see cref="Lookup"/> found it (0: none, the default value).</summary>
    public ref readonly NextHop6 NextHop(int index) => ref _hops[index];

    /// <summary>
    /// The index in this snapshot of the next hop of the longest prefix that contains
    /// <paramref name="destination"/> (1 to <see cref="NextHops"/>; <see cref="NextHop"/> reads it
    /// in place), or 0 when none does.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] // into the forwarding body: one call less a packet
    public int Lookup(in Ipv6Address destination)
    {
        Ipv6Key address = Ipv6Key.From(destination);
        LengthTable[] lengths = _lengths; // shortest first
        int best = 0; // the best match of the last hit; 0: none
        if (lengths.Length <= LongestFirstUpTo)
        {
            // k runs over the array's indexes only: read without a bounds check (the JIT keeps one
            // in a loop that counts down).
            ref LengthTable shortest = ref MemoryMarshal.GetArrayDataReference(lengths);
            for (int k = lengths.Length - 1; k >= 0; k--)
            {
                if (Probe(in Unsafe.Add(ref shortest, k), address, out best))
                    break;
            }
        }
        else
        {
            int low = 0, high = lengths.Length - 1;
            while (low <= high)
            {
                int middle = (low + high) >>> 1;
                if (Probe(in lengths[middle], address, out int found))
                {
                    best = found;
                    low = middle + 1; // a route or a marker here: a longer match may exist
                }
                else
                {
                    high = middle - 1; // nothing at this length: nothing longer on this path either
                }
            }
        }
        return best;
    }

    /// <summary>Looks <paramref name="address"/> cut to the table's length up in it: true on a hit, with the entry's best match.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool Probe(in LengthTable table, Ipv6Key address, out int best)
    {
        Ipv6Key key = address.And(table.Mask);
        Slot[] slots = table.Slots;
        int mask = slots.Length - 1;
        // The home slot is the hash's top log2(Length) bits and every later one is masked, so each
        // index lies in the array: the slots are read without a bounds check.
        ref Slot first = ref MemoryMarshal.GetArrayDataReference(slots);
        for (int i = table.Home(key); ; i = (i + 1) & mask)
        {
            ref readonly Slot slot = ref Unsafe.Add(ref first, i);
            if (slot.Kind == SlotKind.Empty)
            {
                best = 0;
                return false;
            }
            if (slot.Key.High == key.High && slot.Key.Low == key.Low)
            {
                best = slot.Best;
                return true;
            }
        }
    }

    /// <summary>What a slot holds.</summary>
    private enum SlotKind : byte
    {
        /// <summary>Nothing: a probe ends here.</summary>
        Empty,

        /// <summary>A route of this length.</summary>
        Route,

        /// <summary>A marker: a longer route cut to this length, and no route of this length.</summary>
        Marker,
    }

    /// <summary>
    /// One slot of a length's table: a network, whether it is a route or a marker, and the next-hop
    /// index of its best match (the longest route of this length or shorter containing it; 0: none).
    /// </summary>
    private readonly record struct Slot(Ipv6Key Key, SlotKind Kind, int Best);

    /// <summary>The networks of one prefix length, in a power-of-two table at most a quarter full.</summary>
    private readonly struct LengthTable
    {
        private readonly int _shift; // the hash's top log2(Slots.Length) bits are the home slot

        public LengthTable(Ipv6Key mask, Slot[] slots)
        {
            // Probe reads slots without bounds checks on this: a power of two of at least two slots
            // makes the shift 63 or less, so Home lies in the array (a shift of 64 would be 0 in C#).
            if (slots.Length < 2 || !BitOperations.IsPow2(slots.Length))
                throw new ArgumentException($"{slots.Length} slots: a length's table has a power of two of at least 2", nameof(slots));
            Mask = mask;
            Slots = slots;
            _shift = 64 - BitOperations.Log2((uint)slots.Length);
        }


        /// <summary>The netmask of its prefix length.</summary>
        public Ipv6Key Mask { get; }

        /// <summary>The slots, a power of two of them (<see cref="Capacity"/>).</summary>
        public Slot[] Slots { get; }

        /// <summary>Where <paramref name="key"/>'s probe starts.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public int Home(Ipv6Key key) => (int)(key.Hash() >> _shift);

        /// <summary>
        /// Slots for <paramref name="count"/> networks: a power of two at least four times the count.
        /// Most probes of a lookup miss (every length longer than the match, searched longest first),
        /// and a miss walks to an empty slot: about 2.5 slots on average half full, 1.4 a quarter full
        /// (Knuth's linear probing estimate, (1 + 1/(1 - load)^2) / 2).
        /// </summary>
        public static int Capacity(int count) => (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(4, count * 4));
    }
}
