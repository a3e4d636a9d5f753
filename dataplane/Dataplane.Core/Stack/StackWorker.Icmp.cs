using System.Buffers.Binary;
using Dataplane.Buffers;
using Dataplane.Wire;

namespace Dataplane.Stack;

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

/// <summary>
/// A token bucket for ICMP errors: <see cref="PerSecond"/> a second with bursts of as many, as
/// OpenBSD's net.inet.icmp.errppslimit and RFC 1812 4.3.2.8 ask. One per worker: no sharing.
/// </summary>
internal struct IcmpRateLimit(long now)
{
    /// <summary>Errors a worker sends a second, at most.</summary>
    public const int PerSecond = 100;

    private long _tokens = PerSecond;
    private long _last = now;

    /// <summary>Takes one token at <paramref name="now"/>; false when the bucket is empty.</summary>
    public bool TryTake(long now)
    {
        long elapsed = now - _last;
        if (elapsed > 0)
        {
            long refill = elapsed * PerSecond / 1_000_000_000;
            if (refill > 0)
            {
                _tokens = Math.Min(PerSecond, _tokens + refill);
                _last = now;
            }
        }
        if (_tokens == 0)
            return false;
        _tokens--;
        return true;
    }
}

// ICMP, RFC 792 with RFC 1122 3.2.2: echo answered, errors counted, errors sent rate-limited.
internal sealed partial class StackWorker
{
    /// <summary>ICMP errors stay within 576 bytes (RFC 1812 4.3.2.3), quoting as much of the offending packet as fits.</summary>
    private const int IcmpErrorMaxLength = 576;

    private void IcmpInput(NetInterface iface, PacketBuffer packet, Ipv4Packet ip)
    {
        Counters.Count(IcmpCounter.Received);
        if (!Icmpv4Packet.TryCreate(ip.Payload, out Icmpv4Packet icmp))
        {
            Drop(packet, IcmpCounter.TooShort);
            return;
        }
        if ((_pool.Metadata(packet).Offload & (OffloadFlags.L4ChecksumVerified | OffloadFlags.L4ChecksumPartial)) == 0 && !icmp.VerifyChecksum())
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
                Counters.Count(IcmpCounter.ErrorsReceived);
                _packets.Consume(packet);
                break;
            default:
                Counters.Count(IcmpCounter.OtherReceived);
                _packets.Consume(packet);
                break;
        }
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
            WriteIpv4Header(ip.Buffer, destination, source, IpProtocol.Icmp, Ipv4Header + icmpLength);
            Ipv4Packet.TryCreate(ip.Buffer, out Ipv4Packet reply);
            Counters.Count(IcmpCounter.EchoReplies);
            Ipv4OutputLinear(packet, reply);
            return;
        }
        WriteIpv4Header(packet, destination, source, IpProtocol.Icmp, Ipv4Header + icmpLength);
        _packets.SetFrameLength(packet, EthernetHeader + Ipv4Header + icmpLength);
        _packets.ClearOffloads(packet);
        Counters.Count(IcmpCounter.EchoReplies);
        Ipv4Output(packet, source);
    }

    /// <summary>
    /// Sends an ICMP error about <paramref name="offending"/>, which arrived on <paramref name="iface"/>,
    /// unless RFC 1122 3.2.2 forbids one or the rate limit holds it back. The caller still owns
    /// and releases the offending packet.
    /// </summary>
    private void SendIcmpError(NetInterface iface, Ipv4Packet offending, Icmpv4Type type, byte code, uint rest)
    {
        Ipv4Address destination = offending.Source;
        if (offending.FragmentOffset != 0 || Ipv4Addresses.IsMartian(destination) || destination.IsUnspecified
            || offending.Destination.IsMulticast || offending.Destination.IsBroadcast || iface.IsDirectedBroadcast(offending.Destination)
            || IsIcmpError(offending))
        {
            Counters.Count(IcmpCounter.ErrorsSuppressed);
            return;
        }
        // Path MTU discovery must not starve behind the limit (Linux exempts it the same way).
        bool pmtu = type == Icmpv4Type.DestinationUnreachable && code == IcmpUnreachable.FragmentationNeeded;
        if (!pmtu && !_icmpLimit.TryTake(_context.Now))
        {
            Counters.Count(IcmpCounter.RateLimited);
            return;
        }
        // From an address of the interface the packet came in on, so traceroute names that hop.
        if (!iface.TrySelectSource(destination, out Ipv4Address source) && !TryAnySource4(out source))
            return;
        // What lies in the view's buffer: all of it, or the first buffer of a chain (which holds more than a quote's worth but for a pulled-up one).
        int quote = Math.Min(Math.Min(offending.PacketLength, offending.Buffer.Length), IcmpErrorMaxLength - Ipv4Header - Icmpv4Packet.FixedLength);
        int icmpLength = Icmpv4Packet.FixedLength + quote;
        Span<byte> l3 = _packets.New(Ipv4Header + icmpLength, out PacketBuffer packet);
        if (!packet.IsValid)
        {
            Counters.Count(IpCounter.NoBuffer);
            return;
        }
        Span<byte> message = l3.Slice(Ipv4Header, icmpLength);
        offending.Buffer[..quote].CopyTo(message[Icmpv4Packet.FixedLength..]);
        new Icmpv4Packet.Repr { Type = type, Code = code, RestOfHeader = rest }.Emit(message);
        Icmpv4Packet.TryCreate(message, out Icmpv4Packet icmp);
        icmp.FillChecksum();
        WriteIpv4Header(packet, source, destination, IpProtocol.Icmp, Ipv4Header + icmpLength);
        Counters.Count(IcmpCounter.ErrorsSent);
        Ipv4Output(packet, destination);
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
}
