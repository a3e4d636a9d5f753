using System.Diagnostics;
using Dataplane.Conformance.Model;
using Dataplane.Conformance.Results;

namespace Dataplane.Conformance.Tests.Running;

/// <summary>
/// The runner as a user starts it: a run with modifier direct (no dataplane binary needed) that
/// writes its run, result lines and page; one interrupted by SIGINT that removes its lab and exits
/// 130; a broken peer tool and a hanging test. Needs root.
/// </summary>
public sealed class RunnerProcessTests : IDisposable
{
    private readonly string _results = Directory.CreateTempSubdirectory("dataplane-conformance-runs.").FullName;

    private static Process Start(params string[] args)
    {
        // As from a terminal: SIGINT at its default. A test host started in the background by a
        // script inherits SIGINT ignored, and .NET keeps an ignored signal ignored. env execs, so
        // the pid is the runner's own.
        var start = new ProcessStartInfo("env") { RedirectStandardOutput = true, RedirectStandardError = true };
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
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        await p.WaitForExitAsync(limit.Token);
        return (p.ExitCode, await output + await errors);
    }

    private static string Namespaces() => Process.Start(new ProcessStartInfo("ip", "netns list") { RedirectStandardOutput = true })!
        .StandardOutput.ReadToEnd();

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

    [SkippableFact]
    public async Task Sigint_removes_the_lab_and_exits_130()
    {
        Skip.IfNot(Environment.UserName == "root", "needs root for network namespaces");
        using Process p = Start("run", "--modifier", "direct", "--seconds", "60", "--results", _results,
            "linux-dataplane-linux-tcp4iperf-single-forward");
        var output = new System.Text.StringBuilder();
        p.OutputDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
        p.ErrorDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        string prefix = $"dplc{p.Id}-";
        for (int i = 0; i < 200 && !Namespaces().Contains(prefix + "left", StringComparison.Ordinal); i++)
            await Task.Delay(100);
        await Task.Delay(3000); // into the iperf3 test
        Assert.Contains(prefix, Namespaces());
        Assert.Equal(0, Tmds.Linux.LibC.kill(p.Id, Tmds.Linux.LibC.SIGINT));
        var clock = Stopwatch.StartNew();
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        await p.WaitForExitAsync(limit.Token);
        Assert.True(p.ExitCode == 130, output.ToString());
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(45), $"cleaning up took {clock.Elapsed.TotalSeconds:0} s");
        Assert.DoesNotContain(prefix, Namespaces());
        Assert.Contains("interrupted", output.ToString());
    }

    public void Dispose() => Directory.Delete(_results, recursive: true);
}
