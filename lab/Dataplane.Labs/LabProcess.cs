using System.Diagnostics;
using System.Text;

namespace Dataplane.Labs;

/// <summary>The signals the lab sends to the processes it started.</summary>
public enum Signal
{
    /// <summary>SIGINT: how a terminal stops a tool; iperf3 and the dataplane end cleanly on it.</summary>
    Int = 2,

    /// <summary>SIGKILL.</summary>
    Kill = 9,

    /// <summary>SIGTERM: tcpdump flushes its file on it.</summary>
    Term = 15,
}

/// <summary>
/// A process the lab started: its standard output and error collected (each apart, and both in the
/// order they came, copied to a log as they come), stopped only by the pid it was started with and
/// what that process started (over ssh: the remote process group it was started in). Waits come in
/// two forms: the asynchronous ones the runners use, which an interrupt cuts short, and the blocking
/// ones of the tests, which throw when their bound passes.
/// </summary>
public sealed class LabProcess : IDisposable, IAsyncDisposable
{
    private readonly Process _process;
    private readonly Host? _host;
    private readonly string? _remoteGroupFile;
    private readonly StringBuilder _output = new();
    private readonly StringBuilder _error = new();
    private readonly StringBuilder _all = new();
    private readonly TextWriter? _log;
    private readonly Task _readers;
    private int _disposing;
    private volatile int _disposed;
    private int _exitCode = -1;

    /// <summary>
    /// Starts <paramref name="file"/> with <paramref name="args"/> here. With <paramref name="input"/>
    /// its standard input is <see cref="Input"/>, otherwise closed (no tool reads a terminal). With
    /// <paramref name="ownSession"/> it runs in a session of its own (setsid), so that a Ctrl-C in the
    /// terminal reaches the program that started it and not it: that program stops it, in order.
    /// </summary>
    public LabProcess(string file, IEnumerable<string> args, TextWriter? log = null, bool input = false, bool ownSession = false)
        : this(null, file, [.. args], log, input, ownSession, null)
    {
    }

    private LabProcess(Host? host, string file, string[] args, TextWriter? log, bool input, bool ownSession, string? remoteGroupFile)
    {
        _host = host;
        _log = log;
        _remoteGroupFile = remoteGroupFile;
        CommandLine = $"{file} {string.Join(' ', args)}";
        _process = ProcessStarter.Start(file, args, ownSession);
        if (!input)
            _process.StandardInput.Close();
        _readers = Task.WhenAll(Pump(_process.StandardOutput, _output), Pump(_process.StandardError, _error));
    }

    /// <summary>
    /// How long its output may trail its end: each stream is read on a thread of its own (a busy
    /// thread pool would leave what a short command printed unread when it is asked for), and a
    /// loaded machine may still schedule the reader late; longer, and something it started holds
    /// the output open.
    /// </summary>
    private static readonly TimeSpan OutputGrace = TimeSpan.FromSeconds(10);

    /// <summary>Starts <paramref name="command"/> through <c>sh -c</c> on <paramref name="host"/>, in a session of its own.</summary>
    internal static LabProcess Start(Host host, string command, TextWriter? log, string? remoteGroupFile = null)
    {
        (string file, string[] arguments) = host.Wrap(command);
        return new LabProcess(host, file, arguments, log, input: false, ownSession: true, remoteGroupFile);
    }

    /// <summary>What was started.</summary>
    public string CommandLine { get; }

    /// <summary>The local pid (of the program, which <c>ip netns exec</c> and setsid exec; of ssh for a remote host).</summary>
    public int Id => _process.Id;

    /// <summary>Its standard input, when it was started with one (lines are flushed as written).</summary>
    public StreamWriter Input
    {
        get
        {
            StreamWriter writer = _process.StandardInput;
            writer.AutoFlush = true;
            return writer;
        }
    }

    /// <summary>Standard output so far.</summary>
    public string Output
    {
        get
        {
            lock (_all)
                return _output.ToString();
        }
    }

    /// <summary>Standard error so far.</summary>
    public string Error
    {
        get
        {
            lock (_all)
                return _error.ToString();
        }
    }

    /// <summary>Standard output and error so far, interleaved as they came.</summary>
    public string AllOutput
    {
        get
        {
            lock (_all)
                return _all.ToString();
        }
    }

    /// <summary>Whether it has ended (or was stopped and disposed).</summary>
    public bool HasExited => _disposed != 0 || _process.HasExited;

    /// <summary>Its exit code once ended; 128+N when signal N ended it; -1 when it could not be ended.</summary>
    public int ExitCode => _disposed != 0 ? _exitCode : _process.ExitCode;

    private Task Pump(StreamReader reader, StringBuilder own) => Task.Factory.StartNew(() =>
    {
        bool logging = _log is not null;
        while (reader.ReadLine() is string line)
        {
            lock (_all)
            {
                own.Append(line).Append('\n');
                _all.Append(line).Append('\n');
                try
                {
                    if (logging)
                        _log!.WriteLine(line);
                }
                catch (ObjectDisposedException)
                {
                    logging = false; // the log was closed before the process ended (an interrupted run): keep collecting
                }
            }
        }
    }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

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
            await _readers.WaitAsync(OutputGrace, CancellationToken.None).ConfigureAwait(false);
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

    /// <summary>Waits for it to end and its output to be read; its exit code. Throws <see cref="TimeoutException"/> (with its output) after <paramref name="timeout"/>.</summary>
    public int WaitForExit(TimeSpan timeout)
    {
        if (_disposed != 0)
            return _exitCode;
        if (!_process.WaitForExit(timeout))
            throw new TimeoutException($"{CommandLine}: no exit after {timeout.TotalSeconds} s: {Error}{Output}");
        // Ended; the readers take what is left (something it started may hold the output open).
        _ = _readers.Wait(OutputGrace);
        return _process.ExitCode;
    }

    /// <summary>
    /// Waits until its output (standard output or error) holds <paramref name="text"/> (true), it
    /// ends or the time is up (false); <see cref="OperationCanceledException"/> when
    /// <paramref name="cancel"/> fires first.
    /// </summary>
    public async Task<bool> WaitForOutputAsync(string text, TimeSpan timeout, CancellationToken cancel = default)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            if (AllOutput.Contains(text, StringComparison.Ordinal))
                return true;
            if (HasExited)
            {
                // It ended: what it wrote last may still be on its way to the readers.
                try
                {
                    await _readers.WaitAsync(OutputGrace, cancel).ConfigureAwait(false);
                }
                catch (TimeoutException)
                {
                    // Something it started holds its output open: judge what came.
                }
                return AllOutput.Contains(text, StringComparison.Ordinal);
            }
            await Task.Delay(50, cancel).ConfigureAwait(false);
        }
        return AllOutput.Contains(text, StringComparison.Ordinal);
    }

    /// <summary>Waits until standard output or error holds <paramref name="text"/>; throws <see cref="TimeoutException"/> (with its output) when it ends first or after <paramref name="timeout"/>.</summary>
    public void WaitForOutput(string text, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        if (!WaitForOutputAsync(text, timeout).GetAwaiter().GetResult())
            throw new TimeoutException($"{CommandLine}: no '{text}' after {clock.Elapsed.TotalSeconds:0.0} s: {Error}{Output}");
    }

    /// <summary>
    /// Stops it: <paramref name="first"/> (SIGINT by default, then SIGTERM), then SIGKILL to it and
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

    /// <summary>Asks it to end with SIGTERM (tcpdump then flushes its file) and waits; SIGKILL after 5 s.</summary>
    public void Stop() => Stop(TimeSpan.FromSeconds(5), Signal.Term);

    /// <summary>Stops it as <see cref="StopAsync"/> does, blocking; its exit code.</summary>
    public int Stop(TimeSpan grace, Signal first) => StopAsync(grace, first).GetAwaiter().GetResult();

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
        // The signal's own command has no group file: when it does not end in time (a connection
        // that hangs), stopping it is local, and cannot call for yet another signal command, and
        // that one for another, 30 s each, without end.
        try
        {
            await using LabProcess send = Start(_host!, $"g=$(cat {_remoteGroupFile} 2>/dev/null) && [ -n \"$g\" ] && kill -{(int)signal} -$g 2>/dev/null; " +
                $"[ {(int)signal} != 9 ] || rm -f {_remoteGroupFile}", null);
            if (!await send.WaitAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false))
                await send.StopAsync(TimeSpan.FromSeconds(2), Signal.Term).ConfigureAwait(false);
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

    /// <summary>Stops it if it still runs (SIGTERM, SIGKILL after 5 s). A second call does nothing: an interrupted test's clean-up may come after its own.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposing, 1) != 0)
            return;
        try
        {
            if (!_process.HasExited)
            {
                _exitCode = await StopAsync(TimeSpan.FromSeconds(5), Signal.Term).ConfigureAwait(false);
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

    /// <inheritdoc cref="DisposeAsync"/>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();
}
