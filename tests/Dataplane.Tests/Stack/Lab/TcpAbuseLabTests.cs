using System.Globalization;
using System.Text;
using System.Text.Json;
using Xunit.Abstractions;

namespace Dataplane.Tests.Stack.Lab;

/// <summary>
/// An established connection abused on the real link, over both drivers, IPv4 and IPv6: scapy
/// (TcpAbuseLab.py) owns a connection to the echo app as a host that does not exist (10.10.11.50,
/// fdd7:e83e:66bd:1011::50, answered for by the script's own ARP and ND), so the left host's kernel
/// never sees it and never resets it, and no host setting changes. Then, one segment at a time, the
/// bad input of issue 12 that needs a live connection: a reset in the window but not at RCV.NXT, a
/// SYN, data beyond the window, data received already, an old timestamp, an acknowledgment of data
/// never sent, SACK blocks outside the flight and one-byte overlapping ones. Each must be answered
/// on the wire as the RFC says (the script judges the reply it sniffs) and raise its named counter
/// by exactly one (or the number of blocks), and the connection must go on: the echo brings back
/// exactly what was sent, nothing of the dropped segments, and a reset at RCV.NXT ends it.
/// </summary>
[Collection(StackLab.Collection)]
[Trait("Category", "Linux")]
public class TcpAbuseLabTests(ITestOutputHelper output)
{
    private const string FakeMac = "02:00:00:10:11:50";
    private const string Fake4 = "10.10.11.50";
    private const string Fake6 = "fdd7:e83e:66bd:1011::50";

    /// <summary>
    /// Step of the script, and the counters of <c>ctl stats --json</c> that must rise by exactly
    /// so much (0: must not move) while it runs.
    /// </summary>
    private static readonly (string Step, (string Counter, int Rise)[] Counters)[] Steps =
    [
        // The handshake, "hello" echoed: one connection accepted.
        ("open",          [("tcp.accepts", 1)]),
        // RFC 5961 3.2: in the window, not at RCV.NXT: a challenge ACK, the connection stays.
        ("rst-in-window", [("tcp.challenge_acks_rst", 1), ("tcp.resets_received", 0)]),
        // RFC 5961 4.2: a SYN on a synchronized connection: a challenge ACK.
        ("syn",           [("tcp.challenge_acks_syn", 1)]),
        // RFC 9293 3.10.7.4 first: unacceptable data is answered with an ACK and dropped.
        ("data-beyond",   [("tcp.data_out_of_window", 1)]),
        // The same for data received already, and the ACK carries it as a DSACK (RFC 2883).
        ("data-old",      [("tcp.data_out_of_window", 1), ("tcp.duplicate_data", 1)]),
        // RFC 7323 5.3 R1: PAWS: an ACK, the data dropped.
        ("paws",          [("tcp.paws_dropped", 1)]),
        // RFC 5961 5.2 (RFC 9293 3.10.7.4 fifth): an ACK for data never sent: an ACK, dropped.
        ("ack-unsent",    [("tcp.ack_too_much", 1), ("tcp.challenge_acks_data", 1)]),
        // 20000 bytes whose echo is left unacknowledged: data in flight for the SACK steps.
        ("flight",        []),
        // The CVE-2019-11477 family: blocks beyond SND.NXT, inverted, below SND.UNA are ignored, each counted.
        ("sack-invalid",  [("tcp.sack_blocks_invalid", 3)]),
        // 180 one-byte and overlapping blocks inside the flight: valid, and a block marks only whole
        // segments, so they mark nothing and judge nothing lost.
        ("sack-tiny",     [("tcp.sack_blocks_invalid", 0), ("tcp.sack_recovery_losses", 0)]),
        ("ack-all",       []),
        // The connection still works; what came back is exactly what was sent.
        ("echo",          []),
        // RFC 5961 3.2: a reset at exactly RCV.NXT ends it.
        ("rst-exact",     [("tcp.resets_received", 1)]),
    ];

    [SkippableTheory]
    [InlineData(LabDriver.Tap)]
    [InlineData(LabDriver.AfPacket)]
    [InlineData(LabDriver.AfXdp)]
    public void A_connection_owned_by_scapy_answers_each_abuse_as_the_rfc_says_counts_it_and_lives_on(LabDriver driver)
    {
        StackLab.RequireScapy();
        using StackLab lab = StackLab.Start(driver, $"app echo tcp listen {StackLab.DataplaneLeft}:7\napp echo tcp listen [{StackLab.DataplaneLeft6}]:7");
        var names = new Dictionary<string, string>
        {
            ["DPMAC"] = lab.Mac("left"),
            ["FAKEMAC"] = FakeMac,
            ["FAKE4"] = Fake4,
            ["FAKE6"] = Fake6,
            ["DP4"] = StackLab.DataplaneLeft,
            ["DP6"] = StackLab.DataplaneLeft6,
            ["PORT"] = "7",
        };
        string script = Path.Combine(AppContext.BaseDirectory, "Stack", "Lab", "TcpAbuseLab.py");
        LabProcess peer = lab.StartWithInputInLeft(StackLab.Scapy, script, lab.LeftLink, JsonSerializer.Serialize(names));
        peer.WaitForOutput("ready.", TimeSpan.FromSeconds(60));
        Dictionary<string, long> first = lab.Counters();

        var table = new StringBuilder();
        var failures = new List<string>();
        int lines = 1; // "ready."
        foreach (string family in new[] { "4", "6" })
        {
            foreach ((string step, (string Counter, int Rise)[] counters) in Steps)
            {
                Dictionary<string, long> before = lab.Counters();
                peer.Input.WriteLine(step == "open" ? $"open {family}" : step);
                string line = NextLine(peer, ref lines, TimeSpan.FromSeconds(60));
                // The counters are read until they show the rises (a bound for a loaded machine);
                // one that rose too far shows in the comparison after.
                LinuxLab.Until(() => Rose(lab.Counters(), before, counters), TimeSpan.FromSeconds(10));
                Dictionary<string, long> after = lab.Counters();
                string moved = StackLab.Moved(before, after);
                table.AppendLine(CultureInfo.InvariantCulture, $"IPv{family} {line}\n        counters moved: {moved}");
                if (!line.StartsWith($"{step} ok ", StringComparison.Ordinal))
                    failures.Add($"IPv{family} {step}: on the wire: {line}");
                foreach ((string counter, int rise) in counters)
                {
                    if (after[counter] - before[counter] != rise)
                        failures.Add($"IPv{family} {step}: {counter} rose by {after[counter] - before[counter]}, not {rise}; moved: {moved}");
                }
            }
            // The reset at RCV.NXT ended it: the dataplane holds nothing of the connection.
            string sockets = lab.Ctl("netstat", "-an");
            string fake = family == "4" ? Fake4 : Fake6;
            if (sockets.Contains(fake, StringComparison.Ordinal))
                failures.Add($"IPv{family}: the connection is still there after the reset at RCV.NXT:\n{sockets}");
        }
        output.WriteLine(table.ToString());
        Dictionary<string, long> last = lab.Counters();
        // Three challenge ACKs a connection, far below the worker's budget: none held back.
        Assert.True(last["tcp.challenge_acks_rate_limited"] == first["tcp.challenge_acks_rate_limited"], "challenge ACKs were held back by the rate limit");
        Assert.True(failures.Count == 0, string.Join('\n', failures) + $"\n{peer.Error}");
        lab.AssertAlive();
    }

    /// <summary>Whether every counter of <paramref name="counters"/> rose by at least its rise since <paramref name="before"/>.</summary>
    private static bool Rose(Dictionary<string, long> now, Dictionary<string, long> before, (string Counter, int Rise)[] counters) =>
        counters.All(c => now[c.Counter] - before[c.Counter] >= c.Rise);

    /// <summary>The line after the first <paramref name="consumed"/> of the script's output, once it is there (a bound for a loaded machine).</summary>
    private static string NextLine(LabProcess process, ref int consumed, TimeSpan limit)
    {
        int wanted = consumed + 1;
        if (!LinuxLab.Until(() => process.Output.Count(c => c == '\n') >= wanted || process.HasExited, limit) || process.Output.Count(c => c == '\n') < wanted)
            throw new TimeoutException($"the scapy peer said nothing more within {limit.TotalSeconds} s (exited: {process.HasExited}): {process.Output}{process.Error}");
        consumed = wanted;
        return process.Output.Split('\n')[wanted - 1];
    }
}
