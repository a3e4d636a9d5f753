using System.Runtime.InteropServices;

namespace Dataplane.Native;

/// <summary>
/// A Linux error number (errno(3)): the number, its symbolic name (<c>ENOENT</c>) and the C
/// library's text for it (strerror(3)). Data-path calls return <c>-errno</c> instead of throwing;
/// <see cref="FromResult(nint)"/> turns such a result back into an <see cref="Errno"/>.
/// </summary>
/// <remarks>Numbers are those of <c>/usr/include/asm-generic/errno-base.h</c> and <c>errno.h</c> (x86-64).</remarks>
public readonly partial struct Errno : IEquatable<Errno>
{
    /// <summary>EPERM: operation not permitted (a capability such as CAP_NET_ADMIN is missing).</summary>
    public const int EPERM = 1;
    /// <summary>ENOENT: no such file or directory.</summary>
    public const int ENOENT = 2;
    /// <summary>EINTR: interrupted by a signal; the call may be repeated.</summary>
    public const int EINTR = 4;
    /// <summary>EIO: input/output error (a tap write with a malformed virtio header, for one).</summary>
    public const int EIO = 5;
    /// <summary>ENXIO: no such device or address (a packet socket bound to an interface that is down).</summary>
    public const int ENXIO = 6;
    /// <summary>EBADF: not an open file descriptor.</summary>
    public const int EBADF = 9;
    /// <summary>EAGAIN (= EWOULDBLOCK): a non-blocking call found nothing to do.</summary>
    public const int EAGAIN = 11;
    /// <summary>ENOMEM: out of memory (or, for MAP_HUGETLB, out of reserved huge pages).</summary>
    public const int ENOMEM = 12;
    /// <summary>EACCES: permission denied.</summary>
    public const int EACCES = 13;
    /// <summary>EFAULT: a pointer argument was outside the address space.</summary>
    public const int EFAULT = 14;
    /// <summary>EBUSY: resource busy (a packet socket option set after its ring was mapped).</summary>
    public const int EBUSY = 16;
    /// <summary>EEXIST: already exists.</summary>
    public const int EEXIST = 17;
    /// <summary>ENODEV: no such device (an interface name that does not exist).</summary>
    public const int ENODEV = 19;
    /// <summary>EINVAL: invalid argument.</summary>
    public const int EINVAL = 22;
    /// <summary>ENOTTY: the ioctl request does not apply to this file descriptor.</summary>
    public const int ENOTTY = 25;
    /// <summary>ENOSPC: no space left (veth: native XDP wants at least as many receive queues as the peer has transmit queues).</summary>
    public const int ENOSPC = 28;
    /// <summary>ERANGE: out of range (veth: the peer's MTU too large for native XDP).</summary>
    public const int ERANGE = 34;
    /// <summary>ENOSYS: the kernel does not implement the system call.</summary>
    public const int ENOSYS = 38;
    /// <summary>EMSGSIZE: the frame is larger than the interface's MTU allows.</summary>
    public const int EMSGSIZE = 90;
    /// <summary>ENOPROTOOPT: the socket option is unknown to this kernel.</summary>
    public const int ENOPROTOOPT = 92;
    /// <summary>EOPNOTSUPP: operation not supported.</summary>
    public const int EOPNOTSUPP = 95;
    /// <summary>ENETDOWN: the network interface is down.</summary>
    public const int ENETDOWN = 100;
    /// <summary>ENOBUFS: no buffer space (a transmit queue is full).</summary>
    public const int ENOBUFS = 105;

    /// <summary>An error number; 0 means no error.</summary>
    public Errno(int number) => Number = number;

    /// <summary>The positive error number; 0 for none.</summary>
    public int Number { get; }

    /// <summary>True when this is no error (number 0).</summary>
    public bool IsNone => Number == 0;

    /// <summary>The symbolic name, such as <c>ENOENT</c>; <c>errno N</c> for a number without one.</summary>
    public string Name => NameOf(Number) ?? $"errno {Number}";

    /// <summary>The C library's description (strerror(3)), such as "No such file or directory".</summary>
    public string Message => Marshal.GetPInvokeErrorMessage(Number);

    /// <summary>
    /// The errno the last P/Invoke of this thread left (the libc calls here all capture it:
    /// <c>SetLastError = true</c>). Read it right after the failed call.
    /// </summary>
    public static Errno Last => new(Marshal.GetLastPInvokeError());

    /// <summary>The error in a data-path result: <c>-errno</c> when negative, otherwise none.</summary>
    public static Errno FromResult(nint result) => result < 0 ? new Errno((int)-result) : default;

    /// <summary>Like <c>ENOENT (2): No such file or directory</c>.</summary>
    public override string ToString() => $"{Name} ({Number}): {Message}";

    /// <inheritdoc/>
    public bool Equals(Errno other) => Number == other.Number;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is Errno other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => Number;

    /// <summary>Same error number.</summary>
    public static bool operator ==(Errno left, Errno right) => left.Number == right.Number;

    /// <summary>Different error numbers.</summary>
    public static bool operator !=(Errno left, Errno right) => left.Number != right.Number;
}
