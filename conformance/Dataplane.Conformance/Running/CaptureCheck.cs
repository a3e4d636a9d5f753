using System.Text;
using System.Text.RegularExpressions;
using Dataplane.Conformance.Labs;
using Dataplane.Labs;

namespace Dataplane.Conformance.Running;

/// <summary>
/// The judge of every frame the system under test puts on the wire: tcpdump on the left and right
/// hosts' interfaces while a test runs (the first frames of it, bounded in count), then tshark over
/// the frames the host did not send itself, that is the frames that crossed the system under test
/// or came from it (a host's own frames, captured before its driver, carry partial checksums when
/// its offloads are on, as they are by default). A malformed frame is an error; so is a bad IP,
/// ICMP, TCP or UDP checksum when the dataplane sent it, except a partial one: a frame a tap or
/// veth carries with NEEDS_CSUM (CHECKSUM_PARTIAL) holds the pseudo-header sum in its TCP or UDP
/// checksum, to be completed by whoever segments or sends it on a wire, and the receiving host's
/// kernel trusts it. The pcap file does not keep the kernel's mark (libpcap drops
/// TP_STATUS_CSUMNOTREADY), so such a checksum is told by its value (<see cref="IsPartial"/>).
/// Linux, the reference, is judged for malformation only. The hosts are captured, stopped, fetched
/// and judged at the same time: over ssh every step is a round trip.
/// </summary>
internal sealed partial class CaptureCheck
{
    /// <summary>How many frames each capture keeps: the start of a test, a few megabytes at most.</summary>
    public const int Frames = 2000;

    /// <summary>The captures not yet judged or discarded.</summary>
    private readonly List<Capture> _captures = [];

    /// <summary>One capture: its host and interface, its file here (and on the host, over ssh), its tcpdump.</summary>
    private sealed record Capture(Host Host, string Interface, string LocalFile, string? RemoteFile, LabProcess Tcpdump)
    {
        /// <summary>The interface's own address, printed before tcpdump starts: its frames are the host's, not judged.</summary>
        public string Mac => MacLine().Match(Tcpdump.AllOutput) is { Success: true } m ? m.Groups[1].Value : "";
    }

    /// <summary>
    /// Starts a capture on each host's interface toward the system under test; a host where tcpdump
    /// cannot start is left out and said in the log. Interrupted, it stops what it started.
    /// </summary>
    public static async Task<CaptureCheck> StartAsync(IEnumerable<(Host Host, string Interface)> points, string folder, string test,
        string tcpdump, TextWriter log, CancellationToken cancel)
    {
        var check = new CaptureCheck();
        try
        {
            await Task.WhenAll(points.Where(p => p.Interface.Length > 0)
                .Select(p => check.StartOneAsync(p.Host, p.Interface, folder, test, tcpdump, log, cancel))).ConfigureAwait(false);
        }
        catch
        {
            await check.DiscardAsync().ConfigureAwait(false);
            throw;
        }
        return check;
    }

    private async Task StartOneAsync(Host host, string ifname, string folder, string test, string tcpdump, TextWriter log, CancellationToken cancel)
    {
        string local = Path.Combine(folder, $"{test}.{host.Role}.pcap");
        string? remote = host is SshHost ssh ? $"{ssh.Folder}/{host.Role}.pcap" : null;
        // The interface's address on the same round trip as tcpdump.
        LabProcess p = host.Start($"echo \"mac $(cat /sys/class/net/{ifname}/address)\" && " +
            $"exec {tcpdump} -n -U -s 0 -c {Frames} -i {ifname} -w {remote ?? local}", new PrefixedWriter(log, $"[{host.Role}] "));
        var capture = new Capture(host, ifname, local, remote, p);
        lock (_captures)
            _captures.Add(capture); // first: an interrupt from here on stops it
        if (!await p.WaitForOutputAsync("listening on", TimeSpan.FromSeconds(30), cancel).ConfigureAwait(false))
        {
            log.WriteLine($"capture on {host.Role} {ifname}: tcpdump did not start; this test's frames there are not judged");
            Forget(capture);
            await p.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Stops the captures left and removes their files unjudged: the test was interrupted. Never throws.</summary>
    public async Task DiscardAsync()
    {
        Capture[] left;
        lock (_captures)
        {
            left = [.. _captures];
            _captures.Clear();
        }
        await Task.WhenAll(left.Select(async c =>
        {
            await c.Tcpdump.DisposeAsync().ConfigureAwait(false);
            try
            {
                File.Delete(c.LocalFile);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // its folder is gone with the run's; a remote file goes with the lab's folder
            }
        })).ConfigureAwait(false);
    }

    /// <summary>
    /// Stops the captures and judges them; returns what is wrong ("left: 3 bad frames from the
    /// system under test in ..."), empty when nothing is. Captures with findings are kept next to
    /// the log. Interrupted, it throws, and <see cref="DiscardAsync"/> drops what was not judged.
    /// </summary>
    public async Task<List<string>> FinishAsync(bool judgeChecksums, string tshark, TextWriter log, CancellationToken cancel)
    {
        Capture[] captures;
        lock (_captures)
            captures = [.. _captures];
        List<string>[] findings = await Task.WhenAll(captures.Select(c => FinishOneAsync(c, judgeChecksums, tshark, log, cancel))).ConfigureAwait(false);
        return [.. findings.SelectMany(f => f)];
    }

    private async Task<List<string>> FinishOneAsync(Capture c, bool judgeChecksums, string tshark, TextWriter log, CancellationToken cancel)
    {
        var findings = new List<string>();
        await c.Tcpdump.StopAsync(TimeSpan.FromSeconds(3)).ConfigureAwait(false);
        await c.Tcpdump.DisposeAsync().ConfigureAwait(false);
        if (c.RemoteFile is not null)
            await c.Host.FetchAsync(c.RemoteFile, c.LocalFile, cancel).ConfigureAwait(false);
        string where = $"capture on {c.Host.Role} {c.Interface}";
        if (!File.Exists(c.LocalFile))
        {
            log.WriteLine($"{where}: no file");
            Forget(c);
            return findings;
        }
        var judge = new LocalHost();
        // tcpdump says how many frames it wrote as it ends; tshark counts them only when it did not get to.
        string total = CapturedLine().Match(c.Tcpdump.AllOutput) is { Success: true } m ? m.Groups[1].Value
            : (await judge.RunAsync($"{tshark} -r {Shell.Quote(c.LocalFile)} -T fields -e frame.number 2>/dev/null | wc -l",
                TimeSpan.FromSeconds(120), null, cancel).ConfigureAwait(false)).Output.Trim();
        (CommandResult bad, int partial) = await JudgeAsync(tshark, c.LocalFile, c.Mac, judgeChecksums, cancel).ConfigureAwait(false);
        string[] lines = bad.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        // One write per capture: the hosts are judged at once, and their reports must not interleave.
        var report = new StringBuilder($"{where}: {total} frames, {lines.Length} judged bad" +
            (judgeChecksums ? " (malformed or bad checksum, from the system under test)" : " (malformed, from the system under test)") +
            (partial > 0 ? $"; {partial} with a partial TCP or UDP checksum (NEEDS_CSUM), not bad" : ""));
        if (bad.ExitCode != 0)
        {
            report.Append($"\ntshark exit {bad.ExitCode}: {bad.Output.Trim()}");
            findings.Add($"{c.Host.Role}: tshark could not judge the capture (exit {bad.ExitCode})");
        }
        else
        {
            foreach (string line in lines.Take(10))
                report.Append($"\n  {line}");
            if (lines.Length > 0)
                findings.Add($"{c.Host.Role}: {lines.Length} bad frame{(lines.Length == 1 ? "" : "s")} from the system under test in {Path.GetFileName(c.LocalFile)}");
            else
                File.Delete(c.LocalFile); // judged clean: not kept (a run would otherwise hold gigabytes)
        }
        log.WriteLine(report.ToString());
        Forget(c);
        return findings;
    }

    /// <summary>
    /// The frames of <paramref name="file"/> not sent by <paramref name="mac"/> that are malformed
    /// or (with <paramref name="judgeChecksums"/>) carry a bad checksum, one line each: number,
    /// protocol, summary. A TCP checksum of 0xFFFF where 0x0000 was computed is not bad: both are
    /// zero in one's complement and every receiver takes them alike, and Linux itself sends it
    /// (skb_checksum_help writes CSUM_MANGLED_0 for any protocol); Wireshark flags it after RFC
    /// 1624, and the dataplane forwarding such a segment from a Linux host unchanged was once
    /// judged for it. A partial TCP or UDP checksum (<see cref="IsPartial"/>) is not bad either;
    /// how many frames had one comes back too.
    /// </summary>
    internal static async Task<(CommandResult Bad, int Partial)> JudgeAsync(string tshark, string file, string mac, bool judgeChecksums, CancellationToken cancel)
    {
        string filter = $"eth.src != {mac} && (_ws.malformed" +
            (judgeChecksums
                ? " || ip.checksum.status == 0 || icmp.checksum.status == 0 || icmpv6.checksum.status == 0 || " +
                  "(tcp.checksum.status == 0 && !tcp.checksum.ffff) || udp.checksum.status == 0)"
                : ")");
        // The fields the partial-checksum test needs come first (first occurrence: the outer
        // headers), the summary last (it may hold anything but a tab).
        string fields = string.Concat(JudgedFields.Select(f => $" -e {f}"));
        string heuristics = await PayloadHeuristicsOffAsync(tshark, cancel).ConfigureAwait(false);
        CommandResult found = await new LocalHost().RunAsync(
            $"{tshark} -r {Shell.Quote(file)}{heuristics} -o ip.check_checksum:TRUE -o tcp.check_checksum:TRUE -o udp.check_checksum:TRUE " +
            $"-Y {Shell.Quote(filter)} -T fields -E occurrence=f{fields} -e _ws.col.Protocol -e _ws.col.Info 2>/dev/null",
            TimeSpan.FromSeconds(120), null, cancel).ConfigureAwait(false);
        if (found.ExitCode != 0)
            return (found, 0);
        var bad = new StringBuilder();
        int partial = 0;
        foreach (string line in found.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            string[] f = line.Split('\t');
            if (f.Length < JudgedFields.Length + 2)
                continue; // not a line of fields (tshark says nothing else on stdout)
            if (OnlyPartial(f))
                partial++;
            else
                bad.Append($"{f[0]}\t{f[^2]}\t{f[^1]}\n");
        }
        return (found with { Output = bad.ToString() }, partial);
    }

    private static readonly Dictionary<string, string> s_heuristicsOff = [];

    /// <summary>
    /// <c>--disable-protocol</c> for every protocol whose heuristic tshark tries on TCP and UDP
    /// payloads (<c>tshark -G heuristic-decodes</c>; it lists protocols, not the heuristics' own
    /// names, which <c>--disable-heuristic</c> would want), once per tshark command. The judged traffic's payloads
    /// are test bytes (iperf3's are random), and a heuristic that takes them for its protocol then
    /// finds them malformed: a CI run judged Linux itself for a TCP super-frame Thrift's heuristic
    /// claimed. The judge is of the headers: Ethernet, IP, ICMP, TCP and UDP.
    /// </summary>
    internal static async Task<string> PayloadHeuristicsOffAsync(string tshark, CancellationToken cancel)
    {
        lock (s_heuristicsOff)
        {
            if (s_heuristicsOff.TryGetValue(tshark, out string? known))
                return known;
        }
        CommandResult listed = await new LocalHost().RunAsync($"{tshark} -G heuristic-decodes 2>/dev/null",
            TimeSpan.FromSeconds(60), null, cancel).ConfigureAwait(false);
        var protocols = new SortedSet<string>(StringComparer.Ordinal);
        if (listed.ExitCode == 0)
        {
            foreach (string line in listed.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                string[] f = line.Split('\t');
                if (f.Length >= 2 && f[0] is "tcp" or "udp" && f[1].All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-'))
                    protocols.Add(f[1]);
            }
        }
        string result = string.Concat(protocols.Select(p => " --disable-protocol " + p));
        lock (s_heuristicsOff)
            s_heuristicsOff[tshark] = result;
        return result;
    }

    /// <summary>The fields of a judged frame, in this order, before its protocol and summary.</summary>
    private static readonly string[] JudgedFields =
    [
        "frame.number", "_ws.malformed", "ip.checksum.status", "icmp.checksum.status", "icmpv6.checksum.status",
        "ip.src", "ip.dst", "ipv6.src", "ipv6.dst",
        "tcp.checksum", "tcp.checksum.status", "tcp.checksum.ffff", "tcp.hdr_len", "tcp.len",
        "udp.checksum", "udp.checksum.status", "udp.length",
    ];

    /// <summary>Whether a frame's only fault (fields as <see cref="JudgedFields"/>) is a partial TCP or UDP checksum.</summary>
    private static bool OnlyPartial(string[] f)
    {
        if (f[1].Length > 0 || f[2] == "0" || f[3] == "0" || f[4] == "0")
            return false;
        string src = f[5].Length > 0 ? f[5] : f[7], dst = f[6].Length > 0 ? f[6] : f[8];
        if (!System.Net.IPAddress.TryParse(src, out System.Net.IPAddress? s) || !System.Net.IPAddress.TryParse(dst, out System.Net.IPAddress? d))
            return false;
        bool tcpBad = f[10] == "0" && f[11].Length == 0, udpBad = f[15] == "0";
        if (!tcpBad && !udpBad)
            return false;
        if (tcpBad && !(Hex(f[9]) is int tc && int.TryParse(f[12], out int hl) && int.TryParse(f[13], out int tl) && IsPartial(tc, s, d, 6, hl + tl)))
            return false;
        return !udpBad || Hex(f[14]) is int uc && int.TryParse(f[16], out int ul) && IsPartial(uc, s, d, 17, ul);
    }

    private static int? Hex(string v) =>
        v.StartsWith("0x", StringComparison.Ordinal) && int.TryParse(v.AsSpan(2), System.Globalization.NumberStyles.HexNumber, null, out int n) ? n : null;

    /// <summary>
    /// Whether <paramref name="checksum"/> is the partial checksum of a TCP or UDP segment of
    /// <paramref name="length"/> bytes (header and data) between the addresses: the pseudo-header
    /// sum folded and not complemented, what Linux leaves for CHECKSUM_PARTIAL (__tcp_v4_send_check,
    /// udp4_hwcsum; for a GSO super-frame with its whole length, tcp_gro_complete) and virtio-net's
    /// NEEDS_CSUM asks for. A wrong checksum takes that value by chance once in 65,536.
    /// </summary>
    internal static bool IsPartial(int checksum, System.Net.IPAddress source, System.Net.IPAddress destination, int protocol, int length)
    {
        uint sum = (uint)protocol + (uint)(length & 0xFFFF) + (uint)(length >> 16);
        foreach (System.Net.IPAddress a in (System.Net.IPAddress[])[source, destination])
        {
            byte[] b = a.GetAddressBytes();
            for (int i = 0; i < b.Length; i += 2)
                sum += (uint)(b[i] << 8 | b[i + 1]);
        }
        while (sum > 0xFFFF)
            sum = (sum & 0xFFFF) + (sum >> 16);
        // 0x0000 and 0xFFFF are the same number in one's complement.
        return checksum == sum || (checksum == 0 && sum == 0xFFFF) || (checksum == 0xFFFF && sum == 0);
    }

    private void Forget(Capture capture)
    {
        lock (_captures)
            _captures.Remove(capture);
    }

    [GeneratedRegex(@"(?m)^mac ([0-9a-f:]+)\s*$")]
    private static partial Regex MacLine();

    [GeneratedRegex(@"(?m)^(\d+) packets? captured")]
    private static partial Regex CapturedLine();
}
