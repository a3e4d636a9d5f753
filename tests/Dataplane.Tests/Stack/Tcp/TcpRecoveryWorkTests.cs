using System.Reflection;
using Dataplane.Stack.Transport.Tcp;
using Xunit.Abstractions;
using static Dataplane.Tests.Stack.Tcp.TcpLab;
using static Dataplane.Tests.Stack.Tcp.TcpRecoveryTests;

namespace Dataplane.Tests.Stack.Tcp;

/// <summary>
/// The work an ACK costs the sender in loss recovery, as records of the scoreboard looked at
/// (<see cref="TcpScoreboard.SegmentsVisited"/>: SACK processing, RFC 6675's IsLost, RACK's
/// detect-loss, NextSeg). With thousands of segments in flight it must not grow with the window
/// (Linux keeps it so with its SACK block cache, its hints and RACK's time-ordered list): a scan
/// of the record per ACK makes a recovery quadratic in the window.
/// </summary>
public class TcpRecoveryWorkTests(ITestOutputHelper output)
{
    private const int Mss = 1460;
    private const int Flight = 2000;

    private static TcpScoreboard Scoreboard(TcpSocket socket)
        => (TcpScoreboard)typeof(TcpSocket).GetField("_scoreboard", BindingFlags.NonPublic | BindingFlags.Instance)!.GetValue(socket)!;

    /// <summary>
    /// Some 2,000 segments in flight (the window grown to it by slow start, the peer's window scaled)
    /// and 500 more queued; the first is lost, and the peer SACKs the others one ACK each. Counts
    /// the records visited per ACK over the 1,999 ACKs.
    /// </summary>
    [Fact]
    public void Recovery_work_per_ack_does_not_grow_with_the_window()
    {
        TcpLab lab = Listening(tcpBuffer: 16 << 20, poolBuffers: 16_384);
        lab.Peer.Open(1460, windowScale: 7, sackPermitted: true, handshakeRtt: TimeSpan.FromMilliseconds(100));
        TcpSocket connection = lab.Connection;
        var rx = new SackReceiver(lab.Peer.StackNxt);
        while (connection.CongestionWindow < Flight * Mss)
        {
            connection.Send(Bytes(connection.CongestionWindow));
            List<TcpSeg> round = lab.Peer.Sent();
            lab.Host.Advance(TimeSpan.FromMilliseconds(100));
            foreach (TcpSeg s in round)
                Deliver(lab, rx, s);
            lab.Peer.Sent();
        }
        Assert.Equal(0L, Scoreboard(connection).Count);

        int window = connection.CongestionWindow;
        Assert.Equal(window + 500 * Mss, connection.Send(Bytes(window + 500 * Mss)));
        List<TcpSeg> flight = lab.Peer.Sent();
        Assert.InRange(flight.Count, Flight, Flight + Flight / 10);
        lab.Host.Advance(TimeSpan.FromMilliseconds(100));
        TcpScoreboard board = Scoreboard(connection);
        long max = 0, total = 0;
        for (int i = 1; i < flight.Count; i++)
        {
            long before = board.SegmentsVisited;
            Deliver(lab, rx, flight[i]);
            long visited = board.SegmentsVisited - before;
            max = Math.Max(max, visited);
            total += visited;
        }
        Assert.Equal(1, lab.Host.Count(Dataplane.Stack.TcpCounter.FastRetransmits));
        output.WriteLine($"{flight.Count} in flight, one hole: {total} records visited over {flight.Count - 1} ACKs, {(double)total / (flight.Count - 1):0.0} per ACK, at most {max}");
    }
}
