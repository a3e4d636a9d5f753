using System.Runtime.InteropServices;

namespace Dataplane.Native;

/// <summary>
/// <c>struct sockaddr_ll</c> (packet(7), <c>/usr/include/linux/if_packet.h</c>): a link-level
/// address, for bind(2) of an AF_PACKET socket to one interface. 20 bytes.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 20)]
public unsafe struct SockaddrLl
{
    /// <summary><c>sll_family</c>: AF_PACKET (17).</summary>
    [FieldOffset(0)] public ushort Family;

    /// <summary><c>sll_protocol</c>: the EtherType to receive, in network byte order (htons(ETH_P_ALL) for all).</summary>
    [FieldOffset(2)] public ushort Protocol;

    /// <summary><c>sll_ifindex</c>: the interface index (if_nametoindex(3)); 0 for any.</summary>
    [FieldOffset(4)] public int InterfaceIndex;

    /// <summary><c>sll_hatype</c>: ARPHRD_* type of the hardware address (received addresses only).</summary>
    [FieldOffset(8)] public ushort HardwareType;

    /// <summary><c>sll_pkttype</c>: PACKET_HOST, PACKET_BROADCAST, ... (received addresses only).</summary>
    [FieldOffset(10)] public byte PacketType;

    /// <summary><c>sll_halen</c>: the length of <see cref="Address"/> in use.</summary>
    [FieldOffset(11)] public byte AddressLength;

    /// <summary><c>sll_addr</c>: the hardware address.</summary>
    [FieldOffset(12)] public fixed byte Address[8];
}

/// <summary>
/// <c>struct packet_mreq</c> (packet(7), <c>/usr/include/linux/if_packet.h</c>): the argument of
/// PACKET_ADD_MEMBERSHIP / PACKET_DROP_MEMBERSHIP. 16 bytes.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 16)]
public unsafe struct PacketMreq
{
    /// <summary><c>mr_ifindex</c>: the interface.</summary>
    [FieldOffset(0)] public int InterfaceIndex;

    /// <summary><c>mr_type</c>: PACKET_MR_MULTICAST (0), PACKET_MR_PROMISC (1), PACKET_MR_ALLMULTI (2), PACKET_MR_UNICAST (3).</summary>
    [FieldOffset(4)] public ushort Type;

    /// <summary><c>mr_alen</c>: the length of <see cref="Address"/> in use (multicast and unicast types).</summary>
    [FieldOffset(6)] public ushort AddressLength;

    /// <summary><c>mr_address</c>.</summary>
    [FieldOffset(8)] public fixed byte Address[8];
}
