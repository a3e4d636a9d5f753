using Dataplane.Conformance.Labs;

namespace Dataplane.Conformance.Running;

/// <summary>
/// The judge of every frame the system under test puts on the wire: tcpdump on the left and right
/// hosts' interfaces while a test runs (the first frames of it, bounded in count), then tshark over
/// the frames the host did not send itself. A malformed frame is an error; so is a bad IP, ICMP,
/// TCP or UDP checksum when the dataplane sent it. The hosts send complete checksums (the lab turns
/// their interfaces' checksum offload off, as on a real wire), so a partial checksum from the
/// dataplane is its own; Linux, the reference, forwards and sends with checksum offload on its
/// veths, so its frames are judged for malformation only.
/// </summary>
internal sealed class CaptureCheck
{
    /// <summary>How many frames each capture keeps: the start of a test, a few megabytes at most.</summary>
    public const int Frames = 2000;

    private readonly List<(Host Host, string Interface, string Mac, string File, HostProcess Tcpdump)> _captures = [];

    /// <summary>Starts a capture on each host's interface toward the system under test; a host where tcpdump cannot start is left out and said in the log.</summary>
    public static async Task<CaptureCheck> StartAsync(IEnumerable<(Host Host, string Interface)> points, string folder, string test,
        string tcpdump, TextWriter log, CancellationToken cancel)
    {
        var check = new CaptureCheck();
        foreach ((Host host, string ifname) in points)
        {
            if (ifname.Length == 0)
                continue;
            CommandResult mac = await host.RunAsync($"cat /sys/class/net/{ifname}/address", TimeSpan.FromSeconds(10), null, cancel).ConfigureAwait(false);
            string file = Path.Combine(folder, $"{test}.{host.Role}.pcap");
            string remote = host is SshHost ssh ? $"{ssh.Folder}/{host.Role}.pcap" : file;
            HostProcess p = host.Start($"exec {tcpdump} -n -U -s 0 -c {Frames} -i {ifname} -w {remote}", log);
            if (!await p.WaitForOutputAsync("listening on", TimeSpan.FromSeconds(10), cancel).ConfigureAwait(false))
            {
                log.WriteLine($"capture on {host.Role} {ifname}: tcpdump did not start; this test's frames there are not judged");
                await p.DisposeAsync().ConfigureAwait(false);
                continue;
            }
            check._captures.Add((host, ifname, mac.Output.Trim(), remote == file ? file : remote + "\n" + file, p));
        }
        return check;
    }

    /// <summary>Stops the captures and removes their files unjudged: the test was interrupted.</summary>
    public async Task DiscardAsync()
    {
        foreach ((Host _, string _, string _, string files, HostProcess tcpdump) in _captures)
        {
            await tcpdump.DisposeAsync().ConfigureAwait(false);
            File.Delete(files.Split('\n')[^1]);
        }
        _captures.Clear();
    }

    /// <summary>
    /// Stops the captures and judges them; returns what is wrong ("left: 3 frames with a bad
    /// checksum ..."), empty when nothing is. Captures with findings are kept next to the log.
    /// </summary>
    public async Task<List<string>> FinishAsync(bool judgeChecksums, string tshark, TextWriter log, CancellationToken cancel)
    {
        var findings = new List<string>();
        foreach ((Host host, string ifname, string mac, string files, HostProcess tcpdump) in _captures)
        {
            await tcpdump.StopAsync(TimeSpan.FromSeconds(3)).ConfigureAwait(false);
            await tcpdump.DisposeAsync().ConfigureAwait(false);
            string[] paths = files.Split('\n');
            string local = paths[^1];
            if (paths.Length == 2)
                await host.FetchAsync(paths[0], local, cancel).ConfigureAwait(false);
            if (!File.Exists(local))
            {
                log.WriteLine($"capture on {host.Role} {ifname}: no file");
                continue;
            }
            string filter = $"eth.src != {mac} && (_ws.malformed" +
                (judgeChecksums
                    ? " || ip.checksum.status == 0 || icmp.checksum.status == 0 || icmpv6.checksum.status == 0 || tcp.checksum.status == 0 || udp.checksum.status == 0)"
                    : ")");
            var judge = new LocalHost();
            CommandResult total = await judge.RunAsync($"{tshark} -r {Shell.Quote(local)} -T fields -e frame.number 2>/dev/null | wc -l", TimeSpan.FromSeconds(60), null, cancel).ConfigureAwait(false);
            CommandResult bad = await judge.RunAsync(
                $"{tshark} -r {Shell.Quote(local)} -o ip.check_checksum:TRUE -o tcp.check_checksum:TRUE -o udp.check_checksum:TRUE " +
                $"-Y {Shell.Quote(filter)} -T fields -e frame.number -e _ws.col.Protocol -e _ws.col.Info 2>/dev/null",
                TimeSpan.FromSeconds(60), null, cancel).ConfigureAwait(false);
            string[] lines = bad.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            log.WriteLine($"capture on {host.Role} {ifname}: {total.Output.Trim()} frames, {lines.Length} judged bad" +
                (judgeChecksums ? " (malformed or bad checksum, from the system under test)" : " (malformed, from the system under test)"));
            if (bad.ExitCode != 0)
            {
                log.WriteLine($"tshark exit {bad.ExitCode}: {bad.Output.Trim()}");
                findings.Add($"{host.Role}: tshark could not judge the capture (exit {bad.ExitCode})");
                continue;
            }
            foreach (string line in lines.Take(10))
                log.WriteLine($"  {line}");
            if (lines.Length > 0)
                findings.Add($"{host.Role}: {lines.Length} bad frame{(lines.Length == 1 ? "" : "s")} from the system under test in {Path.GetFileName(local)}");
            else
                File.Delete(local); // judged clean: not kept (a run would otherwise hold gigabytes)
        }
        return findings;
    }
}
