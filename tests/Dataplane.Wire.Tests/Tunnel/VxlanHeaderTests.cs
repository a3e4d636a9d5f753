namespace Dataplane.Wire.Tests.Tunnel;

public class VxlanHeaderTests
{
    // An ARP request from a container (172.17.0.2) carried over VXLAN 42 between two Linux hosts;
    // the vxlan device leaves the outer UDP checksum off over IPv4 (its default) and takes the
    // source port from a hash of the inner flow. Made with scapy 2.5.0:
    //   Ether(dst="00:1a:2b:3c:4d:5e", src="52:54:00:12:34:56")/IP(id=0, flags="DF", ttl=64, src="10.0.0.1", dst="10.0.0.2")
    //     /UDP(sport=47123, dport=4789, chksum=0)/VXLAN(flags=0x08, vni=42)
    //     /Ether(dst="ff:ff:ff:ff:ff:ff", src="02:42:ac:11:00:02")/ARP(op=1, hwsrc="02:42:ac:11:00:02", psrc="172.17.0.2", pdst="172.17.0.3")
    private static readonly byte[] Frame =
    [
        // Ethernet @ 0
        0x00, 0x1a, 0x2b, 0x3c, 0x4d, 0x5e, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0x08, 0x00,
        // IPv4 @ 14
        0x45, 0x00, 0x00, 0x4e, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x26, 0x9d, 0x0a, 0x00, 0x00, 0x01,
        0x0a, 0x00, 0x00, 0x02,
        // UDP @ 34
        0xb8, 0x13, 0x12, 0xb5, 0x00, 0x3a, 0x00, 0x00,
        // VXLAN @ 42
        0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2a, 0x00,
        // inner Ethernet @ 50
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x42, 0xac, 0x11, 0x00, 0x02, 0x08, 0x06,
        // inner ARP @ 64
        0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0x02, 0x42, 0xac, 0x11, 0x00, 0x02, 0xac, 0x11,
        0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xac, 0x11, 0x00, 0x03,
    ];

    private static readonly VxlanHeader.Repr Vni42 = new()
    {
        Flags = VxlanFlags.ValidNetworkIdentifier,
        Reserved1 = 0,
        NetworkIdentifier = 42,
        Reserved2 = 0,
    };

    [Fact]
    public void Deconstruct_walks_from_the_outer_frame_to_the_inner_arp()
    {
        byte[] bytes = [.. Frame];
        Assert.True(EthernetFrame.TryCreate(bytes, out EthernetFrame outer));
        Assert.True(Ipv4Packet.TryCreate(outer.Payload, out Ipv4Packet ip));
        Assert.Equal(IpProtocol.Udp, ip.Protocol);
        Assert.True(ip.VerifyHeaderChecksum());
        Assert.True(UdpDatagram.TryCreate(ip.Payload, out UdpDatagram udp));
        Assert.Equal(4789, udp.DestinationPort); // RFC 7348 5: the IANA port
        Assert.Equal(0, udp.Checksum);
        Assert.True(udp.VerifyChecksum(ip.Source, ip.Destination)); // 0: none was computed

        Assert.True(VxlanHeader.TryCreate(udp.Payload, out VxlanHeader vxlan, out WireError error));
        Assert.Equal(WireError.None, error);
        Assert.Equal(VxlanFlags.ValidNetworkIdentifier, vxlan.Flags);
        Assert.True(vxlan.HasFlags(VxlanFlags.ValidNetworkIdentifier));
        Assert.Equal(0u, vxlan.Reserved1);
        Assert.Equal(42u, vxlan.NetworkIdentifier);
        Assert.Equal(0, vxlan.Reserved2);
        Assert.Equal(8, VxlanHeader.FixedLength);
        Assert.Equal(8, vxlan.HeaderLength);
        Assert.Equal(50, vxlan.PacketLength);
        Assert.Equal(Frame[50..], vxlan.Payload.ToArray());

        Assert.True(EthernetFrame.TryCreate(vxlan.Payload, out EthernetFrame inner));
        Assert.Equal(EtherType.Arp, inner.EtherType);
        Assert.True(ArpPacket.Repr.TryParse(inner.Payload, out ArpPacket.Repr arp));
        Assert.Equal(new Ipv4Address(172, 17, 0, 3), arp.TargetProtocolAddress);
    }

    [Fact]
    public void Construct_through_the_setters_gives_the_header()
    {
        byte[] bytes = [.. Frame];
        bytes.AsSpan(42, 8).Clear();
        Assert.True(VxlanHeader.TryCreate(bytes.AsSpan(42), out VxlanHeader vxlan));
        vxlan.Flags = VxlanFlags.None;
        vxlan.SetFlags(VxlanFlags.ValidNetworkIdentifier, true);
        vxlan.Reserved1 = 0;
        vxlan.NetworkIdentifier = 42;
        vxlan.Reserved2 = 0;

        Assert.Equal(Frame, bytes);
    }

    [Fact]
    public void Parse_gives_the_repr()
    {
        Assert.True(VxlanHeader.Repr.TryParse(Frame.AsSpan(42), out VxlanHeader.Repr repr, out WireError error));
        Assert.Equal(WireError.None, error);
        Assert.Equal(Vni42, repr);
    }

    [Fact]
    public void Emit_writes_the_header()
    {
        byte[] bytes = [.. Frame];
        Array.Fill(bytes, (byte)0xff, 42, 8);
        Assert.Equal(8, Vni42.Emit(bytes.AsSpan(42)));
        Assert.Equal(Frame, bytes);
    }

    [Fact]
    public void Emit_refuses_a_destination_shorter_than_the_header()
        => Assert.Throws<ArgumentException>(() => Vni42.Emit(new byte[7]));

    [Fact]
    public void TryCreate_refuses_every_buffer_shorter_than_the_header()
    {
        for (int length = 0; length < VxlanHeader.FixedLength; length++)
        {
            byte[] bytes = Frame.AsSpan(42, length).ToArray();
            Assert.False(VxlanHeader.TryCreate(bytes, out _, out WireError error));
            Assert.Equal(WireError.Truncated, error);
            Assert.False(VxlanHeader.Repr.TryParse(bytes, out _, out error));
            Assert.Equal(WireError.Truncated, error);
        }
    }

    [Fact]
    public void The_24_bit_fields_do_not_spill_into_their_neighbours()
    {
        byte[] bytes = [0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2a, 0x00];
        Assert.True(VxlanHeader.TryCreate(bytes, out VxlanHeader vxlan));

        vxlan.NetworkIdentifier = 0xffffff; // the largest VNI
        Assert.Equal(new byte[] { 0x08, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0x00 }, bytes);
        vxlan.Reserved2 = 0xab;
        vxlan.Reserved1 = 0xffffff;
        Assert.Equal(new byte[] { 0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xab }, bytes);
        Assert.Equal(VxlanFlags.ValidNetworkIdentifier, vxlan.Flags);
        vxlan.NetworkIdentifier = 0x1234567; // wider than 24 bits: cut, not spilled
        Assert.Equal(0x234567u, vxlan.NetworkIdentifier);
        Assert.Equal(0xab, vxlan.Reserved2);
        Assert.Equal(0xffffffu, vxlan.Reserved1);
        vxlan.Reserved1 = 0;
        Assert.Equal(new byte[] { 0x08, 0x00, 0x00, 0x00, 0x23, 0x45, 0x67, 0xab }, bytes);
    }
}
