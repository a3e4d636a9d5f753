namespace Dataplane.Wire.Tests.Captures;

/// <summary>The Linux capture itself: if these fail, differential tests over captures mean nothing.</summary>
[Trait("Category", "Linux")]
public class LinuxCapturesTests
{
    private const int EthernetHeaderLength = 14;

    [SkippableFact]
    public void Mixed_capture_holds_icmp_echo_icmpv6_echo_neighbour_discovery_tcp_and_udp()
    {
        LinuxCaptures capture = LinuxCaptures.RequireMixed();

        var seen = new HashSet<string>();
        foreach (PcapRecord record in capture.Frames)
        {
            Assert.False(record.IsTruncated, "tcpdump -s 0 keeps whole frames");
            foreach (string kind in Classify(record.Frame))
                seen.Add(kind);
        }

        Assert.True(capture.Frames.Count >= 100, $"{capture.Frames.Count} frames captured");
        string[] expected =
        [
            "icmp echo request", "icmp echo reply", "icmpv6 echo request", "icmpv6 echo reply",
            "neighbour solicitation", "neighbour advertisement", "tcp over ipv4", "tcp over ipv6", "udp over ipv4",
        ];
        // The commands and what tcpdump and iperf3 said (drops by the kernel, a failed transfer) with a kind missing.
        Assert.All(expected, kind => Assert.True(seen.Contains(kind), $"no {kind} in the capture; its log:\n{capture.Log}"));
    }

    /// <summary>What a frame is, read from its bytes by hand: this must not depend on the parsers under test.</summary>
    private static List<string> Classify(byte[] frame)
    {
        var kinds = new List<string>();
        if (frame.Length < EthernetHeaderLength)
            return kinds;
        int etherType = frame[12] << 8 | frame[13];
        ReadOnlySpan<byte> ip = frame.AsSpan(EthernetHeaderLength);
        if (etherType == 0x0800 && ip.Length >= 20)
        {
            int headerLength = (ip[0] & 0x0F) * 4;
            byte protocol = ip[9];
            if (protocol == 1 && ip.Length > headerLength)
            {
                if (ip[headerLength] == 8)
                    kinds.Add("icmp echo request");
                if (ip[headerLength] == 0)
                    kinds.Add("icmp echo reply");
            }
            if (protocol == 6)
                kinds.Add("tcp over ipv4");
            if (protocol == 17)
                kinds.Add("udp over ipv4");
        }
        else if (etherType == 0x86DD && ip.Length >= 40)
        {
            byte nextHeader = ip[6];
            if (nextHeader == 58 && ip.Length > 40)
            {
                string? kind = ip[40] switch
                {
                    128 => "icmpv6 echo request",
                    129 => "icmpv6 echo reply",
                    135 => "neighbour solicitation",
                    136 => "neighbour advertisement",
                    _ => null,
                };
                if (kind is not null)
                    kinds.Add(kind);
            }
            if (nextHeader == 6)
                kinds.Add("tcp over ipv6");
        }
        return kinds;
    }
}
