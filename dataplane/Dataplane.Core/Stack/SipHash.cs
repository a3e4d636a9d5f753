using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace Dataplane.Stack;

/// <summary>
/// SipHash-2-4 (Aumasson and Bernstein, "SipHash: a fast short-input PRF", 2012): a keyed 64-bit
/// hash of short inputs that an attacker who does not know the key cannot predict or steer. The
/// stack keys what a remote host must not guess with it: initial sequence numbers (RFC 6528), and
/// later SYN cookies and port offsets (RFC 6056 3.3.3), as Linux keys secure_tcp_seq. A key is a
/// value: one per stack, read by every worker, never written after start.
/// </summary>
internal readonly struct SipHash
{
    private readonly ulong _k0;
    private readonly ulong _k1;

    /// <summary>A hash keyed by the 16 bytes of <paramref name="key"/>, read little-endian as the paper's k0 and k1.</summary>
    public SipHash(ReadOnlySpan<byte> key)
    {
        _k0 = BinaryPrimitives.ReadUInt64LittleEndian(key);
        _k1 = BinaryPrimitives.ReadUInt64LittleEndian(key[8..]);
    }

    /// <summary>A hash with a key from the system's random source.</summary>
    public static SipHash WithRandomKey()
    {
        Span<byte> key = stackalloc byte[16];
        Native.Entropy.Fill(key);
        return new SipHash(key);
    }

    /// <summary>The SipHash-2-4 of <paramref name="message"/>.</summary>
    public ulong Hash(ReadOnlySpan<byte> message)
    {
        ulong v0 = _k0 ^ 0x736f6d6570736575UL;
        ulong v1 = _k1 ^ 0x646f72616e646f6dUL;
        ulong v2 = _k0 ^ 0x6c7967656e657261UL;
        ulong v3 = _k1 ^ 0x7465646279746573UL;
        int whole = message.Length & ~7;
        for (int i = 0; i < whole; i += 8)
        {
            ulong m = BinaryPrimitives.ReadUInt64LittleEndian(message[i..]);
            v3 ^= m;
            Round(ref v0, ref v1, ref v2, ref v3);
            Round(ref v0, ref v1, ref v2, ref v3);
            v0 ^= m;
        }
        // The last block: the remaining bytes, little-endian, with the message length in the top byte.
        ulong last = (ulong)message.Length << 56;
        for (int i = message.Length - 1; i >= whole; i--)
            last |= (ulong)message[i] << (8 * (i - whole));
        v3 ^= last;
        Round(ref v0, ref v1, ref v2, ref v3);
        Round(ref v0, ref v1, ref v2, ref v3);
        v0 ^= last;
        v2 ^= 0xFF;
        for (int i = 0; i < 4; i++)
            Round(ref v0, ref v1, ref v2, ref v3);
        return v0 ^ v1 ^ v2 ^ v3;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Round(ref ulong v0, ref ulong v1, ref ulong v2, ref ulong v3)
    {
        v0 += v1;
        v1 = BitOperations.RotateLeft(v1, 13);
        v1 ^= v0;
        v0 = BitOperations.RotateLeft(v0, 32);
        v2 += v3;
        v3 = BitOperations.RotateLeft(v3, 16);
        v3 ^= v2;
        v0 += v3;
        v3 = BitOperations.RotateLeft(v3, 21);
        v3 ^= v0;
        v2 += v1;
        v1 = BitOperations.RotateLeft(v1, 17);
        v1 ^= v2;
        v2 = BitOperations.RotateLeft(v2, 32);
    }
}
