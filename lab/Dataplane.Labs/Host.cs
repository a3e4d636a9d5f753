namespace Dataplane.Labs;

/// <summary>How a command run on a host ended.</summary>
/// <param name="ExitCode">Its exit code; -1 when it did not end by itself.</param>
/// <param name="TimedOut">Whether it was stopped after its time limit.</param>
/// <param name="Output">Its standard output and error, interleaved as they came.</param>
public sealed record CommandResult(int ExitCode, bool TimedOut, string Output)
{
    /// <summary>Whether the shell could not find or execute the command (127 or 126).</summary>
    public bool NotFound => !TimedOut && ExitCode is 127 or 126;
}

/// <summary>
/// A Linux machine of a lab: a network namespace here, or a machine over ssh. Commands are shell
/// command lines run by <c>sh -c</c> on it; output comes back here, into the test's log.
/// </summary>
public abstract class Host
{
    /// <summary>A host called <paramref name="role"/> (left, right, sut).</summary>
    protected Host(string role) => Role = role;

    /// <summary>left, right or sut.</summary>
    public string Role { get; }

    /// <summary>Where it is, for messages: "namespace dplc-1-left", "ssh root@lt13".</summary>
    public abstract string Where { get; }

    /// <summary>The program and arguments that run <paramref name="command"/> through <c>sh -c</c> on this host.</summary>
    protected internal abstract (string File, string[] Arguments) Wrap(string command);

    /// <summary>Why <paramref name="command"/> cannot run on this host (a program it needs is not there), known beforehand; null when it may.</summary>
    public virtual string? CannotRun(string command) => null;

    /// <summary>
    /// Runs <paramref name="command"/> and waits for it, at most <paramref name="timeout"/>; then it
    /// is stopped (SIGTERM, SIGKILL after 2 s) and reported as timed out. Output goes to
    /// <paramref name="log"/> as it comes. When <paramref name="cancel"/> fires first (or already
    /// has), the command is stopped the same way (or never started) and
    /// <see cref="OperationCanceledException"/> says so: an interrupted run is not a command that hung.
    /// </summary>
    public async Task<CommandResult> RunAsync(string command, TimeSpan timeout, TextWriter? log = null,
        CancellationToken cancel = default)
    {
        cancel.ThrowIfCancellationRequested();
        await using LabProcess process = Start(command, log);
        bool ended = await process.WaitAsync(timeout, cancel).ConfigureAwait(false);
        if (!ended)
        {
            await process.StopAsync(TimeSpan.FromSeconds(2), first: Signal.Term).ConfigureAwait(false);
            cancel.ThrowIfCancellationRequested();
            return new CommandResult(-1, true, process.AllOutput);
        }
        return new CommandResult(process.ExitCode, false, process.AllOutput);
    }

    /// <summary>Runs a set-up step; its failure is an exception that says which step on which host.</summary>
    public Task RunCheckedAsync(string command, TextWriter? log = null, CancellationToken cancel = default,
        int timeoutSeconds = 60) => RunStepsAsync([command], log, cancel, timeoutSeconds);

    /// <summary>
    /// Runs set-up steps (one line each) in order in one shell on the host, stopping at the first
    /// that fails, which the <see cref="LabException"/> names with the host and what it said last.
    /// One command, not one per step: over ssh every command pays a connection and the remote
    /// user's shell start-up (a <c>.bashrc</c> that runs <c>pyenv init</c> costs half a second, two
    /// on a busy machine), and a lab's set-up is dozens of steps. Each step is announced in the
    /// output as it starts (<c>$ step</c>), so the log, where every line is marked with the role,
    /// reads as if they ran one by one. <paramref name="done"/> learns how many steps took effect,
    /// however it ended (those that succeeded; an interrupted or timed-out step may have, so it
    /// counts): what is to be undone.
    /// </summary>
    public async Task RunStepsAsync(IReadOnlyList<string> steps, TextWriter? log = null, CancellationToken cancel = default,
        int timeoutSeconds = 60, Action<int>? done = null)
    {
        if (steps.Count == 0)
            return;
        if (steps.FirstOrDefault(s => s.Contains('\n', StringComparison.Ordinal)) is string multiline)
            throw new ArgumentException($"a step is one line: '{multiline}'", nameof(steps));
        cancel.ThrowIfCancellationRequested();
        // One line (a remote login shell of the csh family takes no newline inside quotes); printf,
        // not echo, which in dash reads backslashes; a step's errors go the way of its output, so
        // one pipe keeps them in the order they came.
        string script = string.Join("; ", steps.Select(s => $"printf '%s\\n' {Shell.Quote(StepMark + s)}; {{ {s}; }} 2>&1 || exit $?"));
        TextWriter? marked = log is null ? null : new PrefixedWriter(log, $"[{Role}] ");
        bool ended;
        int exit;
        string[] lines;
        await using (LabProcess process = Start(script, marked))
        {
            ended = await process.WaitAsync(TimeSpan.FromSeconds(timeoutSeconds), cancel).ConfigureAwait(false);
            if (!ended)
                await process.StopAsync(TimeSpan.FromSeconds(2), first: Signal.Term).ConfigureAwait(false);
            exit = ended ? process.ExitCode : -1;
            lines = process.AllOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        }
        // The steps announced, in order: the last of them is the one that failed or was cut short.
        int started = 0, lastMark = -1;
        for (int i = 0; i < lines.Length && started < steps.Count; i++)
        {
            if (lines[i] == (StepMark + steps[started]).Trim())
            {
                started++;
                lastMark = i;
            }
        }
        bool succeeded = ended && exit == 0;
        done?.Invoke(succeeded ? steps.Count : ended ? Math.Max(0, started - 1) : started);
        cancel.ThrowIfCancellationRequested();
        if (succeeded)
            return;
        string said = lastMark < lines.Length - 1 ? lines[^1] : "";
        string why = ended ? $"exit {exit}" : $"no end after {timeoutSeconds}s";
        throw new LabException(started == 0
            ? $"on {Where}: '{steps[0]}' could not be run ({why}){(said.Length > 0 ? ": " + said : "")}"
            : $"on {Where}: '{steps[started - 1]}' failed ({why}){(said.Length > 0 ? ": " + said : "")}");
    }

    /// <summary>What announces a step in the output of <see cref="RunStepsAsync"/>.</summary>
    private const string StepMark = "$ ";

    /// <summary>Starts <paramref name="command"/> in the background; the caller stops it.</summary>
    public virtual LabProcess Start(string command, TextWriter? log = null) => LabProcess.Start(this, command, log);

    /// <summary>
    /// Where a local file (the dataplane binary, a peer tool) is on this host: the same path for a
    /// namespace; a copy in <paramref name="remoteFolder"/> over ssh.
    /// </summary>
    public abstract Task<string> ProvideAsync(string localPath, string remoteFolder, CancellationToken cancel);

    /// <summary>Brings a file the host wrote back here (a capture); nothing to do for a namespace.</summary>
    public virtual Task FetchAsync(string remotePath, string localPath, CancellationToken cancel) => Task.CompletedTask;
}

/// <summary>A network namespace of this machine, named <see cref="Namespace"/>.</summary>
public sealed class NetnsHost(string role, string ns) : Host(role)
{
    /// <summary>The namespace's full name.</summary>
    public string Namespace { get; } = ns;

    /// <inheritdoc/>
    public override string Where => $"namespace {Namespace}";

    /// <inheritdoc/>
    protected internal override (string File, string[] Arguments) Wrap(string command) =>
        ("ip", ["netns", "exec", Namespace, "sh", "-c", command]);

    /// <inheritdoc/>
    public override Task<string> ProvideAsync(string localPath, string remoteFolder, CancellationToken cancel) =>
        Task.FromResult(localPath);
}

/// <summary>This machine, outside any namespace: the runner's own commands (ip netns, ip link).</summary>
public sealed class LocalHost() : Host("local")
{
    /// <inheritdoc/>
    public override string Where => "this machine";

    /// <inheritdoc/>
    protected internal override (string File, string[] Arguments) Wrap(string command) => ("sh", ["-c", command]);

    /// <inheritdoc/>
    public override Task<string> ProvideAsync(string localPath, string remoteFolder, CancellationToken cancel) => Task.FromResult(localPath);
}

