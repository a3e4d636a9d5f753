using PacketDotNet;
using PacketDotNet.Utils;

namespace Dataplane.Wire.Tests.Differential;

// Oracles: PacketDotNet for Ethernet II, 802.1Q, 802.1ad (its Ieee8021QPacket decodes EtherType
// 0x88A8 and 0x9100 with the same layout; its CanonicalFormatIndicator is today's DEI bit) and ARP.

public class LinkDifferentialTests
{
    [Fact]
    public void Ethernet_ii_frames_built_by_us_read_the_same_in_PacketDotNet()
    {
        DifferentialTally tally = DifferentialRun.Packets("Ethernet II", 0x0E7E, packet =>
        {
            Random random = packet.Random;
            var repr = new EthernetFrame.Repr { Destination = random.Mac(), Source = random.Mac(), EtherType = random.OpaqueEtherType() };
            byte[] payload = random.Bytes(random.PayloadLength(1500));
            byte[] frame = new byte[EthernetFrame.FixedLength + payload.Length];
            repr.Emit(frame);
            payload.CopyTo(frame, EthernetFrame.FixedLength);
            packet.Bytes = frame;

            packet.True(EthernetFrame.TryCreate(frame, out EthernetFrame ours), "our view refused the frame");
            var theirs = new EthernetPacket(new ByteArraySegment(packet.OracleCopy()));
            packet.Equal(Oracle.Mac(theirs.DestinationHardwareAddress), ours.Destination, "destination");
            packet.Equal(Oracle.Mac(theirs.SourceHardwareAddress), ours.Source, "source");
            packet.Equal((ushort)theirs.Type, (ushort)ours.EtherType, "EtherType");
            packet.Equal(EthernetFrame.FixedLength, ours.HeaderLength, "header length");
            packet.BytesEqual(theirs.PayloadData ?? [], ours.Payload, "payload");

            packet.True(EthernetFrame.Repr.TryParse(frame, out EthernetFrame.Repr parsed), "Repr.TryParse refused the frame");
            packet.Equal(repr, parsed, "Repr round trip");
            packet.Compared("Ethernet II");
        });
        tally.AssertEachCompared("Ethernet II");
    }

    [Fact]
    public void Vlan_tags_802_1q_and_802_1ad_built_by_us_read_the_same_in_PacketDotNet()
    {
        DifferentialTally tally = DifferentialRun.Packets("802.1Q / 802.1ad", 0x8100, packet =>
        {
            Random random = packet.Random;
            // One customer tag, a service tag over a customer tag (QinQ), or two customer tags.
            int shape = packet.Index % 3;
            packet.Variant = shape switch { 0 => "802.1Q", 1 => "802.1ad + 802.1Q", _ => "802.1Q + 802.1Q" };
            int tags = shape == 0 ? 1 : 2;
            var outer = new VlanTag.Repr
            {
                Priority = (byte)random.Next(8),
                DropEligible = random.Bool(),
                VlanId = (ushort)random.Next(4096),
                EtherType = tags == 2 ? EtherType.Vlan : random.OpaqueEtherType(),
            };
            var inner = new VlanTag.Repr
            {
                Priority = (byte)random.Next(8),
                DropEligible = random.Bool(),
                VlanId = (ushort)random.Next(4096),
                EtherType = random.OpaqueEtherType(),
            };
            byte[] payload = random.Bytes(random.PayloadLength(1500));
            byte[] frame = new byte[EthernetFrame.FixedLength + 4 * tags + payload.Length];
            new EthernetFrame.Repr
            {
                Destination = random.Mac(),
                Source = random.Mac(),
                EtherType = shape == 1 ? EtherType.ServiceVlan : EtherType.Vlan,
            }.Emit(frame);
            Span<byte> tagBytes = frame.AsSpan(EthernetFrame.FixedLength);
            if (shape == 1)
            {
                new ServiceTag.Repr { Priority = outer.Priority, DropEligible = outer.DropEligible, VlanId = outer.VlanId, EtherType = outer.EtherType }
                    .Emit(tagBytes);
            }
            else
            {
                outer.Emit(tagBytes);
            }
            if (tags == 2)
                inner.Emit(tagBytes[4..]);
            payload.CopyTo(frame, EthernetFrame.FixedLength + 4 * tags);
            packet.Bytes = frame;

            packet.True(EthernetFrame.TryCreate(frame, out EthernetFrame ethernet), "our Ethernet view refused the frame");
            var theirs = new EthernetPacket(new ByteArraySegment(packet.OracleCopy()));
            packet.Equal((ushort)theirs.Type, (ushort)ethernet.EtherType, "EtherType");
            var theirOuter = (Ieee8021QPacket)theirs.PayloadPacket;

            Span<byte> rest;
            if (shape == 1)
            {
                packet.True(ServiceTag.TryCreate(ethernet.Payload, out ServiceTag service), "our service tag view refused the tag");
                CompareTag(packet, theirOuter, service.Priority, service.DropEligible, service.VlanId, service.EtherType, "service tag");
                packet.True(ServiceTag.Repr.TryParse(ethernet.Payload, out ServiceTag.Repr parsed), "ServiceTag.Repr.TryParse refused the tag");
                packet.Equal(outer, new VlanTag.Repr { Priority = parsed.Priority, DropEligible = parsed.DropEligible, VlanId = parsed.VlanId, EtherType = parsed.EtherType }, "service tag Repr round trip");
                rest = service.Payload;
            }
            else
            {
                packet.True(VlanTag.TryCreate(ethernet.Payload, out VlanTag tag), "our VLAN view refused the tag");
                CompareTag(packet, theirOuter, tag.Priority, tag.DropEligible, tag.VlanId, tag.EtherType, "outer tag");
                packet.True(VlanTag.Repr.TryParse(ethernet.Payload, out VlanTag.Repr parsed), "VlanTag.Repr.TryParse refused the tag");
                packet.Equal(outer, parsed, "outer tag Repr round trip");
                rest = tag.Payload;
            }

            Packet theirRest = theirOuter;
            if (tags == 2)
            {
                packet.True(VlanTag.TryCreate(rest, out VlanTag tag), "our VLAN view refused the inner tag");
                var theirInner = (Ieee8021QPacket)theirOuter.PayloadPacket;
                CompareTag(packet, theirInner, tag.Priority, tag.DropEligible, tag.VlanId, tag.EtherType, "inner tag");
                packet.True(VlanTag.Repr.TryParse(rest, out VlanTag.Repr parsed), "VlanTag.Repr.TryParse refused the inner tag");
                packet.Equal(inner, parsed, "inner tag Repr round trip");
                rest = tag.Payload;
                theirRest = theirInner;
            }
            packet.BytesEqual(theirRest.PayloadData ?? [], rest, "payload");
            packet.Compared(shape == 1 ? "802.1ad" : "802.1Q");
        }, variants: 3);
        tally.AssertEachCompared("802.1Q", "802.1ad");
    }

    internal static void CompareTag(DifferentialPacket packet, Ieee8021QPacket theirs, byte priority, bool dropEligible, ushort vlanId, EtherType type, string which)
    {
        packet.Equal((byte)theirs.PriorityControlPoint, priority, which + " priority");
        packet.Equal(theirs.CanonicalFormatIndicator, dropEligible, which + " drop eligible (PacketDotNet's CFI)");
        packet.Equal(theirs.VlanIdentifier, vlanId, which + " VLAN id");
        packet.Equal((ushort)theirs.Type, (ushort)type, which + " EtherType");
    }

    /// <summary>Every ARP field PacketDotNet exposes.</summary>
    internal static void CompareArp(DifferentialPacket packet, PacketDotNet.ArpPacket theirs, ArpPacket ours)
    {
        packet.Equal((ushort)theirs.HardwareAddressType, ours.HardwareType, "ARP hardware type");
        packet.Equal((ushort)theirs.ProtocolAddressType, (ushort)ours.ProtocolType, "ARP protocol type");
        packet.Equal(theirs.HardwareAddressLength, (int)ours.HardwareLength, "ARP hardware length");
        packet.Equal(theirs.ProtocolAddressLength, (int)ours.ProtocolLength, "ARP protocol length");
        packet.Equal((ushort)theirs.Operation, (ushort)ours.Operation, "ARP operation");
        packet.Equal(Oracle.Mac(theirs.SenderHardwareAddress), ours.SenderHardwareAddress, "ARP sender hardware address");
        packet.Equal(Oracle.V4(theirs.SenderProtocolAddress), ours.SenderProtocolAddress, "ARP sender protocol address");
        packet.Equal(Oracle.Mac(theirs.TargetHardwareAddress), ours.TargetHardwareAddress, "ARP target hardware address");
        packet.Equal(Oracle.V4(theirs.TargetProtocolAddress), ours.TargetProtocolAddress, "ARP target protocol address");
    }

    [Fact]
    public void Arp_packets_built_by_us_read_the_same_in_PacketDotNet()
    {
        DifferentialTally tally = DifferentialRun.Packets("ARP", 0x0806, packet =>
        {
            Random random = packet.Random;
            // Mostly RFC 826 requests and replies for IPv4 over Ethernet; one in ten with a hardware or
            // protocol type Repr.TryParse must refuse, and some with operations beyond reply.
            bool unexpected = random.Chance(10);
            var repr = new ArpPacket.Repr
            {
                HardwareType = unexpected && random.Bool() ? (ushort)random.Next(2, 65536) : (ushort)1,
                ProtocolType = unexpected && random.Bool() ? random.OpaqueEtherType() : EtherType.Ipv4,
                HardwareLength = 6,
                ProtocolLength = 4,
                Operation = random.Chance(90) ? (ArpOperation)random.Next(1, 3) : (ArpOperation)random.UInt16(),
                SenderHardwareAddress = random.Mac(),
                SenderProtocolAddress = random.Ipv4(),
                TargetHardwareAddress = random.Bool() ? default : random.Mac(),
                TargetProtocolAddress = random.Ipv4(),
            };
            unexpected = repr.HardwareType != 1 || repr.ProtocolType != EtherType.Ipv4;
            packet.Variant = unexpected ? "unexpected types" : "IPv4 over Ethernet";
            // An ARP frame is 42 bytes, padded to the 60-byte Ethernet minimum on the wire.
            byte[] frame = new byte[60];
            new EthernetFrame.Repr { Destination = random.Mac(), Source = random.Mac(), EtherType = EtherType.Arp }.Emit(frame);
            repr.Emit(frame.AsSpan(EthernetFrame.FixedLength));
            packet.Bytes = frame;

            packet.True(EthernetFrame.TryCreate(frame, out EthernetFrame ethernet), "our Ethernet view refused the frame");
            packet.True(ArpPacket.TryCreate(ethernet.Payload, out ArpPacket ours), "our ARP view refused the packet");
            CompareArp(packet, (PacketDotNet.ArpPacket)new EthernetPacket(new ByteArraySegment(packet.OracleCopy())).PayloadPacket, ours);

            bool accepted = ArpPacket.Repr.TryParse(ethernet.Payload, out ArpPacket.Repr parsed, out WireError error);
            packet.Equal(!unexpected, accepted, "Repr.TryParse accepts exactly IPv4 over Ethernet");
            if (accepted)
                packet.Equal(repr, parsed, "Repr round trip");
            else
                packet.Equal(WireError.UnexpectedValue, error, "Repr.TryParse error");
            if (!unexpected)
                packet.Compared("ARP");
        });
        tally.AssertEachCompared("ARP");
    }
}
