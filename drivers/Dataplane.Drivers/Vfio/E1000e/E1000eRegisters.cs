namespace Dataplane.Drivers.Vfio.E1000e;

/// <summary>
/// The 82574's registers in BAR 0 and their bits, as the Intel 82574 GbE Controller Family
/// Datasheet names them (§10.2: the register summary and each register's section). Only what this
/// driver uses; offsets are bytes from the start of BAR 0, every register 32 bits wide.
/// </summary>
internal static class E1000eRegisters
{
    /// <summary>PCI vendor ID of Intel.</summary>
    public const ushort VendorId = 0x8086;

    /// <summary>PCI device ID of the 82574L (QEMU's <c>-device e1000e</c>).</summary>
    public const ushort DeviceId82574 = 0x10d3;

    /// <summary>Device Control, §10.2.2.1.</summary>
    public const int Ctrl = 0x00000;

    /// <summary>Device Status, §10.2.2.2.</summary>
    public const int Status = 0x00008;

    /// <summary>EEPROM/Flash Control, §10.2.2.3 (Auto_RD: the NVM was loaded after reset).</summary>
    public const int Eecd = 0x00010;

    /// <summary>Extended Device Control, §10.2.2.5.</summary>
    public const int CtrlExt = 0x00018;

    /// <summary>Interrupt Cause Read (clear on read), §10.2.4.1.</summary>
    public const int Icr = 0x000c0;

    /// <summary>Interrupt Mask Set/Read, §10.2.4.4.</summary>
    public const int Ims = 0x000d0;

    /// <summary>Interrupt Mask Clear, §10.2.4.5.</summary>
    public const int Imc = 0x000d8;

    /// <summary>Extended Interrupt Auto Clear: causes cleared (and masked) when their MSI-X vector fires, §10.2.4.7.</summary>
    public const int Eiac = 0x000dc;

    /// <summary>Interrupt Vector Allocation, §10.2.4.9: which MSI-X vector each cause raises.</summary>
    public const int Ivar = 0x000e4;

    /// <summary>CRC Error Count (statistics registers, clear on read): frames received with a bad CRC.</summary>
    public const int Crcerrs = 0x04000;

    /// <summary>RX Error Count (clear on read): frames received with a PHY symbol or data error.</summary>
    public const int Rxerrc = 0x0400c;

    /// <summary>Missed Packets Count (clear on read): frames dropped because the receive FIFO had no room (the overrun ICR.RXO reports).</summary>
    public const int Mpc = 0x04010;

    /// <summary>Receive Control, §10.2.5.1.</summary>
    public const int Rctl = 0x00100;

    /// <summary>Transmit Control, §10.2.6.1.</summary>
    public const int Tctl = 0x00400;

    /// <summary>Transmit Inter Packet Gap, §10.2.6.3.</summary>
    public const int Tipg = 0x00410;

    /// <summary>Receive Descriptor Base Address Low, queue 0, §10.2.5.8.</summary>
    public const int Rdbal = 0x02800;

    /// <summary>Receive Descriptor Base Address High, queue 0.</summary>
    public const int Rdbah = 0x02804;

    /// <summary>Receive Descriptor Length (bytes, a multiple of 128), queue 0.</summary>
    public const int Rdlen = 0x02808;

    /// <summary>Receive Descriptor Head, queue 0: the hardware's.</summary>
    public const int Rdh = 0x02810;

    /// <summary>Receive Descriptor Tail, queue 0: ours, one past the last descriptor given to the hardware.</summary>
    public const int Rdt = 0x02818;

    /// <summary>Receive Interrupt Delay Timer, §10.2.5.10 (0: no delay).</summary>
    public const int Rdtr = 0x02820;

    /// <summary>Receive Interrupt Absolute Delay Timer, §10.2.5.15.</summary>
    public const int Radv = 0x0282c;

    /// <summary>Transmit Descriptor Base Address Low, queue 0, §10.2.6.5.</summary>
    public const int Tdbal = 0x03800;

    /// <summary>Transmit Descriptor Base Address High, queue 0.</summary>
    public const int Tdbah = 0x03804;

    /// <summary>Transmit Descriptor Length, queue 0.</summary>
    public const int Tdlen = 0x03808;

    /// <summary>Transmit Descriptor Head, queue 0.</summary>
    public const int Tdh = 0x03810;

    /// <summary>Transmit Descriptor Tail, queue 0.</summary>
    public const int Tdt = 0x03818;

    /// <summary>Transmit Descriptor Control, queue 0, §10.2.6.10.</summary>
    public const int Txdctl = 0x03828;

    /// <summary>Receive Checksum Control, §10.2.5.16.</summary>
    public const int Rxcsum = 0x05000;

    /// <summary>Receive Filter Control, §10.2.5.17.</summary>
    public const int Rfctl = 0x05008;

    /// <summary>Multicast Table Array, 128 registers, §10.2.5.18.</summary>
    public const int Mta = 0x05200;

    /// <summary>Entries of the multicast table.</summary>
    public const int MtaEntries = 128;

    /// <summary>Receive Address Low, entry 0, §10.2.5.19.</summary>
    public const int Ral0 = 0x05400;

    /// <summary>Receive Address High, entry 0, §10.2.5.20.</summary>
    public const int Rah0 = 0x05404;

    // CTRL (§10.2.2.1)
    /// <summary>CTRL.SLU: Set Link Up (the MAC follows the PHY's link).</summary>
    public const uint CtrlSetLinkUp = 1u << 6;

    /// <summary>CTRL.LRST: link reset (the 82574 leaves it 0).</summary>
    public const uint CtrlLinkReset = 1u << 3;

    /// <summary>CTRL.RST: software reset of the MAC, self-clearing.</summary>
    public const uint CtrlReset = 1u << 26;

    /// <summary>CTRL.VME: VLAN mode (tags stripped into the descriptor); off here.</summary>
    public const uint CtrlVlanMode = 1u << 30;

    /// <summary>CTRL.PHY_RST.</summary>
    public const uint CtrlPhyReset = 1u << 31;

    // STATUS (§10.2.2.2)
    /// <summary>STATUS.LU: link up.</summary>
    public const uint StatusLinkUp = 1u << 1;

    // CTRL_EXT (§10.2.2.5)
    /// <summary>CTRL_EXT.IAME: interrupt acknowledge auto-mask (off: EIAC masks what it clears).</summary>
    public const uint CtrlExtIame = 1u << 27;

    /// <summary>CTRL_EXT.PBA_Support: the MSI-X pending bits; must be set in MSI-X mode (§7.4.2).</summary>
    public const uint CtrlExtPbaSupport = 1u << 31;

    // ICR / IMS / IMC / EIAC (§10.2.4)
    /// <summary>Link Status Change.</summary>
    public const uint InterruptLinkStatusChange = 1u << 2;

    /// <summary>Receive queue 0 (MSI-X mode).</summary>
    public const uint InterruptRxQueue0 = 1u << 20;

    /// <summary>Transmit queue 0 (MSI-X mode).</summary>
    public const uint InterruptTxQueue0 = 1u << 22;

    /// <summary>Other causes, link change among them (MSI-X mode).</summary>
    public const uint InterruptOther = 1u << 24;

    // IVAR (§10.2.4.9): 4-bit entries, vector in bits 2:0, valid in bit 3.
    /// <summary>An IVAR entry's valid bit.</summary>
    public const uint IvarValid = 0x8;

    /// <summary>Shift of the receive queue 0 entry.</summary>
    public const int IvarRxQueue0Shift = 0;

    /// <summary>Shift of the transmit queue 0 entry.</summary>
    public const int IvarTxQueue0Shift = 8;

    /// <summary>Shift of the other-causes entry.</summary>
    public const int IvarOtherShift = 16;

    // RCTL (§10.2.5.1)
    /// <summary>RCTL.EN: receiver enabled.</summary>
    public const uint RctlEnable = 1u << 1;

    /// <summary>RCTL.UPE: unicast promiscuous.</summary>
    public const uint RctlUnicastPromiscuous = 1u << 3;

    /// <summary>RCTL.MPE: multicast promiscuous.</summary>
    public const uint RctlMulticastPromiscuous = 1u << 4;

    /// <summary>RCTL.LPE: long packets (over 1522 bytes); off here.</summary>
    public const uint RctlLongPackets = 1u << 5;

    /// <summary>RCTL.BAM: accept broadcasts.</summary>
    public const uint RctlBroadcast = 1u << 15;

    /// <summary>RCTL.SECRC: strip the Ethernet CRC.</summary>
    public const uint RctlStripCrc = 1u << 26;

    /// <summary>RCTL.BSIZE = 00 with BSEX = 0: 2048-byte receive buffers.</summary>
    public const uint RctlBufferSize2048 = 0;

    /// <summary>Receive buffer bytes RCTL.BSIZE sets.</summary>
    public const int ReceiveBufferSize = 2048;

    // RXCSUM (§10.2.5.16)
    /// <summary>RXCSUM.IPOFLD: IPv4 header checksum offload.</summary>
    public const uint RxcsumIpOffload = 1u << 8;

    /// <summary>RXCSUM.TUOFLD: TCP/UDP checksum offload.</summary>
    public const uint RxcsumTcpUdpOffload = 1u << 9;

    /// <summary>RXCSUM.PCSD: packet checksum disabled (set, the descriptor carries the RSS hash instead).</summary>
    public const uint RxcsumPacketChecksumDisable = 1u << 13;

    // RFCTL (§10.2.5.17)
    /// <summary>RFCTL.EXSTEN: extended receive descriptors; off (legacy descriptors).</summary>
    public const uint RfctlExtendedStatus = 1u << 15;

    // TCTL (§10.2.6.1)
    /// <summary>TCTL.EN: transmitter enabled.</summary>
    public const uint TctlEnable = 1u << 1;

    /// <summary>TCTL.PSP: pad short packets to 64 bytes.</summary>
    public const uint TctlPadShort = 1u << 3;

    /// <summary>TCTL.CT = 15, the collision threshold the datasheet recommends (§10.2.6.1).</summary>
    public const uint TctlCollisionThreshold = 15u << 4;

    /// <summary>TCTL.COLD = 63, the full-duplex collision distance.</summary>
    public const uint TctlCollisionDistance = 63u << 12;

    /// <summary>TCTL.RTLC: re-transmit on late collision.</summary>
    public const uint TctlRetransmitLateCollision = 1u << 24;

    /// <summary>TIPG for copper (§10.2.6.3): IPGT 8, IPGR1 8, IPGR2 6.</summary>
    public const uint TipgCopper = 8 | (8 << 10) | (6 << 20);

    // TXDCTL (§10.2.6.10)
    /// <summary>TXDCTL.WTHRESH (bits 21:16).</summary>
    public const uint TxdctlWriteBackThreshold = 0x3fu << 16;

    /// <summary>GRAN = 1 (counts in descriptors), WTHRESH = 1: every descriptor with RS is written back at once.</summary>
    public const uint TxdctlFullWriteBack = 0x01010000;

    /// <summary>TXDCTL bit 22, which the datasheet says must be set (§10.2.6.10).</summary>
    public const uint TxdctlCountDescriptors = 1u << 22;

    // RAH (§10.2.5.20)
    /// <summary>RAH.AV: the entry is valid.</summary>
    public const uint RahAddressValid = 1u << 31;
}

/// <summary>
/// The legacy receive and transmit descriptors (§7.1.4.1, §7.2.10.1): 16 bytes, little-endian,
/// read and written through <see cref="Native.Mmio"/> (volatile) at these offsets.
/// </summary>
internal static class E1000eDescriptor
{
    /// <summary>Bytes of one descriptor.</summary>
    public const int Size = 16;

    /// <summary>Buffer address, <c>u64</c> (both kinds).</summary>
    public const int Address = 0;

    /// <summary>Receive: bytes written, <c>u16</c>.</summary>
    public const int RxLength = 8;

    /// <summary>Receive: packet checksum, <c>u16</c>.</summary>
    public const int RxChecksum = 10;

    /// <summary>Receive: status, <c>u8</c>.</summary>
    public const int RxStatus = 12;

    /// <summary>Receive: errors, <c>u8</c>.</summary>
    public const int RxErrors = 13;

    /// <summary>Transmit: length (15:0), CSO (23:16), CMD (31:24), <c>u32</c>.</summary>
    public const int TxLengthCommand = 8;

    /// <summary>Transmit: status (bits 3:0), <c>u8</c>.</summary>
    public const int TxStatus = 12;

    // Receive status (§7.1.4.1, table 7-8)
    /// <summary>DD: descriptor done.</summary>
    public const byte RxDone = 0x01;

    /// <summary>EOP: the last descriptor of a packet.</summary>
    public const byte RxEndOfPacket = 0x02;

    /// <summary>IXSM: ignore the checksum indications.</summary>
    public const byte RxIgnoreChecksum = 0x04;

    /// <summary>UDPCS: the UDP checksum was calculated.</summary>
    public const byte RxUdpChecksum = 0x10;

    /// <summary>TCPCS: the TCP (or UDP) checksum was calculated.</summary>
    public const byte RxTcpChecksum = 0x20;

    /// <summary>IPCS: the IPv4 header checksum was calculated.</summary>
    public const byte RxIpChecksum = 0x40;

    // Receive errors (table 7-9)
    /// <summary>TCPE: the TCP/UDP checksum is wrong.</summary>
    public const byte RxTcpError = 0x20;

    /// <summary>IPE: the IPv4 header checksum is wrong.</summary>
    public const byte RxIpError = 0x40;

    /// <summary>CE, SE, SEQ, CXE, RXE: the frame itself is bad.</summary>
    public const byte RxFrameErrors = 0x01 | 0x02 | 0x04 | 0x10 | 0x80;

    // Transmit command (§7.2.10.1.2), as bits of the length/command dword
    /// <summary>EOP: the last descriptor of a packet.</summary>
    public const uint TxEndOfPacket = 1u << 24;

    /// <summary>IFCS: insert the Ethernet CRC.</summary>
    public const uint TxInsertCrc = 1u << 25;

    /// <summary>RS: report status (write DD back).</summary>
    public const uint TxReportStatus = 1u << 27;

    /// <summary>Transmit status DD.</summary>
    public const byte TxDone = 0x01;

    // Context and extended data descriptors (§7.2.10.2, §7.2.10.3): DEXT set; DTYP 0 context, 1 data.
    /// <summary>Context: the TCP/UDP checksum start (TUCSS), <c>u8</c>.</summary>
    public const int ContextChecksumStart = 4;

    /// <summary>Context: where the TCP/UDP checksum goes (TUCSO), <c>u8</c>.</summary>
    public const int ContextChecksumOffset = 5;

    /// <summary>Context: the TCP/UDP checksum end (TUCSE, 0: the end of the frame), <c>u16</c>.</summary>
    public const int ContextChecksumEnd = 6;

    /// <summary>Context: the segmentation fields (status, header length, MSS), <c>u32</c>.</summary>
    public const int ContextSegmentation = 12;

    /// <summary>Extended data: POPTS, <c>u8</c> (after the status byte).</summary>
    public const int TxPacketOptions = 13;

    /// <summary>DEXT: a context or extended data descriptor.</summary>
    public const uint TxExtended = 1u << 29;

    /// <summary>DTYP = 1: an extended data descriptor (0: a context descriptor).</summary>
    public const uint TxDataType = 1u << 20;

    /// <summary>Context TUCMD.TCP: the packet is TCP (else UDP).</summary>
    public const uint TxContextTcp = 1u << 24;

    /// <summary>POPTS.TXSM: insert the TCP/UDP checksum the context describes.</summary>
    public const byte TxInsertL4Checksum = 0x02;

    /// <summary>POPTS.IXSM: insert the IPv4 header checksum the context describes.</summary>
    public const byte TxInsertIpChecksum = 0x01;

    /// <summary>TSE: TCP segmentation (context and data descriptors).</summary>
    public const uint TxSegmentation = 1u << 26;

    /// <summary>Context TUCMD.IP: IPv4 (else IPv6).</summary>
    public const uint TxContextIpv4 = 1u << 25;

    /// <summary>Context: the IP checksum start (IPCSS), <c>u8</c>.</summary>
    public const int ContextIpStart = 0;

    /// <summary>Context: where the IPv4 header checksum goes (IPCSO), <c>u8</c>.</summary>
    public const int ContextIpOffset = 1;

    /// <summary>Context: the IP checksum end (IPCSE), <c>u16</c>.</summary>
    public const int ContextIpEnd = 2;

    /// <summary>Context: the header length TSO repeats in every segment (HDRLEN), <c>u8</c>.</summary>
    public const int ContextHeaderLength = 13;

    /// <summary>Context: the segments' payload size (MSS), <c>u16</c>.</summary>
    public const int ContextMss = 14;
}
