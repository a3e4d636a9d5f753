using System.Buffers.Binary;
using System.Collections.Immutable;
using Dataplane.Stack;
using Dataplane.Wire;

namespace Dataplane.Tests.Simulation;

/// <summary>
/// What a node must do with a frame whose byte <c>CorruptAt</c> a link flipped, where the answer
/// does not depend on chance or on state: read from the frame as it was sent. Elsewhere the
/// answer is "it depends" (a flipped MAC address is another host's frame, a flipped IPv6 address
/// is another destination, a flipped fragment is found out only after reassembly, ARP carries no
/// checksum at all), and the end-to-end checks of the scenarios judge it instead.
/// </summary>
internal static class CorruptionCheck
{
    private const int Ethernet = 14;

    // An IPv4 header with any byte flipped fails one of its checks (the header checksum covers every
    // byte, and a one-byte change always changes a ones' complement sum).
    private static readonly ImmutableArray<(CounterGroup, int)> Ipv4Header =
    [
        (CounterGroup.Ip, (int)IpCounter.TooShort), (CounterGroup.Ip, (int)IpCounter.BadVersion),
        (CounterGroup.Ip, (int)IpCounter.BadHeaderLength), (CounterGroup.Ip, (int)IpCounter.BadLength),
        (CounterGroup.Ip, (int)IpCounter.BadChecksum),
    ];

    private static readonly ImmutableArray<(CounterGroup, int)> Udp =
    [
        (CounterGroup.Udp, (int)UdpCounter.BadLength), (CounterGroup.Udp, (int)UdpCounter.BadChecksum),
        (CounterGroup.Udp, (int)UdpCounter.ZeroChecksum6),
    ];

    private static readonly ImmutableArray<(CounterGroup, int)> Tcp =
        [(CounterGroup.Tcp, (int)TcpCounter.BadHeaderLength), (CounterGroup.Tcp, (int)TcpCounter.BadChecksum)];

    private static readonly ImmutableArray<(CounterGroup, int)> Icmp =
        [(CounterGroup.Icmp, (int)IcmpCounter.TooShort), (CounterGroup.Icmp, (int)IcmpCounter.BadChecksum)];

    private static readonly ImmutableArray<(CounterGroup, int)> Icmp6 =
        [(CounterGroup.Icmp6, (int)Icmp6Counter.TooShort), (CounterGroup.Icmp6, (int)Icmp6Counter.BadChecksum)];

    /// <summary>The counters of which exactly one must grow when the frame goes in; default when nothing is certain.</summary>
    public readonly record struct Expectation(ImmutableArray<(CounterGroup, int)> Counters, string Where, string What);

    /// <summary>
    /// Which IP datagram <paramref name="frame"/> carries, as a hash that forwarding and fragmenting
    /// keep: IPv4 source, destination, protocol and identification; IPv6 source, destination and
    /// fragment identification, or, unfragmented, the payload length and the first 8 bytes of the
    /// transport header (ports, length and checksum of UDP; type, checksum, identifier and sequence
    /// of an echo). 0 for a frame that is no IP datagram (ARP).
    /// </summary>
    public static ulong DatagramOf(byte[] frame)
    {
        ushort type = frame.Length >= Ethernet ? BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(12)) : (ushort)0;
        Span<byte> key = stackalloc byte[48];
        key.Clear();
        if (type == (ushort)EtherType.Ipv4 && frame.Length >= Ethernet + 20)
        {
            ReadOnlySpan<byte> l3 = frame.AsSpan(Ethernet);
            key[0] = 4;
            l3.Slice(12, 8).CopyTo(key[1..]); // source and destination
            key[9] = l3[9];
            l3.Slice(4, 2).CopyTo(key[10..]);
            return SimTrace.HashOf(key[..12]);
        }
        if (type == (ushort)EtherType.Ipv6 && frame.Length >= Ethernet + 48)
        {
            ReadOnlySpan<byte> l3 = frame.AsSpan(Ethernet);
            key[0] = 6;
            l3.Slice(8, 32).CopyTo(key[1..]);
            if (l3[6] == 44)
            {
                l3.Slice(44, 4).CopyTo(key[33..]);
                return SimTrace.HashOf(key[..37]);
            }
            l3.Slice(4, 3).CopyTo(key[33..]); // payload length and next header (not the hop limit, which the router changes)
            l3.Slice(40, 8).CopyTo(key[36..]);
            return SimTrace.HashOf(key[..44]);
        }
        return 0;
    }

    /// <summary>What <paramref name="node"/> must do with <paramref name="corrupted"/>, received on <paramref name="port"/>.</summary>
    public static Expectation Expect(SimulatedNode node, int port, byte[] original, byte[] corrupted, int at)
    {
        // Only a frame addressed to this port's MAC reaches IP for sure; the EtherType is intact
        // when the flipped byte lies behind it.
        if (at < Ethernet || original.Length < Ethernet + 20 || new MacAddress(original) != node.Mac(port))
            return default;
        ushort type = BinaryPrimitives.ReadUInt16BigEndian(original.AsSpan(12));
        ReadOnlySpan<byte> l3 = original.AsSpan(Ethernet);
        if (type == (ushort)EtherType.Ipv4 && l3[0] >> 4 == 4)
        {
            int headerLength = (l3[0] & 0xF) * 4;
            int total = BinaryPrimitives.ReadUInt16BigEndian(l3[2..]);
            if (at < Ethernet + headerLength)
                return new Expectation(Ipv4Header, "IPv4 header", "a bad IPv4 header");
            bool fragment = (BinaryPrimitives.ReadUInt16BigEndian(l3[6..]) & 0x3FFF) != 0;
            if (fragment || at >= Ethernet + total || !node.Owns(new Ipv4Address(l3[16..])))
                return default;
            switch (l3[9])
            {
                case 17:
                    // RFC 768: a zero checksum is no checksum, and a flip can make one.
                    int field = Ethernet + headerLength + 6;
                    if (corrupted.Length >= field + 2 && BinaryPrimitives.ReadUInt16BigEndian(corrupted.AsSpan(field)) == 0)
                        return default;
                    return new Expectation(Udp, "UDP for this node", "a bad UDP datagram");
                case 1:
                    return new Expectation(Icmp, "ICMP for this node", "a bad ICMP message");
                case 6:
                    return new Expectation(Tcp, "TCP for this node", "a bad TCP segment");
                default:
                    return default;
            }
        }
        if (type == (ushort)EtherType.Ipv6 && l3.Length >= 40 && l3[0] >> 4 == 6)
        {
            // The IPv6 header has no checksum: only the transport behind it is certain to be checked.
            int end = Ethernet + 40 + BinaryPrimitives.ReadUInt16BigEndian(l3[4..]);
            if (at < Ethernet + 40 || at >= end || !node.Owns(new Ipv6Address(l3.Slice(24, 16))))
                return default;
            return l3[6] switch
            {
                17 => new Expectation(Udp, "UDP for this node", "a bad UDP datagram"),
                58 => new Expectation(Icmp6, "ICMPv6 for this node", "a bad ICMPv6 message"),
                6 => new Expectation(Tcp, "TCP for this node", "a bad TCP segment"),
                _ => default,
            };
        }
        return default;
    }
}
