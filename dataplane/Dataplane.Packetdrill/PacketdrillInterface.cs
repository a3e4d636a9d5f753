using System.Runtime.InteropServices;

namespace Dataplane.Packetdrill;

/// <summary>
/// packetdrill's <c>struct packetdrill_interface</c> (gtests/net/packetdrill/packetdrill.h): the
/// userdata every call gets back, then one function pointer per call, in the header's order. The
/// library fills it in <see cref="Exports.Init"/>; packetdrill calls through it. Every member is a
/// pointer, so the layout is 33 words with no padding (x86-64, LP64).
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct PacketdrillInterface
{
    /// <summary>The size of the C struct: 33 pointers.</summary>
    public const int Size = 33 * 8;

    public nint UserData;
    public delegate* unmanaged<nint, void> Free;
    public delegate* unmanaged<nint, int, int, int, int> Socket;
    public delegate* unmanaged<nint, int, byte*, uint, int> Bind;
    public delegate* unmanaged<nint, int, int, int> Listen;
    public delegate* unmanaged<nint, int, byte*, uint*, int> Accept;
    public delegate* unmanaged<nint, int, byte*, uint, int> Connect;
    public delegate* unmanaged<nint, int, byte*, nuint, nint> Read;
    public delegate* unmanaged<nint, int, IoVector*, int, nint> Readv;
    public delegate* unmanaged<nint, int, byte*, nuint, int, nint> Recv;
    public delegate* unmanaged<nint, int, byte*, nuint, int, byte*, uint*, nint> Recvfrom;
    public delegate* unmanaged<nint, int, MessageHeader*, int, nint> Recvmsg;
    public delegate* unmanaged<nint, int, byte*, nuint, nint> Write;
    public delegate* unmanaged<nint, int, IoVector*, int, nint> Writev;
    public delegate* unmanaged<nint, int, byte*, nuint, int, nint> Send;
    public delegate* unmanaged<nint, int, byte*, nuint, int, byte*, uint, nint> Sendto;
    public delegate* unmanaged<nint, int, MessageHeader*, int, nint> Sendmsg;
    // fcntl and ioctl are variadic in C; on x86-64 a variadic integer argument travels in the
    // register a fixed one would, so the callee takes it as a plain third argument.
    public delegate* unmanaged<nint, int, int, nint, int> Fcntl;
    public delegate* unmanaged<nint, int, nuint, nint, int> Ioctl;
    public delegate* unmanaged<nint, int, int> Close;
    public delegate* unmanaged<nint, int, int, int> Shutdown;
    public delegate* unmanaged<nint, int, int, int, byte*, uint*, int> Getsockopt;
    public delegate* unmanaged<nint, int, int, int, byte*, uint, int> Setsockopt;
    public delegate* unmanaged<nint, PollDescriptor*, nuint, int, int> Poll;
    public delegate* unmanaged<nint, byte*, nuint, int> NetdevSend;
    public delegate* unmanaged<nint, byte*, nuint*, long*, int> NetdevReceive;
    public delegate* unmanaged<nint, uint, int> Usleep;
    public delegate* unmanaged<nint, TimeValue*, nint, int> Gettimeofday;
    public delegate* unmanaged<nint, int, int> EpollCreate;
    public delegate* unmanaged<nint, int, int, int, nint, int> EpollCtl;
    public delegate* unmanaged<nint, int, nint, int, int, int> EpollWait;
    public delegate* unmanaged<nint, int*, int> Pipe;
    public delegate* unmanaged<nint, int, long*, int, long*, nuint, uint, nint> Splice;
}

/// <summary><c>struct iovec</c>: a base pointer and a length.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct IoVector
{
    public byte* Base;
    public nuint Length;
}

/// <summary><c>struct msghdr</c> (x86-64): name, iovecs, control data, flags; 56 bytes.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct MessageHeader
{
    public byte* Name;
    public uint NameLength;
    public IoVector* Iov;
    public nuint IovLength;
    public byte* Control;
    public nuint ControlLength;
    public int Flags;
}

/// <summary><c>struct pollfd</c>: descriptor, events asked for, events returned; 8 bytes.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct PollDescriptor
{
    public int Fd;
    public short Events;
    public short ReturnedEvents;
}

/// <summary><c>struct timeval</c>: seconds and microseconds.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct TimeValue
{
    public long Seconds;
    public long Microseconds;
}
