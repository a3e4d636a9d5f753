using System.Diagnostics;
using Dataplane.Conformance.Labs;
using Dataplane.Labs;

namespace Dataplane.Conformance.Tests.Labs;

/// <summary>Commands on a host (this machine's shell here): steps, time limits, interrupts, and processes stopped twice.</summary>
public sealed class HostTests
{
    private static readonly LocalHost Here = new();

    [Fact]
    public async Task Steps_run_in_one_shell_in_order_each_announced_and_marked_with_the_role()
    {
        var log = new StringWriter();
        await Here.RunStepsAsync(["echo one", "x=2; echo $x", "echo 'three'"], log);
        Assert.Equal("[local] $ echo one\n[local] one\n[local] $ x=2; echo $x\n[local] 2\n[local] $ echo 'three'\n[local] three\n",
            log.ToString().ReplaceLineEndings("\n"));
    }

    [Fact]
    public async Task The_first_failing_step_is_named_with_its_exit_and_last_words_and_the_rest_do_not_run()
    {
        string after = Path.Combine(Path.GetTempPath(), $"dataplane-host-test-{Environment.ProcessId}");
        var e = await Assert.ThrowsAsync<LabException>(() => Here.RunStepsAsync(["true", "echo nearly; echo 'no such device' >&2; exit 3", $"touch {after}"]));
        Assert.Equal("on this machine: 'echo nearly; echo 'no such device' >&2; exit 3' failed (exit 3): no such device", e.Message);
        Assert.False(File.Exists(after));
    }

    [Fact]
    public async Task The_steps_that_took_effect_are_counted_for_their_undo_and_a_step_is_printed_as_written()
    {
        var counts = new List<int>();
        var log = new StringWriter();
        await Here.RunStepsAsync(["printf 'a\\n'", "true"], log, done: counts.Add);
        await Assert.ThrowsAsync<LabException>(() => Here.RunStepsAsync(["true", "false", "true"], done: counts.Add));
        using var cancel = new CancellationTokenSource();
        Task interrupted = Here.RunStepsAsync(["true", "echo started; sleep 60", "true"], log, cancel.Token, done: counts.Add);
        Assert.True(NetnsLab.Until(() => log.ToString().Contains("[local] started", StringComparison.Ordinal), TimeSpan.FromSeconds(60)));
        cancel.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => interrupted);
        // All of a success; the one before a failure (the failed one did nothing); an interrupted one may have.
        Assert.Equal([2, 1, 2], counts);
        Assert.StartsWith("[local] $ printf 'a\\n'\n[local] a\n", log.ToString().ReplaceLineEndings("\n"));
    }

    [Fact]
    public async Task A_step_that_does_not_end_is_stopped_at_its_limit_and_named()
    {
        var clock = Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<LabException>(() => Here.RunStepsAsync(["true", "sleep 60"], timeoutSeconds: 1));
        Assert.StartsWith("on this machine: 'sleep 60' failed (no end after 1s)", e.Message);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(50), "the step was not stopped");
    }

    [Fact]
    public async Task An_interrupted_command_is_an_interrupt_not_a_command_that_hung()
    {
        // The runner interrupted in a set-up step once said "'ip addr add ...' failed (no end after 30s)"
        // and went on to the next phase, which read as an ssh command that hung.
        using var cancel = new CancellationTokenSource();
        Task run = Here.RunCheckedAsync("sleep 60", cancel: cancel.Token);
        cancel.CancelAfter(200);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Here.RunAsync("sleep 60", TimeSpan.FromSeconds(30), cancel: cancel.Token));
    }

    [Fact]
    public async Task A_process_stopped_twice_is_stopped_once_and_still_says_how_it_ended()
    {
        // An interrupted test's clean-up disposed a capture's tcpdump a second time, and the runner
        // crashed (exit 134: "No process is associated with this object").
        LabProcess sleeper = Here.Start("exec sleep 60");
        await sleeper.DisposeAsync();
        await sleeper.DisposeAsync();
        Assert.True(sleeper.HasExited);
        Assert.Equal(128 + (int)Signal.Term, sleeper.ExitCode);
        Assert.Equal(128 + (int)Signal.Term, await sleeper.StopAsync(TimeSpan.FromSeconds(1)));
        Assert.True(await sleeper.WaitAsync(TimeSpan.FromSeconds(1)));
    }

    [Fact]
    public async Task Waiting_for_output_ends_with_the_output_with_the_process_or_with_an_interrupt()
    {
        await using LabProcess talker = Here.Start("echo ready; exec sleep 60");
        Assert.True(await talker.WaitForOutputAsync("ready", TimeSpan.FromSeconds(60)));
        await using LabProcess quiet = Here.Start("exit 0");
        Assert.False(await quiet.WaitForOutputAsync("ready", TimeSpan.FromSeconds(60)));
        await using LabProcess sleeper = Here.Start("exec sleep 60");
        using var cancel = new CancellationTokenSource(200);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => sleeper.WaitForOutputAsync("ready", TimeSpan.FromSeconds(60), cancel.Token));
    }
}
