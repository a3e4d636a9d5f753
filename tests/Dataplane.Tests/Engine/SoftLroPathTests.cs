using System.Buffers.Binary;
using Dataplane.Buffers;
using Dataplane.Drivers.Memory;
using Dataplane.Engine;
using Dataplane.Ports;
using Dataplane.Stack;
using Dataplane.Stack.Offload;
using Dataplane.Tests.Stack;
using Dataplane.Tests.Stack.Tcp;
using Dataplane.Wire;

namespace Dataplane.Tests.Engine;

/// <summary>
/// Software LRO in the emitted receive path: a port whose lro switch is on has its bursts merged
/// before they are dispatched (the worker counts what arrived, the processor sees super-frames); a
/// port with the switch off (the default) is untouched.
/// </summary>
public class SoftLroPathTests
{
    private sealed record Seen(GsoType Gso, int Length);

    private struct Recorder(List<Seen> seen) : IPacketProcessor
    {
        public readonly void Process<TFacts>(WorkerContext context, int port, PacketBuffer packet)
            where TFacts : struct, IReceiveFacts
        {
            ref BufferMetadata m = ref context.Pool.Metadata(packet);
            seen.Add(new Seen(m.Gso, m.PacketLength));
            context.Cache.Release(packet);
        }

        public readonly void OnTimer(TimerWheel wheel, in ExpiredTimer timer)
        {
        }
    }

    private static PacketBuffer Segment(BufferCache cache, uint seq, int length)
    {
        var seg = new TcpSeg
        {
            SourcePort = 40000, DestinationPort = 5201, Seq = seq, Ack = 1, Flags = TcpFlags.Ack,
            Timestamps = (1, 2), Payload = Frames.Payload(length),
        };
        byte[] tcp = seg.Encode();
        BinaryPrimitives.WriteUInt16BigEndian(tcp.AsSpan(16), Frames.Checksum4(StackHarness.Client, StackHarness.Ours, 6, tcp));
        byte[] frame = Frames.Ipv4Frame(MacAddress.FromUInt64(2), StackHarness.Client, StackHarness.Ours, 6, tcp, dontFragment: true);
        Assert.True(FrameChain.TryAllocate(cache, frame.Length, out PacketBuffer head));
        FrameChain.Write(cache.Pool, head, 0, frame);
        cache.Pool.Metadata(head).Offload = OffloadFlags.L4ChecksumVerified | OffloadFlags.Ipv4ChecksumVerified;
        return head;
    }

    /// <summary>A memory port that says it merges received segments itself, as a NIC with hardware LRO does.</summary>
    private sealed class MergingPort(MemoryPort inner) : IPort
    {
        public string Name => inner.Name;
        public string Driver => inner.Driver;
        public int QueueCount => inner.QueueCount;
        public MacAddress Mac => inner.Mac;
        public int Mtu => inner.Mtu;
        public bool LinkUp => inner.LinkUp;
        public PortCapabilities Capabilities => inner.Capabilities | PortCapabilities.Lro;
        public QueueCounters Counters(int queue) => inner.Counters(queue);
        public void Start() => inner.Start();
        public void Stop() => inner.Stop();
        public void SetPromiscuous(bool on) => inner.SetPromiscuous(on);
        public void Dispose() => inner.Dispose();
    }

    private static (List<Seen> Seen, long Received, long Processed, StackCounters Counters) Run(bool lro, bool portMerges = false)
    {
        var pool = new BufferPool(256);
        var cache = new BufferCache(pool, size: 16, burst: 8);
        var script = new Script(Segment(cache, 1000, 1000), Segment(cache, 2000, 1000), Segment(cache, 3000, 1000));
        var seen = new List<Seen>();
        var counters = new StackCounters();
        MemoryPort memory = MemoryPort.CreateLoopback("p0", queues: 1);
        IPort port = portMerges ? new MergingPort(memory) : memory;
        using var engine = new PacketEngine<Recorder>(pool, [0], [new PortBinding(port, (q, _) => new UnhashedQueuePath(new UnhashedQueue(script))) { Lro = lro }],
            context =>
            {
                context.ReceiveMerger = new SoftLro(context, counters); // as StackWorker does
                return new Recorder(seen);
            })
        {
            PinThreads = false,
        };
        engine.Workers[0].RunOnce();
        WorkerCounters c = engine.Workers[0].Context.Counters;
        return (seen, c.Received, c.Processed, counters);
    }

    [Fact]
    public void A_port_with_its_lro_switch_on_has_a_bursts_segments_merged_before_they_are_processed()
    {
        var (seen, received, processed, counters) = Run(lro: true);

        Seen super = Assert.Single(seen);
        Assert.Equal(GsoType.TcpV4, super.Gso);
        Assert.Equal(14 + 20 + 32 + 3000, super.Length);
        Assert.Equal(3, received); // what arrived
        Assert.Equal(1, processed); // what went on
        Assert.Equal(1, counters.Lro[(int)LroCounter.SuperFrames]);
    }

    [Fact]
    public void A_port_with_the_switch_off_the_default_is_not_merged()
    {
        var (seen, received, processed, counters) = Run(lro: false);

        Assert.Equal(3, seen.Count);
        Assert.All(seen, s => Assert.Equal(GsoType.None, s.Gso));
        Assert.Equal(3, received);
        Assert.Equal(3, processed);
        Assert.Equal(0, counters.Lro[(int)LroCounter.SegmentsMerged]);
    }

    [Fact]
    public void A_port_that_merges_itself_is_not_merged_again_with_its_switch_on()
    {
        var (seen, _, _, _) = Run(lro: true, portMerges: true);

        Assert.Equal(3, seen.Count);
    }
}
