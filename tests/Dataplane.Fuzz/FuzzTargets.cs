using System.Buffers.Binary;
using System.Numerics;
using System.Text;
using Dataplane.Wire;

namespace Dataplane.Fuzz;

/// <summary>
/// Every fuzz target by name. A target gets one input as bytes and must either return or throw:
/// an exception that escapes is a crash to AFL, so a target throws only when an invariant is broken
/// (a parser that throws instead of refusing bad input is itself the bug we look for).
/// </summary>
internal static class FuzzTargets
{
    /// <summary>The targets: the text and checksum primitives, every view by protocol family, and whole frames.</summary>
    public static readonly IReadOnlyDictionary<string, Action<ReadOnlySpan<byte>>> All =
        new SortedDictionary<string, Action<ReadOnlySpan<byte>>>(StringComparer.Ordinal)
        {
            ["checksum"] = Checksum,
            ["frame"] = Frames.Walk,
            ["icmpv4"] = WireTargets.Icmpv4,
            ["icmpv6"] = WireTargets.Icmpv6,
            ["ipv4"] = WireTargets.Ipv4,
            ["ipv6"] = WireTargets.Ipv6,
            ["link"] = WireTargets.Link,
            ["multicast"] = WireTargets.Multicast,
            ["transport"] = WireTargets.Transport,
            ["tunnel"] = WireTargets.Tunnel,
            ["ipv4address"] = input => TextRoundTrip<Ipv4Address>(input, Ipv4Address.TryParse),
            ["ipv6address"] = input => TextRoundTrip<Ipv6Address>(input, Ipv6Address.TryParse),
            ["macaddress"] = input => TextRoundTrip<MacAddress>(input, MacAddress.TryParse),
        };

    private delegate bool TryParse<T>(ReadOnlySpan<char> text, out T value);

    /// <summary>
    /// A text parser must refuse or accept without throwing, and what it accepts must format to a
    /// text that parses back to the same value. The bytes are read both as Latin-1 (every byte is a
    /// char, so the mutator reaches all of U+0000..U+00FF) and as UTF-8 (non-ASCII digits and the
    /// replacement character).
    /// </summary>
    private static void TextRoundTrip<T>(ReadOnlySpan<byte> input, TryParse<T> tryParse)
        where T : struct, IEquatable<T>, ISpanFormattable
    {
        Span<char> text = input.Length <= 256 ? stackalloc char[input.Length] : new char[input.Length];
        int n = Encoding.Latin1.GetChars(input, text);
        RoundTrip(text[..n], tryParse);

        n = Encoding.UTF8.GetChars(input, text);
        RoundTrip(text[..n], tryParse);
    }

    private static void RoundTrip<T>(ReadOnlySpan<char> text, TryParse<T> tryParse)
        where T : struct, IEquatable<T>, ISpanFormattable
    {
        if (!tryParse(text, out T value))
            return;
        Span<char> formatted = stackalloc char[64];
        if (!value.TryFormat(formatted, out int written, default, null))
            throw new InvariantException($"{typeof(T).Name}: parsed '{text}' but cannot format it");
        if (!tryParse(formatted[..written], out T again) || !again.Equals(value))
            throw new InvariantException($"{typeof(T).Name}: '{text}' formats as '{formatted[..written]}', which does not parse back");
    }

    /// <summary>
    /// The Internet checksum against a byte-at-a-time RFC 1071 reference, at every alignment the
    /// vector loop cares about, plus the identities the stack relies on: a computed checksum written
    /// into the message makes it valid, sums over pieces add up, and RFC 1624 incremental updates
    /// agree with recomputing.
    /// </summary>
    private static void Checksum(ReadOnlySpan<byte> input)
    {
        for (int skip = 0; skip < 4 && skip <= input.Length; skip++)
        {
            ReadOnlySpan<byte> data = input[skip..];
            ushort expected = ReferenceChecksum(data);
            ushort actual = InternetChecksum.Compute(data);
            if (actual != expected)
                throw new InvariantException($"Compute over {data.Length} bytes at offset {skip}: 0x{actual:x4}, reference 0x{expected:x4}");
        }

        // Checksum field at the end of an even-length message (padding an odd input with zero).
        int even = (input.Length + 1) & ~1;
        byte[] message = new byte[even + 2];
        input.CopyTo(message);
        BinaryPrimitives.WriteUInt16BigEndian(message.AsSpan(even), InternetChecksum.Compute(message));
        if (!InternetChecksum.IsValid(message))
            throw new InvariantException($"IsValid is false after writing the computed checksum over {input.Length} bytes");

        // Sums over an even-length prefix and the rest add up to the sum over the whole.
        int split = input.Length == 0 ? 0 : (input[0] % (input.Length + 1)) & ~1;
        ulong pieces = InternetChecksum.Add(InternetChecksum.Add(0, input[..split]), input[split..]);
        if (InternetChecksum.Finish(pieces) != InternetChecksum.Compute(input))
            throw new InvariantException($"Add over pieces split at {split} differs from Compute over {input.Length} bytes");

        if (input.Length < 4)
            return;

        // RFC 1624: change one 16-bit word (and one 32-bit value) and update instead of recomputing.
        byte[] changed = input.ToArray();
        int word = input[1] % (input.Length / 2) * 2;
        ushort oldWord = BinaryPrimitives.ReadUInt16BigEndian(input[word..]);
        ushort newWord = (ushort)(BinaryPrimitives.ReadUInt16BigEndian(input[^2..]) ^ 0x5A5A);
        BinaryPrimitives.WriteUInt16BigEndian(changed.AsSpan(word), newWord);
        ushort before = InternetChecksum.Compute(input);
        CheckUpdate("Update(word)", InternetChecksum.Update(before, oldWord, newWord), changed);
        CheckUpdate("Update(span)", InternetChecksum.Update(before, input.Slice(word, 2), changed.AsSpan(word, 2)), changed);

        int value = input[2] % (input.Length / 4) * 4;
        changed = input.ToArray();
        uint oldValue = BinaryPrimitives.ReadUInt32BigEndian(input[value..]);
        uint newValue = ~BitOperations.RotateLeft(oldValue, input[3]);
        BinaryPrimitives.WriteUInt32BigEndian(changed.AsSpan(value), newValue);
        CheckUpdate("Update(uint)", InternetChecksum.Update(before, oldValue, newValue), changed);
    }

    private static void CheckUpdate(string what, ushort updated, byte[] changed)
    {
        // 0x0000 and 0xFFFF are the two one's complement zeros; RFC 1624 eqn. 3 may give either
        // when the message sums to zero, so compare modulo 0xFFFF.
        ushort recomputed = InternetChecksum.Compute(changed);
        if (updated % 0xFFFF != recomputed % 0xFFFF)
            throw new InvariantException($"{what}: 0x{updated:x4}, recomputed 0x{recomputed:x4}");
    }

    /// <summary>RFC 1071 4.1, one big-endian word at a time: the independent oracle.</summary>
    private static ushort ReferenceChecksum(ReadOnlySpan<byte> data)
    {
        uint sum = 0;
        for (int i = 0; i < data.Length; i += 2)
        {
            sum += (uint)data[i] << 8 | (i + 1 < data.Length ? data[i + 1] : 0u);
            sum = (sum & 0xFFFF) + (sum >> 16);
        }
        return (ushort)~sum;
    }
}

/// <summary>A broken invariant: thrown on purpose so that AFL records the input as a crash.</summary>
internal sealed class InvariantException(string message) : Exception(message);
