namespace Dataplane.Stack.Transport.Tcp;

/// <summary>
/// The least of the measurements of the last <c>window</c> nanoseconds, in constant time and space:
/// Kathleen Nichols' windowed min filter, as Linux keeps the connection's min_rtt with it
/// (lib/win_minmax.c, tcp_update_rtt_min over tcp_min_rtt_wlen, 300 s). It holds three samples,
/// the least and the best two candidates to succeed it, each later and larger than the one
/// before, so when the least ages out of the window a successor is at hand without a history.
/// The candidates are refreshed from the second quarter and the second half of the window, so
/// the estimate is never more than a quarter of a window staler than the true windowed minimum.
/// </summary>
internal struct WindowedMinimum
{
    private Sample _best, _second, _third;

    private struct Sample
    {
        public long At;
        public long Value;
    }

    /// <summary>The least measurement of the window; 0 before the first.</summary>
    public readonly long Value => _best.Value;

    /// <summary>
    /// Takes measurement <paramref name="value"/> (positive) made at <paramref name="now"/>, with
    /// the window <paramref name="window"/> long; returns the windowed minimum.
    /// </summary>
    public long Update(long now, long value, long window)
    {
        var sample = new Sample { At = now, Value = value };
        // The first, a new least, or nothing of the window left: the filter starts over from this one.
        if (_best.Value == 0 || value <= _best.Value || now - _third.At > window)
        {
            _best = _second = _third = sample;
            return value;
        }
        // A better candidate than the second or third: it (being later) replaces them.
        if (value <= _second.Value)
            _second = _third = sample;
        else if (value <= _third.Value)
            _third = sample;

        long age = now - _best.At;
        if (age > window)
        {
            // The least aged out: its successors move up, and this one becomes the last
            // candidate. The new least may be out of the window too (the third was checked
            // above to be inside), so once more at most.
            _best = _second;
            _second = _third;
            _third = sample;
            if (now - _best.At > window)
            {
                _best = _second;
                _second = _third;
                _third = sample;
            }
        }
        else if (_second.At == _best.At && age > window / 4)
        {
            // A quarter of the window without a second choice: take one from the second quarter.
            _second = _third = sample;
        }
        else if (_third.At == _second.At && age > window / 2)
        {
            // Half the window without a third choice: take one from the second half.
            _third = sample;
        }
        return _best.Value;
    }

    /// <summary>Forgets every measurement.</summary>
    public void Clear() => this = default;
}
