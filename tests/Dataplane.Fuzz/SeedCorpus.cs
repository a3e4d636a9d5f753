using Dataplane.Wire;
using Dataplane.Wire.Tests.Captures;

namespace Dataplane.Fuzz;

/// <summary>
/// Turns a capture of real traffic into a seed corpus: each frame is cut at its layers, and each
/// layer becomes a seed of the target that starts parsing there (the whole frame for "frame" and
/// "link", the IPv4 packet for "ipv4", the TCP segment for "transport", ...).
/// </summary>
internal static class SeedCorpus
{
    public static int Write(string pcap, string root, int maxPerTarget)
    {
        var written = new Dictionary<string, HashSet<int>>();
        foreach (PcapRecord record in PcapReader.Open(pcap).Records())
        {
            foreach ((string target, byte[] bytes) in Layers(record.Frame))
            {
                HashSet<int> lengths = written.TryGetValue(target, out var l) ? l : written[target] = [];
                // One seed per distinct length and target: a spread of shapes, not a thousand
                // near-identical segments.
                if (lengths.Count == maxPerTarget || !lengths.Add(bytes.Length))
                    continue;
                string dir = Path.Combine(root, target);
                Directory.CreateDirectory(dir);
                File.WriteAllBytes(Path.Combine(dir, $"capture-{bytes.Length}"), bytes);
            }
        }
        foreach ((string target, HashSet<int> lengths) in written.OrderBy(w => w.Key, StringComparer.Ordinal))
            Console.WriteLine($"{target}: {lengths.Count} seeds");
        return 0;
    }

    private static List<(string Target, byte[] Bytes)> Layers(byte[] frame)
    {
        var layers = new List<(string, byte[])> { ("frame", frame), ("link", frame) };
        if (!EthernetFrame.TryCreate(frame, out EthernetFrame eth))
            return layers;
        Span<byte> payload = eth.Payload;
        switch (eth.EtherType)
        {
            case EtherType.Arp:
                layers.Add(("link", payload.ToArray()));
                break;
            case EtherType.Ipv4 when Ipv4Packet.TryCreate(payload, out Ipv4Packet ip):
                layers.Add(("ipv4", ip.Buffer[..ip.PacketLength].ToArray()));
                Upper(layers, ip.Protocol, ip.Payload);
                break;
            case EtherType.Ipv6 when Ipv6Packet.TryCreate(payload, out Ipv6Packet ip):
                layers.Add(("ipv6", ip.Buffer[..ip.PacketLength].ToArray()));
                IpProtocol next = ip.NextHeader;
                Span<byte> rest = ip.Payload;
                if (next == IpProtocol.HopByHop && Ipv6HopByHopHeader.TryCreate(rest, out Ipv6HopByHopHeader hbh))
                {
                    layers.Add(("ipv6", rest.ToArray()));
                    next = hbh.NextHeader;
                    rest = hbh.Payload;
                }
                Upper(layers, next, rest);
                break;
        }
        return layers;
    }

    private static void Upper(List<(string, byte[])> layers, IpProtocol protocol, Span<byte> payload)
    {
        string? target = protocol switch
        {
            IpProtocol.Icmp => "icmpv4",
            IpProtocol.Icmpv6 => "icmpv6",
            IpProtocol.Igmp => "multicast",
            IpProtocol.Tcp or IpProtocol.Udp => "transport",
            IpProtocol.Gre => "tunnel",
            _ => null,
        };
        if (target is null)
            return;
        layers.Add((target, payload.ToArray()));
        if (protocol == IpProtocol.Icmpv6 && payload.Length > 0 && payload[0] is 130 or 143)
            layers.Add(("multicast", payload.ToArray()));
        if (protocol == IpProtocol.Tcp && TcpSegment.TryCreate(payload, out TcpSegment tcp) && tcp.Options.Length > 0)
            layers.Add(("transport", tcp.Options.ToArray()));
    }
}
