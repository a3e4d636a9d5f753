using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Dataplane.Wire;

namespace Dataplane.Packetdrill.Tests;

/// <summary>A TCP segment as the tests write and read it at the netdev: the fields a script line names.</summary>
public readonly record struct Segment(ushort SourcePort, ushort DestinationPort, uint Seq, uint Ack, TcpFlags Flags, ushort Window, byte[] Payload, byte[] Options)
{
    public bool Has(TcpFlags flags) => (Flags & flags) == flags;
}

/// <summary>
/// One open instance of the library, driven the way packetdrill drives it: calls through the
/// interface's pointers, errno read right after a -1, IPv4 packets in through netdev_send and out
/// through netdev_receive. The peer is packetdrill's default remote, 192.0.2.1.
/// </summary>
public sealed unsafe class Netdev : IDisposable
{
    public static readonly Ipv4Address Local = new(192, 168, 0, 2);
    public static readonly Ipv4Address Remote = new(192, 0, 2, 1);
    public const int AfInet = 2;
    public const int SockStream = 1;

    private readonly PacketdrillInterface _ifc;

    public Netdev(PacketdrillLibrary library, string flags = "") => _ifc = library.Open(flags);

    public PacketdrillInterface Interface => _ifc;

    public nint UserData => _ifc.UserData;

    /// <summary>errno after the last call that returned -1.</summary>
    public int Errno { get; private set; }

    public int Socket(int type = SockStream) => Check(_ifc.Socket(UserData, AfInet, type, 0));

    public int Bind(int fd, Ipv4Address address, ushort port)
    {
        byte[] sa = SockaddrIn(address, port);
        fixed (byte* p = sa)
            return Check(_ifc.Bind(UserData, fd, p, (uint)sa.Length));
    }

    public int Listen(int fd, int backlog) => Check(_ifc.Listen(UserData, fd, backlog));

    public int Accept(int fd, out Ipv4Address peer, out ushort port)
    {
        byte[] sa = new byte[16];
        uint length = 16;
        int result;
        fixed (byte* p = sa)
            result = Check(_ifc.Accept(UserData, fd, p, &length));
        peer = new Ipv4Address(sa.AsSpan(4, 4));
        port = BinaryPrimitives.ReadUInt16BigEndian(sa.AsSpan(2));
        return result;
    }

    public int Connect(int fd, Ipv4Address address, ushort port)
    {
        byte[] sa = SockaddrIn(address, port);
        fixed (byte* p = sa)
            return Check(_ifc.Connect(UserData, fd, p, (uint)sa.Length));
    }

    public int SetNonBlocking(int fd) => Check(_ifc.Fcntl(UserData, fd, 4 /* F_SETFL */, 0x802 /* O_RDWR | O_NONBLOCK */));

    public int GetSocketError(int fd, out int error)
    {
        int value = -1;
        uint length = 4;
        int result = Check(_ifc.Getsockopt(UserData, fd, 1 /* SOL_SOCKET */, 4 /* SO_ERROR */, (byte*)&value, &length));
        error = value;
        return result;
    }

    public int SetNoDelay(int fd)
    {
        int one = 1;
        return Check(_ifc.Setsockopt(UserData, fd, 6 /* IPPROTO_TCP */, 1 /* TCP_NODELAY */, (byte*)&one, 4));
    }

    public long Read(int fd, byte[] into)
    {
        fixed (byte* p = into)
            return Check((long)_ifc.Read(UserData, fd, p, (nuint)into.Length));
    }

    public long Write(int fd, byte[] data)
    {
        fixed (byte* p = data)
            return Check((long)_ifc.Write(UserData, fd, p, (nuint)data.Length));
    }

    public int Close(int fd) => Check(_ifc.Close(UserData, fd));

    public int Shutdown(int fd, int how) => Check(_ifc.Shutdown(UserData, fd, how));

    /// <summary>poll(2) on one descriptor: its returned events, or -1.</summary>
    public int Poll(int fd, short events, int timeoutMs)
    {
        short* pfd = stackalloc short[4];
        *(int*)pfd = fd;
        pfd[2] = events;
        pfd[3] = 0;
        int result = Check(_ifc.Poll(UserData, pfd, 1, timeoutMs));
        return result < 0 ? -1 : pfd[3];
    }

    /// <summary>gettimeofday in microseconds.</summary>
    public long Now()
    {
        long* tv = stackalloc long[2];
        Assert.Equal(0, _ifc.Gettimeofday(UserData, tv, 0));
        return tv[0] * 1_000_000 + tv[1];
    }

    public void Sleep(uint microseconds) => Assert.Equal(0, _ifc.Usleep(UserData, microseconds));

    /// <summary>Sends a segment from the peer to <paramref name="port"/> on the stack.</summary>
    public void Inject(ushort sourcePort, ushort port, uint seq, uint ack, TcpFlags flags, ushort window, byte[]? payload = null, byte[]? options = null)
    {
        byte[] packet = Ipv4Tcp(Remote, Local, sourcePort, port, seq, ack, flags, window, payload ?? [], options ?? []);
        fixed (byte* p = packet)
            Assert.Equal(0, _ifc.NetdevSend(UserData, p, (nuint)packet.Length));
    }

    /// <summary>The next packet the stack sends, parsed, and its time in microseconds; null for an empty answer.</summary>
    public (Segment Segment, long Time)? Receive()
    {
        byte[] buffer = new byte[65536];
        nuint count = (nuint)buffer.Length;
        long time;
        fixed (byte* p = buffer)
            Assert.Equal(0, _ifc.NetdevReceive(UserData, p, &count, &time));
        if (count == 0)
            return null;
        Span<byte> ip = buffer.AsSpan(0, (int)count);
        Assert.True(Ipv4Packet.TryCreate(ip, out Ipv4Packet v4), "the stack sent an IPv4 packet");
        Assert.Equal(Local, v4.Source);
        Assert.Equal(Remote, v4.Destination);
        Assert.Equal(IpProtocol.Tcp, v4.Protocol);
        Assert.True(InternetChecksum.IsValid(ip[..(v4.Ihl * 4)]), "IPv4 header checksum");
        Span<byte> tcpBytes = ip[(v4.Ihl * 4)..v4.TotalLength];
        ulong sum = InternetChecksum.PseudoHeaderSum(v4.Source, v4.Destination, 6, tcpBytes.Length);
        Assert.Equal(0xFFFFu, InternetChecksum.FoldToUInt16(InternetChecksum.Add(sum, tcpBytes)));
        Assert.True(TcpSegment.TryCreate(tcpBytes, out TcpSegment tcp));
        int header = tcp.DataOffset * 4;
        return (new Segment(tcp.SourcePort, tcp.DestinationPort, tcp.SequenceNumber, tcp.AcknowledgmentNumber, tcp.Flags, tcp.Window,
            tcpBytes[header..].ToArray(), tcpBytes[20..header].ToArray()), time);
    }

    /// <summary>The next segment the stack sends; it must send one.</summary>
    public Segment Expect()
    {
        (Segment Segment, long Time)? next = Receive();
        Assert.True(next.HasValue, "the stack sent a packet");
        return next.Value.Segment;
    }

    public void Dispose() => _ifc.Free(UserData);

    private T Check<T>(T result) where T : System.Numerics.INumber<T>
    {
        Errno = result < T.Zero ? Marshal.GetLastSystemError() : 0;
        return result;
    }

    public static byte[] SockaddrIn(Ipv4Address address, ushort port)
    {
        byte[] sa = new byte[16];
        BinaryPrimitives.WriteUInt16LittleEndian(sa, AfInet);
        BinaryPrimitives.WriteUInt16BigEndian(sa.AsSpan(2), port);
        address.CopyTo(sa.AsSpan(4));
        return sa;
    }

    /// <summary>An IPv4 packet with a TCP segment, checksums filled, as packetdrill writes one.</summary>
    public static byte[] Ipv4Tcp(Ipv4Address source, Ipv4Address destination, ushort sourcePort, ushort destinationPort, uint seq, uint ack, TcpFlags flags, ushort window, byte[] payload, byte[] options)
    {
        int tcpLength = 20 + options.Length + payload.Length;
        byte[] packet = new byte[20 + tcpLength];
        Span<byte> ip = packet;
        ip[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(ip[2..], (ushort)packet.Length);
        ip[8] = 64;
        ip[9] = 6;
        source.CopyTo(ip[12..]);
        destination.CopyTo(ip[16..]);
        InternetChecksum.Store(ip[10..], InternetChecksum.Compute(ip[..20]));
        Span<byte> tcp = ip[20..];
        BinaryPrimitives.WriteUInt16BigEndian(tcp, sourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(tcp[2..], destinationPort);
        BinaryPrimitives.WriteUInt32BigEndian(tcp[4..], seq);
        BinaryPrimitives.WriteUInt32BigEndian(tcp[8..], ack);
        BinaryPrimitives.WriteUInt16BigEndian(tcp[12..], (ushort)(((20 + options.Length) / 4) << 12 | (int)flags));
        BinaryPrimitives.WriteUInt16BigEndian(tcp[14..], window);
        options.CopyTo(tcp[20..]);
        payload.CopyTo(tcp[(20 + options.Length)..]);
        ulong sum = InternetChecksum.PseudoHeaderSum(source, destination, 6, tcpLength);
        InternetChecksum.Store(tcp[16..], InternetChecksum.Finish(InternetChecksum.Add(sum, tcp)));
        return packet;
    }
}
