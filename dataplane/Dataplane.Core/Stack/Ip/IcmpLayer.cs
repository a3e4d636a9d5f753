using Dataplane.Buffers;
using Dataplane.Engine;
using Dataplane.Stack.Link;
using Dataplane.Wire;

namespace Dataplane.Stack.Ip;

/// <summary>Codes of ICMP destination unreachable (RFC 792, RFC 1812 5.2.7.1).</summary>
internal static class IcmpUnreachable
{
    /// <summary>No route to the network.</summary>
    public const byte Network = 0;

    /// <summary>The host did not answer ARP.</summary>
    public const byte Host = 1;

    /// <summary>No such transport protocol here.</summary>
    public const byte Protocol = 2;

    /// <summary>Nobody listens on the port.</summary>
    public const byte Port = 3;

    /// <summary>Too large for the next hop, with don't-fragment set (RFC 1191).</summary>
    public const byte FragmentationNeeded = 4;
}

/// <summary>What a transport tells the sender of a datagram it has no taker for.</summary>
internal enum TransportUnreachable
{
    /// <summary>Nobody listens on the port: ICMP port unreachable, ICMPv6 port unreachable (RFC 4443 3.1, code 4).</summary>
    Port,

    /// <summary>No such transport here: ICMP protocol unreachable, ICMPv6 parameter problem at the next-header field (RFC 4443 3.4, code 1).</summary>
    Protocol,
}

/// <summary>
/// ICMP (RFC 792 with RFC 1122 3.2.2) and ICMPv6 (RFC 4443) of one worker, part of its IP layer:
/// echo answered in place, errors counted, and the errors the IP layer and the transports raise
/// sent, rate-limited by the worker's own bucket. Neighbour discovery messages go down to the link
/// layer. Sends through <see cref="IpOutput"/>; counts under ICMP and ICMPv6.
/// </summary>
internal sealed partial class IcmpLayer
{
    /// <summary>ICMP errors stay within 576 bytes (RFC 1812 4.3.2.3), quoting as much of the offending packet as fits.</summary>
    private const int IcmpErrorMaxLength = 576;

    /// <summary>An ICMPv6 error fits the IPv6 minimum MTU (RFC 4443 2.4 c).</summary>
    private const int Icmp6ErrorMaxLength = 1280;

    private const int EthernetHeader = WorkerPackets.EthernetHeader;
    private const int Ipv4Header = Ipv4Packet.FixedLength;
    private const int Ipv6Header = Ipv6Packet.FixedLength;

    private readonly WorkerContext _context;
    private readonly BufferPool _pool;
    private readonly WorkerPackets _packets;
    private readonly IpOutput _output;
    private readonly LinkLayer _link;
    private readonly StackCounters _counters;
    private PacketRateLimit _limit;

    /// <summary>ICMP of the worker whose buffers <paramref name="packets"/> handles, sending through <paramref name="output"/>; counts in <paramref name="counters"/>.</summary>
    public IcmpLayer(WorkerPackets packets, IpOutput output, LinkLayer link, StackCounters counters)
    {
        _packets = packets;
        _context = packets.Context;
        _pool = packets.Pool;
        _output = output;
        _link = link;
        _counters = counters;
        _limit = new PacketRateLimit(_context.Now);
    }

    /// <summary>
    /// Tells the sender of <paramref name="datagram"/> that no transport takes it, in its family's
    /// words; suppressed as any ICMP error may be. The caller counts why and releases the datagram.
    /// </summary>
    public void SendUnreachable(in IpDatagram datagram, TransportUnreachable what)
    {
        if (datagram.IsIpv6)
        {
            Ipv6Packet.TryCreate(datagram.Network, out Ipv6Packet ip6);
            if (what == TransportUnreachable.Port)
                SendError(datagram.Interface, ip6, Icmpv6Type.DestinationUnreachable, 4, 0);
            else
                SendError(datagram.Interface, ip6, Icmpv6Type.ParameterProblem, 1, (uint)datagram.NameField);
            return;
        }
        Ipv4Packet.TryCreate(datagram.Network, out Ipv4Packet ip);
        SendError(datagram.Interface, ip, Icmpv4Type.DestinationUnreachable, what == TransportUnreachable.Port ? IcmpUnreachable.Port : IcmpUnreachable.Protocol, 0);
    }

    /// <summary>An ICMP message for this host in <paramref name="ip"/>, its checksum vouched for when <paramref name="checksums"/> says so.</summary>
    public void Input(NetInterface iface, PacketBuffer packet, Ipv4Packet ip, OffloadFlags checksums)
    {
        _counters.Count(IcmpCounter.Received);
        if (!Icmpv4Packet.TryCreate(ip.Payload, out Icmpv4Packet icmp))
        {
            Drop(packet, IcmpCounter.TooShort);
            return;
        }
        if ((checksums & (OffloadFlags.L4ChecksumVerified | OffloadFlags.L4ChecksumPartial)) == 0 && !icmp.VerifyChecksum())
        {
            Drop(packet, IcmpCounter.BadChecksum);
            return;
        }
        switch (icmp.Type)
        {
            case Icmpv4Type.EchoRequest:
                EchoReply4(iface, packet, ip, icmp);
                break;
            case Icmpv4Type.DestinationUnreachable or Icmpv4Type.TimeExceeded or Icmpv4Type.ParameterProblem:
                _counters.Count(IcmpCounter.ErrorsReceived);
                HandUp4(ip.Payload);
                _packets.Consume(packet);
                break;
            default:
                _counters.Count(IcmpCounter.OtherReceived);
                _packets.Consume(packet);
                break;
        }
    }

    /// <summary>Where errors about datagrams we sent go (the dispatcher, which hands them to their transport).</summary>
    public IIcmpErrorSink? ErrorSink { get; set; }

    /// <summary>Reads an ICMPv4 error's quote and hands it to <see cref="ErrorSink"/> (RFC 1122 3.2.2.1: errors are passed to the transport).</summary>
    private void HandUp4(Span<byte> message)
    {
        if (ErrorSink is not { } sink || !Icmpv4Error.TryCreate(message, out Icmpv4Error icmp))
            return;
        (IcmpErrorKind kind, int mtu) = icmp.Type switch
        {
            Icmpv4Type.DestinationUnreachable when icmp.Code == IcmpUnreachable.FragmentationNeeded => (IcmpErrorKind.PacketTooBig, (int)icmp.NextHopMtu),
            Icmpv4Type.DestinationUnreachable => (IcmpErrorKind.Unreachable, 0),
            Icmpv4Type.TimeExceeded => (IcmpErrorKind.TimeExceeded, 0),
            _ => (IcmpErrorKind.ParameterProblem, 0),
        };
        if (IcmpError.TryQuote4(kind, icmp.Code, mtu, message[8..], out IcmpError error))
            sink.OnIcmpError(error);
    }

    /// <summary>Answers an echo request in its own buffer: the same identifier, sequence and data back (RFC 792).</summary>
    private void EchoReply4(NetInterface iface, PacketBuffer packet, Ipv4Packet ip, Icmpv4Packet icmp)
    {
        Ipv4Address destination = ip.Destination;
        if (destination.IsBroadcast || destination.IsMulticast || iface.IsDirectedBroadcast(destination))
        {
            // RFC 1122 3.2.2.6 lets a host ignore these, and Linux and OpenBSD do by default (smurf attacks).
            Drop(packet, IcmpCounter.BroadcastEchoIgnored);
            return;
        }
        Ipv4Address source = ip.Source;
        // Type 8 becomes 0: the checksum follows by RFC 1624.
        ushort checksum = icmp.Checksum;
        icmp.Type = Icmpv4Type.EchoReply;
        icmp.Checksum = InternetChecksum.Update(checksum, (ushort)((byte)Icmpv4Type.EchoRequest << 8 | icmp.Code), (ushort)((byte)Icmpv4Type.EchoReply << 8 | icmp.Code));
        int icmpLength = icmp.PacketLength;
        if (ip.HeaderLength > Ipv4Header)
            ip.Payload[..icmpLength].CopyTo(ip.Buffer[Ipv4Header..]); // the reply carries no options
        if (_pool.Metadata(packet).Segments > 1)
        {
            // A reassembled request too large for one buffer: ip is a linear copy of it, and the
            // reply is built there and sent from there (in fragments when it passes the MTU).
            _output.WriteIpv4Header(ip.Buffer, destination, source, IpProtocol.Icmp, Ipv4Header + icmpLength);
            Ipv4Packet.TryCreate(ip.Buffer, out Ipv4Packet reply);
            _counters.Count(IcmpCounter.EchoReplies);
            _output.Ipv4OutputLinear(packet, reply);
            return;
        }
        _output.WriteIpv4Header(packet, destination, source, IpProtocol.Icmp, Ipv4Header + icmpLength);
        _packets.SetFrameLength(packet, EthernetHeader + Ipv4Header + icmpLength);
        _packets.ClearOffloads(packet);
        _counters.Count(IcmpCounter.EchoReplies);
        _output.Ipv4Output(packet, source);
    }

    /// <summary>
    /// Sends an ICMP error about <paramref name="offending"/>, which arrived on <paramref name="iface"/>,
    /// unless RFC 1122 3.2.2 forbids one or the rate limit holds it back. The caller still owns
    /// and releases the offending packet.
    /// </summary>
    public void SendError(NetInterface iface, Ipv4Packet offending, Icmpv4Type type, byte code, uint rest)
    {
        Ipv4Address destination = offending.Source;
        if (offending.FragmentOffset != 0 || Ipv4Addresses.IsMartian(destination) || destination.IsUnspecified
            || offending.Destination.IsMulticast || offending.Destination.IsBroadcast || iface.IsDirectedBroadcast(offending.Destination)
            || IsIcmpError(offending))
        {
            _counters.Count(IcmpCounter.ErrorsSuppressed);
            return;
        }
        // Path MTU discovery must not starve behind the limit (Linux exempts it the same way).
        bool pmtu = type == Icmpv4Type.DestinationUnreachable && code == IcmpUnreachable.FragmentationNeeded;
        if (!pmtu && !_limit.TryTake(_context.Now))
        {
            _counters.Count(IcmpCounter.RateLimited);
            return;
        }
        // From an address of the interface the packet came in on, so traceroute names that hop.
        if (!iface.TrySelectSource(destination, out Ipv4Address source) && !_output.TryAnySource4(out source))
            return;
        // What lies in the view's buffer: all of it, or the first buffer of a chain (which holds more than a quote's worth but for a pulled-up one).
        int quote = Math.Min(Math.Min(offending.PacketLength, offending.Buffer.Length), IcmpErrorMaxLength - Ipv4Header - Icmpv4Packet.FixedLength);
        int icmpLength = Icmpv4Packet.FixedLength + quote;
        Span<byte> l3 = _packets.New(Ipv4Header + icmpLength, out PacketBuffer packet);
        if (!packet.IsValid)
        {
            _counters.Count(IpCounter.NoBuffer);
            return;
        }
        Span<byte> message = l3.Slice(Ipv4Header, icmpLength);
        offending.Buffer[..quote].CopyTo(message[Icmpv4Packet.FixedLength..]);
        new Icmpv4Packet.Repr { Type = type, Code = code, RestOfHeader = rest }.Emit(message);
        Icmpv4Packet.TryCreate(message, out Icmpv4Packet icmp);
        icmp.FillChecksum();
        _output.WriteIpv4Header(packet, source, destination, IpProtocol.Icmp, Ipv4Header + icmpLength);
        _counters.Count(IcmpCounter.ErrorsSent);
        _output.Ipv4Output(packet, destination);
    }

    /// <summary>True when the packet is itself an ICMP error (RFC 1122 3.2.2: never answer one with another).</summary>
    private static bool IsIcmpError(Ipv4Packet ip)
    {
        if (ip.Protocol != IpProtocol.Icmp)
            return false;
        Span<byte> payload = ip.Payload;
        if (payload.IsEmpty)
            return false;
        // Queries and their replies: echo (0, 8), router (9, 10), timestamp (13, 14), information (15, 16), mask (17, 18).
        return payload[0] is not (0 or 8 or 9 or 10 or 13 or 14 or 15 or 16 or 17 or 18);
    }

    private void Drop(PacketBuffer packet, IcmpCounter reason)
    {
        _counters.Count(reason);
        _packets.Drop(packet);
    }

    private void Drop(PacketBuffer packet, Icmp6Counter reason)
    {
        _counters.Count(reason);
        _packets.Drop(packet);
    }
}
