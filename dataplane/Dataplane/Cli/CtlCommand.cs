namespace Dataplane.Cli;

/// <summary><c>dataplane ctl [-s PATH] COMMAND</c>: talks to a running dataplane.</summary>
internal static class CtlCommand
{
    /// <summary>The command's name.</summary>
    public const string Name = "ctl";

    /// <summary>The line of the top-level help.</summary>
    public const string Summary = "inspect a running dataplane over its control socket";

    /// <summary>Where run serves and ctl connects unless -s says otherwise.</summary>
    public const string DefaultSocket = "/run/dataplane.sock";

    /// <summary>How long ctl waits for a capture's reply: the server's 10 s and the writing, with room.</summary>
    private const int CaptureTimeoutMilliseconds = 30_000;

    private static readonly CommandOption[] Options =
    [
        new('s', "socket", "PATH", $"the control socket of the running instance (default {DefaultSocket})"),
    ];

    /// <summary>The ctl commands: the words, the operands after them, and one line of help.</summary>
    private static readonly (string Words, string Operands, string Help)[] Commands =
    [
        ("ifconfig", "", "ports and vlans: addresses, MTU, link, queues, offloads, counters, a capture running"),
        ("netstat -s", "", "protocol counters, every drop under its own name"),
        ("netstat -an", "", "sockets: listening and connected, with addresses and states"),
        ("route show", "[-inet | -inet6]", "the inet and inet6 routing tables"),
        ("route add", "[-inet | -inet6] DESTINATION GATEWAY", "add a static route (DESTINATION: default, A.B.C.D/N, X::/N or a host)"),
        ("route delete", "[-inet | -inet6] DESTINATION", "delete a static route"),
        ("arp -a", "", "the ARP cache"),
        ("ndp -a", "", "the IPv6 neighbour cache"),
        ("stats --json", "", "every counter as one JSON object, for scripts"),
        ("capture", "PORT FILE.pcapng [COUNT]", "write frames seen on PORT to FILE (pcapng), COUNT of them (default 100) or what 10 s bring"),
        ("iperf3", "-c HOST [OPTIONS]", "an iperf3 test to a stock 'iperf3 -s' (-p -t -n -k -P -R --bidir -u -b -l -O -J --connect-timeout --rcv-timeout ...)"),
    ];

    /// <summary>The full help of the command.</summary>
    public static string Help => $"""
        usage: dataplane ctl [-s PATH] COMMAND

        Query a running 'dataplane run' over its control socket.

        Options:
        {CommandOptions.Describe(Options)}
        Commands:
        {string.Concat(Commands.Select(c => "  " + Synopsis(c).PadRight(Commands.Max(d => Synopsis(d).Length) + 2) + c.Help + "\n"))}
        """;

    private static string Synopsis((string Words, string Operands, string Help) c) => $"{c.Words} {c.Operands}".Trim();

    /// <summary>Runs the command on the arguments after its name.</summary>
    public static int Run(ReadOnlySpan<string> args, TextWriter stdout, TextWriter stderr)
    {
        if (CommandOptions.Parse(Name, args, Options, firstOperandEndsOptions: true, stderr) is not { } options)
            return ExitCodes.Usage;
        if (options.Help || options.Operands.Any(o => o is "-h" or "--help"))
        {
            stdout.Write(Help);
            return ExitCodes.Ok;
        }
        if (options.Operands.Count == 0)
            return CommandOptions.WriteUsageError(stderr, Name, "ctl needs a command, e.g. 'dataplane ctl ifconfig'");
        if (Validate(options.Operands) is { } error)
            return CommandOptions.WriteUsageError(stderr, Name, error);
        string socket = options.Get(Options[0].Long) ?? DefaultSocket;
        if (options.Operands[0] == "capture")
        {
            // The server runs in another directory: send it the file as an absolute path. A
            // capture lasts up to 10 s on the server, so wait longer than other commands do.
            string[] words = [.. options.Operands];
            words[2] = Path.GetFullPath(words[2]);
            if (words[2].Contains(' ', StringComparison.Ordinal) || words[2].Contains('\t', StringComparison.Ordinal))
                return CommandOptions.WriteUsageError(stderr, Name, $"ctl capture: the file name '{words[2]}' has a space or tab, which the control protocol cannot carry");
            return Control.ControlClient.Run(socket, words, stdout, stderr, CaptureTimeoutMilliseconds);
        }
        if (options.Operands[0] == "iperf3")
        {
            // The reply comes when the test is over: wait for its time and then some.
            Stack.Apps.Iperf3.Iperf3ClientOptions parsed = Control.Iperf3Command.Parse([.. options.Operands.Skip(1)], out _, out _)!;
            TimeSpan limit = Control.Iperf3Command.Limit(parsed) + TimeSpan.FromSeconds(10);
            return Control.ControlClient.Run(socket, options.Operands, stdout, stderr, (int)limit.TotalMilliseconds);
        }
        return Control.ControlClient.Run(socket, options.Operands, stdout, stderr);
    }

    /// <summary>Null when <paramref name="words"/> is one of the ctl commands, else what is wrong.</summary>
    internal static string? Validate(IReadOnlyList<string> words)
    {
        string verb = words[0];
        if (verb == "capture")
        {
            if (words.Count < 3)
                return "ctl capture needs PORT and FILE: capture PORT FILE.pcapng [COUNT]";
            if (words.Count > 4)
                return $"ctl capture: unexpected argument '{words[4]}'";
            if (words.Count == 4 && (!int.TryParse(words[3], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int count) || count < 1))
                return $"ctl capture: COUNT '{words[3]}' is not a positive number";
            return null;
        }
        if (verb == "route")
            return Control.RouteCommand.Validate(words) is { } routeError ? $"ctl {routeError}" : null;
        if (verb == "iperf3")
            return Control.Iperf3Command.Parse([.. words.Skip(1)], out _, out string? iperfError) is null ? $"ctl iperf3: {iperfError}" : null;
        string line = string.Join(' ', words);
        if (Commands.Any(c => c.Operands.Length == 0 && c.Words == line))
            return null;
        string[] forms = [.. Commands.Where(c => c.Words.Split(' ')[0] == verb).Select(c => $"'{c.Words}'")];
        if (forms.Length == 0)
            return $"unknown ctl command '{verb}'";
        string expected = Config.ConfigParser.Alternatives(forms);
        return words.Count == 1
            ? $"ctl {verb}: missing argument (expected {expected})"
            : $"ctl {verb}: unexpected '{string.Join(' ', words.Skip(1))}' (expected {expected})";
    }
}
