using System.Reflection;
using Dataplane.Stack;
using Dataplane.Stack.Transport.Tcp;
using Dataplane.Wire;
using Xunit.Abstractions;
using static Dataplane.Tests.Stack.Tcp.TcpLab;
using static Dataplane.Tests.Stack.Tcp.TcpRecoveryTests;

namespace Dataplane.Tests.Stack.Tcp;

/// <summary>
/// The work an ACK costs the sender in loss recovery, as records of the scoreboard looked at
/// (<see cref="TcpScoreboard.SegmentsVisited"/>: SACK processing, RFC 6675's IsLost, RACK's
/// detect-loss, NextSeg). With thousands of segments in flight it must not grow with the window
/// (Linux keeps it so with its SACK block cache, its hints and RACK's time-ordered list): a scan
/// of the record per ACK makes a recovery quadratic in the window. And, as the rest of the data
/// path, a recovery allocates nothing once warm.
/// </summary>
public class TcpRecoveryWorkTests(ITestOutputHelper output)
{
    private const int Mss = 1460;
    private const int Flight = 2000;

    private static TcpScoreboard Scoreboard(TcpSocket socket)
        => (TcpScoreboard)typeof(TcpSocket).GetField("_scoreboard", BindingFlags.NonPublic | BindingFlags.Instance)!.GetValue(socket)!;

    /// <summary>
    /// Some 2,000 segments in flight (the window grown to it by slow start, the peer's window scaled)
    /// and 500 more queued; the first is lost (or one in a hundred, from the first: twenty holes),
    /// and the peer SACKs the others one ACK each, never receiving what is sent again. The records
    /// visited per ACK stay a small constant: the SACK block's new segment and an edge found where
    /// the last search ended, the loss line and RACK's walks moved on by a segment.
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(20)]
    public void Recovery_work_per_ack_does_not_grow_with_the_window(int holes)
    {
        TcpLab lab = Grown(Flight, out SackReceiver rx);
        TcpSocket connection = lab.Connection;

        int window = connection.CongestionWindow;
        Assert.Equal(window + 500 * Mss, connection.Send(Bytes(window + 500 * Mss)));
        List<TcpSeg> flight = lab.Peer.Sent();
        Assert.InRange(flight.Count, Flight, Flight + Flight / 10);
        lab.Host.Advance(TimeSpan.FromMilliseconds(100));
        TcpScoreboard board = Scoreboard(connection);
        long max = 0, total = 0;
        for (int i = 1; i < flight.Count; i++)
        {
            if (i < Flight && i % (Flight / holes) == 0)
                continue; // lost
            long before = board.SegmentsVisited;
            Deliver(lab, rx, flight[i]);
            long visited = board.SegmentsVisited - before;
            max = Math.Max(max, visited);
            total += visited;
        }
        Assert.Equal(1, lab.Host.Count(Dataplane.Stack.TcpCounter.FastRetransmits));
        int acks = flight.Count - holes;
        output.WriteLine($"{flight.Count} in flight, {holes} holes: {total} records visited over {acks} ACKs, {(double)total / acks:0.0} per ACK, at most {max}");
        // Scanning the record per ACK visited some 4,500 records per ACK here, 6,700 at most.
        Assert.True(total <= 16L * acks && max <= 40, $"{(double)total / acks:0.0} records visited per ACK, at most {max}");
    }

    /// <summary>
    /// SACK recovery allocates nothing once warm: ten segments go, the first is lost, the SACKs of
    /// the other nine a round trip later find it lost (RFC 6675 IsLost) and recovery sends it
    /// again (once), then the cumulative ACK ends recovery; again and again, from a window grown
    /// to 400 segments so that the reductions never leave less than ten.
    /// </summary>
    [Fact]
    public void Sack_recovery_allocates_nothing_in_the_steady_state()
    {
        TcpLab lab = Grown(400, out _);
        TcpSocket connection = lab.Connection;
        byte[] payload = Bytes(10 * Mss);
        byte[][] acks = new byte[10][];
        uint next = lab.Peer.StackNxt;
        long retransmitted = lab.Host.Count(TcpCounter.Retransmitted);

        long allocated = Allocations.Least(3, () =>
        {
            connection.Send(payload);
            lab.Host.Discard(0);
            lab.Host.Advance(TimeSpan.FromMilliseconds(100));
            for (int i = 0; i < acks.Length; i++)
            {
                if (i == acks.Length - 1)
                    lab.Host.Advance(TimeSpan.FromMilliseconds(50)); // the retransmission's round trip, within the RTO
                lab.Host.Receive(0, acks[i]);
                lab.Host.Discard(0);
            }
        }, prepare: () =>
        {
            uint s0 = next;
            for (int i = 1; i < 10; i++)
                acks[i - 1] = lab.Peer.Frame(lab.Peer.Seg(TcpFlags.Ack) with { Ack = s0, Sack = [(s0 + Mss, s0 + (uint)((i + 1) * Mss))] });
            acks[9] = lab.Peer.Frame(lab.Peer.Seg(TcpFlags.Ack) with { Ack = s0 + 10 * Mss });
            next = s0 + 10 * Mss;
        });

        Assert.Equal(0, allocated);
        Assert.Equal(4, lab.Host.Count(TcpCounter.FastRetransmits));
        Assert.Equal(4, lab.Host.Count(TcpCounter.Retransmitted) - retransmitted);
        Assert.Equal(0, connection.SendQueued);
    }

    /// <summary>A connection whose window slow start grew to at least <paramref name="segments"/> segments, nothing in flight; the peer's window scaled, SACK on.</summary>
    private static TcpLab Grown(int segments, out SackReceiver rx)
    {
        TcpLab lab = Listening(tcpBuffer: 16 << 20, poolBuffers: 16_384);
        lab.Peer.Open(1460, windowScale: 7, sackPermitted: true, handshakeRtt: TimeSpan.FromMilliseconds(100));
        TcpSocket connection = lab.Connection;
        rx = new SackReceiver(lab.Peer.StackNxt);
        while (connection.CongestionWindow < segments * Mss)
        {
            connection.Send(Bytes(connection.CongestionWindow));
            List<TcpSeg> round = lab.Peer.Sent();
            lab.Host.Advance(TimeSpan.FromMilliseconds(100));
            foreach (TcpSeg s in round)
                Deliver(lab, rx, s);
            lab.Peer.Sent();
        }
        Assert.Equal(0L, Scoreboard(connection).Count);
        return lab;
    }
}
