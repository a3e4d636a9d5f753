using System.Diagnostics;
using Dataplane.Conformance.Model;
using Dataplane.Conformance.Results;
using Dataplane.Labs;

namespace Dataplane.Conformance.Tests.Running;

/// <summary>
/// The runner as a user starts it: a run with modifier direct (no dataplane binary needed) that
/// writes its run, result lines and page; a broken peer tool and a hanging test; and an interrupt
/// (SIGINT, as Ctrl-C) in each phase of a run: starting, attaching, capturing, judging, and again
/// while it cleans up. Whenever it comes, the runner removes its lab, leaves no process in it,
/// exits 130 and does not crash. Each phase is reached by a condition the test waits for (a line
/// of the runner, a file a wrapped tool or binary touches), not by a time. Needs root.
/// </summary>
public sealed class RunnerProcessTests : IDisposable
{
    private readonly string _results = Directory.CreateTempSubdirectory("dataplane-conformance-runs.").FullName;

    private static Process Start(params string[] args)
    {
        // As from a terminal: a process group of its own that a Ctrl-C signals whole (setsid), and
        // SIGINT at its default (a test host started in the background by a script inherits SIGINT
        // ignored, and .NET keeps an ignored signal ignored). setsid and env exec, so the pid is the
        // runner's own, and its process group's.
        var start = new ProcessStartInfo("setsid") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("env");
        start.ArgumentList.Add("--default-signal=INT");
        start.ArgumentList.Add("dotnet");
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "dataplane-conformance.dll"));
        foreach (string a in args)
            start.ArgumentList.Add(a);
        start.Environment["CI"] = "true";
        return Process.Start(start)!;
    }

    private static async Task<(int Exit, string Output)> RunAsync(params string[] args)
    {
        using Process p = Start(args);
        Task<string> output = p.StandardOutput.ReadToEndAsync();
        Task<string> errors = p.StandardError.ReadToEndAsync();
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(300));
        await p.WaitForExitAsync(limit.Token);
        return (p.ExitCode, await output + await errors);
    }

    private static string Namespaces() => NetnsLab.Run("ip", "netns", "list");

    [SkippableFact]
    public async Task A_direct_run_writes_its_run_the_result_lines_and_the_page()
    {
        Skip.IfNot(Environment.UserName == "root", "needs root for network namespaces");
        (int exit, string output) = await RunAsync("run", "--modifier", "direct", "--seconds", "1", "--results", _results,
            "linux-dataplane-linux-icmp4ping-flood", "linux-dataplane-udp4echo-receive");
        Assert.True(exit == 0, output);
        Assert.Matches(@"(?m)^conformance: 3 passed, 0 failed, 1 skipped in ", output); // echo-receive has no SUT under direct
        (Run run, string folder) = Assert.Single(RunStore.LoadAll(_results));
        Assert.Equal(["direct"], run.Modifiers);
        Row ping = run.Rows.Single(r => r.Test == "linux-dataplane-linux-icmp4ping-flood");
        Assert.Equal(Status.Pass, ping.Dataplane.Status);
        Assert.NotNull(ping.PercentOfLinux);
        Assert.Equal(Status.Norun, run.Rows.Single(r => r.Test == "linux-dataplane-udp4echo-receive").Dataplane.Status);
        Assert.Matches(@"^PASS\tlinux-dataplane-linux-icmp4ping-flood\t.*\nVALUE \d+ bits/sec recv\n", await File.ReadAllTextAsync(Path.Combine(folder, "dataplane.txt")));
        Assert.True(File.Exists(Path.Combine(folder, ping.Dataplane.Log!)));
        Assert.Contains("linux-dataplane-linux-icmp4ping-flood", await File.ReadAllTextAsync(Path.Combine(_results, "index.html")));
    }

    [SkippableFact]
    public async Task A_missing_peer_tool_is_norun_and_a_hanging_test_noterm()
    {
        Skip.IfNot(Environment.UserName == "root", "needs root for network namespaces");
        (int exit, string output) = await RunAsync("run", "--modifier", "direct", "--seconds", "5", "--timeout", "2", "--results", _results,
            "--tool", "iperf3=no-such-iperf3", "--tool", "ping=sleep 30; ping", // a peer that is not there, one that hangs
            "linux-dataplane-linux-tcp4iperf-single-forward", "linux-dataplane-linux-icmp6ping-flood");
        Assert.Equal(1, exit);
        Assert.Matches(@"NORUN +direct +linux-dataplane-linux-tcp4iperf-single-forward .*could not be started", output);
        Assert.Matches(@"NOTERM +direct +linux-dataplane-linux-icmp6ping-flood .*did not terminate within 2s", output);
    }

    private const string Ping = "linux-dataplane-linux-icmp4ping-flood";

    [SkippableFact]
    public Task Sigint_while_starting_removes_the_lab_and_exits_130()
    {
        Skip.IfNot(Environment.UserName == "root", "needs root for network namespaces");
        // The run's first line comes just before the lab is built.
        return InterruptAsync(["--modifier", "direct", Ping], (output, _) => output.Contains("run ", StringComparison.Ordinal));
    }

    [SkippableFact]
    public Task Sigint_while_attaching_the_dataplane_removes_the_lab_and_exits_130()
    {
        Skip.IfNot(Environment.UserName == "root", "needs root for network namespaces");
        // A "dataplane" that starts and never says it runs: the runner waits in the attach.
        string started = Path.Combine(_results, "dataplane.started");
        string binary = Script("dataplane", $"touch {started}\nexec sleep 120");
        return InterruptAsync(["--driver", "tap", "--binary", binary, Ping], (_, _) => File.Exists(started));
    }

    [SkippableFact]
    public Task Sigint_while_capturing_a_test_removes_the_lab_and_exits_130()
    {
        Skip.IfNot(Environment.UserName == "root", "needs root for network namespaces");
        // The test's client starts once both captures listen; it touches a file first.
        string started = Path.Combine(_results, "ping.started");
        string ping = Script("ping", $"touch {started}\nexec ping \"$@\"");
        return InterruptAsync(["--modifier", "direct", "--seconds", "60", "--tool", $"ping={ping}", Ping], (_, _) => File.Exists(started));
    }

    [SkippableFact]
    public Task Sigint_while_judging_the_captures_removes_the_lab_and_exits_130()
    {
        Skip.IfNot(Environment.UserName == "root", "needs root for network namespaces");
        // A judge that never ends its judgment.
        string judging = Path.Combine(_results, "tshark.started");
        string tshark = Script("tshark", $"touch {judging}\nexec sleep 120");
        return InterruptAsync(["--modifier", "direct", "--seconds", "1", "--tool", $"tshark={tshark}", Ping], (_, _) => File.Exists(judging));
    }

    [SkippableFact]
    public Task A_second_signal_while_cleaning_up_does_not_cut_the_clean_up_short()
    {
        Skip.IfNot(Environment.UserName == "root", "needs root for network namespaces");
        string started = Path.Combine(_results, "ping.started");
        string ping = Script("ping", $"touch {started}\nexec ping \"$@\"");
        return InterruptAsync(["--modifier", "direct", "--seconds", "60", "--tool", $"ping={ping}", Ping], (_, _) => File.Exists(started),
            again: output => output.Contains("removing the lab", StringComparison.Ordinal));
    }

    /// <summary>An executable shell script in the results folder.</summary>
    private string Script(string name, string body)
    {
        string path = Path.Combine(_results, name);
        File.WriteAllText(path, $"#!/bin/sh\n{body}\n");
        NetnsLab.Run("chmod", "+x", path);
        return path;
    }

    /// <summary>
    /// Runs the runner with <paramref name="args"/>, sends SIGINT once <paramref name="phase"/>
    /// holds (given the output so far and the lab's namespaces) to its process group, as a terminal's
    /// Ctrl-C, and (with <paramref name="again"/>) a second one once that holds of the output; then
    /// it must exit 130 with its lab gone: no namespace,
    /// and no process left in the lab's namespaces (a deleted namespace does not end what runs in it).
    /// </summary>
    private async Task InterruptAsync(string[] args, Func<string, string, bool> phase, Func<string, bool>? again = null)
    {
        using Process p = Start(["run", "--results", _results, .. args]);
        var output = new System.Text.StringBuilder();
        string Output()
        {
            lock (output)
                return output.ToString();
        }
        p.OutputDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
        p.ErrorDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        string prefix = $"dplc{p.Id}-";
        var inodes = new HashSet<ulong>();
        bool Reached()
        {
            string namespaces = Namespaces();
            foreach (string role in (string[])["left", "right", "sut"])
            {
                if (NamespaceInode(prefix + role) is ulong inode)
                    inodes.Add(inode); // known before the namespaces go, to find what was left in them
            }
            return phase(Output(), namespaces) || p.HasExited;
        }
        Assert.True(NetnsLab.Until(Reached, TimeSpan.FromSeconds(120)), $"the phase was not reached:\n{Output()}");
        Assert.False(p.HasExited, $"the runner ended before the phase:\n{Output()}");
        // As a terminal's Ctrl-C: to the whole process group, the runner and whatever it left in it.
        Assert.Equal(0, Tmds.Linux.LibC.kill(-p.Id, Tmds.Linux.LibC.SIGINT));
        if (again is not null)
        {
            Assert.True(NetnsLab.Until(() => again(Output()) || p.HasExited, TimeSpan.FromSeconds(60)), Output());
            _ = Tmds.Linux.LibC.kill(-p.Id, Tmds.Linux.LibC.SIGINT);
        }
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        await p.WaitForExitAsync(limit.Token);
        p.WaitForExit(); // the output's last lines
        string said = Output();
        Assert.True(p.ExitCode == 130, $"exit {p.ExitCode}:\n{said}");
        Assert.DoesNotContain("Unhandled exception", said);
        Assert.Contains("interrupted; the lab is removed", said);
        if (again is not null)
            Assert.Contains("still removing the lab", said);
        Assert.DoesNotContain(prefix, Namespaces());
        int[] left = ProcessesIn(inodes);
        Assert.True(left.Length == 0, $"processes left in the lab's namespaces: {string.Join(", ", left.Select(Describe))}\n{said}");
    }

    /// <summary>The inode of a named network namespace, which /proc/PID/ns/net links name; null when there is none.</summary>
    private static ulong? NamespaceInode(string name)
    {
        string path = $"/run/netns/{name}";
        try
        {
            return File.Exists(path) ? ulong.Parse(NetnsLab.Run("stat", "-L", "-c", "%i", path).Trim()) : null;
        }
        catch (InvalidOperationException)
        {
            return null; // removed meanwhile
        }
    }

    /// <summary>The processes whose network namespace is one of <paramref name="inodes"/>.</summary>
    private static int[] ProcessesIn(HashSet<ulong> inodes)
    {
        var found = new List<int>();
        foreach (string dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out int pid))
                continue;
            try
            {
                string? link = new FileInfo(Path.Combine(dir, "ns", "net")).LinkTarget; // "net:[4026532281]"
                if (link is not null && ulong.TryParse(link.AsSpan(5, link.Length - 6), out ulong inode) && inodes.Contains(inode))
                    found.Add(pid);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // ended meanwhile
            }
        }
        return [.. found];
    }

    private static string Describe(int pid)
    {
        try
        {
            return $"{pid} ({File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ').Trim()})";
        }
        catch (IOException)
        {
            return pid.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
    }

    public void Dispose() => Directory.Delete(_results, recursive: true);
}
