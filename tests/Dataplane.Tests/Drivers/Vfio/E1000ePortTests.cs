using System.Buffers.Binary;
using Dataplane.Buffers;
using Dataplane.Drivers.Vfio;
using Dataplane.Drivers.Vfio.E1000e;
using Dataplane.Native;
using Dataplane.Ports;
using static Dataplane.Drivers.Vfio.E1000e.E1000eRegisters;

namespace Dataplane.Tests.Drivers.Vfio;

/// <summary>
/// The e1000e driver against <see cref="FakeE1000eDevice"/>: the reset and initialization of the
/// 82574 datasheet's §4.6, frames both ways through the queue struct, ring wrap-around, a full
/// transmit ring, refill, chains, the receive checksum status, bad descriptors, link changes,
/// interrupts, stop and start, and no managed allocation per packet. Every test also asserts that
/// the fake saw no breach of the rules it checks.
/// </summary>
public sealed class E1000ePortTests : IDisposable
{
    private readonly BufferPool _pool = new(2048);
    private readonly BufferCache _cache;
    private readonly List<IDisposable> _owned = [];

    public E1000ePortTests() => _cache = new BufferCache(_pool, size: 512, burst: 64);

    public void Dispose()
    {
        foreach (IDisposable d in _owned)
            d.Dispose();
    }

    private (FakeE1000eDevice Device, E1000ePort Port, E1000eQueue Queue) Open(FakeE1000eDevice? device = null, bool tso = false)
    {
        device ??= new FakeE1000eDevice();
        E1000ePort port = E1000ePort.Open("p0", device, portIndex: 3, tso: tso);
        _owned.Add(port);
        E1000eQueue queue = port.Queue(0, _cache);
        port.Start();
        return (device, port, queue);
    }

    private static byte[] Frame(int length, int sequence) => DriverFrames.Frame(length, sequence);

    private PacketBuffer Buffer(byte[] frame) => DriverFrames.Buffer(_cache, frame);

    private byte[] Bytes(PacketBuffer head) => DriverFrames.Bytes(_pool, head);

    [Fact]
    public void Initialization_resets_the_device_and_sets_up_mac_interrupts_and_both_rings_as_the_datasheet_says()
    {
        (FakeE1000eDevice device, E1000ePort port, _) = Open();

        Assert.Empty(device.Violations);
        Assert.Equal(1, device.FunctionResets);
        Assert.Equal(1, device.SoftwareResets);
        Assert.True(device.BusMastering);
        Assert.Equal("52:54:00:12:34:57", port.Mac.ToString());
        Assert.Equal(1500, port.Mtu);
        Assert.Equal("vfio", port.Driver);
        Assert.Equal("e1000e", ((IPort)port).Mode); // ifconfig: "driver vfio (e1000e)"
        Assert.Equal(PortCapabilities.ReceiveChecksum | PortCapabilities.TransmitChecksum, port.Capabilities);
        Assert.Equal(1, port.QueueCount);
        Assert.Equal(255u, device.Register(Rdt));    // the ring full of pool buffers but one
        Assert.Equal(255, device.ReceivePosted);
        Assert.Equal(256u * 16, device.Register(Rdlen));
        Assert.Equal(256u * 16, device.Register(Tdlen));
        Assert.NotEqual(0u, device.Register(Rctl) & RctlEnable);
        Assert.NotEqual(0u, device.Register(Tctl) & TctlEnable);
        Assert.NotEqual(0u, device.Register(Rctl) & RctlStripCrc);
        Assert.Equal(RxcsumIpOffload | RxcsumTcpUdpOffload, device.Register(Rxcsum));
        Assert.Equal(0x8u | (0x9u << 16), device.Register(Ivar)); // RXQ0 -> vector 0, other -> vector 1, both valid
        Assert.Equal(InterruptRxQueue0 | InterruptOther, device.Register(Eiac));
        Assert.NotEqual(0u, device.Register(CtrlExt) & CtrlExtPbaSupport);
        Assert.NotEqual(0u, device.Register(Ctrl) & CtrlSetLinkUp);
        Assert.Equal(0x403u, device.Register(0x3840)); // TARC0 kept, with its enable bit
        Assert.Equal(1, device.DmaMemory.MappedPools);
        Assert.True(port.LinkUp);
    }

    [Fact]
    public void A_device_without_a_valid_mac_gets_a_random_locally_administered_one_written_into_receive_address_0()
    {
        (FakeE1000eDevice device, E1000ePort port, _) = Open(new FakeE1000eDevice(validMac: false));

        Span<byte> mac = stackalloc byte[6];
        port.Mac.CopyTo(mac);
        Assert.Equal(0x02, mac[0] & 0x03);
        Assert.Equal(BinaryPrimitives.ReadUInt32LittleEndian(mac), device.Register(Ral0));
        Assert.Equal(BinaryPrimitives.ReadUInt16LittleEndian(mac[4..]) | RahAddressValid, device.Register(Rah0));
        Assert.Empty(device.Violations);
    }

    [Fact]
    public void Vfio_devices_opens_the_e1000e_driver_for_8086_10d3()
    {
        var device = new FakeE1000eDevice();

        using IPort port = VfioDevices.Open("p0", device, 1, 0, tso: true, lro: true, mtu: null);

        Assert.IsType<E1000ePort>(port);
        Assert.Equal(PortCapabilities.ReceiveChecksum | PortCapabilities.TransmitChecksum | PortCapabilities.Tso, port.Capabilities); // tso on: the device cuts; lro stays the stack's
    }

    [Theory]
    [InlineData(2, null, "2 queues asked for; this driver drives one queue pair of the 82574")]
    [InlineData(1, 9000, "MTU 9000 asked for; this driver takes 1500 at most")]
    public void What_the_driver_does_not_do_is_refused_with_a_message_naming_the_port_and_the_device_is_given_back(int queues, int? mtu, string message)
    {
        var device = new FakeE1000eDevice();

        var e = Assert.Throws<NativeException>(() => E1000ePort.Open("p0", device, queues, mtu: mtu));

        Assert.StartsWith("port p0: vfio e1000e on PCI 0000:00:03.0: " + message, e.Message, StringComparison.Ordinal);
        Assert.True(device.Disposed);
        Assert.True(device.DmaMemory.Disposed);
    }

    [Fact]
    public void A_frame_goes_out_and_one_comes_in_with_its_bytes_port_and_queue()
    {
        (FakeE1000eDevice device, E1000ePort port, E1000eQueue queue) = Open();
        byte[] outgoing = Frame(60, 1), incoming = Frame(1514, 2);

        Assert.Equal(1, queue.Transmit([Buffer(outgoing)]));
        Assert.True(device.Inject(incoming));
        var burst = new PacketBuffer[8];
        int n = queue.Receive(burst);

        Assert.Equal(outgoing, Assert.Single(device.Sent));
        Assert.Equal(1, n);
        Assert.Equal(incoming, Bytes(burst[0]));
        ref BufferMetadata m = ref _pool.Metadata(burst[0]);
        Assert.Equal(3, m.Port);
        Assert.Equal(0, m.Queue);
        Assert.Equal(_pool.Headroom, m.DataOffset); // the device wrote at the headroom, where drivers leave frames
        Assert.Equal(OffloadFlags.None, m.Offload);
        Assert.Equal(1, port.Counters(0).ReceivedPackets);
        Assert.Equal(1514, port.Counters(0).ReceivedBytes);
        Assert.Equal(1, port.Counters(0).TransmittedPackets);
        Assert.Equal(60, port.Counters(0).TransmittedBytes);
        Assert.Equal(255, device.ReceivePosted); // the buffer taken was replaced
        Assert.Empty(device.Violations);
        _cache.Release(burst[0]);
    }

    [Fact]
    public void A_chain_is_sent_as_one_frame_of_one_descriptor_a_buffer_with_eop_on_the_last()
    {
        (FakeE1000eDevice device, _, E1000eQueue queue) = Open();
        byte[] frame = Frame(5000, 3); // three buffers of the pool

        PacketBuffer chain = Buffer(frame);
        Assert.Equal(3, _pool.Metadata(chain).Segments);
        Assert.Equal(1, queue.Transmit([chain]));

        Assert.Equal(frame, Assert.Single(device.Sent));
        Assert.Equal(3, Assert.Single(device.SentDescriptors));
        Assert.Empty(device.Violations);
    }

    [Fact]
    public void More_frames_than_the_ring_holds_wrap_around_both_rings_in_order()
    {
        (FakeE1000eDevice device, _, E1000eQueue queue) = Open();
        var burst = new PacketBuffer[32];
        var received = new List<int>();

        for (int i = 0; i < 1000; i++)
        {
            Assert.True(device.Inject(Frame(100 + i % 50, i)));
            if (i % 20 == 19)
            {
                int n = queue.Receive(burst);
                foreach (PacketBuffer b in burst.AsSpan(0, n))
                    received.Add(BinaryPrimitives.ReadInt32BigEndian(Bytes(b).AsSpan(14)));
                Assert.Equal(n, queue.Transmit(burst.AsSpan(0, n))); // and back out
            }
        }

        Assert.Equal(Enumerable.Range(0, 1000), received);
        Assert.Equal(Enumerable.Range(0, 1000), device.Sent.Select(s => BinaryPrimitives.ReadInt32BigEndian(s.AsSpan(14))));
        Assert.Empty(device.Violations);
    }

    [Fact]
    public void A_full_transmit_ring_takes_fewer_frames_and_counts_nothing_lost_then_takes_the_rest_once_the_device_sent_them()
    {
        (FakeE1000eDevice device, E1000ePort port, E1000eQueue queue) = Open();
        device.HoldTransmit = true;
        PacketBuffer[] frames = [.. Enumerable.Range(0, 300).Select(i => Buffer(Frame(100, i)))];

        int taken = queue.Transmit(frames);

        Assert.Equal(255, taken); // one descriptor a frame, one of 256 always empty
        Assert.Equal(0, port.Counters(0).TransmitDrops);
        Assert.Equal(0, port.Counters(0).Errors);
        Assert.Equal(255, port.Counters(0).TransmittedPackets);
        Assert.Equal(0, queue.Transmit(frames.AsSpan(taken))); // still full: the rest stay ours
        Assert.Equal(255, device.ProcessTransmit());
        Assert.Equal(45, queue.Transmit(frames.AsSpan(taken)));
        Assert.Equal(45, device.ProcessTransmit());
        Assert.Equal(Enumerable.Range(0, 300), device.Sent.Select(s => BinaryPrimitives.ReadInt32BigEndian(s.AsSpan(14))));
        Assert.Empty(device.Violations);
    }

    [Fact]
    public void Sent_buffers_go_back_to_the_cache_and_received_ones_are_replaced_from_it()
    {
        (FakeE1000eDevice device, _, E1000eQueue queue) = Open();
        int free = _cache.Count + _pool.Shared.Count;
        PacketBuffer[] frames = [.. Enumerable.Range(0, 16).Select(i => Buffer(Frame(200, i)))];

        Assert.Equal(16, queue.Transmit(frames)); // sent by the fake at once, DD written back
        var burst = new PacketBuffer[32];
        Assert.Equal(0, queue.Receive(burst));    // reclaims the sent ones
        Assert.Equal(free, _cache.Count + _pool.Shared.Count);

        for (int i = 0; i < 20; i++)
            Assert.True(device.Inject(Frame(100, i)));
        Assert.Equal(20, queue.Receive(burst));
        Assert.Equal(255, device.ReceivePosted);
        Assert.Equal(free - 20, _cache.Count + _pool.Shared.Count); // the 20 are ours, 20 fresh ones on the ring
        _cache.Release(burst.AsSpan(0, 20));
        Assert.Equal(free, _cache.Count + _pool.Shared.Count);
        Assert.Empty(device.Violations);
    }

    [Fact]
    public void A_ring_the_pool_ran_dry_for_is_refilled_once_buffers_come_back()
    {
        var pool = new BufferPool(300);
        var cache = new BufferCache(pool, size: 64, burst: 32);
        var device = new FakeE1000eDevice();
        using E1000ePort port = E1000ePort.Open("p0", device);
        E1000eQueue queue = port.Queue(0, cache);
        port.Start();
        var held = new List<PacketBuffer>();
        var burst = new PacketBuffer[32];

        // Hold every frame received: the ring is refilled until the pool has nothing left.
        while (device.Inject(Frame(64, 0)))
            held.AddRange(burst.AsSpan(0, queue.Receive(burst)).ToArray());
        held.AddRange(burst.AsSpan(0, queue.Receive(burst)).ToArray());
        Assert.Equal(0, device.ReceivePosted);
        Assert.Equal(300, held.Count);
        Assert.Equal(0, queue.Receive(burst));

        foreach (PacketBuffer b in held)
            cache.Release(b);
        Assert.Equal(0, queue.Receive(burst)); // nothing arrived, but the ring is full again

        Assert.Equal(255, device.ReceivePosted);
        Assert.True(device.Inject(Frame(64, 7)));
        Assert.Equal(1, queue.Receive(burst));
        Assert.Empty(device.Violations);
    }

    [Theory]
    [InlineData(E1000eDescriptor.RxIpChecksum | E1000eDescriptor.RxTcpChecksum, 0, (int)(OffloadFlags.Ipv4ChecksumVerified | OffloadFlags.L4ChecksumVerified))]
    [InlineData(E1000eDescriptor.RxIpChecksum | E1000eDescriptor.RxUdpChecksum, 0, (int)(OffloadFlags.Ipv4ChecksumVerified | OffloadFlags.L4ChecksumVerified))]
    [InlineData(E1000eDescriptor.RxTcpChecksum, 0, (int)OffloadFlags.L4ChecksumVerified)] // IPv6: no header checksum
    [InlineData(E1000eDescriptor.RxIpChecksum, 0, (int)OffloadFlags.Ipv4ChecksumVerified)]
    [InlineData(E1000eDescriptor.RxIpChecksum | E1000eDescriptor.RxTcpChecksum, E1000eDescriptor.RxTcpError, (int)OffloadFlags.Ipv4ChecksumVerified)]
    [InlineData(E1000eDescriptor.RxIpChecksum | E1000eDescriptor.RxTcpChecksum, E1000eDescriptor.RxIpError, (int)OffloadFlags.L4ChecksumVerified)]
    [InlineData(E1000eDescriptor.RxIgnoreChecksum | E1000eDescriptor.RxIpChecksum | E1000eDescriptor.RxTcpChecksum, 0, (int)OffloadFlags.None)]
    [InlineData(0, 0, (int)OffloadFlags.None)]
    public void The_checksum_status_of_a_descriptor_is_reported_verified_only_where_the_device_checked_and_found_it_right(int status, int errors, int expected)
    {
        (FakeE1000eDevice device, _, E1000eQueue queue) = Open();

        Assert.True(device.Inject(Frame(100, 1), (byte)status, (byte)errors));
        var burst = new PacketBuffer[4];
        Assert.Equal(1, queue.Receive(burst)); // a wrong checksum is software's to drop and count

        Assert.Equal((OffloadFlags)expected, _pool.Metadata(burst[0]).Offload);
        _cache.Release(burst[0]);
    }

    [Fact]
    public void A_frame_with_a_receive_error_or_spanning_descriptors_is_dropped_and_counted_once_and_the_next_comes_through()
    {
        (FakeE1000eDevice device, E1000ePort port, E1000eQueue queue) = Open();

        Assert.True(device.Inject(Frame(100, 1), errors: 0x01)); // CE: a CRC error
        Assert.True(device.Inject(Frame(5000, 2)));              // three descriptors, EOP on the last
        Assert.True(device.Inject(new byte[10]));                 // shorter than an Ethernet header
        Assert.True(device.Inject(Frame(100, 4)));
        var burst = new PacketBuffer[8];
        int n = queue.Receive(burst);

        Assert.Equal(1, n);
        Assert.Equal(Frame(100, 4), Bytes(burst[0]));
        Assert.Equal(3, port.Counters(0).Errors);
        Assert.Equal(1, port.Counters(0).ReceivedPackets);
        Assert.Equal(255, device.ReceivePosted); // every buffer taken was replaced
        Assert.Empty(device.Violations);
        _cache.Release(burst[0]);
    }

    [Fact]
    public void A_partial_checksum_is_finished_by_the_device_after_one_context_descriptor_per_change_of_offsets()
    {
        (FakeE1000eDevice device, E1000ePort port, E1000eQueue queue) = Open();
        byte[] udp = Ipv4Udp(300, 1), tcp = Ipv4Tcp(200, 2);

        PacketBuffer[] frames = [Partial(udp, 34, 6), Partial(Ipv4Udp(100, 3), 34, 6), Partial(tcp, 34, 16), Buffer(Frame(80, 4))];
        Assert.Equal(4, queue.Transmit(frames));

        Assert.Equal(4, device.Sent.Count);
        Assert.Equal(2, device.Contexts); // UDP at 34/40, then TCP at 34/50; the second UDP frame reuses the first context
        Assert.Equal(((byte)34, (byte)50, true), device.Context);
        Assert.Equal(Ipv4Udp(300, 1, withChecksum: true), device.Sent[0]);
        Assert.Equal(Ipv4Tcp(200, 2, withChecksum: true), device.Sent[2]);
        Assert.Equal(Frame(80, 4), device.Sent[3]); // legacy: untouched
        Assert.Equal(0, port.Counters(0).Errors);
        Assert.Empty(device.Violations);
    }

    [Fact]
    public void A_super_frame_or_a_checksum_offset_outside_the_frame_is_taken_released_and_counted_as_an_error()
    {
        (FakeE1000eDevice device, E1000ePort port, E1000eQueue queue) = Open();
        PacketBuffer super = Buffer(Frame(3000, 1));
        _pool.Metadata(super).Gso = GsoType.TcpV4;
        PacketBuffer outside = Partial(Ipv4Udp(100, 2), 34, 200);

        Assert.Equal(3, queue.Transmit([super, outside, Buffer(Frame(100, 3))]));

        Assert.Equal(2, port.Counters(0).Errors);
        Assert.Equal(Frame(100, 3), Assert.Single(device.Sent));
        Assert.Empty(device.Violations);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_tcp_super_frame_is_cut_by_the_device_from_patched_headers_in_the_drivers_own_memory(bool ipv6)
    {
        (FakeE1000eDevice device, E1000ePort port, E1000eQueue queue) = Open(tso: true);
        Assert.Equal(PortCapabilities.ReceiveChecksum | PortCapabilities.TransmitChecksum | PortCapabilities.Tso, port.Capabilities);
        byte[] super = TcpSuperFrame(ipv6, payload: 5000);
        PacketBuffer frame = Buffer(super); // three buffers
        ref BufferMetadata m = ref _pool.Metadata(frame);
        m.Gso = ipv6 ? GsoType.TcpV6 : GsoType.TcpV4;
        m.SegmentSize = 1448;
        m.Offload = OffloadFlags.L4ChecksumPartial;
        int l4 = ipv6 ? 54 : 34;
        m.ChecksumStart = (ushort)l4;
        m.ChecksumOffset = 16;
        device.HoldTransmit = true;

        Assert.Equal(1, queue.Transmit([frame]));
        Assert.Equal(super, Bytes(frame)); // the driver wrote nothing into the frame
        Assert.Equal(1, device.ProcessTransmit());

        FakeE1000eDevice.TsoContext c = device.Tso!;
        Assert.Equal(l4 + 32, c.HeaderLength); // TCP with 12 bytes of options
        Assert.Equal(1448, c.Mss);
        Assert.Equal(5000, c.PayloadLength);
        Assert.Equal(!ipv6, c.Ipv4);
        Assert.Equal(4, device.Sent.Count); // 1448 * 3 + 656
        byte[] payload = [.. device.Sent.SelectMany(s => s.Skip(l4 + 32))];
        Assert.Equal(super.AsSpan(l4 + 32).ToArray(), payload);
        for (int k = 0; k < device.Sent.Count; k++)
        {
            byte[] s = device.Sent[k];
            Assert.True(TcpChecksumIsRight(s, ipv6, l4), $"segment {k}: a wrong TCP checksum");
            if (!ipv6)
                Assert.Equal(0xffffu, Fold(Sum(s.AsSpan(14, 20))));
            Assert.Equal(1000u + (uint)(1448 * k), BinaryPrimitives.ReadUInt32BigEndian(s.AsSpan(l4 + 4)));
        }
        Assert.Empty(device.Violations);
        Assert.Equal(0, port.Counters(0).Errors);
    }

    private static byte[] TcpSuperFrame(bool ipv6, int payload)
    {
        int l3 = 14, ip = ipv6 ? 40 : 20, l4 = l3 + ip, tcp = 32;
        byte[] f = new byte[l4 + tcp + payload];
        f[12] = ipv6 ? (byte)0x86 : (byte)0x08;
        f[13] = ipv6 ? (byte)0xdd : (byte)0x00;
        if (ipv6)
        {
            f[14] = 0x60;
            BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(18), (ushort)(tcp + payload));
            f[20] = 6;
            f[21] = 64;
            f[22] = 0xfd; f[37] = 1; f[38] = 0xfd; f[53] = 2;
        }
        else
        {
            f[14] = 0x45;
            BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(16), (ushort)(ip + tcp + payload));
            f[22] = 64;
            f[23] = 6;
            f[26] = 10; f[29] = 1; f[30] = 10; f[33] = 2;
            BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(24), (ushort)~Fold(Sum(f.AsSpan(14, 20))));
        }
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(l4), 40000);
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(l4 + 2), 5201);
        BinaryPrimitives.WriteUInt32BigEndian(f.AsSpan(l4 + 4), 1000);
        f[l4 + 12] = (byte)((tcp / 4) << 4);
        f[l4 + 13] = 0x18; // PSH, ACK
        f[l4 + 20] = 1; f[l4 + 21] = 1; f[l4 + 22] = 8; f[l4 + 23] = 10; // NOP NOP timestamps
        for (int i = l4 + tcp; i < f.Length; i++)
            f[i] = (byte)(i * 31);
        // The pseudo-header sum with the super-frame's length, as a stack leaves a partial checksum.
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(l4 + 16), (ushort)Fold(Pseudo(f, ipv6, l4, tcp + payload)));
        return f;
    }

    private static uint Pseudo(byte[] f, bool ipv6, int l4, int length) =>
        (ipv6 ? Sum(f.AsSpan(22, 32)) : Sum(f.AsSpan(26, 8))) + 6 + (uint)length;

    private static bool TcpChecksumIsRight(byte[] s, bool ipv6, int l4) =>
        Fold(Pseudo(s, ipv6, l4, s.Length - l4) + Sum(s.AsSpan(l4))) == 0xffff;

    private static uint Sum(ReadOnlySpan<byte> b)
    {
        uint sum = 0;
        for (int i = 0; i < b.Length; i += 2)
            sum += (uint)(b[i] << 8 | (i + 1 < b.Length ? b[i + 1] : 0));
        return sum;
    }

    private static uint Fold(uint sum)
    {
        while (sum > 0xffff)
            sum = (sum & 0xffff) + (sum >> 16);
        return sum;
    }

    private PacketBuffer Partial(byte[] frame, int start, int offset)
    {
        PacketBuffer b = Buffer(frame);
        ref BufferMetadata m = ref _pool.Metadata(b);
        m.Offload = OffloadFlags.L4ChecksumPartial;
        m.ChecksumStart = (ushort)start;
        m.ChecksumOffset = (ushort)offset;
        return b;
    }

    // An IPv4 frame of 10.0.0.1 -> 10.0.0.2 with a UDP or TCP header whose checksum field holds the
    // pseudo-header sum (partial), or the full checksum (what the device must send).
    private static byte[] Ipv4Udp(int payload, int sequence, bool withChecksum = false) => Ipv4(17, 8, 6, payload, sequence, withChecksum);

    private static byte[] Ipv4Tcp(int payload, int sequence, bool withChecksum = false) => Ipv4(6, 20, 16, payload, sequence, withChecksum);

    private static byte[] Ipv4(byte protocol, int header, int checksumAt, int payload, int sequence, bool full)
    {
        int l4 = header + payload;
        byte[] f = new byte[14 + 20 + l4];
        f[12] = 0x08;
        f[14] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(16), (ushort)(20 + l4));
        f[22] = 64;
        f[23] = protocol;
        f[26] = 10; f[29] = 1; f[30] = 10; f[33] = 2;
        if (protocol == 6)
            f[34 + 12] = 5 << 4;
        for (int i = 34 + header; i < f.Length; i++)
            f[i] = (byte)(i * 13 + sequence);
        uint pseudo = (10u << 8) + 1 + (10u << 8) + 2 + protocol + (uint)l4;
        while (pseudo > 0xffff)
            pseudo = (pseudo & 0xffff) + (pseudo >> 16);
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(34 + checksumAt), (ushort)pseudo);
        if (full)
        {
            uint sum = 0;
            for (int i = 34; i < f.Length; i += 2)
                sum += (uint)(f[i] << 8 | (i + 1 < f.Length ? f[i + 1] : 0));
            while (sum > 0xffff)
                sum = (sum & 0xffff) + (sum >> 16);
            BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(34 + checksumAt), (ushort)~sum);
        }
        return f;
    }

    [Fact]
    public void The_watch_picks_up_link_down_and_up_from_status_lu_logging_each_once_and_drains_the_link_vector()
    {
        (FakeE1000eDevice device, E1000ePort port, E1000eQueue queue) = Open();
        var log = new List<string>();
        var watch = new PortWatch([port], log.Add);
        watch.Check();

        device.SetLink(false);
        watch.Check();
        watch.Check();

        Assert.Equal(["port p0: link down"], log);
        Assert.Equal(1, watch.Health(0).LinkDowns);
        Assert.Equal(0UL, port.LinkInterrupt.Drain());
        device.SetLink(true);
        watch.Check();
        Assert.Equal(["port p0: link down", "port p0: link up"], log);
        Assert.Equal(1, watch.Health(0).LinkUps);
        Assert.Equal(1, queue.Transmit([Buffer(Frame(60, 1))]));
        Assert.Empty(device.Violations);
    }

    [Fact]
    public void Missed_packets_and_crc_errors_are_counted_by_name_from_the_clear_on_read_statistics_logged_the_first_time_never_a_failure()
    {
        (FakeE1000eDevice device, E1000ePort port, _) = Open();
        var log = new List<string>();
        var watch = new PortWatch([port], log.Add);
        watch.Check();
        for (int i = 0; i < 300; i++) // more frames than the ring holds: the rest are missed
            device.Inject(Frame(60, i));
        device.ReceiveBadCrc();

        watch.Check();
        device.ReceiveBadCrc();
        watch.Check();

        long missed = device.ReceiveDropped;
        Assert.True(missed > 0);
        Assert.Equal(
            [new KeyValuePair<string, long>("missed packets", missed), new KeyValuePair<string, long>("crc errors", 2)],
            watch.Health(0).Faults());
        Assert.Equal(
            ["port p0: device error: missed packets: MPC: frames dropped, the receive FIFO full",
             "port p0: device error: crc errors: CRCERRS: frames received with a bad CRC"], log);
        Assert.Null(watch.Health(0).Failure);
        Assert.True(port.LinkUp);
        Assert.Empty(device.Violations);
    }

    [Fact]
    public void A_link_change_shows_in_link_up_and_signals_the_other_causes_vector()
    {
        (FakeE1000eDevice device, E1000ePort port, _) = Open();
        Assert.True(port.LinkUp);

        device.SetLink(false);

        Assert.False(port.LinkUp);
        Assert.Equal(1UL, port.LinkInterrupt.Drain());
        device.SetLink(true); // re-armed by the read of LinkUp
        Assert.True(port.LinkUp);
        Assert.Equal(1UL, port.LinkInterrupt.Drain());
        Assert.Empty(device.Violations);
    }

    [Fact]
    public void An_idle_receive_arms_the_interrupt_which_fires_once_and_a_busy_one_masks_it()
    {
        (FakeE1000eDevice device, _, E1000eQueue queue) = Open();
        var burst = new PacketBuffer[8];

        Assert.Equal(0u, device.Register(Ims) & InterruptRxQueue0); // busy at start: polled
        Assert.Equal(0, queue.Receive(burst));
        Assert.NotEqual(0u, device.Register(Ims) & InterruptRxQueue0); // idle: armed

        Assert.True(device.Inject(Frame(100, 1)));
        Assert.True(device.Inject(Frame(100, 2)));
        Assert.Equal(1, device.Interrupts[E1000ePort.ReceiveVector]); // one shot: EIAC masked it
        Assert.Equal(0u, device.Register(Ims) & InterruptRxQueue0);
        Assert.Equal(1UL, device.Vector(E1000ePort.ReceiveVector).Drain());

        Assert.Equal(2, queue.Receive(burst));
        Assert.Equal(0u, device.Register(Ims) & InterruptRxQueue0);
        _cache.Release(burst.AsSpan(0, 2));
        Assert.Equal(0, queue.Receive(burst)); // idle again: armed again
        Assert.NotEqual(0u, device.Register(Ims) & InterruptRxQueue0);
        Assert.Empty(device.Violations);
    }

    [Fact]
    public void An_idle_queue_re_arms_its_one_shot_interrupt_only_every_1024_polls_so_idling_costs_no_register_writes()
    {
        (FakeE1000eDevice device, _, E1000eQueue queue) = Open();
        var burst = new PacketBuffer[8];
        Assert.Equal(0, queue.Receive(burst)); // armed
        int writes = device.ImsWrites;

        for (int i = 0; i < 1023; i++)
            Assert.Equal(0, queue.Receive(burst));
        Assert.Equal(writes, device.ImsWrites);
        Assert.Equal(0, queue.Receive(burst)); // the 1024th: drained and armed again (a shot taken since may have left none)
        Assert.Equal(writes + 1, device.ImsWrites);
        Assert.Empty(device.Violations);
    }

    [Fact]
    public void Stop_resets_the_device_and_gives_every_ring_buffer_back_and_start_sets_it_up_again()
    {
        (FakeE1000eDevice device, E1000ePort port, E1000eQueue queue) = Open();
        device.HoldTransmit = true;
        Assert.Equal(4, queue.Transmit([.. Enumerable.Range(0, 4).Select(i => Buffer(Frame(100, i)))]));

        port.Stop();

        Assert.Equal(2, device.SoftwareResets);
        Assert.Equal(0u, device.Register(Rctl) & RctlEnable);
        _cache.Flush();
        Assert.Equal(_pool.Count, _pool.Shared.Count);
        var burst = new PacketBuffer[4];
        Assert.Equal(0, queue.Receive(burst));
        Assert.False(device.Inject(Frame(80, 8)));

        device.HoldTransmit = false;
        port.Start(); // set up again from reset
        Assert.Equal(255, device.ReceivePosted);
        Assert.True(device.Inject(Frame(80, 9)));
        Assert.Equal(1, queue.Receive(burst));
        Assert.Equal(Frame(80, 9), Bytes(burst[0]));
        Assert.Equal(1, queue.Transmit(burst.AsSpan(0, 1)));
        Assert.Equal(Frame(80, 9), Assert.Single(device.Sent));
        Assert.Empty(device.Violations);
    }

    [Fact]
    public void Receive_and_transmit_allocate_nothing_per_packet()
    {
        (FakeE1000eDevice device, _, E1000eQueue queue) = Open();
        device.HoldTransmit = true; // the fake's own work (it allocates) stays outside the windows
        var burst = new PacketBuffer[32];
        int received = 0, sent = 0;

        // Four bursts of 32 a window: 128 frames each way.
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
            device.ProcessTransmit();
            for (int i = 0; i < 128; i++)
                Assert.True(device.Inject(Frame(128, i)));
        });

        Assert.Equal(4 * 128, received);
        Assert.Equal(4 * 128, sent);
        Assert.Equal(0, bytes);
        Assert.Empty(device.Violations);
    }
}
