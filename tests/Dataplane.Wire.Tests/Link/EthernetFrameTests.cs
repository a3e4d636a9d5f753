namespace Dataplane.Wire.Tests.Link;

public class EthernetFrameTests
{
    // An ARP request as it arrives from a Linux host, padded to the 60-byte minimum (64 with the FCS).
    // Made with scapy 2.5.0:
    //   Ether(dst="ff:ff:ff:ff:ff:ff", src="52:54:00:12:34:56")/ARP(op=1, hwsrc="52:54:00:12:34:56",
    //     psrc="192.168.1.100", hwdst="00:00:00:00:00:00", pdst="192.168.1.1") + 18 bytes of padding
    private static readonly byte[] ArpRequestFrame =
    [
        // Ethernet @ 0
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0x08, 0x06,
        // ARP @ 14
        0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0xc0, 0xa8,
        0x01, 0x64, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc0, 0xa8, 0x01, 0x01,
        // padding @ 42
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00,
    ];

    private static readonly MacAddress Host = new(0x52, 0x54, 0x00, 0x12, 0x34, 0x56);

    private static readonly EthernetFrame.Repr ArpRequestRepr = new()
    {
        Destination = MacAddress.Broadcast,
        Source = Host,
        EtherType = EtherType.Arp,
    };

    [Fact]
    public void Deconstruct_reads_every_field_of_an_arp_request_frame()
    {
        byte[] bytes = [.. ArpRequestFrame];
        Assert.True(EthernetFrame.TryCreate(bytes, out EthernetFrame frame, out WireError error));

        Assert.Equal(WireError.None, error);
        Assert.Equal(MacAddress.Broadcast, frame.Destination);
        Assert.Equal(Host, frame.Source);
        Assert.Equal(EtherType.Arp, frame.EtherType);
        Assert.Equal(14, EthernetFrame.FixedLength);
        Assert.Equal(14, frame.HeaderLength);
        // Ethernet has no length field: the payload runs to the end of the buffer, padding included.
        Assert.Equal(60, frame.PacketLength);
        Assert.Equal(ArpRequestFrame[..14], frame.Header.ToArray());
        Assert.Equal(ArpRequestFrame[14..], frame.Payload.ToArray());
        Assert.Equal(bytes.Length, frame.Buffer.Length);
    }

    [Fact]
    public void Payload_is_a_window_on_the_buffer_not_a_copy()
    {
        byte[] bytes = [.. ArpRequestFrame];
        Assert.True(EthernetFrame.TryCreate(bytes, out EthernetFrame frame));
        frame.Payload[7] = 0x02;
        Assert.Equal(0x02, bytes[21]);
    }

    [Fact]
    public void Construct_through_the_setters_gives_the_frame_bytes()
    {
        byte[] bytes = new byte[ArpRequestFrame.Length];
        Assert.True(EthernetFrame.TryCreate(bytes, out EthernetFrame frame));

        frame.Destination = MacAddress.Broadcast;
        frame.Source = Host;
        frame.EtherType = EtherType.Arp;
        ArpRequestFrame.AsSpan(14).CopyTo(frame.Payload);

        Assert.Equal(ArpRequestFrame, bytes);
    }

    [Fact]
    public void Parse_gives_the_repr()
    {
        Assert.True(EthernetFrame.Repr.TryParse(ArpRequestFrame, out EthernetFrame.Repr repr, out WireError error));
        Assert.Equal(WireError.None, error);
        Assert.Equal(ArpRequestRepr, repr);
    }

    [Fact]
    public void Parse_keeps_an_ethertype_it_does_not_name()
    {
        byte[] bytes = [.. ArpRequestFrame];
        bytes[12] = 0x88;
        bytes[13] = 0xcc; // LLDP
        Assert.True(EthernetFrame.Repr.TryParse(bytes, out EthernetFrame.Repr repr));
        Assert.Equal((EtherType)0x88cc, repr.EtherType);
    }

    [Fact]
    public void Emit_writes_the_header_and_returns_its_length()
    {
        byte[] bytes = new byte[ArpRequestFrame.Length];
        int written = ArpRequestRepr.Emit(bytes);
        ArpRequestFrame.AsSpan(14).CopyTo(bytes.AsSpan(written));

        Assert.Equal(14, written);
        Assert.Equal(ArpRequestFrame, bytes);
    }

    [Fact]
    public void Emit_refuses_a_destination_shorter_than_the_header()
        => Assert.Throws<ArgumentException>(() => ArpRequestRepr.Emit(new byte[13]));

    [Fact]
    public void TryCreate_refuses_every_buffer_shorter_than_the_header()
    {
        for (int length = 0; length < EthernetFrame.FixedLength; length++)
        {
            Assert.False(EthernetFrame.TryCreate(ArpRequestFrame.AsSpan(0, length).ToArray(), out _, out WireError error));
            Assert.Equal(WireError.Truncated, error);
            Assert.False(EthernetFrame.Repr.TryParse(ArpRequestFrame.AsSpan(0, length), out _, out error));
            Assert.Equal(WireError.Truncated, error);
        }
    }

    [Fact]
    public void A_bare_header_has_an_empty_payload()
    {
        Assert.True(EthernetFrame.TryCreate(ArpRequestFrame.AsSpan(0, 14).ToArray(), out EthernetFrame frame));
        Assert.Equal(14, frame.PacketLength);
        Assert.True(frame.Payload.IsEmpty);
    }
}
