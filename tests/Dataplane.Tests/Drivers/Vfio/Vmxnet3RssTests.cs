using System.Buffers.Binary;
using Dataplane.Buffers;
using Dataplane.Drivers.Vfio;
using Dataplane.Drivers.Vfio.Vmxnet3;
using Dataplane.Engine;
using Dataplane.Ports;
using Dataplane.Wire;

namespace Dataplane.Tests.Drivers.Vfio;

/// <summary>
/// vmxnet3's RSS against <see cref="FakeVmxnet3Device"/> as a device with RSS would behave (QEMU
/// 7.2's has none): UPT1_RSSConf with the engine's key and owners, the completion's rssType and
/// rssHash placing the flow where they are the engine's hash, and not taken where they are not.
/// </summary>
public sealed class Vmxnet3RssTests
{
    private static readonly ToeplitzHash Engine = ToeplitzHash.CreateSymmetric();

    private sealed record Seen(int Worker, uint Hash);

    private readonly struct Recorder(List<Seen> seen) : IPacketProcessor
    {
        public void Process<TFacts>(WorkerContext context, int port, PacketBuffer packet) where TFacts : struct, IReceiveFacts
        {
            seen.Add(new Seen(context.Index, context.Pool.Metadata(packet).RssHash));
            context.Cache.Release(packet);
        }

        public void OnTimer(TimerWheel wheel, in ExpiredTimer timer)
        {
        }
    }

    private static (PacketEngine<Recorder> Engine, Vmxnet3Port Port, List<Seen> Seen) Build(FakeVmxnet3Device device)
    {
        var pool = new BufferPool(2048);
        Vmxnet3Port port = Vmxnet3Port.Open("p0", device, queues: 2);
        var seen = new List<Seen>();
        var engine = new PacketEngine<Recorder>(pool, [0, 1], [new PortBinding(port, (q, cache) => new Vmxnet3QueuePath(port.Queue(q, cache)))],
            _ => new Recorder(seen)) { PinThreads = false };
        port.Start(); // what engine.Start does before its threads; the test turns the workers itself
        return (engine, port, seen);
    }

    private static void Turn(PacketEngine<Recorder> engine)
    {
        foreach (Worker<Recorder> worker in engine.Workers)
            worker.RunOnce();
        foreach (Worker<Recorder> worker in engine.Workers)
            worker.RunOnce(); // takes in what the first pass handed over
    }

    [Fact]
    public void The_engine_gives_the_device_its_key_and_an_indirection_table_of_its_owners_applied_with_UPDATE_RSSIDT()
    {
        var device = new FakeVmxnet3Device();
        (PacketEngine<Recorder> engine, Vmxnet3Port port, _) = Build(device);
        using (engine)
        using (port)
        {
            RssIndirectionTable owners = engine.Workers[0].Context.FlowOwners!;
            Assert.Contains(Vmxnet3Layout.CmdUpdateRssIdt, device.Commands);
            byte[] rss = Assert.IsType<byte[]>(device.RssConf);
            Assert.Equal(128, BinaryPrimitives.ReadUInt16LittleEndian(rss.AsSpan(6)));
            Assert.Equal(ToeplitzHash.SymmetricKey.ToArray(), rss.AsSpan(8, 40).ToArray());
            Assert.Equal(owners.Entries.ToArray().Select(w => (byte)w), rss.AsSpan(48, 128).ToArray());
            Assert.True(port.ReportsHash);
            Assert.True((port.Capabilities & PortCapabilities.RssHash) != 0);
            Assert.Empty(device.Violations);
        }
    }

    [Fact]
    public void A_completions_TCP_hash_places_its_flow_and_over_many_flows_on_their_owners_queues_nothing_is_handed_over()
    {
        var device = new FakeVmxnet3Device();
        (PacketEngine<Recorder> engine, Vmxnet3Port port, List<Seen> seen) = Build(device);
        using (engine)
        using (port)
        {
            byte[] rss = device.RssConf!;
            int[] perQueue = new int[2];
            for (int flow = 0; flow < 120; flow++)
            {
                ushort sourcePort = (ushort)(30_000 + flow);
                uint hash = Engine.HashIpv4(Ipv4Address.FromUInt32(0x0a0a0b01), Ipv4Address.FromUInt32(0x0a0a0c04), sourcePort, 5201);
                int queue = rss[48 + (int)(hash & 127)]; // the device's table
                perQueue[queue]++;
                Assert.True(device.Inject(queue, FlowFrames.Ipv4(6, 0x0a0a0b01, 0x0a0a0c04, sourcePort, 5201), rssType: Vmxnet3Layout.RssTypeTcpIpv4, rssHash: hash));
                if (flow % 32 == 31)
                    Turn(engine);
            }
            Turn(engine);

            Assert.Equal(120, seen.Count);
            Assert.All(perQueue, n => Assert.True(n > 30, $"queues carried {perQueue[0]} and {perQueue[1]} flows"));
            Assert.All(engine.Workers, w => Assert.Equal(0, w.Context.Counters.HandedOff));
            Assert.Equal(120, port.Counters(0).ReceivedHashed + port.Counters(1).ReceivedHashed);

            // A hash only the device's report can have given: worker 1 owns it, the frame came on queue 0.
            RssIndirectionTable owners = engine.Workers[0].Context.FlowOwners!;
            uint reported = 0x7000_0000;
            while (owners.OwnerOf(reported) != 1)
                reported++;
            seen.Clear();
            Assert.True(device.Inject(0, FlowFrames.Ipv4(6, 0x0a0a0b01, 0x0a0a0c04, 40000, 80), rssType: Vmxnet3Layout.RssTypeTcpIpv4, rssHash: reported));
            Turn(engine);
            Assert.Equal([new Seen(1, reported)], seen);
            Assert.Equal(1, engine.Workers[0].Context.Counters.HandedOff);
            Assert.Empty(device.Violations);
        }
    }

    [Fact]
    public void A_UDP_datagram_hashed_on_its_addresses_and_a_frame_without_rssType_are_hashed_by_the_engine()
    {
        var device = new FakeVmxnet3Device();
        (PacketEngine<Recorder> engine, Vmxnet3Port port, List<Seen> seen) = Build(device);
        using (engine)
        using (port)
        {
            // UPT1 has no UDP hash type: the device hashes a UDP datagram's addresses (rssType IPV4),
            // the engine its 4-tuple.
            uint software = Engine.HashIpv4(Ipv4Address.FromUInt32(0x0a0a0b01), Ipv4Address.FromUInt32(0x0a0a0c04), 40000, 53);
            Assert.True(device.Inject(0, FlowFrames.Ipv4(17, 0x0a0a0b01, 0x0a0a0c04, 40000, 53), rssType: Vmxnet3Layout.RssTypeIpv4, rssHash: software ^ 0x4321));
            Assert.True(device.Inject(0, FlowFrames.Ipv4(17, 0x0a0a0b01, 0x0a0a0c04, 40000, 53))); // QEMU 7.2: rssType 0
            Turn(engine);

            Assert.Equal(2, seen.Count);
            Assert.All(seen, s => Assert.Equal(software, s.Hash));
            Assert.Equal(0, port.Counters(0).ReceivedHashed);
            Assert.Empty(device.Violations);
        }
    }

    [Fact]
    public void Under_a_key_that_is_not_symmetric_the_completions_hash_is_not_taken()
    {
        var pool = new BufferPool(1024);
        var cache = new BufferCache(pool, size: 256, burst: 32);
        var device = new FakeVmxnet3Device();
        using Vmxnet3Port port = Vmxnet3Port.Open("p0", device, queues: 2);
        Vmxnet3Queue queue = port.Queue(0, cache);
        port.Start();
        port.SteerFlows(ToeplitzHash.MicrosoftKey, new RssIndirectionTable(2));

        Assert.Equal(ToeplitzHash.MicrosoftKey.ToArray(), device.RssConf!.AsSpan(8, 40).ToArray());
        Assert.False(port.ReportsHash);
        Assert.True(device.Inject(0, FlowFrames.Ipv4(6, 0x0a0a0b01, 0x0a0a0c04, 40000, 80), rssType: Vmxnet3Layout.RssTypeTcpIpv4, rssHash: 0x1234));
        Span<PacketBuffer> burst = stackalloc PacketBuffer[4];
        Assert.Equal(1, queue.Receive(burst));
        Assert.Equal(OffloadFlags.None, pool.Metadata(burst[0]).Offload & OffloadFlags.RssHashValid);
        cache.Release(burst[0]);
        Assert.Empty(device.Violations);
    }
}
