using System.Buffers.Binary;
using PacketDotNet;
using PacketDotNet.Tcp;
using PacketDotNet.Utils;

namespace Dataplane.Wire.Tests.Differential;

// Oracles:
//   UDP and TCP over IPv4 and IPv6, TCP options (MSS, window scale, SACK-permitted, SACK,
//     timestamps, and the kind/length/bytes of any other): PacketDotNet.
//   The option walk and every checksum: NaiveDecoders as well.
// PacketDotNet behaviour worked around:
//   - UdpPacket.ValidUdpChecksum does not know RFC 768's "0 means no checksum" over IPv4 and calls
//     such a datagram invalid; for those (and only those) its validity is not compared, and ours
//     must accept them.
//   - TcpPacket.OptionsCollection throws NotImplementedException when URG is set: the options of
//     those segments are compared with the naive walk only.
//   - TcpPacket.UrgentPointer reads the field as a signed short: compared as its low 16 bits.
//   - TcpPacket.OptionsCollection carries on past an end-of-list option (each zero of the padding
//     after it is another end-of-list) and lists no-operations; both are padding, left out of the
//     comparison as our walk leaves them out.

public class TransportDifferentialTests
{
    [Fact]
    public void Udp_datagrams_over_ipv4_and_ipv6_built_by_us_read_the_same_in_PacketDotNet()
    {
        DifferentialTally tally = DifferentialRun.Packets("UDP", 0x0011, packet =>
        {
            Random random = packet.Random;
            bool v6 = random.Bool();
            int payloadLength = random.PayloadLength(1452);
            int length = UdpDatagram.FixedLength + payloadLength;
            byte[] frame;
            int at;
            Ipv4Packet.Repr ip4 = default;
            Ipv6Packet.Repr ip6 = default;
            if (v6)
            {
                ip6 = PacketBuilders.Ipv6Header(random, IpProtocol.Udp, length);
                (frame, at) = PacketBuilders.EthernetIpv6(random, ip6, length);
            }
            else
            {
                ip4 = PacketBuilders.Ipv4Header(random, IpProtocol.Udp, 0, length);
                (frame, at) = PacketBuilders.EthernetIpv4(random, ip4, [], length);
            }
            Span<byte> udpBytes = frame.AsSpan(at, length);
            var repr = new UdpDatagram.Repr { SourcePort = random.OpaqueUdpPort(), DestinationPort = random.OpaqueUdpPort(), Length = (ushort)length };
            repr.Emit(udpBytes);
            random.NextBytes(udpBytes[UdpDatagram.FixedLength..]);
            packet.Bytes = frame;
            packet.True(UdpDatagram.TryCreate(udpBytes, out UdpDatagram built), "our UDP view refused the datagram");
            // Over IPv4 one in twenty carries no checksum (RFC 768); one in ten a wrong one.
            bool none = !v6 && random.Chance(5);
            if (v6)
                built.FillChecksum(ip6.Source, ip6.Destination);
            else if (!none)
                built.FillChecksum(ip4.Source, ip4.Destination);
            string how = "Repr.Emit, FillChecksum";
            if (packet.Index % 2 == 1)
            {
                // Half the datagrams then get new ports through the checksum-updating setters (RFC 1624
                // eqn. 3, keeping RFC 768's zero for "none").
                how = "Set*UpdatingChecksum";
                repr = repr with { SourcePort = random.OpaqueUdpPort(), DestinationPort = random.OpaqueUdpPort() };
                built.SetSourcePortUpdatingChecksum(repr.SourcePort);
                built.SetDestinationPortUpdatingChecksum(repr.DestinationPort);
                if (none)
                {
                    packet.Equal((ushort)0, built.Checksum, "no checksum stays no checksum");
                }
                else
                {
                    uint pseudo = v6
                        ? Naive.PseudoHeaderV6(frame.AsSpan(EthernetFrame.FixedLength), 17, length)
                        : Naive.PseudoHeaderV4(frame.AsSpan(EthernetFrame.FixedLength), 17, length);
                    ushort full = Naive.Checksum(udpBytes, 6, pseudo);
                    packet.Equal(full == 0 ? (ushort)0xFFFF : full, built.Checksum, "checksum after the setters (naive, 0 sent as 0xFFFF)");
                }
            }
            bool corrupt = !none && random.Chance(10);
            if (corrupt)
                PacketBuilders.Corrupt(udpBytes.Slice(6, 2), random);
            packet.Variant = $"{(v6 ? "IPv6" : "IPv4")}, {payloadLength} bytes, built with {how}{(none ? ", no checksum" : corrupt ? ", bad checksum" : "")}";

            var theirEthernet = new EthernetPacket(new ByteArraySegment(packet.OracleCopy()));
            UdpDatagram ours;
            bool verifies, naiveVerifies;
            if (v6)
            {
                packet.True(Ipv6Packet.TryCreate(frame.AsSpan(EthernetFrame.FixedLength), out Ipv6Packet ip), "our IPv6 view refused the packet");
                var theirIp = (IPv6Packet)theirEthernet.PayloadPacket;
                Ipv6DifferentialTests.CompareHeader(packet, theirIp, ip);
                packet.True(UdpDatagram.TryCreate(ip.Payload, out ours), "our UDP view refused the IPv6 payload");
                CompareUdp(packet, (PacketDotNet.UdpPacket)theirIp.PayloadPacket, ours);
                verifies = ours.VerifyChecksum(ip.Source, ip.Destination);
                naiveVerifies = Naive.ChecksumVerifies(ip.Payload, Naive.PseudoHeaderV6(ip.Header, 17, length));
            }
            else
            {
                packet.True(Ipv4Packet.TryCreate(frame.AsSpan(EthernetFrame.FixedLength), out Ipv4Packet ip), "our IPv4 view refused the packet");
                var theirIp = (IPv4Packet)theirEthernet.PayloadPacket;
                Ipv4DifferentialTests.CompareHeader(packet, theirIp, ip);
                packet.True(UdpDatagram.TryCreate(ip.Payload, out ours), "our UDP view refused the IPv4 payload");
                CompareUdp(packet, (PacketDotNet.UdpPacket)theirIp.PayloadPacket, ours, compareValidity: !none);
                verifies = ours.VerifyChecksum(ip.Source, ip.Destination);
                naiveVerifies = Naive.ChecksumVerifies(ip.Payload, Naive.PseudoHeaderV4(ip.Header, 17, length));
            }
            packet.Equal(!corrupt, verifies, "checksum verifies (as built)");
            packet.Equal(none || naiveVerifies, verifies, "checksum verifies (naive sum, 0 meaning none over IPv4)");
            packet.True(UdpDatagram.Repr.TryParse(ours.Buffer, out UdpDatagram.Repr round), "Repr.TryParse refused the datagram");
            packet.Equal(repr, round, "Repr round trip");
            if (!corrupt)
                packet.Compared("UDP");
        });
        tally.AssertEachCompared("UDP");
    }

    /// <summary>Every UDP field PacketDotNet exposes.</summary>
    internal static void CompareUdp(DifferentialPacket packet, PacketDotNet.UdpPacket theirs, UdpDatagram ours, bool compareValidity = true, bool comparePayload = true)
    {
        packet.Equal(theirs.SourcePort, ours.SourcePort, "UDP source port");
        packet.Equal(theirs.DestinationPort, ours.DestinationPort, "UDP destination port");
        packet.Equal(theirs.Length, (int)ours.Length, "UDP length");
        packet.Equal(theirs.Length, ours.PacketLength, "UDP packet length");
        packet.Equal(theirs.Checksum, ours.Checksum, "UDP checksum");
        if (comparePayload)
            packet.BytesEqual(theirs.PayloadData ?? [], ours.Payload, "UDP payload");
        if (compareValidity)
        {
            bool verifies = theirs.ParentPacket is IPv6Packet v6
                ? ours.VerifyChecksum(Oracle.V6(v6.SourceAddress), Oracle.V6(v6.DestinationAddress))
                : ours.VerifyChecksum(Oracle.V4(((IPv4Packet)theirs.ParentPacket).SourceAddress), Oracle.V4(((IPv4Packet)theirs.ParentPacket).DestinationAddress));
            packet.Equal(theirs.ValidUdpChecksum, verifies, "UDP checksum verifies");
        }
    }

    [Fact]
    public void Tcp_segments_with_options_over_ipv4_and_ipv6_built_by_us_read_the_same_in_PacketDotNet()
    {
        DifferentialTally tally = DifferentialRun.Packets("TCP", 0x0006, packet =>
        {
            Random random = packet.Random;
            bool v6 = random.Bool();
            (byte[] options, string layout) = TcpOptionsArea(random);
            int payloadLength = random.PayloadLength(1400);
            int length = TcpSegment.FixedLength + options.Length + payloadLength;
            byte[] frame;
            int at;
            Ipv4Packet.Repr ip4 = default;
            Ipv6Packet.Repr ip6 = default;
            if (v6)
            {
                ip6 = PacketBuilders.Ipv6Header(random, IpProtocol.Tcp, length);
                (frame, at) = PacketBuilders.EthernetIpv6(random, ip6, length);
            }
            else
            {
                ip4 = PacketBuilders.Ipv4Header(random, IpProtocol.Tcp, 0, length);
                (frame, at) = PacketBuilders.EthernetIpv4(random, ip4, [], length);
            }
            Span<byte> tcpBytes = frame.AsSpan(at, length);
            var repr = new TcpSegment.Repr
            {
                SourcePort = random.UInt16(),
                DestinationPort = random.UInt16(),
                SequenceNumber = random.UInt32(),
                AcknowledgmentNumber = random.UInt32(),
                DataOffset = (byte)(5 + options.Length / 4),
                Reserved = random.Chance(90) ? (byte)0 : (byte)random.Next(8),
                Flags = (TcpFlags)random.Next(512),
                Window = random.UInt16(),
                UrgentPointer = random.UInt16(),
            };
            repr.Emit(tcpBytes);
            options.CopyTo(tcpBytes[TcpSegment.FixedLength..]);
            random.NextBytes(tcpBytes[(TcpSegment.FixedLength + options.Length)..]);
            packet.Bytes = frame;
            packet.True(TcpSegment.TryCreate(tcpBytes, out TcpSegment built), "our TCP view refused the segment");
            FillChecksum(built, v6, ip4, ip6);
            string how = "Repr.Emit, FillChecksum";
            if (packet.Index % 2 == 1)
            {
                // Half the segments then get new values through the view's setters, with the checksum
                // summed again or updated field by field (RFC 1624 eqn. 3).
                repr = repr with
                {
                    SourcePort = random.UInt16(),
                    DestinationPort = random.UInt16(),
                    SequenceNumber = random.UInt32(),
                    AcknowledgmentNumber = random.UInt32(),
                    Reserved = random.Chance(90) ? (byte)0 : (byte)random.Next(8),
                    Flags = (TcpFlags)random.Next(512),
                    Window = random.UInt16(),
                    UrgentPointer = random.UInt16(),
                };
                if (random.Bool())
                {
                    how = "setters, FillChecksum";
                    built.SourcePort = repr.SourcePort;
                    built.DestinationPort = repr.DestinationPort;
                    built.SequenceNumber = repr.SequenceNumber;
                    built.AcknowledgmentNumber = repr.AcknowledgmentNumber;
                    built.Reserved = repr.Reserved;
                    built.Flags = repr.Flags;
                    built.Window = repr.Window;
                    built.UrgentPointer = repr.UrgentPointer;
                    FillChecksum(built, v6, ip4, ip6);
                }
                else
                {
                    how = "Set*UpdatingChecksum";
                    built.SetSourcePortUpdatingChecksum(repr.SourcePort);
                    built.SetDestinationPortUpdatingChecksum(repr.DestinationPort);
                    built.SetSequenceNumberUpdatingChecksum(repr.SequenceNumber);
                    built.SetAcknowledgmentNumberUpdatingChecksum(repr.AcknowledgmentNumber);
                    built.SetReservedUpdatingChecksum(repr.Reserved);
                    built.SetFlagsUpdatingChecksum(repr.Flags);
                    built.SetWindowUpdatingChecksum(repr.Window);
                    built.SetUrgentPointerUpdatingChecksum(repr.UrgentPointer);
                }
                // Updated or summed again, the checksum is the one a full computation gives.
                uint pseudo = v6
                    ? Naive.PseudoHeaderV6(frame.AsSpan(EthernetFrame.FixedLength), 6, length)
                    : Naive.PseudoHeaderV4(frame.AsSpan(EthernetFrame.FixedLength), 6, length);
                packet.Equal(Naive.Checksum(tcpBytes, 16, pseudo), built.Checksum, $"checksum after {how} (naive)");
            }
            bool corrupt = random.Chance(10);
            if (corrupt)
                PacketBuilders.Corrupt(tcpBytes.Slice(16, 2), random);
            packet.Variant = $"{(v6 ? "IPv6" : "IPv4")}, options {layout}, {payloadLength} bytes, built with {how}{(corrupt ? ", bad checksum" : "")}";

            var theirEthernet = new EthernetPacket(new ByteArraySegment(packet.OracleCopy()));
            TcpSegment ours;
            TcpPacket theirs;
            bool verifies, naiveVerifies;
            if (v6)
            {
                packet.True(Ipv6Packet.TryCreate(frame.AsSpan(EthernetFrame.FixedLength), out Ipv6Packet ip), "our IPv6 view refused the packet");
                var theirIp = (IPv6Packet)theirEthernet.PayloadPacket;
                Ipv6DifferentialTests.CompareHeader(packet, theirIp, ip);
                packet.True(TcpSegment.TryCreate(ip.Payload, out ours), "our TCP view refused the IPv6 payload");
                theirs = (TcpPacket)theirIp.PayloadPacket;
                verifies = ours.VerifyChecksum(ip.Source, ip.Destination);
                naiveVerifies = Naive.ChecksumVerifies(ip.Payload, Naive.PseudoHeaderV6(ip.Header, 6, length));
            }
            else
            {
                packet.True(Ipv4Packet.TryCreate(frame.AsSpan(EthernetFrame.FixedLength), out Ipv4Packet ip), "our IPv4 view refused the packet");
                var theirIp = (IPv4Packet)theirEthernet.PayloadPacket;
                Ipv4DifferentialTests.CompareHeader(packet, theirIp, ip);
                packet.True(TcpSegment.TryCreate(ip.Payload, out ours), "our TCP view refused the IPv4 payload");
                theirs = (TcpPacket)theirIp.PayloadPacket;
                verifies = ours.VerifyChecksum(ip.Source, ip.Destination);
                naiveVerifies = Naive.ChecksumVerifies(ip.Payload, Naive.PseudoHeaderV4(ip.Header, 6, length));
            }
            CompareTcp(packet, theirs, ours, verifies);
            packet.Equal(!corrupt, verifies, "checksum verifies (as built)");
            packet.Equal(naiveVerifies, verifies, "checksum verifies (naive sum)");
            Ipv4DifferentialTests.CompareOptions(packet, ours.EnumerateOptions(), Naive.KindLengthOptions(ours.Options)!, "TCP");
            packet.True(TcpSegment.Repr.TryParse(ours.Buffer, out TcpSegment.Repr round), "Repr.TryParse refused the segment");
            packet.Equal(repr, round, "Repr round trip");
            if (!corrupt)
                packet.Compared("TCP");
        });
        tally.AssertEachCompared("TCP");
    }

    private static void FillChecksum(TcpSegment segment, bool v6, Ipv4Packet.Repr ip4, Ipv6Packet.Repr ip6)
    {
        if (v6)
            segment.FillChecksum(ip6.Source, ip6.Destination);
        else
            segment.FillChecksum(ip4.Source, ip4.Destination);
    }

    /// <summary>Every TCP field and option PacketDotNet exposes; <paramref name="verifies"/> is our checksum verdict.</summary>
    internal static void CompareTcp(DifferentialPacket packet, TcpPacket theirs, TcpSegment ours, bool verifies)
    {
        packet.Equal(theirs.SourcePort, ours.SourcePort, "TCP source port");
        packet.Equal(theirs.DestinationPort, ours.DestinationPort, "TCP destination port");
        packet.Equal(theirs.SequenceNumber, ours.SequenceNumber, "TCP sequence number");
        packet.Equal(theirs.AcknowledgmentNumber, ours.AcknowledgmentNumber, "TCP acknowledgment number");
        packet.Equal(theirs.DataOffset, (int)ours.DataOffset, "TCP data offset");
        packet.Equal(theirs.DataOffset * 4, ours.HeaderLength, "TCP header length");
        packet.Equal(theirs.Flags, (ushort)ours.Flags, "TCP flags");
        packet.Equal(theirs.Finished, ours.HasFlags(TcpFlags.Fin), "TCP FIN");
        packet.Equal(theirs.Synchronize, ours.HasFlags(TcpFlags.Syn), "TCP SYN");
        packet.Equal(theirs.Reset, ours.HasFlags(TcpFlags.Rst), "TCP RST");
        packet.Equal(theirs.Push, ours.HasFlags(TcpFlags.Psh), "TCP PSH");
        packet.Equal(theirs.Acknowledgment, ours.HasFlags(TcpFlags.Ack), "TCP ACK");
        packet.Equal(theirs.Urgent, ours.HasFlags(TcpFlags.Urg), "TCP URG");
        packet.Equal(theirs.ExplicitCongestionNotificationEcho, ours.HasFlags(TcpFlags.Ece), "TCP ECE");
        packet.Equal(theirs.CongestionWindowReduced, ours.HasFlags(TcpFlags.Cwr), "TCP CWR");
        packet.Equal(theirs.NonceSum, ours.HasFlags(TcpFlags.Ns), "TCP NS");
        packet.Equal(theirs.WindowSize, ours.Window, "TCP window");
        packet.Equal(theirs.Checksum, ours.Checksum, "TCP checksum");
        packet.Equal((ushort)theirs.UrgentPointer, ours.UrgentPointer, "TCP urgent pointer (PacketDotNet's is sign-extended)");
        packet.Equal(theirs.ValidTcpChecksum, verifies, "TCP checksum verifies");
        packet.BytesEqual(theirs.PayloadData ?? [], ours.Payload, "TCP payload");
        // PacketDotNet refuses to read options when URG is set (NotImplementedException).
        if (!theirs.Urgent)
            CompareTcpOptions(packet, theirs.OptionsCollection ?? [], ours);
        CompareTcpOptionValues(packet, ours);
    }

    /// <summary>The options that are not padding, in order, field by field.</summary>
    private static void CompareTcpOptions(DifferentialPacket packet, List<TcpOption> theirAll, TcpSegment segment)
    {
        List<TcpOption> theirs = theirAll.FindAll(o => o.Kind is not (OptionTypes.EndOfOptionList or OptionTypes.NoOperation));
        int n = 0;
        WireOptionEnumerator walk = segment.EnumerateOptions();
        while (walk.MoveNext())
        {
            WireOption option = walk.Current;
            packet.True(n < theirs.Count, $"we found more TCP options than PacketDotNet's {theirs.Count}");
            TcpOption their = theirs[n];
            packet.Equal((byte)their.Kind, option.Type, $"TCP option {n} kind");
            packet.Equal(their.Length, option.Raw[1], $"TCP option {n} length");
            switch (their)
            {
                case MaximumSegmentSizeOption mss:
                {
                    packet.True(TcpMssOption.TryCreate(option.Raw, out TcpMssOption view), "our MSS view refused the option");
                    packet.True(TcpMssOption.Repr.TryParse(option.Raw, out _), "MSS Repr.TryParse refused the option");
                    packet.Equal(mss.Value, view.MaximumSegmentSize, $"TCP option {n} MSS");
                    break;
                }
                case WindowScaleFactorOption scale:
                {
                    packet.True(TcpWindowScaleOption.TryCreate(option.Raw, out TcpWindowScaleOption view), "our window scale view refused the option");
                    packet.True(TcpWindowScaleOption.Repr.TryParse(option.Raw, out _), "window scale Repr.TryParse refused the option");
                    packet.Equal(scale.ScaleFactor, view.ShiftCount, $"TCP option {n} window scale");
                    break;
                }
                case SelectiveAcknowledgmentPermittedOption:
                    packet.True(TcpSackPermittedOption.Repr.TryParse(option.Raw, out _), "SACK-permitted Repr.TryParse refused the option");
                    break;
                case SelectiveAcknowledgmentOption sack:
                {
                    packet.True(TcpSackOption.TryCreate(option.Raw, out TcpSackOption view), "our SACK view refused the option");
                    packet.True(TcpSackOption.Repr.TryParse(option.Raw, out _), "SACK Repr.TryParse refused the option");
                    packet.Equal(option.Raw.Length, view.HeaderLength, $"TCP option {n} SACK length");
                    // PacketDotNet hands the edges back as 16-bit halves.
                    ushort[] halves = sack.Blocks;
                    packet.Equal(view.Variable.Length / 2, halves.Length, $"TCP option {n} SACK edge halves");
                    for (int i = 0; i < halves.Length; i++)
                        packet.Equal(halves[i], BinaryPrimitives.ReadUInt16BigEndian(view.Variable[(2 * i)..]), $"TCP option {n} SACK block {i / 4} {(i % 4 < 2 ? "left" : "right")} edge");
                    break;
                }
                case TimeStampOption timestamps:
                {
                    packet.True(TcpTimestampsOption.TryCreate(option.Raw, out TcpTimestampsOption view), "our timestamps view refused the option");
                    packet.True(TcpTimestampsOption.Repr.TryParse(option.Raw, out _), "timestamps Repr.TryParse refused the option");
                    packet.Equal(timestamps.Value, view.Value, $"TCP option {n} timestamp value");
                    packet.Equal(timestamps.EchoReply, view.EchoReply, $"TCP option {n} timestamp echo reply");
                    break;
                }
                default:
                    packet.BytesEqual(their.Bytes, option.Raw, $"TCP option {n} bytes");
                    break;
            }
            n++;
        }
        packet.Equal(theirs.Count, n, "TCP option count");
        packet.Equal(false, walk.IsMalformed, "TCP options malformed");
    }

    /// <summary><see cref="TcpOptions.TryParse"/> against the naive walk: the last option of each kind wins.</summary>
    private static void CompareTcpOptionValues(DifferentialPacket packet, TcpSegment segment)
    {
        var expected = new TcpOptions();
        foreach (NaiveOption option in Naive.KindLengthOptions(segment.Options)!)
        {
            byte[] d = option.Data;
            switch (option.Type)
            {
                case 2:
                    expected.MaximumSegmentSize = BinaryPrimitives.ReadUInt16BigEndian(d);
                    break;
                case 3:
                    expected.WindowScale = d[0];
                    break;
                case 4:
                    expected.SackPermitted = true;
                    break;
                case 5:
                    var replaced = new TcpOptions { MaximumSegmentSize = expected.MaximumSegmentSize, WindowScale = expected.WindowScale, SackPermitted = expected.SackPermitted, Timestamps = expected.Timestamps };
                    for (int i = 0; i < d.Length; i += 8)
                        replaced.AddSackBlock(new TcpSackBlock(BinaryPrimitives.ReadUInt32BigEndian(d.AsSpan(i)), BinaryPrimitives.ReadUInt32BigEndian(d.AsSpan(i + 4))));
                    expected = replaced;
                    break;
                case 8:
                    expected.Timestamps = (BinaryPrimitives.ReadUInt32BigEndian(d), BinaryPrimitives.ReadUInt32BigEndian(d.AsSpan(4)));
                    break;
            }
        }
        packet.True(TcpOptions.TryParse(segment, out TcpOptions parsed), "TcpOptions.TryParse refused the options");
        packet.Equal(expected, parsed, "TcpOptions (naive walk, the last of each kind wins)");
    }

    /// <summary>
    /// A TCP option area: either what <see cref="TcpOptions.Emit"/> writes (Linux's layout), or a
    /// random run of MSS, window scale, SACK-permitted, SACK, timestamps, options of kinds the stack
    /// does not know, and no-operations, each built with our option Reprs, padded with an
    /// end-of-list or no-operations to a multiple of 4.
    /// </summary>
    private static (byte[] Area, string Layout) TcpOptionsArea(Random random)
    {
        if (random.Chance(30))
        {
            var options = new TcpOptions
            {
                MaximumSegmentSize = random.Bool() ? random.UInt16() : null,
                WindowScale = random.Bool() ? (byte)random.Next(15) : null,
                SackPermitted = random.Bool(),
                Timestamps = random.Bool() ? (random.UInt32(), random.UInt32()) : null,
            };
            int room = 40 - options.Length - 4;
            int blocks = room >= 8 && random.Bool() ? random.Next(1, Math.Min(TcpOptions.MaxSackBlocks, room / 8) + 1) : 0;
            for (int i = 0; i < blocks; i++)
                options.AddSackBlock(new TcpSackBlock(random.UInt32(), random.UInt32()));
            byte[] linux = new byte[options.Length];
            options.Emit(linux);
            return (linux, "TcpOptions.Emit");
        }

        var area = new List<byte>();
        int budget = 40;
        int count = random.Next(7);
        for (int i = 0; i < count; i++)
        {
            byte[] option;
            switch (random.Next(8))
            {
                case 0:
                    option = new byte[TcpMssOption.FixedLength];
                    new TcpMssOption.Repr { Kind = TcpOptionKind.MaximumSegmentSize, Length = 4, MaximumSegmentSize = random.UInt16() }.Emit(option);
                    break;
                case 1:
                    option = new byte[TcpWindowScaleOption.FixedLength];
                    new TcpWindowScaleOption.Repr { Kind = TcpOptionKind.WindowScale, Length = 3, ShiftCount = random.Byte() }.Emit(option);
                    break;
                case 2:
                    option = new byte[TcpSackPermittedOption.FixedLength];
                    new TcpSackPermittedOption.Repr { Kind = TcpOptionKind.SackPermitted, Length = 2 }.Emit(option);
                    break;
                case 3:
                    int blocks = random.Next(1, 5);
                    option = new byte[2 + 8 * blocks];
                    new TcpSackOption.Repr { Kind = TcpOptionKind.Sack, Length = (byte)option.Length }.Emit(option);
                    random.NextBytes(option.AsSpan(2));
                    break;
                case 4:
                    option = new byte[TcpTimestampsOption.FixedLength];
                    new TcpTimestampsOption.Repr { Kind = TcpOptionKind.Timestamps, Length = 10, Value = random.UInt32(), EchoReply = random.UInt32() }.Emit(option);
                    break;
                case 5:
                    option = [(byte)TcpOptionKind.NoOperation];
                    break;
                default:
                    // A kind the stack does not implement (RFC 9293 3.2: skipped by its length).
                    int length = random.Next(2, 12);
                    option = random.Bytes(length);
                    do
                    {
                        option[0] = (byte)random.Next(6, 256);
                    }
                    while (option[0] == (byte)TcpOptionKind.Timestamps);
                    option[1] = (byte)length;
                    break;
            }
            if (option.Length > budget)
                continue;
            area.AddRange(option);
            budget -= option.Length;
        }
        int padding = (4 - area.Count % 4) % 4;
        bool endOfList = padding > 0 && random.Bool();
        for (int i = 0; i < padding; i++)
            area.Add(endOfList ? (byte)0 : (byte)TcpOptionKind.NoOperation);
        return ([.. area], endOfList ? "random, end-of-list padding" : "random, no-operation padding");
    }
}
