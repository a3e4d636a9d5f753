using System.Text.Json;
using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace Dataplane.Tests.Stack.Lab;

/// <summary>
/// IP fragments through and to the dataplane, over both drivers: datagrams larger than the link
/// are forwarded fragment by fragment (the dataplane does not reassemble what it routes), and
/// overlapping fragments to it discard their datagram, counted, while the next one reassembles.
/// (Stack/Fragments/FragmentLabTests has Linux's pings of 4000 bytes to it over a tap.)
/// </summary>
[Collection(StackLab.Collection)]
[Trait("Category", "Linux")]
public class IpFragmentLabTests(ITestOutputHelper output)
{
    [SkippableTheory]
    [InlineData(LabDriver.Tap, LabFamily.Ipv4)]
    [InlineData(LabDriver.Tap, LabFamily.Ipv6)]
    [InlineData(LabDriver.AfPacket, LabFamily.Ipv4)]
    [InlineData(LabDriver.AfPacket, LabFamily.Ipv6)]
    [InlineData(LabDriver.AfXdp, LabFamily.Ipv4)]
    [InlineData(LabDriver.AfXdp, LabFamily.Ipv6)]
    public void Pings_larger_than_the_link_are_forwarded_fragment_by_fragment_both_ways(LabDriver driver, LabFamily family)
    {
        using StackLab lab = StackLab.Start(driver);
        Dictionary<string, long> before = lab.Counters();
        string target = StackLab.Address(family, StackLab.RightHost, StackLab.RightHost6);

        // 3000 bytes of data: three fragments each way at MTU 1500, for both families.
        (int exit, string said) = lab.TryInLeft("ping", family == LabFamily.Ipv4 ? "-4" : "-6", "-n", "-c", "3", "-i", "0.2", "-W", "2", "-s", "3000", target);

        output.WriteLine(said);
        Dictionary<string, long> after = lab.Counters();
        string moved = StackLab.Moved(before, after);
        Assert.True(exit == 0 && said.Contains("3 packets transmitted, 3 received", StringComparison.Ordinal), $"ping -s 3000 {target}: exit {exit}: {said}; counters moved: {moved}");
        Assert.Equal("", StackLab.DropsMoved(before, after));
        string forwarded = family == LabFamily.Ipv4 ? "ip.forwarded" : "ip6.forwarded";
        Assert.True(after[forwarded] - before[forwarded] == 3 * 3 * 2, $"{forwarded}: 18 fragments expected (3 pings, 3 fragments, 2 ways); counters moved: {moved}");
        lab.AssertAlive();
    }

    [SkippableTheory]
    [InlineData(LabDriver.Tap, LabFamily.Ipv4)]
    [InlineData(LabDriver.Tap, LabFamily.Ipv6)]
    [InlineData(LabDriver.AfPacket, LabFamily.Ipv4)]
    [InlineData(LabDriver.AfPacket, LabFamily.Ipv6)]
    [InlineData(LabDriver.AfXdp, LabFamily.Ipv4)]
    [InlineData(LabDriver.AfXdp, LabFamily.Ipv6)]
    public void Overlapping_fragments_are_dropped_whole_and_counted_and_the_same_datagram_then_reassembles(LabDriver driver, LabFamily family)
    {
        StackLab.RequireScapy();
        using StackLab lab = StackLab.Start(driver);
        string names = JsonSerializer.Serialize(new Dictionary<string, string>
        {
            ["DPMAC"] = lab.Mac("left"),
            ["L4"] = StackLab.LeftHost,
            ["DP4"] = StackLab.DataplaneLeft,
            ["L6"] = StackLab.LeftHost6,
            ["DP6"] = StackLab.DataplaneLeft6,
        });
        // The first fragment of an echo request with 64 data bytes (bytes 0-39 of the ICMP message
        // for IPv4, 0-47 for IPv6), then a last fragment from byte 32: inside the first. RFC 5722
        // drops the whole datagram for IPv6, and OpenBSD and Linux do so for IPv4 too. Then the
        // same request again, fragmented properly, must reassemble and be answered.
        string frames = family == LabFamily.Ipv4
            ? """
              [Ether(dst=DPMAC)/f for f in fragment(IP(src=L4, dst=DP4, id=77)/ICMP(id=7, seq=1)/(b'x' * 64), fragsize=40)][:1]
              + [Ether(dst=DPMAC)/IP(src=L4, dst=DP4, id=77, frag=4, proto=1)/(b'y' * 40)]
              """
            : """
              [Ether(dst=DPMAC)/f for f in fragment6(IPv6(src=L6, dst=DP6)/IPv6ExtHdrFragment(id=77)/ICMPv6EchoRequest(id=7, seq=1, data=b'x' * 64), 100)][:1]
              + [Ether(dst=DPMAC)/IPv6(src=L6, dst=DP6)/IPv6ExtHdrFragment(id=77, offset=4, nh=58)/(b'y' * 40)]
              """;
        string whole = family == LabFamily.Ipv4
            ? "[Ether(dst=DPMAC)/f for f in fragment(IP(src=L4, dst=DP4, id=78)/ICMP(id=7, seq=2)/(b'x' * 64), fragsize=40)]"
            : "[Ether(dst=DPMAC)/f for f in fragment6(IPv6(src=L6, dst=DP6)/IPv6ExtHdrFragment(id=78)/ICMPv6EchoRequest(id=7, seq=2, data=b'x' * 64), 100)]";
        string group = family == LabFamily.Ipv4 ? "ip" : "ip6";
        string echo = family == LabFamily.Ipv4 ? "icmp.echo_replies" : "icmp6.echo_replies";
        Dictionary<string, long> before = lab.Counters();

        lab.InLeft(StackLab.Scapy, "-c", $$"""
            import json, sys
            from scapy.all import *
            names = dict(globals(), **json.loads(sys.argv[1]))  # one scope: comprehensions see the names too
            for expression in sys.argv[2:]:
                sendp(eval(expression, names), iface='{{lab.LeftLink}}', verbose=False)
            """, names, frames.ReplaceLineEndings(" "), whole);

        // Until all the frames cause is counted (a bound for a loaded machine); then every count
        // must be exactly that.
        var expected = new Dictionary<string, long>
        {
            [$"{group}.reassembly_overlapping"] = 1,
            [$"{group}.fragments_dropped"] = 2,
            [$"{group}.reassembled"] = 1,
            [echo] = 1,
        };
        LinuxLab.Until(() =>
        {
            Dictionary<string, long> now = lab.Counters();
            return expected.All(c => now[c.Key] - before[c.Key] >= c.Value);
        }, TimeSpan.FromSeconds(30));
        Dictionary<string, long> after = lab.Counters();
        string moved = StackLab.Moved(before, after);
        Assert.True(after[$"{group}.reassembly_overlapping"] - before[$"{group}.reassembly_overlapping"] == 1, $"one overlap expected: {moved}");
        Assert.True(after[$"{group}.fragments_dropped"] - before[$"{group}.fragments_dropped"] == 2, $"the overlapping pair was not dropped whole: {moved}");
        Assert.True(after[$"{group}.reassembled"] - before[$"{group}.reassembled"] == 1, $"the proper datagram did not reassemble: {moved}");
        Assert.True(after[echo] - before[echo] == 1, $"one echo reply (to the proper datagram) expected: {moved}");
        lab.AssertAlive();
    }
}
