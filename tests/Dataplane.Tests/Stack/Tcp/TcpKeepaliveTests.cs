using Dataplane.Stack;
using Dataplane.Stack.Transport.Tcp;
using Dataplane.Wire;
using static Dataplane.Tests.Stack.Tcp.TcpLab;

namespace Dataplane.Tests.Stack.Tcp;

/// <summary>Keepalive (RFC 1122 4.2.3.6) over literal segments: probes after the idle time, an answered probe keeps the connection, unanswered ones end it.</summary>
public class TcpKeepaliveTests
{
    /// <summary>RFC 1122 4.2.3.6: after the idle time, a probe the peer must answer: SND.UNA - 1 and no data (as Linux sends it).</summary>
    [Fact]
    public void An_idle_connection_is_probed_after_the_idle_time()
    {
        TcpLab lab = Established();
        lab.Connection.SetKeepAlive(TimeSpan.FromSeconds(10));

        lab.Host.Advance(TimeSpan.FromMilliseconds(9990));
        lab.Peer.NothingSent();
        lab.Host.Advance(TimeSpan.FromMilliseconds(20));

        TcpSeg probe = lab.Peer.SentOne();
        Assert.Equal(TcpFlags.Ack, probe.Flags);
        Assert.Equal(lab.Peer.StackNxt - 1, probe.Seq);
        Assert.Empty(probe.Payload);
        Assert.Equal(1, lab.Host.Count(TcpCounter.KeepaliveProbes));
    }

    /// <summary>
    /// RFC 1122 4.2.3.6: keepalive probes are for a connection from which nothing was received for
    /// the interval; a peer that answers every probe is alive, and the connection must not be dropped.
    /// </summary>
    [Fact]
    public void A_peer_that_answers_its_probes_keeps_the_connection()
    {
        TcpLab lab = Established();
        lab.Connection.SetKeepAlive(TimeSpan.FromSeconds(10));

        for (int i = 0; i < 12; i++)
        {
            lab.Wait(TimeSpan.FromSeconds(76));
            foreach (TcpSeg probe in lab.Peer.Sent())
            {
                Assert.False(probe.Has(TcpFlags.Rst), $"reset after {i} answered probes: {probe}");
                lab.Peer.SendAck(); // the answer to a probe: <SEQ=SND.NXT><ACK=RCV.NXT>
            }
        }

        Assert.Equal(TcpState.Established, lab.Connection.State);
        Assert.Equal(0, lab.Host.Count(TcpCounter.KeepaliveDrops));
    }

    /// <summary>RFC 1122 4.2.3.6: data from the peer is activity; the idle time counts from it.</summary>
    [Fact]
    public void Data_from_the_peer_postpones_the_probe()
    {
        TcpLab lab = Established();
        lab.Connection.SetKeepAlive(TimeSpan.FromSeconds(10));

        lab.Host.Advance(TimeSpan.FromSeconds(8));
        lab.Peer.SendData(Bytes(10));
        lab.Peer.SendData(Bytes(10));
        lab.Peer.Sent();
        lab.Host.Advance(TimeSpan.FromSeconds(5));

        lab.Peer.NothingSent();
    }

    /// <summary>RFC 1122 4.2.3.6 with Linux's counts: nine unanswered probes 75 s apart end the connection (TimedOut), with a reset.</summary>
    [Fact]
    public void Unanswered_probes_end_the_connection()
    {
        TcpLab lab = Established();
        lab.Connection.SetKeepAlive(TimeSpan.FromSeconds(10));

        lab.Wait(TimeSpan.FromSeconds(11));
        for (int i = 0; i < 9; i++)
            lab.Wait(TimeSpan.FromSeconds(75));

        Assert.Equal(TcpState.Closed, lab.Connection.State);
        Assert.Equal(["accept", "closed TimedOut"], lab.App.Events);
        Assert.Equal(1, lab.Host.Count(TcpCounter.KeepaliveDrops));
        Assert.Equal(9, lab.Host.Count(TcpCounter.KeepaliveProbes));
        List<TcpSeg> sent = lab.Peer.Sent();
        Assert.True(sent[^1].Has(TcpFlags.Rst), string.Join(" | ", sent));
    }
}
