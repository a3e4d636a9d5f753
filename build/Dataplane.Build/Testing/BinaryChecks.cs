using System.Text.Json;
using System.Text.RegularExpressions;
using Dataplane.Labs;
using static Dataplane.Build.Commands;

namespace Dataplane.Build.Testing;

/// <summary>
/// The NativeAOT binary, published with no warnings (<c>./build.sh publish</c>) and then used as a
/// new user would: help, version, the example config, a config with three mistakes, a run on
/// memory ports stopped by SIGINT, ctl against a running instance. Each check is one result.
/// </summary>
internal sealed class BinaryChecks(Terminal terminal, Tally tally)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private readonly string _log = Path.Combine(Out, "binary.log");
    private int _passed, _failed;

    public void Run()
    {
        terminal.Step("NativeAOT binary");
        Directory.CreateDirectory(Out);
        if (Logged(_log, TimeSpan.FromMinutes(30), TimeSpan.FromSeconds(10), "./build.sh", ["publish"]) != 0)
        {
            Console.Out.WriteLine(Indented(File.ReadAllText(_log), 20));
            tally.Record("binary", 0, 1, 0, "publish failed or printed warnings");
            return;
        }
        if (Has("file"))
            Check("file says one ELF executable", () => Run("file", Binary).Output.Contains("ELF 64-bit LSB pie executable", StringComparison.Ordinal));
        else
            Check("the binary starts with the ELF magic", () => File.ReadAllBytes(Binary).AsSpan(1, 3).SequenceEqual("ELF"u8));
        Check("--help exits 0", () => Run(Binary, "--help").ExitCode == 0);
        Check("check --help exits 0", () => Run(Binary, "check", "--help").ExitCode == 0);
        Check("version exits 0", () => Run(Binary, "version").ExitCode == 0);
        // ./build.sh publish compiles with the static profile (build/Dataplane.Build/Pgo/) unless PGO=off.
        Check("version names the static profile the binary was compiled with", () => Environment.GetEnvironmentVariable("PGO") == "off"
            ? Run(Binary, "version").Output.Contains("\npgo: none", StringComparison.Ordinal)
            : Regex.IsMatch(Run(Binary, "version").Output, "\npgo: static profile dataplane-[0-9a-f]{16}\n"));
        Check("the example config checks clean", () => Run(Binary, "check", "-c", ExampleConfig).ExitCode == 0);

        string bad = Path.Combine(Out, "three-mistakes.conf");
        File.WriteAllLines(bad, ["port left driver tap ifname dpl0", "inet left 10.0.0.300/24", "port right driver afpacket", "inet right 10.0.2.1/24", "mtu left 70000"]);
        (int status, string errors) = Run(Binary, "check", "-c", bad);
        Check("three mistakes: exit 2", () => status == 2);
        Check("three mistakes: three FILE:LINE errors", () => errors.Split('\n').Count(l => Regex.IsMatch(l, $"^{Regex.Escape(bad)}:[0-9]+: ")) == 3);

        string memory = Path.Combine(Out, "memory.conf");
        File.WriteAllLines(memory, ["port m0 driver memory queues 2", "set cores 0-1"]);
        Check("run stops cleanly on SIGINT and prints counters", () => StopsOnSigint(memory));
        Check("ctl ifconfig and stats --json answer from a running dataplane", () => ServesCtl(memory));
        Console.Out.WriteLine($"    {_passed} checks of out/dataplane passed, {_failed} failed");
        tally.Record("binary", _passed, _failed, 0);
    }

    private void Check(string what, Func<bool> check)
    {
        bool ok;
        try
        {
            ok = check();
        }
        catch (Exception e) when (e is IOException or LabException or TimeoutException or InvalidOperationException)
        {
            File.AppendAllText(_log, $"{what}: {e.Message}\n");
            ok = false;
        }
        if (ok)
        {
            _passed++;
            return;
        }
        _failed++;
        Console.Out.WriteLine($"    {terminal.Red}FAILED: {what}{terminal.Reset}");
    }

    /// <summary>Runs a command, its output also to the log.</summary>
    private (int ExitCode, string Output) Run(string file, params string[] args)
    {
        (int code, string output) = Execute(file, args);
        File.AppendAllText(_log, $"$ {file} {string.Join(' ', args)}\n{output}exit {code}\n");
        return (code, output);
    }

    /// <summary>
    /// <c>run</c> on memory ports, stopped by SIGINT as Ctrl-C would: exit 0 with the final counters.
    /// (SIGINT at its default first: a program started from a background job of a shell inherits it ignored.)
    /// </summary>
    private bool StopsOnSigint(string config)
    {
        using var run = new LabProcess("env", ["--default-signal=INT", Binary, "run", "-c", config]);
        try
        {
            run.WaitForOutput("running:", Patience);
            _ = Tmds.Linux.LibC.kill(run.Id, (int)Signal.Int);
            return run.WaitForExit(Patience) == 0 && run.AllOutput.Contains("stopped; counters", StringComparison.Ordinal);
        }
        finally
        {
            File.AppendAllText(_log, $"$ {run.CommandLine}\n{run.AllOutput}");
        }
    }

    /// <summary><c>run</c> serves ctl on its socket while it runs, and removes the socket when it stops.</summary>
    private bool ServesCtl(string config)
    {
        string socket = Path.Combine(Out, "ctl.sock");
        using var run = new LabProcess(Binary, ["run", "-c", config, "-s", socket]);
        try
        {
            // The socket file appears at bind, a moment before it listens: wait for an answer.
            if (!NetnsLab.Until(() => Execute(Binary, "ctl", "-s", socket, "ifconfig").ExitCode == 0 || run.HasExited, Patience))
                return false;
            bool ifconfig = Regex.IsMatch(NetnsLab.Run(Binary, "ctl", "-s", socket, "ifconfig"), "(?m)^m0: flags=");
            bool json = IsJson(NetnsLab.Run(Binary, "ctl", "-s", socket, "stats", "--json"));
            run.Stop();
            return ifconfig && json && !File.Exists(socket);
        }
        finally
        {
            File.AppendAllText(_log, $"$ {run.CommandLine}\n{run.AllOutput}");
        }
    }

    private static bool IsJson(string text)
    {
        try
        {
            using JsonDocument _ = JsonDocument.Parse(text);
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
