using System.Runtime.CompilerServices;
using Dataplane.Buffers;
using Dataplane.Stack.Neighbors;
using Dataplane.Wire;

namespace Dataplane.Stack.Link;

// Sending to a neighbour: the link-layer address from the cache when it is known, else the packet
// waits in the entry while a request goes out (ARP for IPv4, a neighbour solicitation for IPv6).
// One generic path for both families; the JIT compiles it once per address type, and the
// typeof tests below are constants in each. The caches are the stack's, shared by the workers
// (NetworkStack.Arp and Nd): a lookup only reads them (NeighborTable).
internal sealed partial class LinkLayer
{
        /// <summary>How often worker 0 retransmits requests and gives up on silent neighbours.</summary>
    public const long SweepInterval = 200_000_000;

    /// <summary>Entries unused this long are forgotten (OpenBSD keeps ARP entries 20 minutes).</summary>
    private const long NeighborKeepTime = 20L * 60 * 1_000_000_000;

    /// <summary>
    /// Sends <paramref name="packet"/>, a complete frame but for its Ethernet addresses, to
    /// <paramref name="nextHop"/> on <paramref name="iface"/>; resolves the neighbour first when
    /// its address is not known. The entry it was sent through when the address was known, for a
    /// caller that keeps it (<see cref="GatewayNeighbors{TAddress}"/>); null when it waits or was dropped.
    /// </summary>
    public NeighborEntry<TAddress>? SendToNeighbor<TAddress>(NetInterface iface, NeighborTable<TAddress> table, in TAddress nextHop, PacketBuffer packet)
        where TAddress : struct, IEquatable<TAddress>
    {
        if (table.TryGet(nextHop, out NeighborEntry<TAddress> entry) && entry.HasMac)
        {
            SendToResolved(iface, entry, packet);
            return entry;
        }
        Resolve(iface, table, nextHop, packet);
        return null;
    }

    /// <summary>
    /// Sends <paramref name="packet"/> to the neighbour of <paramref name="entry"/>, an entry the
    /// caller kept (a forwarder's gateway, <see cref="GatewayNeighbors{TAddress}"/>): false, and
    /// nothing sent, when the entry has no address or has left its table; the caller then goes
    /// through <see cref="SendToNeighbor"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TrySendToEntry<TAddress>(NetInterface iface, NeighborEntry<TAddress> entry, PacketBuffer packet)
        where TAddress : struct, IEquatable<TAddress>
    {
        if (!entry.HasMac || entry.IsDead)
            return false;
        SendToResolved(iface, entry, packet);
        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void SendToResolved<TAddress>(NetInterface iface, NeighborEntry<TAddress> entry, PacketBuffer packet)
        where TAddress : struct, IEquatable<TAddress>
    {
        WorkerPackets.WriteMacs(_pool.Data(packet), entry.Mac, iface.Mac);
        _context.Transmit(iface.Index, packet);
        // A stale entry is still used, and asked about again (RFC 4861 7.3.3's STALE, simplified).
        long now = _context.Now;
        if (now - entry.Confirmed > NeighborTable<TAddress>.ReachableTime && entry.TryClaimRequest(now, NeighborTable<TAddress>.RequestInterval))
            SendNeighborRequest(iface, entry.Address, entry.Mac);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Resolve<TAddress>(NetInterface iface, NeighborTable<TAddress> table, in TAddress nextHop, PacketBuffer packet)
        where TAddress : struct, IEquatable<TAddress>
    {
        NeighborEntry<TAddress>? entry;
        bool resolved;
        PacketBuffer evicted = PacketBuffer.None;
        while (true)
        {
            entry = table.GetOrAdd(nextHop);
            if (entry is null)
            {
                CountNeighbor<TAddress>(held: false);
                _context.Drop(packet);
                return;
            }
            lock (entry.Gate)
            {
                // Checked under the lock: whoever confirms the entry takes the held packets under
                // it too, and whoever removes it marks it dead under it.
                if (entry.IsDead)
                    continue; // it left the table just now: look the address up again
                resolved = entry.HasMac;
                if (!resolved)
                    entry.Hold(packet, out evicted);
            }
            break;
        }
        if (resolved)
        {
            WorkerPackets.WriteMacs(_pool.Data(packet), entry.Mac, iface.Mac);
            _context.Transmit(iface.Index, packet);
            return;
        }
        CountNeighbor<TAddress>(held: true);
        if (evicted.IsValid)
        {
            CountNeighbor<TAddress>(held: false);
            _context.Drop(evicted);
        }
        if (entry.Requests < NeighborTable<TAddress>.MaxRequests && entry.TryClaimRequest(_context.Now, NeighborTable<TAddress>.RequestInterval))
            SendNeighborRequest(iface, nextHop, MacAddress.Broadcast);
    }

    /// <summary>
    /// A neighbour told us its link-layer address: records it when there is an entry (or
    /// <paramref name="create"/> says to make one) and sends the packets that waited for it.
    /// </summary>
    private void ConfirmNeighbor<TAddress>(NetInterface iface, NeighborTable<TAddress> table, in TAddress address, MacAddress mac, bool create)
        where TAddress : struct, IEquatable<TAddress>
    {
        NeighborEntry<TAddress>? entry = table.TryGet(address, out NeighborEntry<TAddress> found) ? found : create ? table.GetOrAdd(address) : null;
        if (entry is null)
            return;
        bool hadMac = entry.HasMac;
        if (!hadMac || entry.Mac != mac || _context.Now - entry.Confirmed > SweepInterval)
            entry.Confirm(mac, _context.Now);
        // The first answer takes the lock whatever the count says: a worker may be queueing a
        // packet right now, having seen no address, and the lock orders the two.
        if (hadMac && entry.HeldCount == 0)
            return;
        SendHeld(iface, entry, mac);
    }

    /// <summary>Sends the packets that waited in <paramref name="entry"/> to <paramref name="mac"/>.</summary>
    private void SendHeld<TAddress>(NetInterface iface, NeighborEntry<TAddress> entry, MacAddress mac)
        where TAddress : struct, IEquatable<TAddress>
    {
        int n;
        lock (entry.Gate)
            n = entry.TakeHeld(_released);
        for (int i = 0; i < n; i++)
        {
            WorkerPackets.WriteMacs(_pool.Data(_released[i]), mac, iface.Mac);
            _context.Transmit(iface.Index, _released[i]);
        }
        _released.AsSpan(0, n).Clear();
    }

    /// <summary>Worker 0's chore: retransmit requests for neighbours with waiting packets, give up on silent ones, forget old ones.</summary>
    private void SweepNeighbors()
    {
        foreach (NetInterface iface in _stack.Interfaces)
        {
            Sweep(iface, _stack.Arp[iface.Index]);
            Sweep(iface, _stack.Nd[iface.Index]);
        }
    }

    private void Sweep<TAddress>(NetInterface iface, NeighborTable<TAddress> table) where TAddress : struct, IEquatable<TAddress>
    {
        long now = _context.Now;
        foreach (NeighborEntry<TAddress> entry in table.Entries)
        {
            bool due = now - entry.LastRequest >= NeighborTable<TAddress>.RequestInterval;
            if (entry.HasMac)
            {
                if (entry.HeldCount > 0)
                    SendHeld(iface, entry, entry.Mac); // should not happen; never let a packet sit behind a known address
                // Forgotten when unused for long, and when it stopped answering the probes of a
                // stale entry (RFC 4861 7.3.3): the next packet resolves it afresh.
                bool silent = now - entry.Confirmed > NeighborTable<TAddress>.ReachableTime && entry.Requests >= NeighborTable<TAddress>.MaxRequests && due;
                if (silent || now - entry.Confirmed > NeighborKeepTime)
                    Forget(table, entry);
                continue;
            }
            if (entry.HeldCount == 0)
            {
                // Nothing waits: an unanswered entry goes once its last request has had its time.
                if (due && entry.Requests > 0)
                    Forget(table, entry);
                continue;
            }
            if (entry.Requests >= NeighborTable<TAddress>.MaxRequests)
            {
                // No answer to the last request either: the neighbour is unreachable; what waited
                // is dropped, and the entry goes, so that the table cannot fill with dead ones.
                if (due)
                {
                    Forget(table, entry);
                    CountNeighborFailure<TAddress>();
                }
                continue;
            }
            if (entry.TryClaimRequest(now, NeighborTable<TAddress>.RequestInterval))
                SendNeighborRequest(iface, entry.Address, MacAddress.Broadcast);
        }
    }

    /// <summary>Removes an entry; packets still waiting in it are dropped and counted.</summary>
    private void Forget<TAddress>(NeighborTable<TAddress> table, NeighborEntry<TAddress> entry) where TAddress : struct, IEquatable<TAddress>
    {
        int n = table.Remove(entry, _released);
        for (int i = 0; i < n; i++)
        {
            CountNeighbor<TAddress>(held: false);
            _context.Drop(_released[i]);
        }
        _released.AsSpan(0, n).Clear();
    }

    private void SendNeighborRequest<TAddress>(NetInterface iface, in TAddress target, MacAddress destination)
        where TAddress : struct, IEquatable<TAddress>
    {
        if (typeof(TAddress) == typeof(Ipv4Address))
            SendArpRequest(iface, Unsafe.As<TAddress, Ipv4Address>(ref Unsafe.AsRef(in target)), destination);
        else
            SendNeighborSolicitation(iface, Unsafe.As<TAddress, Ipv6Address>(ref Unsafe.AsRef(in target)), destination);
    }

    private void CountNeighbor<TAddress>(bool held)
    {
        if (typeof(TAddress) == typeof(Ipv4Address))
            _counters.Count(held ? ArpCounter.Held : ArpCounter.HeldDropped);
        else
            _counters.Count(held ? Icmp6Counter.Held : Icmp6Counter.HeldDropped);
    }

    private void CountNeighborFailure<TAddress>()
    {
        if (typeof(TAddress) == typeof(Ipv4Address))
            _counters.Count(ArpCounter.ResolutionFailed);
        else
            _counters.Count(Icmp6Counter.ResolutionFailed);
    }
}
