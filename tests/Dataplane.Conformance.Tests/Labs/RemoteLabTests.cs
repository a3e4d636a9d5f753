using System.Diagnostics;
using Dataplane.Labs;
using Dataplane.Conformance.Labs;
using Dataplane.Conformance.Model;
using Dataplane.Conformance.Results;
using Xunit.Abstractions;

namespace Dataplane.Conformance.Tests.Labs;

/// <summary>
/// The runner against a lab of machines it reaches only over ssh (<see cref="RemoteWorld"/>):
/// the real command line, the real sshd, the real dataplane binary copied over and started on the
/// remote system under test, then Linux in its place, the frames captured on the remote hosts and
/// fetched to be judged; afterwards nothing of the run is left on the machines. Needs root, sshd,
/// and a published dataplane (DATAPLANE_BINARY, or out/dataplane). The UDP echo case runs when
/// the runner has its udpbench.py (tools/), which the remote left host gets as a copy.
/// </summary>
public sealed class RemoteLabTests(ITestOutputHelper testOutput)
{
    private const string Ping = "linux-dataplane-linux-icmp4ping-flood";
    private const string Echo = "linux-dataplane-udp4echo-receive";

    [SkippableFact]
    public void A_lab_of_ssh_machines_runs_the_dataplane_then_Linux_and_leaves_the_machines_as_they_were()
    {
        string? cannot = RemoteWorld.CannotRunBecause();
        Skip.If(cannot is not null, cannot);
        string? binary = DataplaneBinary();
        Skip.If(binary is null, "no dataplane binary: set DATAPLANE_BINARY or ./build.sh publish (out/dataplane)");

        bool udpbench = File.Exists(Path.Combine(Lab.ToolsFolder, "udpbench.py"));
        IReadOnlyDictionary<string, int> sshdPids;
        using (var world = new RemoteWorld())
        {
            sshdPids = world.SshdPids;
            string before = Snapshot();
            string labFile = Path.Combine(world.Folder, "remote.lab");
            File.WriteAllLines(labFile,
            [
                "lab remote-test",
                $"ssh-option -F {world.SshConfig}",
                "host left  ssh root@left  ifname ens0",
                "host right ssh root@right ifname ens0",
                "sut        ssh root@sut",
                "drivers    afpacket",
                "port left  ifname sl0",
                "port right ifname sr0",
                "line       3",
            ]);
            string results = Path.Combine(world.Folder, "results");

            (int exit, string output, int runnerPid) = RunRunner(
                ["run", "--lab", labFile, "--driver", "afpacket", "--seconds", "2", "--results", results, "--binary", binary!, Ping, .. (udpbench ? (string[])[Echo] : [])],
                // A safety net, not a measure: the run is some forty ssh commands, and each pays
                // the remote root's shell start-up (this machine's .bashrc runs pyenv init: half a
                // second idle, two seconds with both cores busy). It took 1.9 min at a load of 15.
                TimeSpan.FromSeconds(300));

            testOutput.WriteLine(output);
            string runFolder = Directory.GetDirectories(results).SingleOrDefault() ?? "";
            string Explain() => $"runner exit {exit}:\n{output}\n--- lab.log\n{Read(Path.Combine(results, "lab.log"))}" +
                $"\n--- dataplane.log\n{Read(Path.Combine(runFolder, "dataplane.log"))}" +
                string.Concat(Directory.Exists(Path.Combine(runFolder, "logs"))
                    ? Directory.GetFiles(Path.Combine(runFolder, "logs")).Order().Select(f => $"\n--- {Path.GetFileName(f)}\n{Read(f)}")
                    : []) +
                $"\n--- sshd\n{world.SshdOutput()}";
            Run? run = RunStore.Load(runFolder);
            Assert.True(run is not null, "no run.json\n" + Explain());
            Row ping = run.Rows.Single(r => r.Test == Ping);
            Assert.True(ping.Dataplane.Status == Status.Pass, $"dataplane: {ping.Dataplane.Status.Name()} {ping.Dataplane.Message}\n{Explain()}");
            Assert.True(ping.Linux?.Status == Status.Pass, $"linux: {ping.Linux?.Status.Name()} {ping.Linux?.Message}\n{Explain()}");
            // The dataplane was a copy on the system under test, started there.
            Assert.StartsWith($"$ /tmp/dataplane-conformance-dplc{runnerPid}/dataplane run -c /tmp/dataplane-conformance-dplc{runnerPid}/dataplane.conf",
                Read(Path.Combine(runFolder, "dataplane.log")));
            Assert.Contains("(ssh root@sut)", Read(Path.Combine(runFolder, "dataplane.log")));
            // tcpdump ran on the remote hosts and its files came back to be judged.
            string pingLog = Read(Path.Combine(runFolder, "logs", $"{Ping}.dataplane.log"));
            Assert.Matches(@"capture on left ens0: [1-9]\d* frames, 0 judged bad", pingLog);
            Assert.Matches(@"capture on right ens0: [1-9]\d* frames, 0 judged bad", pingLog);
            if (udpbench)
            {
                Row echo = run.Rows.Single(r => r.Test == Echo);
                Assert.True(echo.Dataplane.Status == Status.Pass, $"dataplane: {echo.Dataplane.Status.Name()} {echo.Dataplane.Message}\n{Explain()}");
                Assert.True(echo.Linux?.Status == Status.Pass, $"linux: {echo.Linux?.Status.Name()} {echo.Linux?.Message}\n{Explain()}");
                // The remote left host ran the runner's udpbench from the copy the lab put there.
                Assert.Contains($"/tmp/dataplane-conformance-dplc{runnerPid}/udpbench.py echo",
                    Read(Path.Combine(runFolder, "logs", $"{Echo}.dataplane.log")));
            }
            Assert.True(exit == 0, Explain());

            // The machines are as they were: no address, route or forwarding left by the lab, no
            // process but sshd, no folder (binary, config, control socket, process group files) in /tmp.
            Assert.Equal(before, Snapshot());
            foreach (string role in RemoteWorld.Roles)
            {
                string ns = RemoteWorld.Namespace(role);
                Assert.True(NetnsLab.Until(() => Pids(ns).SequenceEqual([sshdPids[role]]), TimeSpan.FromSeconds(30)),
                    $"processes left in {ns} (sshd is {sshdPids[role]}):\n{NetnsLab.Run("ps", ["-o", "pid,ppid,etimes,args", "-p", string.Join(',', Pids(ns))])}");
            }
            Assert.Empty(Directory.GetFileSystemEntries("/tmp", $"dataplane-conformance-dplc{runnerPid}*"));
            Assert.DoesNotContain($"dplc{runnerPid}", NetnsLab.Run("ip", "netns", "list"));
        }

        // And the world is gone with its sshds.
        Assert.DoesNotContain($"dplr-{Environment.ProcessId}-", NetnsLab.Run("ip", "netns", "list"));
        Assert.DoesNotContain($"dplr{Environment.ProcessId}", NetnsLab.Run("ip", "-o", "link", "show"));
        foreach (int pid in sshdPids.Values)
            Assert.False(Directory.Exists($"/proc/{pid}"), $"sshd {pid} still runs");
    }

    /// <summary>What a lab may change on the machines: addresses and routes of every interface, and forwarding.</summary>
    private static string Snapshot() => string.Join("\n", RemoteWorld.Roles.Select(role =>
        $"## {role}\n" + RemoteWorld.InNamespace(role,
            "ip -o addr show | awk '{ print $2, $3, $4 }'; ip route show; ip -6 route show; " +
            "sysctl -n net.ipv4.ip_forward net.ipv6.conf.all.forwarding")));

    private static int[] Pids(string ns) =>
        [.. NetnsLab.Run("ip", "netns", "pids", ns).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).Order()];

    private static string Read(string path) => File.Exists(path) ? File.ReadAllText(path) : "(none)";

    /// <summary>DATAPLANE_BINARY, else the repository's out/dataplane; null when neither is there.</summary>
    private static string? DataplaneBinary()
    {
        if (Environment.GetEnvironmentVariable("DATAPLANE_BINARY") is { Length: > 0 } set)
            return File.Exists(set) ? Path.GetFullPath(set) : null;
        for (DirectoryInfo? d = new(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            if (File.Exists(Path.Combine(d.FullName, "build.sh")))
                return File.Exists(Path.Combine(d.FullName, "out", "dataplane")) ? Path.Combine(d.FullName, "out", "dataplane") : null;
        }
        return null;
    }

    /// <summary>
    /// Runs the runner's command line as its own process (<c>dotnet dataplane-conformance.dll</c>),
    /// at most <paramref name="limit"/>; then SIGINT, which makes it remove the lab, and SIGKILL 15 s later.
    /// </summary>
    private static (int Exit, string Output, int Pid) RunRunner(string[] args, TimeSpan limit)
    {
        string dll = typeof(Lab).Assembly.Location;
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Path.GetDirectoryName(dll)! };
        foreach (string a in (string[])[dll, .. args])
            start.ArgumentList.Add(a);
        using Process runner = Process.Start(start) ?? throw new InvalidOperationException("cannot start the runner");
        int pid = runner.Id;
        var output = new System.Text.StringBuilder();
        void Collect(object? _, DataReceivedEventArgs e)
        {
            lock (output)
                output.AppendLine(e.Data);
        }
        runner.OutputDataReceived += Collect;
        runner.ErrorDataReceived += Collect;
        runner.BeginOutputReadLine();
        runner.BeginErrorReadLine();
        if (!runner.WaitForExit(limit))
        {
            _ = Kill(runner.Id, 2);
            if (!runner.WaitForExit(TimeSpan.FromSeconds(15)))
                runner.Kill(entireProcessTree: true);
            runner.WaitForExit();
            lock (output)
                output.AppendLine($"(the runner did not end within {limit.TotalSeconds:0} s and was interrupted)");
        }
        runner.WaitForExit();
        lock (output)
            return (runner.ExitCode, output.ToString(), pid);
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill")]
    private static extern int Kill(int pid, int signal);
}
