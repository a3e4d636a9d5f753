using Dataplane.Wire;

namespace Dataplane.Benchmarks;

/// <summary>Realistic frames built once with the wire formats, for the benchmarks to parse.</summary>
internal static class Packets
{
    /// <summary>Ethernet + IPv4 + TCP with MSS, SACK-permitted, timestamps and window scale, 64 bytes of data.</summary>
    public static byte[] EthernetIpv4Tcp()
    {
        var options = new TcpOptions { MaximumSegmentSize = 1460, SackPermitted = true, Timestamps = (0x1234_5678, 0x0BAD_CAFE), WindowScale = 7 };
        int tcpHeader = TcpSegment.FixedLength + options.Length;
        byte[] frame = new byte[EthernetFrame.FixedLength + Ipv4Packet.FixedLength + tcpHeader + 64];
        Span<byte> f = frame;
        new EthernetFrame.Repr { Destination = MacAddress.FromUInt64(0x02_00_00_00_00_02), Source = MacAddress.FromUInt64(0x02_00_00_00_00_01), EtherType = EtherType.Ipv4 }.Emit(f);
        Span<byte> ip = f[EthernetFrame.FixedLength..];
        var src = new Ipv4Address(10, 10, 11, 1);
        var dst = new Ipv4Address(10, 10, 12, 4);
        new Ipv4Packet.Repr
        {
            Version = 4, Ihl = 5, TotalLength = (ushort)ip.Length, Identification = 1, Flags = Ipv4Flags.DontFragment,
            TimeToLive = 64, Protocol = IpProtocol.Tcp, Source = src, Destination = dst,
        }.Emit(ip);
        Span<byte> tcp = ip[Ipv4Packet.FixedLength..];
        options.Emit(tcp[TcpSegment.FixedLength..]);
        new TcpSegment.Repr
        {
            SourcePort = 40000, DestinationPort = 5201, SequenceNumber = 1, AcknowledgmentNumber = 1,
            DataOffset = (byte)(tcpHeader / 4), Flags = TcpFlags.Ack | TcpFlags.Psh, Window = 502,
        }.Emit(tcp);
        TcpSegment.TryCreate(tcp, out TcpSegment segment);
        segment.FillChecksum(src, dst);
        return frame;
    }

    /// <summary>Ethernet + IPv6 + UDP with 64 bytes of data.</summary>
    public static byte[] EthernetIpv6Udp()
    {
        byte[] frame = new byte[EthernetFrame.FixedLength + Ipv6Packet.FixedLength + UdpDatagram.FixedLength + 64];
        Span<byte> f = frame;
        new EthernetFrame.Repr { Destination = MacAddress.FromUInt64(0x02_00_00_00_00_02), Source = MacAddress.FromUInt64(0x02_00_00_00_00_01), EtherType = EtherType.Ipv6 }.Emit(f);
        Span<byte> ip = f[EthernetFrame.FixedLength..];
        Ipv6Address.TryParse("fdd7:e83e:66bd:1011::1", out Ipv6Address src);
        Ipv6Address.TryParse("fdd7:e83e:66bd:1012::4", out Ipv6Address dst);
        int payload = ip.Length - Ipv6Packet.FixedLength;
        new Ipv6Packet.Repr { Version = 6, PayloadLength = (ushort)payload, NextHeader = IpProtocol.Udp, HopLimit = 64, Source = src, Destination = dst }.Emit(ip);
        Span<byte> udp = ip[Ipv6Packet.FixedLength..];
        new UdpDatagram.Repr { SourcePort = 40000, DestinationPort = 9000, Length = (ushort)payload }.Emit(udp);
        UdpDatagram.TryCreate(udp, out UdpDatagram datagram);
        datagram.FillChecksum(src, dst);
        return frame;
    }
}
