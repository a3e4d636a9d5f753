namespace Dataplane.Cli;

/// <summary><c>dataplane run -c FILE</c>: runs the dataplane in the foreground.</summary>
internal static class RunCommand
{
    /// <summary>The command's name.</summary>
    public const string Name = "run";

    /// <summary>The line of the top-level help.</summary>
    public const string Summary = "run the dataplane in the foreground on the ports of a config file";

    private static readonly CommandOption[] Options =
    [
        CheckCommand.ConfigOption,
        new('s', "socket", "PATH", $"serve 'dataplane ctl' on the control socket PATH (default {CtlCommand.DefaultSocket})"),
    ];

    /// <summary>The full help of the command.</summary>
    public static string Help => $"""
        usage: dataplane run -c FILE [-s PATH]

        Run the dataplane in the foreground. FILE is checked first, as 'dataplane check' does; a
        config with errors changes nothing and exits 2. Then run takes the ports FILE names, starts
        one loop on each CPU of 'set cores' and serves until SIGINT or SIGTERM, which give the ports
        back, print the counters and exit 0. Inspect a running instance with 'dataplane ctl'.

        Options:
        {CommandOptions.Describe(Options)}
        {CheckCommand.ConfigSyntax}
        """;

    /// <summary>Runs the command on the arguments after its name.</summary>
    public static int Run(ReadOnlySpan<string> args, TextWriter stdout, TextWriter stderr)
    {
        if (CommandOptions.Parse(Name, args, Options, firstOperandEndsOptions: false, stderr) is not { } options)
            return ExitCodes.Usage;
        if (options.Help)
        {
            stdout.Write(Help);
            return ExitCodes.Ok;
        }
        if (options.Operands.Count > 0)
            return CommandOptions.WriteUsageError(stderr, Name, $"unexpected argument '{options.Operands[0]}'");
        if (options.Get(CheckCommand.ConfigOption.Long) is not { } path)
            return CommandOptions.WriteUsageError(stderr, Name, "run needs a config file: -c FILE");
        if (!CheckCommand.TryLoadValid(path, stderr, out Config.DataplaneConfig? config))
            return ExitCodes.Usage;
        string socket = options.Get(Options[1].Long) ?? CtlCommand.DefaultSocket;
        return new Runtime.DataplaneHost(config, stdout, stderr, socket).Run(CancellationToken.None);
    }
}
