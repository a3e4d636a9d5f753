using System.Globalization;
using System.Text.RegularExpressions;

namespace Dataplane.Tests.Stack.Lab;

/// <summary>
/// The first test of OpenBSD's matrix, <c>ping -f -c 10000</c>, from a Linux host to the dataplane
/// and through it to the other host, IPv4 and IPv6, over both host-backed drivers.
/// </summary>
[Collection(StackLab.Collection)]
[Trait("Category", "Linux")]
public class PingFloodLabTests
{
    private const int Count = 10_000;

    [SkippableTheory]
    [InlineData(LabDriver.Tap)]
    [InlineData(LabDriver.AfPacket)]
    public void Flood_pings_to_the_dataplane_and_through_it_lose_nothing_over_IPv4_and_IPv6(LabDriver driver)
    {
        using StackLab lab = StackLab.Start(driver);
        Dictionary<string, long> before = lab.Counters();
        string count = Count.ToString(CultureInfo.InvariantCulture);

        // The four floods at once: each waits for its reply before the next request (ping -f), so
        // they take the time of one.
        (string What, LabProcess Ping)[] floods =
        [
            ($"to {StackLab.DataplaneLeft}", lab.StartInLeft("ping", "-4", "-n", "-q", "-f", "-c", count, StackLab.DataplaneLeft)),
            ($"to {StackLab.DataplaneLeft6}", lab.StartInLeft("ping", "-6", "-n", "-q", "-f", "-c", count, StackLab.DataplaneLeft6)),
            ($"through to {StackLab.RightHost}", lab.StartInLeft("ping", "-4", "-n", "-q", "-f", "-c", count, StackLab.RightHost)),
            ($"through to {StackLab.RightHost6}", lab.StartInLeft("ping", "-6", "-n", "-q", "-f", "-c", count, StackLab.RightHost6)),
        ];

        var failures = new List<string>();
        foreach ((string what, LabProcess ping) in floods)
        {
            // A bound, not a measure: ping -f sends at least 100 a second, so 10,000 take 100 s
            // at most however slow the replies; a loaded machine gets the time it needs.
            int exit = ping.WaitForExit(TimeSpan.FromSeconds(300));
            Match summary = Regex.Match(ping.Output, @"(\d+) packets transmitted, (\d+) received(.*?), ([\d.]+)% packet loss");
            if (exit != 0 || !summary.Success || summary.Groups[1].Value != count || summary.Groups[2].Value != count || summary.Groups[3].Value != "")
                failures.Add($"ping -f {what}: exit {exit}: {summary.Value} {ping.Error}");
        }
        Dictionary<string, long> after = lab.Counters();
        Assert.True(failures.Count == 0, string.Join('\n', failures) + "\ncounters moved: " + StackLab.Moved(before, after));

        // The dataplane's side of it: nothing dropped, every request answered, every packet
        // through forwarded.
        Assert.Equal("", StackLab.DropsMoved(before, after));
        Assert.Equal(Count, after["icmp.echo_replies"] - before["icmp.echo_replies"]);
        Assert.Equal(Count, after["icmp6.echo_replies"] - before["icmp6.echo_replies"]);
        Assert.Equal(2 * Count, after["ip.forwarded"] - before["ip.forwarded"]);
        Assert.Equal(2 * Count, after["ip6.forwarded"] - before["ip6.forwarded"]);
        lab.AssertAlive();
    }
}
