using System.Runtime.CompilerServices;
using Dataplane.Wire;

namespace Dataplane.Stack.Routing;

/// <summary>
/// An immutable snapshot of the routes of both families, read by every worker at once without
/// locks; lookups allocate nothing. <see cref="Routes"/> builds a new one for every change and
/// publishes it with one volatile write; a worker reads <see cref="Routes.Current"/> once per packet
/// or per burst and keeps using the snapshot it got, which no one ever writes again.
/// </summary>
/// <remarks>
/// The two families are separate snapshots (<see cref="Ipv4LpmTable"/>, <see cref="Ipv6LpmTable"/>)
/// shared between tables: an IPv6 change reuses the IPv4 arrays as they are, and the other way round.
/// </remarks>
internal sealed class RoutingTable
{
    private readonly Ipv4LpmTable _ipv4;
    private readonly Ipv6LpmTable _ipv6;

    /// <summary>A table of the two family snapshots; <paramref name="generation"/> counts the changes before it.</summary>
    internal RoutingTable(Ipv4LpmTable ipv4, Ipv6LpmTable ipv6, long generation)
    {
        _ipv4 = ipv4;
        _ipv6 = ipv6;
        Generation = generation;
    }

    /// <summary>The table with no route at all.</summary>
    public static RoutingTable Empty { get; } = new(Ipv4LpmTable.Empty, Ipv6LpmTable.Empty, 0);

    /// <summary>
    /// How many changes were published before this table: a worker that caches per-destination
    /// answers compares it with the one it cached under, one integer compare per burst.
    /// </summary>
    public long Generation { get; }

    /// <summary>The IPv4 routes, sorted by network and then prefix length.</summary>
    public IReadOnlyList<Route4> Routes4 => _ipv4.Routes;

    /// <summary>The IPv6 routes, sorted by network and then prefix length.</summary>
    public IReadOnlyList<Route6> Routes6 => _ipv6.Routes;

    /// <summary>The IPv4 snapshot (DIR-24-8), for its sizes and counts.</summary>
    internal Ipv4LpmTable Ipv4 => _ipv4;

    /// <summary>The IPv6 snapshot (a hash table per prefix length), for its sizes and counts.</summary>
    internal Ipv6LpmTable Ipv6 => _ipv6;

    /// <summary>The next hop of the longest IPv4 prefix that contains <paramref name="destination"/>; false when none does.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryLookup(Ipv4Address destination, out NextHop4 hop) => _ipv4.TryLookup(destination, out hop);

    /// <summary>The next hop of the longest IPv6 prefix that contains <paramref name="destination"/>; false when none does.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryLookup(in Ipv6Address destination, out NextHop6 hop) => _ipv6.TryLookup(in destination, out hop);

    /// <summary>As <see cref="TryLookup(Ipv4Address, out NextHop4)"/>, with the next hop's index in <see cref="Ipv4"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryLookup(Ipv4Address destination, out NextHop4 hop, out int index) => _ipv4.TryLookup(destination, out hop, out index);
}
