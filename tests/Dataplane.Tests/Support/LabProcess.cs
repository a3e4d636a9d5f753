using System.Diagnostics;
using System.Text;

namespace Dataplane.Tests;

/// <summary>A child process with its output collected; stopped by its own PID (SIGTERM, then SIGKILL) on dispose.</summary>
internal sealed class LabProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly StringBuilder _error = new();

    /// <summary>Starts <paramref name="file"/>; with <paramref name="input"/> its standard input is <see cref="Input"/>.</summary>
    public LabProcess(string file, IEnumerable<string> args, bool input = false)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = input };
        foreach (string arg in args)
            start.ArgumentList.Add(arg);
        CommandLine = $"{file} {string.Join(' ', args)}";
        _process = new Process { StartInfo = start };
        _process.OutputDataReceived += (_, e) => Append(_output, e.Data);
        _process.ErrorDataReceived += (_, e) => Append(_error, e.Data);
        _process.Start();
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    /// <summary>What was started.</summary>
    public string CommandLine { get; }

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

    /// <summary>The process id.</summary>
    public int Id => _process.Id;

    /// <summary>Whether it has exited.</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>Standard output so far.</summary>
    public string Output
    {
        get
        {
            lock (_output)
                return _output.ToString();
        }
    }

    /// <summary>Standard error so far.</summary>
    public string Error
    {
        get
        {
            lock (_error)
                return _error.ToString();
        }
    }

    /// <summary>Waits for it to exit and its output to be read; its exit code. Throws on timeout.</summary>
    public int WaitForExit(TimeSpan timeout)
    {
        if (!_process.WaitForExit(timeout))
            throw new TimeoutException($"{CommandLine}: no exit after {timeout.TotalSeconds} s: {Error}{Output}");
        _process.WaitForExit(); // drains the asynchronous output readers
        return _process.ExitCode;
    }

    /// <summary>Waits until standard output or error contains <paramref name="text"/>.</summary>
    public void WaitForOutput(string text, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (!Error.Contains(text, StringComparison.Ordinal) && !Output.Contains(text, StringComparison.Ordinal))
        {
            if (clock.Elapsed > timeout || _process.HasExited)
                throw new TimeoutException($"{CommandLine}: no '{text}' after {clock.Elapsed.TotalSeconds:0.0} s: {Error}{Output}");
            Thread.Sleep(20);
        }
    }

    /// <summary>Asks it to end (SIGTERM to its PID: tcpdump then flushes its file) and waits; SIGKILL after 5 s.</summary>
    public void Stop()
    {
        if (_process.HasExited)
            return;
        _ = Tmds.Linux.LibC.kill(_process.Id, Tmds.Linux.LibC.SIGTERM);
        if (!_process.WaitForExit(5000))
            _process.Kill(entireProcessTree: false);
        _process.WaitForExit();
    }

    public void Dispose()
    {
        try
        {
            Stop();
        }
        catch (InvalidOperationException)
        {
            // Never started or already reaped.
        }
        _process.Dispose();
    }

    private static void Append(StringBuilder text, string? line)
    {
        if (line is null)
            return;
        lock (text)
            text.Append(line).Append('\n');
    }
}
