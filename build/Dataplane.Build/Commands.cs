using System.Diagnostics;
using Dataplane.Labs;

namespace Dataplane.Build;

/// <summary>
/// The repository's layout and build settings, and how the tool runs other programs. Children stay
/// in the tool's process group (no sessions of their own): a Ctrl-C in the terminal reaches them as
/// it reaches the tool, as it reached build.sh's, and the programs that keep labs (the conformance
/// runner, the main job) remove theirs on it.
/// </summary>
internal static class Commands
{
    /// <summary>The build configuration.</summary>
    public const string Configuration = "Release";

    /// <summary>The solution.</summary>
    public const string Solution = "Dataplane.sln";

    /// <summary>The repository's root: the tool runs in it.</summary>
    public static string Root { get; } = Directory.GetCurrentDirectory();

    /// <summary>Build outputs, logs and results: <c>out/</c>.</summary>
    public static string Out { get; } = Path.Combine(Root, "out");

    /// <summary>The published binary.</summary>
    public static string Binary { get; } = Path.Combine(Out, "dataplane");

    /// <summary>The conformance runner, which also runs the main job.</summary>
    public static string Conformance { get; } = Path.Combine(Root, "conformance/Dataplane.Conformance/bin", Configuration, "net10.0/dataplane-conformance.dll");

    /// <summary>The shipped example config.</summary>
    public static string ExampleConfig { get; } = Path.Combine(Root, "dataplane/Dataplane/examples/dataplane.conf");

    /// <summary>
    /// MSBuild's switches, as build.sh gives them: no node outlives the command (it would hold memory
    /// on a 2-core box); in CI no live progress display and no compiler server left running.
    /// </summary>
    public static string[] MsBuild { get; } = Environment.GetEnvironmentVariable("CI") == "true"
        ? ["-nodeReuse:false", "-nologo", "-v:minimal", "-tl:off", "-p:UseSharedCompilation=false"]
        : ["-nodeReuse:false", "-nologo", "-v:minimal"];

    /// <summary>Runs <paramref name="file"/> with the terminal (its output as it comes); its exit status.</summary>
    public static int Attached(string file, params string[] args)
    {
        var start = new ProcessStartInfo(file) { UseShellExecute = false };
        foreach (string a in args)
            start.ArgumentList.Add(a);
        try
        {
            using Process process = Process.Start(start)!;
            process.WaitForExit();
            return process.ExitCode;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            Console.Error.WriteLine($"cannot start {file}: {e.Message}");
            return 127;
        }
    }

    /// <summary>
    /// Runs a command with its output and errors to <paramref name="log"/> (appended to, when
    /// <paramref name="append"/>), bounded: SIGTERM after <paramref name="limit"/>, SIGKILL
    /// <paramref name="grace"/> later, as timeout(1) would. Its exit status, 124 when it timed out,
    /// 127 when it could not be started.
    /// </summary>
    public static int Logged(string log, TimeSpan limit, TimeSpan grace, string file, string[] args, bool append = false)
    {
        using var writer = new StreamWriter(log, append) { AutoFlush = true };
        TextWriter synchronized = TextWriter.Synchronized(writer);
        LabProcess process;
        try
        {
            process = new LabProcess(file, args, synchronized);
        }
        catch (LabException e)
        {
            synchronized.WriteLine(e.Message);
            return 127;
        }
        using (process)
        {
            if (process.WaitAsync(limit).GetAwaiter().GetResult())
                return process.ExitCode;
            process.StopAsync(grace, Signal.Term).GetAwaiter().GetResult();
            return 124;
        }
    }

    /// <summary>Runs a command, bounded (<see cref="NetnsLab.Execute"/>); its exit status and output, whatever they are.</summary>
    public static (int ExitCode, string Output) Execute(string file, params string[] args)
    {
        try
        {
            return NetnsLab.Execute(file, args);
        }
        catch (LabException e)
        {
            return (127, e.Message);
        }
    }

    /// <summary>The last <paramref name="count"/> lines of <paramref name="text"/>, each indented by four spaces.</summary>
    public static string Indented(string text, int count = int.MaxValue, bool skipBlank = false)
    {
        IEnumerable<string> lines = text.Replace("\r", "", StringComparison.Ordinal).TrimEnd('\n').Split('\n');
        if (skipBlank)
            lines = lines.Where(l => l.Trim().Length > 0);
        string[] all = [.. lines];
        return string.Join('\n', all.Skip(Math.Max(0, all.Length - count)).Select(l => "    " + l));
    }

    /// <summary>Whether <paramref name="tool"/> is on the path.</summary>
    public static bool Has(string tool) => NetnsLab.Missing(tool) is null;
}
