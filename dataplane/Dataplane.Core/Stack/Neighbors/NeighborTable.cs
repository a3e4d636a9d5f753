using System.Runtime.CompilerServices;
using Dataplane.Buffers;

namespace Dataplane.Stack.Neighbors;

/// <summary>
/// The neighbours of one interface for one family: the ARP cache for IPv4, the neighbour cache for
/// IPv6. Every worker looks up with plain reads: no lock, no interlocked operation and no write,
/// so that the lines a forwarded packet reads stay shared between the cores. Writers (a new
/// neighbour, a removal), which come once per neighbour and not per packet, take the table's lock.
/// </summary>
/// <remarks>
/// The entries sit in an open-addressed array of references, probed linearly from the address's
/// hash. A writer fills an empty slot in place with one reference write (a reader sees the slot
/// empty or filled, never half), and a removal leaves a tombstone that readers step over; when
/// entries and tombstones would fill more than half the array, the writer builds a new array and
/// swaps it in whole, as the route tables are swapped. A reader that holds the old array finds
/// what it found a moment ago, which the entry itself then tells apart (<see cref="NeighborEntry{TAddress}.IsDead"/>).
/// </remarks>
internal sealed class NeighborTable<TAddress> where TAddress : struct, IEquatable<TAddress>
{
    /// <summary>Requests sent before a neighbour counts as failed (Linux's mcast_solicit, RFC 4861's MAX_MULTICAST_SOLICIT).</summary>
    public const int MaxRequests = 3;

    /// <summary>Time between requests for one neighbour: 1 s (RFC 4861 RETRANS_TIMER).</summary>
    public const long RequestInterval = 1_000_000_000;

    /// <summary>How long an answer keeps an entry reachable: 30 s (RFC 4861 REACHABLE_TIME).</summary>
    public const long ReachableTime = 30_000_000_000;

    /// <summary>Entries a table holds at most; beyond it new neighbours are refused (a bound against address scans).</summary>
    public const int MaxEntries = 4096;

    private const int MinimumSlots = 16;

    // Marks a removed entry's slot: probing goes on past it, a new entry may take it.
    private static readonly NeighborEntry<TAddress> s_tombstone = new(default);

    private NeighborEntry<TAddress>?[] _slots = new NeighborEntry<TAddress>?[MinimumSlots];
    private int _tombstones;
    private NeighborEntry<TAddress>[] _list = [];
    private readonly Lock _gate = new();

    /// <summary>Every entry, for sweeps and display; a snapshot, read without a lock.</summary>
    public NeighborEntry<TAddress>[] Entries => Volatile.Read(ref _list);

    /// <summary>Entries held.</summary>
    public int Count => Entries.Length;

    /// <summary>The entry of <paramref name="address"/>, if there is one; reads only, allocates nothing.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryGet(in TAddress address, out NeighborEntry<TAddress> entry)
    {
        NeighborEntry<TAddress>?[] slots = Volatile.Read(ref _slots);
        int mask = slots.Length - 1;
        for (int i = AddressHash.Home(address, mask); ; i = (i + 1) & mask)
        {
            NeighborEntry<TAddress>? e = Volatile.Read(ref slots[i]);
            if (e is null)
                break;
            if (!ReferenceEquals(e, s_tombstone) && e.Address.Equals(address))
            {
                entry = e;
                return true;
            }
        }
        entry = null!;
        return false;
    }

    /// <summary>The entry of <paramref name="address"/>, created when missing; null when the table is full.</summary>
    public NeighborEntry<TAddress>? GetOrAdd(in TAddress address)
    {
        if (TryGet(address, out NeighborEntry<TAddress> entry))
            return entry;
        lock (_gate)
        {
            if (TryGet(address, out entry))
                return entry;
            if (_list.Length >= MaxEntries)
                return null;
            entry = new NeighborEntry<TAddress>(address);
            if ((_list.Length + _tombstones + 1) * 2 > _slots.Length)
                Rebuild(_list.Length + 1);
            Place(_slots, entry, reuseTombstones: true);
            Volatile.Write(ref _list, [.. _list, entry]);
            return entry;
        }
    }

    /// <summary>
    /// Removes <paramref name="entry"/> (ctl's delete, an expired entry, a failed resolution) and
    /// moves the packets that still waited in it into <paramref name="held"/>; returns how many.
    /// The entry is marked dead under its lock first, so that no worker can queue a packet in it
    /// after it left the table (a worker that finds it dead looks the address up again).
    /// </summary>
    public int Remove(NeighborEntry<TAddress> entry, Span<PacketBuffer> held)
    {
        int n;
        lock (entry.Gate)
        {
            entry.Kill();
            n = entry.TakeHeld(held);
        }
        lock (_gate)
        {
            NeighborEntry<TAddress>?[] slots = _slots;
            int mask = slots.Length - 1;
            for (int i = AddressHash.Home(entry.Address, mask); slots[i] is { } e; i = (i + 1) & mask)
            {
                if (ReferenceEquals(e, entry))
                {
                    Volatile.Write(ref slots[i], s_tombstone);
                    _tombstones++;
                    break;
                }
            }
            int at = Array.IndexOf(_list, entry);
            if (at >= 0)
                Volatile.Write(ref _list, [.. _list.AsSpan(0, at), .. _list.AsSpan(at + 1)]);
        }
        return n;
    }

    // A new array for `count` entries, at most a quarter full, without tombstones; swapped in whole.
    private void Rebuild(int count)
    {
        int length = MinimumSlots;
        while (length < count * 4)
            length *= 2;
        var slots = new NeighborEntry<TAddress>?[length];
        foreach (NeighborEntry<TAddress> e in _list)
            Place(slots, e, reuseTombstones: false);
        _tombstones = 0;
        Volatile.Write(ref _slots, slots);
    }

    private void Place(NeighborEntry<TAddress>?[] slots, NeighborEntry<TAddress> entry, bool reuseTombstones)
    {
        int mask = slots.Length - 1;
        int i = AddressHash.Home(entry.Address, mask);
        while (slots[i] is { } e && !(reuseTombstones && ReferenceEquals(e, s_tombstone)))
            i = (i + 1) & mask;
        if (slots[i] is not null)
            _tombstones--;
        Volatile.Write(ref slots[i], entry);
    }
}
