using System.Buffers.Binary;
using Dataplane.Buffers;
using Dataplane.Engine;
using Dataplane.Stack.Transport;
using Dataplane.Wire;

namespace Dataplane.Stack;

// UDP, RFC 768 with RFC 1122 4.1 and, over IPv6, RFC 8200 8.1: input checks, demultiplexing to
// this worker's sockets, port unreachable, and output of datagrams built afresh (a copy of the
// app's bytes) or sent on in the buffer they arrived in (echo, splice).
//
// A datagram in a chain (a jumbo frame, or reassembled from fragments into more than one buffer)
// comes in with its view over the worker's linear copy of the chain (see StackWorker.Reassembly):
// input checks it there, the app reads its payload there, and a reply or splice in place rewrites
// the headers in the chain's first buffer and sends the chain.
internal sealed partial class StackWorker
{
    /// <summary>The timer kind of app timers; the kinds below it, from <see cref="StackTimer.Transport"/>, are left to TCP.</summary>
    internal const int UdpAppTimer = (int)StackTimer.Transport + 0x10;

    private const int UdpHeader = UdpDatagram.FixedLength;

    private readonly UdpSocketTable _udp;

    /// <summary>This worker's UDP sockets.</summary>
    public UdpSocketTable Udp => _udp;

    private void UdpInput4(NetInterface iface, PacketBuffer packet, Ipv4Packet ip)
    {
        Counters.Count(UdpCounter.Received);
        // RFC 768: the length field covers header and data; shorter than the header, or past the IP
        // payload, is malformed. Shorter than the IP payload is trimmed to it (BSD's m_adj).
        if (!UdpDatagram.TryCreate(ip.Payload, out UdpDatagram udp))
        {
            Drop(packet, UdpCounter.BadLength);
            return;
        }
        OffloadFlags offload = _pool.Metadata(packet).Offload;
        Ipv4Address source = ip.Source;
        Ipv4Address destination = ip.Destination;
        ushort checksum = udp.Checksum;
        // RFC 768: a zero checksum was not computed by the sender. The kernel under tap and
        // afpacket vouches for the rest when it says verified, or partial (its own, not yet summed).
        if (checksum != 0 && (offload & (OffloadFlags.L4ChecksumVerified | OffloadFlags.L4ChecksumPartial)) == 0
            && !udp.VerifyChecksum(source, destination))
        {
            Drop(packet, UdpCounter.BadChecksum);
            return;
        }
        var from = UdpEndpoint.Ipv4(source, udp.SourcePort);
        var to = UdpEndpoint.Ipv4(destination, udp.DestinationPort);
        bool broadcast = destination.IsBroadcast || destination.IsMulticast || iface.IsDirectedBroadcast(destination);
        if (_udp.Lookup(to, from) is not { } socket)
        {
            if (broadcast)
            {
                Drop(packet, UdpCounter.NoPortBroadcast);
                return;
            }
            Counters.Count(UdpCounter.NoPort);
            SendIcmpError(iface, ip, Icmpv4Type.DestinationUnreachable, IcmpUnreachable.Port, 0);
            _context.Drop(packet);
            return;
        }
        ushort kept = (offload & OffloadFlags.L4ChecksumPartial) != 0 ? (ushort)0 : checksum;
        UdpDeliver(socket, new ReceivedDatagram(packet, EthernetHeader + ip.HeaderLength + UdpHeader, udp.PacketLength - UdpHeader, from, to, kept, iface.Index, broadcast));
    }

    private void UdpInput6(NetInterface iface, PacketBuffer packet, Ipv6Packet ip, int offset)
    {
        Counters.Count(UdpCounter.Received);
        if (!UdpDatagram.TryCreate(ip.Buffer[offset..ip.PacketLength], out UdpDatagram udp))
        {
            Drop(packet, UdpCounter.BadLength);
            return;
        }
        OffloadFlags offload = _pool.Metadata(packet).Offload;
        ushort checksum = udp.Checksum;
        // RFC 8200 8.1: the checksum is mandatory over IPv6, and a zero one is discarded. (A partial
        // checksum from the kernel holds the pseudo-header sum, not what the wire will carry.)
        if (checksum == 0 && (offload & OffloadFlags.L4ChecksumPartial) == 0)
        {
            Drop(packet, UdpCounter.ZeroChecksum6);
            return;
        }
        Ipv6Address source = ip.Source;
        Ipv6Address destination = ip.Destination;
        if ((offload & (OffloadFlags.L4ChecksumVerified | OffloadFlags.L4ChecksumPartial)) == 0 && !udp.VerifyChecksum(source, destination))
        {
            Drop(packet, UdpCounter.BadChecksum);
            return;
        }
        var from = UdpEndpoint.Ipv6(source, udp.SourcePort);
        var to = UdpEndpoint.Ipv6(destination, udp.DestinationPort);
        bool multicast = destination.IsMulticast;
        if (_udp.Lookup(to, from) is not { } socket)
        {
            if (multicast)
            {
                Drop(packet, UdpCounter.NoPortBroadcast);
                return;
            }
            Counters.Count(UdpCounter.NoPort);
            SendIcmp6Error(iface, ip, Icmpv6Type.DestinationUnreachable, 4, 0); // RFC 4443 3.1: code 4, port unreachable
            _context.Drop(packet);
            return;
        }
        ushort kept = (offload & OffloadFlags.L4ChecksumPartial) != 0 ? (ushort)0 : checksum;
        UdpDeliver(socket, new ReceivedDatagram(packet, EthernetHeader + offset + UdpHeader, udp.PacketLength - UdpHeader, from, to, kept, iface.Index, multicast));
    }

    /// <summary>Hands a datagram to its socket: through the socket's splice, or to its app.</summary>
    private void UdpDeliver(UdpSocket socket, in ReceivedDatagram datagram)
    {
        Counters.Count(UdpCounter.Delivered);
        socket.Received++;
        socket.LastReceived = _context.Now;
        if (socket.SpliceDrain is { } drain)
        {
            // OpenBSD's UDP splice: the whole datagram moves to the drain's peer inside the stack.
            Counters.Count(UdpCounter.Spliced);
            UdpForwardInPlace(datagram, drain, drain.Remote);
            return;
        }
        var received = new UdpReceived(this, datagram);
        socket.App!.OnDatagram(socket, ref received);
        if (!received.IsConsumed)
            _packets.Consume(datagram.Packet);
    }

    /// <summary>The payload of a received datagram.</summary>
    internal ReadOnlySpan<byte> UdpPayload(PacketBuffer packet, int offset, int length)
        => _pool.Metadata(packet).Segments == 1 ? _pool.Data(packet).Slice(offset, length) : _linear.AsSpan(offset, length);

    /// <summary>Sends a received datagram back to its sender in its own buffer; the buffer is spent either way.</summary>
    internal UdpError UdpReplyInPlace(in ReceivedDatagram datagram)
    {
        UdpEndpoint source = datagram.To;
        if (datagram.IsBroadcast)
        {
            // RFC 1122 4.1.3.5: never from a broadcast or multicast address; from ours on the interface.
            if (!TrySourceOn(_stack.Interfaces[datagram.Interface], datagram.From, out UdpEndpoint ours))
            {
                Counters.Count(UdpCounter.SendFailed);
                _context.Drop(datagram.Packet);
                return UdpError.NetworkUnreachable;
            }
            source = ours.WithPort(datagram.To.Port);
        }
        return UdpSendInPlace(datagram, source, datagram.From, datagram.Interface);
    }

    /// <summary>Sends a received datagram on from <paramref name="via"/> to <paramref name="to"/> in its own buffer; the buffer is spent either way.</summary>
    internal UdpError UdpForwardInPlace(in ReceivedDatagram datagram, UdpSocket via, in UdpEndpoint to)
    {
        UdpError error = UdpSourceFor(via, to, out UdpEndpoint source);
        if (error != UdpError.None)
        {
            Counters.Count(UdpCounter.SendFailed);
            _context.Drop(datagram.Packet);
            return error;
        }
        error = UdpSendInPlace(datagram, source, to, via.Scope);
        if (error == UdpError.None)
            via.Sent++;
        return error;
    }

    /// <summary>Sends <paramref name="payload"/> from <paramref name="socket"/> to <paramref name="to"/> in a fresh buffer.</summary>
    internal UdpError UdpSend(UdpSocket socket, in UdpEndpoint to, ReadOnlySpan<byte> payload)
    {
        UdpError error = UdpSourceFor(socket, to, out UdpEndpoint source);
        if (error != UdpError.None)
        {
            Counters.Count(UdpCounter.SendFailed);
            return error;
        }
        error = UdpSendCopy(source, to, socket.Scope, payload);
        if (error == UdpError.None)
            socket.Sent++;
        return error;
    }

    /// <summary>
    /// The source endpoint of a datagram from <paramref name="socket"/> to <paramref name="to"/>:
    /// an open socket is bound to an ephemeral port first (as BSD's sendto does), and an
    /// unspecified local address becomes the one toward <paramref name="to"/>.
    /// </summary>
    private UdpError UdpSourceFor(UdpSocket socket, in UdpEndpoint to, out UdpEndpoint source)
    {
        source = default;
        if (socket.State == UdpSocketState.Closed)
            return UdpError.InvalidState;
        if (to.IsIpv6 != socket.IsIpv6 || to.Port == 0 || to.IsUnspecifiedAddress)
            return UdpError.InvalidArgument;
        if (socket.State == UdpSocketState.Open && socket.Bind(UdpEndpoint.Any(socket.IsIpv6)) is var bound and not UdpError.None)
            return bound;
        source = socket.Local;
        if (source.IsUnspecifiedAddress)
        {
            if (!_udp.TrySelectSource(to, socket.Scope, out UdpEndpoint chosen))
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
    private UdpError UdpSendInPlace(in ReceivedDatagram datagram, in UdpEndpoint source, in UdpEndpoint destination, int scope)
    {
        PacketBuffer packet = datagram.Packet;
        bool ipv6 = destination.IsIpv6;
        int ipHeader = ipv6 ? Ipv6Header : Ipv4Header;
        int headers = EthernetHeader + ipHeader + UdpHeader;
        int udpLength = UdpHeader + datagram.PayloadLength;
        ref BufferMetadata m = ref _pool.Metadata(packet);
        int start = m.DataOffset + datagram.PayloadOffset - headers;
        if (!ipv6 && Ipv4Header + udpLength > ushort.MaxValue)
        {
            Counters.Count(UdpCounter.SendFailed);
            _context.Drop(packet);
            return UdpError.MessageTooLong;
        }
        bool chained = m.Segments > 1;
        if (start < 0 || (chained && datagram.PayloadOffset > m.DataLength))
        {
            // No headroom for a longer header (IPv4 in, IPv6 out, from a driver that filled the
            // buffer from its start): the payload goes in a fresh buffer after all.
            UdpError copied = UdpSendCopy(source, destination, scope, UdpPayload(packet, datagram.PayloadOffset, datagram.PayloadLength));
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
        return UdpOutput(packet, source, destination, scope, udpLength);
    }

    /// <summary>Builds a datagram of <paramref name="payload"/> in a fresh buffer and sends it.</summary>
    private UdpError UdpSendCopy(in UdpEndpoint source, in UdpEndpoint destination, int scope, ReadOnlySpan<byte> payload)
    {
        bool ipv6 = destination.IsIpv6;
        int ipHeader = ipv6 ? Ipv6Header : Ipv4Header;
        int udpLength = UdpHeader + payload.Length;
        if ((ipv6 ? udpLength : ipHeader + udpLength) > ushort.MaxValue)
        {
            Counters.Count(UdpCounter.SendFailed);
            return UdpError.MessageTooLong;
        }
        if (EthernetHeader + ipHeader + udpLength > _pool.DataRoom)
            return UdpSendChain(source, destination, scope, payload);
        Span<byte> l3 = _packets.New(ipHeader + udpLength, out PacketBuffer packet);
        if (!packet.IsValid)
        {
            Counters.Count(UdpCounter.SendFailed);
            if (ipv6)
                Counters.Count(Ip6Counter.NoBuffer);
            else
                Counters.Count(IpCounter.NoBuffer);
            return UdpError.NoBuffer;
        }
        Span<byte> l4 = l3.Slice(ipHeader, udpLength);
        payload.CopyTo(l4[UdpHeader..]);
        WriteUdpHeader(l4, source, destination, udpLength);
        FillUdpChecksum(l4, source, destination);
        return UdpOutput(packet, source, destination, scope, udpLength);
    }

    /// <summary>
    /// Builds a datagram larger than one buffer in a fresh chain and sends it (in fragments when it
    /// passes the MTU): the headers in the first buffer, the payload across the chain, the checksum
    /// summed over the payload as it is copied from.
    /// </summary>
    private UdpError UdpSendChain(in UdpEndpoint source, in UdpEndpoint destination, int scope, ReadOnlySpan<byte> payload)
    {
        int ipHeader = destination.IsIpv6 ? Ipv6Header : Ipv4Header;
        int udpLength = UdpHeader + payload.Length;
        if (!FrameChain.TryAllocate(_context.Cache, EthernetHeader + ipHeader + udpLength, out PacketBuffer packet))
        {
            Counters.Count(UdpCounter.SendFailed);
            if (destination.IsIpv6)
                Counters.Count(Ip6Counter.NoBuffer);
            else
                Counters.Count(IpCounter.NoBuffer);
            return UdpError.NoBuffer;
        }
        Span<byte> l4 = _pool.Data(packet).Slice(EthernetHeader + ipHeader, UdpHeader);
        WriteUdpHeader(l4, source, destination, udpLength);
        SetUdpChecksum(l4, udpLength, InternetChecksum.Finish(InternetChecksum.Add(InternetChecksum.Add(PseudoHeader(source, destination, udpLength), l4), payload)));
        FrameChain.Write(_pool, packet, EthernetHeader + ipHeader + UdpHeader, payload);
        return UdpOutput(packet, source, destination, scope, udpLength);
    }

    /// <summary>Writes the IP header in front of a datagram whose UDP header is written, and sends it.</summary>
    private UdpError UdpOutput(PacketBuffer packet, in UdpEndpoint source, in UdpEndpoint destination, int scope, int udpLength)
    {
        bool sent;
        if (destination.IsIpv6)
        {
            WriteIpv6Header(packet, source.Address, destination.Address, IpProtocol.Udp, udpLength);
            NetInterface? scopeInterface = (uint)scope < (uint)_stack.Interfaces.Length ? _stack.Interfaces[scope] : null;
            sent = Ipv6Output(packet, destination.Address, scopeInterface);
        }
        else
        {
            WriteIpv4Header(packet, source.Address4, destination.Address4, IpProtocol.Udp, Ipv4Header + udpLength);
            sent = Ipv4Output(packet, destination.Address4);
        }
        if (!sent)
        {
            Counters.Count(UdpCounter.SendFailed);
            return UdpError.NetworkUnreachable;
        }
        Counters.Count(UdpCounter.Sent);
        return UdpError.None;
    }

    private static void FillUdpChecksum(Span<byte> datagram, in UdpEndpoint source, in UdpEndpoint destination)
    {
        UdpDatagram.TryCreate(datagram, out UdpDatagram udp);
        udp.Checksum = 0;
        if (destination.IsIpv6)
            udp.FillChecksum(source.Address, destination.Address);
        else
            udp.FillChecksum(source.Address4, destination.Address4);
    }

    /// <summary>Writes a UDP header (ports and length; checksum 0) at the front of <paramref name="l4"/>.</summary>
    private static void WriteUdpHeader(Span<byte> l4, in UdpEndpoint source, in UdpEndpoint destination, int udpLength)
        => new UdpDatagram.Repr { SourcePort = source.Port, DestinationPort = destination.Port, Length = (ushort)udpLength }.Emit(l4);

    /// <summary>Sets the checksum of the UDP header at the front of <paramref name="l4"/> (the first buffer's part of a chain, maybe); a computed 0 goes as all ones (RFC 768).</summary>
    private static void SetUdpChecksum(Span<byte> l4, int udpLength, ushort checksum)
    {
        UdpDatagram.TryCreate(l4, udpLength, out UdpDatagram udp, out _);
        udp.Checksum = checksum == 0 ? (ushort)0xFFFF : checksum;
    }

    /// <summary>The partial sum of the pseudo-header of a datagram of <paramref name="udpLength"/> bytes.</summary>
    private static ulong PseudoHeader(in UdpEndpoint source, in UdpEndpoint destination, int udpLength) => source.IsIpv6
        ? InternetChecksum.PseudoHeaderSum(source.Address, destination.Address, (byte)IpProtocol.Udp, udpLength)
        : InternetChecksum.PseudoHeaderSum(source.Address4, destination.Address4, (byte)IpProtocol.Udp, udpLength);

    /// <summary>The partial sum of the pseudo-header and the two ports: what changes when a datagram is readdressed.</summary>
    private static ulong PseudoHeaderAndPorts(in UdpEndpoint source, in UdpEndpoint destination, int udpLength)
    {
        return PseudoHeader(source, destination, udpLength) + source.Port + destination.Port;
    }

    /// <summary>Our address on <paramref name="iface"/> toward <paramref name="peer"/>, of its family.</summary>
    private static bool TrySourceOn(NetInterface iface, in UdpEndpoint peer, out UdpEndpoint source)
    {
        source = default;
        if (peer.IsIpv6)
        {
            if (!iface.TrySelectSource(peer.Address, out Ipv6Address address6))
                return false;
            source = UdpEndpoint.Ipv6(address6, 0);
            return true;
        }
        if (!iface.TrySelectSource(peer.Address4, out Ipv4Address address))
            return false;
        source = UdpEndpoint.Ipv4(address, 0);
        return true;
    }

    private void Drop(PacketBuffer packet, UdpCounter reason)
    {
        Counters.Count(reason);
        _context.Drop(packet);
    }

    private void OnTransportTimer(in ExpiredTimer timer)
    {
        if (timer.Kind == UdpAppTimer)
            _udp.OnTimer(timer.Payload);
    }
}
