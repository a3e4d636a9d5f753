using Dataplane.Drivers.Virtio;
using Dataplane.Buffers;
using Dataplane.Drivers.Tap;
using Dataplane.Native;
using Dataplane.Ports;

namespace Dataplane.Tests.Drivers;

/// <summary>The virtio-net header of a tap and the buffer metadata, translated both ways, over literal bytes.</summary>
public class TapOffloadsTests
{
    // flags NEEDS_CSUM, gso_type TCPV4, hdr_len 54, gso_size 1460, csum_start 34, csum_offset 16 (little-endian)
    private static readonly byte[] TcpV4SuperFrame = [0x01, 0x01, 0x36, 0x00, 0xb4, 0x05, 0x22, 0x00, 0x10, 0x00];

    [Fact]
    public void A_received_tso_header_becomes_a_partial_checksum_and_a_segment_size()
    {
        VirtioNetHeader header = TapOffloads.Read(TcpV4SuperFrame);
        Assert.Equal(54, header.HeaderLength);
        BufferMetadata m = default;
        VirtioNetOffload.Receive(header, ref m);
        Assert.Equal(OffloadFlags.L4ChecksumPartial, m.Offload);
        Assert.Equal(34, m.ChecksumStart);
        Assert.Equal(16, m.ChecksumOffset);
        Assert.Equal(GsoType.TcpV4, m.Gso);
        Assert.Equal(1460, m.SegmentSize);
    }

    [Fact]
    public void Data_valid_becomes_a_verified_checksum_and_leaves_the_checksum_fields_alone()
    {
        BufferMetadata m = default;
        VirtioNetOffload.Receive(TapOffloads.Read([0x02, 0, 0, 0, 0, 0, 0x22, 0, 0x06, 0]), ref m);
        Assert.Equal(OffloadFlags.L4ChecksumVerified, m.Offload);
        Assert.Equal(0, m.ChecksumStart);
        Assert.Equal(GsoType.None, m.Gso);
    }

    [Theory]
    [InlineData(0x81, 1)] // TCPV4 | ECN: the ECN bit does not change the type
    [InlineData(0x04, 4)] // TCPV6
    [InlineData(0x03, 3)] // UFO
    [InlineData(0x05, 3)] // USO (GSO_UDP_L4)
    [InlineData(0x00, 0)]
    [InlineData(0x42, 0)] // unknown
    public void Gso_types_map_to_the_stacks(byte virtio, byte gso)
    {
        var expected = (GsoType)gso;
        BufferMetadata m = default;
        VirtioNetOffload.Receive(TapOffloads.Read([0, virtio, 0, 0, 0xb4, 0x05, 0, 0, 0, 0]), ref m);
        Assert.Equal(expected, m.Gso);
        Assert.Equal(expected == GsoType.None ? 0 : 1460, m.SegmentSize);
    }

    [Fact]
    public void A_frame_with_no_offload_is_sent_behind_a_zero_header()
    {
        BufferMetadata m = default;
        var bytes = new byte[TapOffloads.HeaderSize];
        bytes.AsSpan().Fill(0xee);
        TapOffloads.Write(VirtioNetOffload.FromMetadata(m, new byte[60]), bytes);
        Assert.Equal(new byte[10], bytes);
    }

    [Fact]
    public void A_tso_super_frame_is_sent_with_needs_csum_gso_type_size_and_the_header_length_from_its_tcp_header()
    {
        var frame = new byte[14 + 20 + 32 + 100];
        frame[14 + 20 + 12] = 8 << 4; // TCP data offset 8 words: 12 bytes of options
        var m = new BufferMetadata
        {
            Offload = OffloadFlags.L4ChecksumPartial, ChecksumStart = 34, ChecksumOffset = 16,
            Gso = GsoType.TcpV4, SegmentSize = 1460,
        };
        var bytes = new byte[TapOffloads.HeaderSize];
        TapOffloads.Write(VirtioNetOffload.FromMetadata(m, frame), bytes);
        Assert.Equal([0x01, 0x01, 66, 0x00, 0xb4, 0x05, 0x22, 0x00, 0x10, 0x00], bytes);
        // Without options: the header the kernel itself sends us for such a frame, byte for byte.
        Assert.Equal(TcpV4SuperFrame, Written(m, TcpHeadWithDataOffset(5)));
    }

    [Fact]
    public void A_partial_udp_checksum_is_sent_with_needs_csum_only()
    {
        var m = new BufferMetadata { Offload = OffloadFlags.L4ChecksumPartial | OffloadFlags.L4ChecksumVerified, ChecksumStart = 34, ChecksumOffset = 6 };
        Assert.Equal([0x01, 0, 0, 0, 0, 0, 0x22, 0, 0x06, 0], Written(m, new byte[60]));
    }

    [Fact]
    public void Udp_segmentation_goes_as_gso_udp_l4_with_an_eight_byte_transport_header()
    {
        var m = new BufferMetadata { Offload = OffloadFlags.L4ChecksumPartial, ChecksumStart = 54, ChecksumOffset = 6, Gso = GsoType.Udp, SegmentSize = 1200 };
        Assert.Equal([0x01, 0x05, 62, 0, 0xb0, 0x04, 54, 0, 0x06, 0], Written(m, new byte[100]));
    }

    [Fact]
    public void A_super_frame_whose_tcp_header_is_not_in_the_head_buffer_leaves_the_header_length_to_the_kernel()
    {
        var m = new BufferMetadata { Offload = OffloadFlags.L4ChecksumPartial, ChecksumStart = 34, ChecksumOffset = 16, Gso = GsoType.TcpV4, SegmentSize = 1400 };
        Assert.Equal(0, VirtioNetOffload.FromMetadata(m, new byte[40]).HeaderLength);
    }

    [Fact]
    public void Tso_on_asks_for_checksum_and_tso_both_ways_and_off_for_checksums_only()
    {
        Assert.Equal(TunOffloads.Checksum | TunOffloads.Tso4 | TunOffloads.Tso6, TapOffloads.For(tso: true));
        Assert.Equal(TunOffloads.Checksum, TapOffloads.For(tso: false));
        Assert.Equal(PortCapabilities.ReceiveChecksum | PortCapabilities.TransmitChecksum | PortCapabilities.Tso | PortCapabilities.Lro, TapOffloads.Capabilities(tso: true, queues: 1));
        Assert.Equal(PortCapabilities.ReceiveChecksum | PortCapabilities.TransmitChecksum | PortCapabilities.Tso, TapOffloads.Capabilities(tso: true, queues: 1, lro: false));
        Assert.Equal(PortCapabilities.ReceiveChecksum | PortCapabilities.TransmitChecksum | PortCapabilities.Lro, TapOffloads.Capabilities(tso: false, queues: 1, lro: true));
        Assert.Equal(PortCapabilities.ReceiveChecksum | PortCapabilities.TransmitChecksum | PortCapabilities.MultiQueue, TapOffloads.Capabilities(tso: false, queues: 2));
        Assert.Equal(10, TapOffloads.HeaderSize);
    }

    private static byte[] Written(BufferMetadata m, byte[] head)
    {
        var bytes = new byte[TapOffloads.HeaderSize];
        TapOffloads.Write(VirtioNetOffload.FromMetadata(m, head), bytes);
        return bytes;
    }

    private static byte[] TcpHeadWithDataOffset(int words)
    {
        var frame = new byte[14 + 20 + 20];
        frame[14 + 20 + 12] = (byte)(words << 4);
        return frame;
    }
}
