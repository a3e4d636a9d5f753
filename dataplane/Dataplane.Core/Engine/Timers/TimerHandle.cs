namespace Dataplane.Engine;

/// <summary>
/// Names one scheduled timer of a <see cref="TimerWheel"/>: an entry of its pool and the entry's
/// generation when the timer was scheduled. The generation moves on whenever the entry is freed (the
/// timer fired or was cancelled), so a handle kept after that is recognised as stale and a
/// <see cref="TimerWheel.Cancel"/> through it does nothing to the entry's next timer.
/// </summary>
internal readonly struct TimerHandle : IEquatable<TimerHandle>
{
    // Index + 1, so that default(TimerHandle) names no entry.
    private readonly int _indexPlusOne;
    private readonly uint _generation;

    internal TimerHandle(int index, uint generation)
    {
        _indexPlusOne = index + 1;
        _generation = generation;
    }

    /// <summary>The handle of no timer, what a failed schedule returns.</summary>
    public static TimerHandle None => default;

    /// <summary>True for <see cref="None"/>.</summary>
    public bool IsNone => _indexPlusOne == 0;

    /// <summary>The pool entry, or -1 for <see cref="None"/>.</summary>
    internal int Index => _indexPlusOne - 1;

    /// <summary>The entry's generation when the timer was scheduled.</summary>
    internal uint Generation => _generation;

    /// <inheritdoc/>
    public bool Equals(TimerHandle other) => _indexPlusOne == other._indexPlusOne && _generation == other._generation;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is TimerHandle other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(_indexPlusOne, _generation);

    /// <summary>Equality.</summary>
    public static bool operator ==(TimerHandle a, TimerHandle b) => a.Equals(b);

    /// <summary>Inequality.</summary>
    public static bool operator !=(TimerHandle a, TimerHandle b) => !a.Equals(b);

    /// <summary>The entry and generation, for logs.</summary>
    public override string ToString() => IsNone ? "none" : $"{Index}#{_generation}";
}
