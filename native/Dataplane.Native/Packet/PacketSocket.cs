using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using static Tmds.Linux.LibC;

namespace Dataplane.Native;

/// <summary>
/// An AF_PACKET socket (packet(7); the kernel's Documentation/networking/packet_mmap.rst): raw
/// Ethernet frames of one interface, through TPACKET_V2 or V3 rings mapped into this process, or by
/// recvmsg and sendmsg. The set-up order the kernel wants: <see cref="Open"/>, <see cref="SetVersion"/>, <see cref="EnableVnetHeader"/>
/// and <see cref="EnableQdiscBypass"/> if wanted, <see cref="SetRxRing"/> / <see cref="SetTxRing"/>,
/// <see cref="MapRings"/>, <see cref="Bind"/>, then <see cref="JoinFanout"/> (fanout needs a bound socket).
/// </summary>
public sealed unsafe class PacketSocket : IDisposable
{
    /// <summary>ETH_P_ALL (<c>linux/if_ether.h</c>): every protocol, outgoing frames included.</summary>
    public const ushort EthPAll = 0x0003;

    private const int SolPacket = 263; // SOL_PACKET, linux/socket.h
    private const int PacketMrPromisc = 1; // PACKET_MR_PROMISC

    private PacketSocket(FileDescriptor descriptor, ushort protocol)
    {
        Descriptor = descriptor;
        Protocol = protocol;
    }

    /// <summary>The socket's descriptor, for poll and epoll.</summary>
    public FileDescriptor Descriptor { get; }

    /// <summary>The EtherType it receives, in host order (<see cref="EthPAll"/> for all).</summary>
    public ushort Protocol { get; }

    /// <summary>
    /// socket(AF_PACKET, SOCK_RAW, htons(<paramref name="protocol"/>)), close-on-exec and by default
    /// non-blocking. Needs CAP_NET_RAW. It receives from every interface until <see cref="Bind"/>.
    /// </summary>
    public static PacketSocket Open(ushort protocol = EthPAll, bool nonBlocking = true)
    {
        int type = SOCK_RAW | SOCK_CLOEXEC | (nonBlocking ? SOCK_NONBLOCK : 0);
        int fd = socket(AF_PACKET, type, BinaryPrimitives.ReverseEndianness(protocol));
        NativeException.ThrowIfFailed(fd, "socket(AF_PACKET, SOCK_RAW)");
        return new PacketSocket(new FileDescriptor(fd), protocol);
    }

    /// <summary>bind(2) to the interface <paramref name="interfaceIndex"/> with a <see cref="SockaddrLl"/>.</summary>
    public void Bind(int interfaceIndex)
    {
        var address = new SockaddrLl
        {
            Family = (ushort)AF_PACKET,
            Protocol = BinaryPrimitives.ReverseEndianness(Protocol),
            InterfaceIndex = interfaceIndex,
        };
        int result = bind(Descriptor.Value, (Tmds.Linux.sockaddr*)&address, sizeof(SockaddrLl));
        NativeException.ThrowIfFailed(result, $"bind(AF_PACKET, ifindex {interfaceIndex})");
    }

    /// <summary>PACKET_VERSION: the ring format of both rings: <see cref="TpacketVersion.V2"/> for fixed slots, <see cref="TpacketVersion.V3"/> for blocks.</summary>
    public void SetVersion(TpacketVersion version) => SetOption(PacketOption.Version, (int)version);

    /// <summary>PACKET_RX_RING: create the receive ring (after <see cref="SetVersion"/>).</summary>
    public void SetRxRing(in TpacketReq3 ring) => SetOption(PacketOption.RxRing, ring);

    /// <summary>PACKET_RX_RING for a TPACKET_V1 or TPACKET_V2 socket: a ring of fixed frame slots.</summary>
    public void SetRxRing(in TpacketReq ring) => SetOption(PacketOption.RxRing, ring);

    /// <summary>
    /// PACKET_COPY_THRESH: with a TPACKET_V2 receive ring, a frame longer than a slot is cut to the
    /// slot, marked TP_STATUS_COPY, and queued whole on the socket, to be read with
    /// <see cref="ReceiveScattered"/> (af_packet.c, tpacket_rcv), as long as the socket's receive
    /// buffer (<see cref="SetReceiveBuffer"/>) has room; without room it is only cut.
    /// </summary>
    public void EnableCopyThreshold() => SetOption(PacketOption.CopyThreshold, 1);

    /// <summary>
    /// SO_RCVBUFFORCE (past net.core.rmem_max, with CAP_NET_ADMIN), or SO_RCVBUF capped at rmem_max
    /// without it: the bytes of frames the socket may hold queued (the kernel counts their truesize).
    /// </summary>
    public void SetReceiveBuffer(int bytes)
    {
        int result = SystemCall.Result(setsockopt(Descriptor.Value, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof(int)));
        if (result == -Errno.EPERM)
            result = setsockopt(Descriptor.Value, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof(int));
        NativeException.ThrowIfFailed(result, $"setsockopt(SO_RCVBUFFORCE, {bytes})");
    }

    /// <summary>
    /// PACKET_TX_RING: create the transmit ring. With TPACKET_V3 its retire timeout, private size and
    /// feature word must be 0 (af_packet.c, packet_set_ring), and each slot is one frame.
    /// </summary>
    public void SetTxRing(in TpacketReq3 ring) => SetOption(PacketOption.TxRing, ring);

    /// <summary>
    /// mmap(2) the rings: the receive ring first, then the transmit ring, <paramref name="length"/>
    /// bytes in all (the sum of their <see cref="TpacketReq3.RingSize"/>).
    /// </summary>
    public PinnedMemory MapRings(nuint length) => PinnedMemory.MapShared(Descriptor, length);

    /// <summary>
    /// PACKET_FANOUT: join fanout group <paramref name="groupId"/>, so the interface's frames are spread
    /// over the group's sockets by <paramref name="mode"/> (<see cref="PacketFanoutMode.Hash"/> with
    /// <see cref="PacketFanoutFlags.Defrag"/> keeps flows, fragments included, on one socket).
    /// Every socket of a group must ask for the same mode and be bound to the same interface.
    /// </summary>
    public void JoinFanout(ushort groupId, PacketFanoutMode mode = PacketFanoutMode.Hash,
        PacketFanoutFlags flags = PacketFanoutFlags.Defrag)
    {
        SetOption(PacketOption.Fanout, groupId | (((int)mode | (int)flags) << 16));
    }

    /// <summary>
    /// PACKET_FANOUT_DATA: the program that picks the socket of each frame, for the group this socket
    /// joined in <see cref="PacketFanoutMode.Ebpf"/> mode (any member may set it; the group holds a
    /// reference, so the descriptor may be closed after). Replaces the group's program, if any.
    /// </summary>
    public void SetFanoutProgram(FileDescriptor program) => SetOption(PacketOption.FanoutData, program.Value);

    /// <summary>PACKET_VNET_HDR: frames carry a <see cref="VirtioNetHeader"/> in front (before the rings; EBUSY after).</summary>
    public void EnableVnetHeader() => SetOption(PacketOption.VnetHeader, 1);

    /// <summary>PACKET_QDISC_BYPASS: transmit straight to the driver's queue, as a NIC's own ring would.</summary>
    public void EnableQdiscBypass() => SetOption(PacketOption.QdiscBypass, 1);

    /// <summary>PACKET_ADD_MEMBERSHIP with PACKET_MR_PROMISC: the interface is promiscuous while this socket lives.</summary>
    public void AddPromiscuousMembership(int interfaceIndex) =>
        SetOption(PacketOption.AddMembership, new PacketMreq { InterfaceIndex = interfaceIndex, Type = PacketMrPromisc });

    /// <summary>PACKET_STATISTICS: the counters since the last call (the kernel resets them on read).</summary>
    public TpacketStatsV3 GetStatistics()
    {
        TpacketStatsV3 stats = default;
        Tmds.Linux.socklen_t length = sizeof(TpacketStatsV3);
        int result = getsockopt(Descriptor.Value, SolPacket, (int)PacketOption.Statistics, &stats, &length);
        NativeException.ThrowIfFailed(result, "getsockopt(PACKET_STATISTICS)");
        return stats;
    }

    /// <summary>
    /// sendto(2) with no buffer and no address: asks the kernel to send every transmit-ring slot marked
    /// TP_STATUS_SEND_REQUEST. Returns the bytes queued or <c>-errno</c>; with <paramref name="wait"/>
    /// false (MSG_DONTWAIT) it does not wait for them to leave.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public nint KickTransmit(bool wait = false) =>
        SystemCall.Result((nint)(long)sendto(Descriptor.Value, null, 0, wait ? 0 : MSG_DONTWAIT, null, 0));

    /// <summary>
    /// sendmsg(2) of one frame gathered from the buffers <paramref name="vectors"/> point to (pinned by
    /// the caller), without the ring, MSG_DONTWAIT, to the bound interface (no address): bytes sent or
    /// <c>-errno</c>. With <see cref="EnableVnetHeader"/> the first 10 bytes gathered are the frame's
    /// virtio-net header (af_packet.c, packet_snd: packet_snd_vnet_parse reads it off the front of the
    /// message); the rest may be as long as a GSO super-frame, or the interface's MTU for any other.
    /// EAGAIN: no send-buffer room, the frame was not taken. ENOBUFS: the device's queue refused it.
    /// Only on a socket without a transmit ring: on one with a ring, sendmsg sends what the ring holds
    /// and ignores the message (af_packet.c, packet_sendmsg).
    /// </summary>
    public nint SendGathered(ReadOnlySpan<IoVec> vectors)
    {
        fixed (IoVec* iov = vectors)
        {
            Tmds.Linux.msghdr message = default;
            message.msg_iov = (Tmds.Linux.iovec*)iov; // the same 16-byte struct iovec
            message.msg_iovlen = vectors.Length;
            return SystemCall.Result((nint)(long)sendmsg(Descriptor.Value, &message, MSG_DONTWAIT));
        }
    }

    /// <summary>
    /// recvmsg(2) of the frame at the head of the socket's queue, scattered over the buffers
    /// <paramref name="vectors"/> point to (pinned by the caller), MSG_DONTWAIT: the frame's whole
    /// length (MSG_TRUNC: even when the buffers held less, and the rest is gone) or <c>-errno</c>,
    /// EAGAIN when nothing is queued. With <see cref="EnableVnetHeader"/> the frame's virtio-net header
    /// comes first (af_packet.c, packet_recvmsg) and counts in the length.
    /// </summary>
    public nint ReceiveScattered(ReadOnlySpan<IoVec> vectors)
    {
        fixed (IoVec* iov = vectors)
        {
            Tmds.Linux.msghdr message = default;
            message.msg_iov = (Tmds.Linux.iovec*)iov;
            message.msg_iovlen = vectors.Length;
            return SystemCall.Result((nint)(long)recvmsg(Descriptor.Value, &message, MSG_DONTWAIT | MSG_TRUNC));
        }
    }

    /// <summary>send(2) of one frame without the ring: bytes sent or <c>-errno</c>.</summary>
    public nint Send(ReadOnlySpan<byte> frame)
    {
        fixed (byte* p = frame)
            return SystemCall.Result((nint)(long)send(Descriptor.Value, p, frame.Length, 0));
    }

    /// <summary>recv(2) of one frame without the ring: its length (it is cut to the buffer) or <c>-errno</c>.</summary>
    public nint Receive(Span<byte> frame)
    {
        fixed (byte* p = frame)
            return SystemCall.Result((nint)(long)recv(Descriptor.Value, p, frame.Length, 0));
    }

    /// <summary>Closes the socket; the kernel tears down its rings once they are unmapped.</summary>
    public void Dispose() => Descriptor.Dispose();

    private void SetOption<T>(PacketOption option, in T value) where T : unmanaged
    {
        fixed (T* p = &value)
        {
            int result = setsockopt(Descriptor.Value, SolPacket, (int)option, p, sizeof(T));
            NativeException.ThrowIfFailed(result, $"setsockopt(SOL_PACKET, PACKET_{OptionName(option)})");
        }
    }

    private static string OptionName(PacketOption option) => option switch
    {
        PacketOption.AddMembership => "ADD_MEMBERSHIP",
        PacketOption.DropMembership => "DROP_MEMBERSHIP",
        PacketOption.RxRing => "RX_RING",
        PacketOption.CopyThreshold => "COPY_THRESH",
        PacketOption.Statistics => "STATISTICS",
        PacketOption.Version => "VERSION",
        PacketOption.TxRing => "TX_RING",
        PacketOption.VnetHeader => "VNET_HDR",
        PacketOption.Fanout => "FANOUT",
        PacketOption.QdiscBypass => "QDISC_BYPASS",
        PacketOption.FanoutData => "FANOUT_DATA",
        _ => ((int)option).ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}
