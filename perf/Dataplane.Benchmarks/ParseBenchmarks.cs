using BenchmarkDotNet.Attributes;
using Dataplane.Wire;

namespace Dataplane.Benchmarks;

/// <summary>
/// Parsing a frame down to the transport header and reading the fields a forwarding or socket
/// lookup needs, with the transport checksum verified (what a port without checksum offload does).
/// </summary>
[MemoryDiagnoser]
public class ParseBenchmarks
{
    private byte[] _tcp4 = [];
    private byte[] _udp6 = [];

    /// <summary>Builds the frames.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _tcp4 = Packets.EthernetIpv4Tcp();
        _udp6 = Packets.EthernetIpv6Udp();
        // A benchmark of a parse that fails early measures nothing: refuse to run.
        if (EthernetIpv4Tcp() < 0 || EthernetIpv6Udp() < 0 || EthernetIpv4TcpRepr() < 0)
            throw new InvalidOperationException("a benchmark frame does not parse");
    }

    /// <summary>Ethernet + IPv4 (header checksum) + TCP (options walked, checksum verified).</summary>
    [Benchmark]
    public int EthernetIpv4Tcp()
    {
        if (!EthernetFrame.TryCreate(_tcp4, out EthernetFrame eth) || eth.EtherType != EtherType.Ipv4)
            return -1;
        if (!Ipv4Packet.TryCreate(eth.Payload, out Ipv4Packet ip) || ip.Version != 4 || !ip.VerifyHeaderChecksum() || ip.Protocol != IpProtocol.Tcp)
            return -2;
        if (!TcpSegment.TryCreate(ip.Payload, out TcpSegment tcp) || !tcp.VerifyChecksum(ip.Source, ip.Destination))
            return -3;
        int options = 0;
        foreach (WireOption option in tcp.EnumerateOptions())
            options += option.Type;
        return tcp.SourcePort + tcp.DestinationPort + (int)tcp.SequenceNumber + (int)tcp.Flags + ip.TimeToLive + options;
    }

    /// <summary>Ethernet + IPv6 + UDP (checksum verified).</summary>
    [Benchmark]
    public int EthernetIpv6Udp()
    {
        if (!EthernetFrame.TryCreate(_udp6, out EthernetFrame eth) || eth.EtherType != EtherType.Ipv6)
            return -1;
        if (!Ipv6Packet.TryCreate(eth.Payload, out Ipv6Packet ip) || ip.Version != 6 || ip.NextHeader != IpProtocol.Udp)
            return -2;
        Ipv6Address source = ip.Source, destination = ip.Destination;
        if (!UdpDatagram.TryCreate(ip.Payload, out UdpDatagram udp) || !udp.VerifyChecksum(source, destination))
            return -3;
        return udp.SourcePort + udp.DestinationPort + udp.Length + ip.HopLimit;
    }

    /// <summary>The same IPv4/TCP frame read into value representations (Repr.TryParse per layer).</summary>
    [Benchmark]
    public int EthernetIpv4TcpRepr()
    {
        if (!EthernetFrame.Repr.TryParse(_tcp4, out EthernetFrame.Repr eth))
            return -1;
        ReadOnlySpan<byte> ipBytes = _tcp4.AsSpan(EthernetFrame.FixedLength);
        if (!Ipv4Packet.Repr.TryParse(ipBytes, out Ipv4Packet.Repr ip))
            return -2;
        if (!TcpSegment.Repr.TryParse(ipBytes[(ip.Ihl * 4)..ip.TotalLength], out TcpSegment.Repr tcp))
            return -3;
        return (int)eth.EtherType + tcp.SourcePort + ip.TimeToLive;
    }
}
