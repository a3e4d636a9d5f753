namespace Dataplane.Wire;

/// <summary>A generated view over a header: what generic code (record iterators) needs of it.</summary>
public interface IWireHeader<TSelf> where TSelf : IWireHeader<TSelf>, allows ref struct
{
    /// <summary>Length of the fixed part of the header, in bytes.</summary>
    static abstract int FixedLength { get; }

    /// <summary>Creates a view over <paramref name="buffer"/> after checking every length once.</summary>
    static abstract bool TryCreate(Span<byte> buffer, out TSelf view, out WireError error);

    /// <summary>Length of the header, fixed part and variable part, in bytes.</summary>
    int HeaderLength { get; }

    /// <summary>Length of header and payload, in bytes.</summary>
    int PacketLength { get; }
}

/// <summary>Why a header was refused; the stack counts drops under these names.</summary>
public enum WireError
{
    /// <summary>The header was accepted.</summary>
    None,

    /// <summary>The buffer is shorter than the fixed part of the header.</summary>
    Truncated,

    /// <summary>The header length field is below the fixed length or beyond the buffer.</summary>
    BadHeaderLength,

    /// <summary>The total length field is below the header length or beyond the buffer.</summary>
    BadTotalLength,

    /// <summary>A field does not hold the value the protocol requires (a version number).</summary>
    UnexpectedValue,

    /// <summary>The Internet checksum does not verify.</summary>
    BadChecksum,

    /// <summary>An option runs past the end of the options area, or has an impossible length.</summary>
    BadOptions,
}

/// <summary>A generated value representation of a header: what generic code (tests, fuzzing) needs of it.</summary>
public interface IWireRepr<TSelf> : IEquatable<TSelf> where TSelf : struct, IWireRepr<TSelf>
{
    /// <summary>Parses and checks a header; says why it was refused.</summary>
    static abstract bool TryParse(ReadOnlySpan<byte> buffer, out TSelf repr, out WireError error);

    /// <summary>Writes the fixed part of the header and returns its length.</summary>
    int Emit(Span<byte> destination);
}
