using System.Buffers.Binary;
using PacketDotNet;
using PacketDotNet.Utils;

namespace Dataplane.Wire.Tests.Differential;

// Oracles:
//   NDP messages (RS, RA, NS, NA, redirect), their fields and their options (link-layer address,
//     prefix information, MTU, redirected header), ICMPv6 type/code/checksum: PacketDotNet.
//   The option walk, option fields PacketDotNet does not expose (lifetimes, reserved words), the
//     checksum: NaiveDecoders.

public class NdpDifferentialTests
{
    [Fact]
    public void Neighbor_discovery_messages_and_options_built_by_us_read_the_same_in_PacketDotNet()
    {
        DifferentialTally tally = DifferentialRun.Packets("NDP", 0x0087, packet =>
        {
            Random random = packet.Random;
            var type = (Icmpv6Type)random.Next(133, 138);
            int fixedLength = type switch
            {
                Icmpv6Type.RouterSolicitation => RouterSolicitation.FixedLength,
                Icmpv6Type.RouterAdvertisement => RouterAdvertisement.FixedLength,
                Icmpv6Type.NeighborSolicitation => NeighborSolicitation.FixedLength,
                Icmpv6Type.NeighborAdvertisement => NeighborAdvertisement.FixedLength,
                _ => NdpRedirect.FixedLength,
            };
            byte[] options = NdpOptions(random);
            int length = fixedLength + options.Length;
            Ipv6Packet.Repr ip = PacketBuilders.Ipv6Header(random, IpProtocol.Icmpv6, length) with { HopLimit = 255 };
            var (frame, at) = PacketBuilders.EthernetIpv6(random, ip, length);
            Span<byte> message = frame.AsSpan(at, length);
            options.CopyTo(message[fixedLength..]);
            object repr = type switch
            {
                Icmpv6Type.RouterSolicitation => new RouterSolicitation.Repr { Type = type, Reserved = random.Chance(90) ? 0 : random.UInt32() },
                Icmpv6Type.RouterAdvertisement => new RouterAdvertisement.Repr
                {
                    Type = type,
                    CurrentHopLimit = random.Byte(),
                    Managed = random.Bool(),
                    OtherConfiguration = random.Bool(),
                    Reserved = random.Chance(90) ? (byte)0 : (byte)random.Next(64),
                    RouterLifetime = random.UInt16(),
                    ReachableTime = random.UInt32(),
                    RetransmitTimer = random.UInt32(),
                },
                Icmpv6Type.NeighborSolicitation => new NeighborSolicitation.Repr { Type = type, Reserved = random.Chance(90) ? 0 : random.UInt32(), TargetAddress = random.Ipv6() },
                Icmpv6Type.NeighborAdvertisement => new NeighborAdvertisement.Repr
                {
                    Type = type,
                    Flags = (NeighborAdvertisementFlags)random.Next(8),
                    Reserved = random.Chance(90) ? 0 : (uint)random.Next(1 << 29),
                    TargetAddress = random.Ipv6(),
                },
                _ => new NdpRedirect.Repr { Type = type, Reserved = random.Chance(90) ? 0 : random.UInt32(), TargetAddress = random.Ipv6(), DestinationAddress = random.Ipv6() },
            };
            switch (repr)
            {
                case RouterSolicitation.Repr r: r.Emit(message); break;
                case RouterAdvertisement.Repr r: r.Emit(message); break;
                case NeighborSolicitation.Repr r: r.Emit(message); break;
                case NeighborAdvertisement.Repr r: r.Emit(message); break;
                case NdpRedirect.Repr r: r.Emit(message); break;
            }
            packet.True(Icmpv6Packet.TryCreate(message, out Icmpv6Packet built), "our ICMPv6 view refused the message");
            built.FillChecksum(ip.Source, ip.Destination);
            bool corrupt = random.Chance(10);
            if (corrupt)
                PacketBuilders.Corrupt(message.Slice(2, 2), random);
            packet.Variant = $"{type}, {options.Length} bytes of options{(corrupt ? ", bad checksum" : "")}";
            packet.Bytes = frame;

            packet.True(Ipv6Packet.TryCreate(frame.AsSpan(EthernetFrame.FixedLength), out Ipv6Packet ipView), "our IPv6 view refused the packet");
            Span<byte> icmp = ipView.Payload;
            packet.True(Icmpv6Packet.TryCreate(icmp, out Icmpv6Packet ours), "our ICMPv6 view refused the payload");
            var theirIp = (IPv6Packet)new EthernetPacket(new ByteArraySegment(packet.OracleCopy())).PayloadPacket;
            Ipv6DifferentialTests.CompareHeader(packet, theirIp, ipView);
            var theirIcmp = (IcmpV6Packet)theirIp.PayloadPacket;
            Ipv6DifferentialTests.CompareIcmpv6(packet, theirIcmp, ours, ipView);
            packet.Equal(!corrupt, ours.VerifyChecksum(ipView.Source, ipView.Destination), "checksum verifies (as built)");

            packet.BytesEqual(options, icmp[fixedLength..], "options area");
            object? round = CompareNdp(packet, theirIcmp, icmp);
            packet.True(round is not null, "Repr.TryParse refused the message");
            packet.Equal(repr, round, "Repr round trip");
            if (!corrupt)
                packet.Compared("NDP");
        });
        tally.AssertEachCompared("NDP");
    }

    /// <summary>
    /// An NDP message (RS, RA, NS, NA or redirect) against PacketDotNet's NdpPacket and its options,
    /// and the option fields it does not expose against the naive walk; returns what Repr.TryParse
    /// read, or null when it refused the message.
    /// </summary>
    internal static object? CompareNdp(DifferentialPacket packet, IcmpV6Packet theirIcmp, Span<byte> icmp)
    {
        packet.True(Icmpv6Packet.TryCreate(icmp, out Icmpv6Packet ours), "our ICMPv6 view refused the message");
        Span<byte> ourOptions;
        WireOptionEnumerator walk;
        bool parsed;
        object round;
        switch ((Icmpv6Type)icmp[0])
        {
            case Icmpv6Type.RouterSolicitation:
            {
                packet.True(RouterSolicitation.TryCreate(icmp, out RouterSolicitation view), "our RS view refused the message");
                packet.True(theirIcmp.PayloadPacket is NdpRouterSolicitationPacket, "PacketDotNet did not decode an RS");
                packet.Equal(ours.Checksum, view.Checksum, "RS checksum");
                packet.Equal(BinaryPrimitives.ReadUInt32BigEndian(icmp[4..]), view.Reserved, "RS reserved (naive)");
                ourOptions = view.Options;
                walk = view.EnumerateOptions();
                CompareNdpOptions(packet, ((NdpRouterSolicitationPacket)theirIcmp.PayloadPacket).OptionsCollection, walk);
                parsed = RouterSolicitation.Repr.TryParse(icmp, out RouterSolicitation.Repr r);
                round = r;
                break;
            }
            case Icmpv6Type.RouterAdvertisement:
            {
                packet.True(RouterAdvertisement.TryCreate(icmp, out RouterAdvertisement view), "our RA view refused the message");
                var theirs = (NdpRouterAdvertisementPacket)theirIcmp.PayloadPacket;
                packet.Equal(theirs.CurrentHopLimit, view.CurrentHopLimit, "RA current hop limit");
                packet.Equal(theirs.ManagedAddressConfiguration, view.Managed, "RA managed flag");
                packet.Equal(theirs.OtherConfiguration, view.OtherConfiguration, "RA other-configuration flag");
                packet.Equal(theirs.RouterLifetime, view.RouterLifetime, "RA router lifetime");
                packet.Equal(theirs.ReachableTime, view.ReachableTime, "RA reachable time");
                packet.Equal(theirs.RetransmitTimer, view.RetransmitTimer, "RA retransmit timer");
                packet.Equal((byte)(icmp[5] & 0x3F), view.Reserved, "RA reserved bits (naive)");
                ourOptions = view.Options;
                walk = view.EnumerateOptions();
                CompareNdpOptions(packet, theirs.OptionsCollection, walk);
                parsed = RouterAdvertisement.Repr.TryParse(icmp, out RouterAdvertisement.Repr r);
                round = r;
                break;
            }
            case Icmpv6Type.NeighborSolicitation:
            {
                packet.True(NeighborSolicitation.TryCreate(icmp, out NeighborSolicitation view), "our NS view refused the message");
                var theirs = (NdpNeighborSolicitationPacket)theirIcmp.PayloadPacket;
                packet.Equal(Oracle.V6(theirs.TargetAddress), view.TargetAddress, "NS target");
                packet.Equal(BinaryPrimitives.ReadUInt32BigEndian(icmp[4..]), view.Reserved, "NS reserved (naive)");
                ourOptions = view.Options;
                walk = view.EnumerateOptions();
                CompareNdpOptions(packet, theirs.OptionsCollection, walk);
                parsed = NeighborSolicitation.Repr.TryParse(icmp, out NeighborSolicitation.Repr r);
                round = r;
                break;
            }
            case Icmpv6Type.NeighborAdvertisement:
            {
                packet.True(NeighborAdvertisement.TryCreate(icmp, out NeighborAdvertisement view), "our NA view refused the message");
                var theirs = (NdpNeighborAdvertisementPacket)theirIcmp.PayloadPacket;
                packet.Equal(theirs.Router, view.HasFlags(NeighborAdvertisementFlags.Router), "NA router flag");
                packet.Equal(theirs.Solicited, view.HasFlags(NeighborAdvertisementFlags.Solicited), "NA solicited flag");
                packet.Equal(theirs.Override, view.HasFlags(NeighborAdvertisementFlags.Override), "NA override flag");
                packet.Equal(Oracle.V6(theirs.TargetAddress), view.TargetAddress, "NA target");
                packet.Equal(BinaryPrimitives.ReadUInt32BigEndian(icmp[4..]) & 0x1FFF_FFFF, view.Reserved, "NA reserved bits (naive)");
                ourOptions = view.Options;
                walk = view.EnumerateOptions();
                CompareNdpOptions(packet, theirs.OptionsCollection, walk);
                parsed = NeighborAdvertisement.Repr.TryParse(icmp, out NeighborAdvertisement.Repr r);
                round = r;
                break;
            }
            default:
            {
                packet.True(NdpRedirect.TryCreate(icmp, out NdpRedirect view), "our redirect view refused the message");
                var theirs = (NdpRedirectMessagePacket)theirIcmp.PayloadPacket;
                packet.Equal(Oracle.V6(theirs.TargetAddress), view.TargetAddress, "redirect target");
                packet.Equal(Oracle.V6(theirs.DestinationAddress), view.DestinationAddress, "redirect destination");
                ourOptions = view.Options;
                walk = view.EnumerateOptions();
                CompareNdpOptions(packet, theirs.OptionsCollection, walk);
                parsed = NdpRedirect.Repr.TryParse(icmp, out NdpRedirect.Repr r);
                round = r;
                break;
            }
        }
        List<NaiveOption>? naive = Naive.NdpOptions(ourOptions);
        packet.True(naive is not null, "the naive walk found the options malformed");
        Ipv4DifferentialTests.CompareOptions(packet, walk, naive!, "NDP");
        CompareNdpOptionFields(packet, walk);
        return parsed ? round : null;
    }

    /// <summary>
    /// Random NDP options built with our option Reprs: link-layer addresses, prefix information,
    /// MTU, redirected header, and types nobody knows.
    /// </summary>
    private static byte[] NdpOptions(Random random)
    {
        var area = new List<byte>();
        int count = random.Next(5);
        for (int i = 0; i < count; i++)
        {
            byte[] option;
            switch (random.Next(6))
            {
                case 0 or 1:
                    option = new byte[NdpLinkLayerAddressOption.FixedLength];
                    new NdpLinkLayerAddressOption.Repr
                    {
                        Type = random.Bool() ? NdpOptionType.SourceLinkLayerAddress : NdpOptionType.TargetLinkLayerAddress,
                        Length = 1,
                        Address = random.Mac(),
                    }.Emit(option);
                    break;
                case 2:
                    option = new byte[NdpPrefixInformationOption.FixedLength];
                    new NdpPrefixInformationOption.Repr
                    {
                        Type = NdpOptionType.PrefixInformation,
                        Length = 4,
                        PrefixLength = (byte)random.Next(129),
                        OnLink = random.Bool(),
                        Autonomous = random.Bool(),
                        Reserved1 = random.Chance(90) ? (byte)0 : (byte)random.Next(64),
                        ValidLifetime = random.UInt32(),
                        PreferredLifetime = random.UInt32(),
                        Reserved2 = random.Chance(90) ? 0 : random.UInt32(),
                        Prefix = random.Ipv6(),
                    }.Emit(option);
                    break;
                case 3:
                    option = new byte[NdpMtuOption.FixedLength];
                    new NdpMtuOption.Repr { Type = NdpOptionType.Mtu, Length = 1, Reserved = random.Chance(90) ? (ushort)0 : random.UInt16(), Mtu = random.UInt32() }.Emit(option);
                    break;
                case 4:
                    int units = random.Next(1, 8);
                    option = new byte[8 * units];
                    new NdpRedirectedHeaderOption.Repr { Type = NdpOptionType.RedirectedHeader, Length = (byte)units, Reserved = 0 }.Emit(option);
                    random.NextBytes(option.AsSpan(8));
                    break;
                default:
                    int unknownUnits = random.Next(1, 5);
                    option = random.Bytes(8 * unknownUnits);
                    option[0] = (byte)random.Next(6, 256);
                    option[1] = (byte)unknownUnits;
                    break;
            }
            area.AddRange(option);
        }
        return [.. area];
    }

    /// <summary>The options PacketDotNet knows (types 1 to 5), in order, against ours.</summary>
    private static void CompareNdpOptions(DifferentialPacket packet, List<PacketDotNet.Ndp.NdpOption> theirs, WireOptionEnumerator ours)
    {
        int n = 0;
        while (ours.MoveNext())
        {
            WireOption option = ours.Current;
            if (option.Type is < 1 or > 5)
                continue;
            packet.True(n < theirs.Count, $"we found more known NDP options than PacketDotNet's {theirs.Count}");
            PacketDotNet.Ndp.NdpOption their = theirs[n];
            packet.Equal((byte)their.Type, option.Type, $"NDP option {n} type");
            packet.Equal(their.Length, option.Raw[1], $"NDP option {n} length");
            switch (their)
            {
                case PacketDotNet.Ndp.NdpLinkLayerAddressOption address:
                {
                    packet.True(NdpLinkLayerAddressOption.TryCreate(option.Raw, out NdpLinkLayerAddressOption view), "our link-layer address option view refused the option");
                    packet.Equal(Oracle.Mac(address.LinkLayerAddress), view.Address, $"NDP option {n} link-layer address");
                    break;
                }
                case PacketDotNet.Ndp.NdpLinkPrefixInformationOption prefix:
                {
                    packet.True(NdpPrefixInformationOption.TryCreate(option.Raw, out NdpPrefixInformationOption view), "our prefix option view refused the option");
                    packet.Equal(prefix.PrefixLength, view.PrefixLength, $"NDP option {n} prefix length");
                    packet.Equal(prefix.OnLink, view.OnLink, $"NDP option {n} on-link flag");
                    packet.Equal(prefix.AutonomousAddressConfiguration, view.Autonomous, $"NDP option {n} autonomous flag");
                    packet.Equal(Oracle.V6(prefix.Prefix), view.Prefix, $"NDP option {n} prefix");
                    break;
                }
                case PacketDotNet.Ndp.NdpMtuOption mtu:
                {
                    packet.True(NdpMtuOption.TryCreate(option.Raw, out NdpMtuOption view), "our MTU option view refused the option");
                    packet.Equal(mtu.Mtu, view.Mtu, $"NDP option {n} MTU");
                    break;
                }
            }
            n++;
        }
        packet.Equal(theirs.Count, n, "known NDP option count");
    }

    /// <summary>The option fields PacketDotNet does not expose, against the bytes read naively.</summary>
    private static void CompareNdpOptionFields(DifferentialPacket packet, WireOptionEnumerator walk)
    {
        while (walk.MoveNext())
        {
            WireOption option = walk.Current;
            Span<byte> data = option.Data;
            switch ((NdpOptionType)option.Type)
            {
                case NdpOptionType.PrefixInformation:
                {
                    packet.True(NdpPrefixInformationOption.TryCreate(option.Raw, out NdpPrefixInformationOption view), "our prefix option view refused the option");
                    packet.True(NdpPrefixInformationOption.Repr.TryParse(option.Raw, out _), "prefix option Repr.TryParse refused the option");
                    packet.Equal((byte)(data[1] & 0x3F), view.Reserved1, "prefix reserved bits (naive)");
                    packet.Equal(BinaryPrimitives.ReadUInt32BigEndian(data[2..]), view.ValidLifetime, "prefix valid lifetime (naive)");
                    packet.Equal(BinaryPrimitives.ReadUInt32BigEndian(data[6..]), view.PreferredLifetime, "prefix preferred lifetime (naive)");
                    packet.Equal(BinaryPrimitives.ReadUInt32BigEndian(data[10..]), view.Reserved2, "prefix reserved word (naive)");
                    break;
                }
                case NdpOptionType.Mtu:
                {
                    packet.True(NdpMtuOption.TryCreate(option.Raw, out NdpMtuOption view), "our MTU option view refused the option");
                    packet.Equal(BinaryPrimitives.ReadUInt16BigEndian(data), view.Reserved, "MTU reserved (naive)");
                    packet.Equal(BinaryPrimitives.ReadUInt32BigEndian(data[2..]), view.Mtu, "MTU (naive)");
                    break;
                }
                case NdpOptionType.RedirectedHeader:
                {
                    packet.True(NdpRedirectedHeaderOption.TryCreate(option.Raw, out NdpRedirectedHeaderOption view), "our redirected header option view refused the option");
                    packet.Equal(option.Raw.Length, view.HeaderLength, "redirected header option length");
                    packet.Equal(0UL, view.Reserved, "redirected header reserved");
                    break;
                }
            }
        }
    }
}
