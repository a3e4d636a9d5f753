using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace Dataplane.Tests.Stack.Lab;

/// <summary>
/// Bad input from a real link: frames crafted by scapy (an independent crafter) on the left host
/// and written onto the left link, over both drivers. Each kind must raise its named counter by
/// exactly the number sent, crash nothing, and leave the flows beside it alone: pings through the
/// dataplane, IPv4 and IPv6, run all the while and lose nothing.
/// </summary>
[Collection(StackLab.Collection)]
[Trait("Category", "Linux")]
public class BadInputLabTests(ITestOutputHelper output)
{
    /// <summary>Copies of each case sent (of each frame, for a case of several).</summary>
    private const int Copies = 5;

    /// <summary>
    /// Case, the counter of <c>ctl stats --json</c> (<c>netstat -s</c>) that must rise by exactly
    /// the number sent, and the frame as a scapy expression (DPMAC is the dataplane's left port,
    /// LMAC the left host's; L4/L6 the left host's addresses, DP4/DP6 the dataplane's).
    /// </summary>
    private static readonly (string Case, string Counter, string Scapy)[] Cases =
    [
        // case                                    counter                  frame (scapy)
        ("IPv4 version 5",                        "ip.bad_version",         "Ether(dst=DPMAC)/IP(version=5, src=L4, dst=DP4)/ICMP()"),
        ("IPv4 header length 16 bytes (IHL 4)",   "ip.bad_header_length",   "Ether(dst=DPMAC)/IP(ihl=4, src=L4, dst=DP4)/ICMP()"),
        ("IPv4 total length beyond the frame",    "ip.bad_length",          "Ether(dst=DPMAC)/IP(len=1000, src=L4, dst=DP4)/ICMP()"),
        ("IPv4 header checksum wrong",            "ip.bad_checksum",        "Ether(dst=DPMAC)/IP(chksum=0x0bad, src=L4, dst=DP4)/ICMP()"),
        ("IPv4 TTL 0 to us",                      "ip.zero_ttl",            "Ether(dst=DPMAC)/IP(ttl=0, src=L4, dst=DP4)/ICMP()"),
        ("IPv4 source 127.0.0.1 (loopback)",      "ip.martian_source",      "Ether(dst=DPMAC)/IP(src='127.0.0.1', dst=DP4)/ICMP()"),
        ("IPv4 source 224.1.1.1 (multicast)",     "ip.martian_source",      "Ether(dst=DPMAC)/IP(src='224.1.1.1', dst=DP4)/ICMP()"),
        ("ICMP checksum wrong",                   "icmp.bad_checksum",      "Ether(dst=DPMAC)/IP(src=L4, dst=DP4)/ICMP(chksum=0x0bad)"),
        ("ARP request for a foreign address",     "arp.foreign_target",     "Ether(dst='ff:ff:ff:ff:ff:ff', src=LMAC)/ARP(op=1, hwsrc=LMAC, psrc=L4, pdst='10.10.11.99')"),
        ("IPv6 payload length beyond the frame",  "ip6.bad_length",         "Ether(dst=DPMAC)/IPv6(plen=1000, src=L6, dst=DP6)/ICMPv6EchoRequest()"),
        ("ICMPv6 checksum wrong",                 "icmp6.bad_checksum",     "Ether(dst=DPMAC)/IPv6(src=L6, dst=DP6)/ICMPv6EchoRequest(cksum=0x0bad)"),
        ("ND solicitation with hop limit 64",     "icmp6.nd_bad_hop_limit", "Ether(dst=DPMAC)/IPv6(hlim=64, src=L6, dst=DP6)/ICMPv6ND_NS(tgt=DP6)/ICMPv6NDOptSrcLLAddr(lladdr=LMAC)"),
        // Fragments: a first piece and a last one from byte 32, inside it (the datagram is discarded,
        // and what comes for it after); 70 pieces of one datagram, past the 64 it may have.
        ("IPv4 fragments overlapping",            "ip.fragments_dropped",   "[Ether(dst=DPMAC)/IP(src=L4, dst=DP4, id=101, flags='MF', proto=1)/(b'a' * 40), Ether(dst=DPMAC)/IP(src=L4, dst=DP4, id=101, frag=4, proto=1)/(b'b' * 40)]"),
        ("IPv4 fragments, 70 of one datagram",    "ip.fragments_dropped",   "[Ether(dst=DPMAC)/IP(src=L4, dst=DP4, id=102, flags='MF', frag=i, proto=1)/(b'c' * 8) for i in range(70)]"),
        ("IPv6 fragments overlapping",            "ip6.fragments_dropped",  "[Ether(dst=DPMAC)/IPv6(src=L6, dst=DP6)/IPv6ExtHdrFragment(id=101, m=1, nh=58)/(b'a' * 48), Ether(dst=DPMAC)/IPv6(src=L6, dst=DP6)/IPv6ExtHdrFragment(id=101, offset=4, nh=58)/(b'b' * 40)]"),
        ("IPv6 fragments, 70 of one datagram",    "ip6.fragments_dropped",  "[Ether(dst=DPMAC)/IPv6(src=L6, dst=DP6)/IPv6ExtHdrFragment(id=102, m=1, offset=i, nh=58)/(b'c' * 8) for i in range(70)]"),
    ];

    /// <summary>
    /// The crafter: builds the frames of every case once with scapy (a case is one frame or a list)
    /// and says how many each has; then for each line "CASE COUNT" on its input writes the case's
    /// frames COUNT times through one packet socket on the link and answers "sent CASE.".
    /// </summary>
    private const string Crafter = """
        import json, socket, sys
        from scapy.all import *
        iface, expressions = sys.argv[1], json.loads(sys.argv[3])
        names = dict(globals(), **json.loads(sys.argv[2]))  # one scope: comprehensions see the names too
        cases = [eval(e, names) for e in expressions]
        cases = [[bytes(f) for f in (c if isinstance(c, list) else [c])] for c in cases]
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        s.bind((iface, 0))
        print('ready %s.' % json.dumps([len(c) for c in cases]), flush=True)
        for line in sys.stdin:
            case, count = (int(x) for x in line.split())
            for _ in range(count):
                for frame in cases[case]:
                    s.send(frame)
            print('sent %d.' % case, flush=True)
        """;

    [SkippableTheory]
    [InlineData(LabDriver.Tap)]
    [InlineData(LabDriver.AfPacket)]
    public void Each_kind_of_bad_input_raises_its_named_counter_by_exactly_the_number_sent_and_other_flows_lose_nothing(LabDriver driver)
    {
        StackLab.RequireScapy();
        using StackLab lab = StackLab.Start(driver);
        var names = new Dictionary<string, string>
        {
            ["DPMAC"] = lab.Mac("left"),
            ["LMAC"] = StackLab.HostMac(lab.Left, lab.LeftLink),
            ["L4"] = StackLab.LeftHost,
            ["DP4"] = StackLab.DataplaneLeft,
            ["L6"] = StackLab.LeftHost6,
            ["DP6"] = StackLab.DataplaneLeft6,
        };
        LabProcess crafter = lab.StartWithInputInLeft(StackLab.Scapy, "-c", Crafter, lab.LeftLink,
            JsonSerializer.Serialize(names), JsonSerializer.Serialize(Cases.Select(c => c.Scapy).ToArray()));
        crafter.WaitForOutput("ready", TimeSpan.FromSeconds(30));
        crafter.WaitForOutput("].", TimeSpan.FromSeconds(5));
        int[] frames = JsonSerializer.Deserialize<int[]>(Regex.Match(crafter.Output, @"ready (\[.*\])\.").Groups[1].Value)!;

        // The other flows: pings through the dataplane, 200 a second each way of IPv4 and IPv6,
        // for longer than the cases take; every one must come back.
        LabProcess[] pings =
        [
            lab.StartInLeft("ping", "-4", "-n", "-q", "-i", "0.005", "-c", "1400", StackLab.RightHost),
            lab.StartInLeft("ping", "-6", "-n", "-q", "-i", "0.005", "-c", "1400", StackLab.RightHost6),
        ];

        var table = new StringBuilder();
        var failures = new List<string>();
        for (int i = 0; i < Cases.Length; i++)
        {
            (string what, string counter, _) = Cases[i];
            int sent = Copies * frames[i];
            Dictionary<string, long> before = lab.Counters();
            crafter.Input.WriteLine($"{i} {Copies}");
            crafter.WaitForOutput($"sent {i}.", TimeSpan.FromSeconds(10));
            // Until the counter has counted them all, then a moment more to see it stops there.
            LinuxLab.Until(() => lab.Counters()[counter] - before[counter] >= sent, TimeSpan.FromSeconds(3));
            Thread.Sleep(100);
            Dictionary<string, long> after = lab.Counters();
            long rose = after[counter] - before[counter];
            string moved = StackLab.Moved(before, after);
            table.AppendLine(CultureInfo.InvariantCulture, $"{what,-40} {counter,-24} +{rose} of {sent} sent   (all that moved: {moved})");
            if (rose != sent)
                failures.Add($"{what}: {counter} rose by {rose}, not {sent}; moved: {moved}");
        }
        output.WriteLine(table.ToString());
        bool pingsOutlasted = pings.All(p => !p.HasExited);

        foreach (LabProcess ping in pings)
        {
            int exit = ping.WaitForExit(TimeSpan.FromSeconds(30));
            Match summary = Regex.Match(ping.Output, @"(\d+) packets transmitted, (\d+) received(.*?), ([\d.]+)% packet loss");
            output.WriteLine(summary.Value);
            if (exit != 0 || !summary.Success || summary.Groups[1].Value != summary.Groups[2].Value || summary.Groups[3].Value != "")
                failures.Add($"{ping.CommandLine}: exit {exit}: {summary.Value} {ping.Error}");
        }
        Assert.True(failures.Count == 0, string.Join('\n', failures));
        Assert.True(pingsOutlasted, "the pings ended before the last case was sent: give them a higher count");
        lab.AssertAlive();
    }
}
