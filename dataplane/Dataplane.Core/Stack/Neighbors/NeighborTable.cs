using System.Collections.Concurrent;
using Dataplane.Buffers;

namespace Dataplane.Stack.Neighbors;

/// <summary>
/// The neighbours of one interface for one family: the ARP cache for IPv4, the neighbour cache for
/// IPv6. Every worker looks up without a lock (a lock-free dictionary read and one volatile read of
/// the entry); adding an entry, which happens once per neighbour, takes the dictionary's own lock.
/// </summary>
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

    private readonly ConcurrentDictionary<TAddress, NeighborEntry<TAddress>> _entries = new();
    private NeighborEntry<TAddress>[] _list = [];
    private readonly Lock _listLock = new();

    /// <summary>Every entry, for sweeps and display; a snapshot, read without a lock.</summary>
    public NeighborEntry<TAddress>[] Entries => Volatile.Read(ref _list);

    /// <summary>Entries held.</summary>
    public int Count => Entries.Length;

    /// <summary>The entry of <paramref name="address"/>, if there is one; allocates nothing.</summary>
    public bool TryGet(in TAddress address, out NeighborEntry<TAddress> entry) => _entries.TryGetValue(address, out entry!);

    /// <summary>The entry of <paramref name="address"/>, created when missing; null when the table is full.</summary>
    public NeighborEntry<TAddress>? GetOrAdd(in TAddress address)
    {
        if (_entries.TryGetValue(address, out NeighborEntry<TAddress>? entry))
            return entry;
        lock (_listLock)
        {
            if (_entries.TryGetValue(address, out entry))
                return entry;
            if (_list.Length >= MaxEntries)
                return null;
            entry = new NeighborEntry<TAddress>(address);
            _entries[address] = entry;
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
        lock (_listLock)
        {
            if (_entries.TryGetValue(entry.Address, out NeighborEntry<TAddress>? current) && ReferenceEquals(current, entry))
                _entries.TryRemove(entry.Address, out _);
            int at = Array.IndexOf(_list, entry);
            if (at >= 0)
                Volatile.Write(ref _list, [.. _list.AsSpan(0, at), .. _list.AsSpan(at + 1)]);
        }
        return n;
    }
}
