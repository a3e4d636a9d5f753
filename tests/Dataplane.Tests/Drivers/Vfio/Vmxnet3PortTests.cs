using System.Buffers.Binary;
using Dataplane.Buffers;
using Dataplane.Drivers.Vfio;
using Dataplane.Drivers.Vfio.Vmxnet3;
using Dataplane.Native;
using Dataplane.Ports;

namespace Dataplane.Tests.Drivers.Vfio;

/// <summary>
/// The vmxnet3 driver against <see cref="FakeVmxnet3Device"/>: the revision handshake, the
/// driver-shared area and activation, frames both ways through the queue struct, gen bits across
/// ring wrap-around, a full transmit ring, refill, chains, checksum and TSO fields, link changes,
/// interrupt masking, stop and dispose, and no managed allocation per packet. Every test also
/// asserts that the fake saw no breach of the order it relies on.
/// </summary>
public sealed class Vmxnet3PortTests : IDisposable
{
    private readonly BufferPool _pool = new(2048);
    private readonly BufferCache _cache;
    private readonly List<IDisposable> _owned = [];

    public Vmxnet3PortTests() => _cache = new BufferCache(_pool, size: 512, burst: 64);

    public void Dispose()
    {
        foreach (IDisposable d in _owned)
            d.Dispose();
    }

    private (FakeVmxnet3Device Device, Vmxnet3Port Port, Vmxnet3Queue Queue) Open(FakeVmxnet3Device? device = null, int queues = 1, bool tso = false)
    {
        device ??= new FakeVmxnet3Device();
        Vmxnet3Port port = Vmxnet3Port.Open("p0", device, queues, portIndex: 3, tso: tso);
        _owned.Add(port);
        Vmxnet3Queue queue = port.Queue(0, _cache);
        port.Start();
        return (device, port, queue);
    }

    private static byte[] Frame(int length, int sequence) => DriverFrames.Frame(length, sequence);

    private PacketBuffer Buffer(byte[] frame) => DriverFrames.Buffer(_cache, frame);

    private byte[] Bytes(PacketBuffer head) => DriverFrames.Bytes(_pool, head);

    [Fact]
    public void Opening_selects_revision_1_writes_the_shared_area_and_activates_the_device()
    {
        (FakeVmxnet3Device device, Vmxnet3Port port, _) = Open();

        Assert.Empty(device.Violations);
        Assert.True(device.Active);
        Assert.True(device.BusMastering);
        // What the kernel driver left is quiesced and reset before anything else; then activation.
        Assert.Equal([Vmxnet3Layout.CmdQuiesceDev, Vmxnet3Layout.CmdResetDev, Vmxnet3Layout.CmdActivateDev], device.Commands);
        Assert.Equal(port.Shared.Iova, device.SharedAddress);
        Assert.Equal(Vmxnet3Layout.Magic, device.Shared32(Vmxnet3Layout.SharedMagic));
        Assert.Equal(1500u, device.Shared32(Vmxnet3Layout.SharedMtu));
        Assert.Equal(1, device.Shared8(Vmxnet3Layout.NumTxQueues));
        Assert.Equal(1, device.Shared8(Vmxnet3Layout.NumRxQueues));
        Assert.Equal((uint)Vmxnet3Layout.FeatureRxChecksum, device.Shared32(Vmxnet3Layout.UptFeatures));
        Assert.Equal(Vmxnet3Layout.RxModeNormal, device.Shared32(Vmxnet3Layout.RxMode));
        Assert.Equal(1, device.Shared8(Vmxnet3Layout.AutoMask));
        Assert.Equal("00:0c:29:12:34:56", port.Mac.ToString());
        Assert.Equal(1500, port.Mtu);
        Assert.Equal("vfio", port.Driver);
        Assert.Equal("vmxnet3", ((IPort)port).Mode); // ifconfig: "driver vfio (vmxnet3)"
        Assert.Equal(PortCapabilities.ReceiveChecksum | PortCapabilities.TransmitChecksum, port.Capabilities);
        Assert.Equal(1, device.RxVector(0));
        Assert.Equal(2, device.TxVector(0));
        Assert.False(device.Masked(0)); // events (link)
        Assert.True(device.Masked(1));  // the receive queue's, until a poll finds nothing
        Assert.True(device.Masked(2));  // transmit completions are polled
        Assert.Equal(Vmxnet3Port.RingSize - 1, device.RxAvailable(0)); // ring 1 full of pool buffers but one
        Assert.Equal(1, device.DmaMemory.MappedPools);
        Assert.True(port.LinkUp);
    }

    [Fact]
    public void A_device_without_revision_1_is_refused_with_a_message_naming_the_port_and_address_and_is_given_back()
    {
        var device = new FakeVmxnet3Device { Revisions = 2 };

        var e = Assert.Throws<NativeException>(() => Vmxnet3Port.Open("p0", device));

        Assert.Equal("port p0: vfio vmxnet3 on PCI 0000:00:04.0: the device does not offer vmxnet3 revision 1 (VRRS 0x2)", e.Message);
        Assert.True(device.Disposed);
        Assert.Empty(device.Violations);
    }

    [Fact]
    public void An_activation_the_device_refuses_is_a_clear_error_and_the_device_is_reset()
    {
        var device = new FakeVmxnet3Device { RefuseActivation = true };

        var e = Assert.Throws<NativeException>(() => Vmxnet3Port.Open("p0", device));

        Assert.Contains("refused VMXNET3_CMD_ACTIVATE_DEV (result 0x1)", e.Message, StringComparison.Ordinal);
        Assert.Equal(Vmxnet3Layout.CmdResetDev, device.Commands[^1]);
        Assert.True(device.Disposed);
        Assert.True(device.DmaMemory.Disposed);
    }

    [Fact]
    public void An_mtu_the_device_would_assert_on_is_refused_before_it_sees_it()
    {
        var device = new FakeVmxnet3Device();

        var e = Assert.Throws<NativeException>(() => Vmxnet3Port.Open("p0", device, mtu: 9216));

        Assert.Contains("MTU 9216; the device takes 60 to 9000", e.Message, StringComparison.Ordinal);
        Assert.True(device.Disposed);
        Assert.Empty(device.Commands);
    }

    [Fact]
    public void A_frame_goes_out_from_its_buffer_and_one_comes_in_with_its_bytes_port_and_queue()
    {
        (FakeVmxnet3Device device, Vmxnet3Port port, Vmxnet3Queue queue) = Open();
        byte[] outgoing = Frame(60, 1), incoming = Frame(1514, 2);

        Assert.Equal(1, queue.Transmit([Buffer(outgoing)]));
        Assert.True(device.Inject(0, incoming));
        var burst = new PacketBuffer[8];
        Assert.Equal(1, queue.Receive(burst));

        (uint om, _, _, int descriptors, byte[] sent) = Assert.Single(device.Sent[0]);
        Assert.Equal(outgoing, sent);
        Assert.Equal(0u, om);
        Assert.Equal(1, descriptors);
        Assert.Equal(incoming, Bytes(burst[0]));
        ref BufferMetadata m = ref _pool.Metadata(burst[0]);
        Assert.Equal(3, m.Port);
        Assert.Equal(0, m.Queue);
        Assert.Equal(OffloadFlags.None, m.Offload); // cnc: nothing verified
        Assert.Equal(_pool.Headroom, m.DataOffset);  // the frame at the headroom, as every driver leaves it
        Assert.Equal(1, port.Counters(0).ReceivedPackets);
        Assert.Equal(1514, port.Counters(0).ReceivedBytes);
        Assert.Equal(1, port.Counters(0).TransmittedPackets);
        Assert.Equal(60, port.Counters(0).TransmittedBytes);
        Assert.Empty(device.Violations);
        _cache.Release(burst[0]);
    }

    [Fact]
    public void A_chain_goes_out_as_one_descriptor_a_buffer_with_eop_on_the_last()
    {
        (FakeVmxnet3Device device, _, Vmxnet3Queue queue) = Open();
        byte[] frame = Frame(5000, 3); // three buffers of the pool

        PacketBuffer chain = Buffer(frame);
        Assert.Equal(3, _pool.Metadata(chain).Segments);
        Assert.Equal(1, queue.Transmit([chain]));

        (_, _, _, int descriptors, byte[] sent) = Assert.Single(device.Sent[0]);
        Assert.Equal(3, descriptors);
        Assert.Equal(frame, sent);
        Assert.Empty(device.Violations);
    }

    [Fact]
    public void More_frames_than_the_rings_hold_wrap_around_with_the_gen_bits_flipping_in_order()
    {
        (FakeVmxnet3Device device, _, Vmxnet3Queue queue) = Open();
        var burst = new PacketBuffer[32];
        int received = 0;
        for (int round = 0; round < 40; round++) // 1,280 frames: five times round rings of 256, four round the 288 completions
        {
            for (int i = 0; i < 32; i++)
            {
                int sequence = round * 32 + i;
                Assert.True(device.Inject(0, Frame(64 + sequence % 200, sequence)));
            }
            int n = queue.Receive(burst);
            Assert.Equal(32, n);
            for (int i = 0; i < n; i++)
            {
                int sequence = received++;
                Assert.Equal(Frame(64 + sequence % 200, sequence), Bytes(burst[i]));
            }
            Assert.Equal(32, queue.Transmit(burst.AsSpan(0, n)));
        }

        Assert.Equal(1280, device.Sent[0].Count);
        for (int s = 0; s < 1280; s++)
            Assert.Equal(Frame(64 + s % 200, s), device.Sent[0][s].Frame);
        Assert.Empty(device.Violations);
    }

    [Fact]
    public void A_full_transmit_ring_takes_fewer_frames_and_loses_nothing_then_takes_the_rest_once_the_device_completed_them()
    {
        (FakeVmxnet3Device device, Vmxnet3Port port, Vmxnet3Queue queue) = Open();
        device.HoldTransmit = true;
        PacketBuffer[] frames = [.. Enumerable.Range(0, 300).Select(i => Buffer(Frame(100, i)))];

        int first = queue.Transmit(frames);
        Assert.Equal(Vmxnet3Port.RingSize - 1, first); // one slot always empty
        Assert.Equal(0, queue.Transmit(frames.AsSpan(first)));
        Assert.Equal(0, port.Counters(0).TransmitDrops);
        Assert.Equal(0, port.Counters(0).Errors);

        device.ProcessTransmit(0);
        int second = queue.Transmit(frames.AsSpan(first));
        Assert.Equal(300 - first, second);
        device.ProcessTransmit(0);

        Assert.Equal(300, device.Sent[0].Count);
        for (int s = 0; s < 300; s++)
            Assert.Equal(Frame(100, s), device.Sent[0][s].Frame);
        Assert.Equal(300, port.Counters(0).TransmittedPackets);
        Assert.Empty(device.Violations);
    }

    [Fact]
    public void Sent_buffers_go_back_to_the_cache_and_received_ones_are_replaced_from_it()
    {
        (FakeVmxnet3Device device, _, Vmxnet3Queue queue) = Open();
        int free = _cache.Count + _pool.Shared.Count;
        PacketBuffer[] frames = [.. Enumerable.Range(0, 16).Select(i => Buffer(Frame(200, i)))];

        Assert.Equal(16, queue.Transmit(frames)); // completed by the fake at once
        var burst = new PacketBuffer[32];
        Assert.Equal(0, queue.Receive(burst));    // reclaims the sent ones
        Assert.Equal(free, _cache.Count + _pool.Shared.Count);

        for (int i = 0; i < 20; i++)
            Assert.True(device.Inject(0, Frame(100, i)));
        Assert.Equal(20, queue.Receive(burst));
        Assert.Equal(Vmxnet3Port.RingSize - 1, device.RxAvailable(0));
        Assert.Equal(free - 20, _cache.Count + _pool.Shared.Count);
        _cache.Release(burst.AsSpan(0, 20));
        Assert.Equal(free, _cache.Count + _pool.Shared.Count);
        Assert.Empty(device.Violations);
    }

    [Fact]
    public void A_ring_the_pool_ran_dry_for_is_refilled_once_buffers_come_back()
    {
        var pool = new BufferPool(64);
        var cache = new BufferCache(pool, size: 64, burst: 16);
        var device = new FakeVmxnet3Device();
        using Vmxnet3Port port = Vmxnet3Port.Open("p0", device);
        Vmxnet3Queue queue = port.Queue(0, cache);
        port.Start();
        Assert.Equal(64, device.RxAvailable(0)); // every buffer of the pool on the ring

        for (int i = 0; i < 10; i++)
            Assert.True(device.Inject(0, Frame(100, i)));
        var burst = new PacketBuffer[32];
        Assert.Equal(10, queue.Receive(burst));
        Assert.Equal(54, device.RxAvailable(0)); // nothing to refill with: the ten are ours
        cache.Release(burst.AsSpan(0, 10));
        Assert.Equal(0, queue.Receive(burst));
        Assert.Equal(64, device.RxAvailable(0));
        Assert.Empty(device.Violations);
    }

    [Fact]
    public void Receive_checksum_flags_of_the_completion_become_the_frames_offload_state()
    {
        (FakeVmxnet3Device device, _, Vmxnet3Queue queue) = Open();
        Assert.True(device.Inject(0, Frame(100, 0), Vmxnet3Layout.RxCompV4 | Vmxnet3Layout.RxCompIpc | Vmxnet3Layout.RxCompTcp | Vmxnet3Layout.RxCompTuc, notCalculated: false));
        Assert.True(device.Inject(0, Frame(100, 1), Vmxnet3Layout.RxCompV6 | Vmxnet3Layout.RxCompIpc | Vmxnet3Layout.RxCompUdp | Vmxnet3Layout.RxCompTuc, notCalculated: false));
        Assert.True(device.Inject(0, Frame(100, 2), Vmxnet3Layout.RxCompV4 | Vmxnet3Layout.RxCompIpc, notCalculated: false));
        Assert.True(device.Inject(0, Frame(100, 3), Vmxnet3Layout.RxCompV4 | Vmxnet3Layout.RxCompIpc | Vmxnet3Layout.RxCompTcp | Vmxnet3Layout.RxCompTuc, notCalculated: true));

        var burst = new PacketBuffer[8];
        Assert.Equal(4, queue.Receive(burst));

        Assert.Equal(OffloadFlags.Ipv4ChecksumVerified | OffloadFlags.L4ChecksumVerified, _pool.Metadata(burst[0]).Offload);
        Assert.Equal(OffloadFlags.L4ChecksumVerified, _pool.Metadata(burst[1]).Offload); // ipc means nothing for IPv6
        Assert.Equal(OffloadFlags.Ipv4ChecksumVerified, _pool.Metadata(burst[2]).Offload);
        Assert.Equal(OffloadFlags.None, _pool.Metadata(burst[3]).Offload);                // cnc: not calculated
        _cache.Release(burst.AsSpan(0, 4));
        Assert.Empty(device.Violations);
    }

    [Fact]
    public void A_frame_longer_than_its_buffer_is_dropped_and_counted_as_an_error()
    {
        (FakeVmxnet3Device device, Vmxnet3Port port, Vmxnet3Queue queue) = Open();
        Assert.True(device.Inject(0, Frame(_pool.BufferSize, 0))); // cut, err set
        Assert.True(device.Inject(0, Frame(100, 1)));

        var burst = new PacketBuffer[8];
        Assert.Equal(1, queue.Receive(burst));
        Assert.Equal(Frame(100, 1), Bytes(burst[0]));
        Assert.Equal(1, port.Counters(0).Errors);
        _cache.Release(burst[0]);
    }

    [Fact]
    public void Transmit_checksum_and_tso_go_in_the_first_descriptors_om_hlen_and_msscof()
    {
        (FakeVmxnet3Device device, Vmxnet3Port port, Vmxnet3Queue queue) = Open(tso: true);
        Assert.True((port.Capabilities & PortCapabilities.Tso) != 0);
        PacketBuffer partial = Buffer(Frame(200, 0));
        ref BufferMetadata p = ref _pool.Metadata(partial);
        p.Offload = OffloadFlags.L4ChecksumPartial;
        p.ChecksumStart = 34; // Ethernet + IPv4
        p.ChecksumOffset = 6; // UDP's checksum
        byte[] tcp = Frame(4000, 1);
        tcp[34 + 12] = 0x80; // a 32-byte TCP header (data offset 8)
        PacketBuffer super = Buffer(tcp);
        ref BufferMetadata s = ref _pool.Metadata(super);
        s.Offload = OffloadFlags.L4ChecksumPartial;
        s.ChecksumStart = 34;
        s.ChecksumOffset = 16;
        s.Gso = GsoType.TcpV4;
        s.SegmentSize = 1448;

        Assert.Equal(2, queue.Transmit([partial, super]));

        Assert.Equal(2, device.Sent[0].Count);
        Assert.Equal((Vmxnet3Layout.OmChecksum, 34u, 40u), (device.Sent[0][0].Om, device.Sent[0][0].Hlen, device.Sent[0][0].Msscof));
        Assert.Equal((Vmxnet3Layout.OmTso, 66u, 1448u), (device.Sent[0][1].Om, device.Sent[0][1].Hlen, device.Sent[0][1].Msscof));
        Assert.Equal(tcp, device.Sent[0][1].Frame);
        Assert.Empty(device.Violations);
    }

    [Fact]
    public void A_super_segment_of_64_kib_goes_out_whole_from_its_33_buffers_and_a_plain_frame_of_17_is_an_error()
    {
        (FakeVmxnet3Device device, Vmxnet3Port port, Vmxnet3Queue queue) = Open(tso: true);
        byte[] tcp = Frame(65_000, 1);
        tcp[34 + 12] = 0x50; // a 20-byte TCP header
        PacketBuffer super = Buffer(tcp);
        Assert.True(_pool.Metadata(super).Segments > 24);
        ref BufferMetadata s = ref _pool.Metadata(super);
        s.Offload = OffloadFlags.L4ChecksumPartial;
        s.ChecksumStart = 34;
        s.ChecksumOffset = 16;
        s.Gso = GsoType.TcpV4;
        s.SegmentSize = 1460;
        PacketBuffer plain = Buffer(Frame(17 * 2000, 2)); // 17+ buffers without TSO: past VMXNET3_MAX_TXD_PER_PKT

        Assert.Equal(2, queue.Transmit([super, plain]));

        (uint om, uint hlen, uint mss, int descriptors, byte[] sent) = Assert.Single(device.Sent[0]);
        Assert.Equal((Vmxnet3Layout.OmTso, 54u, 1460u), (om, hlen, mss));
        Assert.Equal(_pool.Metadata(super).Segments, descriptors);
        Assert.Equal(tcp, sent);
        Assert.Equal(1, port.Counters(0).Errors);
        Assert.Empty(device.Violations);
    }

    [Fact]
    public void A_super_frame_without_tso_on_is_taken_released_and_counted_as_an_error()
    {
        (FakeVmxnet3Device device, Vmxnet3Port port, Vmxnet3Queue queue) = Open();
        int free = _cache.Count + _pool.Shared.Count;
        PacketBuffer super = Buffer(Frame(4000, 1));
        ref BufferMetadata s = ref _pool.Metadata(super);
        s.Offload = OffloadFlags.L4ChecksumPartial;
        s.ChecksumStart = 34;
        s.ChecksumOffset = 16;
        s.Gso = GsoType.TcpV4;
        s.SegmentSize = 1448;

        Assert.Equal(1, queue.Transmit([super]));

        Assert.Empty(device.Sent[0]);
        Assert.Equal(1, port.Counters(0).Errors);
        Assert.Equal(free, _cache.Count + _pool.Shared.Count);
    }

    [Fact]
    public void A_link_change_shows_in_get_link_signals_the_event_vector_and_sets_ecr_link_until_acknowledged()
    {
        (FakeVmxnet3Device device, Vmxnet3Port port, _) = Open();
        port.EventInterrupt.Drain();

        device.SetLink(false);

        Assert.False(port.LinkUp);
        Assert.Equal(1ul, port.EventInterrupt.Drain());
        Assert.Equal(Vmxnet3Layout.EventLink, port.TakeEvents()); // acknowledged through VMXNET3_REG_ECR
        Assert.Equal(0u, port.TakeEvents());
        device.SetLink(true);
        Assert.True(port.LinkUp);
        Assert.Empty(device.Violations);
    }

    [Fact]
    public void The_watch_takes_ecr_link_and_picks_up_link_down_and_up_from_get_link_logging_each_once()
    {
        (FakeVmxnet3Device device, Vmxnet3Port port, Vmxnet3Queue queue) = Open();
        var log = new List<string>();
        var watch = new PortWatch([port], log.Add);
        watch.Check();

        device.SetLink(false);
        watch.Check();
        watch.Check();

        Assert.Equal(["port p0: link down"], log);
        Assert.Equal(1, watch.Health(0).LinkDowns);
        Assert.Equal(0u, port.TakeEvents()); // VMXNET3_ECR_LINK acknowledged by the watch's look
        Assert.Equal(0ul, port.EventInterrupt.Drain());
        device.SetLink(true);
        watch.Check();
        Assert.Equal(["port p0: link down", "port p0: link up"], log);
        Assert.Equal(1, queue.Transmit([Buffer(Frame(60, 1))]));
        Assert.Empty(watch.Health(0).Faults());
        Assert.Empty(device.Violations);
    }

    [Fact]
    public void A_transmit_queue_error_is_read_with_get_queue_status_counted_logged_and_fails_the_port_until_a_restart()
    {
        (FakeVmxnet3Device device, Vmxnet3Port port, _) = Open(queues: 2);
        var log = new List<string>();
        var watch = new PortWatch([port], log.Add);
        watch.Check();

        device.StopQueue(transmit: true, queue: 1, error: 0x2a);
        watch.Check();
        watch.Check();

        Assert.Contains(Vmxnet3Layout.CmdGetQueueStatus, device.Commands);
        Assert.Equal(
            ["port p0: device error: transmit queue error: tq[1] stopped, error 0x2a (VMXNET3_ECR_TQERR)",
             "port p0: 1 queue stopped on an error, the device not reset while running; the port is down, the other ports keep running",
             "port p0: link down"], log);
        Assert.Equal([new KeyValuePair<string, long>("transmit queue error", 1)], watch.Health(0).Faults());
        Assert.False(port.LinkUp);

        port.Stop(); // quiesce and reset, then activation: the queues start afresh
        port.Start();
        Assert.Null(port.Failure);
        Assert.True(port.LinkUp);
        Assert.Empty(device.Violations);
    }

    [Fact]
    public void An_idle_receive_unmasks_the_queues_vector_and_a_busy_one_masks_it_again()
    {
        (FakeVmxnet3Device device, _, Vmxnet3Queue queue) = Open();
        var burst = new PacketBuffer[8];

        Assert.Equal(0, queue.Receive(burst));
        Assert.False(device.Masked(1)); // idle: the next frame raises the vector
        Assert.True(device.Inject(0, Frame(100, 0)));
        Assert.True(device.Masked(1));  // autoMask: raised once, then masked by the device

        Assert.Equal(1, queue.Receive(burst));
        Assert.True(device.Masked(1));
        Assert.True(device.Inject(0, Frame(100, 1))); // busy: no interrupt
        Assert.Equal(1, queue.Receive(burst.AsSpan(1)));
        // The second frame's interrupt stayed pending while masked; QEMU raises it at the unmask
        // (and automasks): the worker wakes once more, finds nothing, and unmasks again later.
        Assert.Equal(0, queue.Receive(burst.AsSpan(2)));
        Assert.True(device.Masked(1));
        _cache.Release(burst.AsSpan(0, 2));
        Assert.Empty(device.Violations);
    }

    [Fact]
    public void Stop_quiesces_and_resets_the_device_gives_every_buffer_back_and_start_activates_it_again()
    {
        (FakeVmxnet3Device device, Vmxnet3Port port, Vmxnet3Queue queue) = Open();
        int free = _cache.Count + _pool.Shared.Count + (Vmxnet3Port.RingSize - 1);
        device.HoldTransmit = true;
        Assert.Equal(4, queue.Transmit([.. Enumerable.Range(0, 4).Select(i => Buffer(Frame(100, i)))]));

        port.Stop();

        Assert.False(device.Active);
        Assert.Equal([Vmxnet3Layout.CmdQuiesceDev, Vmxnet3Layout.CmdResetDev], device.Commands[^2..]);
        Assert.Equal(free, _cache.Count + _pool.Shared.Count);

        device.HoldTransmit = false;
        port.Start();
        Assert.True(device.Active);
        Assert.Equal(1, queue.Transmit([Buffer(Frame(100, 9))]));
        Assert.Equal(Frame(100, 9), Assert.Single(device.Sent[0]).Frame);
        Assert.True(device.Inject(0, Frame(80, 5)));
        var burst = new PacketBuffer[4];
        Assert.Equal(1, queue.Receive(burst));
        Assert.Equal(Frame(80, 5), Bytes(burst[0]));
        _cache.Release(burst[0]);
        Assert.Empty(device.Violations);
    }

    [Fact]
    public void Dispose_quiesces_and_resets_the_device_before_giving_the_function_back()
    {
        var device = new FakeVmxnet3Device();
        Vmxnet3Port port = Vmxnet3Port.Open("p0", device);
        port.Queue(0, _cache);
        port.Start();

        port.Dispose();

        Assert.False(device.Active);
        Assert.Equal([Vmxnet3Layout.CmdQuiesceDev, Vmxnet3Layout.CmdResetDev], device.Commands[^2..]);
        Assert.True(device.Disposed);
        Assert.Empty(device.Violations); // the fake records a function given back while active
    }

    [Fact]
    public void Promiscuous_mode_is_rx_mode_promisc_and_update_rx_mode()
    {
        (FakeVmxnet3Device device, Vmxnet3Port port, _) = Open();

        port.SetPromiscuous(true);

        Assert.Equal(Vmxnet3Layout.RxModePromiscuous, device.Shared32(Vmxnet3Layout.RxMode));
        Assert.Equal(Vmxnet3Layout.CmdUpdateRxMode, device.Commands[^1]);
        Assert.Empty(device.Violations);
    }

    [Fact]
    public void Two_queues_have_a_descriptor_pair_each_and_each_transmit_queue_its_own_frames()
    {
        var device = new FakeVmxnet3Device();
        using Vmxnet3Port port = Vmxnet3Port.Open("p0", device, queues: 2);
        var cache1 = new BufferCache(_pool, size: 512, burst: 64);
        Vmxnet3Queue q0 = port.Queue(0, _cache), q1 = port.Queue(1, cache1);
        port.Start();

        Assert.Equal(2, device.Shared8(Vmxnet3Layout.NumTxQueues));
        Assert.Equal(2, device.Shared8(Vmxnet3Layout.NumRxQueues));
        Assert.Equal((1, 2, 3, 4), (device.RxVector(0), device.RxVector(1), device.TxVector(0), device.TxVector(1)));
        Assert.Equal(PortCapabilities.MultiQueue, port.Capabilities & PortCapabilities.MultiQueue);
        Assert.Equal(1, q0.Transmit([Buffer(Frame(100, 0))]));
        Assert.True(FrameChain.TryAllocate(cache1, 100, out PacketBuffer other));
        FrameChain.Write(_pool, other, 0, Frame(100, 1));
        Assert.Equal(1, q1.Transmit([other]));
        Assert.True(device.Inject(1, Frame(90, 7)));
        var burst = new PacketBuffer[4];
        Assert.Equal(1, q1.Receive(burst));
        Assert.Equal(1, _pool.Metadata(burst[0]).Queue);

        Assert.Equal(Frame(100, 0), Assert.Single(device.Sent[0]).Frame);
        Assert.Equal(Frame(100, 1), Assert.Single(device.Sent[1]).Frame);
        Assert.Empty(device.Violations);
        cache1.Release(burst[0]);
    }

    [Fact]
    public void Two_queues_ask_for_rss_with_the_engines_symmetric_toeplitz_key_and_an_indirection_over_both()
    {
        var device = new FakeVmxnet3Device();
        using Vmxnet3Port two = Vmxnet3Port.Open("p0", device, queues: 2);

        Assert.Equal(Vmxnet3Layout.FeatureRxChecksum | Vmxnet3Layout.FeatureRss, device.Features);
        byte[] rss = Assert.IsType<byte[]>(device.RssConf);
        Assert.Equal(Vmxnet3Layout.RssHashTypes, BinaryPrimitives.ReadUInt16LittleEndian(rss));
        Assert.Equal(Vmxnet3Layout.RssToeplitz, BinaryPrimitives.ReadUInt16LittleEndian(rss.AsSpan(2)));
        Assert.Equal(40, BinaryPrimitives.ReadUInt16LittleEndian(rss.AsSpan(4)));
        Assert.Equal(128, BinaryPrimitives.ReadUInt16LittleEndian(rss.AsSpan(6)));
        Assert.Equal(Dataplane.Engine.ToeplitzHash.SymmetricKey.ToArray(), rss.AsSpan(8, 40).ToArray());
        Assert.Equal(Enumerable.Range(0, 128).Select(i => (byte)(i % 2)), rss.AsSpan(48, 128).ToArray());
        Assert.Empty(device.Violations);

        var one = new FakeVmxnet3Device();
        using Vmxnet3Port single = Vmxnet3Port.Open("p1", one);
        Assert.Equal(Vmxnet3Layout.FeatureRxChecksum, one.Features);
        Assert.Null(one.RssConf);
    }

    [Fact]
    public void The_device_table_opens_a_vmxnet3_with_this_driver()
    {
        var device = new FakeVmxnet3Device();
        using var port = (Vmxnet3Port)VfioDevices.Open("p0", device, 1, 0, false, false, null);

        Assert.Equal("vmxnet3", port.Mode);
        port.Dispose();
        Assert.True(device.Disposed);
        Assert.Empty(device.Violations);
    }

    [Fact]
    public void Receive_and_transmit_allocate_nothing_per_packet()
    {
        (FakeVmxnet3Device device, _, Vmxnet3Queue queue) = Open();
        device.HoldTransmit = true; // the fake's own work (it allocates) stays outside the windows
        var burst = new PacketBuffer[32];
        int received = 0, sent = 0;

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
