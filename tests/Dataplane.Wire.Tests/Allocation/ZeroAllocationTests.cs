using System.Runtime.CompilerServices;
using Dataplane.Tests;

namespace Dataplane.Wire.Tests.Allocation;

/// <summary>
/// The packet path must not allocate: parsing a frame layer by layer (TryCreate, every field,
/// Repr.TryParse, option walks, checksum verification) and emitting it again (Repr.Emit, options,
/// Fill*Checksum) over caller-owned buffers creates no garbage. Measured with
/// <see cref="GC.GetAllocatedBytesForCurrentThread"/> over a million packets of a realistic mix, the
/// least of three such windows (<see cref="Allocations.Least"/>).
/// </summary>
[Collection(CpuHeavyCollection.Name)] // four million packets parsed and emitted
public class ZeroAllocationTests
{
    private const int MeasuredPackets = 1_000_000;
    private const int WarmUpRounds = 40;
    private const int WarmUpPacketsPerRound = 5_000;

    [Fact]
    public void Parsing_and_emitting_a_million_packets_of_a_realistic_mix_allocates_no_bytes()
    {
        PacketMix mix = PacketMix.Build();
        byte[] scratch = new byte[2048];

        // Warm up first: the JIT compiles every method on the path here, and tiered compilation
        // counts enough calls (more than its 30, of Run itself too) to recompile them, so that the
        // runtime's own allocations are not counted below.
        for (int round = 0; round < WarmUpRounds; round++)
            Assert.Equal(0, Run(mix, scratch, WarmUpPacketsPerRound).Failures);

        // No asserts inside a window: they may allocate. What each window did is checked after.
        var measured = new List<Result>(4);
        long allocated = Allocations.Least(3, () => measured.Add(Run(mix, scratch, MeasuredPackets)));

        Assert.Equal(4, measured.Count); // the helper's warm-up and three windows
        Assert.All(measured, m =>
        {
            Assert.Equal(0, m.Failures);
            Assert.Equal(MeasuredPackets, m.Packets);
            Assert.NotEqual(0UL, m.Sink); // the fields were read, not optimised away
        });
        Assert.Equal(0, allocated);
    }

    /// <summary>What a run did: packets handled, checks that failed, and a fold of every field read.</summary>
    private readonly record struct Result(int Packets, int Failures, ulong Sink);

    private static Result Run(PacketMix mix, byte[] scratch, int packets)
    {
        int failures = 0;
        ulong sink = 0;
        for (int i = 0; i < packets; i++)
        {
            byte[] frame = mix.Frames[i % mix.Frames.Length];
            bool ok = (i % mix.Frames.Length) switch
            {
                0 => TcpOverIpv4(frame, scratch, ref sink),
                1 => UdpOverIpv6(frame, scratch, ref sink),
                2 => IcmpEcho(frame, scratch, ref sink),
                _ => Arp(frame, scratch, ref sink),
            };
            failures += ok ? 0 : 1;
        }
        return new Result(packets, failures, sink);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Mix(ref ulong sink, ulong value) => sink = (sink ^ value) * 0x100000001B3UL;

    private static void Mix(ref ulong sink, MacAddress address) => Mix(ref sink, address.ToUInt64());

    private static void Mix(ref ulong sink, Ipv4Address address) => Mix(ref sink, address.ToUInt32());

    private static void Mix(ref ulong sink, in Ipv6Address address) => Mix(ref sink, (ulong)address.GetHashCode());

    /// <summary>Reads the Ethernet header; returns its payload and the header's value.</summary>
    private static bool Ethernet(Span<byte> frame, ref ulong sink, out EthernetFrame.Repr repr, out Span<byte> payload)
    {
        payload = default;
        if (!EthernetFrame.TryCreate(frame, out EthernetFrame view) || !EthernetFrame.Repr.TryParse(frame, out repr))
        {
            repr = default;
            return false;
        }
        Mix(ref sink, view.Destination);
        Mix(ref sink, view.Source);
        Mix(ref sink, (ulong)view.EtherType);
        payload = view.Payload;
        return true;
    }

    private static bool Ipv4(Span<byte> bytes, ref ulong sink, out Ipv4Packet view, out Ipv4Packet.Repr repr)
    {
        if (!Ipv4Packet.TryCreate(bytes, out view) || !Ipv4Packet.Repr.TryParse(bytes, out repr) || !view.VerifyHeaderChecksum())
        {
            repr = default;
            return false;
        }
        Mix(ref sink, view.Version);
        Mix(ref sink, view.Ihl);
        Mix(ref sink, view.Dscp);
        Mix(ref sink, view.Ecn);
        Mix(ref sink, view.TotalLength);
        Mix(ref sink, view.Identification);
        Mix(ref sink, (ulong)view.Flags);
        Mix(ref sink, view.FragmentOffset);
        Mix(ref sink, view.TimeToLive);
        Mix(ref sink, (ulong)view.Protocol);
        Mix(ref sink, view.HeaderChecksum);
        Mix(ref sink, view.Source);
        Mix(ref sink, view.Destination);
        WireOptionEnumerator options = view.EnumerateOptions();
        while (options.MoveNext())
            Mix(ref sink, options.Current.Type);
        return !options.IsMalformed;
    }

    private static bool TcpOverIpv4(Span<byte> frame, Span<byte> scratch, ref ulong sink)
    {
        if (!Ethernet(frame, ref sink, out EthernetFrame.Repr ethernet, out Span<byte> ipBytes)
            || !Ipv4(ipBytes, ref sink, out Ipv4Packet ip, out Ipv4Packet.Repr ipRepr)
            || !TcpSegment.TryCreate(ip.Payload, out TcpSegment tcp)
            || !TcpSegment.Repr.TryParse(ip.Payload, out TcpSegment.Repr tcpRepr)
            || !tcp.VerifyChecksum(ip.Source, ip.Destination))
            return false;
        Mix(ref sink, tcp.SourcePort);
        Mix(ref sink, tcp.DestinationPort);
        Mix(ref sink, tcp.SequenceNumber);
        Mix(ref sink, tcp.AcknowledgmentNumber);
        Mix(ref sink, tcp.DataOffset);
        Mix(ref sink, tcp.Reserved);
        Mix(ref sink, (ulong)tcp.Flags);
        Mix(ref sink, tcp.Window);
        Mix(ref sink, tcp.Checksum);
        Mix(ref sink, tcp.UrgentPointer);
        WireOptionEnumerator walk = tcp.EnumerateOptions();
        while (walk.MoveNext())
        {
            WireOption option = walk.Current;
            Mix(ref sink, option.Type);
            if (option.Type == (byte)TcpOptionKind.Timestamps && TcpTimestampsOption.TryCreate(option.Raw, out TcpTimestampsOption timestamps))
                Mix(ref sink, timestamps.Value ^ timestamps.EchoReply);
            else if (option.Type == (byte)TcpOptionKind.MaximumSegmentSize && TcpMssOption.TryCreate(option.Raw, out TcpMssOption mss))
                Mix(ref sink, mss.MaximumSegmentSize);
        }
        if (walk.IsMalformed || !TcpOptions.TryParse(tcp, out TcpOptions options))
            return false;
        Mix(ref sink, (ulong)options.Length);

        // Emit the same frame again: options and payload first, then the headers, then the checksums.
        Span<byte> outIp = scratch[EthernetFrame.FixedLength..];
        Span<byte> outTcp = outIp[ip.HeaderLength..];
        ip.Options.CopyTo(outIp[Ipv4Packet.FixedLength..]);
        int optionsLength = options.Emit(outTcp[TcpSegment.FixedLength..]);
        tcp.Payload.CopyTo(outTcp[(TcpSegment.FixedLength + optionsLength)..]);
        ethernet.Emit(scratch);
        ipRepr.Emit(outIp);
        tcpRepr.Emit(outTcp);
        if (!TcpSegment.TryCreate(outTcp[..tcp.PacketLength], out TcpSegment emitted))
            return false;
        emitted.FillChecksum(ipRepr.Source, ipRepr.Destination);
        return scratch[..frame.Length].SequenceEqual(frame);
    }

    private static bool UdpOverIpv6(Span<byte> frame, Span<byte> scratch, ref ulong sink)
    {
        if (!Ethernet(frame, ref sink, out EthernetFrame.Repr ethernet, out Span<byte> ipBytes)
            || !Ipv6Packet.TryCreate(ipBytes, out Ipv6Packet ip)
            || !Ipv6Packet.Repr.TryParse(ipBytes, out Ipv6Packet.Repr ipRepr))
            return false;
        Ipv6Address source = ip.Source, destination = ip.Destination;
        Mix(ref sink, ip.Version);
        Mix(ref sink, ip.TrafficClass);
        Mix(ref sink, ip.FlowLabel);
        Mix(ref sink, ip.PayloadLength);
        Mix(ref sink, (ulong)ip.NextHeader);
        Mix(ref sink, ip.HopLimit);
        Mix(ref sink, source);
        Mix(ref sink, destination);
        if (!UdpDatagram.TryCreate(ip.Payload, out UdpDatagram udp)
            || !UdpDatagram.Repr.TryParse(ip.Payload, out UdpDatagram.Repr udpRepr)
            || !udp.VerifyChecksum(source, destination))
            return false;
        Mix(ref sink, udp.SourcePort);
        Mix(ref sink, udp.DestinationPort);
        Mix(ref sink, udp.Length);
        Mix(ref sink, udp.Checksum);

        Span<byte> outIp = scratch[EthernetFrame.FixedLength..];
        Span<byte> outUdp = outIp[Ipv6Packet.FixedLength..];
        udp.Payload.CopyTo(outUdp[UdpDatagram.FixedLength..]);
        ethernet.Emit(scratch);
        ipRepr.Emit(outIp);
        udpRepr.Emit(outUdp);
        if (!UdpDatagram.TryCreate(outUdp[..udp.PacketLength], out UdpDatagram emitted))
            return false;
        emitted.FillChecksum(ipRepr.Source, ipRepr.Destination);
        return scratch[..frame.Length].SequenceEqual(frame);
    }

    private static bool IcmpEcho(Span<byte> frame, Span<byte> scratch, ref ulong sink)
    {
        if (!Ethernet(frame, ref sink, out EthernetFrame.Repr ethernet, out Span<byte> ipBytes)
            || !Ipv4(ipBytes, ref sink, out Ipv4Packet ip, out Ipv4Packet.Repr ipRepr)
            || !Icmpv4Echo.TryCreate(ip.Payload, out Icmpv4Echo echo)
            || !Icmpv4Echo.Repr.TryParse(ip.Payload, out Icmpv4Echo.Repr echoRepr)
            || !echo.VerifyChecksum())
            return false;
        Mix(ref sink, (ulong)echo.Type);
        Mix(ref sink, echo.Code);
        Mix(ref sink, echo.Checksum);
        Mix(ref sink, echo.Identifier);
        Mix(ref sink, echo.SequenceNumber);

        Span<byte> outIp = scratch[EthernetFrame.FixedLength..];
        Span<byte> outIcmp = outIp[ip.HeaderLength..];
        ip.Options.CopyTo(outIp[Ipv4Packet.FixedLength..]);
        echo.Payload.CopyTo(outIcmp[Icmpv4Echo.FixedLength..]);
        ethernet.Emit(scratch);
        ipRepr.Emit(outIp);
        echoRepr.Emit(outIcmp);
        if (!Icmpv4Echo.TryCreate(outIcmp[..echo.PacketLength], out Icmpv4Echo emitted))
            return false;
        emitted.FillChecksum();
        return scratch[..frame.Length].SequenceEqual(frame);
    }

    private static bool Arp(Span<byte> frame, Span<byte> scratch, ref ulong sink)
    {
        if (!Ethernet(frame, ref sink, out EthernetFrame.Repr ethernet, out Span<byte> arpBytes)
            || !ArpPacket.TryCreate(arpBytes, out ArpPacket arp)
            || !ArpPacket.Repr.TryParse(arpBytes, out ArpPacket.Repr arpRepr))
            return false;
        Mix(ref sink, arp.HardwareType);
        Mix(ref sink, (ulong)arp.ProtocolType);
        Mix(ref sink, arp.HardwareLength);
        Mix(ref sink, arp.ProtocolLength);
        Mix(ref sink, (ulong)arp.Operation);
        Mix(ref sink, arp.SenderHardwareAddress);
        Mix(ref sink, arp.SenderProtocolAddress);
        Mix(ref sink, arp.TargetHardwareAddress);
        Mix(ref sink, arp.TargetProtocolAddress);

        scratch[..frame.Length].Clear(); // the Ethernet padding
        ethernet.Emit(scratch);
        arpRepr.Emit(scratch[EthernetFrame.FixedLength..]);
        return scratch[..frame.Length].SequenceEqual(frame);
    }

    /// <summary>The frames the loop cycles through, built once with our emitters.</summary>
    private sealed class PacketMix
    {
        public required byte[][] Frames { get; init; }

        public static PacketMix Build() => new() { Frames = [TcpFrame(), UdpFrame(), IcmpFrame(), ArpFrame()] };

        private static readonly MacAddress A = new(0x02, 0x00, 0x00, 0x00, 0x00, 0x01);
        private static readonly MacAddress B = new(0x02, 0x00, 0x00, 0x00, 0x00, 0x02);
        private static readonly Ipv4Address A4 = new(10, 0, 0, 1);
        private static readonly Ipv4Address B4 = new(10, 0, 0, 2);
        private static readonly Random Payload = new(0x0A11);

        private static Ipv6Address V6(byte last)
        {
            Span<byte> b = stackalloc byte[16];
            b[0] = 0xFD;
            b[15] = last;
            return new Ipv6Address(b);
        }

        // A data segment of an established connection: timestamps and a SACK block, 1000 bytes.
        private static byte[] TcpFrame()
        {
            var options = new TcpOptions { Timestamps = (0x01020304, 0x05060708) };
            options.AddSackBlock(new TcpSackBlock(1000, 2000));
            int payload = 1000, tcpLength = TcpSegment.FixedLength + options.Length + payload;
            byte[] frame = new byte[EthernetFrame.FixedLength + Ipv4Packet.FixedLength + tcpLength];
            new EthernetFrame.Repr { Destination = B, Source = A, EtherType = EtherType.Ipv4 }.Emit(frame);
            Span<byte> ip = frame.AsSpan(EthernetFrame.FixedLength);
            new Ipv4Packet.Repr
            {
                Version = 4, Ihl = 5, TotalLength = (ushort)(Ipv4Packet.FixedLength + tcpLength), Identification = 7,
                Flags = Ipv4Flags.DontFragment, TimeToLive = 64, Protocol = IpProtocol.Tcp, Source = A4, Destination = B4,
            }.Emit(ip);
            Span<byte> tcp = ip[Ipv4Packet.FixedLength..];
            new TcpSegment.Repr
            {
                SourcePort = 40000, DestinationPort = 5201, SequenceNumber = 123456, AcknowledgmentNumber = 654321,
                DataOffset = (byte)((TcpSegment.FixedLength + options.Length) / 4), Flags = TcpFlags.Ack | TcpFlags.Psh, Window = 502,
            }.Emit(tcp);
            options.Emit(tcp[TcpSegment.FixedLength..]);
            Payload.NextBytes(tcp[(TcpSegment.FixedLength + options.Length)..]);
            Assert.True(TcpSegment.TryCreate(tcp, out TcpSegment segment));
            segment.FillChecksum(A4, B4);
            return frame;
        }

        private static byte[] UdpFrame()
        {
            int payload = 512, udpLength = UdpDatagram.FixedLength + payload;
            byte[] frame = new byte[EthernetFrame.FixedLength + Ipv6Packet.FixedLength + udpLength];
            new EthernetFrame.Repr { Destination = B, Source = A, EtherType = EtherType.Ipv6 }.Emit(frame);
            Span<byte> ip = frame.AsSpan(EthernetFrame.FixedLength);
            Ipv6Address source = V6(1), destination = V6(2);
            new Ipv6Packet.Repr
            {
                Version = 6, FlowLabel = 0x12345, PayloadLength = (ushort)udpLength, NextHeader = IpProtocol.Udp,
                HopLimit = 64, Source = source, Destination = destination,
            }.Emit(ip);
            Span<byte> udp = ip[Ipv6Packet.FixedLength..];
            new UdpDatagram.Repr { SourcePort = 50000, DestinationPort = 5202, Length = (ushort)udpLength }.Emit(udp);
            Payload.NextBytes(udp[UdpDatagram.FixedLength..]);
            Assert.True(UdpDatagram.TryCreate(udp, out UdpDatagram datagram));
            datagram.FillChecksum(source, destination);
            return frame;
        }

        private static byte[] IcmpFrame()
        {
            int icmpLength = Icmpv4Echo.FixedLength + 56;
            byte[] frame = new byte[EthernetFrame.FixedLength + Ipv4Packet.FixedLength + icmpLength];
            new EthernetFrame.Repr { Destination = B, Source = A, EtherType = EtherType.Ipv4 }.Emit(frame);
            Span<byte> ip = frame.AsSpan(EthernetFrame.FixedLength);
            new Ipv4Packet.Repr
            {
                Version = 4, Ihl = 5, TotalLength = (ushort)(Ipv4Packet.FixedLength + icmpLength), Identification = 9,
                Flags = Ipv4Flags.DontFragment, TimeToLive = 64, Protocol = IpProtocol.Icmp, Source = A4, Destination = B4,
            }.Emit(ip);
            Span<byte> icmp = ip[Ipv4Packet.FixedLength..];
            new Icmpv4Echo.Repr { Type = Icmpv4Type.EchoRequest, Identifier = 0x77, SequenceNumber = 1 }.Emit(icmp);
            Payload.NextBytes(icmp[Icmpv4Echo.FixedLength..]);
            Assert.True(Icmpv4Echo.TryCreate(icmp, out Icmpv4Echo echo));
            echo.FillChecksum();
            return frame;
        }

        private static byte[] ArpFrame()
        {
            byte[] frame = new byte[60]; // padded to the Ethernet minimum
            new EthernetFrame.Repr { Destination = MacAddress.Broadcast, Source = A, EtherType = EtherType.Arp }.Emit(frame);
            new ArpPacket.Repr
            {
                HardwareType = 1, ProtocolType = EtherType.Ipv4, HardwareLength = 6, ProtocolLength = 4, Operation = ArpOperation.Request,
                SenderHardwareAddress = A, SenderProtocolAddress = A4, TargetProtocolAddress = B4,
            }.Emit(frame.AsSpan(EthernetFrame.FixedLength));
            return frame;
        }
    }
}
