using Dataplane.Buffers;
using Dataplane.Drivers.Vfio.VirtioNet;
using Dataplane.Engine;
using Dataplane.Native;
using Dataplane.Ports;

namespace Dataplane.Tests.Drivers.Vfio;

/// <summary>
/// The virtio-net queue under the engine, as PortFactory wires it: the emitted
/// <c>VirtioNetQueuePath</c> polls it, stamps the port, and hands each frame to the worker's
/// processor compiled for the driver's facts, which read the checksum and super-frame state per frame.
/// </summary>
public sealed class VirtioNetEngineTests
{
    private sealed record Seen(int Port, OffloadFlags Offload, GsoType Gso, int Length, Type Facts);

    private readonly struct Recorder(List<Seen> seen) : IPacketProcessor
    {
        public void Process<TFacts>(WorkerContext context, int port, PacketBuffer packet) where TFacts : struct, IReceiveFacts
        {
            ref BufferMetadata m = ref context.Pool.Metadata(packet);
            seen.Add(new Seen(port, ReceiveFacts.ChecksumState<TFacts>(m), ReceiveFacts.MayBeSuperFrame<TFacts>(m) ? m.Gso : GsoType.None,
                m.PacketLength, typeof(TFacts)));
            context.Cache.Release(packet);
        }

        public void OnTimer(TimerWheel wheel, in ExpiredTimer timer)
        {
        }
    }

    [Fact]
    public void Frames_the_device_receives_reach_the_processor_with_their_header_state_through_the_generated_path()
    {
        Assert.Equal("virtio", VirtioNetQueuePath.DriverName);
        Assert.Equal(OffloadReport.PerFrame, VirtioNetQueuePath.Facts.Checksum);
        Assert.Equal(OffloadReport.PerFrame, VirtioNetQueuePath.Facts.RssHash);
        Assert.Equal(OffloadReport.PerFrame, VirtioNetQueuePath.Facts.Lro);
        var pool = new BufferPool(1024);
        var device = new FakeVirtioNetDevice();
        using VirtioNetPort port = VirtioNetPort.Open("p0", device, lro: true);
        var seen = new List<Seen>();
        using var engine = new PacketEngine<Recorder>(pool, [0], [new PortBinding(port, (q, cache) => new VirtioNetQueuePath(port.Queue(q, cache)))],
            _ => new Recorder(seen)) { PinThreads = false };
        port.Start(); // what engine.Start does before its threads; the test turns the worker itself

        Assert.True(device.Inject(0, Frame(60)));
        Assert.True(device.Inject(0, Frame(1000), new VirtioNetHeader { Flags = VirtioNetHeaderFlags.DataValid }));
        Assert.True(device.Inject(0, Frame(6000), new VirtioNetHeader
        {
            Flags = VirtioNetHeaderFlags.NeedsChecksum, GsoType = VirtioNetGsoType.TcpV4, GsoSize = 1448, ChecksumStart = 34, ChecksumOffset = 16,
        }));
        engine.Workers[0].RunOnce();

        Assert.Equal(
            [
                new Seen(0, OffloadFlags.None, GsoType.None, 60, typeof(VirtioNetQueuePath.Facts)),
                new Seen(0, OffloadFlags.L4ChecksumVerified, GsoType.None, 1000, typeof(VirtioNetQueuePath.Facts)),
                new Seen(0, OffloadFlags.L4ChecksumPartial, GsoType.TcpV4, 6000, typeof(VirtioNetQueuePath.Facts)),
            ],
            seen);
        Assert.Equal(3, port.Counters(0).ReceivedPackets);
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
