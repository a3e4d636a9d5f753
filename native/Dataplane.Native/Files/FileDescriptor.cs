using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace Dataplane.Native;

/// <summary>
/// An owned Linux file descriptor, closed (close(2)) on dispose or, if forgotten, by the finalizer.
/// Reads and writes are data-path calls: they return the byte count or <c>-errno</c> and never throw.
/// The owner disposes it only after every thread using it has stopped: the data-path calls read the
/// descriptor number without taking a reference, as a syscall in a per-core loop must.
/// </summary>
public sealed unsafe class FileDescriptor : SafeHandle
{
    /// <summary>Takes ownership of <paramref name="fd"/> (or borrows it when <paramref name="ownsHandle"/> is false).</summary>
    public FileDescriptor(int fd, bool ownsHandle = true) : base(-1, ownsHandle) => SetHandle(fd);

    /// <summary>True for a negative descriptor number.</summary>
    public override bool IsInvalid => (nint)handle < 0;

    /// <summary>The descriptor number, for poll and epoll sets and for calls made elsewhere in this project.</summary>
    public int Value => (int)handle;

    /// <summary>
    /// open(2) <paramref name="path"/> read-write (O_RDWR | O_CLOEXEC, and O_NONBLOCK when asked);
    /// throws <see cref="NativeException"/> on failure.
    /// </summary>
    public static FileDescriptor Open(string path, bool nonBlocking = false)
    {
        int flags = O_RDWR | O_CLOEXEC | (nonBlocking ? O_NONBLOCK : 0);
        int fd;
        fixed (byte* p = NullTerminated(path))
            fd = open(p, flags, 0);
        return new FileDescriptor(NativeException.ThrowIfFailed(fd, $"open({path})"));
    }

    /// <summary>pipe2(2) with O_CLOEXEC (and O_NONBLOCK when asked): the read end and the write end.</summary>
    public static (FileDescriptor Read, FileDescriptor Write) CreatePipe(bool nonBlocking = false)
    {
        int* fds = stackalloc int[2];
        NativeException.ThrowIfFailed(pipe2(fds, O_CLOEXEC | (nonBlocking ? O_NONBLOCK : 0)), "pipe2");
        return (new FileDescriptor(fds[0]), new FileDescriptor(fds[1]));
    }

    /// <summary>read(2) into <paramref name="buffer"/>: bytes read (0 at end of file) or <c>-errno</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public nint Read(Span<byte> buffer)
    {
        fixed (byte* p = buffer)
            return SystemCall.Result((nint)(long)read((int)handle, p, buffer.Length));
    }

    /// <summary>write(2) of <paramref name="buffer"/>: bytes written or <c>-errno</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public nint Write(ReadOnlySpan<byte> buffer)
    {
        fixed (byte* p = buffer)
            return SystemCall.Result((nint)(long)write((int)handle, p, buffer.Length));
    }

    /// <summary>
    /// readv(2) into two buffers, such as a virtio-net header and then the frame: total bytes or <c>-errno</c>.
    /// </summary>
    public nint ScatterRead(Span<byte> first, Span<byte> second)
    {
        fixed (byte* a = first)
        fixed (byte* b = second)
        {
            IoVec* iov = stackalloc IoVec[2];
            iov[0] = new IoVec(a, (nuint)first.Length);
            iov[1] = new IoVec(b, (nuint)second.Length);
            return SystemCall.Result(Libc.readv((int)handle, iov, 2));
        }
    }

    /// <summary>
    /// writev(2) of two buffers as one write, such as a virtio-net header and then the frame: total bytes
    /// or <c>-errno</c>. A tap device takes one write as one frame.
    /// </summary>
    public nint GatherWrite(ReadOnlySpan<byte> first, ReadOnlySpan<byte> second)
    {
        fixed (byte* a = first)
        fixed (byte* b = second)
        {
            IoVec* iov = stackalloc IoVec[2];
            iov[0] = new IoVec(a, (nuint)first.Length);
            iov[1] = new IoVec(b, (nuint)second.Length);
            return SystemCall.Result(Libc.writev((int)handle, iov, 2));
        }
    }

    /// <summary>readv(2) into the buffers <paramref name="vectors"/> point to (pinned by the caller).</summary>
    public nint ScatterRead(ReadOnlySpan<IoVec> vectors)
    {
        fixed (IoVec* iov = vectors)
            return SystemCall.Result(Libc.readv((int)handle, iov, vectors.Length));
    }

    /// <summary>writev(2) of the buffers <paramref name="vectors"/> point to (pinned by the caller).</summary>
    public nint GatherWrite(ReadOnlySpan<IoVec> vectors)
    {
        fixed (IoVec* iov = vectors)
            return SystemCall.Result(Libc.writev((int)handle, iov, vectors.Length));
    }

    /// <summary>
    /// ioctl(2) <paramref name="request"/> with a pointer argument; the result (0 or a request's value)
    /// or <c>-errno</c>. Request numbers are the kernel's <c>_IOR/_IOW</c> encodings (asm-generic/ioctl.h).
    /// </summary>
    public int TryIoControl(uint request, void* argument) =>
        // Tmds.LibC takes the request as int; the kernel reads it as unsigned int (fs/ioctl.c), so the
        // sign of a _IOR request such as TUNGETFEATURES (0x800454cf) does not matter.
        SystemCall.Result(ioctl((int)handle, unchecked((int)request), argument));

    /// <summary>ioctl(2) for the control path: throws <see cref="NativeException"/> naming <paramref name="operation"/>.</summary>
    public int IoControl(uint request, void* argument, string operation)
    {
        int result = TryIoControl(request, argument);
        if (result < 0)
            NativeException.Throw(operation, new Errno(-result));
        return result;
    }

    /// <summary>O_NONBLOCK of the open file description, through fcntl(2) F_GETFL / F_SETFL.</summary>
    public bool NonBlocking
    {
        get => (NativeException.ThrowIfFailed(fcntl((int)handle, F_GETFL), "fcntl(F_GETFL)") & O_NONBLOCK) != 0;
        set
        {
            int flags = NativeException.ThrowIfFailed(fcntl((int)handle, F_GETFL), "fcntl(F_GETFL)");
            flags = value ? flags | O_NONBLOCK : flags & ~O_NONBLOCK;
            NativeException.ThrowIfFailed(fcntl((int)handle, F_SETFL, flags), "fcntl(F_SETFL)");
        }
    }

    /// <summary>
    /// poll(2) this descriptor alone for <paramref name="events"/> up to <paramref name="timeoutMilliseconds"/>
    /// (-1: forever): the events that happened (none on timeout) or <c>-errno</c> (EINTR on a signal).
    /// </summary>
    public int Poll(PollEvents events, int timeoutMilliseconds)
    {
        var fd = new PollFd(Value, events);
        int n = PollFd.Poll(new Span<PollFd>(ref fd), timeoutMilliseconds);
        return n <= 0 ? n : (int)fd.ReturnedEvents;
    }

    /// <summary>close(2); errors are not reported (close(2): the descriptor is gone either way).</summary>
    protected override bool ReleaseHandle() => close((int)handle) == 0;

    /// <summary>The UTF-8 bytes of <paramref name="text"/> and a terminating NUL, for a C string argument.</summary>
    internal static byte[] NullTerminated(string text)
    {
        var bytes = new byte[Encoding.UTF8.GetByteCount(text) + 1];
        Encoding.UTF8.GetBytes(text, bytes);
        return bytes;
    }
}
