using System.Text.RegularExpressions;
using Dataplane.Tests.Control;
using Dataplane.Tests.Drivers;

namespace Dataplane.Tests.Runtime;

/// <summary>
/// <c>dataplane run</c> with <c>app echo udp</c> on a two-queue tap, and socat in a network namespace
/// behind it as the peer: real Linux UDP, over IPv4 and IPv6, against our echo on both workers.
/// </summary>
public sealed class UdpEchoLabTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    [SkippableFact]
    public void Socat_in_a_namespace_gets_each_datagram_echoed_over_ipv4_and_ipv6()
    {
        TapLab.RequireRoot();
        using var lab = new TapLab();
        string tap = TapLab.UniqueName('t');
        using var host = new RunningHost(lab.File("dp.sock"),
            $"port t0 driver tap ifname {tap} queues 2\ninet t0 10.66.0.2/24\ninet6 t0 fd66::2/64\nset cores 0-1\n" +
            "app echo udp listen 0.0.0.0:7\napp echo udp listen [::]:7\n");
        Assert.True(host.WaitServing(), host.Stderr.ToString());
        // The host opened the tap here; the peer gets it in a namespace of its own, IPv6 on.
        string ns = lab.Namespace();
        TapLab.Run("ip", "link", "set", tap, "netns", ns);
        TapLab.Run("ip", "-n", ns, "addr", "add", "10.66.0.1/24", "dev", tap);
        TapLab.Run("ip", "-n", ns, "addr", "add", "fd66::1/64", "dev", tap, "nodad");
        TapLab.Run("ip", "-n", ns, "link", "set", tap, "up");

        // Several peers at once, each from its own port, so that both workers own some of them.
        var peers = new List<(string Text, LabProcess Socat)>();
        for (int i = 0; i < 6; i++)
        {
            string text = $"hello {i} over IPv4";
            peers.Add((text, lab.StartIn(ns, "sh", "-c", $"printf '{text}' | socat -t 3 - UDP4:10.66.0.2:7")));
            string text6 = $"hello {i} over IPv6";
            peers.Add((text6, lab.StartIn(ns, "sh", "-c", $"printf '{text6}' | socat -t 3 - UDP6:[fd66::2]:7")));
        }
        foreach ((string text, LabProcess socat) in peers)
        {
            Assert.True(socat.WaitForExit(Patience) == 0, $"{socat.CommandLine}: {socat.Error}");
            Assert.Equal(text, socat.Output.TrimEnd('\n'));
        }

        var (code, sockets, _) = RunningHost.Ctl("-s", host.Socket, "netstat", "-an");
        Assert.Equal(0, code);
        Assert.Matches(@"(?m)^udp +0 +0  \*\.7 +\*\.\* +all$", sockets);
        Assert.Matches(@"(?m)^udp6 +0 +0  \*\.7 +\*\.\* +all$", sockets);
        Assert.Equal(0, host.Stop());
        string counters = host.Stdout.ToString();
        Match delivered = Regex.Match(counters, @"udp: (\d+) datagrams delivered");
        Assert.True(delivered.Success, counters);
        Assert.Equal(12, int.Parse(delivered.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));
        Assert.DoesNotContain("bad checksums", counters);
    }
}
