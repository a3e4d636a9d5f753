using Dataplane.Stack;
using Dataplane.Stack.Apps;
using Dataplane.Stack.Transport;
using Dataplane.Stack.Transport.Tcp;
using Dataplane.Tests.Stack.Tcp;
using Dataplane.Wire;
using static Dataplane.Tests.Stack.StackHarness;

namespace Dataplane.Tests.Stack.Apps;

/// <summary>
/// <c>app relay tcp</c> over literal segments, in both modes: the client A connects to the relay's
/// port 8080, the relay connects to the server B at port 5000; what each side's events become on
/// the other (data, a FIN as a half-close, a reset, a refusal), and the relay's limits.
/// </summary>
public class TcpRelayAppTests
{
    private const ushort RelayPort = 8080;

    private sealed class Lab
    {
        public required StackHarness Host { get; init; }
        public required TcpRelayApp Relay { get; init; }
        public required TcpPeer A { get; init; }
        public required TcpPeer B { get; init; }

        /// <summary>A's handshake with the relay done; the relay's SYN to B waits, unanswered.</summary>
        public static Lab Opened(bool splice, long maxBytes = 0, long idleTimeout = 0)
        {
            StackHarness host = Host();
            host.HideNeighborDiscovery = true;
            var a = new TcpPeer(host, port: 40000, stackPort: RelayPort);
            var b = new TcpPeer(host, port: 5000, stackPort: 0);
            _ = new PeerWire(host, a, b);
            var relay = new TcpRelayApp(InetEndpoint.Any(ipv6: false).WithPort(RelayPort), b.Endpoint, splice, maxBytes, idleTimeout);
            Assert.Equal(TcpError.None, host.Worker.Tcp.Start(relay));
            a.Open();
            return new Lab { Host = host, Relay = relay, A = a, B = b };
        }

        /// <summary>As <see cref="Opened"/>, and B answered the relay's SYN.</summary>
        public static Lab Connected(bool splice, long maxBytes = 0, long idleTimeout = 0)
        {
            Lab lab = Opened(splice, maxBytes, idleTimeout);
            lab.B.AnswerSyn();
            return lab;
        }

        /// <summary>What <paramref name="peer"/> got since the last call, in order and acknowledged each round, until nothing more comes; and whether a FIN ended it.</summary>
        public static (byte[] Data, bool Fin, bool Reset) Take(TcpPeer peer)
        {
            var bytes = new List<byte>();
            bool fin = false, reset = false;
            for (int round = 0; round < 100; round++)
            {
                bool any = false;
                foreach (TcpSeg s in peer.Sent())
                {
                    reset |= (s.Flags & TcpFlags.Rst) != 0;
                    if (s.Seq != peer.StackNxt || (s.Payload.Length == 0 && (s.Flags & TcpFlags.Fin) == 0))
                        continue;
                    bytes.AddRange(s.Payload);
                    peer.StackNxt += (uint)s.Payload.Length;
                    if ((s.Flags & TcpFlags.Fin) != 0)
                    {
                        fin = true;
                        peer.StackNxt++;
                    }
                    any = true;
                }
                if (!any)
                    break;
                peer.SendAck();
            }
            return ([.. bytes], fin, reset);
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Bytes_cross_both_ways_and_each_FIN_ends_its_direction_only(bool splice)
    {
        Lab lab = Lab.Opened(splice);
        byte[] request = TcpLab.Bytes(1200, seed: 1);
        lab.A.SendData(request); // before B answered: it waits in the relay
        lab.B.AnswerSyn();
        Assert.Equal(request, Lab.Take(lab.B).Data);

        // A is done sending: B sees the FIN, and still answers, which A receives.
        lab.A.SendFin();
        (byte[] _, bool bFin, _) = Lab.Take(lab.B);
        Assert.True(bFin, "the client's FIN did not reach the server");
        byte[] response = TcpLab.Bytes(3000, seed: 2);
        lab.B.SendData(response[..1000]);
        lab.B.SendData(response[1000..2000]);
        lab.B.SendData(response[2000..], TcpFlags.Ack | TcpFlags.Psh | TcpFlags.Fin);
        lab.B.Nxt++;
        (byte[] got, bool aFin, bool reset) = Lab.Take(lab.A);
        Assert.Equal(response, got);
        Assert.True(aFin && !reset, $"the server's FIN after its answer: fin {aFin}, reset {reset}");
        Assert.Equal(1, lab.Host.Count(TcpCounter.RelaySessions));
        Assert.Equal(splice ? 2 : 0, lab.Host.Count(TcpCounter.SplicesStarted));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void A_server_that_refuses_gets_the_client_reset(bool splice)
    {
        Lab lab = Lab.Opened(splice);
        TcpSeg syn = lab.B.SentOne();
        lab.B.Send(lab.B.Seg(TcpFlags.Rst | TcpFlags.Ack) with { DestinationPort = syn.SourcePort, Seq = 0, Ack = syn.Seq + 1 });
        Assert.True(Lab.Take(lab.A).Reset, "the client was not reset");
        Assert.Equal(1, lab.Host.Count(TcpCounter.RelayConnectFailed));
        Assert.Equal(0, lab.Relay.SessionCount);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void A_server_reset_mid_stream_resets_the_client(bool splice)
    {
        Lab lab = Lab.Connected(splice);
        lab.A.SendData(TcpLab.Bytes(500));
        Assert.Equal(500, Lab.Take(lab.B).Data.Length);
        lab.B.Send(lab.B.Seg(TcpFlags.Rst | TcpFlags.Ack));
        Assert.True(Lab.Take(lab.A).Reset, "the client was not reset");
        Assert.Equal(0, lab.Relay.SessionCount);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void The_maximum_ends_a_direction_with_a_FIN_after_exactly_that_many_bytes(bool splice)
    {
        Lab lab = Lab.Connected(splice, maxBytes: 1500);
        byte[] data = TcpLab.Bytes(3000, seed: 5);
        lab.A.SendData(data[..1000]);
        lab.A.SendData(data[1000..2000]);
        lab.A.SendData(data[2000..]);
        (byte[] got, bool fin, _) = Lab.Take(lab.B);
        Assert.Equal(data[..1500], got);
        Assert.True(fin, "no FIN after the maximum");
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void An_idle_session_is_reset_both_ways_and_one_that_moves_is_not(bool splice)
    {
        Lab lab = Lab.Connected(splice, idleTimeout: 2_000_000_000);
        void Wait(double seconds)
        {
            for (double left = seconds; left > 0; left -= 0.25)
            {
                lab.Host.KnowingPeers();
                lab.Host.Advance(TimeSpan.FromSeconds(Math.Min(0.25, left)));
            }
        }
        // One way only moves, every second: the session lives (the other direction's splice times out and is made again).
        for (int i = 0; i < 4; i++)
        {
            lab.A.SendData(TcpLab.Bytes(100, seed: i));
            Assert.Equal(100, Lab.Take(lab.B).Data.Length);
            Wait(1);
        }
        Assert.Equal(1, lab.Relay.SessionCount);
        Assert.False(Lab.Take(lab.A).Reset);

        Wait(3);
        Assert.Equal(0, lab.Relay.SessionCount);
        Assert.True(Lab.Take(lab.A).Reset, "the client was not reset");
        Assert.True(Lab.Take(lab.B).Reset, "the server was not reset");
        Assert.Equal(1, lab.Host.Count(TcpCounter.RelayIdleClosed));
    }
}
