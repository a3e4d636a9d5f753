using System.Diagnostics;
using Dataplane.Labs;
using Dataplane.Labs.Guest;

namespace Dataplane.Conformance.Tests.Running;

/// <summary>
/// The runner on the qemu lab where things go wrong: a machine where the guest cannot boot (here:
/// no QEMU on the path) is a lab error, exit 2, that says why; and Ctrl-C while the guest boots
/// stops its QEMU by its pid and removes the lab (exit 130). The quick run itself is a part of
/// <c>./build.sh test</c> (LabChecks.ConformanceQuickQemu). Needs root.
/// </summary>
public sealed class QemuLabRunnerTests : IDisposable
{
    private readonly string _results = Directory.CreateTempSubdirectory("dataplane-conformance-qemu.").FullName;

    private static string Binary => Path.Combine(GuestImage.FindRoot(), "out", "dataplane");

    private static Process Start(IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        // As RunnerProcessTests: a process group of its own, SIGINT at its default.
        var start = new ProcessStartInfo("setsid") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in (string[])["/usr/bin/env", "--default-signal=INT", "dotnet", Path.Combine(AppContext.BaseDirectory, "dataplane-conformance.dll"), .. args])
            start.ArgumentList.Add(a);
        start.Environment["CI"] = "true";
        foreach ((string k, string v) in environment ?? new Dictionary<string, string>())
            start.Environment[k] = v;
        return Process.Start(start)!;
    }

    [SkippableFact]
    public async Task Without_qemu_the_qemu_lab_is_a_lab_error_that_says_why()
    {
        Skip.IfNot(Environment.IsPrivilegedProcess, "needs root");
        Skip.IfNot(File.Exists(Binary), $"{Binary} is not published");
        string dotnet = Path.GetDirectoryName(Process.GetCurrentProcess().MainModule!.FileName)!;
        // A path with dotnet and iproute2 but without QEMU (qemu-system-x86_64 is in /usr/bin).
        string bin = Directory.CreateDirectory(Path.Combine(_results, "bin")).FullName;
        File.CreateSymbolicLink(Path.Combine(bin, "dotnet"), Path.Combine(dotnet, "dotnet"));
        using Process p = Start(new Dictionary<string, string> { ["PATH"] = $"{bin}:/usr/sbin:/sbin", ["DOTNET_ROOT"] = dotnet },
            "run", "--lab", "qemu", "--quick", "--results", _results, "--binary", Binary);
        Task<string> output = p.StandardOutput.ReadToEndAsync(), errors = p.StandardError.ReadToEndAsync();
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        await p.WaitForExitAsync(limit.Token);
        string said = await output + await errors;
        Assert.True(p.ExitCode == 2, $"exit {p.ExitCode}:\n{said}");
        Assert.Contains("lab qemu: the QEMU guest cannot boot here: qemu-system-x86_64 is not installed", said, StringComparison.Ordinal);
        Assert.Equal([Path.Combine(_results, "bin")], Directory.EnumerateDirectories(_results)); // no run was started
    }

    [SkippableFact]
    public async Task Ctrl_c_while_the_guest_boots_stops_its_qemu_and_removes_the_lab()
    {
        string? why = QemuGuest.CannotBootBecause() ?? (File.Exists(Binary) ? null : $"{Binary} is not published");
        Skip.If(why is not null, why);
        using Process p = Start(null, "run", "--lab", "qemu", "--driver", "vio", "--quick", "--results", _results, "--binary", Binary);
        var output = new System.Text.StringBuilder();
        p.OutputDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
        p.ErrorDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        string Output()
        {
            lock (output)
                return output.ToString();
        }
        string taps = $"ifname=dplc{p.Id}q";
        // The guest image may be built first (a minute); then QEMU starts with the lab's taps.
        Assert.True(NetnsLab.Until(() => Qemus(taps).Length > 0 || p.HasExited, TimeSpan.FromSeconds(300)), $"no QEMU with {taps}:\n{Output()}");
        Assert.False(p.HasExited, Output());
        Assert.Equal(0, Tmds.Linux.LibC.kill(-p.Id, Tmds.Linux.LibC.SIGINT));
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        await p.WaitForExitAsync(limit.Token);
        p.WaitForExit();
        Assert.True(p.ExitCode == 130, $"exit {p.ExitCode}:\n{Output()}");
        Assert.Contains("interrupted; the lab is removed", Output(), StringComparison.Ordinal);
        Assert.Empty(Qemus(taps));
        Assert.DoesNotContain($"dplc{p.Id}-", NetnsLab.Run("ip", "netns", "list"), StringComparison.Ordinal);
        Assert.DoesNotContain($"dplc{p.Id}q", NetnsLab.Run("ip", "-o", "link", "show"), StringComparison.Ordinal);
    }

    /// <summary>The pids of QEMU processes whose command line holds <paramref name="text"/>.</summary>
    private static int[] Qemus(string text)
    {
        var found = new List<int>();
        foreach (string dir in Directory.EnumerateDirectories("/proc"))
        {
            try
            {
                string cmdline = File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' ');
                if (cmdline.Contains(QemuGuest.Qemu, StringComparison.Ordinal) && cmdline.Contains(text, StringComparison.Ordinal) &&
                    int.TryParse(Path.GetFileName(dir), out int pid))
                {
                    found.Add(pid);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
        }
        return [.. found];
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_results, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
