namespace Dataplane.Cli;

/// <summary>One option of a command: <c>-c, --config FILE</c>.</summary>
/// <param name="Short">The one-letter form, used as <c>-c FILE</c> or <c>-cFILE</c>.</param>
/// <param name="Long">The long form, used as <c>--config FILE</c> or <c>--config=FILE</c>.</param>
/// <param name="ValueName">The value's name in help; null for a flag.</param>
/// <param name="Help">One line for the command's help.</param>
internal sealed record CommandOption(char Short, string Long, string? ValueName, string Help)
{
    /// <summary>-h, --help, which every command takes.</summary>
    public static CommandOption HelpOption { get; } = new('h', "help", null, "print this help and exit");

    /// <summary>The option as help lists it, padded to <paramref name="width"/>.</summary>
    public string Synopsis(int width)
    {
        string s = $"-{Short}, --{Long}" + (ValueName is null ? "" : " " + ValueName);
        return s.PadRight(width);
    }
}

/// <summary>A command line after its options are read: option values by long name, then the operands.</summary>
internal sealed class CommandOptions
{
    private readonly Dictionary<string, string?> _values = new(StringComparer.Ordinal);

    /// <summary>The arguments that are not options, in order.</summary>
    public List<string> Operands { get; } = [];

    /// <summary>True when -h or --help was given.</summary>
    public bool Help => _values.ContainsKey(CommandOption.HelpOption.Long);

    /// <summary>The value of the option with long name <paramref name="longName"/>, or null when not given.</summary>
    public string? Get(string longName) => _values.GetValueOrDefault(longName);

    /// <summary>
    /// Reads <paramref name="args"/> against <paramref name="options"/> (plus -h/--help). With
    /// <paramref name="firstOperandEndsOptions"/> the first operand and all after it are operands,
    /// so <c>ctl netstat -s</c> passes -s to the ctl command. Null, with the error written, on a
    /// usage error.
    /// </summary>
    public static CommandOptions? Parse(string command, ReadOnlySpan<string> args, IReadOnlyList<CommandOption> options, bool firstOperandEndsOptions, TextWriter stderr)
    {
        var result = new CommandOptions();
        for (int i = 0; i < args.Length; i++)
        {
            string arg = args[i];
            if (arg == "--")
            {
                result.Operands.AddRange(args[(i + 1)..]);
                break;
            }
            if (arg.Length < 2 || arg[0] != '-')
            {
                if (firstOperandEndsOptions)
                {
                    result.Operands.AddRange(args[i..]);
                    break;
                }
                result.Operands.Add(arg);
                continue;
            }

            CommandOption? option;
            string? inlineValue = null;
            string written;
            if (arg.StartsWith("--", StringComparison.Ordinal))
            {
                int eq = arg.IndexOf('=', StringComparison.Ordinal);
                string name = eq < 0 ? arg[2..] : arg[2..eq];
                written = "--" + name;
                if (eq >= 0)
                    inlineValue = arg[(eq + 1)..];
                option = Find(options, o => o.Long == name);
            }
            else
            {
                written = arg[..2];
                if (arg.Length > 2)
                    inlineValue = arg[2..];
                option = Find(options, o => o.Short == arg[1]);
            }

            if (option is null)
                return Usage(stderr, command, $"unknown option '{written}'");
            if (option.ValueName is null)
            {
                if (inlineValue is not null)
                    return Usage(stderr, command, $"option '{written}' takes no value");
                result._values[option.Long] = null;
                continue;
            }
            string? value = inlineValue;
            if (value is null)
            {
                if (i + 1 >= args.Length)
                    return Usage(stderr, command, $"option '{written}' needs a value ({option.ValueName})");
                value = args[++i];
            }
            if (!result._values.TryAdd(option.Long, value))
                return Usage(stderr, command, $"option '{written}' given twice");
        }
        return result;
    }

    /// <summary>Writes <c>dataplane: MESSAGE</c> and the hint to the command's help; always null.</summary>
    public static CommandOptions? Usage(TextWriter stderr, string? command, string message)
    {
        WriteUsageError(stderr, command, message);
        return null;
    }

    /// <summary>Writes a usage error and the hint that names the help to read.</summary>
    public static int WriteUsageError(TextWriter stderr, string? command, string message)
    {
        stderr.WriteLine($"dataplane: {message}");
        stderr.WriteLine(command is null ? "try 'dataplane --help'" : $"try 'dataplane {command} --help'");
        return ExitCodes.Usage;
    }

    private static CommandOption? Find(IReadOnlyList<CommandOption> options, Func<CommandOption, bool> match)
    {
        if (match(CommandOption.HelpOption))
            return CommandOption.HelpOption;
        foreach (CommandOption o in options)
        {
            if (match(o))
                return o;
        }
        return null;
    }

    /// <summary>The Options section of a command's help.</summary>
    public static string Describe(IReadOnlyList<CommandOption> options)
    {
        var all = options.Append(CommandOption.HelpOption).ToList();
        int width = all.Max(o => o.Synopsis(0).Length) + 2;
        return string.Concat(all.Select(o => "  " + o.Synopsis(width) + o.Help + "\n"));
    }
}
