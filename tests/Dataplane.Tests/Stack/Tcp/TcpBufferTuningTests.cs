using Dataplane.Stack;
using Dataplane.Stack.Transport.Tcp;
using Dataplane.Wire;
using static Dataplane.Tests.Stack.Tcp.TcpLab;

namespace Dataplane.Tests.Stack.Tcp;

/// <summary>
/// Buffer auto-tuning, over literal segments: each buffer starts at 64 KiB whatever
/// <c>set tcp buffer</c> allows; the receive buffer grows round trip by round trip while the app
/// keeps up with a sender that fills the window (dynamic right-sizing), and not while it does not
/// read; the send buffer follows the congestion window. And sending from buffers the app fills in
/// place (<see cref="TcpSocket.Reserve"/>, <see cref="TcpSocket.Commit"/>).
/// </summary>
public class TcpBufferTuningTests
{
    private const int Mss = 1460;
    private static readonly TimeSpan Rtt = TimeSpan.FromMilliseconds(10);

    /// <summary>A peer that pushes without the app reading fills 64 KiB, not the 4 MiB <c>set tcp buffer</c> would allow.</summary>
    [Fact]
    public void The_receive_buffer_starts_at_64_KiB_whatever_set_tcp_buffer_allows()
    {
        TcpLab lab = Established(windowScale: 7, tcpBuffer: 4 << 20);

        for (int i = 0; i < 60; i++) // 87,600 bytes
            lab.Peer.SendData(Bytes(Mss, i));

        Assert.Equal(TcpSocket.InitialBuffer, lab.Connection.ReceiveBufferSize);
        Assert.InRange(lab.Connection.ReadableBytes, TcpSocket.InitialBuffer - Mss, TcpSocket.InitialBuffer * 9 / 8);
        Assert.True(lab.Peer.Count(TcpCounter.DataBeyondWindow) > 0);
    }

    /// <summary>
    /// A peer that sends tiny segments into a scaled window the app does not read. Rounding the
    /// window field up on every ACK walks the edge past the buffer, so the window never closes (RFC
    /// 7323 appendix F): before, all 100,000 bytes were taken into a 65,536-byte buffer. What is
    /// queued stays within the buffer and an eighth, the rest dropped and counted; and the bytes
    /// are gathered into few packet buffers instead of one each.
    /// </summary>
    [Fact]
    public void Tiny_segments_neither_walk_the_window_past_the_buffer_nor_pin_a_packet_buffer_each()
    {
        TcpLab lab = Established(windowScale: 7, tcpBuffer: 4 << 20);
        var sent = new List<byte>();
        for (int i = 0; i < 2000; i++) // 100,000 bytes offered, in 50-byte segments
        {
            byte[] data = Bytes(50, i);
            lab.Peer.SendData(data);
            sent.AddRange(data);
        }
        lab.Peer.Sent();

        TcpSocket c = lab.Connection;
        Assert.InRange(c.ReadableBytes, TcpSocket.InitialBuffer - 128, TcpSocket.InitialBuffer * 9 / 8);
        Assert.True(lab.Peer.Count(TcpCounter.ReceiveBufferFull) > 0);
        Assert.InRange(c.BuffersHeld, 1, 2 * TcpSocket.InitialBuffer / 2048);
        Assert.Equal(sent.Take(c.ReadableBytes), ReadAll(c));
    }

    /// <summary>
    /// Dynamic right-sizing: a sender that fills every window it is offered, once a round trip, to an
    /// app that reads everything at once, is offered at least twice as much each round trip until
    /// <c>set tcp buffer</c>; without timestamps (the round trip from the window updates) and with.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void An_app_that_keeps_up_doubles_the_window_each_round_trip_up_to_set_tcp_buffer(bool timestamps)
    {
        const int limit = 1 << 20;
        TcpLab lab = Listening(tcpBuffer: limit);
        TcpSeg synAck = lab.Peer.Open(windowScale: 7, timestamps: timestamps, handshakeRtt: Rtt);
        int scale = synAck.WindowScale!.Value;
        lab.App.ReadOnReceive = true;
        uint edge = lab.Peer.Nxt + synAck.Window;

        var offered = new List<long>();
        for (int round = 0; round < 8; round++)
        {
            // The peer sends what the window it knows allows, and hears our ACKs a round trip later.
            var acks = new List<TcpSeg>();
            while ((int)(edge - lab.Peer.Nxt) >= Mss)
            {
                lab.Peer.SendData(Bytes(Mss, round));
                acks.AddRange(lab.Peer.Sent());
            }
            lab.Wait(Rtt);
            acks.AddRange(lab.Peer.Sent());
            TcpSeg last = acks[^1];
            edge = last.Ack + ((uint)last.Window << scale);
            offered.Add(edge - lab.Peer.Nxt);
            lab.App.Received.Clear();
            if (timestamps)
                lab.Peer.TsVal += 10;
        }

        Assert.Equal(limit, lab.Connection.ReceiveBufferSize);
        Assert.True(lab.Peer.Count(TcpCounter.ReceiveBufferGrown) > 0);
        for (int i = 1; i < offered.Count && offered[i - 1] < limit / 2; i++)
            Assert.True(offered[i] >= 2 * offered[i - 1], $"round {i}: offered {string.Join(", ", offered)}");
        Assert.True(offered[^1] > limit - 2 * Mss, $"offered {string.Join(", ", offered)}");
    }

    /// <summary>An app that reads slowly keeps the buffer it started with: what it reads in a round trip never exceeds what the window let in.</summary>
    [Fact]
    public void An_app_that_reads_slowly_keeps_the_initial_buffer()
    {
        TcpLab lab = Listening(tcpBuffer: 1 << 20);
        TcpSeg synAck = lab.Peer.Open(windowScale: 7, handshakeRtt: Rtt);
        byte[] chunk = new byte[4 * Mss];
        for (int round = 0; round < 20; round++)
        {
            while (lab.Connection.ReadableBytes < TcpSocket.InitialBuffer - Mss)
                lab.Peer.SendData(Bytes(Mss, round));
            lab.Connection.Receive(chunk);
            lab.Peer.Sent();
            lab.Wait(Rtt);
        }

        Assert.Equal(TcpSocket.InitialBuffer, lab.Connection.ReceiveBufferSize);
        Assert.Equal(0, lab.Peer.Count(TcpCounter.ReceiveBufferGrown));
        _ = synAck;
    }

    /// <summary>The send buffer starts at 64 KiB however large <c>set tcp buffer</c> is, and grows to twice the congestion window as it opens.</summary>
    [Fact]
    public void The_send_buffer_starts_at_64_KiB_and_follows_the_congestion_window()
    {
        TcpLab lab = Established(windowScale: 7, tcpBuffer: 4 << 20, handshakeRtt: Rtt);
        lab.Peer.Window = 65535; // << 7: 8 MiB
        lab.Peer.SendAck();
        TcpSocket c = lab.Connection;

        Assert.Equal(TcpSocket.InitialBuffer, c.SendSpace);
        Assert.Equal(TcpSocket.InitialBuffer, c.Send(new byte[1 << 20]));

        // Slow start: each segment acknowledged a round trip after it left, the buffer kept full.
        for (int round = 0; round < 6; round++)
        {
            List<TcpSeg> sent = lab.Peer.Sent();
            lab.Wait(Rtt);
            foreach (TcpSeg seg in sent)
            {
                lab.Peer.StackNxt = seg.Seq + (uint)seg.Payload.Length;
                lab.Peer.SendAck();
            }
            c.Send(new byte[1 << 20]);
        }

        Assert.True(c.CongestionWindow > TcpSocket.InitialBuffer, $"cwnd {c.CongestionWindow}");
        Assert.Equal(2 * c.CongestionWindow, c.SendQueued + c.SendSpace);
    }

    /// <summary>
    /// An app that sends exactly what <see cref="TcpSocket.SendSpace"/> says, filling the buffer,
    /// hears OnSendSpace when an ACK frees room (the echo app's pattern: with the smaller tuned send
    /// buffer it stalled, as nothing told it to go on).
    /// </summary>
    [Fact]
    public void Filling_the_send_buffer_exactly_brings_on_send_space_after_the_ack()
    {
        TcpLab lab = Established(tcpBuffer: 8192);
        TcpSocket c = lab.Connection;
        c.NoDelay = true;
        Assert.Equal(8192, c.Send(Bytes(c.SendSpace)));
        lab.App.Events.Clear();

        List<TcpSeg> sent = lab.Peer.Sent();
        lab.Peer.StackNxt = sent[^1].Seq + (uint)sent[^1].Payload.Length;
        lab.Peer.SendAck();

        Assert.Contains("send space", lab.App.Events);
    }

    /// <summary>Bytes written in place into <see cref="TcpSocket.Reserve"/>'s span and committed leave as they were written.</summary>
    [Fact]
    public void Bytes_written_in_place_and_committed_are_sent()
    {
        TcpLab lab = Established();
        TcpSocket c = lab.Connection;
        c.NoDelay = true;

        Span<byte> space = c.Reserve();
        Assert.True(space.Length >= 1000);
        Bytes(1000, 7).CopyTo(space);
        Assert.Equal(1000, c.Commit(1000));

        TcpSeg seg = lab.Peer.SentOne();
        Assert.Equal(Bytes(1000, 7), seg.Payload);
        Assert.Equal(1000, c.SendQueued);
    }

    /// <summary>Reserve gives at most the send space; with none left it gives nothing, and OnSendSpace follows the ACK that frees some.</summary>
    [Fact]
    public void Reserve_gives_at_most_the_send_space_and_on_send_space_follows_when_it_gave_nothing()
    {
        TcpLab lab = Established(tcpBuffer: 8192);
        TcpSocket c = lab.Connection;
        c.NoDelay = true;
        int queued = 0;
        while (c.Reserve() is { IsEmpty: false } space)
        {
            space.Fill(0x5a);
            queued += c.Commit(space.Length);
        }
        Assert.Equal(8192, queued);
        Assert.Equal(0, c.SendSpace);
        lab.App.Events.Clear();

        List<TcpSeg> sent = lab.Peer.Sent();
        lab.Peer.StackNxt = sent[^1].Seq + (uint)sent[^1].Payload.Length;
        lab.Peer.SendAck();

        Assert.Contains("send space", lab.App.Events);
        Assert.Equal(8192, c.SendSpace);
    }

    /// <summary>Committing more than was reserved, or after a Send moved the end of the queue, is refused.</summary>
    [Fact]
    public void Committing_more_than_was_reserved_is_refused()
    {
        TcpLab lab = Established();
        TcpSocket c = lab.Connection;
        int length = c.Reserve().Length;
        Assert.Throws<ArgumentOutOfRangeException>(() => c.Commit(length + 1));

        c.Reserve();
        c.Send(Bytes(10));
        Assert.Throws<ArgumentOutOfRangeException>(() => c.Commit(1));
    }

    /// <summary>Filling in place and committing allocates nothing, once the queue has its buffers.</summary>
    [Fact]
    public void Reserve_and_commit_allocate_nothing()
    {
        TcpLab lab = Established();
        TcpSocket c = lab.Connection;
        c.NoDelay = true;
        // The queue's ring grows to its size once: fill the buffer, and have it all acknowledged with
        // a zero window, so nothing leaves while the queue is measured.
        while (c.Reserve() is { IsEmpty: false } space)
            c.Commit(space.Length);
        while (c.SendQueued > 0)
        {
            List<TcpSeg> sent = lab.Peer.Sent();
            Assert.NotEmpty(sent);
            lab.Peer.StackNxt = sent[^1].Seq + (uint)sent[^1].Payload.Length;
            lab.Peer.SendAck();
        }
        lab.Peer.Window = 0;
        lab.Peer.SendAck();

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 20; i++)
        {
            Span<byte> space = c.Reserve();
            space.Fill((byte)i);
            c.Commit(space.Length);
        }
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(0, allocated);
        Assert.Equal(20 * 2048, c.SendQueued);
    }
}
