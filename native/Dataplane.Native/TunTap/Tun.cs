namespace Dataplane.Native;

/// <summary>
/// The TUN/TAP character device (<c>/dev/net/tun</c>; the kernel's Documentation/networking/tuntap.rst,
/// <c>/usr/include/linux/if_tun.h</c>): open a queue of a tap interface and set its virtio-net header
/// size and offloads. A multi-queue tap has one file descriptor per queue, each from its own open of
/// <c>/dev/net/tun</c> and TUNSETIFF with the same name; the interface lives while one is open
/// (unless made persistent). Reading a queue yields one frame, writing one sends one into the kernel.
/// </summary>
public static unsafe class Tun
{
    /// <summary>The clone device every queue is opened from.</summary>
    public const string CloneDevice = "/dev/net/tun";

    /// <summary>TUNSETIFF = _IOW('T', 202, int): attach this descriptor to a device (created if missing).</summary>
    public const uint TUNSETIFF = 0x400454ca;
    /// <summary>TUNGETIFF = _IOR('T', 210, unsigned int): the attached device's name and flags.</summary>
    public const uint TUNGETIFF = 0x800454d2;
    /// <summary>TUNSETOFFLOAD = _IOW('T', 208, unsigned int): the TUN_F_* bits, passed by value.</summary>
    public const uint TUNSETOFFLOAD = 0x400454d0;
    /// <summary>TUNGETFEATURES = _IOR('T', 207, unsigned int): the IFF_* flags this kernel supports.</summary>
    public const uint TUNGETFEATURES = 0x800454cf;
    /// <summary>TUNSETVNETHDRSZ = _IOW('T', 216, int): the virtio-net header size, at least 10.</summary>
    public const uint TUNSETVNETHDRSZ = 0x400454d8;
    /// <summary>TUNGETVNETHDRSZ = _IOR('T', 215, int).</summary>
    public const uint TUNGETVNETHDRSZ = 0x800454d7;
    /// <summary>TUNSETQUEUE = _IOW('T', 217, int): attach or detach this queue (IFF_ATTACH_QUEUE / IFF_DETACH_QUEUE).</summary>
    public const uint TUNSETQUEUE = 0x400454d9;
    /// <summary>
    /// TUNSETSTEERINGEBPF = _IOR('T', 224, int): a pointer to the descriptor of the
    /// BPF_PROG_TYPE_SOCKET_FILTER program that picks each transmitted frame's queue, or to -1 to go
    /// back to the kernel's flow hash.
    /// </summary>
    public const uint TUNSETSTEERINGEBPF = 0x800454e0;

    /// <summary>The flags of a dataplane tap queue: IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_MULTI_QUEUE.</summary>
    public const TunFlags MultiQueueTap =
        TunFlags.Tap | TunFlags.NoPacketInformation | TunFlags.VnetHeader | TunFlags.MultiQueue;

    /// <summary>
    /// Opens <c>/dev/net/tun</c> and attaches it to the interface <paramref name="name"/> with
    /// <paramref name="flags"/> (TUNSETIFF), creating the interface if it does not exist (which needs
    /// CAP_NET_ADMIN). Non-blocking by default, as the per-core loops poll. Returns the queue.
    /// </summary>
    public static FileDescriptor OpenQueue(string name, TunFlags flags = MultiQueueTap, bool nonBlocking = true)
    {
        IfReq request = IfReq.For(name);
        request.Flags = unchecked((short)flags);
        FileDescriptor queue = FileDescriptor.Open(CloneDevice, nonBlocking);
        try
        {
            queue.IoControl(TUNSETIFF, &request, $"ioctl(TUNSETIFF) on {name}");
            return queue;
        }
        catch
        {
            queue.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The <paramref name="queueCount"/> queues of a multi-queue tap <paramref name="name"/>
    /// (<see cref="MultiQueueTap"/>), with the virtio-net header size and the offloads set.
    /// On failure, the queues opened so far are closed.
    /// </summary>
    public static FileDescriptor[] OpenTapQueues(string name, int queueCount, int vnetHeaderSize = VirtioNetHeader.Size,
        TunOffloads offloads = TunOffloads.Checksum | TunOffloads.Tso4 | TunOffloads.Tso6)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(queueCount, 1);
        var queues = new FileDescriptor[queueCount];
        int opened = 0;
        try
        {
            for (; opened < queueCount; opened++)
                queues[opened] = OpenQueue(name);
            // Header size and offloads belong to the device, not the queue (tun.c keeps them in struct tun_struct).
            SetVnetHeaderSize(queues[0], vnetHeaderSize);
            SetOffloads(queues[0], offloads);
            return queues;
        }
        catch
        {
            for (int i = 0; i < opened; i++)
                queues[i].Dispose();
            throw;
        }
    }

    /// <summary>TUNGETFEATURES: the IFF_* flags the running kernel's tun driver supports, asked on a fresh descriptor.</summary>
    public static TunFlags GetFeatures()
    {
        using FileDescriptor fd = FileDescriptor.Open(CloneDevice);
        return GetFeatures(fd);
    }

    /// <summary>TUNGETFEATURES on an open tun descriptor.</summary>
    public static TunFlags GetFeatures(FileDescriptor tun)
    {
        uint features = 0;
        tun.IoControl(TUNGETFEATURES, &features, "ioctl(TUNGETFEATURES)");
        return (TunFlags)features;
    }

    /// <summary>TUNGETIFF: the name and the flags of the device <paramref name="queue"/> is attached to.</summary>
    public static (string Name, TunFlags Flags) GetInterface(FileDescriptor queue)
    {
        IfReq request = default;
        queue.IoControl(TUNGETIFF, &request, "ioctl(TUNGETIFF)");
        return (request.GetName(), (TunFlags)(ushort)request.Flags);
    }

    /// <summary>
    /// TUNSETVNETHDRSZ: the virtio-net header size, 10 (<see cref="VirtioNetHeader"/>) or
    /// 12 (<see cref="VirtioNetMergeableHeader"/>); the kernel refuses less than 10 (EINVAL).
    /// </summary>
    public static void SetVnetHeaderSize(FileDescriptor queue, int size)
    {
        queue.IoControl(TUNSETVNETHDRSZ, &size, $"ioctl(TUNSETVNETHDRSZ, {size})");
    }

    /// <summary>TUNGETVNETHDRSZ.</summary>
    public static int GetVnetHeaderSize(FileDescriptor queue)
    {
        int size = 0;
        queue.IoControl(TUNGETVNETHDRSZ, &size, "ioctl(TUNGETVNETHDRSZ)");
        return size;
    }

    /// <summary>
    /// TUNSETOFFLOAD: the offloads this reader handles. The kernel then may deliver frames with
    /// partial checksums and TSO super-frames, and turns on the matching features of the interface
    /// (tx-checksumming, TSO) so its stack stops doing that work in software. EINVAL for a bit it
    /// does not know.
    /// </summary>
    public static void SetOffloads(FileDescriptor queue, TunOffloads offloads)
    {
        // The argument is the bit set itself, not a pointer to it (tun.c: set_offload(tun, arg)).
        queue.IoControl(TUNSETOFFLOAD, (void*)(nuint)offloads, $"ioctl(TUNSETOFFLOAD, {offloads})");
    }

    /// <summary>
    /// TUNSETSTEERINGEBPF: from now on the device puts each frame the host sends through it on the
    /// queue <paramref name="program"/> returns (modulo the number of queues; tun.c,
    /// tun_ebpf_select_queue) rather than the one its flow hash picks. The program belongs to the
    /// device, not the queue; the device keeps a reference, so the descriptor may be closed after.
    /// </summary>
    public static void SetSteeringProgram(FileDescriptor queue, FileDescriptor program)
    {
        int fd = program.Value;
        queue.IoControl(TUNSETSTEERINGEBPF, &fd, $"ioctl(TUNSETSTEERINGEBPF, program fd {fd})");
    }

    /// <summary>
    /// TUNSETSTEERINGEBPF with -1: the device goes back to its flow hash. A persistent tap keeps its
    /// program after every queue is closed, so a user that set one takes it off when done. Returns
    /// the ioctl's result (0, or -1 with errno), for a caller cleaning up that cannot act on a failure.
    /// </summary>
    public static int TryClearSteeringProgram(FileDescriptor queue)
    {
        int none = -1;
        return queue.TryIoControl(TUNSETSTEERINGEBPF, &none);
    }
}
