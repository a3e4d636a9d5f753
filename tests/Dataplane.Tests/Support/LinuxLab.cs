using System.Diagnostics;

namespace Dataplane.Tests;

/// <summary>
/// The network namespaces, interfaces, processes and scratch files of one root-only test, all
/// removed on dispose, and the commands that build them. Names are <c>dpt&lt;pid&gt;&lt;kind&gt;&lt;n&gt;</c>
/// (at most 15 bytes, an interface name's limit) so parallel tests and parallel runs do not
/// collide; every process started is stopped by its own PID. The labs of the driver and stack
/// tests build on it.
/// </summary>
internal class LinuxLab : IDisposable
{
    private static int s_counter;
    private readonly List<string> _namespaces = [];
    private readonly List<string> _links = [];
    private readonly List<LabProcess> _processes = [];
    private readonly string _directory;

    public LinuxLab()
    {
        _directory = Directory.CreateTempSubdirectory($"dpt{Environment.ProcessId}-").FullName;
    }

    /// <summary>A fresh interface or namespace name of at most 15 bytes.</summary>
    public static string UniqueName(char kind) =>
        $"dpt{Environment.ProcessId}{kind}{Interlocked.Increment(ref s_counter)}";

    /// <summary>A scratch file path in the lab's directory (removed on dispose).</summary>
    public string File(string name) => Path.Combine(_directory, name);

    /// <summary>A new network namespace with its loopback up, deleted on dispose (with every interface in it).</summary>
    public string Namespace()
    {
        string ns = UniqueName('n');
        Run("ip", "netns", "add", ns);
        _namespaces.Add(ns);
        Run("ip", "-n", ns, "link", "set", "lo", "up");
        return ns;
    }

    /// <summary>A veth pair made in this namespace, <paramref name="name"/> and <paramref name="peer"/>, deleted on dispose if still here.</summary>
    public void Veth(string name, string peer)
    {
        Run("ip", "link", "add", name, "type", "veth", "peer", "name", peer);
        _links.Add(name);
    }

    /// <summary>Starts <paramref name="file"/> inside <paramref name="ns"/> in the background; stopped by PID on dispose.</summary>
    public LabProcess StartIn(string ns, string file, params string[] args) => Track(new LabProcess("ip", ["netns", "exec", ns, file, .. args]));

    /// <summary>
    /// Starts <paramref name="file"/> inside <paramref name="ns"/> with its standard input ours
    /// (<see cref="LabProcess.Input"/>); stopped by PID on dispose.
    /// </summary>
    public LabProcess StartWithInputIn(string ns, string file, params string[] args) =>
        Track(new LabProcess("ip", ["netns", "exec", ns, file, .. args], input: true));

    /// <summary>Runs <paramref name="file"/> inside <paramref name="ns"/> with a 20-second limit; throws with its output if it fails.</summary>
    public static string RunIn(string ns, string file, params string[] args) => Run("ip", ["netns", "exec", ns, file, .. args]);

    /// <summary>Runs a command with a 20-second limit; its standard output. Throws with its output if it fails.</summary>
    public static string Run(string file, params string[] args)
    {
        using var process = new LabProcess(file, args);
        int exit = process.WaitForExit(TimeSpan.FromSeconds(20));
        if (exit != 0)
            throw new InvalidOperationException($"{file} {string.Join(' ', args)}: exit {exit}: {process.Error}{process.Output}");
        return process.Output;
    }

    /// <summary>Runs a command with a 30-second limit; its exit code and its standard output followed by standard error, whatever they are.</summary>
    public static (int ExitCode, string Output) Execute(string file, params string[] args)
    {
        using var process = new LabProcess(file, args);
        int exit = process.WaitForExit(TimeSpan.FromSeconds(30));
        return (exit, process.Output + process.Error);
    }

    /// <summary>Runs a command and ignores a failure: for clean-up.</summary>
    public static void Quietly(string file, params string[] args)
    {
        try
        {
            Run(file, args);
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException)
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

    /// <summary>Stops every process (by its PID), deletes the interfaces and namespaces, removes the files.</summary>
    public virtual void Dispose()
    {
        foreach (LabProcess process in _processes)
            process.Dispose();
        _processes.Clear();
        foreach (string link in _links)
        {
            if (Native.LinkControl.Exists(link)) // moved into a namespace, it goes with the namespace
                Quietly("ip", "link", "del", link);
        }
        foreach (string ns in _namespaces)
            Quietly("ip", "netns", "del", ns);
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
        GC.SuppressFinalize(this);
    }

    private LabProcess Track(LabProcess process)
    {
        _processes.Add(process);
        return process;
    }
}
