using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace Dataplane.Tests.Stack.Lab;

/// <summary>
/// What Linux's path tools see of the dataplane as a router: traceroute names it at hop 1 (its
/// time exceeded comes from the address of the interface the probe came in on), and tracepath
/// learns a smaller MTU behind it from its fragmentation needed (IPv4) or packet too big (IPv6).
/// </summary>
[Collection(StackLab.Collection)]
[Trait("Category", "Linux")]
public class PathLabTests(ITestOutputHelper output)
{
    [SkippableTheory]
    [InlineData(LabDriver.Tap, LabFamily.Ipv4)]
    [InlineData(LabDriver.Tap, LabFamily.Ipv6)]
    [InlineData(LabDriver.AfPacket, LabFamily.Ipv4)]
    [InlineData(LabDriver.AfPacket, LabFamily.Ipv6)]
    [InlineData(LabDriver.AfXdp, LabFamily.Ipv4)]
    [InlineData(LabDriver.AfXdp, LabFamily.Ipv6)]
    public void Traceroute_shows_the_dataplane_at_hop_1_and_the_right_host_at_hop_2(LabDriver driver, LabFamily family)
    {
        using StackLab lab = StackLab.Start(driver);
        string hop1 = StackLab.Address(family, StackLab.DataplaneLeft, StackLab.DataplaneLeft6);
        string hop2 = StackLab.Address(family, StackLab.RightHost, StackLab.RightHost6);

        // ICMP echo probes (-I): the right host answers every one with an echo reply, which Linux
        // does not rate-limit as it does the port unreachable of UDP probes. One probe a hop,
        // traceroute's 5 s for its answer (a loaded machine may keep it a second or more); a lost
        // answer is a failure of its own, so a second try is allowed.
        string trace = "";
        for (int attempt = 0; attempt < 2; attempt++)
        {
            trace = lab.InLeft("traceroute", family == LabFamily.Ipv4 ? "-4" : "-6", "-n", "-I", "-q", "1", "-w", "5", "-m", "5", hop2);
            output.WriteLine(trace);
            if (Hop(trace, 1) == hop1 && Hop(trace, 2) == hop2)
                break;
        }
        Assert.Equal(hop1, Hop(trace, 1));
        Assert.Equal(hop2, Hop(trace, 2));
        Assert.Null(Hop(trace, 3)); // reached at 2: no further hops
        lab.AssertAlive();
    }

    [SkippableTheory]
    [InlineData(LabDriver.Tap, LabFamily.Ipv4)]
    [InlineData(LabDriver.Tap, LabFamily.Ipv6)]
    [InlineData(LabDriver.AfPacket, LabFamily.Ipv4)]
    [InlineData(LabDriver.AfPacket, LabFamily.Ipv6)]
    [InlineData(LabDriver.AfXdp, LabFamily.Ipv4)]
    [InlineData(LabDriver.AfXdp, LabFamily.Ipv6)]
    public void Tracepath_across_a_1400_byte_mtu_behind_the_dataplane_discovers_pmtu_1400(LabDriver driver, LabFamily family)
    {
        using StackLab lab = StackLab.Start(driver, "mtu right 1400");
        Dictionary<string, long> before = lab.Counters();
        string target = StackLab.Address(family, StackLab.RightHost, StackLab.RightHost6);
        Assert.Contains("mtu 1500", LinuxLab.Run("ip", "-n", lab.Left, "link", "show", lab.LeftLink), StringComparison.Ordinal);

        string trace = lab.InLeft("tracepath", family == LabFamily.Ipv4 ? "-4" : "-6", "-n", target);

        output.WriteLine(trace);
        Dictionary<string, long> after = lab.Counters();
        // The left host starts at its link's 1500; the probe of hop 2 is too big for the
        // dataplane's next link, and the dataplane (hop 1) says so with the MTU of that link.
        Assert.Matches(@"(?m)^\s*1\?: \[LOCALHOST\]\s+(\S+ms )?pmtu 1500\s*$", trace);
        string hop1 = Regex.Escape(StackLab.Address(family, StackLab.DataplaneLeft, StackLab.DataplaneLeft6));
        Assert.Matches($@"(?m)^\s*1:\s+{hop1}\s+\S+ms\s*$", trace);
        Assert.Matches($@"(?m)^\s*2:\s+{hop1}\s+\S+ms pmtu 1400\s*$", trace);
        Assert.Matches($@"(?m)^\s*2:\s+{Regex.Escape(target)}\s+\S+ms reached\s*$", trace);
        Assert.Matches(@"(?m)^\s*Resume: pmtu 1400 hops 2 back 2\s*$", trace);
        // ... and it is the dataplane's doing: its too-big counter moved.
        string tooBig = family == LabFamily.Ipv4 ? "ip.cant_fragment" : "ip6.too_big";
        Assert.True(after[tooBig] > before[tooBig], $"{tooBig} did not move: {StackLab.Moved(before, after)}");
        lab.AssertAlive();
    }

    /// <summary>The address traceroute printed for hop <paramref name="hop"/>, "*" for no answer, or null when there is no such line.</summary>
    private static string? Hop(string trace, int hop)
    {
        Match line = Regex.Match(trace, $@"(?m)^\s*{hop}\s+(\S+)");
        return line.Success ? line.Groups[1].Value : null;
    }
}
