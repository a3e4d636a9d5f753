using Dataplane.Stack.Transport;
using Dataplane.Stack.Transport.Tcp;

namespace Dataplane.Packetdrill;

/// <summary>
/// The BSD socket calls packetdrill makes, over the stack's TCP event API, with Linux's errno
/// semantics. Each returns its result or <c>-errno</c>; the caller holds <see cref="StackUnderTest.Gate"/>.
/// </summary>
/// <remarks>
/// A call that must wait (a blocking accept, connect, read, write or poll) waits in one of two
/// ways. On the thread that drives the netdev and the clock (the one that loaded the library:
/// packetdrill's main thread) nothing else can bring what it waits for but the stack's own
/// timers, so it moves the clock from timer to timer, at most <see cref="Horizon"/>, then fails
/// with EAGAIN. On any other thread (packetdrill's thread for calls a script marks blocking, with
/// a time range <c>0...0.5</c>) it sleeps on the gate, which every turn of the stack pulses, until
/// the driving thread's packets or clock make it ready: packetdrill sees that thread asleep and
/// goes on with the script.
/// </remarks>
internal sealed class SocketCalls
{
    /// <summary>How far the driving thread moves the clock for a call that cannot complete: past Linux's TCP_RTO_MAX.</summary>
    public const long Horizon = 130_000_000_000;

    public const int SockStream = 1;
    public const int SockDgram = 2;
    public const int SockNonBlock = 0x800;
    public const int SockCloexec = 0x80000;
    public const int IpProtoTcp = 6;
    public const int SolSocket = 1;
    public const int SoReuseAddr = 2;
    public const int SoType = 3;
    public const int SoError = 4;
    public const int SoSndBuf = 7;
    public const int SoRcvBuf = 8;
    public const int SoKeepAlive = 9;
    public const int SoLinger = 13;
    public const int SoReusePort = 15;
    public const int TcpNoDelay = 1;
    public const int TcpMaxSeg = 2;
    public const int TcpKeepIdle = 4;
    public const int TcpInfo = 11;
    public const int MsgPeek = 0x2;
    public const int MsgDontWait = 0x40;
    public const int MsgNoSignal = 0x4000;
    public const int FGetFd = 1;
    public const int FSetFd = 2;
    public const int FGetFl = 3;
    public const int FSetFl = 4;
    public const int ORdWr = 2;
    public const int ONonBlock = 0x800;
    public const short PollIn = 0x1;
    public const short PollOut = 0x4;
    public const short PollErr = 0x8;
    public const short PollHup = 0x10;
    public const short PollNval = 0x20;
    public const short PollRdNorm = 0x40;
    public const short PollWrNorm = 0x100;
    public const short PollRdHup = 0x2000;

    /// <summary>The lowest descriptor handed out, as a process with stdin, stdout and stderr open gets.</summary>
    private const int FirstFd = 3;

    private readonly StackUnderTest _stack;
    private readonly SocketEvents _app = new();
    private readonly Dictionary<int, SocketDescriptor> _fds = [];
    private readonly int _drivingThread;
    private bool _closed;

    /// <summary>The calls over <paramref name="stack"/>; the calling thread is the one that drives it.</summary>
    public SocketCalls(StackUnderTest stack)
    {
        _stack = stack;
        _drivingThread = Environment.CurrentManagedThreadId;
        lock (stack.Gate)
            stack.Tcp.Start(_app);
    }

    /// <summary>The descriptors open now.</summary>
    public int Count => _fds.Count;

    /// <summary>The library is being freed: waiters give up.</summary>
    public void Shutdown()
    {
        _closed = true;
        Monitor.PulseAll(_stack.Gate);
    }

    /// <summary>socket(2): AF_INET or AF_INET6, SOCK_STREAM (TCP).</summary>
    public int Socket(int domain, int type, int protocol)
    {
        if (domain is not (SocketAddress.AfInet or SocketAddress.AfInet6))
            return -LinuxErrno.EAFNOSUPPORT;
        int kind = type & ~(SockNonBlock | SockCloexec);
        if (kind != SockStream || protocol is not (0 or IpProtoTcp))
            return -LinuxErrno.EPROTONOSUPPORT;
        int fd = FirstFd;
        while (_fds.ContainsKey(fd))
            fd++;
        _fds[fd] = new SocketDescriptor(fd, domain == SocketAddress.AfInet6) { NonBlocking = (type & SockNonBlock) != 0 };
        return fd;
    }

    /// <summary>bind(2): an address of ours or the unspecified one; the port is kept for listen.</summary>
    public int Bind(int fd, ReadOnlySpan<byte> address)
    {
        if (!_fds.TryGetValue(fd, out SocketDescriptor? d))
            return -LinuxErrno.EBADF;
        int error = SocketAddress.TryRead(address, d.IsIpv6, out InetEndpoint local);
        if (error != 0)
            return error;
        if (d.IsBound || d.Tcp is not null)
            return -LinuxErrno.EINVAL;
        if (!local.IsUnspecifiedAddress && !_stack.Owns(local))
            return -LinuxErrno.EADDRNOTAVAIL;
        d.Bound = local;
        d.IsBound = true;
        return 0;
    }

    /// <summary>listen(2) on the bound address.</summary>
    public int Listen(int fd, int backlog)
    {
        if (!_fds.TryGetValue(fd, out SocketDescriptor? d))
            return -LinuxErrno.EBADF;
        if (d.IsListener)
            return 0; // Linux: a second listen only changes the backlog
        if (d.Tcp is not null)
            return -LinuxErrno.EINVAL;
        if (d.Bound.Port == 0)
            return -LinuxErrno.EINVAL; // no ephemeral port for a listener here (Linux would pick one)
        TcpSocket tcp = _app.Table.Open(d.IsIpv6, _app);
        TcpError result = tcp.Listen(d.Bound, Math.Max(1, backlog));
        if (result != TcpError.None)
        {
            tcp.Close();
            return -LinuxErrno.Of(result);
        }
        tcp.UserState = d;
        d.Tcp = tcp;
        return 0;
    }

    /// <summary>accept(2): the oldest established connection; its peer into <paramref name="address"/>.</summary>
    public int Accept(int fd, Span<byte> address, out int addressLength)
    {
        addressLength = 0;
        if (!_fds.TryGetValue(fd, out SocketDescriptor? d))
            return -LinuxErrno.EBADF;
        if (!d.IsListener)
            return -LinuxErrno.EINVAL;
        if (d.Accepted.Count == 0)
        {
            if (d.NonBlocking)
                return -LinuxErrno.EAGAIN;
            if (!Wait(() => d.Accepted.Count > 0 || !d.IsListener))
                return -LinuxErrno.EAGAIN;
            if (!d.IsListener)
                return -LinuxErrno.EINVAL;
        }
        TcpSocket connection = d.Accepted.Dequeue();
        int newFd = Socket(d.IsIpv6 ? SocketAddress.AfInet6 : SocketAddress.AfInet, SockStream, 0);
        SocketDescriptor accepted = _fds[newFd];
        accepted.Tcp = connection;
        accepted.NoDelay = d.NoDelay;
        accepted.KeepAlive = d.KeepAlive;
        accepted.KeepIdleSeconds = d.KeepIdleSeconds;
        accepted.ApplyOptions();
        connection.UserState = accepted;
        addressLength = SocketAddress.Write(connection.Remote, address);
        return newFd;
    }

    /// <summary>connect(2): the handshake; EINPROGRESS when non-blocking.</summary>
    public int Connect(int fd, ReadOnlySpan<byte> address)
    {
        if (!_fds.TryGetValue(fd, out SocketDescriptor? d))
            return -LinuxErrno.EBADF;
        if (d.Tcp is { } existing)
        {
            if (d.IsListener)
                return -LinuxErrno.EISCONN;
            if (existing.State == TcpState.SynSent)
                return d.NonBlocking ? -LinuxErrno.EALREADY : WaitConnected(d);
            if (d.Connecting)
            {
                // The result of a non-blocking connect, as Linux gives it to the next connect.
                d.Connecting = false;
                int errno = d.TakeErrno();
                return errno != 0 ? -errno : 0;
            }
            return -LinuxErrno.EISCONN;
        }
        int error = SocketAddress.TryRead(address, d.IsIpv6, out InetEndpoint remote);
        if (error != 0)
            return error;
        TcpSocket tcp = _app.Table.Open(d.IsIpv6, _app);
        tcp.UserState = d;
        d.Tcp = tcp;
        d.ApplyOptions();
        TcpError result = tcp.Connect(remote);
        if (result != TcpError.None)
        {
            d.Tcp = null;
            tcp.Close();
            return -LinuxErrno.Of(result, connecting: true);
        }
        _stack.Settle(); // the SYN leaves now
        if (d.NonBlocking)
        {
            d.Connecting = true;
            return -LinuxErrno.EINPROGRESS;
        }
        return WaitConnected(d);
    }

    /// <summary>read(2), readv(2), recv(2), recvmsg(2): into <paramref name="buffers"/> in order.</summary>
    public unsafe long Read(int fd, ReadOnlySpan<IoVector> buffers, int flags)
    {
        if (!_fds.TryGetValue(fd, out SocketDescriptor? d))
            return -LinuxErrno.EBADF;
        if (d.Tcp is not { } tcp || d.IsListener)
            return -LinuxErrno.ENOTCONN;
        bool nonBlocking = d.NonBlocking || (flags & MsgDontWait) != 0;
        if (!Readable(d, tcp))
        {
            if (nonBlocking)
                return -LinuxErrno.EAGAIN;
            if (!Wait(() => d.Tcp != tcp || Readable(d, tcp)))
                return -LinuxErrno.EAGAIN;
            if (d.Tcp != tcp)
                return -LinuxErrno.EBADF;
        }
        if (tcp.ReadableBytes == 0)
        {
            int errno = d.ReadShutdown ? 0 : d.TakeErrno();
            return errno != 0 ? -errno : 0;
        }
        long read = 0;
        foreach (IoVector v in buffers)
        {
            var buffer = new Span<byte>(v.Base, (int)Math.Min(v.Length, int.MaxValue));
            if (buffer.IsEmpty)
                continue;
            int n;
            if ((flags & MsgPeek) != 0)
            {
                ReadOnlySpan<byte> first = tcp.Peek();
                n = Math.Min(first.Length, buffer.Length);
                first[..n].CopyTo(buffer);
                read += n;
                break; // a peek shows the first contiguous bytes only
            }
            n = tcp.Receive(buffer);
            read += n;
            if (n < buffer.Length)
                break;
        }
        _stack.Settle(); // a window update may leave
        return read;
    }

    /// <summary>write(2), writev(2), send(2), sendmsg(2): from <paramref name="buffers"/> in order; a blocking call sends it all.</summary>
    public unsafe long Write(int fd, ReadOnlySpan<IoVector> buffers, int flags)
    {
        if (!_fds.TryGetValue(fd, out SocketDescriptor? d))
            return -LinuxErrno.EBADF;
        if (d.Tcp is not { } tcp || d.IsListener)
            return -LinuxErrno.EPIPE;
        bool nonBlocking = d.NonBlocking || (flags & MsgDontWait) != 0;
        if (tcp.State == TcpState.SynSent)
        {
            if (nonBlocking)
                return -LinuxErrno.EAGAIN;
            if (WaitConnected(d) is int failed and < 0)
                return failed;
        }
        long sent = 0;
        foreach (IoVector v in buffers)
        {
            var buffer = new ReadOnlySpan<byte>(v.Base, (int)Math.Min(v.Length, int.MaxValue));
            int at = 0;
            while (at < buffer.Length)
            {
                int errno = d.TakeErrno();
                if (errno != 0)
                    return sent > 0 ? sent : -errno;
                int taken = tcp.Send(buffer[at..]);
                if (taken < 0)
                    return sent > 0 ? sent : -LinuxErrno.EPIPE;
                at += taken;
                sent += taken;
                if (at < buffer.Length)
                {
                    _stack.Settle();
                    if (nonBlocking)
                        return sent > 0 ? sent : -LinuxErrno.EAGAIN;
                    if (!Wait(() => d.Tcp != tcp || tcp.SendSpace > 0 || tcp.Error != TcpError.None || tcp.State is not (TcpState.Established or TcpState.CloseWait)))
                        return sent > 0 ? sent : -LinuxErrno.EAGAIN;
                    if (d.Tcp != tcp)
                        return sent > 0 ? sent : -LinuxErrno.EBADF;
                }
            }
        }
        _stack.Settle();
        return sent;
    }

    /// <summary>close(2): a listener stops and resets what it did not hand out; a connection closes as TcpSocket.Close does.</summary>
    public int Close(int fd)
    {
        if (!_fds.Remove(fd, out SocketDescriptor? d))
            return -LinuxErrno.EBADF;
        if (d.Tcp is { } tcp)
        {
            while (d.Accepted.TryDequeue(out TcpSocket? pending))
                pending.Abort();
            tcp.UserState = null;
            tcp.Close();
            d.Tcp = null;
            _stack.Settle();
        }
        return 0;
    }

    /// <summary>shutdown(2): SHUT_RD (0), SHUT_WR (1), SHUT_RDWR (2).</summary>
    public int Shutdown(int fd, int how)
    {
        if (!_fds.TryGetValue(fd, out SocketDescriptor? d))
            return -LinuxErrno.EBADF;
        if (how is < 0 or > 2)
            return -LinuxErrno.EINVAL;
        if (d.Tcp is not { } tcp || d.IsListener)
            return -LinuxErrno.ENOTCONN;
        if (how != 1)
            d.ReadShutdown = true;
        if (how != 0)
        {
            TcpError result = tcp.Shutdown();
            if (result != TcpError.None)
                return -LinuxErrno.ENOTCONN;
            _stack.Settle();
        }
        return 0;
    }

    /// <summary>fcntl(2): F_GETFL and F_SETFL (O_NONBLOCK), F_GETFD and F_SETFD (accepted, nothing to close on exec).</summary>
    public int Fcntl(int fd, int command, long argument)
    {
        if (!_fds.TryGetValue(fd, out SocketDescriptor? d))
            return -LinuxErrno.EBADF;
        switch (command)
        {
            case FGetFl:
                return ORdWr | (d.NonBlocking ? ONonBlock : 0);
            case FSetFl:
                d.NonBlocking = (argument & ONonBlock) != 0;
                return 0;
            case FGetFd:
            case FSetFd:
                return 0;
            default:
                return -LinuxErrno.EINVAL;
        }
    }

    /// <summary>ioctl(2): FIONREAD (bytes readable) and FIONBIO (O_NONBLOCK).</summary>
    public unsafe int Ioctl(int fd, ulong request, int* argument)
    {
        const ulong FionRead = 0x541B;
        const ulong FionBio = 0x5421;
        if (!_fds.TryGetValue(fd, out SocketDescriptor? d))
            return -LinuxErrno.EBADF;
        if (argument is null)
            return -LinuxErrno.EFAULT;
        switch (request)
        {
            case FionRead:
                *argument = d.Tcp is { } tcp && !d.IsListener ? tcp.ReadableBytes : 0;
                return 0;
            case FionBio:
                d.NonBlocking = *argument != 0;
                return 0;
            default:
                return -LinuxErrno.ENOTTY;
        }
    }

    /// <summary>setsockopt(2): SO_REUSEADDR, SO_REUSEPORT, SO_KEEPALIVE, SO_SNDBUF, SO_RCVBUF, SO_LINGER (accepted), TCP_NODELAY, TCP_KEEPIDLE.</summary>
    public int SetOption(int fd, int level, int name, ReadOnlySpan<byte> value)
    {
        if (!_fds.TryGetValue(fd, out SocketDescriptor? d))
            return -LinuxErrno.EBADF;
        int number = value.Length >= 4 ? BitConverter.ToInt32(value) : 0;
        switch (level, name)
        {
            case (SolSocket, SoReuseAddr):
                d.ReuseAddress = number != 0;
                break;
            case (SolSocket, SoReusePort):
            case (SolSocket, SoSndBuf):
            case (SolSocket, SoRcvBuf):
            case (SolSocket, SoLinger):
                break; // accepted: the stack has one buffer size per connection, and close lingers as Linux's default does
            case (SolSocket, SoKeepAlive):
                d.KeepAlive = number != 0;
                d.ApplyOptions();
                break;
            case (IpProtoTcp, TcpNoDelay):
                d.NoDelay = number != 0;
                d.ApplyOptions();
                _stack.Settle(); // Linux pushes what Nagle held back
                break;
            case (IpProtoTcp, TcpKeepIdle):
                if (number < 1)
                    return -LinuxErrno.EINVAL;
                d.KeepIdleSeconds = number;
                d.ApplyOptions();
                break;
            default:
                return -LinuxErrno.ENOPROTOOPT;
        }
        return value.Length < 4 ? -LinuxErrno.EINVAL : 0;
    }

    /// <summary>getsockopt(2): SO_ERROR (reported once), SO_TYPE, SO_REUSEADDR, SO_KEEPALIVE, TCP_NODELAY, TCP_MAXSEG, TCP_INFO (its first fields).</summary>
    public int GetOption(int fd, int level, int name, Span<byte> value, out int length)
    {
        length = 0;
        if (!_fds.TryGetValue(fd, out SocketDescriptor? d))
            return -LinuxErrno.EBADF;
        if (level == IpProtoTcp && name == TcpInfo)
        {
            length = TcpInformation.Write(d.Tcp, value);
            return 0;
        }
        int number;
        switch (level, name)
        {
            case (SolSocket, SoError):
                number = d.TakeErrno();
                break;
            case (SolSocket, SoType):
                number = SockStream;
                break;
            case (SolSocket, SoReuseAddr):
                number = d.ReuseAddress ? 1 : 0;
                break;
            case (SolSocket, SoKeepAlive):
                number = d.KeepAlive ? 1 : 0;
                break;
            case (IpProtoTcp, TcpNoDelay):
                number = d.NoDelay ? 1 : 0;
                break;
            case (IpProtoTcp, TcpMaxSeg):
                number = d.Tcp is { State: not (TcpState.Closed or TcpState.Listen) } tcp ? tcp.SendMss : 536;
                break;
            default:
                return -LinuxErrno.ENOPROTOOPT;
        }
        Span<byte> bytes = stackalloc byte[4];
        BitConverter.TryWriteBytes(bytes, number);
        length = Math.Min(4, value.Length);
        bytes[..length].CopyTo(value);
        return 0;
    }

    /// <summary>poll(2) over <paramref name="fds"/>: how many have events; waits up to <paramref name="timeoutMs"/> (-1: as long as it takes).</summary>
    public int Poll(Span<PollDescriptor> fds, int timeoutMs)
    {
        int ready = Scan(fds);
        if (ready > 0 || timeoutMs == 0)
            return ready;
        long deadline = timeoutMs < 0 ? long.MaxValue : _stack.Now + timeoutMs * 1_000_000L;
        PollDescriptor[] copy = fds.ToArray();
        Wait(() => Scan(copy) > 0, deadline);
        ready = Scan(fds);
        return ready;
    }

    /// <summary>The events of every entry, written to its returned events; how many have some.</summary>
    private int Scan(Span<PollDescriptor> fds)
    {
        int ready = 0;
        for (int i = 0; i < fds.Length; i++)
        {
            ref PollDescriptor p = ref fds[i];
            if (p.Fd < 0)
            {
                p.ReturnedEvents = 0;
                continue;
            }
            short events = _fds.TryGetValue(p.Fd, out SocketDescriptor? d) ? EventsOf(d) : PollNval;
            p.ReturnedEvents = (short)(events & (p.Events | PollErr | PollHup | PollNval));
            if (p.ReturnedEvents != 0)
                ready++;
        }
        return ready;
    }

    /// <summary>What poll reports of a socket, as Linux's tcp_poll does.</summary>
    private static short EventsOf(SocketDescriptor d)
    {
        if (d.Tcp is not { } tcp)
            return PollOut | PollWrNorm | PollHup; // Linux: a socket that never connected is "hung up" and writable
        if (d.IsListener)
            return d.Accepted.Count > 0 ? (short)(PollIn | PollRdNorm) : (short)0;
        int events = 0;
        if (tcp.Error != TcpError.None)
            events |= d.ErrorReported ? 0 : PollErr;
        bool ended = tcp.State is TcpState.Closed or TcpState.TimeWait;
        if (ended && (tcp.Error != TcpError.None || tcp.IsReceiveFinished))
            events |= PollHup;
        if (tcp.ReadableBytes > 0 || tcp.IsReceiveFinished || d.ReadShutdown || tcp.Error != TcpError.None)
            events |= PollIn | PollRdNorm;
        if (tcp.IsReceiveFinished)
            events |= PollRdHup;
        if (tcp.State is TcpState.Established or TcpState.CloseWait && tcp.SendSpace > 0)
            events |= PollOut | PollWrNorm;
        else if (tcp.Error != TcpError.None)
            events |= PollOut | PollWrNorm;
        return (short)events;
    }

    private static bool Readable(SocketDescriptor d, TcpSocket tcp)
        => tcp.ReadableBytes > 0 || tcp.IsReceiveFinished || d.ReadShutdown || tcp.State == TcpState.Closed;

    /// <summary>Waits for a connect to finish: 0 when established, -errno of its failure.</summary>
    private int WaitConnected(SocketDescriptor d)
    {
        TcpSocket tcp = d.Tcp!;
        if (!Wait(() => d.Tcp != tcp || tcp.State != TcpState.SynSent))
            return -LinuxErrno.EAGAIN;
        d.Connecting = false;
        if (d.Tcp != tcp)
            return -LinuxErrno.EBADF;
        int errno = d.TakeErrno();
        return errno != 0 ? -errno : 0;
    }

    /// <summary>
    /// Waits until <paramref name="ready"/> or the clock reaches <paramref name="deadline"/>; false
    /// when not ready. See the class remarks for how the two kinds of thread wait.
    /// </summary>
    private bool Wait(Func<bool> ready, long deadline = long.MaxValue)
    {
        bool driving = Environment.CurrentManagedThreadId == _drivingThread;
        long limit = Math.Min(deadline, _stack.Now + Horizon);
        if (driving)
        {
            while (!ready())
            {
                if (_closed)
                    return false;
                if (!_stack.AdvanceToNextTimer(limit))
                {
                    if (deadline != long.MaxValue)
                        _stack.AdvanceTo(deadline);
                    return ready();
                }
            }
            return true;
        }
        if (ready())
            return true;
        Func<bool> wakes = () => ready() || _closed || _stack.Now >= deadline;
        _stack.BeginWait(wakes);
        bool ok = false;
        try
        {
            while (!_closed && _stack.Now < deadline && !(ok = ready()))
                Monitor.Wait(_stack.Gate);
            return ok;
        }
        finally
        {
            _stack.EndWait(wakes, woken: true);
        }
    }
}
