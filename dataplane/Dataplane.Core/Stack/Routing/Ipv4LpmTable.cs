using System.Collections.ObjectModel;
using System.Runtime.CompilerServices;
using Dataplane.Wire;

namespace Dataplane.Stack.Routing;

/// <summary>
/// IPv4 longest-prefix match by DIR-24-8 (Gupta, Lin and McKeown, "Routing Lookups in Hardware at
/// Memory Access Speeds", INFOCOM 1998), laid out as DPDK's rte_lpm lays it out: a first-level table
/// (tbl24) of 2^24 entries indexed by the top 24 bits of the destination, each entry either a
/// next-hop index or the number of a 256-entry second-level group (tbl8) indexed by the last byte,
/// for the /24s that have prefixes longer than /24. A lookup is one load, two for those /24s.
/// Next hops are deduplicated into a small array that the entries index.
/// </summary>
/// <remarks>
/// <para>
/// Entries are <c>ushort</c>: bit 15 says "tbl8 group", bits 0-14 hold the group number or the
/// next-hop index, and 0 is "no route" (next-hop slot 0 is never used). rte_lpm keeps 32-bit entries
/// because it updates the live table in place and so needs each entry's prefix depth and valid bits
/// beside the next hop; this table is an immutable snapshot rebuilt from the route set on the
/// control thread (see <see cref="TryBuild"/>), so it carries only what a lookup reads. Half the
/// width halves tbl24 from 64 MiB to 32 MiB, which halves the cache lines and TLB reach a random
/// lookup needs, at the cost of 15-bit limits: 32 768 tbl8 groups and 32 767 distinct next hops.
/// </para>
/// <para>
/// A snapshot is never written after it is built, so any number of workers read it at once without
/// locks or barriers. A table with no route has empty arrays: the bounds check that guards tbl24
/// (which a lookup pays anyway) then answers "no route", and a stack without IPv4 routes costs nothing.
/// </para>
/// </remarks>
internal sealed partial class Ipv4LpmTable
{
    /// <summary>Entries of tbl24: one per /24.</summary>
    public const int Tbl24Entries = 1 << 24;

    /// <summary>Entries of one tbl8 group: one per address of a /24.</summary>
    public const int Tbl8GroupEntries = 256;

    /// <summary>The most tbl8 groups the 15 bits of an entry can number.</summary>
    public const int MaxGroups = 1 << 15;

    /// <summary>The most distinct next hops the 15 bits of an entry can index (slot 0 means no route).</summary>
    public const int MaxNextHops = (1 << 15) - 1;

    /// <summary>Set in a tbl24 entry that names a tbl8 group rather than a next hop.</summary>
    private const int GroupFlag = 0x8000;

    private readonly ushort[] _tbl24;
    private readonly ushort[] _tbl8;
    private readonly NextHop4[] _hops;
    private readonly ReadOnlyCollection<Route4> _routes;

    private Ipv4LpmTable(ushort[] tbl24, ushort[] tbl8, NextHop4[] hops, Route4[] routes)
    {
        _tbl24 = tbl24;
        _tbl8 = tbl8;
        _hops = hops;
        _routes = Array.AsReadOnly(routes);
    }

    /// <summary>The table with no route: it answers every lookup with "no route".</summary>
    public static Ipv4LpmTable Empty { get; } = new([], [], [default], []);

    /// <summary>The routes, sorted by network and then prefix length.</summary>
    public IReadOnlyList<Route4> Routes => _routes;

    /// <summary>tbl8 groups in use: the /24s that have a prefix longer than /24 in them.</summary>
    public int Tbl8Groups => _tbl8.Length / Tbl8GroupEntries;

    /// <summary>Distinct next hops the entries index.</summary>
    public int NextHops => _hops.Length - 1;

    /// <summary>
    /// An object of this snapshot's alone, and small (its next-hop array, made anew by every build):
    /// the key of what a worker keeps about the snapshot (<see cref="Neighbors.GatewayNeighbors{TAddress}"/>),
    /// so that what it keeps does not hold the snapshot's tables alive after the routes change.
    /// </summary>
    internal object SnapshotKey => _hops;

    /// <summary>Bytes of the snapshot's arrays: tbl24, the tbl8 groups, the next hops and the route list.</summary>
    public long SizeInBytes
        => (long)_tbl24.Length * sizeof(ushort) + (long)_tbl8.Length * sizeof(ushort)
        + (long)_hops.Length * Unsafe.SizeOf<NextHop4>() + (long)_routes.Count * Unsafe.SizeOf<Route4>();

    /// <summary>The next hop of the longest prefix that contains <paramref name="destination"/>; false when none does.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryLookup(Ipv4Address destination, out NextHop4 hop) => TryLookup(destination, out hop, out _);

    /// <summary>
    /// As <see cref="TryLookup(Ipv4Address, out NextHop4)"/>, with the next hop's index in this
    /// snapshot (1 to <see cref="NextHops"/>): the key of what a worker keeps per next hop.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryLookup(Ipv4Address destination, out NextHop4 hop, out int index)
    {
        uint address = destination.ToUInt32();
        ushort[] tbl24 = _tbl24;
        uint slot = address >> 8;
        // One compare that the array access would make anyway: an empty table fails it.
        if (slot >= (uint)tbl24.Length)
        {
            hop = default;
            index = 0;
            return false;
        }
        int entry = tbl24[slot];
        if ((entry & GroupFlag) != 0)
            entry = _tbl8[(entry & ~GroupFlag) << 8 | (int)(address & 0xFF)];
        hop = _hops[entry];
        index = entry;
        return entry != 0;
    }
}
