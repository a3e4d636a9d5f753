namespace Dataplane.Drivers.Vfio.Vmxnet3;

/// <summary>
/// The vmxnet3 device interface, from the Linux driver's <c>vmxnet3_defs.h</c> and <c>upt1_defs.h</c>
/// (the names below are the header's): registers of BAR 0 (PT) and BAR 1 (VD), commands, the
/// driver-shared area and queue descriptors as byte offsets (checked against the header's
/// <c>offsetof</c> with gcc on x86-64), and the bits of the 16-byte ring descriptors. All little-endian.
/// </summary>
internal static class Vmxnet3Layout
{
    /// <summary>PCI vendor ID of VMware.</summary>
    public const ushort VendorId = 0x15ad;

    /// <summary>PCI device ID of VMXNET3.</summary>
    public const ushort DeviceId = 0x07b0;

    // ---- BAR 0 (PT): VMXNET3_REG_IMR, _TXPROD, _RXPROD, _RXPROD2; one 8-byte register a queue or vector (VMXNET3_REG_ALIGN).

    /// <summary>VMXNET3_REG_IMR: interrupt mask of vector i at 8 i; 1 masks, 0 unmasks.</summary>
    public const int Imr = 0x000;

    /// <summary>VMXNET3_REG_TXPROD: transmit queue i's producer index (doorbell) at 0x600 + 8 i.</summary>
    public const int TxProd = 0x600;

    /// <summary>VMXNET3_REG_RXPROD: receive queue i's ring 1 producer index at 0x800 + 8 i.</summary>
    public const int RxProd = 0x800;

    /// <summary>VMXNET3_REG_RXPROD2: ring 2's.</summary>
    public const int RxProd2 = 0xA00;

    /// <summary>VMXNET3_REG_ALIGN: registers of a kind are this far apart.</summary>
    public const int RegisterStride = 8;

    // ---- BAR 1 (VD).

    /// <summary>VMXNET3_REG_VRRS: read, the revisions the device supports (bit i: revision i + 1); write, the one chosen.</summary>
    public const int Vrrs = 0x00;

    /// <summary>VMXNET3_REG_UVRS: the same for the UPT version.</summary>
    public const int Uvrs = 0x08;

    /// <summary>VMXNET3_REG_DSAL: the driver-shared area's address, low half (written first).</summary>
    public const int Dsal = 0x10;

    /// <summary>VMXNET3_REG_DSAH: high half.</summary>
    public const int Dsah = 0x18;

    /// <summary>VMXNET3_REG_CMD: write a command, read its result.</summary>
    public const int Cmd = 0x20;

    /// <summary>VMXNET3_REG_MACL: MAC bytes 0-3.</summary>
    public const int Macl = 0x28;

    /// <summary>VMXNET3_REG_MACH: MAC bytes 4-5.</summary>
    public const int Mach = 0x30;

    /// <summary>VMXNET3_REG_ICR: interrupt cause (INTx only).</summary>
    public const int Icr = 0x38;

    /// <summary>VMXNET3_REG_ECR: writing bits acknowledges those events of the shared area's <c>ecr</c>.</summary>
    public const int Ecr = 0x40;

    // ---- Commands (VMXNET3_CMD_*).

    /// <summary>VMXNET3_CMD_ACTIVATE_DEV: read the shared area and start; reads back 0 when active.</summary>
    public const uint CmdActivateDev = 0xCAFE0000;

    /// <summary>VMXNET3_CMD_QUIESCE_DEV: stop using the rings.</summary>
    public const uint CmdQuiesceDev = 0xCAFE0001;

    /// <summary>VMXNET3_CMD_RESET_DEV: forget the shared area.</summary>
    public const uint CmdResetDev = 0xCAFE0002;

    /// <summary>VMXNET3_CMD_UPDATE_RX_MODE: re-read rxFilterConf.rxMode.</summary>
    public const uint CmdUpdateRxMode = 0xCAFE0003;

    /// <summary>VMXNET3_CMD_GET_LINK: reads back bit 0 up, bits 16-31 the speed in Mbit/s.</summary>
    public const uint CmdGetLink = 0xF00D0002;

    /// <summary>VMXNET3_CMD_GET_QUEUE_STATUS: the device writes each queue descriptor's status (stopped, error) into our memory.</summary>
    public const uint CmdGetQueueStatus = 0xF00D0000;

    // ---- Vmxnet3_DriverShared (800 bytes).

    /// <summary>VMXNET3_REV1_MAGIC, in <c>magic</c>.</summary>
    public const uint Magic = 3133079265u;

    /// <summary>sizeof(struct Vmxnet3_DriverShared).</summary>
    public const int SharedLength = 800;

    /// <summary>magic.</summary>
    public const int SharedMagic = 0;

    /// <summary>size: of the shared area.</summary>
    public const int SharedSize = 4;

    /// <summary>devRead.misc.driverInfo.version.</summary>
    public const int DriverVersion = 8;

    /// <summary>devRead.misc.driverInfo.gos (Vmxnet3_GOSInfo: gosBits:2, gosType:4, ...).</summary>
    public const int DriverGos = 12;

    /// <summary>devRead.misc.driverInfo.vmxnet3RevSpt.</summary>
    public const int DriverRevisionSupport = 16;

    /// <summary>devRead.misc.driverInfo.uptVerSpt.</summary>
    public const int DriverUptSupport = 20;

    /// <summary>devRead.misc.uptFeatures (UPT1_F_*).</summary>
    public const int UptFeatures = 24;

    /// <summary>devRead.misc.queueDescPA: the queue descriptor table, transmit queues first.</summary>
    public const int QueueDescPa = 40;

    /// <summary>devRead.misc.queueDescLen.</summary>
    public const int QueueDescLen = 52;

    /// <summary>devRead.misc.mtu (QEMU asserts VMXNET3_MIN_MTU 60 ≤ mtu ≤ VMXNET3_MAX_MTU 9000).</summary>
    public const int SharedMtu = 56;

    /// <summary>devRead.misc.maxNumRxSG: most receive buffers one frame may span.</summary>
    public const int MaxNumRxSg = 60;

    /// <summary>devRead.misc.numTxQueues.</summary>
    public const int NumTxQueues = 62;

    /// <summary>devRead.misc.numRxQueues.</summary>
    public const int NumRxQueues = 63;

    /// <summary>devRead.intrConf.autoMask: the device masks a vector when it raises it.</summary>
    public const int AutoMask = 80;

    /// <summary>devRead.intrConf.numIntrs.</summary>
    public const int NumIntrs = 81;

    /// <summary>devRead.intrConf.eventIntrIdx: the vector of device events (link).</summary>
    public const int EventIntrIdx = 82;

    /// <summary>devRead.intrConf.modLevels[VMXNET3_MAX_INTRS].</summary>
    public const int ModLevels = 83;

    /// <summary>devRead.intrConf.intrCtrl (VMXNET3_IC_DISABLE_ALL).</summary>
    public const int IntrCtrl = 108;

    /// <summary>devRead.rxFilterConf.rxMode (VMXNET3_RXM_*).</summary>
    public const int RxMode = 120;

    /// <summary>devRead.rxFilterConf.vfTable: the VLAN filter bitmap, 4096 bits.</summary>
    public const int VfTable = 136;

    /// <summary>Bytes of vfTable: VMXNET3_VFT_SIZE (128) u32s.</summary>
    public const int VfTableLength = 512;

    /// <summary>devRead.rssConfDesc (Vmxnet3_VariableLenConfDesc): confVer u32, confLen u32 at +4, confPA u64 at +8.</summary>
    public const int RssConfDesc = 648;

    /// <summary>UPT1_F_RSS: spread received flows over the receive queues by rssConfDesc.</summary>
    public const ulong FeatureRss = 0x0002;

    /// <summary>sizeof(struct UPT1_RSSConf): hashType, hashFunc, hashKeySize, indTableSize (u16 each), hashKey[40], indTable[128].</summary>
    public const int RssConfLength = 176;

    /// <summary>UPT1_RSSConf.hashKey.</summary>
    public const int RssKey = 8;

    /// <summary>UPT1_RSSConf.indTable.</summary>
    public const int RssIndirection = 48;

    /// <summary>UPT1_RSS_HASH_TYPE_IPV4 | _TCP_IPV4 | _IPV6 | _TCP_IPV6.</summary>
    public const ushort RssHashTypes = 0x0f;

    /// <summary>UPT1_RSS_HASH_FUNC_TOEPLITZ.</summary>
    public const ushort RssToeplitz = 0x01;

    /// <summary>
    /// Entries of indTable used: UPT1_RSS_MAX_IND_TABLE_SIZE, as many as the engine's owner table
    /// (<see cref="Engine.RssIndirectionTable.DefaultSize"/>), so entry j of both is one flow slice
    /// (the Linux driver uses VMXNET3_RSS_IND_TABLE_SIZE, 32).
    /// </summary>
    public const int RssIndirectionSize = 128;

    /// <summary>UPT1_RSS_MAX_KEY_SIZE.</summary>
    public const int RssMaxKeySize = 40;

    /// <summary>VMXNET3_CMD_UPDATE_RSSIDT: the device reads UPT1_RSSConf again (the Linux driver's vmxnet3_set_rss after a key or table change).</summary>
    public const uint CmdUpdateRssIdt = 0xCAFE0006;

    /// <summary>Vmxnet3_RxCompDesc dword 0: rssType:4 from bit 26 (VMXNET3_RCD_RSS_TYPE_*); dword 1 is rssHash.</summary>
    public const int RxCompRssTypeShift = 26;

    /// <summary>VMXNET3_RCD_RSS_TYPE_* values: NONE, IPV4, TCPIPV4, IPV6, TCPIPV6, UDPIPV4, UDPIPV6 (then ESP ones).</summary>
    public const uint RssTypeIpv4 = 1, RssTypeTcpIpv4 = 2, RssTypeIpv6 = 3, RssTypeTcpIpv6 = 4, RssTypeUdpIpv4 = 5, RssTypeUdpIpv6 = 6;

    /// <summary>ecr: events the device set (VMXNET3_ECR_*).</summary>
    public const int SharedEcr = 696;

    /// <summary>VMXNET3_MAX_INTRS: MSI-X vectors the device has.</summary>
    public const int MaxInterrupts = 25;

    /// <summary>VMXNET3_MAX_TX_QUEUES.</summary>
    public const int MaxTxQueues = 8;

    /// <summary>VMXNET3_MAX_RX_QUEUES.</summary>
    public const int MaxRxQueues = 16;

    /// <summary>VMXNET3_RXM_UCAST | VMXNET3_RXM_BCAST | VMXNET3_RXM_ALL_MULTI: our unicast, broadcast, every multicast (IPv6 neighbour discovery).</summary>
    public const uint RxModeNormal = 0x01 | 0x04 | 0x08;

    /// <summary>VMXNET3_RXM_PROMISC.</summary>
    public const uint RxModePromiscuous = 0x10;

    /// <summary>UPT1_F_RXCSUM: the device verifies receive checksums.</summary>
    public const ulong FeatureRxChecksum = 0x0001;

    /// <summary>
    /// UPT1_F_LRO: the device may hand up frames longer than the MTU, merged from one TCP flow's
    /// segments, over a head buffer and body buffers (QEMU 7.2 turns the tap backend's TSO offloads
    /// on, vmxnet3_update_features); before revision 3 nothing but their length marks them.
    /// </summary>
    public const ulong FeatureLro = 0x0008;

    /// <summary>VMXNET3_ECR_RQERR: a receive queue stopped on an error (its status.stopped, status.error).</summary>
    public const uint EventRxQueueError = 1 << 0;

    /// <summary>VMXNET3_ECR_TQERR: a transmit queue stopped on an error.</summary>
    public const uint EventTxQueueError = 1 << 1;

    /// <summary>VMXNET3_ECR_LINK: the link changed.</summary>
    public const uint EventLink = 1 << 2;

    // ---- Vmxnet3_TxQueueDesc and Vmxnet3_RxQueueDesc: 256 bytes each (ctrl, conf, status, stats, pad).

    /// <summary>sizeof(struct Vmxnet3_TxQueueDesc) == sizeof(struct Vmxnet3_RxQueueDesc).</summary>
    public const int QueueDescLength = 256;

    /// <summary>Vmxnet3_TxQueueDesc.conf.txRingBasePA.</summary>
    public const int TxRingBase = 16;

    /// <summary>conf.dataRingBasePA.</summary>
    public const int TxDataRingBase = 24;

    /// <summary>conf.compRingBasePA.</summary>
    public const int TxCompRingBase = 32;

    /// <summary>conf.txRingSize.</summary>
    public const int TxRingSize = 56;

    /// <summary>conf.dataRingSize.</summary>
    public const int TxDataRingSize = 60;

    /// <summary>conf.compRingSize.</summary>
    public const int TxCompRingSize = 64;

    /// <summary>conf.intrIdx.</summary>
    public const int TxIntrIdx = 72;

    /// <summary>conf.txDataRingDescSize.</summary>
    public const int TxDataDescSize = 74;

    /// <summary>Vmxnet3_TxQueueDesc.status.stopped (and Vmxnet3_RxQueueDesc's): the queue stopped on an error; written by the device at VMXNET3_CMD_GET_QUEUE_STATUS.</summary>
    public const int QueueStopped = 80;

    /// <summary>status.error: the device's error code for a stopped queue.</summary>
    public const int QueueError = 84;

    /// <summary>Vmxnet3_RxQueueDesc.ctrl.updateRxProd: the device wants RXPROD written.</summary>
    public const int RxUpdateProd = 0;

    /// <summary>conf.rxRingBasePA[0]; [1] at +8.</summary>
    public const int RxRingBase = 16;

    /// <summary>conf.compRingBasePA.</summary>
    public const int RxCompRingBase = 32;

    /// <summary>conf.rxRingSize[0]; [1] at +4.</summary>
    public const int RxRingSize = 56;

    /// <summary>conf.compRingSize.</summary>
    public const int RxCompRingSize = 64;

    /// <summary>conf.intrIdx.</summary>
    public const int RxIntrIdx = 72;

    // ---- Descriptors: 16 bytes (union Vmxnet3_GenericDesc), rings aligned to VMXNET3_RING_BA_ALIGN (512), sizes a multiple of 32.

    /// <summary>Bytes of every descriptor.</summary>
    public const int DescriptorLength = 16;

    /// <summary>VMXNET3_RING_BA_ALIGN.</summary>
    public const int RingAlign = 512;

    /// <summary>VMXNET3_RING_SIZE_ALIGN.</summary>
    public const int RingSizeAlign = 32;

    /// <summary>Vmxnet3_TxDesc dword 2: len:14 (0 means 16384).</summary>
    public const uint TxLengthMask = 0x3fff;

    /// <summary>Vmxnet3_TxDesc dword 2: gen, bit 14 (VMXNET3_TXD_GEN_SHIFT).</summary>
    public const int TxGenShift = 14;

    /// <summary>Vmxnet3_TxDesc dword 2: msscof:14 from bit 18: the MSS (TSO) or checksum offset (CSUM).</summary>
    public const int TxMsscofShift = 18;

    /// <summary>Vmxnet3_TxDesc dword 3: hlen:10.</summary>
    public const uint TxHlenMask = 0x3ff;

    /// <summary>Vmxnet3_TxDesc dword 3: om:2 from bit 10.</summary>
    public const int TxOmShift = 10;

    /// <summary>Vmxnet3_TxDesc dword 3: eop, bit 12 (VMXNET3_TXD_EOP_SHIFT).</summary>
    public const uint TxEop = 1u << 12;

    /// <summary>Vmxnet3_TxDesc dword 3: cq, bit 13: a completion wanted (VMXNET3_TXD_CQ).</summary>
    public const uint TxCq = 1u << 13;

    /// <summary>VMXNET3_OM_CSUM: checksum from hlen, stored at msscof.</summary>
    public const uint OmChecksum = 2;

    /// <summary>VMXNET3_OM_TSO: segments of msscof bytes, headers of hlen bytes.</summary>
    public const uint OmTso = 3;

    /// <summary>VMXNET3_MAX_CSUM_OFFSET: a checksum start at most this far in.</summary>
    public const int MaxChecksumOffset = 1024;

    /// <summary>VMXNET3_MAX_TX_BUF_SIZE: one descriptor's bytes at most.</summary>
    public const int MaxTxBuffer = 1 << 14;

    /// <summary>VMXNET3_MAX_TXD_PER_PKT: descriptors of a frame that is not TSO.</summary>
    public const int MaxTxDescriptorsPerFrame = 16;

    /// <summary>Vmxnet3_TxCompDesc dword 0: txdIdx:12, the frame's EOP descriptor.</summary>
    public const uint TxCompIndexMask = 0xfff;

    /// <summary>Vmxnet3_RxDesc dword 2: len:14.</summary>
    public const uint RxLengthMask = 0x3fff;

    /// <summary>Vmxnet3_RxDesc dword 2: btype, bit 14 (VMXNET3_RXD_BTYPE_SHIFT); 0 head, 1 body.</summary>
    public const uint RxBodyBuffer = 1u << 14;

    /// <summary>VMXNET3_MAX_RX_BUF_SIZE.</summary>
    public const int MaxRxBuffer = (1 << 14) - 1;

    /// <summary>Vmxnet3_RxCompDesc dword 0: rxdIdx:12.</summary>
    public const uint RxCompIndexMask = 0xfff;

    /// <summary>Vmxnet3_RxCompDesc dword 0: eop, bit 14.</summary>
    public const uint RxCompEop = 1u << 14;

    /// <summary>Vmxnet3_RxCompDesc dword 0: sop, bit 15.</summary>
    public const uint RxCompSop = 1u << 15;

    /// <summary>Vmxnet3_RxCompDesc dword 0: rqID:10 from bit 16; queue q's ring 2 is q + numRxQueues.</summary>
    public const int RxCompRqIdShift = 16;

    /// <summary>Vmxnet3_RxCompDesc dword 0: cnc, bit 30: checksum not calculated.</summary>
    public const uint RxCompCnc = 1u << 30;

    /// <summary>Vmxnet3_RxCompDesc dword 2: len:14.</summary>
    public const uint RxCompLengthMask = 0x3fff;

    /// <summary>Vmxnet3_RxCompDesc dword 2: err, bit 14.</summary>
    public const uint RxCompErr = 1u << 14;

    /// <summary>Vmxnet3_RxCompDesc dword 3: tuc, bit 16: TCP/UDP checksum correct.</summary>
    public const uint RxCompTuc = 1u << 16;

    /// <summary>dword 3: udp, bit 17.</summary>
    public const uint RxCompUdp = 1u << 17;

    /// <summary>dword 3: tcp, bit 18.</summary>
    public const uint RxCompTcp = 1u << 18;

    /// <summary>dword 3: ipc, bit 19: IPv4 header checksum correct.</summary>
    public const uint RxCompIpc = 1u << 19;

    /// <summary>dword 3: v6, bit 20.</summary>
    public const uint RxCompV6 = 1u << 20;

    /// <summary>dword 3: v4, bit 21.</summary>
    public const uint RxCompV4 = 1u << 21;

    /// <summary>Completion descriptors, dword 3: gen, bit 31 (VMXNET3_TCD_GEN_SHIFT, VMXNET3_RCD_GEN_SHIFT - 32).</summary>
    public const int CompGenShift = 31;

    /// <summary>Vmxnet3_RxDesc dword 2: gen, bit 31 (VMXNET3_RXD_GEN_SHIFT).</summary>
    public const int RxGenShift = 31;

    /// <summary>VMXNET3_INIT_GEN: every ring starts at generation 1.</summary>
    public const uint InitGen = 1;
}
