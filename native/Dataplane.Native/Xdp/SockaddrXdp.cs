using System.Runtime.InteropServices;

namespace Dataplane.Native;

/// <summary>
/// <c>struct sockaddr_xdp</c> (<c>/usr/include/linux/if_xdp.h</c>): the address an AF_XDP socket binds
/// to, one queue of one interface. 16 bytes.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 16)]
public struct SockaddrXdp
{
    /// <summary><c>sxdp_family</c>: AF_XDP (44).</summary>
    [FieldOffset(0)] public ushort Family;

    /// <summary><c>sxdp_flags</c>: <see cref="XdpBindFlags"/>.</summary>
    [FieldOffset(2)] public XdpBindFlags Flags;

    /// <summary><c>sxdp_ifindex</c>: the interface index.</summary>
    [FieldOffset(4)] public uint InterfaceIndex;

    /// <summary><c>sxdp_queue_id</c>: the interface's queue (channel) number.</summary>
    [FieldOffset(8)] public uint QueueId;

    /// <summary><c>sxdp_shared_umem_fd</c>: with <see cref="XdpBindFlags.SharedUmem"/>, the socket whose UMEM is shared.</summary>
    [FieldOffset(12)] public uint SharedUmemDescriptor;
}
