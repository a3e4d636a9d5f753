namespace Dataplane.Native;

/// <summary>
/// The TUNSETIFF flags in <c>ifr_flags</c> (<c>/usr/include/linux/if_tun.h</c>), also the bits
/// TUNGETFEATURES reports. See the kernel's Documentation/networking/tuntap.rst.
/// </summary>
[Flags]
public enum TunFlags
{
    /// <summary>No flag.</summary>
    None = 0,
    /// <summary>IFF_TUN: a layer-3 device; reads and writes are IP packets.</summary>
    Tun = 0x0001,
    /// <summary>IFF_TAP: a layer-2 device; reads and writes are Ethernet frames.</summary>
    Tap = 0x0002,
    /// <summary>IFF_NAPI: receive through NAPI (tun.c, for tests of the kernel's GRO path).</summary>
    Napi = 0x0010,
    /// <summary>IFF_NAPI_FRAGS: with IFF_NAPI, frames arrive as page fragments.</summary>
    NapiFrags = 0x0020,
    /// <summary>IFF_NO_CARRIER: the device starts with its carrier off (TUNSETCARRIER turns it on).</summary>
    NoCarrier = 0x0040,
    /// <summary>IFF_MULTI_QUEUE: one file descriptor per queue; each TUNSETIFF with the same name adds a queue.</summary>
    MultiQueue = 0x0100,
    /// <summary>IFF_ATTACH_QUEUE: TUNSETQUEUE, re-enable a detached queue.</summary>
    AttachQueue = 0x0200,
    /// <summary>IFF_DETACH_QUEUE: TUNSETQUEUE, disable a queue without closing it.</summary>
    DetachQueue = 0x0400,
    /// <summary>IFF_PERSIST: the device outlives its file descriptors (TUNSETPERSIST reports it).</summary>
    Persist = 0x0800,
    /// <summary>IFF_NO_PI: no 4-byte packet-information prefix on reads and writes.</summary>
    NoPacketInformation = 0x1000,
    /// <summary>IFF_ONE_QUEUE: obsolete, ignored by the kernel.</summary>
    OneQueue = 0x2000,
    /// <summary>IFF_VNET_HDR: every read and write starts with a virtio-net header (<see cref="VirtioNetHeader"/>).</summary>
    VnetHeader = 0x4000,
    /// <summary>IFF_TUN_EXCL: fail with EBUSY if the device already exists.</summary>
    Exclusive = 0x8000,
}

/// <summary>
/// The TUNSETOFFLOAD bits (<c>TUN_F_*</c>, <c>/usr/include/linux/if_tun.h</c>): which offloads the
/// reader of the tap handles, so the kernel may hand it (and take from it) frames with partial
/// checksums and super-frames to segment. They need IFF_VNET_HDR; TSO needs <see cref="Checksum"/>.
/// </summary>
[Flags]
public enum TunOffloads : uint
{
    /// <summary>No offload: every frame complete, checksums filled in.</summary>
    None = 0,
    /// <summary>TUN_F_CSUM: frames may carry a partial checksum (VIRTIO_NET_HDR_F_NEEDS_CSUM).</summary>
    Checksum = 0x01,
    /// <summary>TUN_F_TSO4: TCP over IPv4 super-frames (VIRTIO_NET_HDR_GSO_TCPV4).</summary>
    Tso4 = 0x02,
    /// <summary>TUN_F_TSO6: TCP over IPv6 super-frames (VIRTIO_NET_HDR_GSO_TCPV6).</summary>
    Tso6 = 0x04,
    /// <summary>TUN_F_TSO_ECN: TSO of segments with ECN CWR set (VIRTIO_NET_HDR_GSO_ECN).</summary>
    TsoEcn = 0x08,
    /// <summary>TUN_F_UFO: UDP fragmentation offload (removed from Linux; refused by kernels since 4.14).</summary>
    Ufo = 0x10,
    /// <summary>TUN_F_USO4: UDP segmentation over IPv4 (Linux 6.2, not in Debian 12's headers).</summary>
    Uso4 = 0x20,
    /// <summary>TUN_F_USO6: UDP segmentation over IPv6 (Linux 6.2, not in Debian 12's headers).</summary>
    Uso6 = 0x40,
}
