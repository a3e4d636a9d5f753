using System.Diagnostics;

namespace Dataplane.Labs;

/// <summary>How the lab starts local programs.</summary>
internal static class ProcessStarter
{
    /// <summary>
    /// Starts <paramref name="file"/> with its standard streams redirected; with
    /// <paramref name="ownSession"/> in a session of its own: setsid(1) execs it (the child of a fork
    /// is no group leader), so the pid is the program's. A Ctrl-C in the runner's terminal signals
    /// the terminal's process group, and the runner, not the terminal, must stop what it started, in
    /// order: a local ssh killed by the terminal leaves its remote command running, and a second
    /// Ctrl-C would kill the clean-up's own commands.
    /// </summary>
    public static Process Start(string file, IEnumerable<string> arguments, bool ownSession = true)
    {
        var start = new ProcessStartInfo(ownSession ? "setsid" : file)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (ownSession)
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
