using Dataplane.Buffers;
using Dataplane.Wire;

namespace Dataplane.Stack.Ip;

// ICMPv6, RFC 4443: echo answered, errors counted, errors sent rate-limited; neighbour
// solicitations and advertisements go down to the link layer (Link/LinkLayer.Nd.cs).
internal sealed partial class IcmpLayer
{
    /// <summary>An ICMPv6 message for this host at <paramref name="offset"/> in <paramref name="ip"/>, its checksum vouched for when <paramref name="checksums"/> says so.</summary>
    public void Input(NetInterface iface, PacketBuffer packet, Ipv6Packet ip, int offset, OffloadFlags checksums)
    {
        _counters.Count(Icmp6Counter.Received);
        Span<byte> message = ip.Buffer[offset..ip.PacketLength];
        if (!Icmpv6Packet.TryCreate(message, out Icmpv6Packet icmp))
        {
            Drop(packet, Icmp6Counter.TooShort);
            return;
        }
        if ((checksums & (OffloadFlags.L4ChecksumVerified | OffloadFlags.L4ChecksumPartial)) == 0 && !icmp.VerifyChecksum(ip.Source, ip.Destination))
        {
            Drop(packet, Icmp6Counter.BadChecksum);
            return;
        }
        switch (icmp.Type)
        {
            case Icmpv6Type.EchoRequest:
                EchoReply6(iface, packet, ip, offset, icmp);
                break;
            case Icmpv6Type.NeighborSolicitation:
                _link.NeighborSolicitationInput(iface, packet, ip, message);
                break;
            case Icmpv6Type.NeighborAdvertisement:
                _link.NeighborAdvertisementInput(iface, packet, ip, message);
                break;
            case Icmpv6Type.DestinationUnreachable or Icmpv6Type.PacketTooBig or Icmpv6Type.TimeExceeded or Icmpv6Type.ParameterProblem:
                _counters.Count(Icmp6Counter.ErrorsReceived);
                HandUp6(message);
                _packets.Consume(packet);
                break;
            default:
                _counters.Count(Icmp6Counter.OtherReceived);
                _packets.Consume(packet);
                break;
        }
    }

    /// <summary>Reads an ICMPv6 error's quote and hands it to <see cref="ErrorSink"/> (RFC 4443 3: errors are passed to the transport).</summary>
    private void HandUp6(Span<byte> message)
    {
        if (ErrorSink is not { } sink || !Icmpv6Error.TryCreate(message, out Icmpv6Error icmp))
            return;
        (IcmpErrorKind kind, int mtu) = icmp.Type switch
        {
            Icmpv6Type.PacketTooBig => (IcmpErrorKind.PacketTooBig, (int)Math.Min(icmp.Parameter, int.MaxValue)),
            Icmpv6Type.DestinationUnreachable => (IcmpErrorKind.Unreachable, 0),
            Icmpv6Type.TimeExceeded => (IcmpErrorKind.TimeExceeded, 0),
            _ => (IcmpErrorKind.ParameterProblem, 0),
        };
        if (IcmpError.TryQuote6(kind, icmp.Code, mtu, message[8..], out IcmpError error))
            sink.OnIcmpError(error);
    }

    /// <summary>Answers an echo request in its own buffer (RFC 4443 4.2).</summary>
    private void EchoReply6(NetInterface iface, PacketBuffer packet, Ipv6Packet ip, int offset, Icmpv6Packet icmp)
    {
        Ipv6Address destination = ip.Destination;
        if (destination.IsMulticast)
        {
            Drop(packet, Icmp6Counter.OtherReceived);
            return;
        }
        Ipv6Address source = ip.Source;
        // Swapping the addresses leaves the pseudo-header sum alone; the type changes from 128 to 129.
        ushort checksum = icmp.Checksum;
        icmp.Type = Icmpv6Type.EchoReply;
        icmp.Checksum = InternetChecksum.Update(checksum, (ushort)((byte)Icmpv6Type.EchoRequest << 8 | icmp.Code), (ushort)((byte)Icmpv6Type.EchoReply << 8 | icmp.Code));
        int length = icmp.PacketLength;
        if (offset > Ipv6Header)
            ip.Buffer.Slice(offset, length).CopyTo(ip.Buffer[Ipv6Header..]); // without the request's extension headers
        if (_pool.Metadata(packet).Segments > 1)
        {
            // A reassembled request too large for one buffer: built and sent from the linear copy.
            IpOutput.WriteIpv6Header(ip.Buffer, destination, source, IpProtocol.Icmpv6, length);
            Ipv6Packet.TryCreate(ip.Buffer, out Ipv6Packet reply);
            _counters.Count(Icmp6Counter.EchoReplies);
            _output.Ipv6OutputLinear(packet, reply, iface);
            return;
        }
        _output.WriteIpv6Header(packet, destination, source, IpProtocol.Icmpv6, length);
        _packets.SetFrameLength(packet, EthernetHeader + Ipv6Header + length);
        _packets.ClearOffloads(packet);
        _counters.Count(Icmp6Counter.EchoReplies);
        _output.Ipv6Output(packet, source, iface);
    }

    /// <summary>
    /// Sends an ICMPv6 error about <paramref name="offending"/>, which arrived on
    /// <paramref name="iface"/>, unless RFC 4443 2.4 (e) forbids one or the rate limit holds it
    /// back. The caller still owns and releases the offending packet.
    /// </summary>
    public void SendError(NetInterface iface, Ipv6Packet offending, Icmpv6Type type, byte code, uint rest)
    {
        Ipv6Address destination = offending.Source;
        bool multicastAllowed = type == Icmpv6Type.PacketTooBig || (type == Icmpv6Type.ParameterProblem && code == 2);
        if (destination.IsUnspecified || destination.IsMulticast
            || (offending.Destination.IsMulticast && !multicastAllowed)
            || IsIcmp6Error(offending))
        {
            _counters.Count(Icmp6Counter.ErrorsSuppressed);
            return;
        }
        if (type != Icmpv6Type.PacketTooBig && !_limit.TryTake(_context.Now))
        {
            _counters.Count(Icmp6Counter.RateLimited);
            return;
        }
        if (!iface.TrySelectSource(destination, out Ipv6Address source))
            return;
        // What lies in the view's buffer: all of it, or the first buffer of a chain (which holds more than a quote's worth but for a pulled-up one).
        int quote = Math.Min(Math.Min(offending.PacketLength, offending.Buffer.Length), Icmp6ErrorMaxLength - Ipv6Header - Icmpv6Packet.FixedLength);
        int length = Icmpv6Packet.FixedLength + quote;
        Span<byte> l3 = _packets.New(Ipv6Header + length, out PacketBuffer packet);
        if (!packet.IsValid)
        {
            _counters.Count(Ip6Counter.NoBuffer);
            return;
        }
        Span<byte> message = l3.Slice(Ipv6Header, length);
        offending.Buffer[..quote].CopyTo(message[Icmpv6Packet.FixedLength..]);
        new Icmpv6Packet.Repr { Type = type, Code = code, RestOfHeader = rest }.Emit(message);
        Icmpv6Packet.TryCreate(message, out Icmpv6Packet icmp);
        icmp.FillChecksum(source, destination);
        _output.WriteIpv6Header(packet, source, destination, IpProtocol.Icmpv6, length);
        _counters.Count(Icmp6Counter.ErrorsSent);
        _output.Ipv6Output(packet, destination, iface);
    }

    /// <summary>True when the packet is an ICMPv6 error or redirect right after its header (RFC 4443 2.4 e.1).</summary>
    private static bool IsIcmp6Error(Ipv6Packet ip)
    {
        if (ip.NextHeader != IpProtocol.Icmpv6)
            return false;
        Span<byte> payload = ip.Payload;
        return !payload.IsEmpty && (payload[0] < 128 || payload[0] == (byte)Icmpv6Type.Redirect);
    }
}
