namespace Dataplane.Wire.Tests.Link;

/// <summary>The IEEE 802.1Q customer tag and the 802.1ad service tag of QinQ.</summary>
public class VlanTagTests
{
    // An ARP request on VLAN 100 with priority 5 (voice), padded to 60 bytes. Made with scapy 2.5.0:
    //   Ether(dst="ff:ff:ff:ff:ff:ff", src="52:54:00:12:34:56")/Dot1Q(prio=5, id=0, vlan=100)
    //     /ARP(op=1, hwsrc="52:54:00:12:34:56", psrc="192.168.100.10", pdst="192.168.100.1")
    private static readonly byte[] TaggedArpFrame =
    [
        // Ethernet @ 0
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0x81, 0x00,
        // 802.1Q @ 14
        0xa0, 0x64, 0x08, 0x06,
        // ARP @ 18
        0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0xc0, 0xa8,
        0x64, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc0, 0xa8, 0x64, 0x01,
        // padding @ 46
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    ];

    // The same request in QinQ: service VLAN 200 (priority 3, drop eligible) around customer VLAN 100.
    // Made with scapy 2.5.0:
    //   Ether(dst="ff:ff:ff:ff:ff:ff", src="52:54:00:12:34:56", type=0x88a8)/Dot1AD(prio=3, id=1, vlan=200)
    //     /Dot1Q(prio=0, id=0, vlan=100)/ARP(op=1, hwsrc="52:54:00:12:34:56", psrc="192.168.100.10", pdst="192.168.100.1")
    private static readonly byte[] QinQArpFrame =
    [
        // Ethernet @ 0
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0x88, 0xa8,
        // 802.1ad @ 14
        0x70, 0xc8, 0x81, 0x00,
        // 802.1Q @ 18
        0x00, 0x64, 0x08, 0x06,
        // ARP @ 22
        0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0xc0, 0xa8,
        0x64, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc0, 0xa8, 0x64, 0x01,
        // padding @ 50
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    ];

    private static readonly VlanTag.Repr Vlan100Priority5 = new()
    {
        Priority = 5,
        DropEligible = false,
        VlanId = 100,
        EtherType = EtherType.Arp,
    };

    private static readonly ServiceTag.Repr ServiceVlan200 = new()
    {
        Priority = 3,
        DropEligible = true,
        VlanId = 200,
        EtherType = EtherType.Vlan,
    };

    [Fact]
    public void Deconstruct_reads_the_tag_after_an_8100_ethertype()
    {
        byte[] bytes = [.. TaggedArpFrame];
        Assert.True(EthernetFrame.TryCreate(bytes, out EthernetFrame frame));
        Assert.Equal(EtherType.Vlan, frame.EtherType);

        Assert.True(VlanTag.TryCreate(frame.Payload, out VlanTag tag, out WireError error));
        Assert.Equal(WireError.None, error);
        Assert.Equal(5, tag.Priority);
        Assert.False(tag.DropEligible);
        Assert.Equal(100, tag.VlanId);
        Assert.Equal(EtherType.Arp, tag.EtherType);
        Assert.Equal(4, tag.HeaderLength);
        Assert.Equal(46, tag.PacketLength); // the tag has no length field: the frame's padding is in its payload
        Assert.Equal(TaggedArpFrame[18..], tag.Payload.ToArray());

        Assert.True(ArpPacket.TryCreate(tag.Payload, out ArpPacket arp));
        Assert.Equal(new Ipv4Address(192, 168, 100, 1), arp.TargetProtocolAddress);
    }

    [Fact]
    public void Deconstruct_reads_a_service_tag_then_a_customer_tag()
    {
        byte[] bytes = [.. QinQArpFrame];
        Assert.True(EthernetFrame.TryCreate(bytes, out EthernetFrame frame));
        Assert.Equal(EtherType.ServiceVlan, frame.EtherType);

        Assert.True(ServiceTag.TryCreate(frame.Payload, out ServiceTag outer));
        Assert.Equal(3, outer.Priority);
        Assert.True(outer.DropEligible);
        Assert.Equal(200, outer.VlanId);
        Assert.Equal(EtherType.Vlan, outer.EtherType);
        Assert.Equal(4, outer.HeaderLength);

        Assert.True(VlanTag.TryCreate(outer.Payload, out VlanTag inner));
        Assert.Equal(0, inner.Priority);
        Assert.False(inner.DropEligible);
        Assert.Equal(100, inner.VlanId);
        Assert.Equal(EtherType.Arp, inner.EtherType);
        Assert.Equal(QinQArpFrame[22..], inner.Payload.ToArray());
    }

    [Fact]
    public void Construct_through_the_setters_gives_the_tagged_frame()
    {
        byte[] bytes = new byte[TaggedArpFrame.Length];
        Assert.True(EthernetFrame.TryCreate(bytes, out EthernetFrame frame));
        frame.Destination = MacAddress.Broadcast;
        frame.Source = new MacAddress(0x52, 0x54, 0x00, 0x12, 0x34, 0x56);
        frame.EtherType = EtherType.Vlan;
        Assert.True(VlanTag.TryCreate(frame.Payload, out VlanTag tag));
        tag.Priority = 5;
        tag.DropEligible = false;
        tag.VlanId = 100;
        tag.EtherType = EtherType.Arp;
        TaggedArpFrame.AsSpan(18).CopyTo(tag.Payload);

        Assert.Equal(TaggedArpFrame, bytes);
    }

    [Fact]
    public void Construct_through_the_setters_gives_the_qinq_frame()
    {
        byte[] bytes = [.. QinQArpFrame];
        bytes.AsSpan(14, 8).Clear();
        Assert.True(ServiceTag.TryCreate(bytes.AsSpan(14), out ServiceTag outer));
        outer.Priority = 3;
        outer.DropEligible = true;
        outer.VlanId = 200;
        outer.EtherType = EtherType.Vlan;
        Assert.True(VlanTag.TryCreate(outer.Payload, out VlanTag inner));
        inner.Priority = 0;
        inner.DropEligible = false;
        inner.VlanId = 100;
        inner.EtherType = EtherType.Arp;

        Assert.Equal(QinQArpFrame, bytes);
    }

    [Fact]
    public void Parse_gives_the_reprs()
    {
        Assert.True(VlanTag.Repr.TryParse(TaggedArpFrame.AsSpan(14), out VlanTag.Repr tag, out WireError error));
        Assert.Equal(WireError.None, error);
        Assert.Equal(Vlan100Priority5, tag);

        Assert.True(ServiceTag.Repr.TryParse(QinQArpFrame.AsSpan(14), out ServiceTag.Repr outer));
        Assert.Equal(ServiceVlan200, outer);
        Assert.True(VlanTag.Repr.TryParse(QinQArpFrame.AsSpan(18), out VlanTag.Repr inner));
        Assert.Equal(Vlan100Priority5 with { Priority = 0 }, inner);
    }

    [Fact]
    public void Emit_writes_the_tags()
    {
        byte[] bytes = [.. TaggedArpFrame];
        bytes.AsSpan(14, 4).Clear();
        Assert.Equal(4, Vlan100Priority5.Emit(bytes.AsSpan(14)));
        Assert.Equal(TaggedArpFrame, bytes);

        bytes = [.. QinQArpFrame];
        bytes.AsSpan(14, 8).Clear();
        Assert.Equal(4, ServiceVlan200.Emit(bytes.AsSpan(14)));
        Assert.Equal(4, (Vlan100Priority5 with { Priority = 0 }).Emit(bytes.AsSpan(18)));
        Assert.Equal(QinQArpFrame, bytes);
    }

    [Fact]
    public void Emit_overwrites_every_bit_of_a_dirty_destination()
    {
        byte[] bytes = [0xff, 0xff, 0xff, 0xff];
        Vlan100Priority5.Emit(bytes);
        Assert.Equal(TaggedArpFrame[14..18], bytes);
    }

    [Fact]
    public void Tag_fields_do_not_spill_into_each_other()
    {
        byte[] bytes = [0x00, 0x00, 0x08, 0x00];
        Assert.True(VlanTag.TryCreate(bytes, out VlanTag tag));

        tag.VlanId = 4095;
        Assert.Equal(new byte[] { 0x0f, 0xff, 0x08, 0x00 }, bytes);
        tag.Priority = 7;
        tag.DropEligible = true;
        Assert.Equal(new byte[] { 0xff, 0xff, 0x08, 0x00 }, bytes);
        tag.VlanId = 0;
        Assert.Equal(new byte[] { 0xf0, 0x00, 0x08, 0x00 }, bytes);
        Assert.Equal(7, tag.Priority);
        Assert.True(tag.DropEligible);
        tag.DropEligible = false;
        Assert.Equal(new byte[] { 0xe0, 0x00, 0x08, 0x00 }, bytes);
        // Values wider than the field are cut to its width, never into the neighbours.
        tag.VlanId = 0xF123;
        Assert.Equal(0x123, tag.VlanId);
        Assert.Equal(7, tag.Priority);
        Assert.False(tag.DropEligible);
        tag.Priority = 0xFF;
        Assert.Equal(7, tag.Priority);
        Assert.Equal(0x123, tag.VlanId);
    }

    [Fact]
    public void TryCreate_refuses_every_buffer_shorter_than_a_tag()
    {
        for (int length = 0; length < VlanTag.FixedLength; length++)
        {
            byte[] bytes = TaggedArpFrame.AsSpan(14, length).ToArray();
            Assert.False(VlanTag.TryCreate(bytes, out _, out WireError error));
            Assert.Equal(WireError.Truncated, error);
            Assert.False(VlanTag.Repr.TryParse(bytes, out _, out error));
            Assert.Equal(WireError.Truncated, error);
            Assert.False(ServiceTag.TryCreate(bytes, out _, out error));
            Assert.Equal(WireError.Truncated, error);
            Assert.False(ServiceTag.Repr.TryParse(bytes, out _, out error));
            Assert.Equal(WireError.Truncated, error);
        }
    }
}
