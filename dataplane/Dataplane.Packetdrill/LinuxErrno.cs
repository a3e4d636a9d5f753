using System.Runtime.InteropServices;
using Dataplane.Stack.Transport.Tcp;

namespace Dataplane.Packetdrill;

/// <summary>
/// The errno numbers the socket calls answer with (Linux x86-64, <c>asm-generic/errno.h</c>), and
/// the one way to set the caller's errno: packetdrill reads the C library's thread-local errno
/// right after a call returns -1.
/// </summary>
internal static unsafe partial class LinuxErrno
{
    public const int EBADF = 9;
    public const int EAGAIN = 11;
    public const int EFAULT = 14;
    public const int EINVAL = 22;
    public const int EMFILE = 24;
    public const int ENOTTY = 25;
    public const int EPIPE = 32;
    public const int ENOSYS = 38;
    public const int ENOTSOCK = 88;
    public const int EDESTADDRREQ = 89;
    public const int ENOPROTOOPT = 92;
    public const int EPROTONOSUPPORT = 93;
    public const int EOPNOTSUPP = 95;
    public const int EAFNOSUPPORT = 97;
    public const int EADDRINUSE = 98;
    public const int EADDRNOTAVAIL = 99;
    public const int ENETUNREACH = 101;
    public const int ECONNABORTED = 103;
    public const int ECONNRESET = 104;
    public const int ENOBUFS = 105;
    public const int EISCONN = 106;
    public const int ENOTCONN = 107;
    public const int ETIMEDOUT = 110;
    public const int ECONNREFUSED = 111;
    public const int EALREADY = 114;
    public const int EINPROGRESS = 115;

    /// <summary>Sets the calling thread's errno, as a system call that failed would.</summary>
    public static void Set(int errno) => *ErrnoLocation() = errno;

    /// <summary>
    /// The errno a connection that ended with <paramref name="error"/> reports (SO_ERROR, and a
    /// read or write after it), or for an operation that failed with it; 0 for none.
    /// </summary>
    public static int Of(TcpError error, bool connecting = false) => error switch
    {
        TcpError.None => 0,
        TcpError.InvalidArgument => EINVAL,
        TcpError.InvalidState => connecting ? EISCONN : EINVAL,
        TcpError.AddressInUse => EADDRINUSE,
        TcpError.AddressNotAvailable => EADDRNOTAVAIL,
        TcpError.NetworkUnreachable => ENETUNREACH,
        TcpError.NoPortAvailable => EADDRNOTAVAIL,
        TcpError.OtherWorker => EADDRNOTAVAIL,
        TcpError.NoResources => ENOBUFS,
        TcpError.Refused => ECONNREFUSED,
        TcpError.Reset => ECONNRESET,
        TcpError.TimedOut => ETIMEDOUT,
        TcpError.Aborted => ECONNABORTED,
        _ => EINVAL,
    };

    [LibraryImport("libc", EntryPoint = "__errno_location")]
    private static partial int* ErrnoLocation();
}
