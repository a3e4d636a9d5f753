using Dataplane.Stack.Apps;
using Dataplane.Stack.Transport;
using Dataplane.Stack.Transport.Tcp;
using Dataplane.Tests.Stack;
using Dataplane.Tests.Stack.Tcp;
using Dataplane.Wire;

namespace Dataplane.Tests.Apps;

/// <summary><c>app echo tcp</c> (<see cref="TcpEchoApp"/>) against a peer the test plays segment by segment.</summary>
public class TcpEchoAppTests
{
    /// <summary>
    /// The peer sends 12 KiB and its FIN with its window shut, so the echo cannot leave: the app
    /// fills its 8 KiB send buffer (its last write taking exactly the room left) and the last 4 KiB
    /// wait in its receive queue. Nothing more will arrive to wake it, so when the peer opens its
    /// window and acknowledges the echo, the freed room must bring the app back (the stack calls
    /// OnSendSpace only for a send that did not fit): the last 4 KiB and the FIN follow.
    /// </summary>
    [Fact]
    public void An_echo_whose_send_buffer_filled_exactly_resumes_when_acknowledgments_free_it()
    {
        StackHarness host = StackHarness.Host(tcpBuffer: 8192);
        host.HideNeighborDiscovery = true;
        Assert.Equal(TcpError.None, host.Worker.Tcp.Start(new TcpEchoApp(InetEndpoint.Any(false).WithPort(7))));
        var peer = new TcpPeer(host, ipv6: false, port: 40000, stackPort: 7);
        peer.Open();
        byte[] payload = new byte[12 * 1024];
        new Random(7).NextBytes(payload);
        peer.Window = 0;
        for (int at = 0; at < payload.Length; at += 1460)
            peer.SendData(payload[at..Math.Min(payload.Length, at + 1460)]);
        peer.SendFin();
        Assert.DoesNotContain(peer.Sent(), s => s.Payload.Length > 0); // the window is shut: acknowledgments only

        var echoed = new List<byte>();
        bool fin = false;
        peer.Window = 65535;
        peer.SendAck(); // the window opens
        for (int round = 0; round < 10 && !fin; round++)
        {
            List<TcpSeg> sent = peer.Sent();
            if (sent.Count == 0)
                break;
            foreach (TcpSeg s in sent)
            {
                if (s.Seq == peer.StackNxt && s.Payload.Length > 0)
                {
                    echoed.AddRange(s.Payload);
                    peer.StackNxt += (uint)s.Payload.Length;
                }
                if ((s.Flags & TcpFlags.Fin) != 0 && s.Seq + (uint)s.Payload.Length == peer.StackNxt)
                {
                    fin = true;
                    peer.StackNxt++;
                }
            }
            peer.SendAck(); // all of it acknowledged: the send buffer is empty again
        }
        Assert.Equal(payload.Length, echoed.Count);
        Assert.Equal(payload, echoed.ToArray());
        Assert.True(fin, "no FIN after the echo");
    }
}
