namespace Dataplane.Cli;

/// <summary>The entry point of the <c>dataplane</c> binary: finds the command and runs it.</summary>
internal static class CommandLine
{
    /// <summary>A command: its name, its line in the top-level help, its full help and its body.</summary>
    private sealed record Command(string Name, string Summary, Func<string> Help, RunBody Run);

    /// <summary>A command's body, given the arguments after its name.</summary>
    private delegate int RunBody(ReadOnlySpan<string> args, TextWriter stdout, TextWriter stderr);

    private static readonly Command[] Commands =
    [
        new(RunCommand.Name, RunCommand.Summary, () => RunCommand.Help, RunCommand.Run),
        new(CheckCommand.Name, CheckCommand.Summary, () => CheckCommand.Help, CheckCommand.Run),
        new(CtlCommand.Name, CtlCommand.Summary, () => CtlCommand.Help, CtlCommand.Run),
        new(BenchCommand.Name, BenchCommand.Summary, () => BenchCommand.Help, BenchCommand.Run),
        new(VersionCommand.Name, VersionCommand.Summary, () => VersionCommand.Help, VersionCommand.Run),
        new("help", "print this help, or the full help of COMMAND", () => Usage, RunHelp),
    ];

    /// <summary>The top-level help: every command with one line.</summary>
    public static string Usage => $"""
        usage: dataplane COMMAND [OPTIONS]

        A userspace network stack and packet processor: it takes the ports a config file names
        and forwards, relays and serves TCP and UDP on them, one run-to-completion loop per core.

        Commands:
        {string.Concat(Commands.Select(c => $"  {(c.Name == "help" ? "help [COMMAND]" : c.Name),-16}{c.Summary}\n"))}
        Options:
          -h, --help      print this help and exit
              --version   print the version and exit

        'dataplane COMMAND --help' documents every option of COMMAND.
        Exit status: 0 ok, 1 runtime failure, 2 usage or config error.

        """;

    /// <summary>Runs the command line <paramref name="args"/>; returns the exit status.</summary>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        try
        {
            return Dispatch(args, stdout, stderr);
        }
        catch (Exception e)
        {
            stderr.WriteLine($"dataplane: internal error: {e.GetType().Name}: {e.Message}");
            return ExitCodes.Failure;
        }
    }

    private static int Dispatch(string[] args, TextWriter stdout, TextWriter stderr)
    {
        if (args.Length == 0)
        {
            stderr.Write(Usage);
            return ExitCodes.Usage;
        }
        string first = args[0];
        switch (first)
        {
            case "-h" or "--help":
                return RunHelp(args.AsSpan(1), stdout, stderr);
            case "--version":
                return VersionCommand.Run(args.AsSpan(1), stdout, stderr);
        }
        if (first.StartsWith('-') && first.Length > 1)
            return CommandOptions.WriteUsageError(stderr, null, $"unknown option '{first}'");
        foreach (Command c in Commands)
        {
            if (c.Name == first)
                return c.Run(args.AsSpan(1), stdout, stderr);
        }
        return CommandOptions.WriteUsageError(stderr, null, $"unknown command '{first}'");
    }

    // help [COMMAND], also reached as --help [COMMAND]
    private static int RunHelp(ReadOnlySpan<string> args, TextWriter stdout, TextWriter stderr)
    {
        if (args.Length == 0)
        {
            stdout.Write(Usage);
            return ExitCodes.Ok;
        }
        if (args.Length > 1)
            return CommandOptions.WriteUsageError(stderr, null, $"unexpected argument '{args[1]}'");
        foreach (Command c in Commands)
        {
            if (c.Name == args[0])
            {
                stdout.Write(c.Help());
                return ExitCodes.Ok;
            }
        }
        return CommandOptions.WriteUsageError(stderr, null, $"unknown command '{args[0]}'");
    }
}
