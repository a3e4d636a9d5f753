namespace Dataplane.Stack.Transport.Tcp;

/// <summary>
/// A TCP sequence number: 32 bits that wrap, compared modulo 2^32 (RFC 9293 3.4). <c>a &lt; b</c>
/// when b lies less than 2^31 ahead of a, as every stack since BSD's SEQ_LT compares them; the
/// arithmetic is unchecked by design. The type keeps sequence numbers from mixing with lengths and
/// counters, which compare as plain integers and would be wrong across the wrap. It is not
/// <see cref="IComparable{T}"/> on purpose: the order is not transitive (numbers 2^31 apart are each
/// "before" the other), so sorting by it would be wrong.
/// </summary>
internal readonly record struct TcpSequence(uint Value)
{
    /// <summary>The number <paramref name="length"/> octets later (or earlier, when negative).</summary>
    public static TcpSequence operator +(TcpSequence a, int length) => new(unchecked(a.Value + (uint)length));

    /// <summary>The number <paramref name="length"/> octets earlier.</summary>
    public static TcpSequence operator -(TcpSequence a, int length) => new(unchecked(a.Value - (uint)length));

    /// <summary>How far <paramref name="a"/> lies ahead of <paramref name="b"/>: negative when behind (valid within 2^31).</summary>
    public static int operator -(TcpSequence a, TcpSequence b) => unchecked((int)(a.Value - b.Value));

    /// <summary>True when <paramref name="a"/> comes before <paramref name="b"/> (SEQ_LT).</summary>
    public static bool operator <(TcpSequence a, TcpSequence b) => a - b < 0;

    /// <summary>True when <paramref name="a"/> comes before or is <paramref name="b"/> (SEQ_LEQ).</summary>
    public static bool operator <=(TcpSequence a, TcpSequence b) => a - b <= 0;

    /// <summary>True when <paramref name="a"/> comes after <paramref name="b"/> (SEQ_GT).</summary>
    public static bool operator >(TcpSequence a, TcpSequence b) => a - b > 0;

    /// <summary>True when <paramref name="a"/> comes after or is <paramref name="b"/> (SEQ_GEQ).</summary>
    public static bool operator >=(TcpSequence a, TcpSequence b) => a - b >= 0;

    /// <summary>The later of two numbers (SEQ_MAX).</summary>
    public static TcpSequence Max(TcpSequence a, TcpSequence b) => a > b ? a : b;

    /// <summary>The earlier of two numbers (SEQ_MIN).</summary>
    public static TcpSequence Min(TcpSequence a, TcpSequence b) => a < b ? a : b;

    /// <summary>
    /// True when this number lies in the window of <paramref name="size"/> octets from
    /// <paramref name="start"/>: <c>start &lt;= this &lt; start + size</c> (RFC 9293 3.4's
    /// "RCV.NXT =&lt; SEG.SEQ &lt; RCV.NXT+RCV.WND"); never for an empty window.
    /// </summary>
    public bool IsInWindow(TcpSequence start, uint size) => unchecked(Value - start.Value) < size;

    /// <summary>The number, as tcpdump prints it.</summary>
    public override string ToString() => Value.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
