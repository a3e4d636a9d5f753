using Dataplane.Buffers;
using Dataplane.Engine;
using Dataplane.Stack.Ip;
using Dataplane.Wire;

namespace Dataplane.Stack.Transport;

/// <summary>
/// UDP of one worker, for both families (RFC 768 with RFC 1122 4.1 and, over IPv6, RFC 8200 8.1):
/// input checks, demultiplexing to the worker's sockets (<see cref="UdpSocketTable"/>), port
/// unreachable, and output of datagrams built afresh (a copy of the app's bytes) or sent on in the
/// buffer they arrived in (echo, splice). It takes <see cref="IpDatagram"/>s from the IP layer and
/// sends through <see cref="IpOutput"/>; it knows nothing above the sockets' apps and nothing of
/// the dispatcher. Counts under UDP.
/// </summary>
/// <remarks>
/// A datagram in a chain (a jumbo frame, or reassembled from fragments into more than one buffer)
/// comes in with its view over the worker's linear copy of the chain
/// (<see cref="WorkerPackets.Linearize"/>): input checks it there, the app reads its payload there,
/// and a reply or splice in place rewrites the headers in the chain's first buffer and sends the chain.
/// </remarks>
internal sealed class UdpLayer
{
    private const int EthernetHeader = WorkerPackets.EthernetHeader;
    private const int Ipv4Header = Ipv4Packet.FixedLength;
    private const int UdpHeader = UdpDatagram.FixedLength;

    private readonly WorkerContext _context;
    private readonly BufferPool _pool;
    private readonly WorkerPackets _packets;
    private readonly IpOutput _output;
    private readonly IcmpLayer _icmp;
    private readonly StackCounters _counters;
    private readonly UdpSocketTable _sockets;

    /// <summary>UDP of the worker whose buffers <paramref name="packets"/> handles, over <paramref name="output"/>; counts in <paramref name="counters"/>.</summary>
    public UdpLayer(WorkerPackets packets, IpOutput output, IcmpLayer icmp, StackCounters counters)
    {
        _packets = packets;
        _context = packets.Context;
        _pool = packets.Pool;
        _output = output;
        _icmp = icmp;
        _counters = counters;
        _sockets = new UdpSocketTable(this);
    }

    /// <summary>This worker's UDP sockets.</summary>
    public UdpSocketTable Sockets => _sockets;

    /// <summary>The worker this runs on.</summary>
    public WorkerContext Context => _context;

    /// <summary>The worker's counters (UDP's and its apps' are counted there).</summary>
    public StackCounters Counters => _counters;

    /// <summary>The IP output UDP sends through, and chooses source addresses with.</summary>
    public IpOutput Ip => _output;

    /// <summary>Takes a datagram the IP layer passed up: checks it and hands it to its socket, or answers port unreachable.</summary>
    public void Input(in IpDatagram datagram)
    {
        _counters.Count(UdpCounter.Received);
        // RFC 768: the length field covers header and data; shorter than the header, or past the IP
        // payload, is malformed. Shorter than the IP payload is trimmed to it (BSD's m_adj).
        if (!UdpDatagram.TryCreate(datagram.Transport, out UdpDatagram udp))
        {
            Drop(datagram.Packet, UdpCounter.BadLength);
            return;
        }
        OffloadFlags offload = datagram.Offload;
        ushort checksum = udp.Checksum;
        if (checksum == 0)
        {
            // RFC 768: a zero checksum was not computed by the sender; RFC 8200 8.1: over IPv6 it is
            // mandatory, and a zero one is discarded. (A partial checksum from the kernel holds the
            // pseudo-header sum, not what the wire will carry.)
            if (datagram.IsIpv6 && (offload & OffloadFlags.L4ChecksumPartial) == 0)
            {
                Drop(datagram.Packet, UdpCounter.ZeroChecksum6);
                return;
            }
        }
        else if ((offload & (OffloadFlags.L4ChecksumVerified | OffloadFlags.L4ChecksumPartial)) == 0 && !VerifyChecksum(udp, datagram))
        {
            // The kernel under tap and afpacket vouches for the checksum when it says verified, or
            // partial (its own, not yet summed); otherwise it is checked here.
            Drop(datagram.Packet, UdpCounter.BadChecksum);
            return;
        }
        var from = InetEndpoint.Of(datagram.Source, udp.SourcePort);
        var to = InetEndpoint.Of(datagram.Destination, udp.DestinationPort);
        if (_sockets.Lookup(to, from) is not { } socket)
        {
            if (datagram.IsBroadcast)
            {
                Drop(datagram.Packet, UdpCounter.NoPortBroadcast);
                return;
            }
            _counters.Count(UdpCounter.NoPort);
            _icmp.SendUnreachable(datagram, TransportUnreachable.Port);
            _packets.Drop(datagram.Packet);
            return;
        }
        ushort kept = (offload & OffloadFlags.L4ChecksumPartial) != 0 ? (ushort)0 : checksum;
        Deliver(socket, new ReceivedDatagram(datagram.Packet, datagram.TransportFrameOffset + UdpHeader, udp.PacketLength - UdpHeader, from, to, kept, datagram.Interface.Index, datagram.IsBroadcast));
    }

    /// <summary>Runs an app timer.</summary>
    public void OnAppTimer(long payload) => _sockets.OnTimer(payload);

    /// <summary>Hands a datagram to its socket: through the socket's splice, or to its app.</summary>
    private void Deliver(UdpSocket socket, in ReceivedDatagram datagram)
    {
        _counters.Count(UdpCounter.Delivered);
        socket.Received++;
        socket.LastReceived = _context.Now;
        if (socket.SpliceDrain is { } drain && _sockets.MayMove(socket, datagram.PayloadLength))
        {
            // OpenBSD's UDP splice: the whole datagram moves to the drain's peer inside the stack.
            UdpError error = ForwardInPlace(datagram, drain, drain.Remote);
            if (error == UdpError.None)
                _counters.Count(UdpCounter.Spliced);
            _sockets.Moved(socket, datagram.PayloadLength, error);
            _sockets.Notify();
            return;
        }
        var received = new UdpReceived(this, datagram);
        socket.App!.OnDatagram(socket, ref received);
        if (!received.IsConsumed)
            _packets.Consume(datagram.Packet);
        _sockets.Notify(); // a splice that its maximum dissolved: told after the datagram it left to the app
    }

    /// <summary>The payload of a received datagram.</summary>
    public ReadOnlySpan<byte> Payload(PacketBuffer packet, int offset, int length)
        => _packets.Contiguous(packet, offset, length);

    /// <summary>Sends a received datagram back to its sender in its own buffer; the buffer is spent either way.</summary>
    public UdpError ReplyInPlace(in ReceivedDatagram datagram)
    {
        InetEndpoint source = datagram.To;
        if (datagram.IsBroadcast)
        {
            // RFC 1122 4.1.3.5: never from a broadcast or multicast address; from ours on the interface.
            if (!_output.TrySourceOn(datagram.Interface, datagram.From.Ip, out InetAddress ours))
            {
                _counters.Count(UdpCounter.SendFailed);
                _packets.Drop(datagram.Packet);
                return UdpError.NetworkUnreachable;
            }
            source = InetEndpoint.Of(ours, datagram.To.Port);
        }
        return SendInPlace(datagram, source, datagram.From, datagram.Interface);
    }

    /// <summary>Sends a received datagram on from <paramref name="via"/> to <paramref name="to"/> in its own buffer; the buffer is spent either way.</summary>
    public UdpError ForwardInPlace(in ReceivedDatagram datagram, UdpSocket via, in InetEndpoint to)
    {
        UdpError error = SourceFor(via, to, out InetEndpoint source);
        if (error != UdpError.None)
        {
            _counters.Count(UdpCounter.SendFailed);
            _packets.Drop(datagram.Packet);
            return error;
        }
        error = SendInPlace(datagram, source, to, via.Scope);
        if (error == UdpError.None)
            via.Sent++;
        return error;
    }

    /// <summary>Sends <paramref name="payload"/> from <paramref name="socket"/> to <paramref name="to"/> in a fresh buffer.</summary>
    public UdpError Send(UdpSocket socket, in InetEndpoint to, ReadOnlySpan<byte> payload)
    {
        UdpError error = SourceFor(socket, to, out InetEndpoint source);
        if (error != UdpError.None)
        {
            _counters.Count(UdpCounter.SendFailed);
            return error;
        }
        error = SendCopy(source, to, socket.Scope, payload);
        if (error == UdpError.None)
            socket.Sent++;
        return error;
    }

    /// <summary>
    /// The source endpoint of a datagram from <paramref name="socket"/> to <paramref name="to"/>:
    /// an open socket is bound to an ephemeral port first (as BSD's sendto does), and an
    /// unspecified local address becomes the one toward <paramref name="to"/>.
    /// </summary>
    private UdpError SourceFor(UdpSocket socket, in InetEndpoint to, out InetEndpoint source)
    {
        source = default;
        if (socket.State == UdpSocketState.Closed)
            return UdpError.InvalidState;
        if (to.IsIpv6 != socket.IsIpv6 || to.Port == 0 || to.IsUnspecifiedAddress)
            return UdpError.InvalidArgument;
        if (socket.State == UdpSocketState.Open && socket.Bind(InetEndpoint.Any(socket.IsIpv6)) is var bound and not UdpError.None)
            return bound;
        source = socket.Local;
        if (source.IsUnspecifiedAddress)
        {
            if (!_sockets.TrySelectSource(to, socket.Scope, out InetEndpoint chosen))
                return UdpError.NetworkUnreachable;
            source = chosen.WithPort(source.Port);
        }
        return UdpError.None;
    }

    /// <summary>
    /// Rewrites the headers of a received datagram in front of its payload, which stays where it
    /// is, and sends it. The checksum follows by RFC 1624 from the one received (only the
    /// pseudo-header and the ports change), or is computed when none usable came with it.
    /// </summary>
    private UdpError SendInPlace(in ReceivedDatagram datagram, in InetEndpoint source, in InetEndpoint destination, int scope)
    {
        PacketBuffer packet = datagram.Packet;
        bool ipv6 = destination.IsIpv6;
        int ipHeader = IpOutput.HeaderLength(ipv6);
        int headers = EthernetHeader + ipHeader + UdpHeader;
        int udpLength = UdpHeader + datagram.PayloadLength;
        ref BufferMetadata m = ref _pool.Metadata(packet);
        int start = m.DataOffset + datagram.PayloadOffset - headers;
        if (!ipv6 && Ipv4Header + udpLength > ushort.MaxValue)
        {
            _counters.Count(UdpCounter.SendFailed);
            _packets.Drop(packet);
            return UdpError.MessageTooLong;
        }
        bool chained = m.Segments > 1;
        if (start < 0 || (chained && datagram.PayloadOffset > m.DataLength))
        {
            // No headroom for a longer header (IPv4 in, IPv6 out, from a driver that filled the
            // buffer from its start): the payload goes in a fresh buffer after all.
            UdpError copied = SendCopy(source, destination, scope, Payload(packet, datagram.PayloadOffset, datagram.PayloadLength));
            _packets.Consume(packet);
            return copied;
        }
        if (chained)
        {
            // The payload goes on in the buffers behind the first: cut what follows it, keep the first buffer's end.
            FrameChain.Trim(_context.Cache, packet, datagram.PayloadOffset + datagram.PayloadLength);
            m.DataLength = (ushort)(m.DataOffset + m.DataLength - start);
        }
        else
        {
            m.DataLength = (ushort)(headers + datagram.PayloadLength);
        }
        m.DataOffset = (ushort)start;
        m.PacketLength = headers + datagram.PayloadLength;
        m.Offload = OffloadFlags.None; // what the driver said of the received frame asks nothing of the sent one
        m.Gso = GsoType.None;
        Span<byte> l4 = _pool.Data(packet).Slice(EthernetHeader + ipHeader, chained ? UdpHeader : udpLength);
        WriteUdpHeader(l4, source, destination, udpLength);
        if (datagram.Checksum != 0)
        {
            // RFC 1624 eqn. 3 over every word that changed: HC' = ~(~HC + ~m + m').
            uint before = InternetChecksum.FoldToUInt16(PseudoHeaderAndPorts(datagram.From, datagram.To, udpLength));
            uint after = InternetChecksum.FoldToUInt16(PseudoHeaderAndPorts(source, destination, udpLength));
            SetUdpChecksum(l4, udpLength, (ushort)~InternetChecksum.FoldToUInt16((uint)(ushort)~datagram.Checksum + (uint)(ushort)~before + after));
        }
        else if (chained)
        {
            // The header was written with a zero checksum: the sum over the chain is the datagram's.
            SetUdpChecksum(l4, udpLength, InternetChecksum.Finish(FrameChain.Sum(_pool, packet, EthernetHeader + ipHeader, udpLength, PseudoHeader(source, destination, udpLength))));
        }
        else
        {
            FillUdpChecksum(l4, source, destination);
        }
        return Output(packet, source, destination, scope, udpLength);
    }

    /// <summary>Builds a datagram of <paramref name="payload"/> in a fresh buffer and sends it.</summary>
    private UdpError SendCopy(in InetEndpoint source, in InetEndpoint destination, int scope, ReadOnlySpan<byte> payload)
    {
        bool ipv6 = destination.IsIpv6;
        int ipHeader = IpOutput.HeaderLength(ipv6);
        int udpLength = UdpHeader + payload.Length;
        if ((ipv6 ? udpLength : ipHeader + udpLength) > ushort.MaxValue)
        {
            _counters.Count(UdpCounter.SendFailed);
            return UdpError.MessageTooLong;
        }
        if (EthernetHeader + ipHeader + udpLength > _pool.DataRoom)
            return SendChain(source, destination, scope, payload);
        Span<byte> l3 = _packets.New(ipHeader + udpLength, out PacketBuffer packet);
        if (!packet.IsValid)
        {
            _counters.Count(UdpCounter.SendFailed);
            _output.CountNoBuffer(ipv6);
            return UdpError.NoBuffer;
        }
        Span<byte> l4 = l3.Slice(ipHeader, udpLength);
        payload.CopyTo(l4[UdpHeader..]);
        WriteUdpHeader(l4, source, destination, udpLength);
        FillUdpChecksum(l4, source, destination);
        return Output(packet, source, destination, scope, udpLength);
    }

    /// <summary>
    /// Builds a datagram larger than one buffer in a fresh chain and sends it (in fragments when it
    /// passes the MTU): the headers in the first buffer, the payload across the chain, the checksum
    /// summed over the payload as it is copied from.
    /// </summary>
    private UdpError SendChain(in InetEndpoint source, in InetEndpoint destination, int scope, ReadOnlySpan<byte> payload)
    {
        int ipHeader = IpOutput.HeaderLength(destination.IsIpv6);
        int udpLength = UdpHeader + payload.Length;
        if (!FrameChain.TryAllocate(_context.Cache, EthernetHeader + ipHeader + udpLength, out PacketBuffer packet))
        {
            _counters.Count(UdpCounter.SendFailed);
            _output.CountNoBuffer(destination.IsIpv6);
            return UdpError.NoBuffer;
        }
        Span<byte> l4 = _pool.Data(packet).Slice(EthernetHeader + ipHeader, UdpHeader);
        WriteUdpHeader(l4, source, destination, udpLength);
        SetUdpChecksum(l4, udpLength, InternetChecksum.Finish(InternetChecksum.Add(InternetChecksum.Add(PseudoHeader(source, destination, udpLength), l4), payload)));
        FrameChain.Write(_pool, packet, EthernetHeader + ipHeader + UdpHeader, payload);
        return Output(packet, source, destination, scope, udpLength);
    }

    /// <summary>Writes the IP header in front of a datagram whose UDP header is written, and sends it.</summary>
    private UdpError Output(PacketBuffer packet, in InetEndpoint source, in InetEndpoint destination, int scope, int udpLength)
    {
        if (!_output.Send(packet, source.Ip, destination.Ip, IpProtocol.Udp, udpLength, scope))
        {
            _counters.Count(UdpCounter.SendFailed);
            return UdpError.NetworkUnreachable;
        }
        _counters.Count(UdpCounter.Sent);
        return UdpError.None;
    }

    private static void FillUdpChecksum(Span<byte> datagram, in InetEndpoint source, in InetEndpoint destination)
    {
        UdpDatagram.TryCreate(datagram, out UdpDatagram udp);
        udp.Checksum = 0;
        if (destination.IsIpv6)
            udp.FillChecksum(source.Address, destination.Address);
        else
            udp.FillChecksum(source.Address4, destination.Address4);
    }

    /// <summary>Writes a UDP header (ports and length; checksum 0) at the front of <paramref name="l4"/>.</summary>
    private static void WriteUdpHeader(Span<byte> l4, in InetEndpoint source, in InetEndpoint destination, int udpLength)
        => new UdpDatagram.Repr { SourcePort = source.Port, DestinationPort = destination.Port, Length = (ushort)udpLength }.Emit(l4);

    /// <summary>Sets the checksum of the UDP header at the front of <paramref name="l4"/> (the first buffer's part of a chain, maybe); a computed 0 goes as all ones (RFC 768).</summary>
    private static void SetUdpChecksum(Span<byte> l4, int udpLength, ushort checksum)
    {
        UdpDatagram.TryCreate(l4, udpLength, out UdpDatagram udp, out _);
        udp.Checksum = checksum == 0 ? (ushort)0xFFFF : checksum;
    }

    /// <summary>The partial sum of the pseudo-header of a datagram of <paramref name="udpLength"/> bytes.</summary>
    private static ulong PseudoHeader(in InetEndpoint source, in InetEndpoint destination, int udpLength)
        => InetAddress.PseudoHeaderSum(source.Ip, destination.Ip, IpProtocol.Udp, udpLength);

    /// <summary>The partial sum of the pseudo-header and the two ports: what changes when a datagram is readdressed.</summary>
    private static ulong PseudoHeaderAndPorts(in InetEndpoint source, in InetEndpoint destination, int udpLength)
        => PseudoHeader(source, destination, udpLength) + source.Port + destination.Port;

    private void Drop(PacketBuffer packet, UdpCounter reason)
    {
        _counters.Count(reason);
        _packets.Drop(packet);
    }

    private static bool VerifyChecksum(UdpDatagram udp, in IpDatagram datagram) => datagram.IsIpv6
        ? udp.VerifyChecksum(datagram.Source.Mapped, datagram.Destination.Mapped)
        : udp.VerifyChecksum(datagram.Source.V4, datagram.Destination.V4);
}
