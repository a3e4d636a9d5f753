using System.Diagnostics;

namespace Dataplane.Labs;

/// <summary>
/// The lab's blocking commands, bounded in time: run, run inside a namespace, run and ignore a
/// failure, find a missing tool, wait for a condition. The bounds are safety nets for a loaded
/// machine, not measures: a command ends when it is done, and one that hangs fails. Each runs in a
/// session of its own: a Ctrl-C meant for the program that runs it does not cut a set-up or clean-up
/// step short (the program decides what to do about the interrupt once the step has ended).
/// </summary>
public partial class NetnsLab
{
    /// <summary>Runs <paramref name="file"/> inside <paramref name="ns"/> with a 60-second limit; throws with its output if it fails.</summary>
    public static string RunIn(string ns, string file, params string[] args) => Run("ip", ["netns", "exec", ns, file, .. args]);

    /// <summary>Runs a command with a 60-second limit; its standard output. Throws <see cref="InvalidOperationException"/> with its output if it fails.</summary>
    public static string Run(string file, params string[] args)
    {
        using var process = new LabProcess(file, args, ownSession: true);
        int exit = process.WaitForExit(TimeSpan.FromSeconds(60));
        if (exit != 0)
            throw new InvalidOperationException($"{file} {string.Join(' ', args)}: exit {exit}: {process.Error}{process.Output}");
        return process.Output;
    }

    /// <summary>Runs a command with a 120-second limit; its exit code and its standard output followed by standard error, whatever they are.</summary>
    public static (int ExitCode, string Output) Execute(string file, params string[] args)
    {
        using var process = new LabProcess(file, args, ownSession: true);
        int exit = process.WaitForExit(TimeSpan.FromSeconds(120));
        return (exit, process.Output + process.Error);
    }

    /// <summary>Runs a command and ignores a failure: for clean-up.</summary>
    public static void Quietly(string file, params string[] args)
    {
        try
        {
            Run(file, args);
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException or LabException)
        {
        }
    }

    /// <summary>"TOOL is not installed: ./build.sh deps" for the first of <paramref name="tools"/> not on the path (or in /sbin, /usr/sbin), or null.</summary>
    public static string? Missing(params string[] tools)
    {
        string[] path = [.. (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(':', StringSplitOptions.RemoveEmptyEntries), "/usr/sbin", "/sbin"];
        foreach (string tool in tools)
        {
            if (!path.Any(dir => System.IO.File.Exists(Path.Combine(dir, tool))))
                return $"{tool} is not installed: ./build.sh deps";
        }
        return null;
    }

    /// <summary>Polls <paramref name="condition"/> every 10 ms until it holds (true) or <paramref name="limit"/> passes (false).</summary>
    public static bool Until(Func<bool> condition, TimeSpan limit)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > limit)
                return false;
            Thread.Sleep(10);
        }
        return true;
    }
}
