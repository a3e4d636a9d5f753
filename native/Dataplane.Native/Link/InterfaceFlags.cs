namespace Dataplane.Native;

/// <summary>
/// The interface flags of SIOCGIFFLAGS / SIOCSIFFLAGS (netdevice(7), <c>/usr/include/linux/if.h</c>,
/// <c>enum net_device_flags</c>), the 16 bits that fit <c>ifr_flags</c>.
/// </summary>
[Flags]
public enum InterfaceFlags
{
    /// <summary>No flag: administratively down.</summary>
    None = 0,
    /// <summary>IFF_UP: administratively up (settable).</summary>
    Up = 0x1,
    /// <summary>IFF_BROADCAST: has a broadcast address.</summary>
    Broadcast = 0x2,
    /// <summary>IFF_DEBUG: debugging requested (settable).</summary>
    Debug = 0x4,
    /// <summary>IFF_LOOPBACK: a loopback interface.</summary>
    Loopback = 0x8,
    /// <summary>IFF_POINTOPOINT: a point-to-point link.</summary>
    PointToPoint = 0x10,
    /// <summary>IFF_NOTRAILERS: unused.</summary>
    NoTrailers = 0x20,
    /// <summary>IFF_RUNNING: the link is operationally up (RFC 2863 "up"; read-only).</summary>
    Running = 0x40,
    /// <summary>IFF_NOARP: no ARP (settable).</summary>
    NoArp = 0x80,
    /// <summary>IFF_PROMISC: promiscuous, as set by SIOCSIFFLAGS (settable; not packet-socket memberships, see <c>/sys/class/net/NAME/flags</c>).</summary>
    Promiscuous = 0x100,
    /// <summary>IFF_ALLMULTI: receive all multicast (settable).</summary>
    AllMulticast = 0x200,
    /// <summary>IFF_MASTER: a bonding master.</summary>
    Master = 0x400,
    /// <summary>IFF_SLAVE: a bonding slave.</summary>
    Slave = 0x800,
    /// <summary>IFF_MULTICAST: supports multicast (settable).</summary>
    Multicast = 0x1000,
    /// <summary>IFF_PORTSEL: can select the media type.</summary>
    PortSelect = 0x2000,
    /// <summary>IFF_AUTOMEDIA: auto media selection is on.</summary>
    AutoMedia = 0x4000,
    /// <summary>IFF_DYNAMIC: addresses are lost when the interface goes down.</summary>
    Dynamic = 0x8000,
}
