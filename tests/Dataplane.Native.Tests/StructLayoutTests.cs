using System.Runtime.InteropServices;
using Dataplane.Native.Tests.Support;

namespace Dataplane.Native.Tests;

/// <summary>
/// Sizes and field offsets of every kernel ABI struct against the numbers gcc 12 gives on Debian 12
/// x86-64 for the headers in /usr/include/linux (if_packet.h, virtio_net.h, if.h, if_xdp.h, bpf.h,
/// if_link.h) and glibc's sys/epoll.h, poll.h and struct_iovec.h: a small C program printing sizeof
/// and offsetof, run once; the numbers are written here.
/// </summary>
public unsafe class StructLayoutTests
{
    [Fact]
    public void TpacketReq3_is_28_bytes_of_seven_u32()
    {
        TpacketReq3 s = default;
        Assert.Equal(28, sizeof(TpacketReq3));
        Assert.Equal(28, Marshal.SizeOf<TpacketReq3>());
        Assert.Equal(0, Layout.Offset(&s, &s.BlockSize));
        Assert.Equal(4, Layout.Offset(&s, &s.BlockCount));
        Assert.Equal(8, Layout.Offset(&s, &s.FrameSize));
        Assert.Equal(12, Layout.Offset(&s, &s.FrameCount));
        Assert.Equal(16, Layout.Offset(&s, &s.RetireBlockTimeout));
        Assert.Equal(20, Layout.Offset(&s, &s.PrivateSize));
        Assert.Equal(24, Layout.Offset(&s, &s.FeatureRequestWord));
    }

    [Fact]
    public void SockaddrLl_is_20_bytes()
    {
        SockaddrLl s = default;
        Assert.Equal(20, sizeof(SockaddrLl));
        Assert.Equal(0, Layout.Offset(&s, &s.Family));
        Assert.Equal(2, Layout.Offset(&s, &s.Protocol));
        Assert.Equal(4, Layout.Offset(&s, &s.InterfaceIndex));
        Assert.Equal(8, Layout.Offset(&s, &s.HardwareType));
        Assert.Equal(10, Layout.Offset(&s, &s.PacketType));
        Assert.Equal(11, Layout.Offset(&s, &s.AddressLength));
        Assert.Equal(12, Layout.Offset(&s, s.Address));
    }

    [Fact]
    public void PacketMreq_is_16_bytes()
    {
        PacketMreq s = default;
        Assert.Equal(16, sizeof(PacketMreq));
        Assert.Equal(0, Layout.Offset(&s, &s.InterfaceIndex));
        Assert.Equal(4, Layout.Offset(&s, &s.Type));
        Assert.Equal(6, Layout.Offset(&s, &s.AddressLength));
        Assert.Equal(8, Layout.Offset(&s, s.Address));
    }

    [Fact]
    public void VirtioNetHeader_is_10_bytes_and_the_mergeable_one_12()
    {
        VirtioNetHeader h = default;
        Assert.Equal(10, sizeof(VirtioNetHeader));
        Assert.Equal(VirtioNetHeader.Size, sizeof(VirtioNetHeader));
        Assert.Equal(0, Layout.Offset(&h, &h.Flags));
        Assert.Equal(1, Layout.Offset(&h, &h.GsoType));
        Assert.Equal(2, Layout.Offset(&h, &h.HeaderLength));
        Assert.Equal(4, Layout.Offset(&h, &h.GsoSize));
        Assert.Equal(6, Layout.Offset(&h, &h.ChecksumStart));
        Assert.Equal(8, Layout.Offset(&h, &h.ChecksumOffset));

        VirtioNetMergeableHeader m = default;
        Assert.Equal(12, sizeof(VirtioNetMergeableHeader));
        Assert.Equal(VirtioNetMergeableHeader.Size, sizeof(VirtioNetMergeableHeader));
        Assert.Equal(10, Layout.Offset(&m, &m.BufferCount));
    }

    [Fact]
    public void IfReq_is_40_bytes_with_the_union_at_16()
    {
        IfReq s = default;
        Assert.Equal(40, sizeof(IfReq));
        Assert.Equal(0, Layout.Offset(&s, s.Name));
        Assert.Equal(16, Layout.Offset(&s, &s.Flags));
        Assert.Equal(16, Layout.Offset(&s, &s.Index));
        Assert.Equal(16, Layout.Offset(&s, &s.Mtu));
        Assert.Equal(16, Layout.Offset(&s, &s.HardwareAddressFamily));
        Assert.Equal(18, Layout.Offset(&s, s.HardwareAddress));
        Assert.Equal(16, Layout.Offset(&s, &s.Data));
    }

    [Fact]
    public void EpollEvent_is_packed_to_12_bytes_on_x86_64()
    {
        EpollEvent e = default;
        Assert.Equal(12, sizeof(EpollEvent));
        Assert.Equal(0, Layout.Offset(&e, &e.Events));
        Assert.Equal(4, Layout.Offset(&e, &e.Data));
        // Epoll passes ours where Tmds.LibC declares its own: the two must agree.
        Assert.Equal(sizeof(Tmds.Linux.epoll_event), sizeof(EpollEvent));
    }

    [Fact]
    public void TpacketBlockDesc_is_48_bytes_with_the_v1_header_at_8()
    {
        TpacketBlockDesc b = default;
        Assert.Equal(48, sizeof(TpacketBlockDesc));
        Assert.Equal(0, Layout.Offset(&b, &b.Version));
        Assert.Equal(4, Layout.Offset(&b, &b.OffsetToPrivate));
        Assert.Equal(8, Layout.Offset(&b, &b.Header));
    }

    [Fact]
    public void TpacketHdrV1_is_40_bytes_with_the_aligned_u64_seq_num_at_16()
    {
        TpacketHdrV1 h = default;
        Assert.Equal(40, sizeof(TpacketHdrV1));
        Assert.Equal(0, Layout.Offset(&h, &h.BlockStatus));
        Assert.Equal(4, Layout.Offset(&h, &h.PacketCount));
        Assert.Equal(8, Layout.Offset(&h, &h.OffsetToFirstPacket));
        Assert.Equal(12, Layout.Offset(&h, &h.BlockLength));
        Assert.Equal(16, Layout.Offset(&h, &h.SequenceNumber));
        Assert.Equal(24, Layout.Offset(&h, &h.FirstPacketSeconds));
        Assert.Equal(28, Layout.Offset(&h, &h.FirstPacketNanoseconds));
        Assert.Equal(32, Layout.Offset(&h, &h.LastPacketSeconds));
        Assert.Equal(36, Layout.Offset(&h, &h.LastPacketNanoseconds));
    }

    [Fact]
    public void Tpacket3Hdr_is_48_bytes_with_hv1_at_28()
    {
        Tpacket3Hdr h = default;
        Assert.Equal(48, sizeof(Tpacket3Hdr));
        Assert.Equal(0, Layout.Offset(&h, &h.NextOffset));
        Assert.Equal(4, Layout.Offset(&h, &h.Seconds));
        Assert.Equal(8, Layout.Offset(&h, &h.Nanoseconds));
        Assert.Equal(12, Layout.Offset(&h, &h.SnapLength));
        Assert.Equal(16, Layout.Offset(&h, &h.Length));
        Assert.Equal(20, Layout.Offset(&h, &h.Status));
        Assert.Equal(24, Layout.Offset(&h, &h.MacOffset));
        Assert.Equal(26, Layout.Offset(&h, &h.NetworkOffset));
        Assert.Equal(28, Layout.Offset(&h, &h.RxHash));
        Assert.Equal(32, Layout.Offset(&h, &h.VlanTci));
        Assert.Equal(36, Layout.Offset(&h, &h.VlanTpid));
    }

    [Fact]
    public void TpacketReq_is_16_bytes_of_four_u32()
    {
        TpacketReq r = default;
        Assert.Equal(16, sizeof(TpacketReq));
        Assert.Equal(0, Layout.Offset(&r, &r.BlockSize));
        Assert.Equal(4, Layout.Offset(&r, &r.BlockCount));
        Assert.Equal(8, Layout.Offset(&r, &r.FrameSize));
        Assert.Equal(12, Layout.Offset(&r, &r.FrameCount));
    }

    [Fact]
    public void Tpacket2Hdr_is_32_bytes_with_the_vlan_fields_at_24()
    {
        Tpacket2Hdr h = default;
        Assert.Equal(32, sizeof(Tpacket2Hdr));
        Assert.Equal(0, Layout.Offset(&h, &h.Status));
        Assert.Equal(4, Layout.Offset(&h, &h.Length));
        Assert.Equal(8, Layout.Offset(&h, &h.SnapLength));
        Assert.Equal(12, Layout.Offset(&h, &h.MacOffset));
        Assert.Equal(14, Layout.Offset(&h, &h.NetworkOffset));
        Assert.Equal(16, Layout.Offset(&h, &h.Seconds));
        Assert.Equal(20, Layout.Offset(&h, &h.Nanoseconds));
        Assert.Equal(24, Layout.Offset(&h, &h.VlanTci));
        Assert.Equal(26, Layout.Offset(&h, &h.VlanTpid));
        // TPACKET2_HDRLEN = TPACKET_ALIGN(sizeof(struct tpacket2_hdr)) + sizeof(struct sockaddr_ll) = 32 + 20.
        Assert.Equal(Tpacket2Hdr.AddressOffset, 52 - sizeof(SockaddrLl));
    }

    [Fact]
    public void Tx_frame_data_starts_at_TPACKET3_HDRLEN_minus_sockaddr_ll()
    {
        // TPACKET3_HDRLEN = TPACKET_ALIGN(sizeof(struct tpacket3_hdr)) + sizeof(struct sockaddr_ll) = 48 + 20 = 0x44.
        Assert.Equal(Tpacket3Hdr.TxDataOffset, 0x44 - sizeof(SockaddrLl));
    }

    [Fact]
    public void TpacketStatsV3_is_12_bytes()
    {
        TpacketStatsV3 s = default;
        Assert.Equal(12, sizeof(TpacketStatsV3));
        Assert.Equal(0, Layout.Offset(&s, &s.Packets));
        Assert.Equal(4, Layout.Offset(&s, &s.Drops));
        Assert.Equal(8, Layout.Offset(&s, &s.FreezeQueueCount));
    }

    [Fact]
    public void IoVec_is_16_bytes_and_PollFd_8()
    {
        IoVec v = default;
        Assert.Equal(16, sizeof(IoVec));
        Assert.Equal(8, Layout.Offset(&v, &v.Length));
        PollFd p = default;
        Assert.Equal(8, sizeof(PollFd));
        Assert.Equal(4, Layout.Offset(&p, &p.Events));
        Assert.Equal(6, Layout.Offset(&p, &p.ReturnedEvents));
        Assert.Equal(sizeof(Tmds.Linux.pollfd), sizeof(PollFd));
    }

    [Fact]
    public void Request_numbers_match_the_kernel_headers()
    {
        // _IOW('T', 202, int) and friends, as gcc printed them from linux/if_tun.h and linux/sockios.h.
        Assert.Equal(0x400454caU, Tun.TUNSETIFF);
        Assert.Equal(0x400454d0U, Tun.TUNSETOFFLOAD);
        Assert.Equal(0x800454cfU, Tun.TUNGETFEATURES);
        Assert.Equal(0x400454d8U, Tun.TUNSETVNETHDRSZ);
        Assert.Equal(0x8927U, LinkControl.SIOCGIFHWADDR);
        Assert.Equal(0x8921U, LinkControl.SIOCGIFMTU);
        Assert.Equal(0x8922U, LinkControl.SIOCSIFMTU);
        Assert.Equal(0x8913U, LinkControl.SIOCGIFFLAGS);
        Assert.Equal(0x8914U, LinkControl.SIOCSIFFLAGS);
        Assert.Equal(0x5102, (int)Tun.MultiQueueTap); // IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_MULTI_QUEUE
    }

    [Fact]
    public void SockaddrXdp_is_16_bytes()
    {
        SockaddrXdp s = default;
        Assert.Equal(16, sizeof(SockaddrXdp));
        Assert.Equal(0, Layout.Offset(&s, &s.Family));
        Assert.Equal(2, Layout.Offset(&s, &s.Flags));
        Assert.Equal(4, Layout.Offset(&s, &s.InterfaceIndex));
        Assert.Equal(8, Layout.Offset(&s, &s.QueueId));
        Assert.Equal(12, Layout.Offset(&s, &s.SharedUmemDescriptor));
    }

    [Fact]
    public void XdpUmemReg_is_32_bytes_with_tx_metadata_len_in_the_old_tail_padding()
    {
        // Debian 12's 6.1 header: 32 bytes, flags at 24 and 4 bytes of padding; Linux 6.8's
        // include/uapi/linux/if_xdp.h puts tx_metadata_len there. xdp_umem_reg_v1 ends after headroom.
        XdpUmemReg s = default;
        Assert.Equal(32, sizeof(XdpUmemReg));
        Assert.Equal(XdpUmemReg.Size, sizeof(XdpUmemReg));
        Assert.Equal(0, Layout.Offset(&s, &s.Address));
        Assert.Equal(8, Layout.Offset(&s, &s.Length));
        Assert.Equal(16, Layout.Offset(&s, &s.ChunkSize));
        Assert.Equal(20, Layout.Offset(&s, &s.Headroom));
        Assert.Equal(24, Layout.Offset(&s, &s.Flags));
        Assert.Equal(28, Layout.Offset(&s, &s.TxMetadataLength));
        Assert.Equal(24, XdpUmemReg.V1Size);
        Assert.Equal(4, sizeof(XdpUmemFlags));
    }

    [Fact]
    public void XdpMmapOffsets_is_four_32_byte_ring_offsets()
    {
        XdpRingOffset r = default;
        Assert.Equal(32, sizeof(XdpRingOffset));
        Assert.Equal(0, Layout.Offset(&r, &r.Producer));
        Assert.Equal(8, Layout.Offset(&r, &r.Consumer));
        Assert.Equal(16, Layout.Offset(&r, &r.Descriptors));
        Assert.Equal(24, Layout.Offset(&r, &r.Flags));

        XdpMmapOffsets m = default;
        Assert.Equal(128, sizeof(XdpMmapOffsets));
        Assert.Equal(0, Layout.Offset(&m, &m.Rx));
        Assert.Equal(32, Layout.Offset(&m, &m.Tx));
        Assert.Equal(64, Layout.Offset(&m, &m.Fill));
        Assert.Equal(96, Layout.Offset(&m, &m.Completion));
    }

    [Fact]
    public void XdpDesc_is_16_bytes_and_XdpOptions_4()
    {
        XdpDesc d = default;
        Assert.Equal(16, sizeof(XdpDesc));
        Assert.Equal(0, Layout.Offset(&d, &d.Address));
        Assert.Equal(8, Layout.Offset(&d, &d.Length));
        Assert.Equal(12, Layout.Offset(&d, &d.Options));
        Assert.Equal(4, sizeof(XdpOptions));
    }

    [Fact]
    public void XdpStatistics_is_48_bytes_of_six_u64()
    {
        XdpStatistics s = default;
        Assert.Equal(48, sizeof(XdpStatistics));
        Assert.Equal(0, Layout.Offset(&s, &s.RxDropped));
        Assert.Equal(8, Layout.Offset(&s, &s.RxInvalidDescriptors));
        Assert.Equal(16, Layout.Offset(&s, &s.TxInvalidDescriptors));
        Assert.Equal(24, Layout.Offset(&s, &s.RxRingFull));
        Assert.Equal(32, Layout.Offset(&s, &s.RxFillRingEmpty));
        Assert.Equal(40, Layout.Offset(&s, &s.TxRingEmpty));
    }

    [Fact]
    public void Xdp_constants_match_if_xdp_h()
    {
        Assert.Equal(283, XdpConstants.SolXdp);
        Assert.Equal(44, XdpConstants.AddressFamily);
        Assert.Equal(1, (int)XdpSocketOption.MmapOffsets);
        Assert.Equal(2, (int)XdpSocketOption.RxRing);
        Assert.Equal(3, (int)XdpSocketOption.TxRing);
        Assert.Equal(4, (int)XdpSocketOption.UmemRegister);
        Assert.Equal(5, (int)XdpSocketOption.UmemFillRing);
        Assert.Equal(6, (int)XdpSocketOption.UmemCompletionRing);
        Assert.Equal(7, (int)XdpSocketOption.Statistics);
        Assert.Equal(8, (int)XdpSocketOption.Options);
        Assert.Equal(0L, XdpConstants.PageOffsetRxRing);
        Assert.Equal(2147483648L, XdpConstants.PageOffsetTxRing);
        Assert.Equal(4294967296L, XdpConstants.PageOffsetFillRing);
        Assert.Equal(6442450944L, XdpConstants.PageOffsetCompletionRing);
        Assert.Equal(1, (int)XdpBindFlags.SharedUmem);
        Assert.Equal(2, (int)XdpBindFlags.Copy);
        Assert.Equal(4, (int)XdpBindFlags.ZeroCopy);
        Assert.Equal(8, (int)XdpBindFlags.UseNeedWakeup);
        Assert.Equal(1u, XdpConstants.RingNeedWakeup);
        Assert.Equal(1u, (uint)XdpUmemFlags.UnalignedChunks);
        Assert.Equal(256u, XdpConstants.PacketHeadroom);
        Assert.Equal(2u, (uint)XdpAttachMode.Generic); // XDP_FLAGS_SKB_MODE, linux/if_link.h
        Assert.Equal(4u, (uint)XdpAttachMode.Native); // XDP_FLAGS_DRV_MODE
    }

    [Fact]
    public void Bpf_attributes_match_union_bpf_attr()
    {
        // offsetof(union bpf_attr, ...) from linux/bpf.h; sizeof(union bpf_attr) is 144 there, and
        // each struct here stops at the last field its command uses.
        BpfMapCreateAttribute m = default;
        Assert.Equal(48, sizeof(BpfMapCreateAttribute));
        Assert.Equal(12, Layout.Offset(&m, &m.MaxEntries));
        Assert.Equal(28, Layout.Offset(&m, m.MapName));
        Assert.Equal(44, Layout.Offset(&m, &m.MapInterfaceIndex));

        BpfMapElementAttribute e = default;
        Assert.Equal(32, sizeof(BpfMapElementAttribute));
        Assert.Equal(8, Layout.Offset(&e, &e.Key));
        Assert.Equal(16, Layout.Offset(&e, &e.Value));
        Assert.Equal(24, Layout.Offset(&e, &e.Flags));

        BpfProgramLoadAttribute p = default;
        Assert.Equal(72, sizeof(BpfProgramLoadAttribute));
        Assert.Equal(4, Layout.Offset(&p, &p.InstructionCount));
        Assert.Equal(8, Layout.Offset(&p, &p.Instructions));
        Assert.Equal(16, Layout.Offset(&p, &p.License));
        Assert.Equal(24, Layout.Offset(&p, &p.LogLevel));
        Assert.Equal(28, Layout.Offset(&p, &p.LogSize));
        Assert.Equal(32, Layout.Offset(&p, &p.LogBuffer));
        Assert.Equal(48, Layout.Offset(&p, p.ProgramName));
        Assert.Equal(68, Layout.Offset(&p, &p.ExpectedAttachType));

        BpfLinkCreateAttribute l = default;
        Assert.Equal(16, sizeof(BpfLinkCreateAttribute));
        Assert.Equal(4, Layout.Offset(&l, &l.TargetInterfaceIndex));
        Assert.Equal(8, Layout.Offset(&l, &l.AttachType));
        Assert.Equal(12, Layout.Offset(&l, &l.Flags));

        Assert.Equal(0, Bpf.MapCreate);
        Assert.Equal(2, Bpf.MapUpdateElement);
        Assert.Equal(5, Bpf.ProgramLoad);
        Assert.Equal(28, Bpf.LinkCreate);
        Assert.Equal(17u, Bpf.MapTypeXskMap);
        Assert.Equal(6u, Bpf.ProgramTypeXdp);
        Assert.Equal(37u, Bpf.AttachTypeXdp);
        Assert.Equal(321, Bpf.SystemCallNumber);
    }

    [Fact]
    public void Vfio_structs_have_the_sizes_and_offsets_of_linux_vfio_h()
    {
        // gcc 12 against /usr/include/linux/vfio.h (Debian 12): sizeof and offsetof of each.
        VfioGroupStatus g = default;
        Assert.Equal(8, sizeof(VfioGroupStatus));
        Assert.Equal(4, Layout.Offset(&g, &g.Flags));

        VfioDeviceInfo d = default;
        Assert.Equal(20, sizeof(VfioDeviceInfo));
        Assert.Equal(4, Layout.Offset(&d, &d.Flags));
        Assert.Equal(8, Layout.Offset(&d, &d.RegionCount));
        Assert.Equal(12, Layout.Offset(&d, &d.IrqCount));
        Assert.Equal(16, Layout.Offset(&d, &d.CapabilityOffset));

        VfioRegionInfo r = default;
        Assert.Equal(32, sizeof(VfioRegionInfo));
        Assert.Equal(8, Layout.Offset(&r, &r.Index));
        Assert.Equal(12, Layout.Offset(&r, &r.CapabilityOffset));
        Assert.Equal(16, Layout.Offset(&r, &r.Size));
        Assert.Equal(24, Layout.Offset(&r, &r.Offset));

        VfioIrqInfo i = default;
        Assert.Equal(16, sizeof(VfioIrqInfo));
        Assert.Equal(8, Layout.Offset(&i, &i.Index));
        Assert.Equal(12, Layout.Offset(&i, &i.Count));

        VfioIrqSet s = default;
        Assert.Equal(20, sizeof(VfioIrqSet));
        Assert.Equal(VfioIrqSet.Size, sizeof(VfioIrqSet)); // offsetof(struct vfio_irq_set, data)
        Assert.Equal(8, Layout.Offset(&s, &s.Index));
        Assert.Equal(12, Layout.Offset(&s, &s.Start));
        Assert.Equal(16, Layout.Offset(&s, &s.Count));

        VfioDmaMap m = default;
        Assert.Equal(32, sizeof(VfioDmaMap));
        Assert.Equal(8, Layout.Offset(&m, &m.VirtualAddress));
        Assert.Equal(16, Layout.Offset(&m, &m.Iova));
        Assert.Equal(24, Layout.Offset(&m, &m.Size));

        VfioDmaUnmap u = default;
        Assert.Equal(24, sizeof(VfioDmaUnmap));
        Assert.Equal(8, Layout.Offset(&u, &u.Iova));
        Assert.Equal(16, Layout.Offset(&u, &u.Size));
    }

    [Fact]
    public void Vfio_requests_are_the_headers_io_numbers()
    {
        // _IO(';', 100 + n), as gcc printed VFIO_GET_API_VERSION ... VFIO_IOMMU_UNMAP_DMA.
        Assert.Equal(0x3b64u, VfioConstants.GetApiVersion);
        Assert.Equal(0x3b65u, VfioConstants.CheckExtension);
        Assert.Equal(0x3b66u, VfioConstants.SetIommu);
        Assert.Equal(0x3b67u, VfioConstants.GroupGetStatus);
        Assert.Equal(0x3b68u, VfioConstants.GroupSetContainer);
        Assert.Equal(0x3b6au, VfioConstants.GroupGetDeviceFd);
        Assert.Equal(0x3b6bu, VfioConstants.DeviceGetInfo);
        Assert.Equal(0x3b6cu, VfioConstants.DeviceGetRegionInfo);
        Assert.Equal(0x3b6du, VfioConstants.DeviceGetIrqInfo);
        Assert.Equal(0x3b6eu, VfioConstants.DeviceSetIrqs);
        Assert.Equal(0x3b6fu, VfioConstants.DeviceReset);
        Assert.Equal(0x3b71u, VfioConstants.IommuMapDma);
        Assert.Equal(0x3b72u, VfioConstants.IommuUnmapDma);
        Assert.Equal(3, VfioConstants.Type1v2Iommu);
        Assert.Equal(7u, VfioConstants.PciConfigRegionIndex);
        Assert.Equal(2u, VfioConstants.PciMsixIrqIndex);
    }
}
