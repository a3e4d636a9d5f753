using Dataplane.Buffers;
using Dataplane.Drivers.Vfio;
using Dataplane.Drivers.Vfio.VirtioNet;
using Dataplane.Engine;
using Dataplane.Ports;

namespace Dataplane.Tests.Drivers.Vfio;

/// <summary>
/// virtio-net's RSS (VIRTIO_NET_F_RSS, VIRTIO_NET_CTRL_MQ_RSS_CONFIG, virtio 1.2 §5.1.6.5.7) and hash
/// report (VIRTIO_NET_F_HASH_REPORT, §5.1.6.4.3.4) against <see cref="FakeVirtioNetDevice"/>, under
/// the engine: the device is given the engine's key and owners, a reported hash places its flow,
/// and a hash that is not the engine's is not taken.
/// </summary>
public sealed class VirtioNetRssTests
{
    private const VirtioFeatures WithRss = FakeVirtioNetDevice.DefaultFeatures | VirtioFeatures.Rss | VirtioFeatures.HashReport;
    private static readonly ToeplitzHash Engine = ToeplitzHash.CreateSymmetric();

    private sealed record Seen(int Worker, uint Hash, int Length); // RssHashValid is set either way: software hashes set it too

    private readonly struct Recorder(List<Seen> seen) : IPacketProcessor
    {
        public void Process<TFacts>(WorkerContext context, int port, PacketBuffer packet) where TFacts : struct, IReceiveFacts
        {
            ref BufferMetadata m = ref context.Pool.Metadata(packet);
            lock (seen)
                seen.Add(new Seen(context.Index, m.RssHash, m.PacketLength));
            context.Cache.Release(packet);
        }

        public void OnTimer(TimerWheel wheel, in ExpiredTimer timer)
        {
        }
    }

    private static (PacketEngine<Recorder> Engine, VirtioNetPort Port, List<Seen> Seen) Build(FakeVirtioNetDevice device, int workers = 2)
    {
        var pool = new BufferPool(2048);
        VirtioNetPort port = VirtioNetPort.Open("p0", device, queues: 2);
        var seen = new List<Seen>();
        var engine = new PacketEngine<Recorder>(pool, [.. Enumerable.Range(0, workers)],
            [new PortBinding(port, (q, cache) => new VirtioNetQueuePath(port.Queue(q, cache)))], _ => new Recorder(seen)) { PinThreads = false };
        port.Start(); // what engine.Start does before its threads; the test turns the workers itself
        return (engine, port, seen);
    }

    private static uint Hash(uint source, uint destination, ushort sourcePort, ushort destinationPort)
        => Engine.HashIpv4(Dataplane.Wire.Ipv4Address.FromUInt32(source), Dataplane.Wire.Ipv4Address.FromUInt32(destination), sourcePort, destinationPort);

    private static void Turn(PacketEngine<Recorder> engine)
    {
        foreach (Worker<Recorder> worker in engine.Workers)
            worker.RunOnce();
        foreach (Worker<Recorder> worker in engine.Workers)
            worker.RunOnce(); // takes in what the first pass handed over
    }

    [Fact]
    public void With_RSS_offered_the_device_gets_the_engines_key_and_hash_types_and_a_table_of_its_owners_instead_of_VQ_PAIRS_SET()
    {
        var device = new FakeVirtioNetDevice(WithRss, maxPairs: 2);
        (PacketEngine<Recorder> engine, VirtioNetPort port, _) = Build(device);
        using (engine)
        using (port)
        {
            Assert.Equal(VirtioFeatures.Rss | VirtioFeatures.HashReport, device.DriverFeatures & (VirtioFeatures.Rss | VirtioFeatures.HashReport));
            Assert.Empty(device.QueuePairCommands);
            // One at open (the engine's table for as many workers as queues), one when the engine said.
            Assert.Equal(2, device.RssConfigs.Count);
            FakeVirtioNetDevice.RssConfig rss = device.RssConfigs[^1];
            Assert.Equal(0x3fu, rss.HashTypes); // IPv4, TCPv4, UDPv4, IPv6, TCPv6, UDPv6: not the _EX ones
            Assert.Equal(ToeplitzHash.SymmetricKey.ToArray(), rss.Key);
            Assert.Equal(2, rss.MaxTxQueues);
            RssIndirectionTable owners = engine.Workers[0].Context.FlowOwners!;
            Assert.Equal(owners.Entries.ToArray(), rss.Table); // worker w drains queue w
            Assert.True(port.SteersFlows);
            Assert.True(port.ReportsHash);
            Assert.True((port.Capabilities & PortCapabilities.RssHash) != 0);
            Assert.Empty(device.Violations);
        }
    }

    [Fact]
    public void With_the_device_placing_flows_by_the_engines_table_no_frame_is_handed_over_and_both_queues_carry_flows()
    {
        var device = new FakeVirtioNetDevice(WithRss, maxPairs: 2);
        (PacketEngine<Recorder> engine, VirtioNetPort port, List<Seen> seen) = Build(device);
        using (engine)
        using (port)
        {
            // The device's RSS, as QEMU's virtio_net_process_rss: Toeplitz over the tuple, then the table.
            ushort[] table = port.DeviceIndirection;
            var perQueue = new int[2];
            for (int flow = 0; flow < 200; flow++)
            {
                uint source = 0x0a0a0b01, destination = 0x0a0a0c04;
                ushort sourcePort = (ushort)(20_000 + flow), destinationPort = 5201;
                uint hash = Hash(source, destination, sourcePort, destinationPort);
                int queue = table[hash & (uint)(table.Length - 1)];
                perQueue[queue]++;
                Assert.True(device.Inject(queue, FlowFrames.Ipv4(6, source, destination, sourcePort, destinationPort), default, hash, VirtioNetLayout.HashReportTcpv4));
                if (flow % 32 == 31)
                    Turn(engine);
            }
            Turn(engine);

            Assert.Equal(200, seen.Count);
            Assert.All(perQueue, n => Assert.True(n > 50, $"queues carried {perQueue[0]} and {perQueue[1]} flows"));
            Assert.All(engine.Workers, w => Assert.Equal(0, w.Context.Counters.HandedOff));
            Assert.Equal(200, port.Counters(0).ReceivedHashed + port.Counters(1).ReceivedHashed);
            Assert.Empty(device.Violations);
        }
    }

    [Fact]
    public void A_reported_hash_of_the_engines_tuple_places_the_flow_and_the_engine_does_not_hash_it_again()
    {
        var device = new FakeVirtioNetDevice(WithRss, maxPairs: 2);
        (PacketEngine<Recorder> engine, VirtioNetPort port, List<Seen> seen) = Build(device);
        using (engine)
        using (port)
        {
            byte[] frame = FlowFrames.Ipv4(6, 0x0a0a0b01, 0x0a0a0c04, 40000, 5201);
            uint software = Hash(0x0a0a0b01, 0x0a0a0c04, 40000, 5201);
            // A hash the software would not compute, whose owner is worker 1 while the software's
            // would be worker 0 or 1: only the reported value can have placed it.
            RssIndirectionTable owners = engine.Workers[0].Context.FlowOwners!;
            uint reported = software ^ 0x8000_0000u;
            while (owners.OwnerOf(reported) != 1)
                reported++;
            Assert.True(device.Inject(0, frame, default, reported, VirtioNetLayout.HashReportTcpv4));
            Turn(engine);

            Seen only = Assert.Single(seen);
            Assert.Equal(new Seen(1, reported, 64), only);
            Assert.Equal(1, engine.Workers[0].Context.Counters.HandedOff); // it came on queue 0, its owner by the hash is 1
            Assert.Equal(1, port.Counters(0).ReceivedHashed);
        }
    }

    [Theory]
    [InlineData(VirtioNetLayout.HashReportIpv4)]  // a 2-tuple hash of a TCP packet: the engine hashes the 4-tuple
    [InlineData(0)]                               // VIRTIO_NET_HASH_REPORT_NONE
    [InlineData(8)]                               // VIRTIO_NET_HASH_REPORT_TCPv6_EX: a tuple the engine never hashes
    public void A_reported_hash_of_another_tuple_is_not_taken_and_the_engine_hashes_the_frame(ushort report)
    {
        var device = new FakeVirtioNetDevice(WithRss, maxPairs: 2);
        (PacketEngine<Recorder> engine, VirtioNetPort port, List<Seen> seen) = Build(device);
        using (engine)
        using (port)
        {
            uint software = Hash(0x0a0a0b01, 0x0a0a0c04, 40000, 5201);
            Assert.True(device.Inject(0, FlowFrames.Ipv4(6, 0x0a0a0b01, 0x0a0a0c04, 40000, 5201), default, software ^ 0x5555, report));
            Turn(engine);

            Seen only = Assert.Single(seen);
            Assert.Equal(software, only.Hash); // the engine's own hash placed it
            Assert.Equal(0, port.Counters(0).ReceivedHashed);
        }
    }

    [Fact]
    public void Under_a_key_that_is_not_symmetric_the_device_still_steers_but_its_hashes_are_not_taken()
    {
        var pool = new BufferPool(1024);
        var cache = new BufferCache(pool, size: 256, burst: 32);
        var device = new FakeVirtioNetDevice(WithRss, maxPairs: 2);
        using VirtioNetPort port = VirtioNetPort.Open("p0", device, queues: 2);
        VirtioNetQueue queue = port.Queue(0, cache);
        port.Start();
        // Microsoft's key hashes the two directions of a flow apart: not the engine's placement.
        port.SteerFlows(ToeplitzHash.MicrosoftKey, new RssIndirectionTable(2));

        Assert.Equal(ToeplitzHash.MicrosoftKey.ToArray(), device.RssConfigs[^1].Key);
        Assert.True(port.SteersFlows);
        Assert.False(port.ReportsHash);
        Assert.True(device.Inject(0, FlowFrames.Ipv4(6, 0x0a0a0b01, 0x0a0a0c04, 40000, 5201), default, 0x1234_5678, VirtioNetLayout.HashReportTcpv4));
        Span<PacketBuffer> burst = stackalloc PacketBuffer[4];
        Assert.Equal(1, queue.Receive(burst));
        Assert.Equal(OffloadFlags.None, pool.Metadata(burst[0]).Offload & OffloadFlags.RssHashValid);
        Assert.Equal(0, port.Counters(0).ReceivedHashed);
        cache.Release(burst[0]);
        Assert.Empty(device.Violations);
    }

    [Fact]
    public void Without_RSS_offered_two_queues_are_set_with_VQ_PAIRS_SET_and_frames_carry_no_device_hash()
    {
        var device = new FakeVirtioNetDevice(maxPairs: 2);
        (PacketEngine<Recorder> engine, VirtioNetPort port, List<Seen> seen) = Build(device);
        using (engine)
        using (port)
        {
            Assert.Equal([2], device.QueuePairCommands);
            Assert.Empty(device.RssConfigs);
            Assert.False(port.SteersFlows);
            Assert.False(port.ReportsHash);
            Assert.Equal(VirtioNetLayout.HeaderLength, device.HeaderLength);
            Assert.True(device.Inject(1, FlowFrames.Ipv4(17, 0x0a0a0b01, 0x0a0a0c04, 40000, 53)));
            Turn(engine);
            Assert.Single(seen);
            Assert.Equal(0, port.Counters(1).ReceivedHashed);
            Assert.Empty(device.Violations);
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void A_receive_queue_steered_by_RSS_notifies_the_device_after_start_and_once_each_time_it_goes_idle(bool rss)
    {
        // QEMU 7.2's software RSS holds a frame on the queue it came in on when the queue RSS picked
        // has no buffer, and reads that backend queue again only when the driver notifies it.
        var pool = new BufferPool(1024);
        var cache = new BufferCache(pool, size: 256, burst: 32);
        var device = new FakeVirtioNetDevice(rss ? WithRss : FakeVirtioNetDevice.DefaultFeatures, maxPairs: 2);
        using VirtioNetPort port = VirtioNetPort.Open("p0", device, queues: 2);
        VirtioNetQueue queue = port.Queue(1, cache);
        const int Rx1 = 2; // receiveq of pair 1
        device.SuppressNotifications(Rx1, true); // as QEMU while it has buffers (virtio_net_has_buffers)
        int before = device.Notifications(Rx1);
        port.Start();
        int started = device.Notifications(Rx1);
        Assert.Equal(rss ? before + 1 : before, started);

        Span<PacketBuffer> burst = stackalloc PacketBuffer[4];
        Assert.Equal(0, queue.Receive(burst)); // idle: armed, and notified with RSS
        Assert.Equal(0, queue.Receive(burst)); // still idle: nothing more
        Assert.Equal(rss ? started + 1 : started, device.Notifications(Rx1));
        Assert.True(device.Inject(1, FlowFrames.Ipv4(6, 0x0a0a0b01, 0x0a0a0c04, 40000, 80)));
        Assert.Equal(1, queue.Receive(burst)); // busy again
        cache.Release(burst[0]);
        Assert.Equal(0, queue.Receive(burst)); // idle again: one more
        Assert.Equal(rss ? started + 2 : started, device.Notifications(Rx1));
        Assert.Empty(device.Violations);
    }

    [Fact]
    public void With_HASH_REPORT_the_20_byte_header_goes_both_ways_and_the_frame_is_where_it_was()
    {
        var pool = new BufferPool(1024);
        var cache = new BufferCache(pool, size: 256, burst: 32);
        var device = new FakeVirtioNetDevice(WithRss, maxPairs: 2);
        using VirtioNetPort port = VirtioNetPort.Open("p0", device, queues: 2);
        VirtioNetQueue queue = port.Queue(1, cache);
        port.Start();
        Assert.Equal(VirtioNetLayout.HashHeaderLength, device.HeaderLength);

        byte[] frame = FlowFrames.Ipv6(6, 1, 2, 40000, 443);
        uint hash = Engine.HashIpv6(new Dataplane.Wire.Ipv6Address(frame.AsSpan(22, 16)), new Dataplane.Wire.Ipv6Address(frame.AsSpan(38, 16)), 40000, 443);
        Assert.True(device.Inject(1, frame, default, hash, VirtioNetLayout.HashReportTcpv6));
        Span<PacketBuffer> burst = stackalloc PacketBuffer[4];
        Assert.Equal(1, queue.Receive(burst));
        ref BufferMetadata m = ref pool.Metadata(burst[0]);
        Assert.Equal(pool.Headroom, m.DataOffset);
        Assert.Equal(frame, pool.Data(burst[0]).ToArray());
        Assert.Equal(hash, m.RssHash);
        Assert.NotEqual(OffloadFlags.None, m.Offload & OffloadFlags.RssHashValid);

        Assert.Equal(1, queue.Transmit([burst[0]]));
        device.ProcessTransmit(1);
        Assert.Equal(frame, Assert.Single(device.Sent[1]).Frame);
        Assert.Empty(device.Violations);
    }
}
