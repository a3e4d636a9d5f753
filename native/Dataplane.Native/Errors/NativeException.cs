namespace Dataplane.Native;

/// <summary>
/// A failed system call on the control path (opening a device, setting a socket option, mapping a
/// ring): carries the <see cref="Errno"/> and names the operation, such as
/// <c>ioctl(TUNSETIFF) on dpl0</c>. The data path never throws it; it returns <c>-errno</c>.
/// </summary>
public sealed class NativeException : Exception
{
    /// <summary>A failure of <paramref name="operation"/> with <paramref name="errno"/>.</summary>
    public NativeException(string operation, Errno errno)
        : base($"{operation}: {errno}")
    {
        Operation = operation;
        Errno = errno;
    }

    /// <summary>
    /// A failure of <paramref name="operation"/> with <paramref name="errno"/>, and what the kernel said
    /// about it on the lines after (a BPF verifier log).
    /// </summary>
    public NativeException(string operation, Errno errno, string detail)
        : base($"{operation}: {errno}\n{detail}")
    {
        Operation = operation;
        Errno = errno;
    }

    /// <summary>A failure with no error number (<see cref="Errno.IsNone"/>).</summary>
    public NativeException() : this("native call failed", default(Errno)) { }

    /// <summary>A failure described by <paramref name="message"/>, with no error number.</summary>
    public NativeException(string message) : base(message) => Operation = message;

    /// <summary>A failure described by <paramref name="message"/>, caused by <paramref name="innerException"/>.</summary>
    public NativeException(string message, Exception innerException) : base(message, innerException) => Operation = message;

    /// <summary>The error number the call left.</summary>
    public Errno Errno { get; }

    /// <summary>What was attempted: the call, its request or option, and on what.</summary>
    public string Operation { get; }

    /// <summary>Throws for <see cref="Errno.Last"/> when <paramref name="result"/> is negative; returns it otherwise.</summary>
    internal static int ThrowIfFailed(int result, string operation)
    {
        if (result < 0)
            Throw(operation, Errno.Last);
        return result;
    }

    /// <summary>Throws for <see cref="Errno.Last"/> when <paramref name="result"/> is negative; returns it otherwise.</summary>
    internal static nint ThrowIfFailed(nint result, string operation)
    {
        if (result < 0)
            Throw(operation, Errno.Last);
        return result;
    }

    /// <summary>Out of line, so the callers' success path stays small.</summary>
    internal static void Throw(string operation, Errno errno) => throw new NativeException(operation, errno);
}
