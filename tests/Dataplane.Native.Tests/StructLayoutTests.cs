using System.Runtime.InteropServices;
using Dataplane.Native.Tests.Support;

namespace Dataplane.Native.Tests;

/// <summary>
/// Sizes and field offsets of every kernel ABI struct against the numbers gcc 12 gives on Debian 12
/// x86-64 for the headers in /usr/include/linux (if_packet.h, virtio_net.h, if.h) and glibc's
/// sys/epoll.h, poll.h and struct_iovec.h: a small C program printing sizeof and offsetof, run once;
/// the numbers are written here.
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
}
