using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace Dataplane.Wire;

/// <summary>One SACK block: the left and right edges of a received range (RFC 2018 3).</summary>
public readonly record struct TcpSackBlock(uint Left, uint Right);

/// <summary>
/// The TCP options the stack understands, as values: maximum segment size, window scale,
/// SACK-permitted, SACK blocks and timestamps. Parsed from the option walk of a
/// <see cref="TcpSegment"/> and emitted in the order Linux uses, padded to a 32-bit boundary.
/// </summary>
public struct TcpOptions : IEquatable<TcpOptions>
{
    /// <summary>The most SACK blocks that fit in 40 bytes of options (RFC 2018 3); with timestamps, 3 fit.</summary>
    public const int MaxSackBlocks = 4;

    private SackBlocks _sack;

    /// <summary>Maximum segment size, from a SYN.</summary>
    public ushort? MaximumSegmentSize { get; set; }

    /// <summary>Window scale shift count as sent, from a SYN; RFC 7323 2.3: a receiver uses at most 14.</summary>
    public byte? WindowScale { get; set; }

    /// <summary>The peer may send SACK blocks.</summary>
    public bool SackPermitted { get; set; }

    /// <summary>Timestamp value and echo reply (RFC 7323 3).</summary>
    public (uint Value, uint EchoReply)? Timestamps { get; set; }

    /// <summary>Number of SACK blocks held.</summary>
    public int SackBlockCount { get; private set; }

    /// <summary>SACK block <paramref name="index"/>.</summary>
    public readonly TcpSackBlock SackBlock(int index)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)index, (uint)SackBlockCount, nameof(index));
        return _sack[index];
    }

    /// <summary>Adds a SACK block; false when <see cref="MaxSackBlocks"/> are held already.</summary>
    public bool AddSackBlock(TcpSackBlock block)
    {
        if (SackBlockCount == MaxSackBlocks)
            return false;
        _sack[SackBlockCount++] = block;
        return true;
    }

    /// <summary>
    /// Reads the options of <paramref name="segment"/>. Unknown options are skipped (RFC 9293
    /// 3.2: a TCP must ignore options it does not implement); a known option with the wrong length
    /// or a walk that runs past the options area refuses the whole set.
    /// </summary>
    public static bool TryParse(TcpSegment segment, out TcpOptions options)
    {
        options = default;
        WireOptionEnumerator walk = segment.EnumerateOptions();
        while (walk.MoveNext())
        {
            WireOption option = walk.Current;
            Span<byte> data = option.Data;
            switch ((TcpOptionKind)option.Type)
            {
                case TcpOptionKind.MaximumSegmentSize when data.Length == 2:
                    options.MaximumSegmentSize = BinaryPrimitives.ReadUInt16BigEndian(data);
                    break;
                case TcpOptionKind.WindowScale when data.Length == 1:
                    options.WindowScale = data[0];
                    break;
                case TcpOptionKind.SackPermitted when data.Length == 0:
                    options.SackPermitted = true;
                    break;
                case TcpOptionKind.Timestamps when data.Length == 8:
                    options.Timestamps = (BinaryPrimitives.ReadUInt32BigEndian(data), BinaryPrimitives.ReadUInt32BigEndian(data[4..]));
                    break;
                case TcpOptionKind.Sack when data.Length % 8 == 0 && data.Length > 0 && data.Length / 8 <= MaxSackBlocks:
                    options.SackBlockCount = 0;
                    for (int i = 0; i < data.Length; i += 8)
                        options.AddSackBlock(new TcpSackBlock(BinaryPrimitives.ReadUInt32BigEndian(data[i..]), BinaryPrimitives.ReadUInt32BigEndian(data[(i + 4)..])));
                    break;
                case TcpOptionKind.MaximumSegmentSize or TcpOptionKind.WindowScale or TcpOptionKind.SackPermitted
                    or TcpOptionKind.Timestamps or TcpOptionKind.Sack:
                    return false;
            }
        }
        return !walk.IsMalformed;
    }

    /// <summary>Bytes <see cref="Emit"/> writes: the options padded to a multiple of 4.</summary>
    public readonly int Length =>
        (MaximumSegmentSize.HasValue ? 4 : 0)
        + (Timestamps.HasValue ? 12 : SackPermitted ? 4 : 0) // SACK-permitted rides in the timestamps' padding
        + (WindowScale.HasValue ? 4 : 0)
        + (SackBlocksToEmit > 0 ? 4 + 8 * SackBlocksToEmit : 0);

    // RFC 2018 3: beside timestamps only three blocks fit; the first ones, the most recent, go out.
    private readonly int SackBlocksToEmit => Math.Min(SackBlockCount, Timestamps.HasValue ? 3 : MaxSackBlocks);

    /// <summary>
    /// Writes the options as Linux lays them out (MSS, SACK-permitted folded into the timestamp
    /// padding, timestamps, window scale, SACK), with no-operation padding to a 32-bit boundary.
    /// Returns the number of bytes written, <see cref="Length"/>; at most 40.
    /// </summary>
    public readonly int Emit(Span<byte> destination)
    {
        int length = Length;
        if (length > 40 || destination.Length < length)
            ThrowTooLong();
        int at = 0;
        if (MaximumSegmentSize is ushort mss)
        {
            destination[at] = (byte)TcpOptionKind.MaximumSegmentSize;
            destination[at + 1] = 4;
            BinaryPrimitives.WriteUInt16BigEndian(destination[(at + 2)..], mss);
            at += 4;
        }
        if (Timestamps is var (value, echo))
        {
            if (SackPermitted)
            {
                destination[at++] = (byte)TcpOptionKind.SackPermitted;
                destination[at++] = 2;
            }
            else
            {
                destination[at++] = (byte)TcpOptionKind.NoOperation;
                destination[at++] = (byte)TcpOptionKind.NoOperation;
            }
            destination[at] = (byte)TcpOptionKind.Timestamps;
            destination[at + 1] = 10;
            BinaryPrimitives.WriteUInt32BigEndian(destination[(at + 2)..], value);
            BinaryPrimitives.WriteUInt32BigEndian(destination[(at + 6)..], echo);
            at += 10;
        }
        else if (SackPermitted)
        {
            destination[at++] = (byte)TcpOptionKind.NoOperation;
            destination[at++] = (byte)TcpOptionKind.NoOperation;
            destination[at++] = (byte)TcpOptionKind.SackPermitted;
            destination[at++] = 2;
        }
        if (WindowScale is byte shift)
        {
            destination[at++] = (byte)TcpOptionKind.NoOperation;
            destination[at++] = (byte)TcpOptionKind.WindowScale;
            destination[at++] = 3;
            destination[at++] = shift;
        }
        int blocks = SackBlocksToEmit;
        if (blocks > 0)
        {
            destination[at++] = (byte)TcpOptionKind.NoOperation;
            destination[at++] = (byte)TcpOptionKind.NoOperation;
            destination[at++] = (byte)TcpOptionKind.Sack;
            destination[at++] = (byte)(2 + 8 * blocks);
            for (int i = 0; i < blocks; i++)
            {
                BinaryPrimitives.WriteUInt32BigEndian(destination[at..], _sack[i].Left);
                BinaryPrimitives.WriteUInt32BigEndian(destination[(at + 4)..], _sack[i].Right);
                at += 8;
            }
        }
        return at;
    }

    /// <inheritdoc/>
    public readonly bool Equals(TcpOptions other)
    {
        if (MaximumSegmentSize != other.MaximumSegmentSize || WindowScale != other.WindowScale
            || SackPermitted != other.SackPermitted || Timestamps != other.Timestamps || SackBlockCount != other.SackBlockCount)
            return false;
        for (int i = 0; i < SackBlockCount; i++)
        {
            if (_sack[i] != other._sack[i])
                return false;
        }
        return true;
    }

    /// <inheritdoc/>
    public override readonly bool Equals(object? obj) => obj is TcpOptions o && Equals(o);

    /// <inheritdoc/>
    public override readonly int GetHashCode() => HashCode.Combine(MaximumSegmentSize, WindowScale, SackPermitted, Timestamps, SackBlockCount);

    /// <summary>Equality.</summary>
    public static bool operator ==(TcpOptions a, TcpOptions b) => a.Equals(b);

    /// <summary>Inequality.</summary>
    public static bool operator !=(TcpOptions a, TcpOptions b) => !a.Equals(b);

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private static void ThrowTooLong() => throw new ArgumentException("The TCP options do not fit: at most 40 bytes, and the destination must hold them.");

    [InlineArray(MaxSackBlocks)]
    private struct SackBlocks
    {
        private TcpSackBlock _first;
    }
}
