using System.Runtime.CompilerServices;
using Dataplane.Buffers;
using Dataplane.Wire;

namespace Dataplane.Stack.Neighbors;

/// <summary>Where a neighbour entry stands (RFC 4861 7.3.2, which ARP follows here too).</summary>
internal enum NeighborState
{
    /// <summary>Asked for; no answer yet. Packets wait in the entry's queue.</summary>
    Incomplete,

    /// <summary>Answered recently: the link-layer address is used as it is.</summary>
    Reachable,

    /// <summary>Answered long ago: still used, and asked again.</summary>
    Stale,

    /// <summary>Did not answer the last requests.</summary>
    Failed,
}

/// <summary>
/// One neighbour: its link-layer address, when it was last confirmed, and the packets waiting for
/// it. Workers read the address with one volatile 64-bit read and no lock; the waiting queue and
/// the request bookkeeping, touched only while resolving, are under the entry's lock.
/// </summary>
internal sealed class NeighborEntry<TAddress>(TAddress address) where TAddress : struct, IEquatable<TAddress>
{
    /// <summary>Packets that may wait for one neighbour (OpenBSD's LA_HOLD_QUEUE).</summary>
    public const int HoldLimit = 10;

    private long _mac; // the MAC's Bits (on little-endian its bytes as they lie in a frame: sending writes them without a swap), with HasMacBit set once known
    private long _confirmed; // nanoseconds of the engine clock
    private long _lastRequest = long.MinValue / 2;
    private readonly PacketBuffer[] _held = new PacketBuffer[HoldLimit];
    private int _heldCount;
    private int _requests;
    private bool _dead;

    private const long HasMacBit = 1L << 62;

    /// <summary>The neighbour's address.</summary>
    public TAddress Address { get; } = address;

    /// <summary>The lock of the waiting queue and the request bookkeeping.</summary>
    public object Gate => _held;

    /// <summary>True once the link-layer address is known.</summary>
    public bool HasMac
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)] // per sent packet; AOT has no profile to say so
        get => (Volatile.Read(ref _mac) & HasMacBit) != 0;
    }

    /// <summary>The link-layer address; valid when <see cref="HasMac"/>.</summary>
    public MacAddress Mac
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)] // read for every packet sent to a neighbour
        get => MacAddress.FromBits((ulong)(Volatile.Read(ref _mac) & ~HasMacBit));
    }

    /// <summary>When the address was last confirmed, in engine-clock nanoseconds.</summary>
    public long Confirmed => Volatile.Read(ref _confirmed);

    /// <summary>When the last request for it went out.</summary>
    public long LastRequest => Volatile.Read(ref _lastRequest);

    /// <summary>Requests sent since the last answer.</summary>
    public int Requests => _requests;

    /// <summary>Packets waiting.</summary>
    public int HeldCount => _heldCount;

    /// <summary>True once the entry left its table (set under <see cref="Gate"/>): nothing may wait in it any more.</summary>
    public bool IsDead => Volatile.Read(ref _dead);

    /// <summary>Marks the entry as gone from its table (call under <see cref="Gate"/>).</summary>
    public void Kill() => Volatile.Write(ref _dead, true);

    /// <summary>Where the entry stands at <paramref name="now"/>.</summary>
    public NeighborState StateAt(long now, long reachableTime)
    {
        if (!HasMac)
            return _requests >= NeighborTable<TAddress>.MaxRequests ? NeighborState.Failed : NeighborState.Incomplete;
        return now - Confirmed <= reachableTime ? NeighborState.Reachable : NeighborState.Stale;
    }

    /// <summary>
    /// Claims the right to send the next request at <paramref name="now"/>: true for one caller
    /// at most once per <paramref name="interval"/>, whichever worker asks.
    /// </summary>
    public bool TryClaimRequest(long now, long interval)
    {
        long last = Volatile.Read(ref _lastRequest);
        if (now - last < interval)
            return false;
        if (Interlocked.CompareExchange(ref _lastRequest, now, last) != last)
            return false;
        Interlocked.Increment(ref _requests);
        return true;
    }

    /// <summary>Sets the link-layer address, confirmed at <paramref name="now"/>.</summary>
    public void Confirm(MacAddress mac, long now)
    {
        Volatile.Write(ref _mac, (long)mac.Bits | HasMacBit);
        Volatile.Write(ref _confirmed, now);
        Volatile.Write(ref _requests, 0);
    }

    /// <summary>
    /// Queues <paramref name="packet"/> until the address is known (call under <see cref="Gate"/>);
    /// when the queue is full the oldest packet gives way and is returned in <paramref name="evicted"/>.
    /// </summary>
    public void Hold(PacketBuffer packet, out PacketBuffer evicted)
    {
        evicted = PacketBuffer.None;
        if (_heldCount == HoldLimit)
        {
            evicted = _held[0];
            Array.Copy(_held, 1, _held, 0, HoldLimit - 1);
            _heldCount--;
        }
        _held[_heldCount++] = packet;
    }

    /// <summary>Moves the waiting packets into <paramref name="into"/> (call under <see cref="Gate"/>); returns how many.</summary>
    public int TakeHeld(Span<PacketBuffer> into)
    {
        int n = Math.Min(_heldCount, into.Length);
        _held.AsSpan(0, n).CopyTo(into);
        _held.AsSpan(0, _heldCount).Clear();
        _heldCount = 0;
        return n;
    }

}
