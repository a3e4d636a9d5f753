using Dataplane.Buffers;
using Dataplane.Drivers.Vfio.E1000e;
using Dataplane.Engine;
using Dataplane.Ports;

namespace Dataplane.Tests.Drivers.Vfio;

/// <summary>
/// The e1000e queue under the engine, as PortFactory wires it: the emitted <c>E1000eQueuePath</c>
/// polls it, and each frame reaches the worker's processor compiled for the driver's facts, which
/// read the checksum state per frame and take no frame for a super-frame.
/// </summary>
public sealed class E1000eEngineTests
{
    private sealed record Seen(int Port, OffloadFlags Offload, int Length, Type Facts);

    private readonly struct Recorder(List<Seen> seen) : IPacketProcessor
    {
        public void Process<TFacts>(WorkerContext context, int port, PacketBuffer packet) where TFacts : struct, IReceiveFacts
        {
            ref BufferMetadata m = ref context.Pool.Metadata(packet);
            Assert.False(ReceiveFacts.MayBeSuperFrame<TFacts>(m));
            seen.Add(new Seen(port, ReceiveFacts.ChecksumState<TFacts>(m), m.PacketLength, typeof(TFacts)));
            context.Cache.Release(packet);
        }

        public void OnTimer(TimerWheel wheel, in ExpiredTimer timer)
        {
        }
    }

    [Fact]
    public void Frames_the_device_receives_reach_the_processor_with_their_checksum_state_through_the_generated_path()
    {
        Assert.Equal("e1000e", E1000eQueuePath.DriverName);
        Assert.Equal(OffloadReport.PerFrame, E1000eQueuePath.Facts.Checksum);
        Assert.Equal(OffloadReport.Never, E1000eQueuePath.Facts.RssHash);
        Assert.Equal(OffloadReport.Never, E1000eQueuePath.Facts.Lro);
        var pool = new BufferPool(1024);
        var device = new FakeE1000eDevice();
        using E1000ePort port = E1000ePort.Open("p0", device);
        var seen = new List<Seen>();
        using var engine = new PacketEngine<Recorder>(pool, [0], [new PortBinding(port, (q, cache) => new E1000eQueuePath(port.Queue(q, cache)))],
            _ => new Recorder(seen)) { PinThreads = false };
        port.Start(); // what engine.Start does before its threads; the test turns the worker itself

        Assert.True(device.Inject(Frame(60)));
        Assert.True(device.Inject(Frame(1000), E1000eDescriptor.RxIpChecksum | E1000eDescriptor.RxTcpChecksum));
        engine.Workers[0].RunOnce();

        Assert.Equal(
            [
                new Seen(0, OffloadFlags.None, 60, typeof(E1000eQueuePath.Facts)),
                new Seen(0, OffloadFlags.Ipv4ChecksumVerified | OffloadFlags.L4ChecksumVerified, 1000, typeof(E1000eQueuePath.Facts)),
            ],
            seen);
        Assert.Equal(2, port.Counters(0).ReceivedPackets);
        Assert.Empty(device.Violations);
    }

    private static byte[] Frame(int length)
    {
        byte[] frame = new byte[length];
        frame[12] = 0x88;
        frame[13] = 0xb5;
        return frame;
    }
}
