using System.Runtime.InteropServices;
using Dataplane.Stack.Ip;

namespace Dataplane.Stack.Transport.Tcp;

/// <summary>
/// Initial sequence numbers as RFC 6528 3 asks: <c>ISN = M + F(localip, localport, remoteip,
/// remoteport, secretkey)</c>, with M a clock that ticks every 4 microseconds (RFC 9293 3.4.1) and
/// F a keyed pseudo-random function, here SipHash-2-4 as Linux's secure_tcp_seq. A connection's
/// numbers cannot be guessed from another's (the attack of RFC 6528 1), and a new incarnation of a
/// four-tuple starts above where the old one was, so old duplicates fall outside its window.
/// </summary>
/// <remarks>
/// One per stack, shared by the workers: a key read, never written, and a pure function of the
/// four-tuple and the time, so workers need no coordination and a simulation with a fixed key and
/// clock replays exactly.
/// </remarks>
internal readonly struct InitialSequenceNumbers(SipHash key)
{
    /// <summary>Nanoseconds per tick of M (RFC 9293 3.4.1: a 32-bit clock whose low bit moves every 4 microseconds).</summary>
    public const long TickNanoseconds = 4_000;

    // Both addresses in their 16-byte form, then the ports and the family in one 64-bit word.
    private const int InputLength = 16 + 16 + 8;

    /// <summary>The ISN for a connection between the two endpoints at <paramref name="now"/> (nanoseconds on the engine clock).</summary>
    public TcpSequence For(in InetAddress local, ushort localPort, in InetAddress remote, ushort remotePort, long now)
    {
        Span<byte> input = stackalloc byte[InputLength];
        local.Mapped.CopyTo(input);
        remote.Mapped.CopyTo(input[16..]);
        ulong portsAndFamily = (ulong)localPort << 24 | (ulong)remotePort << 8 | (remote.IsIpv6 ? 6UL : 4UL);
        MemoryMarshal.Write(input[32..], in portsAndFamily); // a hash input: the byte order does not matter
        uint f = (uint)key.Hash(input);
        return new TcpSequence(unchecked(f + (uint)(now / TickNanoseconds)));
    }
}
