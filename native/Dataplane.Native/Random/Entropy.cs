namespace Dataplane.Native;

/// <summary>
/// Random bytes from the kernel (getrandom(2), the urandom source once it is initialized), for
/// keys and cookies. Not <c>RandomNumberGenerator</c>: on Linux .NET draws it from OpenSSL, which
/// it loads at the first call and aborts the process without (a host or guest with no libssl), and
/// a dataplane needs no TLS library to key a hash.
/// </summary>
public static unsafe class Entropy
{
    /// <summary>Fills <paramref name="buffer"/>; a failure of the system call (it has none in practice) is a <see cref="NativeException"/>.</summary>
    public static void Fill(Span<byte> buffer)
    {
        fixed (byte* start = buffer)
        {
            int done = 0;
            while (done < buffer.Length)
            {
                // Blocks only until the kernel's pool is first initialized; a read of up to 256
                // bytes is never cut short once it is, longer ones may be (by a signal): loop.
                nint n = Libc.getrandom(start + done, (nuint)(buffer.Length - done), 0);
                if (n < 0)
                {
                    Errno errno = Errno.Last;
                    if (errno.Number == Errno.EINTR)
                        continue;
                    throw new NativeException("getrandom", errno);
                }
                done += (int)n;
            }
        }
    }
}
