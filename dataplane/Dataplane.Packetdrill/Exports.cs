using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Dataplane.Packetdrill;

/// <summary>
/// The library's C ABI: <c>packetdrill_interface_init</c>, which packetdrill looks up with dlsym
/// after it loads the library (so_testing.c), and the functions it puts in the interface. Each
/// takes the library's lock, calls <see cref="SocketCalls"/> or <see cref="StackUnderTest"/>, and
/// turns a <c>-errno</c> result into -1 with errno set, as the system call would.
/// </summary>
internal static unsafe class Exports
{
    /// <summary>One loaded instance: the stack and its sockets; packetdrill's userdata is a handle to it.</summary>
    private sealed class Library(StackUnderTest stack)
    {
        public StackUnderTest Stack { get; } = stack;

        public SocketCalls Calls { get; } = new(stack);

        public object Gate => Stack.Gate;
    }

    /// <summary>
    /// <c>void packetdrill_interface_init(const char *flags, struct packetdrill_interface *ifc)</c>:
    /// builds the stack from the flags (<see cref="LibraryOptions"/>) and fills the interface. A flag
    /// it does not understand ends the process with a message, as packetdrill does for its own.
    /// </summary>
    [UnmanagedCallersOnly(EntryPoint = "packetdrill_interface_init")]
    public static void Init(byte* flags, PacketdrillInterface* ifc)
    {
        LibraryOptions? options = LibraryOptions.Parse(Marshal.PtrToStringUTF8((nint)flags), out string? error);
        if (options is null)
        {
            Console.Error.WriteLine($"dataplane-packetdrill: {error}");
            Environment.Exit(1);
            return;
        }
        var library = new Library(new StackUnderTest(options));
        *ifc = default;
        ifc->UserData = GCHandle.ToIntPtr(GCHandle.Alloc(library));
        ifc->Free = &Free;
        ifc->Socket = &Socket;
        ifc->Bind = &Bind;
        ifc->Listen = &Listen;
        ifc->Accept = &Accept;
        ifc->Connect = &Connect;
        ifc->Read = &Read;
        ifc->Readv = &Readv;
        ifc->Recv = &Recv;
        ifc->Recvfrom = &Recvfrom;
        ifc->Recvmsg = &Recvmsg;
        ifc->Write = &Write;
        ifc->Writev = &Writev;
        ifc->Send = &Send;
        ifc->Sendto = &Sendto;
        ifc->Sendmsg = &Sendmsg;
        ifc->Fcntl = &Fcntl;
        ifc->Ioctl = &Ioctl;
        ifc->Close = &Close;
        ifc->Shutdown = &Shutdown;
        ifc->Getsockopt = &Getsockopt;
        ifc->Setsockopt = &Setsockopt;
        ifc->Poll = &Poll;
        ifc->NetdevSend = &NetdevSend;
        ifc->NetdevReceive = &NetdevReceive;
        ifc->Usleep = &Usleep;
        ifc->Gettimeofday = &Gettimeofday;
        ifc->EpollCreate = &EpollCreate;
        ifc->EpollCtl = &EpollCtl;
        ifc->EpollWait = &EpollWait;
        ifc->Pipe = &Pipe;
        ifc->Splice = &Splice;
    }

    [UnmanagedCallersOnly]
    private static void Free(nint userdata)
    {
        GCHandle handle = GCHandle.FromIntPtr(userdata);
        var library = (Library)handle.Target!;
        lock (library.Gate)
            library.Calls.Shutdown();
        handle.Free();
    }

    [UnmanagedCallersOnly]
    private static int Socket(nint userdata, int domain, int type, int protocol)
    {
        Library l = Of(userdata);
        lock (l.Gate)
            return Result(l.Calls.Socket(domain, type, protocol));
    }

    [UnmanagedCallersOnly]
    private static int Bind(nint userdata, int fd, byte* address, uint length)
    {
        Library l = Of(userdata);
        lock (l.Gate)
            return Result(address is null ? -LinuxErrno.EFAULT : l.Calls.Bind(fd, new ReadOnlySpan<byte>(address, (int)length)));
    }

    [UnmanagedCallersOnly]
    private static int Listen(nint userdata, int fd, int backlog)
    {
        Library l = Of(userdata);
        lock (l.Gate)
            return Result(l.Calls.Listen(fd, backlog));
    }

    [UnmanagedCallersOnly]
    private static int Accept(nint userdata, int fd, byte* address, uint* length)
    {
        Library l = Of(userdata);
        lock (l.Gate)
        {
            Span<byte> into = address is null || length is null ? default : new Span<byte>(address, (int)*length);
            int result = l.Calls.Accept(fd, into, out int full);
            if (result >= 0 && address is not null && length is not null)
                *length = (uint)full;
            return Result(result);
        }
    }

    [UnmanagedCallersOnly]
    private static int Connect(nint userdata, int fd, byte* address, uint length)
    {
        Library l = Of(userdata);
        lock (l.Gate)
            return Result(address is null ? -LinuxErrno.EFAULT : l.Calls.Connect(fd, new ReadOnlySpan<byte>(address, (int)length)));
    }

    [UnmanagedCallersOnly]
    private static nint Read(nint userdata, int fd, byte* buffer, nuint count) => ReadOne(userdata, fd, buffer, count, 0);

    [UnmanagedCallersOnly]
    private static nint Recv(nint userdata, int fd, byte* buffer, nuint count, int flags) => ReadOne(userdata, fd, buffer, count, flags);

    [UnmanagedCallersOnly]
    private static nint Recvfrom(nint userdata, int fd, byte* buffer, nuint count, int flags, byte* address, uint* length)
    {
        if (length is not null)
            *length = 0; // TCP does not say who sent the bytes
        return ReadOne(userdata, fd, buffer, count, flags);
    }

    [UnmanagedCallersOnly]
    private static nint Readv(nint userdata, int fd, IoVector* iov, int count)
    {
        Library l = Of(userdata);
        lock (l.Gate)
            return Result(count < 0 || iov is null && count > 0 ? -LinuxErrno.EINVAL : l.Calls.Read(fd, new ReadOnlySpan<IoVector>(iov, count), 0));
    }

    [UnmanagedCallersOnly]
    private static nint Recvmsg(nint userdata, int fd, MessageHeader* message, int flags)
    {
        Library l = Of(userdata);
        lock (l.Gate)
        {
            if (message is null)
                return Result(-LinuxErrno.EFAULT);
            long result = l.Calls.Read(fd, new ReadOnlySpan<IoVector>(message->Iov, (int)message->IovLength), flags);
            message->NameLength = 0;
            message->ControlLength = 0;
            message->Flags = 0;
            return Result(result);
        }
    }

    [UnmanagedCallersOnly]
    private static nint Write(nint userdata, int fd, byte* buffer, nuint count) => WriteOne(userdata, fd, buffer, count, 0);

    [UnmanagedCallersOnly]
    private static nint Send(nint userdata, int fd, byte* buffer, nuint count, int flags) => WriteOne(userdata, fd, buffer, count, flags);

    [UnmanagedCallersOnly]
    private static nint Sendto(nint userdata, int fd, byte* buffer, nuint count, int flags, byte* address, uint length)
        => WriteOne(userdata, fd, buffer, count, flags); // a connected TCP socket ignores the address, as Linux does

    [UnmanagedCallersOnly]
    private static nint Writev(nint userdata, int fd, IoVector* iov, int count)
    {
        Library l = Of(userdata);
        lock (l.Gate)
            return Result(count < 0 || iov is null && count > 0 ? -LinuxErrno.EINVAL : l.Calls.Write(fd, new ReadOnlySpan<IoVector>(iov, count), 0));
    }

    [UnmanagedCallersOnly]
    private static nint Sendmsg(nint userdata, int fd, MessageHeader* message, int flags)
    {
        Library l = Of(userdata);
        lock (l.Gate)
            return Result(message is null ? -LinuxErrno.EFAULT : l.Calls.Write(fd, new ReadOnlySpan<IoVector>(message->Iov, (int)message->IovLength), flags));
    }

    [UnmanagedCallersOnly]
    private static int Fcntl(nint userdata, int fd, int command, nint argument)
    {
        Library l = Of(userdata);
        lock (l.Gate)
            return Result(l.Calls.Fcntl(fd, command, argument));
    }

    [UnmanagedCallersOnly]
    private static int Ioctl(nint userdata, int fd, nuint request, nint argument)
    {
        Library l = Of(userdata);
        lock (l.Gate)
            return Result(l.Calls.Ioctl(fd, request, (int*)argument));
    }

    [UnmanagedCallersOnly]
    private static int Close(nint userdata, int fd)
    {
        Library l = Of(userdata);
        lock (l.Gate)
            return Result(l.Calls.Close(fd));
    }

    [UnmanagedCallersOnly]
    private static int Shutdown(nint userdata, int fd, int how)
    {
        Library l = Of(userdata);
        lock (l.Gate)
            return Result(l.Calls.Shutdown(fd, how));
    }

    [UnmanagedCallersOnly]
    private static int Getsockopt(nint userdata, int fd, int level, int name, byte* value, uint* length)
    {
        Library l = Of(userdata);
        lock (l.Gate)
        {
            if (value is null || length is null)
                return Result(-LinuxErrno.EFAULT);
            int result = l.Calls.GetOption(fd, level, name, new Span<byte>(value, (int)*length), out int written);
            if (result >= 0)
                *length = (uint)written;
            return Result(result);
        }
    }

    [UnmanagedCallersOnly]
    private static int Setsockopt(nint userdata, int fd, int level, int name, byte* value, uint length)
    {
        Library l = Of(userdata);
        lock (l.Gate)
            return Result(value is null ? -LinuxErrno.EFAULT : l.Calls.SetOption(fd, level, name, new ReadOnlySpan<byte>(value, (int)length)));
    }

    [UnmanagedCallersOnly]
    private static int Poll(nint userdata, PollDescriptor* fds, nuint count, int timeout)
    {
        Library l = Of(userdata);
        lock (l.Gate)
            return Result(fds is null && count > 0 ? -LinuxErrno.EFAULT : l.Calls.Poll(new Span<PollDescriptor>(fds, (int)count), timeout));
    }

    /// <summary>netdev_send: a packet from packetdrill into the stack; 0, or -1 for one that is not IP.</summary>
    [UnmanagedCallersOnly]
    private static int NetdevSend(nint userdata, byte* buffer, nuint count)
    {
        Library l = Of(userdata);
        lock (l.Gate)
            return l.Stack.Inject(new ReadOnlySpan<byte>(buffer, (int)count)) ? 0 : -1;
    }

    /// <summary>
    /// netdev_receive: the next packet the stack sent, and when. packetdrill asks as soon as a script
    /// expects one and takes no timeout from so mode, so when none is waiting the clock runs on, timer
    /// to timer, until the stack sends one; after <see cref="SocketCalls.Horizon"/> without one the
    /// answer is an empty packet, which packetdrill reports as an error rather than wait forever.
    /// </summary>
    [UnmanagedCallersOnly]
    private static int NetdevReceive(nint userdata, byte* buffer, nuint* count, long* timeUsecs)
    {
        Library l = Of(userdata);
        lock (l.Gate)
        {
            StackUnderTest stack = l.Stack;
            long limit = stack.Now + SocketCalls.Horizon;
            OutboundPacket packet;
            while (!stack.TryTake(out packet))
            {
                if (!stack.AdvanceToNextTimer(limit))
                {
                    *count = 0;
                    *timeUsecs = stack.Now / 1000;
                    return 0;
                }
            }
            int n = (int)Math.Min((nuint)packet.Ip.Length, *count);
            packet.Ip.AsSpan(0, n).CopyTo(new Span<byte>(buffer, n));
            *count = (nuint)n;
            *timeUsecs = packet.Time / 1000;
            return 0;
        }
    }

    [UnmanagedCallersOnly]
    private static int Usleep(nint userdata, uint microseconds)
    {
        Library l = Of(userdata);
        lock (l.Gate)
            l.Stack.AdvanceTo(l.Stack.Now + microseconds * 1000L);
        return 0;
    }

    [UnmanagedCallersOnly]
    private static int Gettimeofday(nint userdata, TimeValue* time, nint zone)
    {
        Library l = Of(userdata);
        long now;
        lock (l.Gate)
            now = l.Stack.ReadClock();
        if (time is not null)
        {
            time->Seconds = now / 1_000_000_000;
            time->Microseconds = now % 1_000_000_000 / 1000;
        }
        return 0;
    }

    [UnmanagedCallersOnly]
    private static int EpollCreate(nint userdata, int size) => Result(-LinuxErrno.ENOSYS);

    [UnmanagedCallersOnly]
    private static int EpollCtl(nint userdata, int epfd, int op, int fd, nint events) => Result(-LinuxErrno.ENOSYS);

    [UnmanagedCallersOnly]
    private static int EpollWait(nint userdata, int epfd, nint events, int max, int timeout) => Result(-LinuxErrno.ENOSYS);

    [UnmanagedCallersOnly]
    private static int Pipe(nint userdata, int* fds) => Result(-LinuxErrno.ENOSYS);

    [UnmanagedCallersOnly]
    private static nint Splice(nint userdata, int input, long* inputOffset, int output, long* outputOffset, nuint length, uint flags)
        => Result(-LinuxErrno.ENOSYS);

    private static nint ReadOne(nint userdata, int fd, byte* buffer, nuint count, int flags)
    {
        Library l = Of(userdata);
        IoVector one = new() { Base = buffer, Length = count };
        lock (l.Gate)
            return Result(buffer is null && count > 0 ? -LinuxErrno.EFAULT : l.Calls.Read(fd, new ReadOnlySpan<IoVector>(&one, 1), flags));
    }

    private static nint WriteOne(nint userdata, int fd, byte* buffer, nuint count, int flags)
    {
        Library l = Of(userdata);
        IoVector one = new() { Base = buffer, Length = count };
        lock (l.Gate)
            return Result(buffer is null && count > 0 ? -LinuxErrno.EFAULT : l.Calls.Write(fd, new ReadOnlySpan<IoVector>(&one, 1), flags));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Library Of(nint userdata) => (Library)GCHandle.FromIntPtr(userdata).Target!;

    /// <summary>A result or -errno as a system call returns it: the result, or -1 with errno set.</summary>
    private static int Result(int result)
    {
        if (result >= 0)
            return result;
        LinuxErrno.Set(-result);
        return -1;
    }

    private static nint Result(long result)
    {
        if (result >= 0)
            return (nint)result;
        LinuxErrno.Set((int)-result);
        return -1;
    }
}
