using System.Buffers.Binary;
using Dataplane.Buffers;
using Dataplane.Drivers.Vfio;
using Dataplane.Drivers.Vfio.VirtioNet;
using Dataplane.Native;
using Dataplane.Ports;

namespace Dataplane.Tests.Drivers.Vfio;

/// <summary>
/// The virtio-net driver against <see cref="FakeVirtioNetDevice"/>: the initialization and feature
/// negotiation of virtio 1.2 §3.1.1, frames both ways through the queue struct, merged receive
/// buffers, ring wrap-around, a full transmit ring, refill, the header offloads, link changes,
/// interrupts, multiqueue, and no managed allocation per packet. Every test also asserts that the
/// fake saw no breach of the spec.
/// </summary>
public sealed class VirtioNetPortTests : IDisposable
{
    private readonly BufferPool _pool = new(2048);
    private readonly BufferCache _cache;
    private readonly List<IDisposable> _owned = [];

    public VirtioNetPortTests() => _cache = new BufferCache(_pool, size: 512, burst: 64);

    public void Dispose()
    {
        foreach (IDisposable d in _owned)
            d.Dispose();
    }

    private (FakeVirtioNetDevice Device, VirtioNetPort Port, VirtioNetQueue Queue) Open(
        FakeVirtioNetDevice? device = null, int queues = 1, bool tso = false, bool lro = false)
    {
        device ??= new FakeVirtioNetDevice();
        VirtioNetPort port = VirtioNetPort.Open("p0", device, queues, portIndex: 3, tso: tso, lro: lro);
        _owned.Add(port);
        VirtioNetQueue queue = port.Queue(0, _cache);
        port.Start();
        return (device, port, queue);
    }

    private static byte[] Frame(int length, int sequence) => DriverFrames.Frame(length, sequence);

    private PacketBuffer Buffer(byte[] frame) => DriverFrames.Buffer(_cache, frame);

    private byte[] Bytes(PacketBuffer head) => DriverFrames.Bytes(_pool, head);

    [Fact]
    public void Initialization_runs_the_status_handshake_to_driver_ok_and_takes_the_features_it_drives()
    {
        (FakeVirtioNetDevice device, VirtioNetPort port, _) = Open();

        Assert.Empty(device.Violations);
        Assert.Equal(VirtioStatus.Acknowledge | VirtioStatus.Driver | VirtioStatus.FeaturesOk | VirtioStatus.DriverOk, device.Status);
        VirtioFeatures expected = VirtioFeatures.Version1 | VirtioFeatures.AccessPlatform | VirtioFeatures.Mac | VirtioFeatures.Status
            | VirtioFeatures.MergeableRxBuffers | VirtioFeatures.Checksum | VirtioFeatures.GuestChecksum | VirtioFeatures.Mtu;
        Assert.Equal(expected, device.DriverFeatures); // tso and lro off: no TSO either way; one queue: no MQ
        Assert.Equal(expected, port.Features);
        Assert.True(device.BusMastering);
        Assert.Equal("52:54:00:12:34:56", port.Mac.ToString());
        Assert.Equal(1500, port.Mtu);
        Assert.Equal("vfio", port.Driver);
        Assert.Equal("virtio-net", ((IPort)port).Mode); // ifconfig: "driver vfio (virtio-net)"
        Assert.Equal(PortCapabilities.ReceiveChecksum | PortCapabilities.TransmitChecksum, port.Capabilities);
        Assert.Equal(256, device.QueueSize(0));
        Assert.Equal(256, device.Available(0)); // the receive ring is full of pool buffers
        Assert.Equal(1, device.Vector(0));      // receiveq1: vector 1 (0 is configuration changes)
        Assert.Equal(VirtioPciLayout.NoVector, device.Vector(1)); // transmitq1: polled
        Assert.Equal(1, device.DmaMemory.MappedPools);
    }

    [Fact]
    public void A_device_without_version_1_is_refused_with_a_message_naming_the_port_and_address_and_is_given_back()
    {
        var device = new FakeVirtioNetDevice(FakeVirtioNetDevice.DefaultFeatures & ~VirtioFeatures.Version1);

        var e = Assert.Throws<NativeException>(() => VirtioNetPort.Open("p0", device));

        Assert.Equal("port p0: vfio virtio-net on PCI 0000:00:03.0: the device does not offer VIRTIO_F_VERSION_1 (a legacy virtio device, which this driver does not drive)", e.Message);
        Assert.Equal(0, device.Status); // reset after FAILED
        Assert.True(device.Disposed);
        Assert.True(device.DmaMemory.Disposed);
    }

    [Fact]
    public void A_device_whose_dma_bypasses_the_iommu_is_refused()
    {
        var device = new FakeVirtioNetDevice(FakeVirtioNetDevice.DefaultFeatures & ~VirtioFeatures.AccessPlatform);

        var e = Assert.Throws<NativeException>(() => VirtioNetPort.Open("p0", device));

        Assert.Contains("does not offer VIRTIO_F_ACCESS_PLATFORM", e.Message, StringComparison.Ordinal);
        Assert.Contains("iommu_platform=on", e.Message, StringComparison.Ordinal);
        Assert.True(device.Disposed);
    }

    [Fact]
    public void Features_the_device_does_not_keep_features_ok_for_are_a_clear_error()
    {
        var device = new FakeVirtioNetDevice { RefuseFeatures = true };

        var e = Assert.Throws<NativeException>(() => VirtioNetPort.Open("p0", device));

        Assert.Contains("the device refused the features", e.Message, StringComparison.Ordinal);
        Assert.True(device.Disposed);
        Assert.Empty(device.Violations);
    }

    [Fact]
    public void Tso_and_lro_ask_for_host_and_guest_segmentation_and_the_capabilities_say_so()
    {
        (FakeVirtioNetDevice device, VirtioNetPort port, _) = Open(tso: true, lro: true);

        VirtioFeatures tso = VirtioFeatures.HostTso4 | VirtioFeatures.HostTso6 | VirtioFeatures.GuestTso4 | VirtioFeatures.GuestTso6;
        Assert.Equal(tso, device.DriverFeatures & tso);
        Assert.Equal(PortCapabilities.ReceiveChecksum | PortCapabilities.TransmitChecksum | PortCapabilities.Tso | PortCapabilities.Lro, port.Capabilities);
    }

    [Fact]
    public void A_frame_goes_out_with_an_empty_header_and_one_comes_in_with_its_bytes_port_and_queue()
    {
        (FakeVirtioNetDevice device, VirtioNetPort port, VirtioNetQueue queue) = Open();
        byte[] outgoing = Frame(60, 1), incoming = Frame(1514, 2);

        Assert.Equal(1, queue.Transmit([Buffer(outgoing)]));
        Assert.True(device.Inject(0, incoming));
        var burst = new PacketBuffer[8];
        int n = queue.Receive(burst);

        (VirtioNetHeader header, byte[] sent) = Assert.Single(device.Sent[0]);
        Assert.Equal(outgoing, sent);
        Assert.Equal(default, header);
        Assert.Equal(1, n);
        Assert.Equal(incoming, Bytes(burst[0]));
        ref BufferMetadata m = ref _pool.Metadata(burst[0]);
        Assert.Equal(3, m.Port);
        Assert.Equal(0, m.Queue);
        Assert.Equal(_pool.Headroom, m.DataOffset); // the header went into the headroom, the frame is where drivers leave it
        Assert.Equal(OffloadFlags.None, m.Offload);
        Assert.Equal(1, port.Counters(0).ReceivedPackets);
        Assert.Equal(1514, port.Counters(0).ReceivedBytes);
        Assert.Equal(1, port.Counters(0).TransmittedPackets);
        Assert.Equal(60, port.Counters(0).TransmittedBytes);
        Assert.Empty(device.Violations);
        _cache.Release(burst[0]);
    }

    [Fact]
    public void A_chain_is_sent_as_one_frame_from_its_buffers()
    {
        (FakeVirtioNetDevice device, _, VirtioNetQueue queue) = Open();
        byte[] frame = Frame(5000, 3); // three buffers of the pool

        PacketBuffer chain = Buffer(frame);
        Assert.Equal(3, _pool.Metadata(chain).Segments);
        Assert.Equal(1, queue.Transmit([chain]));

        Assert.Equal(frame, Assert.Single(device.Sent[0]).Frame);
        Assert.Empty(device.Violations);
    }

    [Fact]
    public void A_frame_spanning_several_merged_receive_buffers_becomes_a_chain_of_them()
    {
        (FakeVirtioNetDevice device, _, VirtioNetQueue queue) = Open();
        byte[] frame = Frame(9000, 4);

        Assert.True(device.Inject(0, frame));
        var burst = new PacketBuffer[8];
        Assert.Equal(1, queue.Receive(burst));

        ref BufferMetadata m = ref _pool.Metadata(burst[0]);
        int room = _pool.BufferSize - (_pool.Headroom - VirtioNetLayout.HeaderLength);
        Assert.Equal((9000 + VirtioNetLayout.HeaderLength + room - 1) / room, m.Segments); // 5 buffers of 2060 bytes
        Assert.Equal(9000, m.PacketLength);
        Assert.Equal(frame, Bytes(burst[0]));
        Assert.Equal(256, device.Available(0)); // every buffer it took was replaced
        Assert.Empty(device.Violations);
        _cache.Release(burst[0]);
    }

    [Fact]
    public void A_num_buffers_past_the_ring_is_an_error_and_the_queue_goes_on()
    {
        (FakeVirtioNetDevice device, VirtioNetPort port, VirtioNetQueue queue) = Open();
        var burst = new PacketBuffer[8];

        // A broken device claims 60,000 buffers for a frame: more than the ring could ever publish.
        Assert.True(device.Inject(0, Frame(100, 1), lyingNumBuffers: 60000));
        Assert.Equal(0, queue.Receive(burst));
        Assert.Equal(1, port.Counters(0).Errors);
        Assert.Equal(256, device.Available(0)); // its buffer went back on the ring

        Assert.True(device.Inject(0, Frame(100, 2)));
        Assert.Equal(1, queue.Receive(burst)); // the queue is not stuck behind it
        Assert.Equal(Frame(100, 2), Bytes(burst[0]));
        _cache.Release(burst[0]);
    }

    [Fact]
    public void Without_merged_buffers_a_frame_takes_one_buffer_and_super_frames_are_not_asked_for()
    {
        var device = new FakeVirtioNetDevice(FakeVirtioNetDevice.DefaultFeatures & ~VirtioFeatures.MergeableRxBuffers);
        (_, VirtioNetPort port, VirtioNetQueue queue) = Open(device, lro: true);

        Assert.Equal(VirtioFeatures.None, device.DriverFeatures & (VirtioFeatures.GuestTso4 | VirtioFeatures.GuestTso6 | VirtioFeatures.MergeableRxBuffers));
        Assert.Equal(PortCapabilities.None, port.Capabilities & PortCapabilities.Lro);
        int room = _pool.BufferSize - (_pool.Headroom - VirtioNetLayout.HeaderLength) - VirtioNetLayout.HeaderLength;
        Assert.True(device.Inject(0, Frame(room, 1)));
        Assert.False(device.Inject(0, Frame(room + 1, 2))); // the device has no buffer that long: its drop
        var burst = new PacketBuffer[4];
        Assert.Equal(1, queue.Receive(burst));
        Assert.Equal(1, _pool.Metadata(burst[0]).Segments);
        Assert.Equal(Frame(room, 1), Bytes(burst[0]));
        Assert.Empty(device.Violations);
        _cache.Release(burst[0]);
    }

    [Theory]
    [InlineData(64, 64)]
    [InlineData(100, 64)]  // not a power of two: the one below
    [InlineData(1024, 256)] // no more than the driver's ring size
    public void The_rings_take_the_devices_queue_size_up_to_the_drivers(int deviceMax, int expected)
    {
        (FakeVirtioNetDevice device, VirtioNetPort port, _) = Open(new FakeVirtioNetDevice(queueSize: deviceMax));

        Assert.Equal(expected, port.QueueSize);
        Assert.Equal(expected, device.QueueSize(0));
        Assert.Equal(expected, device.QueueSize(1));
        Assert.Equal(expected, device.Available(0));
        Assert.Empty(device.Violations);
    }

    [Fact]
    public void More_frames_than_the_ring_holds_wrap_around_both_rings_in_order()
    {
        (FakeVirtioNetDevice device, VirtioNetPort port, VirtioNetQueue queue) = Open();
        var burst = new PacketBuffer[32];
        int received = 0;

        for (int round = 0; round < 3 * 256 / 32; round++)
        {
            for (int i = 0; i < 32; i++)
                Assert.True(device.Inject(0, Frame(64 + i, round * 32 + i)));
            int n = queue.Receive(burst);
            Assert.Equal(32, n);
            for (int i = 0; i < n; i++)
                Assert.Equal(Frame(64 + i, received + i), Bytes(burst[i]));
            received += n;
            Assert.Equal(32, queue.Transmit(burst.AsSpan(0, n))); // and back out: the transmit ring wraps too
        }

        Assert.Equal(3 * 256, received);
        Assert.Equal(3 * 256, device.Sent[0].Count);
        for (int k = 0; k < device.Sent[0].Count; k++)
            Assert.Equal(k, BinaryPrimitives.ReadInt32BigEndian(device.Sent[0][k].Frame.AsSpan(14)));
        Assert.Equal(3 * 256, port.Counters(0).TransmittedPackets);
        Assert.Empty(device.Violations);
    }

    [Fact]
    public void A_full_transmit_ring_takes_fewer_frames_and_counts_nothing_lost_then_takes_the_rest_once_the_device_used_them()
    {
        (FakeVirtioNetDevice device, VirtioNetPort port, VirtioNetQueue queue) = Open();
        device.HoldTransmit = true;
        PacketBuffer[] frames = [.. Enumerable.Range(0, 200).Select(i => Buffer(Frame(100, i)))];

        int taken = queue.Transmit(frames);

        Assert.Equal(128, taken); // two descriptors a frame (header, data) in 256
        Assert.Equal(0, port.Counters(0).TransmitDrops);
        Assert.Equal(0, port.Counters(0).Errors);
        Assert.Equal(128, port.Counters(0).TransmittedPackets);
        Assert.Equal(0, queue.Transmit(frames.AsSpan(taken))); // still full: the rest stay ours
        Assert.Equal(128, device.ProcessTransmit(0));
        Assert.Equal(72, queue.Transmit(frames.AsSpan(taken)));
        Assert.Equal(72, device.ProcessTransmit(0));
        Assert.Equal(Enumerable.Range(0, 200), device.Sent[0].Select(s => BinaryPrimitives.ReadInt32BigEndian(s.Frame.AsSpan(14))));
        Assert.Empty(device.Violations);
    }

    [Fact]
    public void Sent_buffers_go_back_to_the_cache_and_received_ones_are_replaced_from_it()
    {
        (FakeVirtioNetDevice device, _, VirtioNetQueue queue) = Open();
        int free = _cache.Count + _pool.Shared.Count;
        PacketBuffer[] frames = [.. Enumerable.Range(0, 16).Select(i => Buffer(Frame(200, i)))];

        Assert.Equal(16, queue.Transmit(frames)); // used by the fake at once
        var burst = new PacketBuffer[32];
        Assert.Equal(0, queue.Receive(burst));    // reclaims the sent ones
        Assert.Equal(free, _cache.Count + _pool.Shared.Count);

        for (int i = 0; i < 20; i++)
            Assert.True(device.Inject(0, Frame(100, i)));
        Assert.Equal(20, queue.Receive(burst));
        Assert.Equal(256, device.Available(0));
        Assert.Equal(free - 20, _cache.Count + _pool.Shared.Count); // the 20 are ours, 20 fresh ones on the ring
        _cache.Release(burst.AsSpan(0, 20));
        Assert.Equal(free, _cache.Count + _pool.Shared.Count);
    }

    [Fact]
    public void A_ring_the_pool_ran_dry_for_is_refilled_once_buffers_come_back()
    {
        var pool = new BufferPool(300);
        var cache = new BufferCache(pool, size: 64, burst: 32);
        var device = new FakeVirtioNetDevice();
        using VirtioNetPort port = VirtioNetPort.Open("p0", device);
        VirtioNetQueue queue = port.Queue(0, cache);
        port.Start();
        var held = new List<PacketBuffer>();
        var burst = new PacketBuffer[32];

        // Hold every frame received: the ring is refilled until the pool has nothing left.
        for (int round = 0; round < 20 && device.Inject(0, Frame(64, round)); round++)
        {
            int n = queue.Receive(burst);
            held.AddRange(burst.AsSpan(0, n).ToArray());
        }
        while (device.Inject(0, Frame(64, 0)))
            held.AddRange(burst.AsSpan(0, queue.Receive(burst)).ToArray());
        held.AddRange(burst.AsSpan(0, queue.Receive(burst)).ToArray());
        Assert.Equal(0, device.Available(0));
        Assert.Equal(300, held.Count);
        Assert.Equal(0, queue.Receive(burst));

        foreach (PacketBuffer b in held)
            cache.Release(b);
        Assert.Equal(0, queue.Receive(burst)); // nothing arrived, but the ring is full again

        Assert.Equal(256, device.Available(0));
        Assert.True(device.Inject(0, Frame(64, 7)));
        Assert.Equal(1, queue.Receive(burst));
        Assert.Empty(device.Violations);
    }

    [Fact]
    public void Stop_resets_the_device_and_gives_every_ring_buffer_back()
    {
        (FakeVirtioNetDevice device, VirtioNetPort port, VirtioNetQueue queue) = Open();
        device.HoldTransmit = true;
        Assert.Equal(4, queue.Transmit([.. Enumerable.Range(0, 4).Select(i => Buffer(Frame(100, i)))]));

        port.Stop();

        Assert.Equal(0, device.Status);
        _cache.Flush();
        Assert.Equal(_pool.Count, _pool.Shared.Count);
        var burst = new PacketBuffer[4];
        Assert.Equal(0, queue.Receive(burst));
        port.Start(); // set up again from reset
        Assert.Equal(VirtioStatus.Acknowledge | VirtioStatus.Driver | VirtioStatus.FeaturesOk | VirtioStatus.DriverOk, device.Status);
        Assert.Equal(256, device.Available(0));
        Assert.True(device.Inject(0, Frame(80, 9)));
        Assert.Equal(1, queue.Receive(burst));
        Assert.Equal(Frame(80, 9), Bytes(burst[0]));
        Assert.Empty(device.Violations);
        _cache.Release(burst[0]);
    }

    [Fact]
    public void Checksum_and_segmentation_offloads_travel_in_the_header_both_ways()
    {
        (FakeVirtioNetDevice device, _, VirtioNetQueue queue) = Open(tso: true, lro: true);
        byte[] frame = Frame(3000, 5);
        frame[14 + 20 + 12] = 0x50; // a TCP data offset of 5 words, at csum_start + 12
        PacketBuffer outgoing = Buffer(frame);
        ref BufferMetadata o = ref _pool.Metadata(outgoing);
        o.Offload = OffloadFlags.L4ChecksumPartial;
        o.ChecksumStart = 34;
        o.ChecksumOffset = 16;
        o.Gso = GsoType.TcpV4;
        o.SegmentSize = 1448;

        Assert.Equal(1, queue.Transmit([outgoing]));
        VirtioNetHeader sent = Assert.Single(device.Sent[0]).Header;
        Assert.Equal(VirtioNetHeaderFlags.NeedsChecksum, sent.Flags);
        Assert.Equal(VirtioNetGsoType.TcpV4, sent.GsoType);
        Assert.Equal(1448, sent.GsoSize);
        Assert.Equal(34, sent.ChecksumStart);
        Assert.Equal(16, sent.ChecksumOffset);
        Assert.Equal(34 + 20, sent.HeaderLength);

        var received = new VirtioNetHeader
        {
            Flags = VirtioNetHeaderFlags.NeedsChecksum,
            GsoType = VirtioNetGsoType.TcpV6,
            GsoSize = 1440,
            ChecksumStart = 54,
            ChecksumOffset = 16,
        };
        Assert.True(device.Inject(0, Frame(4000, 6), received));
        Assert.True(device.Inject(0, Frame(100, 7), new VirtioNetHeader { Flags = VirtioNetHeaderFlags.DataValid }));
        var burst = new PacketBuffer[4];
        Assert.Equal(2, queue.Receive(burst));
        ref BufferMetadata m = ref _pool.Metadata(burst[0]);
        Assert.Equal(OffloadFlags.L4ChecksumPartial, m.Offload);
        Assert.Equal(54, m.ChecksumStart);
        Assert.Equal(16, m.ChecksumOffset);
        Assert.Equal(GsoType.TcpV6, m.Gso);
        Assert.Equal(1440, m.SegmentSize);
        Assert.Equal(OffloadFlags.L4ChecksumVerified, _pool.Metadata(burst[1]).Offload);
        Assert.Empty(device.Violations);
        _cache.Release(burst.AsSpan(0, 2));
    }

    [Fact]
    public void A_partial_checksum_pointing_past_the_frame_is_taken_released_and_counted_as_an_error()
    {
        (FakeVirtioNetDevice device, VirtioNetPort port, VirtioNetQueue queue) = Open();
        int free = _cache.Count + _pool.Shared.Count;
        PacketBuffer bad = Buffer(Frame(60, 1));
        ref BufferMetadata m = ref _pool.Metadata(bad);
        m.Offload = OffloadFlags.L4ChecksumPartial;
        m.ChecksumStart = 50;
        m.ChecksumOffset = 16;

        Assert.Equal(1, queue.Transmit([bad]));

        Assert.Empty(device.Sent[0]);
        Assert.Equal(1, port.Counters(0).Errors);
        Assert.Equal(0, port.Counters(0).TransmittedPackets);
        Assert.Equal(free, _cache.Count + _pool.Shared.Count);
    }

    [Fact]
    public void A_super_frame_to_a_device_that_did_not_agree_to_tso_is_an_error_not_a_header_it_would_refuse()
    {
        (FakeVirtioNetDevice device, VirtioNetPort port, VirtioNetQueue queue) = Open(tso: false);
        byte[] frame = Frame(3000, 5);
        PacketBuffer superFrame = Buffer(frame);
        ref BufferMetadata m = ref _pool.Metadata(superFrame);
        m.Offload = OffloadFlags.L4ChecksumPartial;
        m.ChecksumStart = 34;
        m.ChecksumOffset = 16;
        m.Gso = GsoType.TcpV4;
        m.SegmentSize = 1448;
        PacketBuffer partial = Buffer(Frame(100, 6));
        ref BufferMetadata p = ref _pool.Metadata(partial);
        p.Offload = OffloadFlags.L4ChecksumPartial;
        p.ChecksumStart = 34;
        p.ChecksumOffset = 16;

        Assert.Equal(2, queue.Transmit([superFrame, partial]));

        Assert.Equal(1, port.Counters(0).Errors);
        Assert.Equal(VirtioNetHeaderFlags.NeedsChecksum, Assert.Single(device.Sent[0]).Header.Flags); // CSUM was agreed to
        Assert.Empty(device.Violations);
    }

    [Fact]
    public void A_link_change_shows_in_link_up_and_signals_the_configuration_vector()
    {
        (FakeVirtioNetDevice device, VirtioNetPort port, _) = Open();
        Assert.True(port.LinkUp);
        port.ConfigInterrupt.Drain();

        device.SetLink(false);

        Assert.False(port.LinkUp);
        Assert.Equal(1ul, port.ConfigInterrupt.Drain());
        device.SetLink(true);
        Assert.True(port.LinkUp);
    }

    [Fact]
    public void The_watch_picks_up_link_down_and_up_from_the_device_config_logs_each_once_and_drains_the_config_vector()
    {
        (FakeVirtioNetDevice device, VirtioNetPort port, VirtioNetQueue queue) = Open();
        var log = new List<string>();
        var watch = new PortWatch([port], log.Add);
        watch.Check();

        device.SetLink(false);
        watch.Check();
        watch.Check();

        Assert.Equal(["port p0: link down"], log);
        Assert.Equal(1, watch.Health(0).LinkDowns);
        Assert.Equal(0ul, port.ConfigInterrupt.Drain()); // the watch took the config change
        device.SetLink(true);
        watch.Check();
        Assert.Equal(["port p0: link down", "port p0: link up"], log);
        Assert.Equal(1, watch.Health(0).LinkUps);
        Assert.Equal(1, queue.Transmit([Buffer(Frame(60, 1))])); // the queues never stopped
        Assert.Empty(watch.Health(0).Faults());
        Assert.Empty(device.Violations);
    }

    [Fact]
    public void Device_needs_reset_is_a_fault_counted_and_logged_once_the_port_failed_and_down_until_a_restart()
    {
        (FakeVirtioNetDevice device, VirtioNetPort port, _) = Open();
        var log = new List<string>();
        var watch = new PortWatch([port], log.Add);
        watch.Check();

        device.NeedReset();
        watch.Check();
        watch.Check();

        Assert.Equal(
            ["port p0: device error: device needs reset: DEVICE_NEEDS_RESET in device_status 0x4f (virtio 1.2 §2.1.2)",
             "port p0: device needs reset (DEVICE_NEEDS_RESET), not reset while running; the port is down, the other ports keep running",
             "port p0: link down"], log);
        Assert.Equal([new KeyValuePair<string, long>("device needs reset", 1)], watch.Health(0).Faults());
        Assert.False(port.LinkUp);
        Assert.NotNull(watch.Health(0).Failure);

        port.Stop(); // a restart resets the device: DEVICE_NEEDS_RESET goes with it
        port.Start();
        Assert.Null(port.Failure);
        Assert.True(port.LinkUp);
        Assert.Empty(device.Violations);
    }

    [Fact]
    public void An_idle_receive_arms_the_interrupt_and_a_busy_one_turns_it_off()
    {
        (FakeVirtioNetDevice device, _, VirtioNetQueue queue) = Open();
        var burst = new PacketBuffer[8];
        FileDescriptor readiness = queue.ReadinessDescriptor!;

        Assert.Equal(0, queue.Receive(burst)); // nothing: armed
        Assert.Equal(0, readiness.Poll(PollEvents.In, 0));
        Assert.True(device.Inject(0, Frame(64, 1)));
        Assert.Equal((int)PollEvents.In, readiness.Poll(PollEvents.In, 0)); // the worker's sleep would end

        Assert.Equal(1, queue.Receive(burst)); // busy: interrupts off
        _cache.Release(burst[0]);
        Assert.True(device.Inject(0, Frame(64, 2)));
        Assert.Equal(1, queue.Receive(burst)); // the frame was there without an interrupt, and the stale signal is drained on the next arm
        _cache.Release(burst[0]);
        Assert.Equal(0, queue.Receive(burst));
        Assert.Equal(0, readiness.Poll(PollEvents.In, 0));
        Assert.Empty(device.Violations);
    }

    [Fact]
    public void A_stale_interrupt_keeps_the_worker_awake_for_a_bounded_number_of_idle_polls()
    {
        (FakeVirtioNetDevice device, _, VirtioNetQueue queue) = Open();
        var burst = new PacketBuffer[8];
        FileDescriptor readiness = queue.ReadinessDescriptor!;
        Assert.Equal(0, queue.Receive(burst)); // armed

        Assert.Equal(8, readiness.Write(BitConverter.GetBytes(1ul))); // a signal whose frame was already taken
        for (int i = 1; i < 1024; i++)
            Assert.Equal(0, queue.Receive(burst));
        Assert.Equal((int)PollEvents.In, readiness.Poll(PollEvents.In, 0));
        Assert.Equal(0, queue.Receive(burst)); // the 1024th idle poll drains it

        Assert.Equal(0, readiness.Poll(PollEvents.In, 0));
        Assert.True(device.Inject(0, Frame(64, 1))); // and a new frame still signals
        Assert.Equal((int)PollEvents.In, readiness.Poll(PollEvents.In, 0));
        Assert.Equal(1, queue.Receive(burst));
        _cache.Release(burst[0]);
    }

    [Fact]
    public void The_device_is_notified_only_when_it_asks()
    {
        (FakeVirtioNetDevice device, _, VirtioNetQueue queue) = Open();
        device.HoldTransmit = true;
        int before = device.Notifications(1);

        Assert.Equal(1, queue.Transmit([Buffer(Frame(64, 1))]));
        Assert.Equal(before + 1, device.Notifications(1));
        device.SuppressNotifications(1, true);
        Assert.Equal(2, queue.Transmit([Buffer(Frame(64, 2)), Buffer(Frame(64, 3))]));
        Assert.Equal(before + 1, device.Notifications(1));
        Assert.Equal(3, device.ProcessTransmit(0));
        Assert.Empty(device.Violations);
    }

    [Fact]
    public void Two_queues_send_the_mq_command_and_each_pair_carries_its_own_frames()
    {
        var device = new FakeVirtioNetDevice(maxPairs: 4);
        (_, VirtioNetPort port, VirtioNetQueue queue0) = Open(device, queues: 2);
        var cache1 = new BufferCache(_pool, size: 512, burst: 64);
        VirtioNetQueue queue1 = port.Queue(1, cache1);
        port.Stop();
        port.Start(); // queue 1's ring is filled at start, from its own cache

        Assert.Equal([2, 2], device.QueuePairCommands); // once at open, once at the restart
        Assert.Equal(VirtioFeatures.MultiQueue | VirtioFeatures.ControlQueue, device.DriverFeatures & (VirtioFeatures.MultiQueue | VirtioFeatures.ControlQueue));
        Assert.Equal(PortCapabilities.MultiQueue, port.Capabilities & PortCapabilities.MultiQueue);
        Assert.Equal(2, device.Vector(2)); // receiveq2
        Assert.True(device.Inject(1, Frame(70, 11)));
        var burst = new PacketBuffer[4];
        Assert.Equal(0, queue0.Receive(burst));
        Assert.Equal(1, queue1.Receive(burst));
        Assert.Equal(1, _pool.Metadata(burst[0]).Queue);
        Assert.Equal(1, queue1.Transmit([burst[0]]));
        Assert.Equal(Frame(70, 11), Assert.Single(device.Sent[1]).Frame);
        Assert.Empty(device.Sent[0]);
        Assert.Empty(device.Violations);
    }

    [Fact]
    public void More_queues_than_the_device_has_pairs_is_a_clear_error()
    {
        var single = new FakeVirtioNetDevice(FakeVirtioNetDevice.DefaultFeatures & ~(VirtioFeatures.MultiQueue | VirtioFeatures.ControlQueue));
        var e = Assert.Throws<NativeException>(() => VirtioNetPort.Open("p0", single, queues: 2));
        Assert.Contains("2 queues asked for, the device has no VIRTIO_NET_F_MQ", e.Message, StringComparison.Ordinal);
        Assert.True(single.Disposed);

        var two = new FakeVirtioNetDevice(maxPairs: 2);
        e = Assert.Throws<NativeException>(() => VirtioNetPort.Open("p0", two, queues: 4));
        Assert.Contains("4 queues asked for, the device has 2 queue pairs", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_mtu_past_the_devices_is_refused_and_one_within_it_is_the_ports()
    {
        var e = Assert.Throws<NativeException>(() => VirtioNetPort.Open("p0", new FakeVirtioNetDevice(), mtu: 9000));
        Assert.Contains("MTU 9000 asked for, the device takes 1500 at most", e.Message, StringComparison.Ordinal);

        using VirtioNetPort port = VirtioNetPort.Open("p0", new FakeVirtioNetDevice(), mtu: 1400);
        Assert.Equal(1400, port.Mtu);
        using VirtioNetPort noMtu = VirtioNetPort.Open("p1", new FakeVirtioNetDevice(FakeVirtioNetDevice.DefaultFeatures & ~VirtioFeatures.Mtu), mtu: 9000);
        Assert.Equal(9000, noMtu.Mtu); // merged receive buffers take any frame
    }

    [Fact]
    public void Receive_and_transmit_allocate_nothing_per_packet()
    {
        (FakeVirtioNetDevice device, _, VirtioNetQueue queue) = Open();
        device.HoldTransmit = true; // the fake's own work (it allocates) stays outside the windows
        var burst = new PacketBuffer[32];
        int received = 0, sent = 0;

        // Four bursts of 32 a window: 128 frames, 256 transmit descriptors (the ring's size).
        long bytes = Allocations.Least(3, () =>
        {
            for (int round = 0; round < 4; round++)
            {
                int n = queue.Receive(burst);
                received += n;
                sent += queue.Transmit(burst.AsSpan(0, n));
            }
        }, prepare: () =>
        {
            device.ProcessTransmit(0);
            for (int i = 0; i < 128; i++)
                Assert.True(device.Inject(0, Frame(128, i)));
        });

        Assert.Equal(4 * 128, received);
        Assert.Equal(4 * 128, sent);
        Assert.Equal(0, bytes);
    }
}
