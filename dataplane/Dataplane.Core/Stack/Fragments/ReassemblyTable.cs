using System.Runtime.InteropServices;
using Dataplane.Buffers;
using Dataplane.Engine;
using Dataplane.Wire;

namespace Dataplane.Stack.Fragments;

/// <summary>
/// What names a datagram in reassembly: source, destination, protocol and identification for IPv4
/// (RFC 791 3.2), source, destination and identification for IPv6 (RFC 8200 4.5). IPv4 addresses
/// sit in the low four bytes of the address fields; <see cref="IsIpv6"/> keeps the families apart.
/// </summary>
[StructLayout(LayoutKind.Auto)]
internal readonly struct ReassemblyKey : IEquatable<ReassemblyKey>
{
    private readonly Ipv6Address _source;
    private readonly Ipv6Address _destination;

    private ReassemblyKey(in Ipv6Address source, in Ipv6Address destination, uint identification, IpProtocol protocol, bool isIpv6)
    {
        _source = source;
        _destination = destination;
        Identification = identification;
        Protocol = protocol;
        IsIpv6 = isIpv6;
    }

    /// <summary>The identification field: 16 bits for IPv4, 32 for IPv6.</summary>
    public uint Identification { get; }

    /// <summary>The protocol of an IPv4 datagram (IPv6 does not key on it).</summary>
    public IpProtocol Protocol { get; }

    /// <summary>True for an IPv6 packet.</summary>
    public bool IsIpv6 { get; }

    /// <summary>The key of an IPv4 fragment.</summary>
    public static ReassemblyKey Ipv4(Ipv4Packet ip)
    {
        Span<byte> source = stackalloc byte[Ipv6Address.Length];
        Span<byte> destination = stackalloc byte[Ipv6Address.Length];
        source.Clear();
        destination.Clear();
        ip.Source.CopyTo(source[12..]);
        ip.Destination.CopyTo(destination[12..]);
        return new ReassemblyKey(new Ipv6Address(source), new Ipv6Address(destination), ip.Identification, ip.Protocol, isIpv6: false);
    }

    /// <summary>The key of an IPv6 fragment whose fragment header carries <paramref name="identification"/>.</summary>
    public static ReassemblyKey Ipv6(Ipv6Packet ip, uint identification)
        => new(ip.Source, ip.Destination, identification, 0, isIpv6: true);

    /// <inheritdoc/>
    public bool Equals(ReassemblyKey other)
        => Identification == other.Identification && _source == other._source && _destination == other._destination
        && Protocol == other.Protocol && IsIpv6 == other.IsIpv6;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is ReassemblyKey other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(_source, _destination, Identification, Protocol, IsIpv6);
}

/// <summary>What became of a fragment offered to a datagram.</summary>
internal enum FragmentVerdict
{
    /// <summary>Held: the datagram still has holes.</summary>
    Held,

    /// <summary>Held, and it filled the last hole: the datagram is whole.</summary>
    Complete,

    /// <summary>The same bytes are held already: drop this copy, keep the datagram (RFC 8200 4.5 allows it).</summary>
    Duplicate,

    /// <summary>The datagram was discarded earlier and waits out its timeout: drop.</summary>
    AfterDiscard,

    /// <summary>It overlaps a fragment held: discard the datagram (RFC 5722).</summary>
    Overlapping,

    /// <summary>It disagrees with the datagram's end (a second, different last fragment, or data past it): discard the datagram.</summary>
    Inconsistent,

    /// <summary>The datagram has as many fragments as one may: discard it.</summary>
    TooMany,

    /// <summary>No room, even after evicting every other datagram: drop.</summary>
    OutOfMemory,
}

/// <summary>A fragment held for reassembly: its buffer, as received, and where its data lies.</summary>
internal struct HeldFragment
{
    /// <summary>The frame, as it arrived.</summary>
    public PacketBuffer Buffer;

    /// <summary>Where the fragment's data starts in the frame (after the link, IP and any fragment header).</summary>
    public int DataStart;

    /// <summary>Where the data goes in the datagram's fragmentable part, in bytes.</summary>
    public int Offset;

    /// <summary>Bytes of data.</summary>
    public int Length;

    /// <summary>The held fragment with the next higher offset, or -1; also links the free list.</summary>
    public int Next;
}

/// <summary>One datagram in reassembly.</summary>
internal struct ReassemblyEntry
{
    /// <summary>What names it.</summary>
    public ReassemblyKey Key;

    /// <summary>Its timeout.</summary>
    public TimerHandle Timer;

    /// <summary>Moves on each time the slot is freed, so a stale timer is recognised.</summary>
    public uint Generation;

    /// <summary>The held fragment of lowest offset, or -1.</summary>
    public int First;

    /// <summary>Fragments held.</summary>
    public int Count;

    /// <summary>Data bytes held (fragments never overlap, so this is the length covered).</summary>
    public int Received;

    /// <summary>Length of the fragmentable part, known once the last fragment came; -1 before.</summary>
    public int Total;

    /// <summary>The port the first fragment to arrive came in on: where a time-exceeded error goes out.</summary>
    public int Port;

    /// <summary>The slot holds a datagram (or the memory of a discarded one).</summary>
    public bool InUse;

    /// <summary>Discarded (overlap, too many fragments): holds nothing, and drops what still comes for it until its timeout.</summary>
    public bool Discarded;
}

/// <summary>
/// One worker's datagrams in reassembly, for both families: a fixed number of slots and of held
/// fragments, allocated at start-up; no lock (one worker), no allocation per packet. Fragments are
/// held as received, linked in offset order; since overlapping fragments discard the datagram
/// (RFC 5722, and Linux for IPv4 since 4.19), the bytes held are the bytes covered, and a datagram
/// is whole when they reach the length its last fragment gave. Each datagram carries a timer on
/// the worker's wheel from its first-arriving fragment (RFC 8200 4.5). When the slots or the
/// fragments run out, the oldest datagrams are discarded to make room, as Linux evicts the oldest
/// queues past its memory threshold: a flood of fragments that never complete then pushes out
/// only what is older than the datagrams that keep arriving and completing.
/// </summary>
internal sealed class ReassemblyTable
{
    /// <summary>Datagrams a worker reassembles at once.</summary>
    public const int DefaultMaxDatagrams = 64;

    /// <summary>Fragments (buffers) a worker holds for reassembly, at most.</summary>
    public const int DefaultMaxFragments = 1024;

    /// <summary>Fragments one datagram may come in: a 64 KiB datagram over a 1280-byte IPv6 link needs 53.</summary>
    public const int DefaultMaxFragmentsPerDatagram = 64;

    private readonly WorkerContext _context;
    private readonly StackCounters _counters;
    private readonly int _timerKind;
    private readonly int _maxPerDatagram;
    private readonly ReassemblyEntry[] _entries;
    private readonly HeldFragment[] _fragments;
    private readonly int[] _freeSlots;
    private readonly int[] _live; // slots in use, oldest first
    private int _freeSlotCount;
    private int _liveCount;
    private int _freeFragment;

    /// <summary>A table on <paramref name="context"/>'s timer wheel, counting into <paramref name="counters"/>, with its timers of kind <paramref name="timerKind"/>.</summary>
    public ReassemblyTable(WorkerContext context, StackCounters counters, int timerKind,
        int maxDatagrams = DefaultMaxDatagrams, int maxFragments = DefaultMaxFragments, int maxPerDatagram = DefaultMaxFragmentsPerDatagram)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxDatagrams, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxFragments, 2);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxPerDatagram, 2);
        _context = context;
        _counters = counters;
        _timerKind = timerKind;
        _maxPerDatagram = maxPerDatagram;
        _entries = new ReassemblyEntry[maxDatagrams];
        _freeSlots = new int[maxDatagrams];
        _live = new int[maxDatagrams];
        for (int i = 0; i < maxDatagrams; i++)
            _freeSlots[i] = maxDatagrams - 1 - i;
        _freeSlotCount = maxDatagrams;
        _fragments = new HeldFragment[maxFragments];
        for (int i = 0; i < maxFragments; i++)
            _fragments[i].Next = i + 1 < maxFragments ? i + 1 : -1;
        _freeFragment = 0;
        // Room on the wheel for every datagram's timer, so reassembly never starves the transport's.
        context.Timers.EnsureCapacity(context.Timers.Capacity + maxDatagrams);
    }

    /// <summary>Datagrams in the table (discarded ones waiting out their timeout included).</summary>
    public int Datagrams => _liveCount;

    /// <summary>Fragments held.</summary>
    public int FragmentsHeld { get; private set; }

    /// <summary>Slots for datagrams.</summary>
    public int MaxDatagrams => _entries.Length;

    /// <summary>Fragments held at most.</summary>
    public int MaxFragments => _fragments.Length;

    /// <summary>The datagram in <paramref name="slot"/>.</summary>
    public ref ReassemblyEntry this[int slot] => ref _entries[slot];

    /// <summary>Held fragment <paramref name="index"/>.</summary>
    public ref HeldFragment Fragment(int index) => ref _fragments[index];

    /// <summary>
    /// The slot of the datagram <paramref name="key"/> names, or a new one for it (discarding the
    /// oldest datagram when every slot is taken) that times out <paramref name="timeout"/>
    /// nanoseconds from now; -1 when the timer wheel has no timer left.
    /// </summary>
    public int FindOrAdd(in ReassemblyKey key, int port, long timeout)
    {
        for (int i = 0; i < _liveCount; i++)
        {
            int live = _live[i];
            if (_entries[live].Key.Equals(key))
                return live;
        }
        if (_freeSlotCount == 0)
            Evict(_live[0]);
        int slot = _freeSlots[--_freeSlotCount];
        ref ReassemblyEntry e = ref _entries[slot];
        TimerHandle timer = _context.Timers.Schedule(timeout, _timerKind, (long)e.Generation << 32 | (uint)slot);
        if (timer.IsNone)
        {
            _freeSlotCount++;
            return -1;
        }
        e.Key = key;
        e.Timer = timer;
        e.First = -1;
        e.Count = 0;
        e.Received = 0;
        e.Total = -1;
        e.Port = port;
        e.InUse = true;
        e.Discarded = false;
        _live[_liveCount++] = slot;
        return slot;
    }

    /// <summary>
    /// Offers the fragment in <paramref name="buffer"/> (data from <paramref name="dataStart"/>,
    /// <paramref name="length"/> bytes at <paramref name="offset"/>, the last one when
    /// <paramref name="last"/>) to the datagram in <paramref name="slot"/>. On
    /// <see cref="FragmentVerdict.Held"/> and <see cref="FragmentVerdict.Complete"/> the table owns
    /// the buffer; on the others the caller still does, and discards the datagram where the verdict says so.
    /// </summary>
    public FragmentVerdict Add(int slot, PacketBuffer buffer, int dataStart, int offset, int length, bool last)
    {
        ref ReassemblyEntry e = ref _entries[slot];
        if (e.Discarded)
            return FragmentVerdict.AfterDiscard;
        int end = offset + length;
        // The first held fragment at or past the offset, and the one before it.
        int previous = -1, next = e.First;
        while (next >= 0 && _fragments[next].Offset < offset)
        {
            previous = next;
            next = _fragments[next].Next;
        }
        if (next >= 0 && _fragments[next].Offset == offset && _fragments[next].Length == length && (!last || e.Total == end))
            return FragmentVerdict.Duplicate;
        if ((previous >= 0 && _fragments[previous].Offset + _fragments[previous].Length > offset)
            || (next >= 0 && _fragments[next].Offset < end))
        {
            return FragmentVerdict.Overlapping;
        }
        if (last)
        {
            if ((e.Total >= 0 && e.Total != end) || EndOfHeld(e.First) > end)
                return FragmentVerdict.Inconsistent;
        }
        else if (e.Total >= 0 && end > e.Total)
        {
            return FragmentVerdict.Inconsistent;
        }
        if (e.Count >= _maxPerDatagram)
            return FragmentVerdict.TooMany;
        while (_freeFragment < 0)
        {
            // Make room from the oldest other datagram that holds anything; what precedes and
            // follows this fragment in its own datagram stays where it is.
            int victim = OldestHoldingOtherThan(slot);
            if (victim < 0)
                return FragmentVerdict.OutOfMemory;
            Evict(victim);
        }
        int index = _freeFragment;
        ref HeldFragment f = ref _fragments[index];
        _freeFragment = f.Next;
        f.Buffer = buffer;
        f.DataStart = dataStart;
        f.Offset = offset;
        f.Length = length;
        f.Next = next;
        if (previous < 0)
            e.First = index;
        else
            _fragments[previous].Next = index;
        e.Count++;
        e.Received += length;
        FragmentsHeld++;
        if (last)
            e.Total = end;
        return e.Total >= 0 && e.Received == e.Total ? FragmentVerdict.Complete : FragmentVerdict.Held;
    }

    /// <summary>
    /// Discards the datagram in <paramref name="slot"/>: its fragments are dropped (counted), and
    /// the slot remembers it until its timeout so that its late fragments are dropped too (RFC 5722).
    /// </summary>
    public void Discard(int slot)
    {
        ref ReassemblyEntry e = ref _entries[slot];
        CountDropped(e.Key.IsIpv6, ReleaseHeld(slot));
        e.Discarded = true;
    }

    /// <summary>
    /// Frees <paramref name="slot"/> and its fragment records without touching the buffers: the
    /// caller took them (a whole datagram), or released them itself.
    /// </summary>
    public void Remove(int slot)
    {
        ref ReassemblyEntry e = ref _entries[slot];
        for (int index = e.First; index >= 0;)
        {
            int next = _fragments[index].Next;
            FreeFragment(index);
            index = next;
        }
        e.First = -1;
        e.Count = 0;
        Free(slot);
    }

    /// <summary>The slot whose timer carried <paramref name="payload"/>, if that datagram is still there.</summary>
    public bool TryExpire(long payload, out int slot)
    {
        slot = (int)(uint)payload;
        if ((uint)slot >= (uint)_entries.Length)
            return false;
        ref ReassemblyEntry e = ref _entries[slot];
        if (!e.InUse || e.Generation != (uint)(payload >> 32))
            return false;
        e.Timer = TimerHandle.None; // fired: nothing to cancel
        return true;
    }

    /// <summary>Drops the fragments of a datagram that timed out (counted) and frees its slot.</summary>
    public void Expire(int slot)
    {
        int dropped = ReleaseHeld(slot);
        if (_entries[slot].Key.IsIpv6)
            _counters.Add(Ip6Counter.FragmentsTimedOut, dropped);
        else
            _counters.Add(IpCounter.FragmentsTimedOut, dropped);
        Free(slot);
    }

    // Discards a datagram to make room, counted as reassembly memory running out.
    private void Evict(int slot)
    {
        ref ReassemblyEntry e = ref _entries[slot];
        if (!e.Discarded)
        {
            if (e.Key.IsIpv6)
                _counters.Count(Ip6Counter.ReassemblyOutOfMemory);
            else
                _counters.Count(IpCounter.ReassemblyOutOfMemory);
            CountDropped(e.Key.IsIpv6, ReleaseHeld(slot));
        }
        Free(slot);
    }

    private int OldestHoldingOtherThan(int slot)
    {
        for (int i = 0; i < _liveCount; i++)
        {
            int live = _live[i];
            if (live != slot && _entries[live].Count > 0)
                return live;
        }
        return -1;
    }

    private int EndOfHeld(int index)
    {
        int end = 0;
        for (; index >= 0; index = _fragments[index].Next)
            end = _fragments[index].Offset + _fragments[index].Length;
        return end;
    }

    // Drops the buffers of the datagram's fragments and frees their records; returns how many.
    private int ReleaseHeld(int slot)
    {
        ref ReassemblyEntry e = ref _entries[slot];
        int count = 0;
        for (int index = e.First; index >= 0;)
        {
            int next = _fragments[index].Next;
            _context.Drop(_fragments[index].Buffer);
            FreeFragment(index);
            count++;
            index = next;
        }
        e.First = -1;
        e.Count = 0;
        e.Received = 0;
        return count;
    }

    private void FreeFragment(int index)
    {
        ref HeldFragment f = ref _fragments[index];
        f.Buffer = PacketBuffer.None;
        f.Next = _freeFragment;
        _freeFragment = index;
        FragmentsHeld--;
    }

    private void Free(int slot)
    {
        ref ReassemblyEntry e = ref _entries[slot];
        if (!e.Timer.IsNone)
            _context.Timers.Cancel(e.Timer);
        e.Timer = TimerHandle.None;
        e.InUse = false;
        e.Discarded = false;
        e.Generation++;
        int at = Array.IndexOf(_live, slot, 0, _liveCount);
        Array.Copy(_live, at + 1, _live, at, _liveCount - at - 1);
        _liveCount--;
        _freeSlots[_freeSlotCount++] = slot;
    }

    private void CountDropped(bool ipv6, int fragments)
    {
        if (ipv6)
            _counters.Add(Ip6Counter.FragmentsDropped, fragments);
        else
            _counters.Add(IpCounter.FragmentsDropped, fragments);
    }
}
