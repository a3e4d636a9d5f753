using static Tmds.Linux.LibC;

namespace Dataplane.Native;

/// <summary>
/// Interface control for the ports the dataplane takes over: index, hardware address, MTU and flags,
/// through the netdevice(7) ioctls (<c>/usr/include/linux/sockios.h</c>) on a throw-away AF_INET
/// datagram socket, as ifconfig does. Control path only: every failure throws <see cref="NativeException"/>.
/// Setting the MTU or flags needs CAP_NET_ADMIN.
/// </summary>
public static unsafe class LinkControl
{
    /// <summary>SIOCGIFFLAGS: get <c>ifr_flags</c>.</summary>
    public const uint SIOCGIFFLAGS = 0x8913;
    /// <summary>SIOCSIFFLAGS: set <c>ifr_flags</c>.</summary>
    public const uint SIOCSIFFLAGS = 0x8914;
    /// <summary>SIOCGIFMTU: get <c>ifr_mtu</c>.</summary>
    public const uint SIOCGIFMTU = 0x8921;
    /// <summary>SIOCSIFMTU: set <c>ifr_mtu</c>.</summary>
    public const uint SIOCSIFMTU = 0x8922;
    /// <summary>SIOCGIFHWADDR: get <c>ifr_hwaddr</c>.</summary>
    public const uint SIOCGIFHWADDR = 0x8927;
    /// <summary>SIOCGIFINDEX: get <c>ifr_ifindex</c>.</summary>
    public const uint SIOCGIFINDEX = 0x8933;

    /// <summary>ARPHRD_ETHER (<c>linux/if_arp.h</c>): the hardware address family of Ethernet.</summary>
    public const ushort ArpHardwareEther = 1;

    /// <summary>if_nametoindex(3): the index of the interface <paramref name="name"/> in this network namespace.</summary>
    public static int IndexOf(string name)
    {
        IfReq.ValidateName(name);
        uint index;
        fixed (byte* p = FileDescriptor.NullTerminated(name))
            index = Libc.if_nametoindex(p);
        if (index == 0)
            NativeException.Throw($"if_nametoindex({name})", Errno.Last);
        return (int)index;
    }

    /// <summary>True if an interface <paramref name="name"/> exists in this network namespace.</summary>
    public static bool Exists(string name)
    {
        IfReq.ValidateName(name);
        fixed (byte* p = FileDescriptor.NullTerminated(name))
            return Libc.if_nametoindex(p) != 0;
    }

    /// <summary>SIOCGIFHWADDR: the 6-byte Ethernet address of <paramref name="name"/>.</summary>
    public static byte[] GetHardwareAddress(string name)
    {
        IfReq request = Request(name, SIOCGIFHWADDR, "SIOCGIFHWADDR");
        if (request.HardwareAddressFamily != ArpHardwareEther)
            throw new NativeException($"{name} is not Ethernet: hardware address family {request.HardwareAddressFamily}");
        return new ReadOnlySpan<byte>(request.HardwareAddress, 6).ToArray();
    }

    /// <summary>SIOCGIFMTU: the MTU of <paramref name="name"/> (the largest IP packet, without the Ethernet header).</summary>
    public static int GetMtu(string name) => Request(name, SIOCGIFMTU, "SIOCGIFMTU").Mtu;

    /// <summary>SIOCSIFMTU: set the MTU; EINVAL outside the device's min_mtu..max_mtu.</summary>
    public static void SetMtu(string name, int mtu)
    {
        IfReq request = IfReq.For(name);
        request.Mtu = mtu;
        Control(SIOCSIFMTU, ref request, $"ioctl(SIOCSIFMTU, {mtu}) on {name}");
    }

    /// <summary>SIOCGIFFLAGS: the flags of <paramref name="name"/>.</summary>
    public static InterfaceFlags GetFlags(string name) => (InterfaceFlags)(ushort)Request(name, SIOCGIFFLAGS, "SIOCGIFFLAGS").Flags;

    /// <summary>SIOCSIFFLAGS: set the flags (the read-only ones, such as Running, are ignored by the kernel).</summary>
    public static void SetFlags(string name, InterfaceFlags flags)
    {
        IfReq request = IfReq.For(name);
        request.Flags = unchecked((short)(ushort)flags);
        Control(SIOCSIFFLAGS, ref request, $"ioctl(SIOCSIFFLAGS, {flags}) on {name}");
    }

    /// <summary>Sets or clears IFF_UP, leaving the other flags as they are (ip link set NAME up / down).</summary>
    public static void SetUp(string name, bool up) => Change(name, InterfaceFlags.Up, up);

    /// <summary>Sets or clears IFF_PROMISC, leaving the other flags as they are.</summary>
    public static void SetPromiscuous(string name, bool promiscuous) => Change(name, InterfaceFlags.Promiscuous, promiscuous);

    private static void Change(string name, InterfaceFlags flag, bool on)
    {
        InterfaceFlags flags = GetFlags(name);
        InterfaceFlags wanted = on ? flags | flag : flags & ~flag;
        if (wanted != flags)
            SetFlags(name, wanted);
    }

    private static IfReq Request(string name, uint request, string requestName)
    {
        IfReq ifr = IfReq.For(name);
        Control(request, ref ifr, $"ioctl({requestName}) on {name}");
        return ifr;
    }

    private static void Control(uint request, ref IfReq ifr, string operation)
    {
        int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        NativeException.ThrowIfFailed(fd, "socket(AF_INET, SOCK_DGRAM)");
        using var socketFd = new FileDescriptor(fd);
        fixed (IfReq* p = &ifr)
            socketFd.IoControl(request, p, operation);
    }
}
