using System.Buffers.Binary;
using Dataplane.Buffers;
using Dataplane.Drivers.Vfio.Vmxnet3;
using Dataplane.Ports;

namespace Dataplane.Tests.Drivers.Vfio;

/// <summary>
/// vmxnet3 LRO against <see cref="FakeVmxnet3Device"/> delivering as QEMU 7.2's model does with
/// UPT1_F_LRO: a super-frame over a head buffer of rx ring 1 and body buffers of ring 2, one
/// completion a buffer, nothing but its length saying what it is. The driver chains sop..eop, marks
/// a TCP frame longer than the MTU as the Linux driver does (MTU less headers), and drops and counts
/// by name what does not add up, the rings going on.
/// </summary>
public sealed class Vmxnet3LroTests : IDisposable
{
    private const uint Tcp4Verified = Vmxnet3Layout.RxCompV4 | Vmxnet3Layout.RxCompIpc | Vmxnet3Layout.RxCompTcp | Vmxnet3Layout.RxCompTuc;
    private const uint Tcp6Verified = Vmxnet3Layout.RxCompV6 | Vmxnet3Layout.RxCompTcp | Vmxnet3Layout.RxCompTuc;

    private readonly BufferPool _pool = new(2048);
    private readonly BufferCache _cache;
    private readonly List<IDisposable> _owned = [];

    public Vmxnet3LroTests() => _cache = new BufferCache(_pool, size: 512, burst: 64);

    public void Dispose()
    {
        foreach (IDisposable d in _owned)
            d.Dispose();
    }

    private (FakeVmxnet3Device Device, Vmxnet3Port Port, Vmxnet3Queue Queue) Open(bool lro = true)
    {
        var device = new FakeVmxnet3Device();
        Vmxnet3Port port = Vmxnet3Port.Open("p0", device, lro: lro);
        _owned.Add(port);
        Vmxnet3Queue queue = port.Queue(0, _cache);
        port.Start();
        return (device, port, queue);
    }

    /// <summary>
    /// Ethernet, IPv4 (20 bytes) or IPv6 (40), TCP with a 12-byte option block (32 bytes, as with
    /// timestamps), then <paramref name="payload"/> bytes of a pattern; the IP lengths right.
    /// </summary>
    internal static byte[] TcpFrame(int payload, bool ipv6 = false, byte protocol = 6)
    {
        int ip = ipv6 ? 40 : 20, tcp = 32;
        byte[] f = new byte[14 + ip + tcp + payload];
        for (int i = 0; i < f.Length; i++)
            f[i] = (byte)(i * 13);
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(12), (ushort)(ipv6 ? 0x86dd : 0x0800));
        Span<byte> l3 = f.AsSpan(14);
        if (ipv6)
        {
            l3[0] = 0x60;
            l3[1] = l3[2] = l3[3] = 0;
            BinaryPrimitives.WriteUInt16BigEndian(l3[4..], (ushort)(tcp + payload));
            l3[6] = protocol;
            l3[7] = 64;
        }
        else
        {
            l3[0] = 0x45;
            l3[1] = 0;
            BinaryPrimitives.WriteUInt16BigEndian(l3[2..], (ushort)(ip + tcp + payload));
            BinaryPrimitives.WriteUInt16BigEndian(l3[6..], 0x4000); // DF, offset 0
            l3[8] = 64;
            l3[9] = protocol;
        }
        Span<byte> l4 = l3[ip..];
        l4[12] = (byte)((tcp / 4) << 4);
        l4[13] = 0x10; // ACK
        return f;
    }

    private static int Buffers(int length, int room) => (length + room - 1) / room;

    [Fact]
    public void Lro_on_asks_for_upt1_f_lro_posts_body_buffers_on_ring_2_and_lets_a_frame_span_64_buffers()
    {
        (FakeVmxnet3Device device, Vmxnet3Port port, _) = Open();

        Assert.Equal(Vmxnet3Layout.FeatureRxChecksum | Vmxnet3Layout.FeatureLro, device.Features);
        Assert.Equal((uint)Vmxnet3Port.MaxFrameBuffers, device.Shared32(Vmxnet3Layout.MaxNumRxSg) & 0xffff);
        Assert.Equal(Vmxnet3Port.RingSize - 1, device.RxAvailable(0));
        Assert.Equal(Vmxnet3Port.Ring2Size - 1, device.Ring2Available(0));
        Assert.True((port.Capabilities & PortCapabilities.Lro) != 0);
        Assert.Empty(device.Violations);
    }

    [Fact]
    public void Lro_off_asks_for_nothing_and_leaves_ring_2_empty()
    {
        (FakeVmxnet3Device device, Vmxnet3Port port, _) = Open(lro: false);

        Assert.Equal(Vmxnet3Layout.FeatureRxChecksum, device.Features);
        Assert.Equal(1u, device.Shared32(Vmxnet3Layout.MaxNumRxSg) & 0xffff);
        Assert.Equal(0, device.Ring2Available(0));
        Assert.True((port.Capabilities & PortCapabilities.Lro) == 0);
    }

    [Theory]
    [InlineData(false, 1500, 1500 - 20 - 32)]
    [InlineData(true, 1500, 1500 - 40 - 32)]
    [InlineData(false, 9000, 9000 - 20 - 32)]
    public void A_tcp_frame_longer_than_the_mtu_over_a_head_and_body_buffers_is_one_chain_marked_a_super_frame_of_mtu_less_headers(
        bool ipv6, int mtu, int segmentSize)
    {
        var device = new FakeVmxnet3Device();
        Vmxnet3Port port = Vmxnet3Port.Open("p0", device, lro: true, mtu: mtu);
        _owned.Add(port);
        Vmxnet3Queue queue = port.Queue(0, _cache);
        port.Start();
        byte[] frame = TcpFrame(40_000, ipv6);
        int room = _pool.BufferSize - _pool.Headroom;

        int used = device.InjectCompound(0, frame, ipv6 ? Tcp6Verified : Tcp4Verified, notCalculated: false);
        Assert.Equal(Buffers(frame.Length, room), used);
        var burst = new PacketBuffer[8];
        Assert.Equal(1, queue.Receive(burst));

        ref BufferMetadata m = ref _pool.Metadata(burst[0]);
        Assert.Equal(frame.Length, m.PacketLength);
        Assert.Equal(used, m.Segments);
        Assert.Equal(frame, DriverFrames.Bytes(_pool, burst[0]));
        Assert.Equal(ipv6 ? GsoType.TcpV6 : GsoType.TcpV4, m.Gso);
        Assert.Equal(segmentSize, m.SegmentSize);
        Assert.Equal(ipv6 ? OffloadFlags.L4ChecksumVerified : OffloadFlags.Ipv4ChecksumVerified | OffloadFlags.L4ChecksumVerified, m.Offload);
        Assert.Equal(1, port.Received(0).SuperFrames);
        Assert.Equal(0, port.Counters(0).Errors);
        _cache.Release(burst[0]);
        // Both rings are topped up again: the bodies the frame took came back from the cache.
        Assert.Equal(Vmxnet3Port.RingSize - 1, device.RxAvailable(0));
        Assert.Equal(Vmxnet3Port.Ring2Size - 1, device.Ring2Available(0));
        Assert.Empty(device.Violations);
    }

    [Fact]
    public void Frames_within_the_mtu_udp_and_tcp_bits_without_tcp_headers_are_not_marked()
    {
        (FakeVmxnet3Device device, Vmxnet3Port port, Vmxnet3Queue queue) = Open();
        byte[] mtuSized = TcpFrame(1500 - 20 - 32);   // 1514 bytes: the IP packet is the MTU
        byte[] udp = TcpFrame(3000, protocol: 17);   // longer than the MTU, UDP (the Linux driver marks only TCP)
        byte[] lying = TcpFrame(3000, protocol: 17); // the tcp bit on a UDP datagram: the headers decide
        Assert.Equal(1, device.InjectCompound(0, mtuSized, Tcp4Verified, notCalculated: false));
        Assert.Equal(2, device.InjectCompound(0, udp, Vmxnet3Layout.RxCompV4 | Vmxnet3Layout.RxCompIpc | Vmxnet3Layout.RxCompUdp | Vmxnet3Layout.RxCompTuc, notCalculated: false));
        Assert.Equal(2, device.InjectCompound(0, lying, Tcp4Verified, notCalculated: false));

        var burst = new PacketBuffer[8];
        Assert.Equal(3, queue.Receive(burst));
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(GsoType.None, _pool.Metadata(burst[i]).Gso);
            Assert.Equal(0, _pool.Metadata(burst[i]).SegmentSize);
        }
        Assert.Equal(udp.Length, _pool.Metadata(burst[1]).PacketLength); // taken whole, as Linux's not_lro
        Assert.Equal(0, port.Received(0).SuperFrames);
        _cache.Release(burst.AsSpan(0, 3));
        Assert.Empty(device.Violations);
    }

    [Fact]
    public void With_lro_a_jumbo_mtu_frame_spans_a_head_and_bodies_and_is_not_a_super_frame_without_lro_the_pool_must_hold_it()
    {
        var device = new FakeVmxnet3Device();
        Vmxnet3Port port = Vmxnet3Port.Open("p0", device, lro: true, mtu: 9000);
        _owned.Add(port);
        Vmxnet3Queue queue = port.Queue(0, _cache);
        port.Start();
        byte[] frame = TcpFrame(9000 - 20 - 32);
        Assert.Equal(Buffers(frame.Length, _pool.BufferSize - _pool.Headroom), device.InjectCompound(0, frame, Tcp4Verified, notCalculated: false));
        var burst = new PacketBuffer[8];
        Assert.Equal(1, queue.Receive(burst));
        Assert.Equal(frame, DriverFrames.Bytes(_pool, burst[0]));
        Assert.Equal(GsoType.None, _pool.Metadata(burst[0]).Gso);
        _cache.Release(burst[0]);

        using Vmxnet3Port plain = Vmxnet3Port.Open("p1", new FakeVmxnet3Device(), lro: false, mtu: 9000);
        var e = Assert.Throws<Dataplane.Native.NativeException>(() => plain.Queue(0, _cache));
        Assert.Contains("MTU 9000 needs 9018", e.Message);
    }

    /// <summary>After bad input: the next super-frame still arrives, both rings full again.</summary>
    private void AssertRingsGoOn(FakeVmxnet3Device device, Vmxnet3Queue queue)
    {
        var burst = new PacketBuffer[8];
        queue.Receive(burst.AsSpan(0, 0)); // a burst of nothing refills what the bad input took
        byte[] frame = TcpFrame(20_000);
        Assert.True(device.InjectCompound(0, frame, Tcp4Verified, notCalculated: false) > 1);
        Assert.Equal(1, queue.Receive(burst));
        Assert.Equal(frame, DriverFrames.Bytes(_pool, burst[0]));
        Assert.Equal(GsoType.TcpV4, _pool.Metadata(burst[0]).Gso);
        _cache.Release(burst[0]);
        Assert.Equal(Vmxnet3Port.RingSize - 1, device.RxAvailable(0));
        Assert.Equal(Vmxnet3Port.Ring2Size - 1, device.Ring2Available(0));
    }

    private static uint Completion(int slot, int rqId, bool sop, bool eop) =>
        (uint)slot | ((uint)rqId << Vmxnet3Layout.RxCompRqIdShift) | (sop ? Vmxnet3Layout.RxCompSop : 0) | (eop ? Vmxnet3Layout.RxCompEop : 0);

    [Fact]
    public void A_frame_whose_eop_never_comes_is_dropped_as_missing_eop_when_the_next_sop_arrives()
    {
        (FakeVmxnet3Device device, Vmxnet3Port port, Vmxnet3Queue queue) = Open();
        device.WriteCompletion(0, Completion(device.TakeRxBuffer(0, 1), 0, sop: true, eop: false), 1000);
        device.WriteCompletion(0, Completion(device.TakeRxBuffer(0, 2), 1, sop: false, eop: false), 1000);

        AssertRingsGoOn(device, queue);
        Assert.Equal(1, port.Received(0).MissingEop);
        Assert.Equal(1, port.Counters(0).Errors);
        Assert.Empty(device.Violations);
    }

    [Fact]
    public void A_body_completion_without_a_head_is_dropped_as_body_without_head()
    {
        (FakeVmxnet3Device device, Vmxnet3Port port, Vmxnet3Queue queue) = Open();
        device.WriteCompletion(0, Completion(device.TakeRxBuffer(0, 2), 1, sop: false, eop: false), 1000);
        device.WriteCompletion(0, Completion(device.TakeRxBuffer(0, 2), 1, sop: false, eop: true), 100);
        device.WriteCompletion(0, Completion(device.TakeRxBuffer(0, 2), 1, sop: true, eop: true), 100); // a head from ring 2

        AssertRingsGoOn(device, queue);
        Assert.Equal(3, port.Received(0).BodyWithoutHead);
        Assert.Equal(3, port.Counters(0).Errors);
        Assert.Empty(device.Violations);
    }

    [Fact]
    public void A_frame_of_more_buffers_than_max_num_rx_sg_is_dropped_as_too_many_buffers_and_gives_them_back_as_they_come()
    {
        (FakeVmxnet3Device device, Vmxnet3Port port, Vmxnet3Queue queue) = Open();
        var burst = new PacketBuffer[8];
        // 100 frames of 65 buffers: 6,500 buffers from a pool of 2,048. A leak would starve the rings.
        for (int round = 0; round < 100; round++)
        {
            device.WriteCompletion(0, Completion(device.TakeRxBuffer(0, 1), 0, sop: true, eop: false), 1000);
            for (int k = 1; k <= Vmxnet3Port.MaxFrameBuffers; k++)
                device.WriteCompletion(0, Completion(device.TakeRxBuffer(0, 2), 1, sop: false, eop: k == Vmxnet3Port.MaxFrameBuffers), 1000);
            Assert.Equal(0, queue.Receive(burst));
        }

        AssertRingsGoOn(device, queue);
        Assert.Equal(100, port.Received(0).TooManyBuffers);
        Assert.Equal(100, port.Counters(0).Errors);
        Assert.Empty(device.Violations);
    }

    [Fact]
    public void A_chain_that_ends_early_is_dropped_as_truncated_an_error_but_a_receive_drop_when_the_device_ran_out_of_buffers()
    {
        (FakeVmxnet3Device device, Vmxnet3Port port, Vmxnet3Queue queue) = Open();
        // Larger than 64 buffers hold: QEMU stops at maxNumRxSG and sets err on the last completion.
        byte[] huge = TcpFrame(Vmxnet3Port.MaxFrameBuffers * (_pool.BufferSize - _pool.Headroom));
        Assert.Equal(Vmxnet3Port.MaxFrameBuffers, device.InjectCompound(0, huge, Tcp4Verified, notCalculated: false));
        var burst = new PacketBuffer[8];
        Assert.Equal(0, queue.Receive(burst));
        // Too few bytes for an Ethernet header.
        device.WriteCompletion(0, Completion(device.TakeRxBuffer(0, 1), 0, sop: true, eop: false), 6);
        device.WriteCompletion(0, Completion(device.TakeRxBuffer(0, 2), 1, sop: false, eop: true), 4);

        // The device out of body buffers mid-frame: err on the last with fewer than maxNumRxSG, a receive drop.
        device.WriteCompletion(0, Completion(device.TakeRxBuffer(0, 1), 0, sop: true, eop: false), 1000);
        device.WriteCompletion(0, Completion(device.TakeRxBuffer(0, 2), 1, sop: false, eop: true), 1000 | Vmxnet3Layout.RxCompErr);

        AssertRingsGoOn(device, queue);
        Assert.Equal(3, port.Received(0).Truncated);
        Assert.Equal(2, port.Counters(0).Errors);
        Assert.Equal(1, port.Counters(0).ReceiveDrops);
        Assert.Empty(device.Violations);
    }

    [Fact]
    public void A_completion_naming_another_queues_ring_or_an_empty_slot_is_counted_as_an_unknown_buffer()
    {
        (FakeVmxnet3Device device, Vmxnet3Port port, Vmxnet3Queue queue) = Open();
        device.WriteCompletion(0, Completion(0, 5, sop: true, eop: true), 100);                   // rqID of no ring of ours
        device.WriteCompletion(0, Completion(Vmxnet3Port.RingSize - 1, 0, sop: true, eop: true), 100); // the slot left empty

        AssertRingsGoOn(device, queue);
        Assert.Equal(2, port.Received(0).UnknownBuffer);
        Assert.Equal(2, port.Counters(0).Errors);
        Assert.Empty(device.Violations);
    }

    [Fact]
    public void The_watch_reports_each_kind_of_receive_drop_by_name_with_the_count_since_its_last_look()
    {
        (FakeVmxnet3Device device, Vmxnet3Port port, Vmxnet3Queue queue) = Open();
        device.WriteCompletion(0, Completion(device.TakeRxBuffer(0, 2), 1, sop: false, eop: true), 100);
        device.WriteCompletion(0, Completion(device.TakeRxBuffer(0, 2), 1, sop: false, eop: true), 100);
        device.WriteCompletion(0, Completion(0, 5, sop: true, eop: true), 100);
        Assert.Equal(0, queue.Receive(new PacketBuffer[8]));

        var faults = new List<Dataplane.Ports.DeviceFault>();
        port.CheckFaults(faults);
        Assert.Equal([("receive completion of no buffer", 1L, false), ("receive body without head", 2L, false)],
            faults.Select(f => (f.Name, f.Count, f.Fatal)));
        faults.Clear();
        port.CheckFaults(faults);
        Assert.Empty(faults); // counted once
        Assert.Null(port.Failure);
    }

    [Fact]
    public void Receiving_super_frames_allocates_nothing_per_packet()
    {
        (FakeVmxnet3Device device, _, Vmxnet3Queue queue) = Open();
        var burst = new PacketBuffer[8];
        byte[] frame = TcpFrame(16_000);
        int received = 0;

        long bytes = Allocations.Least(3, () =>
        {
            for (int round = 0; round < 4; round++)
            {
                int n = queue.Receive(burst);
                received += n;
                _cache.Release(burst.AsSpan(0, n));
            }
        }, prepare: () =>
        {
            for (int i = 0; i < 4 * 8; i++)
                Assert.True(device.InjectCompound(0, frame, Tcp4Verified, notCalculated: false) > 1);
        });

        Assert.Equal(4 * 4 * 8, received);
        Assert.Equal(0, bytes);
        Assert.Empty(device.Violations);
    }
}
