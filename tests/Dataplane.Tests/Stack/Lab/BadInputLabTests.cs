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
/// dataplane, IPv4 and IPv6, run all the while (rounds of 200, until the last case is counted)
/// and lose nothing.
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
        // TCP (RFC 9293 3.1, 3.10.7): the discard app listens on port 9.
        ("TCP checksum wrong",                    "tcp.bad_checksum",       "Ether(dst=DPMAC)/IP(src=L4, dst=DP4)/TCP(sport=40001, dport=9, flags='S', chksum=0x0bad)"),
        ("TCP checksum wrong, IPv6",              "tcp.bad_checksum",       "Ether(dst=DPMAC)/IPv6(src=L6, dst=DP6)/TCP(sport=40001, dport=9, flags='S', chksum=0x0bad)"),
        ("TCP data offset 4 (below the header)",  "tcp.bad_header_length",  "Ether(dst=DPMAC)/IP(src=L4, dst=DP4)/TCP(sport=40002, dport=9, flags='S', dataofs=4)"),
        ("TCP data offset past the segment",      "tcp.bad_header_length",  "Ether(dst=DPMAC)/IP(src=L4, dst=DP4)/TCP(sport=40003, dport=9, flags='S', dataofs=15)"),
        ("TCP option running past the header",    "tcp.bad_options",        "Ether(dst=DPMAC)/IP(src=L4, dst=DP4)/TCP(sport=40004, dport=9, flags='S', dataofs=6)/Raw(b'\\x02\\x0a\\x05\\xb4')"),
        ("TCP SYN+FIN to a listener",             "tcp.syn_fin",            "Ether(dst=DPMAC)/IP(src=L4, dst=DP4)/TCP(sport=40005, dport=9, flags='SF')"),
        ("TCP reset to a closed port",            "tcp.reset_no_port",      "Ether(dst=DPMAC)/IP(src=L4, dst=DP4)/TCP(sport=40006, dport=81, flags='R', seq=1)"),
        ("TCP ACK to a listener, no connection",  "tcp.no_port",            "Ether(dst=DPMAC)/IP(src=L4, dst=DP4)/TCP(sport=40007, dport=9, flags='A', seq=1, ack=12345)"),
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
    [InlineData(LabDriver.AfXdp)]
    public void Each_kind_of_bad_input_raises_its_named_counter_by_exactly_the_number_sent_and_other_flows_lose_nothing(LabDriver driver)
    {
        StackLab.RequireScapy();
        using StackLab lab = StackLab.Start(driver, $"app discard tcp listen {StackLab.DataplaneLeft}:9\napp discard tcp listen [{StackLab.DataplaneLeft6}]:9");
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
        crafter.WaitForOutput("ready", TimeSpan.FromSeconds(60));
        crafter.WaitForOutput("].", TimeSpan.FromSeconds(30));
        int[] frames = JsonSerializer.Deserialize<int[]>(Regex.Match(crafter.Output, @"ready (\[.*\])\.").Groups[1].Value)!;

        // The other flows: pings through the dataplane, 200 a second of IPv4 and of IPv6, in
        // rounds of 200 until the cases are done (however long a loaded machine makes them take);
        // every one of every round must come back. A round ends with its last reply, so stopping
        // between rounds loses no ping in flight.
        string done = lab.Files.File("cases.done");
        LabProcess[] pings =
        [
            lab.StartInLeft("sh", "-c", PingRounds("-4", StackLab.RightHost, done)),
            lab.StartInLeft("sh", "-c", PingRounds("-6", StackLab.RightHost6, done)),
        ];
        Dictionary<string, long> first = lab.Counters();

        var table = new StringBuilder();
        var failures = new List<string>();
        for (int i = 0; i < Cases.Length; i++)
        {
            (string what, string counter, _) = Cases[i];
            int sent = Copies * frames[i];
            Dictionary<string, long> before = lab.Counters();
            crafter.Input.WriteLine($"{i} {Copies}");
            crafter.WaitForOutput($"sent {i}.", TimeSpan.FromSeconds(30));
            // Until the counter has counted them all (a bound for a loaded machine); one counted
            // twice shows here or, if it comes later, in the totals after the last case.
            LinuxLab.Until(() => lab.Counters()[counter] - before[counter] >= sent, TimeSpan.FromSeconds(30));
            Dictionary<string, long> after = lab.Counters();
            long rose = after[counter] - before[counter];
            string moved = StackLab.Moved(before, after);
            table.AppendLine(CultureInfo.InvariantCulture, $"{what,-40} {counter,-24} +{rose} of {sent} sent   (all that moved: {moved})");
            if (rose != sent)
                failures.Add($"{what}: {counter} rose by {rose}, not {sent}; moved: {moved}");
        }
        output.WriteLine(table.ToString());
        bool pingsOutlasted = pings.All(p => !p.HasExited);
        File.WriteAllText(done, "");

        foreach (LabProcess ping in pings)
        {
            int exit = ping.WaitForExit(TimeSpan.FromSeconds(60)); // the round under way ends
            MatchCollection rounds = Regex.Matches(ping.Output, @"(\d+) packets transmitted, (\d+) received(.*?), ([\d.]+)% packet loss");
            output.WriteLine($"{ping.CommandLine}: {rounds.Count} rounds");
            if (exit != 0 || rounds.Count == 0)
                failures.Add($"{ping.CommandLine}: exit {exit} after {rounds.Count} rounds: {ping.Output} {ping.Error}");
            foreach (Match round in rounds.Where(r => r.Groups[1].Value != r.Groups[2].Value || r.Groups[3].Value != ""))
                failures.Add($"{ping.CommandLine}: a round lost pings: {round.Value}");
        }
        // Nothing was counted late, twice: every counter rose over the whole run by what its cases sent.
        Dictionary<string, long> last = lab.Counters();
        foreach (IGrouping<string, int> cases in Enumerable.Range(0, Cases.Length).GroupBy(i => Cases[i].Counter))
        {
            long sent = cases.Sum(i => Copies * frames[i]);
            if (last[cases.Key] - first[cases.Key] != sent)
                failures.Add($"{cases.Key} rose by {last[cases.Key] - first[cases.Key]} over the run, not the {sent} its cases sent");
        }
        Assert.True(failures.Count == 0, string.Join('\n', failures));
        Assert.True(pingsOutlasted, "the pings stopped before the last case was counted");
        lab.AssertAlive();
    }

    /// <summary>
    /// A shell loop on the left host: rounds of 200 pings of <paramref name="target"/>, 5 ms
    /// apart, each with its summary, until the file <paramref name="done"/> exists; it stops at
    /// the first round whose ping fails.
    /// </summary>
    private static string PingRounds(string family, string target, string done) =>
        $"while [ ! -e '{done}' ]; do ping {family} -n -q -i 0.005 -c 200 {target} || exit $?; done";
}
