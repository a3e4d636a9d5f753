using Dataplane.Stack;
using Dataplane.Stack.Transport.Tcp;
using Dataplane.Wire;

namespace Dataplane.Tests.Stack.Tcp;

/// <summary>
/// A segment longer than a buffer (a jumbo MTU's, or a super-frame) arrives in a chain: TCP reads
/// its header in the first buffer, verifies its checksum over the chain and queues the chain as it
/// is, without the linear copy of it the other transports read.
/// </summary>
public class TcpChainedInputTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_chained_segment_is_queued_whole_without_a_linear_copy(bool ipv6)
    {
        TcpLab lab = TcpLab.Established(ipv6, mss: 8960, mtu: 9000);
        byte[] data = TcpLab.Bytes(8000, seed: 3);
        long copies = lab.Host.Worker.Packets.LinearCopies;
        lab.Host.ReceiveChained(0, lab.Peer.Frame(lab.Peer.Seg(TcpFlags.Ack | TcpFlags.Psh, data)));
        lab.Peer.Nxt += (uint)data.Length;

        Assert.Equal(data, TcpLab.ReadAll(lab.Connection));
        Assert.Equal(copies, lab.Host.Worker.Packets.LinearCopies);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_chained_segment_with_a_bad_checksum_is_dropped_and_counted(bool ipv6)
    {
        TcpLab lab = TcpLab.Established(ipv6, mss: 8960, mtu: 9000);
        byte[] frame = lab.Peer.Frame(lab.Peer.Seg(TcpFlags.Ack | TcpFlags.Psh, TcpLab.Bytes(8000, seed: 4)));
        frame[^100] ^= 0x20; // in the chain's last buffer
        lab.Host.ReceiveChained(0, frame);

        Assert.Equal(1, lab.Peer.Count(TcpCounter.BadChecksum));
        Assert.Equal(0, lab.Connection.ReadableBytes);
    }
}
