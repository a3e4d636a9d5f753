using Dataplane.Buffers;
using Dataplane.Engine;
using Dataplane.Stack.Ip;
using Dataplane.Wire;

namespace Dataplane.Stack.Transport.Tcp;

/// <summary>
/// TCP of one worker, for both families: input checks (RFC 9293 3.1, the checksum of 3.1 over the
/// pseudo-header of RFC 9293 3.1 and RFC 8200 8.1, the options), the hand-over of a segment to its
/// connection or listener in <see cref="Sockets"/>, the answer of a host to a segment that finds
/// neither (RFC 9293 3.10.7.1, the CLOSED state: a reset, rate-limited per worker), and the
/// building of every segment the worker sends. It takes <see cref="IpDatagram"/>s from the IP
/// layer and sends through <see cref="IpOutput"/>, as UDP does. Counts under TCP.
/// </summary>
internal sealed class TcpLayer
{
    private const int TcpHeader = TcpSegment.FixedLength;
    private const int ChecksumField = 16; // RFC 9293 3.1: the checksum's offset in the TCP header

    private readonly WorkerContext _context;
    private readonly WorkerPackets _packets;
    private readonly IpOutput _output;
    private readonly StackCounters _counters;
    private PacketRateLimit _resets;

    /// <summary>
    /// TCP of the worker whose buffers <paramref name="packets"/> handles, over <paramref name="output"/>;
    /// counts in <paramref name="counters"/>; holds at most <paramref name="maxConnections"/>
    /// connections of <paramref name="bufferBytes"/> send and receive buffer each, under <paramref name="congestion"/> control.
    /// </summary>
    public TcpLayer(WorkerPackets packets, IpOutput output, StackCounters counters, int maxConnections = TcpSocketTable.DefaultConnections, int bufferBytes = TcpSocketTable.DefaultBuffer, CongestionAlgorithm congestion = CongestionAlgorithm.Cubic)
    {
        _packets = packets;
        _context = packets.Context;
        _output = output;
        _counters = counters;
        _resets = new PacketRateLimit(_context.Now);
        Sockets = new TcpSocketTable(this, maxConnections, bufferBytes) { Congestion = congestion };
    }

    /// <summary>The worker's connections and listeners.</summary>
    public TcpSocketTable Sockets { get; }

    /// <summary>The worker's context.</summary>
    public WorkerContext Context => _context;

    /// <summary>The worker's counters.</summary>
    public StackCounters Counters => _counters;

    /// <summary>IP output, for routes and source addresses.</summary>
    public IpOutput Ip => _output;

    /// <summary>Takes a segment the IP layer passed up: checks it, and answers it as a host without that connection does.</summary>
    public void Input(in IpDatagram datagram)
    {
        _counters.Count(TcpCounter.Received);
        // RFC 9293 3.1: the data offset counts 32-bit words of header, at least five, within the segment.
        if (!TcpSegment.TryCreate(datagram.Transport, out TcpSegment tcp))
        {
            Drop(datagram.Packet, TcpCounter.BadHeaderLength);
            return;
        }
        // The checksum is mandatory in both families; the kernel under tap and afpacket vouches for
        // it when it says verified, or partial (its own, not yet summed).
        if ((datagram.Offload & (OffloadFlags.L4ChecksumVerified | OffloadFlags.L4ChecksumPartial)) == 0 && !VerifyChecksum(tcp, datagram))
        {
            Drop(datagram.Packet, TcpCounter.BadChecksum);
            return;
        }
        if (datagram.IsBroadcast)
        {
            // RFC 1122 4.2.3.10: a segment to a broadcast or multicast address is never answered.
            Drop(datagram.Packet, TcpCounter.Broadcast);
            return;
        }
        if (datagram.Source.IsUnspecified)
        {
            // IPv6 input lets :: through for duplicate address detection; nothing can go back to it.
            Drop(datagram.Packet, TcpCounter.UnspecifiedSource);
            return;
        }
        if (!TcpOptions.TryParse(tcp, out TcpOptions options))
        {
            // A known option of the wrong length, or options that run past the header.
            Drop(datagram.Packet, TcpCounter.BadOptions);
            return;
        }
        InetEndpoint to = InetEndpoint.Of(datagram.Destination, tcp.DestinationPort);
        InetEndpoint from = InetEndpoint.Of(datagram.Source, tcp.SourcePort);
        TcpSocket? connection = Sockets.Find(to, from);
        if (connection is not null && connection.TryEndTimeWaitFor(tcp, options))
        {
            // RFC 6191 and RFC 9293 3.6.1: a new SYN for a four-tuple in TIME-WAIT, with a sequence
            // number (or timestamp) past the old incarnation's, ends the TIME-WAIT and opens anew.
            Sockets.Reap();
            connection = null;
        }
        if (connection is not null)
        {
            connection.Input(datagram, tcp, options);
            connection.Dispatch();
            Sockets.Reap();
            return;
        }
        if ((tcp.Flags & (TcpFlags.Syn | TcpFlags.Ack | TcpFlags.Rst)) == TcpFlags.Syn && Sockets.FindListener(to) is { } listener)
        {
            // RFC 9293 3.10.7.2, LISTEN: a SYN opens a connection (data on a SYN is not taken; the
            // peer sends it again once we acknowledge only the SYN). SYN+FIN is no opening segment
            // any stack sends: dropped.
            if ((tcp.Flags & TcpFlags.Fin) != 0)
            {
                Drop(datagram.Packet, TcpCounter.SynFin);
                return;
            }
            Sockets.Accept(listener, datagram, tcp, options);
            _packets.Consume(datagram.Packet);
            Sockets.Reap();
            return;
        }
        if ((tcp.Flags & TcpFlags.Rst) == 0 && Sockets.FindListener(to) is { } cookieListener)
        {
            // LISTEN: an ACK completes a handshake answered with a SYN cookie, or is reset (there
            // is no such connection); a reset is ignored; anything else dropped.
            if ((tcp.Flags & (TcpFlags.Ack | TcpFlags.Syn)) == TcpFlags.Ack && Sockets.TryCookie(cookieListener, datagram, tcp, options) is { } restored)
            {
                restored.Input(datagram, tcp, options);
                restored.Dispatch();
                Sockets.Reap();
                return;
            }
            if ((tcp.Flags & TcpFlags.Ack) != 0)
                Closed(datagram, tcp);
            else
                _counters.Count(TcpCounter.ListenDropped);
            _packets.Drop(datagram.Packet);
            return;
        }
        Closed(datagram, tcp);
        _packets.Drop(datagram.Packet); // no connection took it, answered or not
    }

    /// <summary>An ICMP or ICMPv6 error about a segment we sent: to its connection, if there is one.</summary>
    internal void IcmpError(in IcmpError error)
    {
        InetEndpoint local = InetEndpoint.Of(error.Source, error.SourcePort);
        InetEndpoint remote = InetEndpoint.Of(error.Destination, error.DestinationPort);
        if (Sockets.Find(local, remote) is not { } connection)
        {
            _counters.Count(TcpCounter.IcmpErrorsIgnored);
            return;
        }
        connection.IcmpError(error);
        connection.Dispatch();
        Sockets.Reap();
    }

    /// <summary>
    /// Builds and sends a segment of <paramref name="socket"/>: its endpoints, the numbers, flags,
    /// window and options given, and <paramref name="length"/> bytes of its send queue from
    /// <paramref name="seq"/>. False when no buffer was free or there is no route.
    /// </summary>
    internal bool Send(TcpSocket socket, TcpSequence seq, TcpSequence ack, TcpFlags flags, ushort window, in TcpOptions options, int length)
        => Emit(socket.Local, socket.Remote, socket.Scope, seq.Value, ack.Value, flags, window, options, socket, length);

    /// <summary>
    /// Builds and sends a super-segment of <paramref name="socket"/> (TSO): <paramref name="length"/>
    /// bytes of its send queue from <paramref name="seq"/> behind one header, in a chain, for a port
    /// that cuts it into segments of <paramref name="segmentSize"/> payload bytes on the way out (the
    /// sequence number advanced, PSH and FIN on the last piece only, each piece's checksum finished:
    /// the virtio-net header's gso_size and NEEDS_CSUM). The checksum field holds the pseudo-header
    /// sum over the whole, as Linux's tcp_v4_send_check leaves it for a GSO skb. False when the pool
    /// ran dry or there is no route.
    /// </summary>
    internal bool SendSuper(TcpSocket socket, TcpSequence seq, TcpSequence ack, TcpFlags flags, ushort window, in TcpOptions options, int length, int segmentSize)
        => EmitChained(socket, seq, ack, flags, window, options, length, segmentSize);

    /// <summary>
    /// Builds a segment of <paramref name="socket"/> in a chain of buffers: a super-segment
    /// (<paramref name="segmentSize"/> above 0, for the port to cut, its checksum partial), or one
    /// segment longer than a buffer holds (a jumbo MTU's: 0, its checksum summed across the chain).
    /// </summary>
    private bool EmitChained(TcpSocket socket, TcpSequence seq, TcpSequence ack, TcpFlags flags, ushort window, in TcpOptions options, int length, int segmentSize)
    {
        bool ipv6 = socket.Remote.IsIpv6;
        int header = TcpHeader + options.Length;
        int ipHeader = IpOutput.HeaderLength(ipv6);
        int l4At = WorkerPackets.EthernetHeader + ipHeader;
        if (!FrameChain.TryAllocate(_context.Cache, l4At + header + length, out PacketBuffer packet))
        {
            _counters.Count(TcpCounter.NoBuffer);
            _output.CountNoBuffer(ipv6);
            return false;
        }
        BufferPool pool = _context.Cache.Pool;
        Span<byte> l4 = pool.Data(packet)[l4At..]; // the head buffer holds a data room: the headers and the first bytes
        new TcpSegment.Repr
        {
            SourcePort = socket.Local.Port,
            DestinationPort = socket.Remote.Port,
            SequenceNumber = seq.Value,
            AcknowledgmentNumber = ack.Value,
            DataOffset = (byte)(header / 4),
            Flags = flags,
            Window = window,
        }.Emit(l4);
        options.Emit(l4[TcpHeader..]);
        int copied = 0;
        foreach (Span<byte> piece in FrameChain.Pieces(pool, packet, l4At + header, length))
        {
            socket.CopyPayload(seq + copied, piece);
            copied += piece.Length;
        }
        ulong pseudo = ipv6
            ? InternetChecksum.PseudoHeaderSum(socket.Local.Address, socket.Remote.Address, (byte)IpProtocol.Tcp, header + length)
            : InternetChecksum.PseudoHeaderSum(socket.Local.Address4, socket.Remote.Address4, (byte)IpProtocol.Tcp, header + length);
        if (segmentSize == 0)
        {
            // One segment in a chain: its checksum over the pseudo-header and every buffer (RFC 9293 3.1).
            InternetChecksum.Store(l4[ChecksumField..], 0);
            InternetChecksum.Store(l4[ChecksumField..], InternetChecksum.Finish(FrameChain.Sum(pool, packet, l4At, header + length, pseudo)));
            _counters.Count(TcpCounter.DataSegmentsSent);
            _counters.Count(TcpCounter.Sent);
            return _output.Send(packet, socket.Local.Ip, socket.Remote.Ip, IpProtocol.Tcp, header + length, socket.Scope, dontFragment: true);
        }
        InternetChecksum.Store(l4[ChecksumField..], (ushort)InternetChecksum.FoldToUInt16(pseudo));
        ref BufferMetadata m = ref pool.Metadata(packet);
        m.Offload = OffloadFlags.L4ChecksumPartial;
        m.ChecksumStart = (ushort)l4At;
        m.ChecksumOffset = ChecksumField;
        m.Gso = ipv6 ? GsoType.TcpV6 : GsoType.TcpV4;
        m.SegmentSize = (ushort)segmentSize;
        int segments = (length + segmentSize - 1) / segmentSize;
        _counters.Add(TcpCounter.DataSegmentsSent, segments);
        _counters.Add(TcpCounter.Sent, segments);
        _counters.Count(TcpCounter.SuperSegmentsSent);
        return _output.Send(packet, socket.Local.Ip, socket.Remote.Ip, IpProtocol.Tcp, header + length, socket.Scope, dontFragment: true);
    }

    /// <summary>Sends a segment with options and no data that no socket stands behind (a SYN cookie's SYN-ACK).</summary>
    internal void SendStateless(in InetEndpoint local, in InetEndpoint remote, int scope, uint sequence, uint acknowledgment, TcpFlags flags, ushort window, in TcpOptions options)
        => Emit(local, remote, scope, sequence, acknowledgment, flags, window, options, null, 0);

    /// <summary>Sends a segment without options or data from <paramref name="local"/> to <paramref name="remote"/> (a reset, mostly).</summary>
    internal void SendBare(in InetEndpoint local, in InetEndpoint remote, int scope, uint sequence, uint acknowledgment, TcpFlags flags)
    {
        if (SendBare(local.Ip, remote.Ip, local.Port, remote.Port, sequence, acknowledgment, flags, scope) && (flags & TcpFlags.Rst) != 0)
            _counters.Count(TcpCounter.ResetsSent);
    }

    /// <summary>
    /// RFC 9293 3.10.7.1, the CLOSED state: the segment's data is discarded; a reset is discarded;
    /// anything else is answered with a reset whose numbers the sender will accept:
    /// <c>&lt;SEQ=SEG.ACK&gt;&lt;CTL=RST&gt;</c> when it carried an ACK, else
    /// <c>&lt;SEQ=0&gt;&lt;ACK=SEG.SEQ+SEG.LEN&gt;&lt;CTL=RST,ACK&gt;</c>.
    /// </summary>
    private void Closed(in IpDatagram datagram, TcpSegment tcp)
    {
        TcpFlags flags = tcp.Flags;
        if ((flags & TcpFlags.Rst) != 0)
        {
            _counters.Count(TcpCounter.ResetNoPort);
            return;
        }
        _counters.Count(TcpCounter.NoPort);
        if (!_resets.TryTake(_context.Now))
        {
            _counters.Count(TcpCounter.ResetsRateLimited);
            return;
        }
        uint sequence, acknowledgment;
        TcpFlags reset;
        if ((flags & TcpFlags.Ack) != 0)
        {
            (sequence, acknowledgment, reset) = (tcp.AcknowledgmentNumber, 0, TcpFlags.Rst);
        }
        else
        {
            // SEG.LEN counts the data and the SYN and FIN flags, each one sequence number.
            int length = datagram.TransportLength - tcp.HeaderLength + ((flags & TcpFlags.Syn) != 0 ? 1 : 0) + ((flags & TcpFlags.Fin) != 0 ? 1 : 0);
            (sequence, acknowledgment, reset) = (0, tcp.SequenceNumber + (uint)length, TcpFlags.Rst | TcpFlags.Ack);
        }
        // Out of the interface it came in on, for a link-local peer.
        if (SendBare(datagram.Destination, datagram.Source, tcp.DestinationPort, tcp.SourcePort, sequence, acknowledgment, reset, datagram.Interface.Index))
            _counters.Count(TcpCounter.ResetsSent);
    }

    /// <summary>Sends a segment without options or data from <paramref name="source"/> to <paramref name="destination"/>.</summary>
    private bool SendBare(in InetAddress source, in InetAddress destination, ushort sourcePort, ushort destinationPort, uint sequence, uint acknowledgment, TcpFlags flags, int scope)
        => Emit(InetEndpoint.Of(source, sourcePort), InetEndpoint.Of(destination, destinationPort), scope, sequence, acknowledgment, flags, 0, default, null, 0);

    /// <summary>
    /// Builds one segment, the only place that does: the header, the options, <paramref name="length"/>
    /// bytes of <paramref name="payloadFrom"/>'s send queue from <paramref name="sequence"/>, the
    /// checksum over the pseudo-header; and sends it, IPv4 with DF (path MTU discovery, RFC 1191).
    /// False when no buffer was free or there is no route.
    /// </summary>
    private bool Emit(in InetEndpoint local, in InetEndpoint remote, int scope, uint sequence, uint acknowledgment, TcpFlags flags, ushort window, in TcpOptions options, TcpSocket? payloadFrom, int length)
    {
        bool ipv6 = remote.IsIpv6;
        int header = TcpHeader + options.Length;
        int ipHeader = IpOutput.HeaderLength(ipv6);
        if (payloadFrom is not null && length > 0 && WorkerPackets.EthernetHeader + ipHeader + header + length > _context.Cache.Pool.DataRoom)
            return EmitChained(payloadFrom, new TcpSequence(sequence), new TcpSequence(acknowledgment), flags, window, options, length, segmentSize: 0); // a jumbo MTU's segment
        Span<byte> l3 = _packets.New(ipHeader + header + length, out PacketBuffer packet);
        if (!packet.IsValid)
        {
            _counters.Count(TcpCounter.NoBuffer);
            _output.CountNoBuffer(ipv6);
            return false;
        }
        Span<byte> l4 = l3.Slice(ipHeader, header + length);
        new TcpSegment.Repr
        {
            SourcePort = local.Port,
            DestinationPort = remote.Port,
            SequenceNumber = sequence,
            AcknowledgmentNumber = acknowledgment,
            DataOffset = (byte)(header / 4),
            Flags = flags,
            Window = window,
        }.Emit(l4);
        options.Emit(l4[TcpHeader..]);
        if (length > 0)
        {
            payloadFrom!.CopyPayload(new TcpSequence(sequence), l4.Slice(header, length));
            _counters.Count(TcpCounter.DataSegmentsSent);
        }
        TcpSegment.TryCreate(l4, out TcpSegment segment);
        if (ipv6)
            segment.FillChecksum(local.Address, remote.Address);
        else
            segment.FillChecksum(local.Address4, remote.Address4);
        _counters.Count(TcpCounter.Sent);
        return _output.Send(packet, local.Ip, remote.Ip, IpProtocol.Tcp, header + length, scope, dontFragment: true);
    }

    private bool VerifyChecksum(TcpSegment tcp, in IpDatagram datagram)
    {
        if (datagram.TransportLength == datagram.Transport.Length)
        {
            return datagram.IsIpv6
                ? tcp.VerifyChecksum(datagram.Source.Mapped, datagram.Destination.Mapped)
                : tcp.VerifyChecksum(datagram.Source.V4, datagram.Destination.V4);
        }
        // In a chain: summed buffer by buffer.
        ulong sum = datagram.IsIpv6
            ? InternetChecksum.PseudoHeaderSum(datagram.Source.Mapped, datagram.Destination.Mapped, 6, datagram.TransportLength)
            : InternetChecksum.PseudoHeaderSum(datagram.Source.V4, datagram.Destination.V4, 6, datagram.TransportLength);
        sum = FrameChain.Sum(_packets.Pool, datagram.Packet, datagram.TransportFrameOffset, datagram.TransportLength, sum);
        return InternetChecksum.FoldToUInt16(sum) == 0xFFFF;
    }

    private void Drop(PacketBuffer packet, TcpCounter reason)
    {
        _counters.Count(reason);
        _packets.Drop(packet);
    }
}
