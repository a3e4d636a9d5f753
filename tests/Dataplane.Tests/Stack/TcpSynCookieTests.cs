using System.Buffers.Binary;
using Dataplane.Stack;
using Dataplane.Stack.Transport;
using Dataplane.Stack.Transport.Tcp;
using Dataplane.Wire;
using static Dataplane.Tests.Stack.StackHarness;

namespace Dataplane.Tests.Stack;

/// <summary>
/// SYN cookies (RFC 4987 3.6): with a listener's queue full, a SYN is answered with a cookie and
/// nothing is kept; the ACK that returns a good cookie completes the connection, with the MSS,
/// window scale and SACK-permitted the SYN offered; a forged or stale one is reset.
/// </summary>
public class TcpSynCookieTests
{
    private const byte Syn = 0x02, Rst = 0x04, Ack = 0x10;

    /// <summary>Accepts connections and records them; reads nothing.</summary>
    private sealed class Listener(int backlog) : TcpApp
    {
        public override string Name => "listener";

        public List<TcpSocket> Accepted { get; } = [];

        protected override TcpError OnStart() => Tcp.Open(false, this).Listen(InetEndpoint.Ipv4(Ours, 80), backlog);

        protected internal override void OnAccept(TcpSocket listener, TcpSocket connection) => Accepted.Add(connection);
    }

    private static byte[] Segment(ushort sourcePort, uint seq, uint ack, byte flags, in TcpOptions options, int data = 0)
    {
        int header = 20 + options.Length;
        byte[] t = new byte[header + data];
        BinaryPrimitives.WriteUInt16BigEndian(t, sourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(t.AsSpan(2), 80);
        BinaryPrimitives.WriteUInt32BigEndian(t.AsSpan(4), seq);
        BinaryPrimitives.WriteUInt32BigEndian(t.AsSpan(8), ack);
        t[12] = (byte)(header / 4 << 4);
        t[13] = flags;
        BinaryPrimitives.WriteUInt16BigEndian(t.AsSpan(14), 1000);
        options.Emit(t.AsSpan(20));
        for (int i = header; i < t.Length; i++)
            t[i] = (byte)i;
        BinaryPrimitives.WriteUInt16BigEndian(t.AsSpan(16), Frames.Checksum4(Client, Ours, 6, t));
        return t;
    }

    private static (uint Seq, uint Ack, byte Flags, TcpOptions Options) Parse(byte[] frame)
    {
        byte[] tcp = frame.AsSpan(14 + 20).ToArray();
        Assert.True(TcpSegment.TryCreate(tcp, out TcpSegment segment));
        Assert.True(TcpOptions.TryParse(segment, out TcpOptions options));
        return (segment.SequenceNumber, segment.AcknowledgmentNumber, (byte)segment.Flags, options);
    }

    private static TcpOptions SynOptions(uint tsval)
    {
        var o = default(TcpOptions);
        o.MaximumSegmentSize = 1400;
        o.WindowScale = 7;
        o.SackPermitted = true;
        o.Timestamps = (tsval, 0);
        return o;
    }

    [Fact]
    public void With_the_queue_full_a_syn_gets_a_cookie_and_the_ack_that_returns_it_completes_the_connection_with_its_options()
    {
        var h = Host().KnowingPeers();
        var app = new Listener(backlog: 1);
        Assert.Equal(TcpError.None, h.Worker.Tcp.Start(app));
        h.Receive(0, Frames.Ipv4Frame(h.Mac(0), Client, Ours, 6, Segment(40000, 1000, 0, Syn, SynOptions(5000))));
        Assert.Single(h.Sent());
        int connections = h.Worker.Tcp.ConnectionCount;

        // The queue holds one: the second SYN is answered from a cookie, and no connection is kept for it.
        h.Receive(0, Frames.Ipv4Frame(h.Mac(0), Client, Ours, 6, Segment(40001, 7000, 0, Syn, SynOptions(6000))));
        (uint cookie, uint ack, byte flags, TcpOptions options) = Parse(Assert.Single(h.Sent()));
        Assert.Equal(Syn | Ack, flags);
        Assert.Equal(7001u, ack);
        Assert.Equal(connections, h.Worker.Tcp.ConnectionCount);
        Assert.Equal(1, h.Counters.Tcp[(int)TcpCounter.SynCookiesSent]);
        Assert.True(options.Timestamps.HasValue && options.SackPermitted && options.WindowScale.HasValue);

        // The ACK echoes our timestamp: the connection is rebuilt and handed to the app.
        var ackOptions = default(TcpOptions);
        ackOptions.Timestamps = (6001, options.Timestamps!.Value.Value);
        h.Receive(0, Frames.Ipv4Frame(h.Mac(0), Client, Ours, 6, Segment(40001, 7001, cookie + 1, Ack, ackOptions, data: 100)));

        Assert.Equal(1, h.Counters.Tcp[(int)TcpCounter.SynCookiesAccepted]);
        TcpSocket accepted = Assert.Single(app.Accepted);
        Assert.Equal(40001, accepted.Remote.Port);
        Assert.Equal(TcpState.Established, accepted.State);
        Assert.Equal(100, accepted.ReadableBytes);
        Assert.Equal(1400 - 12, accepted.SendMss); // the cookie's MSS (1400), less the timestamp option
        // Data goes out at once: the window (1000, scaled by the 7 that came back through the timestamp) has room.
        // (Unscaled, 1000 bytes would be all it takes.)
        accepted.NoDelay = true; // no Nagle: the second, short segment goes too
        Assert.Equal(2000, accepted.Send(new byte[2000]));
        Assert.Equal(2000, h.Sent().Sum(f => f.Length - (14 + 20 + 20 + 12)));
    }

    [Fact]
    public void An_ack_with_a_forged_cookie_is_reset_and_opens_nothing()
    {
        var h = Host().KnowingPeers();
        var app = new Listener(backlog: 1);
        Assert.Equal(TcpError.None, h.Worker.Tcp.Start(app));
        h.Receive(0, Frames.Ipv4Frame(h.Mac(0), Client, Ours, 6, Segment(40000, 1000, 0, Syn, SynOptions(5000))));
        h.Receive(0, Frames.Ipv4Frame(h.Mac(0), Client, Ours, 6, Segment(40001, 7000, 0, Syn, SynOptions(6000))));
        (uint cookie, _, _, _) = Parse(h.Sent()[^1]);

        h.Receive(0, Frames.Ipv4Frame(h.Mac(0), Client, Ours, 6, Segment(40001, 7001, cookie + 2, Ack, default)));

        (uint seq, _, byte flags, _) = Parse(Assert.Single(h.Sent()));
        Assert.Equal(Rst, flags);
        Assert.Equal(cookie + 2, seq);
        Assert.Equal(1, h.Counters.Tcp[(int)TcpCounter.SynCookiesFailed]);
        Assert.Empty(app.Accepted);
    }

    [Fact]
    public void A_cookie_is_good_for_its_period_and_the_next_and_no_longer()
    {
        var cookies = new SynCookies(new SipHash(new byte[16]));
        var local = InetEndpoint.Ipv4(Ours, 80);
        var remote = InetEndpoint.Ipv4(Client, 40000);
        long t = 10 * SynCookies.Period + 5;
        uint iss = cookies.Make(local, remote, 1234, 1460, t);

        Assert.True(cookies.TryCheck(local, remote, 1234, iss, t + SynCookies.Period, out int mss));
        Assert.Equal(1460, mss);
        Assert.False(cookies.TryCheck(local, remote, 1234, iss, t + 2 * SynCookies.Period, out _));
        Assert.False(cookies.TryCheck(local, remote, 1235, iss, t, out _)); // another ISN
        Assert.False(cookies.TryCheck(local, InetEndpoint.Ipv4(Client, 40001), 1234, iss, t, out _)); // another port
    }
}
