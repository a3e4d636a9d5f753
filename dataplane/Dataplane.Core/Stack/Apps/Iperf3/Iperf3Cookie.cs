
namespace Dataplane.Stack.Apps.Iperf3;

/// <summary>
/// The test cookie: 36 characters of <c>a-z2-7</c> and a NUL, 37 bytes (iperf.h COOKIE_SIZE). The
/// client sends it first on the control connection and on every TCP data connection; the server
/// compares it with <c>strcmp</c> (iperf_tcp.c iperf_tcp_accept), so only the bytes up to the NUL
/// count there. make_cookie (iperf_util.c) maps each random byte modulo 32 onto the alphabet.
/// </summary>
public static class Iperf3Cookie
{
    /// <summary>Its length on the wire, the NUL included.</summary>
    public const int Length = 37;

    /// <summary>The alphabet make_cookie draws from: 32 characters, so a byte modulo 32 is unbiased.</summary>
    private static ReadOnlySpan<byte> Alphabet => "abcdefghijklmnopqrstuvwxyz234567"u8;

    /// <summary>Fills <paramref name="cookie"/> (exactly <see cref="Length"/> bytes) with a fresh cookie from a cryptographic source.</summary>
    public static void Generate(Span<byte> cookie)
    {
        if (cookie.Length != Length)
            throw new ArgumentException($"a cookie is {Length} bytes", nameof(cookie));
        Native.Entropy.Fill(cookie);
        for (int i = 0; i < Length - 1; i++)
            cookie[i] = Alphabet[cookie[i] % Alphabet.Length];
        cookie[Length - 1] = 0;
    }

    /// <summary>A fresh cookie as a new array.</summary>
    public static byte[] Generate()
    {
        byte[] cookie = new byte[Length];
        Generate(cookie);
        return cookie;
    }

    /// <summary>Whether <paramref name="cookie"/> is one iperf3 would make: 36 alphabet characters and a NUL.</summary>
    public static bool IsWellFormed(ReadOnlySpan<byte> cookie)
    {
        if (cookie.Length != Length || cookie[Length - 1] != 0)
            return false;
        for (int i = 0; i < Length - 1; i++)
        {
            byte c = cookie[i];
            if (!((uint)(c - 'a') <= 'z' - 'a' || (uint)(c - '2') <= '7' - '2'))
                return false;
        }
        return true;
    }

    /// <summary>
    /// Whether <paramref name="received"/> names the same test as <paramref name="expected"/>, as
    /// iperf3's <c>strcmp</c> sees it: equal up to and including the first NUL.
    /// </summary>
    public static bool Matches(ReadOnlySpan<byte> expected, ReadOnlySpan<byte> received)
    {
        if (expected.Length != Length || received.Length != Length)
            return false;
        for (int i = 0; i < Length; i++)
        {
            if (expected[i] != received[i])
                return false;
            if (expected[i] == 0)
                return true;
        }
        return false; // neither carries a NUL: not a C string
    }

    /// <summary>The cookie's text (without the NUL), as iperf3 shows it in -J's start.cookie.</summary>
    public static string ToText(ReadOnlySpan<byte> cookie)
    {
        int end = cookie.IndexOf((byte)0);
        return System.Text.Encoding.ASCII.GetString(end < 0 ? cookie : cookie[..end]);
    }
}
