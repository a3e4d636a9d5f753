using Dataplane.Wire;

namespace Dataplane.Wire.Tests.Network;

public class ChainedViewTests
{
    [Fact]
    public void A_view_over_the_first_buffer_of_a_chain_checks_the_total_length_against_the_chain()
    {
        byte[] first = new byte[100];
        first[0] = 0x45;
        first[2] = 0x23; // total length 9000
        first[3] = 0x28;
        Assert.False(Ipv4Packet.TryCreate(first, out _, out WireError error));
        Assert.Equal(WireError.BadTotalLength, error);
        Assert.False(Ipv4Packet.TryCreate(first, 8999, out _, out error));
        Assert.Equal(WireError.BadTotalLength, error);
        Assert.True(Ipv4Packet.TryCreate(first, 9000, out Ipv4Packet ip, out _));
        Assert.False(ip.IsContiguous);
        Assert.Equal(9000, ip.PacketLength);
        Assert.Equal(80, ip.Payload.Length); // the part in this buffer
    }

    [Fact]
    public void A_view_over_a_whole_packet_is_contiguous()
    {
        byte[] packet = new byte[60];
        packet[0] = 0x45;
        packet[3] = 40;
        Assert.True(Ipv4Packet.TryCreate(packet, out Ipv4Packet ip));
        Assert.True(ip.IsContiguous);
        Assert.Equal(20, ip.Payload.Length);
    }
}
