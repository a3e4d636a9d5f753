using System.Runtime.CompilerServices;

namespace Dataplane.Stack.Neighbors;

/// <summary>
/// One worker's neighbour entries of the gateways of one routing snapshot, by next-hop index: a
/// forwarded packet whose route leads to a gateway finds the gateway's entry with one load, where
/// the neighbour table costs a hash and a probe (Linux keeps the neighbour in its next hop too).
/// </summary>
/// <remarks>
/// The indices are those of one snapshot (<see cref="Routing.Ipv4LpmTable"/> or
/// <see cref="Routing.Ipv6LpmTable"/>), named by its <c>SnapshotKey</c> (not the snapshot itself,
/// whose 32 MiB of tables this must not keep alive once the routes change): when the routes
/// change, the first packet under the new snapshot finds nothing kept and starts afresh. What is kept is a hint, never the truth: the
/// caller sends through an entry only while it has an address and is still in its table
/// (<see cref="NeighborEntry{TAddress}.IsDead"/>), and otherwise goes the long way, through the
/// neighbour table, and keeps what that finds. Per worker: no write is shared.
/// </remarks>
internal sealed class GatewayNeighbors<TAddress> where TAddress : struct, IEquatable<TAddress>
{
    private object? _snapshot;
    private NeighborEntry<TAddress>?[] _entries = [];

    /// <summary>The entry kept for next hop <paramref name="hop"/> of <paramref name="snapshot"/>; null when none is.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public NeighborEntry<TAddress>? Get(object snapshot, int hop)
    {
        NeighborEntry<TAddress>?[] entries = _entries;
        return ReferenceEquals(snapshot, _snapshot) && (uint)hop < (uint)entries.Length ? entries[hop] : null;
    }

    /// <summary>
    /// Keeps <paramref name="entry"/> for next hop <paramref name="hop"/> of <paramref name="snapshot"/>,
    /// which has <paramref name="hops"/> next hops; what was kept for another snapshot is forgotten
    /// (its array reused when large enough: a route change allocates only when the next hops outgrow it).
    /// </summary>
    public void Keep(object snapshot, int hops, int hop, NeighborEntry<TAddress> entry)
    {
        if (!ReferenceEquals(snapshot, _snapshot))
        {
            if (_entries.Length > hops)
                Array.Clear(_entries);
            else
                _entries = new NeighborEntry<TAddress>?[hops + 1];
            _snapshot = snapshot;
        }
        if ((uint)hop < (uint)_entries.Length)
            _entries[hop] = entry;
    }
}
