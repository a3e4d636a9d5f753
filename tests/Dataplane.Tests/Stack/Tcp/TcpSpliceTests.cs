using Dataplane.Stack;
using Dataplane.Stack.Transport;
using Dataplane.Stack.Transport.Tcp;
using Dataplane.Wire;
using static Dataplane.Tests.Stack.StackHarness;

namespace Dataplane.Tests.Stack.Tcp;

/// <summary>
/// TCP socket splicing (<c>TcpSocket.Splice.cs</c>) over literal segments, by OpenBSD's SO_SPLICE
/// semantics: a connection the peer A opened (the source) spliced to one the host opened to the
/// peer B (the drain). What A sends leaves toward B in the buffers it arrived in; backpressure
/// through the windows; the splice ends on end of stream, its maximum, its idle timeout, a drain
/// gone or a source failed, each reported on the source; the refusals.
/// </summary>
public class TcpSpliceTests
{
    /// <summary>The host with both connections established, nothing spliced yet.</summary>
    private sealed class Lab
    {
        public required StackHarness Host { get; init; }
        public required TcpTestApp App { get; init; }
        public required TcpPeer A { get; init; }
        public required TcpPeer B { get; init; }
        public required TcpSocket Source { get; init; }
        public required TcpSocket Drain { get; init; }

        /// <summary>A opened a connection to the app's port 80; the app connected to B, whose SYN-ACK offered <paramref name="bWindow"/>.</summary>
        public static Lab Open(bool ipv6 = false, int tcpBuffer = TcpSocketTable.DefaultBuffer, ushort bWindow = 65535)
        {
            StackHarness host = Host(tcpBuffer: tcpBuffer);
            host.HideNeighborDiscovery = true;
            var app = new TcpTestApp(InetEndpoint.Any(ipv6).WithPort(80));
            Assert.Equal(TcpError.None, host.Worker.Tcp.Start(app));
            var a = new TcpPeer(host, ipv6, port: 40000, stackPort: 80);
            var b = new TcpPeer(host, ipv6, port: 5000, stackPort: 0);
            _ = new PeerWire(host, a, b);
            a.Open();
            TcpSocket drain = app.Open(ipv6);
            Assert.Equal(TcpError.None, drain.Connect(b.Endpoint));
            b.AnswerSyn(window: bWindow);
            Assert.Equal(TcpFlags.Ack, b.SentOne().Flags);
            Assert.Equal(TcpState.Established, drain.State);
            return new Lab { Host = host, App = app, A = a, B = b, Source = app.Accepted.Single(), Drain = drain };
        }

        /// <summary>What B received in order since the last call, each round acknowledged, until no more comes (the drain's Nagle waits for the ACKs).</summary>
        public byte[] BReceives()
        {
            var bytes = new List<byte>();
            for (int round = 0; round < 100; round++)
            {
                int before = bytes.Count;
                foreach (TcpSeg s in B.Sent().Where(s => s.Payload.Length > 0 && s.Seq == B.StackNxt))
                {
                    bytes.AddRange(s.Payload);
                    B.StackNxt += (uint)s.Payload.Length;
                }
                if (bytes.Count == before)
                    break;
                B.SendAck();
            }
            return [.. bytes];
        }

        public void Wait(TimeSpan time)
        {
            for (TimeSpan left = time; left > TimeSpan.Zero; left -= TimeSpan.FromMilliseconds(500))
            {
                Host.KnowingPeers();
                Host.Advance(left < TimeSpan.FromMilliseconds(500) ? left : TimeSpan.FromMilliseconds(500));
            }
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void What_the_source_receives_leaves_by_the_drain_and_never_reaches_the_app(bool ipv6)
    {
        Lab lab = Lab.Open(ipv6);
        Assert.Equal(TcpError.None, lab.Source.Splice(lab.Drain));
        lab.App.Events.Clear();
        byte[] data = TcpLab.Bytes(5000, seed: 7);
        for (int i = 0; i < data.Length; i += 1000)
            lab.A.SendData(data[i..(i + 1000)]);

        Assert.Equal(data, lab.BReceives());
        Assert.DoesNotContain("receive", lab.App.Events);
        Assert.Equal(5000, lab.Source.SpliceMoved);
        Assert.Equal(0, lab.Source.ReadableBytes);
        Assert.Equal(1, lab.Host.Count(TcpCounter.SplicesStarted));
        Assert.Equal(5000, lab.Host.Count(TcpCounter.SplicedBytes));
        // A's bytes are acknowledged to it as an app's read would have them.
        Assert.Contains(lab.A.Sent(), s => s.Ack == lab.A.Nxt);
    }

    /// <summary>
    /// The received frames themselves wait in the drain's send queue: held by B's closed window,
    /// five segments take five packet buffers, the ones they arrived in; a copy would have taken
    /// fresh ones beside them. And once B acknowledges, every one goes back.
    /// </summary>
    [Fact]
    public void The_bytes_move_in_the_buffers_they_arrived_in_without_a_copy()
    {
        Lab lab = Lab.Open(bWindow: 0);
        Assert.Equal(TcpError.None, lab.Source.Splice(lab.Drain));
        lab.A.Sent();
        int before = lab.Host.BuffersOutstanding;
        for (int i = 0; i < 5; i++)
            lab.A.SendData(TcpLab.Bytes(1000, seed: i));
        List<TcpSeg> toA = lab.A.Sent();
        List<TcpSeg> toB = lab.B.Sent();
        Assert.Equal(5000, lab.Drain.SendQueued);
        Assert.DoesNotContain(toB, s => s.Payload.Length > 0);
        Assert.Equal(lab.A.Nxt, toA[^1].Ack);
        Assert.Equal(0, lab.Source.ReadableBytes);
        Assert.Equal(5, lab.Host.BuffersOutstanding - before);

        lab.B.Window = 65535;
        lab.B.SendAck();
        Assert.Equal(5000, lab.BReceives().Length);
        Assert.Equal(0, lab.Drain.SendQueued);
        lab.A.Sent();
        lab.B.Sent();
        Assert.Equal(0, lab.Host.BuffersOutstanding - before);
    }

    /// <summary>
    /// Backpressure: the drain's send buffer (4,096 bytes) takes what it has room for, the rest
    /// waits in the source, whose window toward A closes; as B acknowledges, the rest moves and A's
    /// window opens again. Every byte arrives at B once, in order.
    /// </summary>
    [Fact]
    public void A_full_drain_closes_the_sources_window_and_its_acknowledgments_open_it_again()
    {
        Lab lab = Lab.Open(tcpBuffer: 4096, bWindow: 0);
        Assert.Equal(TcpError.None, lab.Source.Splice(lab.Drain));
        byte[] data = TcpLab.Bytes(8000, seed: 3);
        for (int i = 0; i < 4000; i += 1000)
            lab.A.SendData(data[i..(i + 1000)]);
        List<TcpSeg> toA = lab.A.Sent();
        Assert.Equal(4000, lab.Drain.SendQueued);
        Assert.True(toA[^1].Window <= 4096, $"A was offered {toA[^1].Window}");
        // Three more fit the source's buffer (4,096, and an eighth for the window's rounding).
        for (int i = 4000; i < 7000; i += 1000)
            lab.A.SendData(data[i..(i + 1000)]);
        toA = lab.A.Sent();
        Assert.Equal(4096, lab.Drain.SendQueued);
        Assert.Equal(7000 - 4096, lab.Source.ReadableBytes);
        Assert.True(toA[^1].Window < 1000, $"A was offered {toA[^1].Window} with the drain full");

        lab.B.Window = 65535;
        lab.B.SendAck();
        Assert.Equal(data[..7000], lab.BReceives());
        Assert.Equal(0, lab.Source.ReadableBytes);
        Assert.True(lab.A.Sent().Last().Window >= 2048, "A's window did not open again");
    }

    /// <summary>
    /// OpenBSD: the splice dissolves when the source reaches the end of its stream with nothing left
    /// to move; it carries no FIN (the app decides: a relay shuts the drain down).
    /// </summary>
    [Fact]
    public void The_end_of_the_sources_stream_dissolves_the_splice_once_everything_moved()
    {
        Lab lab = Lab.Open();
        Assert.Equal(TcpError.None, lab.Source.Splice(lab.Drain));
        lab.A.SendData(TcpLab.Bytes(1000));
        lab.A.SendData(TcpLab.Bytes(1000, seed: 1), TcpFlags.Ack | TcpFlags.Psh | TcpFlags.Fin);

        Assert.Equal(2000, lab.BReceives().Length);
        Assert.Contains("splice ended EndOfStream", lab.App.Events);
        Assert.Equal(SpliceEnd.EndOfStream, lab.Source.SpliceEnded);
        Assert.Null(lab.Source.SpliceDrain);
        Assert.Null(lab.Drain.SpliceSource);
        Assert.True(lab.Source.IsReceiveFinished);
        Assert.Equal(TcpState.Established, lab.Drain.State);
        Assert.DoesNotContain(lab.B.Sent(), s => (s.Flags & TcpFlags.Fin) != 0);
        Assert.Equal(1, lab.Host.Count(TcpCounter.SpliceEndOfStream));
    }

    [Fact]
    public void The_maximum_moves_exactly_that_many_bytes_and_the_rest_waits_for_the_app()
    {
        Lab lab = Lab.Open();
        Assert.Equal(TcpError.None, lab.Source.Splice(lab.Drain, maxBytes: 1500));
        byte[] data = TcpLab.Bytes(2000, seed: 9);
        lab.A.SendData(data[..1000]);
        lab.A.SendData(data[1000..]);

        Assert.Equal(data[..1500], lab.BReceives());
        Assert.Contains("splice ended MaximumReached", lab.App.Events);
        Assert.Equal(1500, lab.Source.SpliceMoved);
        Assert.Equal(500, lab.Source.ReadableBytes);
        byte[] rest = new byte[1000];
        Assert.Equal(500, lab.Source.Receive(rest));
        Assert.Equal(data[1500..], rest[..500]);
        Assert.Equal(1, lab.Host.Count(TcpCounter.SpliceMaximum));
    }

    [Fact]
    public void The_idle_timeout_counts_from_the_last_byte_moved()
    {
        Lab lab = Lab.Open();
        Assert.Equal(TcpError.None, lab.Source.Splice(lab.Drain, idleTimeout: 2_000_000_000));
        lab.Wait(TimeSpan.FromSeconds(1.5));
        lab.A.SendData(TcpLab.Bytes(100));
        Assert.Equal(100, lab.BReceives().Length);
        lab.Wait(TimeSpan.FromSeconds(1.5));
        Assert.NotNull(lab.Source.SpliceDrain); // 3 s since the splice, 1.5 s since the last byte
        lab.Wait(TimeSpan.FromSeconds(1));
        Assert.Null(lab.Source.SpliceDrain);
        Assert.Equal(SpliceEnd.IdleTimeout, lab.Source.SpliceEnded);
        Assert.Contains("splice ended IdleTimeout", lab.App.Events);
        Assert.Equal(1, lab.Host.Count(TcpCounter.SpliceIdleTimeout));
    }

    [Fact]
    public void A_drain_reset_by_its_peer_dissolves_the_splice_and_the_source_is_the_apps_again()
    {
        Lab lab = Lab.Open();
        lab.App.ReadOnReceive = true;
        Assert.Equal(TcpError.None, lab.Source.Splice(lab.Drain));
        lab.B.Send(lab.B.Seg(TcpFlags.Rst | TcpFlags.Ack));
        Assert.Equal(TcpState.Closed, lab.Drain.State);
        Assert.Contains("splice ended DrainGone", lab.App.Events);
        Assert.Equal(SpliceEnd.DrainGone, lab.Source.SpliceEnded);

        lab.A.SendData(TcpLab.Bytes(300, seed: 4));
        Assert.Equal(TcpLab.Bytes(300, seed: 4), lab.App.Received.ToArray());
        Assert.Equal(1, lab.Host.Count(TcpCounter.SpliceDrainGone));
    }

    [Fact]
    public void A_source_reset_by_its_peer_dissolves_the_splice_with_the_error_on_the_source()
    {
        Lab lab = Lab.Open();
        Assert.Equal(TcpError.None, lab.Source.Splice(lab.Drain));
        lab.A.Send(lab.A.Seg(TcpFlags.Rst | TcpFlags.Ack));
        Assert.Equal(SpliceEnd.SourceError, lab.Source.SpliceEnded);
        Assert.Equal(TcpError.Reset, lab.Source.Error);
        Assert.Contains("splice ended SourceError", lab.App.Events);
        Assert.Equal(TcpState.Established, lab.Drain.State); // the splice carries no reset: the app decides
        Assert.Null(lab.Drain.SpliceSource);
    }

    [Fact]
    public void Splicing_is_refused_for_a_listener_an_unconnected_socket_a_socket_spliced_already_and_bad_limits()
    {
        Lab lab = Lab.Open();
        TcpSocket fresh = lab.App.Open(ipv6: false);
        Assert.Equal(TcpError.InvalidState, lab.App.Listener!.Splice(lab.Drain));
        Assert.Equal(TcpError.InvalidState, lab.Source.Splice(lab.App.Listener));
        Assert.Equal(TcpError.InvalidState, fresh.Splice(lab.Drain));
        Assert.Equal(TcpError.InvalidState, lab.Source.Splice(fresh));
        Assert.Equal(TcpError.InvalidArgument, lab.Source.Splice(lab.Source));
        Assert.Equal(TcpError.InvalidArgument, lab.Source.Splice(lab.Drain, maxBytes: -1));
        Assert.Equal(TcpError.InvalidArgument, lab.Source.Splice(lab.Drain, idleTimeout: -1));
        Assert.Equal(7, lab.Host.Count(TcpCounter.SplicesRefused));

        Assert.Equal(TcpError.None, lab.Source.Splice(lab.Drain));
        Assert.Equal(TcpError.Busy, lab.Source.Splice(lab.Drain)); // the source is spliced already
        Assert.Equal(TcpError.Busy, fresh.Splice(lab.Drain));      // the drain has a source already
        // The reverse splice of a relay is no conflict: the drain may be a source, the source a drain.
        Assert.Equal(TcpError.None, lab.Drain.Splice(lab.Source));

        lab.Source.Unsplice();
        lab.Drain.Unsplice();
        Assert.Equal(TcpError.None, lab.Drain.Shutdown());
        Assert.Equal(TcpError.InvalidState, lab.Source.Splice(lab.Drain)); // the drain cannot send any more
    }

    [Fact]
    public void While_spliced_the_app_cannot_read_the_source_nor_write_the_drain_and_after_it_can()
    {
        Lab lab = Lab.Open(tcpBuffer: 4096, bWindow: 0);
        Assert.Equal(TcpError.None, lab.Source.Splice(lab.Drain));
        byte[] data = TcpLab.Bytes(6000, seed: 5);
        for (int i = 0; i < data.Length; i += 1000)
            lab.A.SendData(data[i..(i + 1000)]);
        Assert.True(lab.Source.ReadableBytes > 0);
        Assert.Equal(0, lab.Source.Receive(new byte[100]));
        Assert.True(lab.Source.Peek().IsEmpty);
        Assert.Equal(-1, lab.Drain.Send([1, 2, 3]));
        Assert.True(lab.Drain.Reserve().IsEmpty);

        lab.Source.Unsplice();
        Assert.Equal(SpliceEnd.Unspliced, lab.Source.SpliceEnded);
        byte[] rest = new byte[8000];
        int n = lab.Source.Receive(rest);
        Assert.Equal(data[4096..], rest[..n]);
        Assert.Equal(1, lab.Host.Count(TcpCounter.SpliceUnspliced));
    }

    [Fact]
    public void Netstat_reads_the_splice_on_its_source_the_drains_endpoints_the_bytes_moved_and_the_limits()
    {
        Lab lab = Lab.Open();
        Assert.Equal(TcpError.None, lab.Source.Splice(lab.Drain, maxBytes: 1 << 20, idleTimeout: 30_000_000_000));
        lab.A.SendData(TcpLab.Bytes(1234));
        Assert.True(lab.Source.TryRead(0, out TcpSocketInfo info));
        Assert.Equal(new TcpSpliceInfo(lab.Drain.Local, lab.Drain.Remote, 1234, 1 << 20, 30_000_000_000), info.Splice);
        Assert.True(lab.Drain.TryRead(0, out TcpSocketInfo drainInfo));
        Assert.Null(drainInfo.Splice);
    }

    /// <summary>Once the queues reached their size, a spliced segment in and its way out allocate nothing.</summary>
    [Fact]
    public void Splicing_allocates_nothing_per_segment()
    {
        Lab lab = Lab.Open();
        Assert.Equal(TcpError.None, lab.Source.Splice(lab.Drain));
        var frames = new List<byte[]>();
        for (int i = 0; i < 240; i++)
        {
            frames.Add(lab.A.Frame(lab.A.Seg(TcpFlags.Ack | TcpFlags.Psh, TcpLab.Bytes(1000, seed: i))));
            lab.A.Nxt += 1000;
        }
        for (int i = 0; i < 40; i++)
            lab.Host.Receive(0, frames[i]);
        lab.Host.Discard();
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 40; i < 60; i++)
            lab.Host.Receive(0, frames[i]);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(60_000, lab.Source.SpliceMoved);
        Assert.Equal(0, allocated);
    }

    /// <summary>
    /// Tiny segments are gathered into the drain's own buffers, not moved one frame each: else a
    /// peer sending a byte or ten at a time through a splice whose drain's peer reads slowly would
    /// pin a packet buffer per segment, the drain's bound being in bytes (found in review).
    /// </summary>
    [Fact]
    public void Tiny_segments_through_a_splice_do_not_pin_a_buffer_each()
    {
        Lab lab = Lab.Open(bWindow: 0);
        Assert.Equal(TcpError.None, lab.Source.Splice(lab.Drain));
        lab.A.Sent();
        int before = lab.Host.BuffersOutstanding;
        var data = new List<byte>();
        for (int i = 0; i < 200; i++)
        {
            byte[] tiny = TcpLab.Bytes(10, seed: i);
            data.AddRange(tiny);
            lab.A.SendData(tiny);
        }
        lab.A.Sent();
        lab.B.Sent();
        Assert.Equal(2000, lab.Drain.SendQueued);
        Assert.InRange(lab.Host.BuffersOutstanding - before, 1, 2);

        lab.B.Window = 65535;
        lab.B.SendAck();
        Assert.Equal(data.ToArray(), lab.BReceives());
    }

    /// <summary>
    /// A source whose connection closed with its stream's last bytes still waiting for the drain
    /// stays spliced, and its idle timeout still holds: the close stopped every timer, the splice's
    /// too, and a drain whose peer never opened its window kept the splice (and a relay's session)
    /// forever (found in review).
    /// </summary>
    [Fact]
    public void The_idle_timeout_holds_for_a_source_whose_connection_closed_with_bytes_left()
    {
        Lab lab = Lab.Open(tcpBuffer: 4096, bWindow: 0);
        Assert.Equal(TcpError.None, lab.Source.Splice(lab.Drain, idleTimeout: 2_000_000_000));
        for (int i = 0; i < 4; i++)
            lab.A.SendData(TcpLab.Bytes(1000, seed: i));
        lab.A.SendData(TcpLab.Bytes(500, seed: 9), TcpFlags.Ack | TcpFlags.Psh | TcpFlags.Fin);
        Assert.True(lab.Source.ReadableBytes > 0);
        Assert.Equal(TcpError.None, lab.Source.Shutdown());
        TcpSeg fin = lab.A.Sent().Last(s => (s.Flags & TcpFlags.Fin) != 0);
        lab.A.StackNxt = fin.Seq + 1;
        lab.A.SendAck();
        Assert.Equal(TcpState.Closed, lab.Source.State);
        Assert.NotNull(lab.Source.SpliceDrain); // the stream's last bytes wait for the drain

        lab.Wait(TimeSpan.FromSeconds(3));
        Assert.Equal(SpliceEnd.IdleTimeout, lab.Source.SpliceEnded);
    }
}
