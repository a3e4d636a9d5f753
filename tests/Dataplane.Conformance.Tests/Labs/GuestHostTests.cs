using Dataplane.Labs;
using Dataplane.Labs.Guest;

namespace Dataplane.Conformance.Tests.Labs;

/// <summary>
/// The QEMU guest's command channel without a guest: guest-execd under socat in a namespace of
/// this machine that holds the guest's address on its loopback, and <see cref="GuestHost"/> (the
/// client, guest-exec.py) talking to it as it does to the guest. Output, errors and exit status
/// come back as the command gave them; a command is stopped with all it started by its process
/// group; a file is copied in pieces. Needs root (a namespace), socat, dash and python3.
/// </summary>
public sealed class GuestHostTests : IDisposable
{
    private readonly NetnsLab _lab = new($"dpgh{Environment.ProcessId}");

    private static string? CannotRunBecause() =>
        !Environment.IsPrivilegedProcess ? "needs root for a network namespace" : NetnsLab.Missing("socat", "dash", "python3", "base64");

    /// <summary>A namespace with the guest's address and guest-execd listening on it, as in the guest; the host to it.</summary>
    private GuestHost Channel()
    {
        string ns = _lab.Namespace("sut");
        NetnsLab.Run("ip", "-n", ns, "addr", "add", $"{GuestHost.Address}/32", "dev", "lo");
        string execd = _lab.File("guest-execd");
        File.WriteAllBytes(execd, GuestImage.Script("guest-execd.sh"));
        NetnsLab.Run("chmod", "+x", execd);
        _lab.StartIn(ns, "socat", $"TCP4-LISTEN:{GuestHost.Port},bind={GuestHost.Address},fork,reuseaddr", $"EXEC:{execd},setsid");
        Assert.True(NetnsLab.Until(() => NetnsLab.RunIn(ns, "ss", "-Hlnt", $"sport = :{GuestHost.Port}").Trim().Length > 0, TimeSpan.FromSeconds(30)),
            "socat did not listen");
        return new GuestHost("sut", ns, GuestHost.WriteClient(_lab.Folder), _lab.File("guest-folder"), "/nonexistent/dataplane");
    }

    [SkippableFact]
    public async Task A_command_gives_back_its_output_its_errors_and_its_exit_status()
    {
        string? why = CannotRunBecause();
        Skip.If(why is not null, why);
        GuestHost host = Channel();

        CommandResult r = await host.RunAsync("echo one; echo two >&2; printf 'no newline'; exit 3", TimeSpan.FromSeconds(30));
        Assert.Equal(3, r.ExitCode);
        Assert.False(r.TimedOut);
        Assert.Equal("one\ntwo\nno newline\n", r.Output);

        // Quotes, a newline and a record separator of the command's own arrive as written.
        r = await host.RunAsync("printf '%s|' \"it's\" 'a\nb'; printf '\\036x\\n'", TimeSpan.FromSeconds(30));
        Assert.Equal(0, r.ExitCode);
        Assert.Equal("it's|a\nb|\u001ex\n", r.Output);

        r = await host.RunAsync("no-such-command-here", TimeSpan.FromSeconds(30));
        Assert.True(r.NotFound, $"exit {r.ExitCode}: {r.Output}");

        // Set-up steps, one command: the failing step is named.
        var e = await Assert.ThrowsAsync<LabException>(() => host.RunStepsAsync(["true", "exit 4", "true"]));
        Assert.Contains("'exit 4' failed (exit 4)", e.Message, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task Stopping_a_command_stops_what_it_started_there_by_its_process_group()
    {
        string? why = CannotRunBecause();
        Skip.If(why is not null, why);
        GuestHost host = Channel();
        string marker = $"{Environment.ProcessId % 1000 + 7000}.5";

        // Two processes in the foreground (a background job of a script ignores SIGINT, the first
        // signal a stop sends, wherever it runs). Ending the client here alone would leave both.
        await using LabProcess p = host.Start($"sleep {marker} | sleep {marker}; echo never");
        Assert.True(NetnsLab.Until(() => Sleepers(marker) == 2, TimeSpan.FromSeconds(30)), "the two sleeps did not start");
        await p.StopAsync(TimeSpan.FromSeconds(5));
        Assert.True(p.HasExited);
        Assert.True(NetnsLab.Until(() => Sleepers(marker) == 0, TimeSpan.FromSeconds(10)), $"{Sleepers(marker)} sleeps left after the stop");
        Assert.DoesNotContain("never", p.AllOutput, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task A_command_on_a_channel_that_hangs_times_out_within_a_bound()
    {
        string? why = CannotRunBecause();
        Skip.If(why is not null, why);
        // A channel that takes the connection and never answers (a guest that hangs). The stop
        // after the time limit sends its signal through the same channel; that command hanging
        // too used to be stopped by yet another signal command, 30 s each, without end. Now each
        // signal command is bounded (30 s: TERM, KILL, and KILL again at dispose): about 95 s.
        string ns = _lab.Namespace("sut");
        NetnsLab.Run("ip", "-n", ns, "addr", "add", $"{GuestHost.Address}/32", "dev", "lo");
        _lab.StartIn(ns, "socat", $"TCP4-LISTEN:{GuestHost.Port},bind={GuestHost.Address},fork,reuseaddr", "EXEC:sleep 600");
        Assert.True(NetnsLab.Until(() => NetnsLab.RunIn(ns, "ss", "-Hlnt", $"sport = :{GuestHost.Port}").Trim().Length > 0, TimeSpan.FromSeconds(30)));
        var host = new GuestHost("sut", ns, GuestHost.WriteClient(_lab.Folder), _lab.File("guest-folder"), "/nonexistent/dataplane");

        var clock = System.Diagnostics.Stopwatch.StartNew();
        Task<CommandResult> run = host.RunAsync("true", TimeSpan.FromSeconds(2));
        Assert.True(await Task.WhenAny(run, Task.Delay(TimeSpan.FromSeconds(180))) == run, "no end after 180 s");
        CommandResult r = await run;
        Assert.True(r.TimedOut, $"exit {r.ExitCode} after {clock.Elapsed.TotalSeconds:0} s: {r.Output}");
    }

    [SkippableFact]
    public async Task A_file_is_copied_in_pieces_and_the_dataplane_binary_is_the_images()
    {
        string? why = CannotRunBecause();
        Skip.If(why is not null, why);
        GuestHost host = Channel();
        byte[] bytes = new byte[100_000];
        new Random(16).NextBytes(bytes);
        string local = _lab.File("blob.bin");
        await File.WriteAllBytesAsync(local, bytes);

        string there = await host.ProvideAsync(local, _lab.File("into"), CancellationToken.None);
        Assert.Equal(_lab.File("into") + "/blob.bin", there);
        Assert.Equal(bytes, await File.ReadAllBytesAsync(there)); // "the guest" is this machine here
        Assert.Equal("/usr/bin/dataplane", await host.ProvideAsync("/nonexistent/dataplane", "/x", CancellationToken.None));
    }

    /// <summary>How many processes run <c>sleep SECONDS</c>.</summary>
    private static int Sleepers(string seconds)
    {
        int n = 0;
        foreach (string dir in Directory.EnumerateDirectories("/proc"))
        {
            try
            {
                if (File.ReadAllText(Path.Combine(dir, "cmdline")) == $"sleep\0{seconds}\0")
                    n++;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
        }
        return n;
    }

    public void Dispose() => _lab.Dispose();
}
