using Dataplane.Wire;

namespace Dataplane.Wire.Tests.Network;

/// <summary>Contracts every generated view keeps, pinned on a few representatives.</summary>
public class ViewContractTests
{
    [Fact]
    public void A_default_view_has_empty_spans_never_negative_ones()
    {
        Assert.Equal(0, default(Ipv4Packet).Options.Length);
        Assert.Equal(0, default(Ipv4Packet).Payload.Length);
        Assert.Equal(0, default(GreHeader).Variable.Length);
        Assert.Equal(0, default(NeighborSolicitation).Options.Length);
        Assert.False(default(TcpSegment).EnumerateOptions().MoveNext());
    }

    [Fact]
    public void A_failed_TryCreate_leaves_a_default_view_with_empty_spans()
    {
        Assert.False(Ipv4Packet.TryCreate(new byte[3], out Ipv4Packet ip));
        Assert.Equal(0, ip.Options.Length);
        Assert.Equal(0, ip.Header.Length);
    }

    [Fact]
    public void A_packet_of_another_version_is_refused_as_unexpected_before_its_lengths_are_read()
    {
        // An IPv6 header: to IPv4 its IHL would be 0 and its total length garbage.
        byte[] ipv6 = new byte[40];
        new Ipv6Packet.Repr { PayloadLength = 0, NextHeader = IpProtocol.Ipv6NoNextHeader, HopLimit = 64 }.Emit(ipv6);

        Assert.False(Ipv4Packet.Repr.TryParse(ipv6, out _, out WireError error));
        Assert.Equal(WireError.UnexpectedValue, error);
    }

    [Fact]
    public void A_repr_built_with_an_initializer_carries_the_protocol_version_unless_set_otherwise()
    {
        byte[] bytes = new byte[20];
        new Ipv4Packet.Repr { Ihl = 5, TotalLength = 20, TimeToLive = 1 }.Emit(bytes);
        Assert.Equal(0x45, bytes[0]);
        Assert.True(Ipv4Packet.Repr.TryParse(bytes, out _));

        new Ipv4Packet.Repr { Version = 5, Ihl = 5, TotalLength = 20 }.Emit(bytes);
        Assert.False(Ipv4Packet.Repr.TryParse(bytes, out _, out WireError error));
        Assert.Equal(WireError.UnexpectedValue, error);
    }

    [Fact]
    public void A_zero_udp_checksum_means_none_over_ipv4_and_never_verifies_over_ipv6()
    {
        // Find a datagram whose correct checksum is "0" (sent as 0xFFFF): the one case where a 0 in
        // the field would fold to all ones and pass a plain sum check.
        Ipv6Address.TryParse("fd00::1", out Ipv6Address source6);
        Ipv6Address.TryParse("fd00::2", out Ipv6Address destination6);
        byte[] bytes = new byte[12];
        new UdpDatagram.Repr { SourcePort = 1, DestinationPort = 2, Length = 12 }.Emit(bytes);
        Assert.True(UdpDatagram.TryCreate(bytes, out UdpDatagram udp));
        for (ushort word = 0; udp.ComputeChecksum(source6, destination6) != 0; word++)
            System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(8), word);

        udp.Checksum = 0;

        Assert.False(udp.VerifyChecksum(source6, destination6)); // RFC 8200 8.1
        Assert.True(udp.VerifyChecksum(new Ipv4Address(10, 0, 0, 1), new Ipv4Address(10, 0, 0, 2))); // RFC 768
        udp.FillChecksum(source6, destination6);
        Assert.Equal(0xFFFF, udp.Checksum);
        Assert.True(udp.VerifyChecksum(source6, destination6));
    }
}
