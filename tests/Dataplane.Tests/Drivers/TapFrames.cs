using System.Buffers.Binary;
using Dataplane.Buffers;
using Dataplane.Wire;

namespace Dataplane.Tests.Drivers;

/// <summary>The frames the tap tests recognise and send, built with the Dataplane.Wire views.</summary>
internal static class TapFrames
{
    /// <summary>Whether <paramref name="frame"/> is an ARP request for <paramref name="target"/>; the asker's addresses.</summary>
    public static bool IsArpRequestFor(ReadOnlySpan<byte> frame, Ipv4Address target, out MacAddress askerMac, out Ipv4Address askerIp)
    {
        askerMac = default;
        askerIp = default;
        if (!EthernetFrame.Repr.TryParse(frame, out EthernetFrame.Repr eth) || eth.EtherType != EtherType.Arp
            || !ArpPacket.Repr.TryParse(frame[EthernetFrame.FixedLength..], out ArpPacket.Repr arp)
            || arp.Operation != ArpOperation.Request || arp.TargetProtocolAddress != target)
            return false;
        askerMac = arp.SenderHardwareAddress;
        askerIp = arp.SenderProtocolAddress;
        return true;
    }

    /// <summary>An ARP reply: <paramref name="ip"/> is at <paramref name="mac"/>, to the asker.</summary>
    public static byte[] ArpReply(MacAddress mac, Ipv4Address ip, MacAddress askerMac, Ipv4Address askerIp)
    {
        var f = new byte[EthernetFrame.FixedLength + ArpPacket.FixedLength];
        new EthernetFrame.Repr { Destination = askerMac, Source = mac, EtherType = EtherType.Arp }.Emit(f);
        new ArpPacket.Repr
        {
            Operation = ArpOperation.Reply,
            SenderHardwareAddress = mac,
            SenderProtocolAddress = ip,
            TargetHardwareAddress = askerMac,
            TargetProtocolAddress = askerIp,
        }.Emit(f.AsSpan(EthernetFrame.FixedLength));
        return f;
    }

    /// <summary>Whether <paramref name="frame"/> (the whole frame) is an ICMP echo request to <paramref name="to"/>.</summary>
    public static bool IsEchoRequestTo(Span<byte> frame, Ipv4Address to) =>
        EthernetFrame.TryCreate(frame, out EthernetFrame eth) && eth.EtherType == EtherType.Ipv4
        && Ipv4Packet.TryCreate(eth.Payload, out Ipv4Packet ip) && ip.Protocol == IpProtocol.Icmp && ip.Destination == to
        && Icmpv4Echo.TryCreate(ip.Payload, out Icmpv4Echo echo) && echo.Type == Icmpv4Type.EchoRequest;

    /// <summary>A fresh echo reply to the echo request <paramref name="request"/>, from <paramref name="mac"/>.</summary>
    public static byte[] EchoReply(Span<byte> request, MacAddress mac)
    {
        EthernetFrame.TryCreate(request, out EthernetFrame eth);
        Ipv4Packet.TryCreate(eth.Payload, out Ipv4Packet ip);
        Icmpv4Echo.TryCreate(ip.Payload, out Icmpv4Echo echo);
        var f = new byte[EthernetFrame.FixedLength + Ipv4Packet.FixedLength + echo.PacketLength];
        new EthernetFrame.Repr { Destination = eth.Source, Source = mac, EtherType = EtherType.Ipv4 }.Emit(f);
        new Ipv4Packet.Repr
        {
            Ihl = 5,
            TotalLength = (ushort)(Ipv4Packet.FixedLength + echo.PacketLength),
            Identification = ip.Identification,
            TimeToLive = 64,
            Protocol = IpProtocol.Icmp,
            Source = ip.Destination,
            Destination = ip.Source,
        }.Emit(f.AsSpan(14));
        Span<byte> icmp = f.AsSpan(34);
        new Icmpv4Echo.Repr { Type = Icmpv4Type.EchoReply, Identifier = echo.Identifier, SequenceNumber = echo.SequenceNumber }.Emit(icmp);
        echo.Payload.CopyTo(icmp[Icmpv4Echo.FixedLength..]);
        Icmpv4Echo.TryCreate(icmp, out Icmpv4Echo reply);
        reply.FillChecksum();
        return f;
    }

    /// <summary>
    /// Turns the echo request in the chain at <paramref name="head"/> into its reply where it lies:
    /// addresses swapped, type 0, the checksum updated for the one word that changed (RFC 1624), so
    /// the bytes in the other buffers of the chain are not touched. Every header is in the head
    /// buffer, which holds only the start of the IPv4 packet: the fields are set by offset, as a
    /// view over a packet longer than its span is (rightly) refused.
    /// </summary>
    public static void ReflectEcho(BufferPool pool, PacketBuffer head, MacAddress mac)
    {
        Span<byte> f = pool.Data(head);
        EthernetFrame.TryCreate(f, out EthernetFrame eth);
        eth.Destination = eth.Source;
        eth.Source = mac;
        // The IPv4 header checksum is a sum: swapping source (offset 12) and destination (16) leaves it.
        Span<byte> ip = f[14..];
        var source = new Ipv4Address(ip[12..16]);
        ip.Slice(16, 4).CopyTo(ip.Slice(12, 4));
        source.CopyTo(ip.Slice(16, 4));
        Span<byte> icmp = ip[((ip[0] & 0xf) * 4)..];
        ushort checksum = BinaryPrimitives.ReadUInt16BigEndian(icmp[2..]);
        ushort oldWord = BinaryPrimitives.ReadUInt16BigEndian(icmp);
        icmp[0] = (byte)Icmpv4Type.EchoReply;
        BinaryPrimitives.WriteUInt16BigEndian(icmp[2..], InternetChecksum.Update(checksum, oldWord, BinaryPrimitives.ReadUInt16BigEndian(icmp)));
    }

    /// <summary>
    /// An Ethernet + IPv4 + UDP frame from us to <paramref name="to"/>:<paramref name="port"/> whose UDP
    /// checksum is left partial: the field holds the folded pseudo-header sum, for the receiver to add
    /// the sum from the UDP header on (virtio-net NEEDS_CSUM, Linux's CHECKSUM_PARTIAL).
    /// </summary>
    public static byte[] PartialUdp(MacAddress from, MacAddress toMac, Ipv4Address to, ushort port, ReadOnlySpan<byte> payload)
    {
        int udpLength = UdpDatagram.FixedLength + payload.Length;
        var f = new byte[14 + 20 + udpLength];
        new EthernetFrame.Repr { Destination = toMac, Source = from, EtherType = EtherType.Ipv4 }.Emit(f);
        new Ipv4Packet.Repr
        {
            Ihl = 5, TotalLength = (ushort)(20 + udpLength), Identification = 0x1234, Flags = Ipv4Flags.DontFragment,
            TimeToLive = 64, Protocol = IpProtocol.Udp, Source = TapLab.OurAddress, Destination = to,
        }.Emit(f.AsSpan(14));
        new UdpDatagram.Repr { SourcePort = 40000, DestinationPort = port, Length = (ushort)udpLength }.Emit(f.AsSpan(34));
        payload.CopyTo(f.AsSpan(42));
        UdpDatagram.TryCreate(f.AsSpan(34), out UdpDatagram udp);
        udp.Checksum = PartialChecksum(TapLab.OurAddress, to, 17, udpLength);
        return f;
    }

    /// <summary>
    /// A TCP/IPv4 frame from us to <paramref name="to"/> carrying <paramref name="payload"/> with ACK|PSH,
    /// its TCP checksum partial (the pseudo-header over the whole TCP length, as Linux's own TSO
    /// frames carry it and tcp_gso_segment expects).
    /// </summary>
    public static byte[] PartialTcp(MacAddress from, MacAddress toMac, Ipv4Address to, ushort port, uint sequence, ReadOnlySpan<byte> payload)
    {
        int tcpLength = TcpSegment.FixedLength + payload.Length;
        var f = new byte[14 + 20 + tcpLength];
        new EthernetFrame.Repr { Destination = toMac, Source = from, EtherType = EtherType.Ipv4 }.Emit(f);
        new Ipv4Packet.Repr
        {
            Ihl = 5, TotalLength = (ushort)(20 + tcpLength), Identification = 0x4000, Flags = Ipv4Flags.DontFragment,
            TimeToLive = 64, Protocol = IpProtocol.Tcp, Source = TapLab.OurAddress, Destination = to,
        }.Emit(f.AsSpan(14));
        new TcpSegment.Repr
        {
            SourcePort = 40001, DestinationPort = port, SequenceNumber = sequence, AcknowledgmentNumber = 1,
            DataOffset = 5, Flags = TcpFlags.Ack | TcpFlags.Psh, Window = 65535,
        }.Emit(f.AsSpan(34));
        payload.CopyTo(f.AsSpan(54));
        TcpSegment.TryCreate(f.AsSpan(34), out TcpSegment tcp);
        tcp.Checksum = PartialChecksum(TapLab.OurAddress, to, 6, tcpLength);
        return f;
    }

    /// <summary>
    /// A SYN-ACK from us answering the SYN <paramref name="syn"/>: our sequence number
    /// <paramref name="isn"/>, a window of 65535 without scaling, MSS 1460, no other option.
    /// </summary>
    public static byte[] SynAck(Span<byte> syn, MacAddress mac, uint isn)
    {
        EthernetFrame.TryCreate(syn, out EthernetFrame eth);
        Ipv4Packet.TryCreate(eth.Payload, out Ipv4Packet ip);
        TcpSegment.TryCreate(ip.Payload, out TcpSegment tcp);
        var f = new byte[14 + 20 + 24];
        new EthernetFrame.Repr { Destination = eth.Source, Source = mac, EtherType = EtherType.Ipv4 }.Emit(f);
        new Ipv4Packet.Repr
        {
            Ihl = 5, TotalLength = 44, Flags = Ipv4Flags.DontFragment, TimeToLive = 64, Protocol = IpProtocol.Tcp,
            Source = ip.Destination, Destination = ip.Source,
        }.Emit(f.AsSpan(14));
        Span<byte> t = f.AsSpan(34);
        new TcpSegment.Repr
        {
            SourcePort = tcp.DestinationPort, DestinationPort = tcp.SourcePort, SequenceNumber = isn,
            AcknowledgmentNumber = tcp.SequenceNumber + 1, DataOffset = 6, Flags = TcpFlags.Syn | TcpFlags.Ack, Window = 65535,
        }.Emit(t);
        // RFC 9293 3.2: MSS option, kind 2, length 4.
        t[20] = 2;
        t[21] = 4;
        t[22] = 1460 >> 8;
        t[23] = 1460 & 0xff;
        TcpSegment.TryCreate(t, out TcpSegment reply);
        reply.FillChecksum(ip.Destination, ip.Source);
        return f;
    }

    /// <summary>The folded, not complemented, pseudo-header sum: what a partial checksum field holds.</summary>
    public static ushort PartialChecksum(Ipv4Address source, Ipv4Address destination, byte protocol, int length) =>
        (ushort)InternetChecksum.FoldToUInt16(InternetChecksum.PseudoHeaderSum(source, destination, protocol, length));
}
