using System.Numerics;

namespace Dataplane.Engine;

/// <summary>
/// One worker's timers: a hashed timing wheel, scheme 6 of Varghese and Lauck ("Hashed and
/// Hierarchical Timing Wheels: Data Structures for the Efficient Implementation of a Timer
/// Facility", SOSP 1987). Time is cut into ticks (1 ms by default); a timer due in tick t hangs in
/// slot t mod S of the wheel, and a timer more than S ticks away waits there for its round: each
/// entry keeps its absolute expiry tick, which is the paper's round counter without the decrements.
/// Schedule, cancel and reschedule are O(1); expiring a tick costs the timers hashed to its slot.
/// </summary>
/// <remarks>
/// Owned by one worker thread: no locks, no atomics. Timers live in a pool of entries allocated at
/// setup (<see cref="EnsureCapacity"/>); when it is exhausted, <see cref="Schedule"/> returns
/// <see cref="TimerHandle.None"/> and counts a failure rather than allocate. Times are nanoseconds of
/// a monotonic clock, read once per batch by the caller. A timer fires at the first
/// <see cref="Advance{TSink}(long, ref TSink)"/> whose time has passed the end of the tick holding
/// its deadline: never early, at most one tick late; within a tick timers fire in deadline order,
/// ties in the order they were scheduled.
/// </remarks>
internal sealed class TimerWheel
{
    /// <summary>The default tick, 1 ms: finer than TCP's timers need (RFC 6298 4: a granularity of 100 ms or finer does better).</summary>
    public const long DefaultTickNanoseconds = 1_000_000;

    /// <summary>The default number of slots: 4096 ticks, a revolution of 4.096 s at the default tick.</summary>
    public const int DefaultSlotCount = 4096;

    private readonly int[] _slotHeads;
    private readonly long _slotMask;
    private readonly long _tick;
    private TimerEntry[] _entries = [];
    private DueTimer[] _due = [];
    private int _freeHead = -1;
    private long _now;
    private long _nextTick;  // the first tick not yet expired
    private long _sequence;  // orders timers with equal deadlines
    private int _armed;      // timers hanging in the wheel (not counting those collected to fire)
    private bool _advancing;

    /// <summary>
    /// A wheel whose clock reads <paramref name="now"/> nanoseconds, with a pool of
    /// <paramref name="capacity"/> timers, ticks of <paramref name="tickNanoseconds"/> and
    /// <paramref name="slotCount"/> slots (a power of two).
    /// </summary>
    public TimerWheel(long now, int capacity = 1024, long tickNanoseconds = DefaultTickNanoseconds, int slotCount = DefaultSlotCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(now);
        ArgumentOutOfRangeException.ThrowIfLessThan(tickNanoseconds, 1);
        if (slotCount < 1 || !BitOperations.IsPow2(slotCount))
            throw new ArgumentOutOfRangeException(nameof(slotCount), slotCount, "the slot count must be a power of two");
        _tick = tickNanoseconds;
        _slotHeads = new int[slotCount];
        _slotHeads.AsSpan().Fill(-1);
        _slotMask = slotCount - 1;
        _now = now;
        _nextTick = now / _tick + 1; // ticks up to now / tick hold deadlines already past
        EnsureCapacity(capacity);
    }

    /// <summary>The wheel's clock: the latest time given to <see cref="Advance{TSink}(long, ref TSink)"/>.</summary>
    public long Now => _now;

    /// <summary>Length of a tick in nanoseconds.</summary>
    public long TickNanoseconds => _tick;

    /// <summary>Slots in the wheel.</summary>
    public int SlotCount => _slotHeads.Length;

    /// <summary>Timers the pool holds.</summary>
    public int Capacity => _entries.Length;

    /// <summary>Timers scheduled and not yet fired or cancelled.</summary>
    public int Count { get; private set; }

    /// <summary>True while <see cref="Advance{TSink}(long, ref TSink)"/> fires timers (when the pool may not grow).</summary>
    public bool IsAdvancing => _advancing;

    /// <summary>Timers fired, ever.</summary>
    public long Fired { get; private set; }

    /// <summary>Timers cancelled, ever.</summary>
    public long Cancelled { get; private set; }

    /// <summary>Schedules refused because the pool was exhausted (the drop counter of timers).</summary>
    public long ScheduleFailures { get; private set; }

    /// <summary>
    /// The earliest clock reading at which <see cref="Advance{TSink}(long, ref TSink)"/> fires a timer
    /// (the end of the tick holding the earliest deadline), or <see cref="long.MaxValue"/> when none is
    /// armed. It walks the slots from the next tick for one revolution, and the whole pool when every
    /// timer is rounds away: for a simulation's event loop, which jumps from one expiry to the next,
    /// or an idle worker choosing how long to sleep; not for every packet.
    /// </summary>
    public long NextExpiry
    {
        get
        {
            if (_armed == 0)
                return long.MaxValue;
            // Every armed timer expires at _nextTick or later; the first tick of the revolution whose
            // slot holds a timer of that very tick is the earliest.
            for (long tick = _nextTick; tick < _nextTick + _slotHeads.Length; tick++)
            {
                for (int index = _slotHeads[(int)(tick & _slotMask)]; index >= 0; index = _entries[index].Next)
                {
                    if (_entries[index].ExpiryTick == tick)
                        return tick * _tick;
                }
            }
            long least = long.MaxValue;
            foreach (ref readonly TimerEntry entry in _entries.AsSpan())
            {
                if (entry.State == TimerState.Armed && entry.ExpiryTick < least)
                    least = entry.ExpiryTick;
            }
            return least > long.MaxValue / _tick ? long.MaxValue : least * _tick;
        }
    }

    /// <summary>
    /// Grows the pool to at least <paramref name="capacity"/> timers. Setup only: it allocates, and it
    /// may not be called from a timer callback.
    /// </summary>
    public void EnsureCapacity(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(capacity);
        if (_advancing)
            throw new InvalidOperationException("the timer pool cannot grow while timers are firing");
        int old = _entries.Length;
        if (capacity <= old)
            return;
        Array.Resize(ref _entries, capacity);
        _due = new DueTimer[capacity]; // at most every timer is due at once
        for (int i = capacity - 1; i >= old; i--)
        {
            _entries[i].Next = _freeHead;
            _freeHead = i;
        }
    }

    /// <summary>
    /// Schedules a timer <paramref name="delay"/> nanoseconds after <see cref="Now"/>, carrying
    /// <paramref name="kind"/> and <paramref name="payload"/> to the sink; <see cref="TimerHandle.None"/>
    /// when the pool is exhausted.
    /// </summary>
    public TimerHandle Schedule(long delay, int kind, long payload) => ScheduleAt(Deadline(delay), kind, payload);

    /// <summary>Schedules a timer at the absolute time <paramref name="deadline"/>; a past deadline fires at the next tick.</summary>
    public TimerHandle ScheduleAt(long deadline, int kind, long payload)
    {
        int index = _freeHead;
        if (index < 0)
        {
            ScheduleFailures++;
            return TimerHandle.None;
        }
        ref TimerEntry entry = ref _entries[index];
        _freeHead = entry.Next;
        entry.Kind = kind;
        entry.Payload = payload;
        Arm(index, deadline);
        Count++;
        return new TimerHandle(index, entry.Generation);
    }

    /// <summary>
    /// Moves a pending timer to <paramref name="delay"/> nanoseconds after <see cref="Now"/>, keeping
    /// its handle (a retransmission timer pushed back by every acknowledgment). False when the timer
    /// has already fired or been cancelled.
    /// </summary>
    public bool Reschedule(TimerHandle handle, long delay)
    {
        if (!IsPending(handle))
            return false;
        if (_entries[handle.Index].State == TimerState.Armed)
            Unlink(handle.Index);
        // A timer collected to fire in this tick is in no list; armed again, the firing loop skips it.
        Arm(handle.Index, Deadline(delay));
        return true;
    }

    /// <summary>Cancels a pending timer in O(1); false when it has already fired or been cancelled.</summary>
    public bool Cancel(TimerHandle handle)
    {
        if (!IsPending(handle))
            return false;
        if (_entries[handle.Index].State == TimerState.Armed)
            Unlink(handle.Index);
        Free(handle.Index);
        Cancelled++;
        return true;
    }

    /// <summary>True while the timer of <paramref name="handle"/> has neither fired nor been cancelled.</summary>
    public bool IsPending(TimerHandle handle)
    {
        int index = handle.Index;
        if ((uint)index >= (uint)_entries.Length)
            return false;
        ref TimerEntry entry = ref _entries[index];
        return entry.Generation == handle.Generation && entry.State != TimerState.Free;
    }

    /// <summary>
    /// Moves the clock to <paramref name="now"/> (a clock going backwards is held where it was) and
    /// fires every timer due by then into <paramref name="sink"/>, in deadline order; returns how many
    /// fired. A timer a callback schedules goes to a tick not yet expired (for a time already past, the
    /// next one, as Linux's timer wheel does), so one re-arming itself fires at most once a tick and
    /// cannot keep this call from returning. A call from inside a callback returns 0.
    /// </summary>
    public int Advance<TSink>(long now, ref TSink sink) where TSink : struct, ITimerSink
    {
        if (_advancing)
            return 0;
        if (now > _now)
            _now = now;
        long target = _now / _tick; // tick t may expire once now >= t * tick (see ExpiryTick)
        if (target < _nextTick)
            return 0;
        _advancing = true;
        int fired = 0;
        try
        {
            if (_armed == 0)
            {
                // Nothing hangs in the wheel: skip the empty ticks at once (an idle worker waking up).
                _nextTick = target + 1;
            }
            else if (target - _nextTick >= _slotHeads.Length)
            {
                // A stall of a revolution or more: visit every slot once and sort all that is due
                // together, since deadline order no longer follows slot order.
                int count = 0;
                for (int slot = 0; slot < _slotHeads.Length; slot++)
                    count = Collect(slot, target, count);
                _nextTick = target + 1;
                fired = Fire(count, ref sink);
            }
            else
            {
                while (_nextTick <= target)
                {
                    long tick = _nextTick;
                    int count = Collect((int)(tick & _slotMask), tick, 0);
                    _nextTick = tick + 1; // before the callbacks: what they schedule goes to a later tick
                    fired += Fire(count, ref sink);
                    if (_armed == 0)
                        _nextTick = target + 1;
                }
            }
        }
        finally
        {
            _advancing = false;
        }
        return fired;
    }

    // The deadline `delay` after now, saturating instead of overflowing.
    private long Deadline(long delay)
        => delay <= 0 ? _now : delay > long.MaxValue - _now ? long.MaxValue : _now + delay;

    // Timers due in tick t have deadlines in ((t - 1) * tick, t * tick]: rounding the deadline up
    // means a timer can never fire before it is due, since tick t expires only once now >= t * tick.
    // A tick already expired is out of reach: such a timer goes to the next one.
    private long ExpiryTick(long deadline)
    {
        long tick = deadline / _tick + (deadline % _tick != 0 ? 1 : 0);
        return Math.Max(tick, _nextTick);
    }

    private void Arm(int index, long deadline)
    {
        ref TimerEntry entry = ref _entries[index];
        entry.Deadline = deadline;
        entry.ExpiryTick = ExpiryTick(deadline);
        entry.Sequence = ++_sequence;
        entry.State = TimerState.Armed;
        int slot = (int)(entry.ExpiryTick & _slotMask);
        int head = _slotHeads[slot];
        entry.Prev = -1;
        entry.Next = head;
        if (head >= 0)
            _entries[head].Prev = index;
        _slotHeads[slot] = index;
        _armed++;
    }

    private void Unlink(int index)
    {
        ref TimerEntry entry = ref _entries[index];
        if (entry.Prev >= 0)
            _entries[entry.Prev].Next = entry.Next;
        else
            _slotHeads[(int)(entry.ExpiryTick & _slotMask)] = entry.Next;
        if (entry.Next >= 0)
            _entries[entry.Next].Prev = entry.Prev;
        _armed--;
    }

    private void Free(int index)
    {
        ref TimerEntry entry = ref _entries[index];
        entry.Generation++; // every handle to this timer is stale from here on
        entry.State = TimerState.Free;
        entry.Next = _freeHead;
        _freeHead = index;
        Count--;
    }

    // Takes the timers of `slot` due by tick `last` out of the wheel into _due from `count` on.
    private int Collect(int slot, long last, int count)
    {
        int index = _slotHeads[slot];
        while (index >= 0)
        {
            ref TimerEntry entry = ref _entries[index];
            int next = entry.Next;
            if (entry.ExpiryTick <= last) // later rounds stay where they are
            {
                Unlink(index);
                entry.State = TimerState.Due;
                _due[count++] = new DueTimer(entry.Deadline, entry.Sequence, index, entry.Generation);
            }
            index = next;
        }
        return count;
    }

    private int Fire<TSink>(int count, ref TSink sink) where TSink : struct, ITimerSink
    {
        Span<DueTimer> due = _due.AsSpan(0, count);
        DueTimer.Sort(due);
        int fired = 0;
        for (int i = 0; i < due.Length; i++)
        {
            DueTimer timer = due[i];
            ref TimerEntry entry = ref _entries[timer.Index];
            // An earlier callback of this tick may have cancelled it (and the entry been reused) or
            // rescheduled it.
            if (entry.Generation != timer.Generation || entry.State != TimerState.Due)
                continue;
            var expired = new ExpiredTimer(new TimerHandle(timer.Index, timer.Generation), entry.Kind, entry.Payload, entry.Deadline);
            Free(timer.Index);
            Fired++;
            fired++;
            sink.OnTimer(this, in expired);
        }
        return fired;
    }
}

/// <summary>Where a pool entry is in its life.</summary>
internal enum TimerState : byte
{
    /// <summary>On the free list.</summary>
    Free,

    /// <summary>Hanging in a slot of the wheel.</summary>
    Armed,

    /// <summary>Taken out of the wheel to fire in the tick being expired.</summary>
    Due,
}

/// <summary>One timer of the pool; Next and Prev link a slot's list (or, Next alone, the free list).</summary>
internal struct TimerEntry
{
    /// <summary>When the timer is due, in nanoseconds.</summary>
    public long Deadline;

    /// <summary>The tick that fires it; its slot is this modulo the slot count.</summary>
    public long ExpiryTick;

    /// <summary>When it was (re)scheduled, relative to the others: breaks ties of deadline.</summary>
    public long Sequence;

    /// <summary>The caller's value.</summary>
    public long Payload;

    /// <summary>The caller's callback identifier.</summary>
    public int Kind;

    /// <summary>The next entry of the slot's list or of the free list, or -1.</summary>
    public int Next;

    /// <summary>The previous entry of the slot's list, or -1 at its head.</summary>
    public int Prev;

    /// <summary>Moves on each time the entry is freed, so stale handles are refused.</summary>
    public uint Generation;

    /// <summary>Free, armed or due.</summary>
    public TimerState State;
}
