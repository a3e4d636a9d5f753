using System.Buffers.Binary;
using static Tmds.Linux.LibC;

namespace Dataplane.Native;

/// <summary>
/// The one rtnetlink request the XDP set-up may need (rtnetlink(7), <c>/usr/include/linux/rtnetlink.h</c>,
/// <c>linux/if_link.h</c>): RTM_SETLINK with a nested IFLA_XDP { IFLA_XDP_FD, IFLA_XDP_FLAGS }, which
/// attaches a program (fd) or detaches one (fd -1) on kernels without XDP links. Control path: a
/// throw-away NETLINK_ROUTE socket per call, the request acknowledged (NLM_F_ACK).
/// </summary>
internal static unsafe class RouteNetlink
{
    private const int AddressFamilyNetlink = 16; // AF_NETLINK
    private const int NetlinkRoute = 0; // NETLINK_ROUTE
    private const ushort MessageSetLink = 19; // RTM_SETLINK
    private const ushort MessageError = 2; // NLMSG_ERROR: the acknowledgement, error 0 on success
    private const ushort FlagRequest = 0x1; // NLM_F_REQUEST
    private const ushort FlagAcknowledge = 0x4; // NLM_F_ACK
    private const ushort AttributeXdp = 43; // IFLA_XDP
    private const ushort AttributeNested = 0x8000; // NLA_F_NESTED
    private const ushort AttributeXdpFd = 1; // IFLA_XDP_FD
    private const ushort AttributeXdpFlags = 3; // IFLA_XDP_FLAGS

    // struct nlmsghdr (16) + struct ifinfomsg (16) + IFLA_XDP (4) { IFLA_XDP_FD (4 + 4), IFLA_XDP_FLAGS (4 + 4) }.
    private const int RequestLength = 16 + 16 + 4 + 8 + 8;

    /// <summary>RTM_SETLINK IFLA_XDP on <paramref name="interfaceIndex"/>: 0 or <c>-errno</c> (the kernel's answer, or the socket call's).</summary>
    public static int SetXdp(int interfaceIndex, int programDescriptor, uint flags)
    {
        int fd = socket(AddressFamilyNetlink, SOCK_RAW | SOCK_CLOEXEC, NetlinkRoute);
        if (fd < 0)
            return SystemCall.Result(fd);
        using var socketDescriptor = new FileDescriptor(fd);

        Span<byte> request = stackalloc byte[RequestLength];
        request.Clear();
        const uint Sequence = 1;
        // struct nlmsghdr: len, type, flags, seq, pid (0: the kernel fills in the port).
        BinaryPrimitives.WriteUInt32LittleEndian(request, RequestLength);
        BinaryPrimitives.WriteUInt16LittleEndian(request[4..], MessageSetLink);
        BinaryPrimitives.WriteUInt16LittleEndian(request[6..], FlagRequest | FlagAcknowledge);
        BinaryPrimitives.WriteUInt32LittleEndian(request[8..], Sequence);
        // struct ifinfomsg: family AF_UNSPEC, type 0, index, flags 0, change 0.
        BinaryPrimitives.WriteInt32LittleEndian(request[20..], interfaceIndex);
        // IFLA_XDP, nested.
        WriteAttributeHeader(request[32..], 4 + 8 + 8, AttributeXdp | AttributeNested);
        WriteAttributeHeader(request[36..], 8, AttributeXdpFd);
        BinaryPrimitives.WriteInt32LittleEndian(request[40..], programDescriptor);
        WriteAttributeHeader(request[44..], 8, AttributeXdpFlags);
        BinaryPrimitives.WriteUInt32LittleEndian(request[48..], flags);

        fixed (byte* p = request)
        {
            nint sent = SystemCall.Result((nint)(long)send(fd, p, RequestLength, 0));
            if (sent < 0)
                return (int)sent;
        }

        // The answer: an NLMSG_ERROR whose error is 0 (acknowledged) or -errno, then the request echoed.
        Span<byte> answer = stackalloc byte[1024];
        while (true)
        {
            nint received;
            fixed (byte* p = answer)
                received = SystemCall.Result((nint)(long)recv(fd, p, answer.Length, 0));
            if (received < 0)
                return (int)received;
            if (received < 20)
                return -Errno.EIO;
            ushort type = BinaryPrimitives.ReadUInt16LittleEndian(answer[4..]);
            uint sequence = BinaryPrimitives.ReadUInt32LittleEndian(answer[8..]);
            if (type == MessageError && sequence == Sequence)
                return BinaryPrimitives.ReadInt32LittleEndian(answer[16..]);
        }
    }

    private static void WriteAttributeHeader(Span<byte> at, ushort length, int type)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(at, length);
        BinaryPrimitives.WriteUInt16LittleEndian(at[2..], (ushort)type);
    }
}
