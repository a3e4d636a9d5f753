using Dataplane.Config;

namespace Dataplane.Cli;

/// <summary><c>dataplane check -c FILE</c>: validates a config without touching any port.</summary>
internal static class CheckCommand
{
    /// <summary>The command's name.</summary>
    public const string Name = "check";

    /// <summary>The line of the top-level help.</summary>
    public const string Summary = "validate a config file; print FILE:LINE: message for each error";

    /// <summary>-c, --config FILE, shared with run.</summary>
    public static CommandOption ConfigOption { get; } = new('c', "config", "FILE", "the config file (required)");

    private static readonly CommandOption[] Options = [ConfigOption];

    /// <summary>The full help of the command.</summary>
    public static string Help => $"""
        usage: dataplane check -c FILE

        Parse and validate FILE without touching any port. On success print one line,
        FILE: ok (N ports, N addresses, N routes, N apps), and exit 0. Otherwise print every
        error, in line order, as FILE:LINE: message on stderr and exit 2.

        Options:
        {CommandOptions.Describe(Options)}
        {ConfigSyntax}
        """;

    /// <summary>The config statements, for the help of check and run.</summary>
    public const string ConfigSyntax = """
        The config is one statement a line; '#' starts a comment; NAME is a letter, then letters,
        digits, '_', '.' or '-', at most 15 characters; ports and vlans share one set of names.
          port NAME driver memory|tap|afpacket|afxdp|vfio [ifname IFNAME] [pci DDDD:BB:DD.F] [queues 1-64]
               [tso on|off] [lro on|off]
                                      tap, afpacket and afxdp need ifname; vfio needs pci; queues default 1;
                                      tso and lro override set tso and set lro for the port
          vlan NAME parent PORT vnetid 1-4094
          inet NAME ADDRESS/LENGTH    an IPv4 address and its connected prefix on a port or vlan
          inet6 NAME ADDRESS/LENGTH   the same for IPv6
          mtu NAME 68-65535           at least 1280 on an interface with inet6
          route add [-inet6] default|PREFIX|ADDRESS GATEWAY
                                      the gateway must be on a connected prefix; one default per family
          set forwarding on|off       route between ports (default off)
          set tso on|off              super-frames leave whole by ports that segment (default on)
          set lro on|off              ports may hand up super-frames (default on; off: cut at input)
          set cores LIST              worker CPUs, e.g. 0-1 or 0,2,4-7 (default 0)
          set tcp connections N       TCP connections of all workers, 1-16000000 (default 100000)
          set tcp buffer BYTES        the most a TCP connection's buffers grow to, 4096-1073741824 (default 1048576)
          set tcp congestion cubic|newreno   (default cubic)
          app iperf3 listen ENDPOINT
          app relay tcp|udp listen ENDPOINT connect ENDPOINT [mode splice|copy] [max BYTES] [idle SECONDS]
                                      (mode default splice; tcp only: max bytes each way, idle seconds with none moved)
          app echo tcp|udp listen ENDPOINT
          app discard tcp|udp listen ENDPOINT
        ENDPOINT is ADDRESS:PORT, or [ADDRESS]:PORT for IPv6; a listen address is one of the inet
        or inet6 addresses, or 0.0.0.0 or :: for all of them.

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
        if (options.Get(ConfigOption.Long) is not { } path)
            return CommandOptions.WriteUsageError(stderr, Name, "check needs a config file: -c FILE");

        if (!TryLoadValid(path, stderr, out DataplaneConfig? config))
            return ExitCodes.Usage;
        stdout.WriteLine($"{path}: ok ({Count(config.Ports.Length, "port")}, {Count(config.Addresses.Length, "address")}, {Count(config.Routes.Length, "route")}, {Count(config.Apps.Length, "app")})");
        return ExitCodes.Ok;
    }

    /// <summary>
    /// Loads <paramref name="path"/>; when it cannot be read or has errors, writes why to
    /// <paramref name="stderr"/> and returns false.
    /// </summary>
    public static bool TryLoadValid(string path, TextWriter stderr, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out DataplaneConfig? config)
    {
        config = null;
        if (!ConfigFile.TryLoad(path, out ConfigResult result, out string reason))
        {
            stderr.WriteLine($"dataplane: cannot read {path}: {reason}");
            return false;
        }
        foreach (ConfigError error in result.Errors)
            stderr.WriteLine(error.ToString());
        if (!result.IsValid)
            return false;
        config = result.Config;
        return true;
    }

    private static string Count(int n, string noun) => n == 1 ? $"1 {noun}" : $"{n} {noun}{(noun.EndsWith('s') ? "es" : "s")}";
}
