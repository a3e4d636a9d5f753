using Dataplane.Buffers;
using Dataplane.Engine;
using Dataplane.Ports;
using Dataplane.Stack;
using Dataplane.Stack.Offload;
using Dataplane.Tests.Stack.Tcp;
using Dataplane.Wire;

namespace Dataplane.Tests.Stack.Offload;

/// <summary>
/// A super-frame software LRO made, taken up by the stack as a port's super-frame would be: TCP
/// takes it whole, the data of every segment reaches the connection and is acknowledged at once.
/// </summary>
public class SoftLroStackTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Segments_merged_in_software_reach_the_connection_whole_and_are_acknowledged(bool ipv6)
    {
        TcpLab lab = TcpLab.Established(ipv6, timestamps: true, lro: true);
        lab.App.ReadOnReceive = true;
        BufferPool pool = lab.Host.Pool;
        var lro = new SoftLro(lab.Host.Context, lab.Host.Counters);
        var burst = new PacketBuffer[3];
        byte[] data = Frames.Payload(3 * 1000);
        for (int i = 0; i < burst.Length; i++)
        {
            byte[] frame = lab.Peer.Frame(lab.Peer.Seg(TcpFlags.Ack, data[(i * 1000)..((i + 1) * 1000)]));
            lab.Peer.Nxt += 1000;
            Assert.True(FrameChain.TryAllocate(lab.Host.Cache, frame.Length, out burst[i]));
            FrameChain.Write(pool, burst[i], 0, frame);
            pool.Metadata(burst[i]).Port = 0;
        }

        PacketBuffer super = Assert.Single(burst.AsSpan(0, lro.Merge(burst, OffloadReport.PerFrame)).ToArray());
        lab.Host.Worker.Input<UnknownDriverFacts>(0, super);
        lab.Host.Context.FlushAll();

        Assert.Equal(1, lab.Host.Count(OffloadCounter.TakenWhole)); // TCP took it whole, not cut again
        Assert.Equal(data, lab.App.Received);
        Assert.Equal(lab.Peer.Nxt, lab.Peer.Sent()[0].Ack); // at once, not after the delayed-ACK time: it holds three segments (window updates may follow the app's reads)
    }
}
