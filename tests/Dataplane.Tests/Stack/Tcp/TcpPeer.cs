using System.Buffers.Binary;
using Dataplane.Stack;
using Dataplane.Stack.Transport;
using Dataplane.Stack.Transport.Tcp;
using Dataplane.Wire;
using static Dataplane.Tests.Stack.StackHarness;

namespace Dataplane.Tests.Stack.Tcp;

/// <summary>
/// The far end of one connection, played by the test on port 0 of a <see cref="StackHarness"/> host:
/// the lab's client (<see cref="Client"/> or <see cref="Client6"/>) talking to <see cref="Ours"/>
/// (<see cref="Ours6"/>). It keeps the peer's side of the sequence space (<see cref="Nxt"/>, what it
/// sends next; <see cref="StackNxt"/>, what it acknowledges), builds segments from it with correct
/// checksums in either family, and parses what the stack sent, checking addresses, ports and
/// checksum. The sequence numbers move only when a test says so, as smoltcp's tests spell them out.
/// </summary>
internal sealed class TcpPeer(StackHarness host, bool ipv6 = false, ushort port = 40000, ushort stackPort = 80)
{
    /// <summary>The peer's initial sequence number.</summary>
    public const uint Iss = 10_000;

    /// <summary>The peer's timestamp clock at the start.</summary>
    public const uint FirstTsVal = 500_000;

    public StackHarness Host { get; } = host;

    public bool Ipv6 { get; } = ipv6;

    /// <summary>The peer's port.</summary>
    public ushort Port { get; } = port;

    /// <summary>The stack's port: the listener's, or learned from the SYN of an active open.</summary>
    public ushort StackPort { get; set; } = stackPort;

    /// <summary>The peer's SND.NXT: the sequence number of its next segment.</summary>
    public uint Nxt { get; set; } = Iss;

    /// <summary>The peer's RCV.NXT: what it acknowledges.</summary>
    public uint StackNxt { get; set; }

    /// <summary>The stack's ISS, from its SYN or SYN-ACK.</summary>
    public uint StackIss { get; set; }

    /// <summary>The window the peer's segments carry.</summary>
    public ushort Window { get; set; } = 65535;

    /// <summary>Whether the peer's segments carry timestamps (once both sides agreed to them).</summary>
    public bool Timestamps { get; set; }

    /// <summary>The peer's TSval for its next segments.</summary>
    public uint TsVal { get; set; } = FirstTsVal;

    /// <summary>The last TSval the stack sent, which the peer echoes.</summary>
    public uint TsRecent { get; set; }

    /// <summary>Where <see cref="Sent"/> takes the stack's frames from: port 0 of the host, or (two peers on one host) a <see cref="PeerWire"/>'s share.</summary>
    public Func<List<byte[]>>? FrameSource { get; set; }

    /// <summary>The peer's endpoint, as the stack sees it.</summary>
    public InetEndpoint Endpoint => Ipv6 ? InetEndpoint.Ipv6(Client6, Port) : InetEndpoint.Ipv4(Client, Port);

    /// <summary>A segment from the peer at <see cref="Nxt"/>, acknowledging <see cref="StackNxt"/> when <paramref name="flags"/> has ACK.</summary>
    public TcpSeg Seg(TcpFlags flags, byte[]? data = null) => new()
    {
        SourcePort = Port,
        DestinationPort = StackPort,
        Seq = Nxt,
        Ack = (flags & TcpFlags.Ack) != 0 ? StackNxt : 0,
        Flags = flags,
        Window = Window,
        Payload = data ?? [],
        Timestamps = Timestamps ? (TsVal, TsRecent) : null,
    };

    /// <summary>The peer's SYN: MSS 1460 and the options asked for.</summary>
    public TcpSeg Syn(ushort? mss = 1460, byte? windowScale = null, bool sackPermitted = false, bool timestamps = false, ushort window = 65535) => new()
    {
        SourcePort = Port,
        DestinationPort = StackPort,
        Seq = Iss,
        Flags = TcpFlags.Syn,
        Window = window,
        Mss = mss,
        WindowScale = windowScale,
        SackPermitted = sackPermitted,
        Timestamps = timestamps ? (TsVal, 0u) : null,
    };

    /// <summary>The frame carrying <paramref name="seg"/> to the stack, its checksum right (or, with <paramref name="badChecksum"/>, off by one bit).</summary>
    public byte[] Frame(TcpSeg seg, bool badChecksum = false)
    {
        byte[] t = seg.Encode();
        ushort sum = Ipv6 ? Frames.Checksum6(Client6, Ours6, 6, t) : Frames.Checksum4(Client, Ours, 6, t);
        BinaryPrimitives.WriteUInt16BigEndian(t.AsSpan(16), (ushort)(badChecksum ? sum ^ 0x0100 : sum));
        return Ipv6 ? Frames.Ipv6Frame(Host.Mac(0), Client6, Ours6, 6, t) : Frames.Ipv4Frame(Host.Mac(0), Client, Ours, 6, t);
    }

    /// <summary>Hands <paramref name="seg"/> to the stack; the peer's numbers do not move.</summary>
    public void Send(TcpSeg seg, bool badChecksum = false) => Host.Receive(0, Frame(seg, badChecksum));

    /// <summary>Sends <paramref name="data"/> at <see cref="Nxt"/> with ACK and PSH, and moves <see cref="Nxt"/> past it.</summary>
    public void SendData(byte[] data, TcpFlags flags = TcpFlags.Ack | TcpFlags.Psh)
    {
        Send(Seg(flags, data));
        Nxt += (uint)data.Length + ((flags & TcpFlags.Fin) != 0 ? 1u : 0);
    }

    /// <summary>Sends a bare ACK of <see cref="StackNxt"/>.</summary>
    public void SendAck() => Send(Seg(TcpFlags.Ack));

    /// <summary>Sends a FIN with ACK, and moves <see cref="Nxt"/> past it.</summary>
    public void SendFin()
    {
        Send(Seg(TcpFlags.Fin | TcpFlags.Ack));
        Nxt++;
    }

    /// <summary>
    /// Every TCP segment the stack sent to the peer since the last call, parsed: IP addresses and
    /// ports the connection's, checksum right. Remembers the last TSval for <see cref="TsRecent"/>.
    /// </summary>
    public List<TcpSeg> Sent()
    {
        var segments = new List<TcpSeg>();
        foreach (byte[] frame in (FrameSource ?? (() => Host.Sent(0)))())
        {
            if (Frames.IsNeighborDiscovery(frame))
                continue;
            TcpSeg seg = Parse(frame, Ipv6);
            if (StackPort == 0)
                StackPort = seg.SourcePort; // an active open: the SYN tells the port
            Assert.Equal(StackPort, seg.SourcePort);
            Assert.Equal(Port, seg.DestinationPort);
            if (seg.Timestamps is var (value, _))
                TsRecent = value;
            segments.Add(seg);
        }
        return segments;
    }

    /// <summary>The one segment the stack sent.</summary>
    public TcpSeg SentOne()
    {
        List<TcpSeg> sent = Sent();
        Assert.True(sent.Count == 1, $"expected one segment, the stack sent {sent.Count}: {string.Join(" | ", sent)}");
        return sent[0];
    }

    /// <summary>Checks the stack sent nothing.</summary>
    public void NothingSent()
    {
        List<TcpSeg> sent = Sent();
        Assert.True(sent.Count == 0, $"expected silence, the stack sent: {string.Join(" | ", sent)}");
    }

    /// <summary>The TCP segment in a frame the stack sent toward the client, its IP header and TCP checksum checked.</summary>
    public static TcpSeg Parse(byte[] frame, bool ipv6)
    {
        ushort type = BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(12));
        byte[] tcp;
        if (ipv6)
        {
            Assert.Equal(0x86DD, type);
            Assert.Equal(6, frame[14 + 6]);
            Assert.Equal(Ours6, new Ipv6Address(frame.AsSpan(14 + 8)));
            Assert.Equal(Client6, new Ipv6Address(frame.AsSpan(14 + 24)));
            int payload = BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(14 + 4));
            tcp = frame.AsSpan(14 + 40, payload).ToArray();
            Assert.Equal(0, Frames.Checksum6(Ours6, Client6, 6, tcp));
        }
        else
        {
            Assert.Equal(0x0800, type);
            Assert.Equal(6, frame[14 + 9]);
            Assert.Equal(Ours, new Ipv4Address(frame.AsSpan(14 + 12)));
            Assert.Equal(Client, new Ipv4Address(frame.AsSpan(14 + 16)));
            int ihl = (frame[14] & 0x0F) * 4;
            int total = BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(14 + 2));
            tcp = frame.AsSpan(14 + ihl, total - ihl).ToArray();
            Assert.Equal(0, Frames.Checksum4(Ours, Client, 6, tcp));
        }
        return TcpSeg.Parse(tcp);
    }

    /// <summary>
    /// RFC 9293 3.5, the three-way handshake from the peer: its SYN (with the options given), the
    /// stack's SYN-ACK checked and returned, the peer's ACK. Timestamps are used from here on when
    /// both sides offered them.
    /// </summary>
    public TcpSeg Open(ushort? mss = 1460, byte? windowScale = null, bool sackPermitted = false, bool timestamps = false, ushort synWindow = 65535, byte[]? dataWithAck = null, TimeSpan handshakeRtt = default)
    {
        Send(Syn(mss, windowScale, sackPermitted, timestamps, synWindow));
        TcpSeg synAck = SentOne();
        if (handshakeRtt > TimeSpan.Zero)
            Host.Advance(handshakeRtt); // the SYN-ACK's round trip: the stack's first RTT sample
        Assert.Equal(TcpFlags.Syn | TcpFlags.Ack, synAck.Flags);
        Assert.Equal(Iss + 1, synAck.Ack);
        StackIss = synAck.Seq;
        StackNxt = synAck.Seq + 1;
        Nxt = Iss + 1;
        Timestamps = timestamps && synAck.Timestamps.HasValue;
        if (dataWithAck is null)
            SendAck();
        else
            SendData(dataWithAck);
        return synAck;
    }

    /// <summary>RFC 9293 3.5 from the other side: the stack's SYN read, the peer's SYN-ACK sent with the options given.</summary>
    public TcpSeg AnswerSyn(ushort? mss = 1460, byte? windowScale = null, bool sackPermitted = false, bool timestamps = false, ushort window = 65535)
    {
        TcpSeg syn = SentOne();
        Assert.Equal(TcpFlags.Syn, syn.Flags);
        StackPort = syn.SourcePort;
        StackIss = syn.Seq;
        StackNxt = syn.Seq + 1;
        Timestamps = timestamps && syn.Timestamps.HasValue;
        Send(Syn(mss, windowScale, sackPermitted, timestamps, window) with { Flags = TcpFlags.Syn | TcpFlags.Ack, Ack = StackNxt, Timestamps = timestamps ? (TsVal, TsRecent) : null, DestinationPort = StackPort });
        Nxt = Iss + 1;
        return syn;
    }

    /// <summary>The counter of the host.</summary>
    public long Count(TcpCounter counter) => Host.Count(counter);
}
