using Dataplane.Stack;
using Dataplane.Stack.Transport.Tcp;
using Dataplane.Wire;
using static Dataplane.Tests.Stack.Tcp.TcpLab;

namespace Dataplane.Tests.Stack.Tcp;

/// <summary>
/// Malformed and hostile segments for a connection or a listener (RFC 9293 3.1 and 3.2, RFC 9293
/// 3.7.1 with CVE-2019-11479's MSS floor, RFC 2018's SACK blocks): each is dropped and counted, or
/// made harmless, and the connection goes on.
/// </summary>
public class TcpBadInputTests
{
    private const TcpFlags AckPsh = TcpFlags.Ack | TcpFlags.Psh;

    /// <summary>RFC 9293 3.1: a segment whose checksum does not verify is dropped and counted; the connection does not see it.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_segment_with_a_bad_checksum_is_dropped_and_counted(bool ipv6)
    {
        TcpLab lab = Established(ipv6);

        lab.Peer.Send(lab.Peer.Seg(AckPsh, Bytes(100)), badChecksum: true);
        lab.Peer.Send(lab.Peer.Seg(TcpFlags.Rst), badChecksum: true);

        lab.Peer.NothingSent();
        Assert.Equal(0, lab.Connection.ReadableBytes);
        Assert.Equal(TcpState.Established, lab.Connection.State);
        Assert.Equal(2, lab.Host.Count(TcpCounter.BadChecksum));
    }

    /// <summary>RFC 9293 3.1: a data offset below five words, or past the end of the segment, is dropped and counted.</summary>
    [Theory]
    [InlineData(0)]
    [InlineData(4)]
    [InlineData(11)]
    [InlineData(15)]
    public void A_data_offset_below_the_header_or_beyond_the_segment_is_dropped(int words)
    {
        TcpLab lab = Established();

        lab.Peer.Send(lab.Peer.Seg(AckPsh, Bytes(20)) with { DataOffsetWords = words });

        lab.Peer.NothingSent();
        Assert.Equal(0, lab.Connection.ReadableBytes);
        Assert.Equal(1, lab.Host.Count(TcpCounter.BadHeaderLength));
        Assert.Equal(TcpState.Established, lab.Connection.State);
    }

    /// <summary>RFC 9293 3.2: an option whose length runs past the header, a known option of the wrong length, and an option length below two are malformed: dropped and counted.</summary>
    [Theory]
    [InlineData(new byte[] { 1, 1, 8, 10 })]              // timestamps of ten bytes, two left
    [InlineData(new byte[] { 2, 40, 0, 0 })]              // MSS of forty bytes, four left
    [InlineData(new byte[] { 30, 0, 0, 0 })]              // an unknown option of length 0: a naive walk never ends
    [InlineData(new byte[] { 30, 1, 0, 0 })]              // length 1, shorter than its own kind and length
    [InlineData(new byte[] { 1, 1, 1, 2 })]               // a kind without its length byte at the end
    [InlineData(new byte[] { 2, 3, 5, 0 })]               // MSS of the wrong length
    [InlineData(new byte[] { 5, 7, 0, 0, 0, 0, 0, 0 })]   // SACK not a multiple of eight
    public void Malformed_options_are_dropped_and_counted(byte[] options)
    {
        TcpLab lab = Established();

        lab.Peer.Send(lab.Peer.Seg(AckPsh, Bytes(20)) with { RawOptions = options });

        lab.Peer.NothingSent();
        Assert.Equal(0, lab.Connection.ReadableBytes);
        Assert.Equal(1, lab.Host.Count(TcpCounter.BadOptions));
        Assert.Equal(TcpState.Established, lab.Connection.State);
    }

    /// <summary>RFC 9293 3.2: options a TCP does not implement are skipped, and the end-of-list ends the walk; the segment is taken.</summary>
    [Fact]
    public void Unknown_options_and_the_end_of_the_list_are_skipped()
    {
        TcpLab lab = Established();

        lab.Peer.SendData(Bytes(20)); // the pair makes an ACK at once
        lab.Peer.Send(lab.Peer.Seg(AckPsh, Bytes(20)) with { RawOptions = [30, 6, 1, 2, 3, 4, 0, 99] });
        lab.Peer.Nxt += 20;

        Assert.Equal(lab.Peer.Nxt, lab.Peer.SentOne().Ack);
        Assert.Equal(40, lab.Connection.ReadableBytes);
        Assert.Equal(0, lab.Host.Count(TcpCounter.BadOptions));
    }

    /// <summary>RFC 9293 3.10.7.2: SYN+FIN opens nothing (no stack sends it; scanners do): dropped and counted, no connection, no answer.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_syn_fin_to_a_listener_is_dropped(bool ipv6)
    {
        TcpLab lab = Listening(ipv6);

        lab.Peer.Send(lab.Peer.Syn() with { Flags = TcpFlags.Syn | TcpFlags.Fin });

        lab.Peer.NothingSent();
        Assert.Equal(1, lab.Host.Count(TcpCounter.SynFin));
        Assert.Equal(0, lab.Host.Worker.Tcp.ConnectionCount);
    }

    /// <summary>RFC 9293 3.10.7.2: a bare ACK to a listener is answered with a reset at its acknowledgment number; a bare FIN or reset is dropped.</summary>
    [Fact]
    public void A_listener_resets_an_ack_and_ignores_the_rest()
    {
        TcpLab lab = Listening();

        lab.Peer.Send(lab.Peer.Seg(TcpFlags.Ack) with { Ack = 777 });
        TcpSeg reset = lab.Peer.SentOne();
        Assert.Equal(TcpFlags.Rst, reset.Flags);
        Assert.Equal(777u, reset.Seq);

        lab.Peer.Send(lab.Peer.Seg(TcpFlags.Fin));
        lab.Peer.Send(lab.Peer.Seg(TcpFlags.Rst));
        lab.Peer.NothingSent();
        Assert.Equal(0, lab.Host.Worker.Tcp.ConnectionCount);
    }

    /// <summary>RFC 9293 3.7.1 and CVE-2019-11479: an MSS option below the floor (88, Linux's) is raised to it, so a peer cannot make us cut data into tiny segments.</summary>
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(48)]
    [InlineData(87)]
    public void A_tiny_mss_is_raised_to_the_floor(ushort mss)
    {
        TcpLab lab = Established(mss: mss);
        lab.Connection.NoDelay = true;

        Assert.Equal(TcpSocketTable.MinMss, lab.Connection.SendMss);
        lab.Connection.Send(Bytes(200));
        Assert.Equal([88, 88, 24], lab.Peer.Sent().Select(s => s.Payload.Length));
    }

    /// <summary>RFC 7323 3.2 with CVE-2019-11479: with timestamps on, the floor less the 12 bytes of the option still carries data, and every byte goes.</summary>
    [Fact]
    public void A_tiny_mss_with_timestamps_still_leaves_room_for_data()
    {
        TcpLab lab = Established(mss: 0, timestamps: true);
        lab.Connection.NoDelay = true;

        lab.Connection.Send(Bytes(200));

        List<TcpSeg> sent = lab.Peer.Sent();
        Assert.Equal(200, sent.Sum(s => s.Payload.Length));
        Assert.All(sent, s => Assert.True(s.Payload.Length > 0));
    }

    /// <summary>RFC 2018: SACK blocks outside the window, reversed, overlapping or empty are harmless (ignored or counted); the connection goes on.</summary>
    [Fact]
    public void Sack_blocks_outside_the_window_or_overlapping_do_no_harm()
    {
        TcpLab lab = Established(sackPermitted: true);
        uint start = lab.Peer.StackNxt;
        lab.Connection.Send(Bytes(3 * 1460));
        lab.Peer.Sent();

        lab.Peer.Send(lab.Peer.Seg(TcpFlags.Ack) with { Sack = [(start + 1_000_000, start + 2_000_000), (start + 1000, start + 100), (start, start + 3000)] });
        lab.Peer.Send(lab.Peer.Seg(TcpFlags.Ack) with { Sack = [(start - 100_000, start - 50_000), (0, 0), (start + 1460, start + 2920), (start + 1460, start + 4380)] });
        lab.Peer.Send(lab.Peer.Seg(TcpFlags.Ack) with { Sack = [(start + 2920, start + 1460)] });

        Assert.Equal(TcpState.Established, lab.Connection.State);
        lab.Peer.StackNxt = start + 3 * 1460;
        lab.Peer.SendAck();
        Assert.Equal(0, lab.Connection.SendQueued);
        lab.Peer.SendData(Bytes(10));
        Assert.Equal(10, lab.Connection.ReadableBytes);
    }

    /// <summary>RFC 9293 3.10.7.4: a segment for a connection after its handshake failed, or the reset of a connection never made, leaves no state behind.</summary>
    [Fact]
    public void Garbage_after_a_reset_finds_no_connection_and_gets_a_reset()
    {
        TcpLab lab = Established();
        lab.Peer.Send(lab.Peer.Seg(TcpFlags.Rst));
        Assert.Equal(0, lab.Host.Worker.Tcp.ConnectionCount);

        lab.Peer.SendData(Bytes(10));

        TcpSeg reset = lab.Peer.SentOne();
        Assert.True(reset.Has(TcpFlags.Rst));
        Assert.Equal(lab.Peer.StackNxt, reset.Seq);
    }
}
