namespace Dataplane.Wire.Tests.Link;

public class ArpPacketTests
{
    // "Who has 192.168.1.1? Tell 192.168.1.100", as Linux asks it. Made with scapy 2.5.0:
    //   ARP(op=1, hwsrc="52:54:00:12:34:56", psrc="192.168.1.100", hwdst="00:00:00:00:00:00", pdst="192.168.1.1")
    private static readonly byte[] Request =
    [
        0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0xc0, 0xa8,
        0x01, 0x64, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc0, 0xa8, 0x01, 0x01,
    ];

    // "192.168.1.1 is at 00:1a:2b:3c:4d:5e". Made with scapy 2.5.0:
    //   ARP(op=2, hwsrc="00:1a:2b:3c:4d:5e", psrc="192.168.1.1", hwdst="52:54:00:12:34:56", pdst="192.168.1.100")
    private static readonly byte[] Reply =
    [
        0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x02, 0x00, 0x1a, 0x2b, 0x3c, 0x4d, 0x5e, 0xc0, 0xa8,
        0x01, 0x01, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0xc0, 0xa8, 0x01, 0x64,
    ];

    private static readonly MacAddress Host = new(0x52, 0x54, 0x00, 0x12, 0x34, 0x56);
    private static readonly MacAddress Router = new(0x00, 0x1a, 0x2b, 0x3c, 0x4d, 0x5e);
    private static readonly Ipv4Address HostIp = new(192, 168, 1, 100);
    private static readonly Ipv4Address RouterIp = new(192, 168, 1, 1);

    private static readonly ArpPacket.Repr RequestRepr = new()
    {
        HardwareType = 1,
        ProtocolType = EtherType.Ipv4,
        HardwareLength = 6,
        ProtocolLength = 4,
        Operation = ArpOperation.Request,
        SenderHardwareAddress = Host,
        SenderProtocolAddress = HostIp,
        TargetHardwareAddress = default,
        TargetProtocolAddress = RouterIp,
    };

    private static readonly ArpPacket.Repr ReplyRepr = RequestRepr with
    {
        Operation = ArpOperation.Reply,
        SenderHardwareAddress = Router,
        SenderProtocolAddress = RouterIp,
        TargetHardwareAddress = Host,
        TargetProtocolAddress = HostIp,
    };

    [Fact]
    public void Deconstruct_reads_every_field_of_a_request()
    {
        byte[] bytes = [.. Request];
        Assert.True(ArpPacket.TryCreate(bytes, out ArpPacket arp, out WireError error));

        Assert.Equal(WireError.None, error);
        Assert.Equal(1, arp.HardwareType);
        Assert.Equal(EtherType.Ipv4, arp.ProtocolType);
        Assert.Equal(6, arp.HardwareLength);
        Assert.Equal(4, arp.ProtocolLength);
        Assert.Equal(ArpOperation.Request, arp.Operation);
        Assert.Equal(Host, arp.SenderHardwareAddress);
        Assert.Equal(HostIp, arp.SenderProtocolAddress);
        Assert.Equal(default, arp.TargetHardwareAddress);
        Assert.Equal(RouterIp, arp.TargetProtocolAddress);
        Assert.Equal(28, ArpPacket.FixedLength);
        Assert.Equal(28, arp.HeaderLength);
        Assert.Equal(28, arp.PacketLength);
        Assert.True(arp.Payload.IsEmpty);
    }

    [Fact]
    public void Deconstruct_reads_every_field_of_a_reply()
    {
        byte[] bytes = [.. Reply];
        Assert.True(ArpPacket.TryCreate(bytes, out ArpPacket arp));

        Assert.Equal(ArpOperation.Reply, arp.Operation);
        Assert.Equal(Router, arp.SenderHardwareAddress);
        Assert.Equal(RouterIp, arp.SenderProtocolAddress);
        Assert.Equal(Host, arp.TargetHardwareAddress);
        Assert.Equal(HostIp, arp.TargetProtocolAddress);
    }

    [Fact]
    public void Ethernet_padding_after_the_packet_is_its_payload()
    {
        // ARP has no length field: over the payload of a 60-byte frame the 18 padding bytes follow it.
        byte[] bytes = [.. Request, .. new byte[18]];
        Assert.True(ArpPacket.TryCreate(bytes, out ArpPacket arp));
        Assert.Equal(28, arp.HeaderLength);
        Assert.Equal(46, arp.PacketLength);
        Assert.Equal(18, arp.Payload.Length);
        Assert.True(ArpPacket.Repr.TryParse(bytes, out ArpPacket.Repr repr));
        Assert.Equal(RequestRepr, repr);
    }

    [Fact]
    public void Construct_through_the_setters_gives_the_request_and_the_reply()
    {
        byte[] bytes = new byte[28];
        Assert.True(ArpPacket.TryCreate(bytes, out ArpPacket arp));
        arp.HardwareType = 1;
        arp.ProtocolType = EtherType.Ipv4;
        arp.HardwareLength = 6;
        arp.ProtocolLength = 4;
        arp.Operation = ArpOperation.Request;
        arp.SenderHardwareAddress = Host;
        arp.SenderProtocolAddress = HostIp;
        arp.TargetHardwareAddress = default;
        arp.TargetProtocolAddress = RouterIp;
        Assert.Equal(Request, bytes);

        // Answering in place, as a responder does: swap the sides and fill in our address.
        arp.Operation = ArpOperation.Reply;
        arp.TargetHardwareAddress = arp.SenderHardwareAddress;
        arp.TargetProtocolAddress = arp.SenderProtocolAddress;
        arp.SenderHardwareAddress = Router;
        arp.SenderProtocolAddress = RouterIp;
        Assert.Equal(Reply, bytes);
    }

    [Fact]
    public void Parse_gives_the_reprs()
    {
        Assert.True(ArpPacket.Repr.TryParse(Request, out ArpPacket.Repr request, out WireError error));
        Assert.Equal(WireError.None, error);
        Assert.Equal(RequestRepr, request);

        Assert.True(ArpPacket.Repr.TryParse(Reply, out ArpPacket.Repr reply));
        Assert.Equal(ReplyRepr, reply);
    }

    [Theory]
    [InlineData(1, 0x06)] // hardware type 6, IEEE 802 networks
    [InlineData(0, 0x01)] // hardware type 0x0101
    [InlineData(2, 0x86)] // protocol type 0x86dd
    [InlineData(3, 0x06)] // protocol type 0x0806
    [InlineData(4, 0x08)] // hardware length 8
    [InlineData(5, 0x10)] // protocol length 16
    public void Parse_refuses_anything_but_ipv4_over_ethernet(int offset, byte value)
    {
        byte[] bytes = [.. Request];
        bytes[offset] = value;
        Assert.False(ArpPacket.Repr.TryParse(bytes, out _, out WireError error));
        Assert.Equal(WireError.UnexpectedValue, error);
        // The view itself does not judge values: it only checks lengths.
        Assert.True(ArpPacket.TryCreate(bytes, out _));
    }

    [Fact]
    public void Emit_writes_the_request_and_the_reply()
    {
        byte[] bytes = new byte[28];
        Assert.Equal(28, RequestRepr.Emit(bytes));
        Assert.Equal(Request, bytes);

        Assert.Equal(28, ReplyRepr.Emit(bytes));
        Assert.Equal(Reply, bytes);
    }

    [Fact]
    public void Emit_refuses_a_destination_shorter_than_the_packet()
        => Assert.Throws<ArgumentException>(() => RequestRepr.Emit(new byte[27]));

    [Fact]
    public void TryCreate_refuses_every_buffer_shorter_than_the_packet()
    {
        for (int length = 0; length < ArpPacket.FixedLength; length++)
        {
            Assert.False(ArpPacket.TryCreate(Request.AsSpan(0, length).ToArray(), out _, out WireError error));
            Assert.Equal(WireError.Truncated, error);
            Assert.False(ArpPacket.Repr.TryParse(Request.AsSpan(0, length), out _, out error));
            Assert.Equal(WireError.Truncated, error);
        }
    }
}
