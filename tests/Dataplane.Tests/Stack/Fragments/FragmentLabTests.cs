using Dataplane.Tests.Control;
using Dataplane.Tests.Drivers;

namespace Dataplane.Tests.Stack.Fragments;

/// <summary>
/// The dataplane as <c>dataplane run</c> starts it, on a tap moved into a network namespace, pinged
/// with 4000 bytes by Linux: the requests come in fragments, are reassembled, and the replies leave
/// in fragments the kernel puts back together. tshark, reading tcpdump's capture of what we sent,
/// is the judge of every fragment.
/// </summary>
[Trait("Category", "Linux")]
public class FragmentLabTests
{
    private const string Ours6 = "fdd7:e83e:66bd:66::2";
    private const string Peer6 = "fdd7:e83e:66bd:66::1";

    [SkippableFact]
    public void A_linux_ping_of_4000_bytes_is_reassembled_and_answered_in_fragments_over_ipv4_and_ipv6()
    {
        TapLab.RequireRoot();
        using var lab = new TapLab();
        string tap = TapLab.UniqueName('t');
        string config = $"port left driver tap ifname {tap} queues 1\ninet left 10.66.0.2/24\ninet6 left {Ours6}/64\nset cores 0\n";
        using var host = new RunningHost(lab.File("ctl.sock"), config);
        Assert.True(host.WaitServing(), host.Stderr.ToString());
        string ns = lab.Namespace();
        TapLab.Run("ip", "link", "set", tap, "netns", ns);
        TapLab.Run("ip", "-n", ns, "addr", "add", "10.66.0.1/24", "dev", tap);
        TapLab.Run("ip", "-n", ns, "addr", "add", $"{Peer6}/64", "dev", tap, "nodad");
        TapLab.Run("ip", "-n", ns, "link", "set", tap, "up");
        // Every fragment we send: ICMP over IPv4 (fragments keep the protocol), and IPv6 packets with a fragment header.
        const int Replies = 3 * 3 * 2;
        string pcap = lab.File("replies.pcap");
        LabProcess dump = lab.Capture(ns, tap, Replies, pcap, $"(ip src 10.66.0.2 and ip proto 1) or (ip6 src {Ours6} and ip6[6] == 44)");

        // -W 10: a reply that a loaded machine delays still counts (ping waits only that long for it).
        string v4 = TapLab.RunIn(ns, "ping", "-c", "3", "-i", "0.3", "-W", "10", "-s", "4000", "10.66.0.2");
        string v6 = TapLab.RunIn(ns, "ping", "-6", "-c", "3", "-i", "0.3", "-W", "10", "-s", "4000", Ours6);

        Assert.Contains("3 received", v4);
        Assert.Contains("3 received", v6);
        Assert.Equal(0, dump.WaitForExit(TimeSpan.FromSeconds(60))); // it exits at its 18th frame
        // tshark reassembles what we sent: three echo replies of each family, 4008 bytes of ICMP each
        // (4000 of data), every IPv4 header checksum good, nothing malformed.
        string[] replies = TapLab.Run("tshark", ["-r", pcap, "-n", "-o", "ip.check_checksum:TRUE",
                "-Y", "icmp.type == 0 or icmpv6.type == 129", "-T", "fields", "-e", "ip.reassembled.length", "-e", "ipv6.reassembled.length"])
            .Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["4008\t", "4008\t", "4008\t", "\t4008", "\t4008", "\t4008"], replies);
        string[] problems = TapLab.Run("tshark", ["-r", pcap, "-n", "-o", "ip.check_checksum:TRUE",
                "-Y", "_ws.malformed or _ws.expert.severity >= 0x00600000 or ip.checksum.status == 0 or icmp.checksum.status == 0 or icmpv6.checksum.status == 0"])
            .Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Empty(problems);
        string[] sizes = TapLab.Run("tshark", ["-r", pcap, "-n", "-T", "fields", "-e", "frame.len"])
            .Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.All(sizes, s => Assert.True(int.Parse(s, System.Globalization.CultureInfo.InvariantCulture) <= 1514, $"a {s}-byte frame on a 1500-byte link"));

        Assert.Equal(0, host.Stop());
        string output = host.Stdout.ToString();
        Assert.Contains("ip: 3 packets reassembled", output);
        Assert.Contains("ip: 3 output datagrams fragmented", output);
        Assert.Contains("ip: 9 fragments created", output);
        Assert.Contains("ip6: 3 packets reassembled", output);
        Assert.Contains("ip6: 3 output datagrams fragmented", output);
        Assert.Contains("ip6: 9 fragments created", output);
    }
}
