namespace Dataplane.Drivers.Vfio.VirtioNet;

/// <summary>Feature bits (virtio 1.2 §6 reserved bits, §5.1.3 net bits; linux/virtio_config.h, virtio_net.h).</summary>
[Flags]
internal enum VirtioFeatures : ulong
{
    /// <summary>Nothing.</summary>
    None = 0,

    /// <summary>VIRTIO_NET_F_CSUM (0): the device takes partial checksums (NEEDS_CSUM) on transmit.</summary>
    Checksum = 1ul << 0,

    /// <summary>VIRTIO_NET_F_GUEST_CSUM (1): the device hands us partial or verified checksums.</summary>
    GuestChecksum = 1ul << 1,

    /// <summary>VIRTIO_NET_F_MTU (3): <c>mtu</c> in device config is valid.</summary>
    Mtu = 1ul << 3,

    /// <summary>VIRTIO_NET_F_MAC (5): <c>mac</c> in device config is valid.</summary>
    Mac = 1ul << 5,

    /// <summary>VIRTIO_NET_F_GUEST_TSO4 (7): the device may hand us TCPv4 super-frames.</summary>
    GuestTso4 = 1ul << 7,

    /// <summary>VIRTIO_NET_F_GUEST_TSO6 (8).</summary>
    GuestTso6 = 1ul << 8,

    /// <summary>VIRTIO_NET_F_HOST_TSO4 (11): the device segments TCPv4 super-frames we send.</summary>
    HostTso4 = 1ul << 11,

    /// <summary>VIRTIO_NET_F_HOST_TSO6 (12).</summary>
    HostTso6 = 1ul << 12,

    /// <summary>VIRTIO_NET_F_MRG_RXBUF (15): a received frame may span several receive buffers.</summary>
    MergeableRxBuffers = 1ul << 15,

    /// <summary>VIRTIO_NET_F_STATUS (16): <c>status</c> in device config is valid (link up).</summary>
    Status = 1ul << 16,

    /// <summary>VIRTIO_NET_F_CTRL_VQ (17): the control queue exists.</summary>
    ControlQueue = 1ul << 17,

    /// <summary>VIRTIO_NET_F_MQ (22): several queue pairs, chosen with VIRTIO_NET_CTRL_MQ.</summary>
    MultiQueue = 1ul << 22,

    /// <summary>VIRTIO_F_VERSION_1 (32): a virtio 1.x device (little-endian, the modern layout). Required.</summary>
    Version1 = 1ul << 32,

    /// <summary>VIRTIO_F_ACCESS_PLATFORM (33): the device's DMA goes through the IOMMU (IOVAs, as we give).</summary>
    AccessPlatform = 1ul << 33,

    /// <summary>VIRTIO_NET_F_HASH_REPORT (57): the device reports the hash it computed in a 20-byte header (virtio_net_hdr_v1_hash).</summary>
    HashReport = 1ul << 57,

    /// <summary>VIRTIO_NET_F_RSS (60): the device places received flows on queues by a Toeplitz hash and a table (VIRTIO_NET_CTRL_MQ_RSS_CONFIG).</summary>
    Rss = 1ul << 60,
}

/// <summary>Device status bits (virtio 1.2 §2.1).</summary>
internal static class VirtioStatus
{
    /// <summary>ACKNOWLEDGE: the driver has noticed the device.</summary>
    public const byte Acknowledge = 1;

    /// <summary>DRIVER: the driver knows how to drive it.</summary>
    public const byte Driver = 2;

    /// <summary>DRIVER_OK: the driver is ready; the device may use the queues.</summary>
    public const byte DriverOk = 4;

    /// <summary>FEATURES_OK: feature negotiation is complete (the device keeps it set only if it accepts ours).</summary>
    public const byte FeaturesOk = 8;

    /// <summary>DEVICE_NEEDS_RESET: the device hit an error it cannot recover from.</summary>
    public const byte DeviceNeedsReset = 64;

    /// <summary>FAILED: the driver gave up on the device.</summary>
    public const byte Failed = 128;
}

/// <summary>The virtio PCI capability (virtio 1.2 §4.1.4, <c>struct virtio_pci_cap</c>) and common config layout (§4.1.4.3).</summary>
internal static class VirtioPciLayout
{
    /// <summary>virtio's PCI vendor ID.</summary>
    public const ushort VendorId = 0x1af4;

    /// <summary>The modern (1.x) network device's device ID: 0x1040 + device type 1.</summary>
    public const ushort NetDeviceId = 0x1041;

    /// <summary><c>cfg_type</c> VIRTIO_PCI_CAP_COMMON_CFG.</summary>
    public const byte CommonConfig = 1;

    /// <summary><c>cfg_type</c> VIRTIO_PCI_CAP_NOTIFY_CFG.</summary>
    public const byte NotifyConfig = 2;

    /// <summary><c>cfg_type</c> VIRTIO_PCI_CAP_ISR_CFG.</summary>
    public const byte IsrConfig = 3;

    /// <summary><c>cfg_type</c> VIRTIO_PCI_CAP_DEVICE_CFG.</summary>
    public const byte DeviceConfig = 4;

    /// <summary>Offsets in <c>struct virtio_pci_cap</c>: cfg_type, bar, offset, length; notify_off_multiplier after it.</summary>
    public const int CapType = 3, CapBar = 4, CapOffset = 8, CapLength = 12, CapNotifyMultiplier = 16;

    /// <summary>Offsets in <c>struct virtio_pci_common_cfg</c> (linux/virtio_pci.h; 56 bytes).</summary>
    public const int DeviceFeatureSelect = 0, DeviceFeature = 4, DriverFeatureSelect = 8, DriverFeature = 12,
        MsixConfig = 16, NumQueues = 18, DeviceStatus = 20, ConfigGeneration = 21, QueueSelect = 22, QueueSize = 24,
        QueueMsixVector = 26, QueueEnable = 28, QueueNotifyOff = 30, QueueDesc = 32, QueueDriver = 40, QueueDevice = 48;

    /// <summary>The common config's length.</summary>
    public const int CommonConfigLength = 56;

    /// <summary>VIRTIO_MSI_NO_VECTOR: no interrupt for this queue (and the device's answer when it cannot map one).</summary>
    public const ushort NoVector = 0xffff;
}

/// <summary>The network device's config (virtio 1.2 §5.1.4, <c>struct virtio_net_config</c>) and control queue (§5.1.6.5).</summary>
internal static class VirtioNetLayout
{
    /// <summary>Offsets in the device config: mac[6], status, max_virtqueue_pairs, mtu.</summary>
    public const int Mac = 0, Status = 6, MaxQueuePairs = 8, Mtu = 10;

    /// <summary>Offsets in the device config with VIRTIO_NET_F_RSS or HASH_REPORT (§5.1.4): rss_max_key_size (u8), rss_max_indirection_table_length (le16), supported_hash_types (le32).</summary>
    public const int RssMaxKeySize = 17, RssMaxIndirectionTableLength = 18, SupportedHashTypes = 20;

    /// <summary>The config's length up to and with <c>supported_hash_types</c>.</summary>
    public const int ConfigLength = 24;

    /// <summary>VIRTIO_NET_S_LINK_UP.</summary>
    public const ushort StatusLinkUp = 1;

    /// <summary>VIRTIO_NET_CTRL_MQ: the multiqueue class.</summary>
    public const byte ControlMq = 4;

    /// <summary>VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET: its command, data a <c>u16</c> pair count.</summary>
    public const byte ControlMqPairsSet = 0;

    /// <summary>VIRTIO_NET_CTRL_MQ_RSS_CONFIG (§5.1.6.5.7.1): <c>struct virtio_net_rss_config</c>, in place of VQ_PAIRS_SET once RSS is negotiated.</summary>
    public const byte ControlMqRssConfig = 1;

    /// <summary>
    /// The hash types the engine's hash is (§5.1.4.1.1, VIRTIO_NET_RSS_HASH_TYPE_*): IPv4, TCPv4,
    /// UDPv4, IPv6, TCPv6, UDPv6; not the _EX ones, which hash an IPv6 home address or routing
    /// destination the engine does not.
    /// </summary>
    public const uint EngineHashTypes = 0x3f;

    /// <summary>VIRTIO_NET_HASH_REPORT_* values (§5.1.6.4.3.4): NONE, IPv4, TCPv4, UDPv4, IPv6, TCPv6, UDPv6, then the _EX ones.</summary>
    public const ushort HashReportIpv4 = 1, HashReportTcpv4 = 2, HashReportUdpv4 = 3, HashReportIpv6 = 4, HashReportTcpv6 = 5, HashReportUdpv6 = 6;

    /// <summary>sizeof(struct virtio_net_hdr_v1_hash): the header with HASH_REPORT, hash_value (le32) at 12, hash_report (le16) at 16, padding.</summary>
    public const int HashHeaderLength = 20;

    /// <summary>Offsets of hash_value and hash_report in <c>virtio_net_hdr_v1_hash</c>.</summary>
    public const int HashValue = 12, HashReport = 16;

    /// <summary>VIRTIO_NET_OK, the ack byte of a command that worked.</summary>
    public const byte ControlOk = 0;

    /// <summary>sizeof(struct virtio_net_hdr_v1): 12 bytes, <c>num_buffers</c> included, with VERSION_1 whatever MRG_RXBUF says (§5.1.6).</summary>
    public const int HeaderLength = 12;
}
