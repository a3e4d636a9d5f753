using System.Diagnostics;
using System.Text;

namespace Dataplane.Conformance.Labs;

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
        await using HostProcess process = Start(command, log);
        bool ended = await process.WaitAsync(timeout, cancel).ConfigureAwait(false);
        if (!ended)
        {
            await process.StopAsync(TimeSpan.FromSeconds(2), first: Signal.Term).ConfigureAwait(false);
            cancel.ThrowIfCancellationRequested();
            return new CommandResult(-1, true, process.Output);
        }
        return new CommandResult(process.ExitCode, false, process.Output);
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
        await using (HostProcess process = Start(script, marked))
        {
            ended = await process.WaitAsync(TimeSpan.FromSeconds(timeoutSeconds), cancel).ConfigureAwait(false);
            if (!ended)
                await process.StopAsync(TimeSpan.FromSeconds(2), first: Signal.Term).ConfigureAwait(false);
            exit = ended ? process.ExitCode : -1;
            lines = process.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
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
    public virtual HostProcess Start(string command, TextWriter? log = null) => HostProcess.Start(this, command, log);

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

/// <summary>
/// A remote machine reached with <c>ssh -o BatchMode=yes [OPTIONS] TARGET</c>. What the lab puts
/// on it (the dataplane binary, its config and control socket, helper scripts, process group
/// files, captures) goes into <see cref="Folder"/>, which the lab removes at the end.
/// </summary>
/// <param name="role">left, right or sut.</param>
/// <param name="target">The ssh destination.</param>
/// <param name="options">The lab's <c>ssh-option</c> words, passed before the target.</param>
/// <param name="folder">The run's folder on the machine (an absolute path of plain characters).</param>
public sealed class SshHost(string role, string target, IReadOnlyList<string> options, string folder) : Host(role)
{
    private int _spawned;

    /// <summary>The ssh destination.</summary>
    public string Target { get; } = target;

    /// <summary>The run's folder on the machine: <c>/tmp/dataplane-conformance-LABID</c>.</summary>
    public string Folder { get; } = folder;

    /// <inheritdoc/>
    public override string Where => $"ssh {Target}";

    /// <summary>The options every ssh call takes: no prompts, a bounded connect, keep-alives.</summary>
    internal static readonly string[] Options =
        ["-o", "BatchMode=yes", "-o", "ConnectTimeout=10", "-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=3"];

    /// <summary>The arguments of ssh that run <paramref name="remoteCommand"/> (a line for the remote user's shell).</summary>
    private string[] Arguments(string remoteCommand) => [.. Options, .. options, Target, remoteCommand];

    /// <inheritdoc/>
    protected internal override (string File, string[] Arguments) Wrap(string command) =>
        ("ssh", Arguments("sh -c " + Shell.Quote(command)));

    /// <summary>
    /// Starts the command remotely with its process group in a file, so that stopping it reaches
    /// the remote processes (closing the ssh connection alone would leave them running). sshd puts
    /// every session in a process group of its own (setsid), so the group is the command and what
    /// it forked, such as socat's child per peer, and nothing else. The command runs in a shell of
    /// its own: one that starts with <c>exec</c> becomes that shell's process, and one of several
    /// steps (<c>A &amp;&amp; B</c>) runs them all, which an <c>exec</c> in front of it would not.
    /// </summary>
    public override HostProcess Start(string command, TextWriter? log = null)
    {
        // The role in the name: two roles of a lab may be one machine, and share the folder.
        // Field 5 of /proc/PID/stat is the process group ("sh" has no space in its name, field 2).
        string groupFile = $"{Folder}/{Role}-{Interlocked.Increment(ref _spawned)}.pgid";
        return HostProcess.Start(this,
            $"mkdir -p {Folder} && cut -d' ' -f5 /proc/$$/stat >{groupFile} && exec sh -c {Shell.Quote(command)}", log, groupFile);
    }

    /// <summary>Runs a remote command line with no pid file and no time limit (the copies in and out).</summary>
    private Process StartSsh(string remoteCommand) => ProcessStarter.Start("ssh", Arguments(remoteCommand));

    /// <inheritdoc/>
    public override async Task FetchAsync(string remotePath, string localPath, CancellationToken cancel)
    {
        using Process ssh = StartSsh($"cat {Shell.Quote(remotePath)} && rm -f {Shell.Quote(remotePath)}");
        ssh.StandardInput.Close();
        await ProcessStarter.EndOnInterruptAsync(ssh, async () =>
        {
            Task<string> errors = ssh.StandardError.ReadToEndAsync(cancel);
            await using (FileStream file = File.Create(localPath))
                await ssh.StandardOutput.BaseStream.CopyToAsync(file, cancel).ConfigureAwait(false);
            await ssh.WaitForExitAsync(cancel).ConfigureAwait(false);
            await errors.ConfigureAwait(false);
        }).ConfigureAwait(false);
        if (ssh.ExitCode != 0)
            File.Delete(localPath);
    }

    /// <inheritdoc/>
    public override async Task<string> ProvideAsync(string localPath, string remoteFolder, CancellationToken cancel)
    {
        string remote = $"{remoteFolder}/{Path.GetFileName(localPath)}";
        using Process ssh = StartSsh($"mkdir -p {Shell.Quote(remoteFolder)} && cat >{Shell.Quote(remote)} && chmod +x {Shell.Quote(remote)}");
        Task<string> errors = ssh.StandardError.ReadToEndAsync(cancel);
        Task<string> output = ssh.StandardOutput.ReadToEndAsync(cancel);
        await ProcessStarter.EndOnInterruptAsync(ssh, async () =>
        {
            try
            {
                await using (FileStream file = File.OpenRead(localPath))
                    await file.CopyToAsync(ssh.StandardInput.BaseStream, cancel).ConfigureAwait(false);
                ssh.StandardInput.Close();
            }
            catch (IOException)
            {
                // ssh ended early (no connection, a full disk): its exit status and errors say why.
            }
            await ssh.WaitForExitAsync(cancel).ConfigureAwait(false);
            await output.ConfigureAwait(false);
        }).ConfigureAwait(false);
        if (ssh.ExitCode != 0)
            throw new LabException($"copying {localPath} to {Target}:{remote} failed: {(await errors.ConfigureAwait(false)).Trim()}");
        return remote;
    }
}

/// <summary>The signals the lab sends to the processes it started.</summary>
public enum Signal
{
    /// <summary>SIGINT: how a terminal stops a tool; iperf3 and the dataplane end cleanly on it.</summary>
    Int = 2,

    /// <summary>SIGKILL.</summary>
    Kill = 9,

    /// <summary>SIGTERM.</summary>
    Term = 15,
}

/// <summary>
/// A process the lab started on a host: its output collected (and copied to a log as it comes),
/// stopped only by the pid it was started with (over ssh: the remote process group it was started in).
/// </summary>
public sealed class HostProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Host _host;
    private readonly string? _remoteGroupFile;
    private readonly StringBuilder _output = new();
    private readonly TextWriter? _log;
    private readonly Task _readers;
    private int _disposing;
    private volatile int _disposed;
    private int _exitCode = -1;

    private HostProcess(Host host, Process process, TextWriter? log, string? remoteGroupFile)
    {
        _host = host;
        _process = process;
        _log = log;
        _remoteGroupFile = remoteGroupFile;
        _readers = Task.WhenAll(Pump(process.StandardOutput), Pump(process.StandardError));
    }

    /// <summary>The local pid (of <c>ip netns exec</c>'s program, or of ssh).</summary>
    public int Pid => _process.Id;

    /// <summary>What it printed so far.</summary>
    public string Output
    {
        get
        {
            lock (_output)
                return _output.ToString();
        }
    }

    /// <summary>Whether it has ended (or was stopped and disposed).</summary>
    public bool HasExited => _disposed != 0 || _process.HasExited;

    /// <summary>Its exit code once ended; 128+N when signal N ended it; -1 when it could not be ended.</summary>
    public int ExitCode => _disposed != 0 ? _exitCode : _process.ExitCode;

    internal static HostProcess Start(Host host, string command, TextWriter? log, string? remoteGroupFile = null)
    {
        (string file, string[] arguments) = host.Wrap(command);
        Process process = ProcessStarter.Start(file, arguments);
        process.StandardInput.Close(); // no tool of a test reads a terminal
        return new HostProcess(host, process, log, remoteGroupFile);
    }

    private async Task Pump(StreamReader reader)
    {
        while (await reader.ReadLineAsync().ConfigureAwait(false) is string line)
        {
            lock (_output)
            {
                _output.Append(line).Append('\n');
                _log?.WriteLine(line);
            }
        }
    }

    /// <summary>Waits until it ends, at most <paramref name="timeout"/>; whether it ended.</summary>
    public async Task<bool> WaitAsync(TimeSpan timeout, CancellationToken cancel = default)
    {
        if (_disposed != 0)
            return true;
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        limit.CancelAfter(timeout);
        try
        {
            await _process.WaitForExitAsync(limit.Token).ConfigureAwait(false);
            await _readers.WaitAsync(TimeSpan.FromSeconds(2), CancellationToken.None).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
        catch (TimeoutException)
        {
            return true; // ended, but something it started still holds its output open
        }
    }

    /// <summary>
    /// Waits until its output holds <paramref name="text"/> (true), it ends or the time is up
    /// (false); <see cref="OperationCanceledException"/> when <paramref name="cancel"/> fires first.
    /// </summary>
    public async Task<bool> WaitForOutputAsync(string text, TimeSpan timeout, CancellationToken cancel = default)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            if (Output.Contains(text, StringComparison.Ordinal))
                return true;
            if (HasExited)
                return Output.Contains(text, StringComparison.Ordinal);
            await Task.Delay(50, cancel).ConfigureAwait(false);
        }
        return Output.Contains(text, StringComparison.Ordinal);
    }

    /// <summary>
    /// Stops it: <paramref name="first"/> (SIGINT by default), then SIGTERM, then SIGKILL to it and
    /// what it started, <paramref name="grace"/> for each to work. Returns its exit code.
    /// </summary>
    public async Task<int> StopAsync(TimeSpan grace, Signal first = Signal.Int)
    {
        if (_disposed != 0)
            return _exitCode;
        foreach (Signal signal in first == Signal.Int ? [Signal.Int, Signal.Term] : (Signal[])[first])
        {
            if (_process.HasExited)
                break;
            await SendAsync(signal).ConfigureAwait(false);
            if (await WaitAsync(grace).ConfigureAwait(false))
                break;
        }
        if (!_process.HasExited)
        {
            if (_remoteGroupFile is not null)
                await SendAsync(Signal.Kill).ConfigureAwait(false);
            try
            {
                _process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // ended meanwhile
            }
            await WaitAsync(grace).ConfigureAwait(false);
        }
        return _process.HasExited ? _process.ExitCode : -1;
    }

    private async Task SendAsync(Signal signal)
    {
        if (_remoteGroupFile is null)
        {
            // To it and to what it started: socat forks a child per peer that outlives its parent.
            // The children are found before the signal, while they are still its own.
            foreach (int pid in Descendants(_process.Id))
                _ = Tmds.Linux.LibC.kill(pid, (int)signal);
            _ = Tmds.Linux.LibC.kill(_process.Id, (int)signal);
            return;
        }
        // Over ssh: to the remote process group it wrote, in its own short ssh call. (No "--":
        // dash's kill takes -PGID after the signal and not after "--".) When not even ssh can be
        // started, there is nothing more to do from here; the local ssh is killed after.
        try
        {
            await _host.RunAsync($"g=$(cat {_remoteGroupFile} 2>/dev/null) && [ -n \"$g\" ] && kill -{(int)signal} -$g 2>/dev/null; " +
                $"[ {(int)signal} != 9 ] || rm -f {_remoteGroupFile}", TimeSpan.FromSeconds(30)).ConfigureAwait(false);
        }
        catch (LabException)
        {
        }
    }

    /// <summary>The processes <paramref name="root"/> started, and theirs, from /proc (children first found, deepest last).</summary>
    internal static List<int> Descendants(int root)
    {
        var children = new Dictionary<int, List<int>>();
        foreach (string dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out int pid))
                continue;
            string stat;
            try
            {
                stat = File.ReadAllText(Path.Combine(dir, "stat"));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue; // ended meanwhile
            }
            // "pid (comm) state ppid ...": comm may hold spaces and parentheses; the last ')' ends it.
            string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            if (fields.Length > 1 && int.TryParse(fields[1], out int ppid))
            {
                if (!children.TryGetValue(ppid, out List<int>? list))
                    children[ppid] = list = [];
                list.Add(pid);
            }
        }
        var found = new List<int>();
        var queue = new Queue<int>([root]);
        while (queue.TryDequeue(out int pid))
        {
            foreach (int child in children.GetValueOrDefault(pid) ?? [])
            {
                found.Add(child);
                queue.Enqueue(child);
            }
        }
        return found;
    }

    /// <summary>Stops it if it still runs. A second call does nothing: an interrupted test's clean-up may come after its own.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposing, 1) != 0)
            return;
        try
        {
            if (!_process.HasExited)
            {
                _exitCode = await StopAsync(TimeSpan.FromSeconds(2), Signal.Term).ConfigureAwait(false);
            }
            else
            {
                _exitCode = _process.ExitCode;
                // A local ssh that ended by a signal or an ssh error (255) may have left its remote
                // command running: sshd does not signal a session's processes when it closes.
                if (_remoteGroupFile is not null && _exitCode >= 128)
                    await SendAsync(Signal.Kill).ConfigureAwait(false);
            }
        }
        finally
        {
            _disposed = 1;
            _process.Dispose();
        }
    }
}

/// <summary>A lab could not be built or a system under test could not be started: its tests do not run.</summary>
public sealed class LabException(string message) : Exception(message);

/// <summary>Shell quoting for command lines built from names and addresses.</summary>
public static class Shell
{
    /// <summary><paramref name="s"/> as one word for <c>sh</c>.</summary>
    public static string Quote(string s) =>
        s.Length > 0 && s.All(c => char.IsAsciiLetterOrDigit(c) || "-_./:=@,%+".Contains(c)) ? s : "'" + s.Replace("'", "'\\''") + "'";
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

/// <summary>Lines of one host or process in a shared log, each marked with where it runs (<c>[left] </c>).</summary>
internal sealed class PrefixedWriter(TextWriter inner, string prefix) : TextWriter
{
    /// <inheritdoc/>
    public override System.Text.Encoding Encoding => inner.Encoding;

    /// <inheritdoc/>
    public override void WriteLine(string? value) => inner.WriteLine(prefix + value);

    /// <inheritdoc/>
    public override void Write(char value) => inner.Write(value);
}

/// <summary>How the lab starts local programs.</summary>
internal static class ProcessStarter
{
    /// <summary>
    /// Starts <paramref name="file"/> with its standard streams redirected, in a session of its own:
    /// setsid(1) execs it (the child of a fork is no group leader), so the pid is the program's. A
    /// Ctrl-C in the runner's terminal signals the terminal's process group, and the runner, not the
    /// terminal, must stop what it started, in order: a local ssh killed by the terminal leaves its
    /// remote command running, and a second Ctrl-C would kill the clean-up's own commands.
    /// </summary>
    public static Process Start(string file, IEnumerable<string> arguments)
    {
        var start = new ProcessStartInfo("setsid")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(file);
        foreach (string a in arguments)
            start.ArgumentList.Add(a);
        try
        {
            return Process.Start(start) ?? throw new LabException($"cannot start {file}");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new LabException($"cannot start {file}: {e.Message}");
        }
    }

    /// <summary>Runs <paramref name="work"/> on <paramref name="process"/>; interrupted, the process is killed first (a copy left running would finish after the clean-up).</summary>
    public static async Task EndOnInterruptAsync(Process process, Func<Task> work)
    {
        try
        {
            await work().ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            try
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
            }
            catch (InvalidOperationException)
            {
                // ended meanwhile
            }
            throw;
        }
    }
}
