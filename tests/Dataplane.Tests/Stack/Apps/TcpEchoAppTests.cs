using Dataplane.Stack.Apps;
using Dataplane.Stack.Transport;
using Dataplane.Stack.Transport.Tcp;
using Dataplane.Tests.Stack.Tcp;
using Dataplane.Wire;
using static Dataplane.Tests.Stack.StackHarness;

namespace Dataplane.Tests.Stack.Apps;

/// <summary>The TCP echo app over literal segments: what it echoes when its send buffer and the peer's window hold it back.</summary>
public class TcpEchoAppTests
{
    /// <summary>
    /// The echo fills its send buffer exactly (the peer's window holds its data back) and then the
    /// peer fills the receive buffer, which closes the window: no more data can arrive, so only the
    /// acknowledgments that empty the send buffer can bring the echo back. They must (TcpApp's
    /// contract: OnSendSpace follows a Send that took less than it was given). Found by the flood
    /// lab: under an ACK flood the peer's window probes, the only other way out, never came, and a
    /// 32 MiB echo stood still for as long as the flood lasted.
    /// </summary>
    [Fact]
    public void An_echo_whose_send_buffer_filled_exactly_resumes_when_acknowledgments_empty_it_with_the_receive_window_closed()
    {
        const int Buffer = 4096; // the smallest `set tcp buffer`: send and receive buffer each
        StackHarness host = Host(tcpBuffer: Buffer);
        host.HideNeighborDiscovery = true;
        Assert.Equal(TcpError.None, host.Worker.Tcp.Start(new TcpEchoApp(InetEndpoint.Any(ipv6: false).WithPort(7))));
        var peer = new TcpPeer(host, ipv6: false, port: 40000, stackPort: 7) { Window = 1000 };
        peer.Open(synWindow: 1000);
        var echoed = new List<byte>();
        void Take(IEnumerable<TcpSeg> segments)
        {
            foreach (TcpSeg s in segments.Where(s => s.Payload.Length > 0 && s.Seq == peer.StackNxt))
            {
                echoed.AddRange(s.Payload);
                peer.StackNxt += (uint)s.Payload.Length;
            }
        }

        // The first 4096 bytes fill the send buffer: the peer's window of 1000 lets only 1000 out.
        // The next 4096 wait in the receive buffer, whose window is then closed.
        byte[] sent = TcpLab.Bytes(2 * Buffer);
        for (int i = 0; i < sent.Length; i += 1024)
            peer.SendData(sent[i..(i + 1024)]);
        List<TcpSeg> first = peer.Sent();
        Take(first);
        Assert.Equal(1000, echoed.Count);
        Assert.Equal(0, first[^1].Window); // the receive window closed: nothing more can arrive

        // The peer takes what comes and acknowledges it, its window wide open, until nothing more comes.
        peer.Window = 65535;
        for (int round = 0; round < 100; round++)
        {
            peer.SendAck();
            int before = echoed.Count;
            Take(peer.Sent());
            if (echoed.Count == before)
                break;
        }

        Assert.Equal(sent, echoed.ToArray());
    }
}
