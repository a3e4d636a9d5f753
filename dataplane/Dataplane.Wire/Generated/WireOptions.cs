using System.Runtime.CompilerServices;

namespace Dataplane.Wire;

/// <summary>One option of a header: its type and the data after its type and length bytes.</summary>
public readonly ref struct WireOption
{
    /// <summary>The option type (kind).</summary>
    public byte Type { get; }

    /// <summary>The option's data, after type and length; empty for one-byte options.</summary>
    public Span<byte> Data { get; }

    /// <summary>The whole option, type and length bytes included.</summary>
    public Span<byte> Raw { get; }

    internal WireOption(byte type, Span<byte> data, Span<byte> raw)
    {
        Type = type;
        Data = data;
        Raw = raw;
    }
}

/// <summary>
/// Walks the options of a header in one of the framings of <see cref="OptionFormat"/>. Padding
/// (IPv4/TCP no-operation, IPv6 Pad1 and PadN) is skipped; an end-of-list option ends the walk.
/// When an option's length is impossible the walk stops and <see cref="IsMalformed"/> is set.
/// <c>foreach</c> walks a copy, so a caller that must tell a malformed list from a short one walks
/// with <see cref="MoveNext"/> and reads <see cref="IsMalformed"/> afterwards.
/// </summary>
public ref struct WireOptionEnumerator
{
    private readonly Span<byte> _options;
    private readonly OptionFormat _format;
    private int _next;
    private WireOption _current;

    /// <summary>Walks <paramref name="options"/> in <paramref name="format"/>.</summary>
    public WireOptionEnumerator(Span<byte> options, OptionFormat format)
    {
        _options = options;
        _format = format;
    }

    /// <summary>The option moved to.</summary>
    public readonly WireOption Current => _current;

    /// <summary>The walk stopped at an option whose length does not fit.</summary>
    public bool IsMalformed { get; private set; }

    /// <summary>For <c>foreach</c>, over a copy: <see cref="IsMalformed"/> of this one is not updated.</summary>
    public readonly WireOptionEnumerator GetEnumerator() => this;

    /// <summary>Moves to the next option that is neither padding nor end of list.</summary>
    public bool MoveNext()
    {
        while ((uint)_next < (uint)_options.Length)
        {
            byte type = _options[_next];
            switch (_format)
            {
                case OptionFormat.KindLength:
                    if (type == 0) // RFC 791 / RFC 9293: End of Option List
                    {
                        _next = _options.Length;
                        return false;
                    }
                    if (type == 1) // No-Operation
                    {
                        _next++;
                        continue;
                    }
                    return Take(type, lengthIncludesHeader: true, unit: 1);
                case OptionFormat.Ipv6:
                    if (type == 0) // RFC 8200 4.2: Pad1
                    {
                        _next++;
                        continue;
                    }
                    if (type == 1) // PadN: padding too, but framed like any option
                    {
                        if (!Take(type, lengthIncludesHeader: false, unit: 1))
                            return false;
                        continue;
                    }
                    return Take(type, lengthIncludesHeader: false, unit: 1);
                default:
                    return Take(type, lengthIncludesHeader: true, unit: 8);
            }
        }
        return false;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool Take(byte type, bool lengthIncludesHeader, int unit)
    {
        int start = _next;
        if (start + 1 >= _options.Length)
            return Malformed();
        int length = _options[start + 1] * unit + (lengthIncludesHeader ? 0 : 2);
        if (length < 2 || length > _options.Length - start)
            return Malformed(); // RFC 4861 4.6: a length of 0 is invalid as well
        _next = start + length;
        _current = new WireOption(type, _options.Slice(start + 2, length - 2), _options.Slice(start, length));
        return true;
    }

    private bool Malformed()
    {
        IsMalformed = true;
        _next = _options.Length;
        return false;
    }

    /// <summary>True when every option of <paramref name="options"/> is framed correctly.</summary>
    public static bool IsWellFormed(Span<byte> options, OptionFormat format)
    {
        var e = new WireOptionEnumerator(options, format);
        while (e.MoveNext())
        {
        }
        return !e.IsMalformed;
    }
}

/// <summary>
/// Walks a run of variable-length records that follow a header (IGMPv3 group records, MLDv2
/// address records): <paramref name="count"/> records of type <typeparamref name="T"/>.
/// </summary>
public ref struct WireRecordEnumerator<T> where T : IWireHeader<T>, allows ref struct
{
    private Span<byte> _rest;
    private int _remaining;
    private T _current;

    /// <summary>Walks <paramref name="count"/> records laid end to end in <paramref name="records"/>.</summary>
    public WireRecordEnumerator(Span<byte> records, int count)
    {
        _rest = records;
        _remaining = count;
        _current = default!;
    }

    /// <summary>The record moved to.</summary>
    public readonly T Current => _current;

    /// <summary>The walk stopped at a record that does not fit.</summary>
    public bool IsMalformed { get; private set; }

    /// <summary>For <c>foreach</c>.</summary>
    public readonly WireRecordEnumerator<T> GetEnumerator() => this;

    /// <summary>Moves to the next record.</summary>
    public bool MoveNext()
    {
        if (_remaining <= 0)
            return false;
        if (!T.TryCreate(_rest, out _current, out _))
        {
            IsMalformed = true;
            _remaining = 0;
            return false;
        }
        _rest = _rest[_current.HeaderLength..];
        _remaining--;
        return true;
    }
}
