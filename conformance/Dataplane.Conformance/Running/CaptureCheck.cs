using System.Text;
using System.Text.RegularExpressions;
using Dataplane.Conformance.Labs;
using Dataplane.Labs;

namespace Dataplane.Conformance.Running;

/// <summary>
/// The judge of every frame the system under test puts on the wire: tcpdump on the left and right
/// hosts' interfaces while a test runs (the first frames of it, bounded in count), then tshark over
/// the frames the host did not send itself. A malformed frame is an error; so is a bad IP, ICMP,
/// TCP or UDP checksum when the dataplane sent it. The hosts send complete checksums (the lab turns
/// their interfaces' checksum offload off, as on a real wire), so a partial checksum from the
/// dataplane is its own; Linux, the reference, forwards and sends with checksum offload on its
/// veths, so its frames are judged for malformation only. The hosts are captured, stopped, fetched
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
        CommandResult bad = await JudgeAsync(tshark, c.LocalFile, c.Mac, judgeChecksums, cancel).ConfigureAwait(false);
        string[] lines = bad.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        // One write per capture: the hosts are judged at once, and their reports must not interleave.
        var report = new StringBuilder($"{where}: {total} frames, {lines.Length} judged bad" +
            (judgeChecksums ? " (malformed or bad checksum, from the system under test)" : " (malformed, from the system under test)"));
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
    /// judged for it.
    /// </summary>
    internal static Task<CommandResult> JudgeAsync(string tshark, string file, string mac, bool judgeChecksums, CancellationToken cancel)
    {
        string filter = $"eth.src != {mac} && (_ws.malformed" +
            (judgeChecksums
                ? " || ip.checksum.status == 0 || icmp.checksum.status == 0 || icmpv6.checksum.status == 0 || " +
                  "(tcp.checksum.status == 0 && !tcp.checksum.ffff) || udp.checksum.status == 0)"
                : ")");
        return new LocalHost().RunAsync(
            $"{tshark} -r {Shell.Quote(file)} -o ip.check_checksum:TRUE -o tcp.check_checksum:TRUE -o udp.check_checksum:TRUE " +
            $"-Y {Shell.Quote(filter)} -T fields -e frame.number -e _ws.col.Protocol -e _ws.col.Info 2>/dev/null",
            TimeSpan.FromSeconds(120), null, cancel);
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
