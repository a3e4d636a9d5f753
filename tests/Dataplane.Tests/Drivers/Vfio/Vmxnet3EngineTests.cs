using Dataplane.Buffers;
using Dataplane.Drivers.Vfio.Vmxnet3;
using Dataplane.Engine;
using Dataplane.Ports;

namespace Dataplane.Tests.Drivers.Vfio;

/// <summary>
/// The vmxnet3 queue under the engine, as PortFactory wires it: the emitted <c>Vmxnet3QueuePath</c>
/// polls it and hands each frame to the worker's processor compiled for the driver's facts, which
/// read the checksum state per frame and take a frame for a super-frame when the driver marked it
/// (LRO: a TCP frame longer than the MTU).
/// </summary>
public sealed class Vmxnet3EngineTests
{
    private sealed record Seen(int Port, OffloadFlags Offload, bool SuperFrame, int Length, Type Facts);

    private readonly struct Recorder(List<Seen> seen) : IPacketProcessor
    {
        public void Process<TFacts>(WorkerContext context, int port, PacketBuffer packet) where TFacts : struct, IReceiveFacts
        {
            ref BufferMetadata m = ref context.Pool.Metadata(packet);
            seen.Add(new Seen(port, ReceiveFacts.ChecksumState<TFacts>(m), ReceiveFacts.MayBeSuperFrame<TFacts>(m), m.PacketLength, typeof(TFacts)));
            context.Cache.Release(packet);
        }

        public void OnTimer(TimerWheel wheel, in ExpiredTimer timer)
        {
        }
    }

    [Fact]
    public void Frames_the_device_receives_reach_the_processor_with_their_completion_state_through_the_generated_path()
    {
        Assert.Equal("vmxnet3", Vmxnet3QueuePath.DriverName);
        Assert.Equal(OffloadReport.PerFrame, Vmxnet3QueuePath.Facts.Checksum);
        Assert.Equal(OffloadReport.PerFrame, Vmxnet3QueuePath.Facts.RssHash);
        Assert.Equal(OffloadReport.PerFrame, Vmxnet3QueuePath.Facts.Lro);
        var pool = new BufferPool(1024);
        var device = new FakeVmxnet3Device();
        using Vmxnet3Port port = Vmxnet3Port.Open("p0", device);
        var seen = new List<Seen>();
        using var engine = new PacketEngine<Recorder>(pool, [0], [new PortBinding(port, (q, cache) => new Vmxnet3QueuePath(port.Queue(q, cache)))],
            _ => new Recorder(seen)) { PinThreads = false };
        port.Start(); // what engine.Start does before its threads; the test turns the worker itself

        Assert.True(device.Inject(0, Frame(60)));
        Assert.True(device.Inject(0, Frame(1000), Vmxnet3Layout.RxCompV4 | Vmxnet3Layout.RxCompIpc | Vmxnet3Layout.RxCompTcp | Vmxnet3Layout.RxCompTuc, notCalculated: false));
        engine.Workers[0].RunOnce();

        Assert.Equal(
            [
                new Seen(0, OffloadFlags.None, false, 60, typeof(Vmxnet3QueuePath.Facts)),
                new Seen(0, OffloadFlags.Ipv4ChecksumVerified | OffloadFlags.L4ChecksumVerified, false, 1000, typeof(Vmxnet3QueuePath.Facts)),
            ],
            seen);
        Assert.Equal(2, port.Counters(0).ReceivedPackets);
        Assert.Empty(device.Violations);
    }

    [Fact]
    public void A_super_frame_lro_delivered_over_head_and_body_buffers_reaches_the_processor_as_one_and_a_plain_frame_does_not()
    {
        var pool = new BufferPool(1024);
        var device = new FakeVmxnet3Device();
        using Vmxnet3Port port = Vmxnet3Port.Open("p0", device, lro: true);
        var seen = new List<Seen>();
        using var engine = new PacketEngine<Recorder>(pool, [0], [new PortBinding(port, (q, cache) => new Vmxnet3QueuePath(port.Queue(q, cache)))],
            _ => new Recorder(seen)) { PinThreads = false };
        port.Start();
        uint tcp4 = Vmxnet3Layout.RxCompV4 | Vmxnet3Layout.RxCompIpc | Vmxnet3Layout.RxCompTcp | Vmxnet3Layout.RxCompTuc;
        byte[] super = Vmxnet3LroTests.TcpFrame(30_000), plain = Vmxnet3LroTests.TcpFrame(1000);

        Assert.True(device.InjectCompound(0, super, tcp4, notCalculated: false) > 1);
        Assert.Equal(1, device.InjectCompound(0, plain, tcp4, notCalculated: false));
        engine.Workers[0].RunOnce();

        OffloadFlags verified = OffloadFlags.Ipv4ChecksumVerified | OffloadFlags.L4ChecksumVerified;
        Assert.Equal(
            [
                new Seen(0, verified, true, super.Length, typeof(Vmxnet3QueuePath.Facts)),
                new Seen(0, verified, false, plain.Length, typeof(Vmxnet3QueuePath.Facts)),
            ],
            seen);
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
