using System.Diagnostics;

namespace Dataplane.Packetdrill.Tests;

/// <summary>
/// The scripts in scripts/, run by packetdrill itself against the library in its so_filename mode:
/// the packetdrill named by $PACKETDRILL, or the one on the PATH; skipped when there is none
/// (packetdrill is not packaged by Debian; the README says how to build it).
/// </summary>
[Collection(LibraryCollection.Name)]
public sealed class PacketdrillScriptTests(PacketdrillLibrary library)
{
    /// <summary>The local address the library takes by default, which packetdrill must be told.</summary>
    public const string LocalIp = "192.168.0.2";

    public static TheoryData<string> Scripts()
    {
        var data = new TheoryData<string>();
        foreach (string path in Directory.EnumerateFiles(Path.Combine(PacketdrillLibrary.Root, "tests/Dataplane.Packetdrill.Tests/scripts"), "*.pkt").Order(StringComparer.Ordinal))
            data.Add(Path.GetFileName(path));
        return data;
    }

    [SkippableTheory]
    [MemberData(nameof(Scripts))]
    public void Script_passes(string script)
    {
        _ = library; // published and loadable
        string? packetdrill = Find();
        Skip.If(packetdrill is null, "no packetdrill: set PACKETDRILL or put it on the PATH (see README.md)");
        var start = new ProcessStartInfo(packetdrill!)
        {
            WorkingDirectory = Path.Combine(PacketdrillLibrary.Root, "tests/Dataplane.Packetdrill.Tests/scripts"),
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (string a in (string[])[$"--so_filename={PacketdrillLibrary.Path}", $"--local_ip={LocalIp}", script])
            start.ArgumentList.Add(a);
        using Process run = Process.Start(start)!;
        Task<string> output = run.StandardOutput.ReadToEndAsync();
        Task<string> errors = run.StandardError.ReadToEndAsync();
        if (!run.WaitForExit(TimeSpan.FromSeconds(60)))
        {
            run.Kill(entireProcessTree: true);
            Assert.Fail($"packetdrill {script} ran over 60 s");
        }
        Assert.True(run.ExitCode == 0, $"packetdrill {script}: exit {run.ExitCode}\n{output.Result}{errors.Result}");
    }

    private static string? Find()
    {
        string? named = Environment.GetEnvironmentVariable("PACKETDRILL");
        if (!string.IsNullOrEmpty(named))
            return File.Exists(named) ? named : null;
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = Path.Combine(dir, "packetdrill");
            if (File.Exists(candidate))
                return candidate;
        }
        return null;
    }
}
