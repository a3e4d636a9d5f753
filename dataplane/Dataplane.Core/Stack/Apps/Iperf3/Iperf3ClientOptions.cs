using System.Globalization;

namespace Dataplane.Stack.Apps.Iperf3;

/// <summary>
/// iperf3's client command line (iperf_api.c iperf_parse_arguments, 3.12) parsed into
/// <see cref="Iperf3Parameters"/> and what the client itself needs (host, port, output). getopt's
/// forms are accepted: "-t 5", "-t5", "--time 5", "--time=5", clustered flags ("-uR"). Unlike
/// iperf3, whose atoi reads "x" as 0, a value that is not a number is an error.
/// </summary>
public sealed class Iperf3ClientOptions
{
    /// <summary>iperf3's port.</summary>
    public const int DefaultPort = 5201;

    /// <summary>-c: the server.</summary>
    public string Host { get; private set; } = "";

    /// <summary>-p: the server's port.</summary>
    public int Port { get; private set; } = DefaultPort;

    /// <summary>--cport: the client's data streams' first local port, 0 for any.</summary>
    public int ClientPort { get; private set; }

    /// <summary>-J: JSON output.</summary>
    public bool Json { get; private set; }

    /// <summary>-f: the bitrate unit (k, m, g, t, K, M, G, T; 'a' adaptive bits when not given).</summary>
    public char UnitFormat { get; private set; } = 'a';

    /// <summary>-i: seconds between interval reports (this side prints none).</summary>
    public double Interval { get; private set; } = 1;

    /// <summary>-4 or -6, 0 for either.</summary>
    public int AddressFamily { get; private set; }

    /// <summary>-V: verbose.</summary>
    public bool Verbose { get; private set; }

    /// <summary>iperf3's default --rcv-timeout (DEFAULT_NO_MSG_RCVD_TIMEOUT, iperf_api.h), in milliseconds.</summary>
    public const int DefaultReceiveTimeoutMilliseconds = 120_000;

    /// <summary>The least --rcv-timeout iperf3 takes (MIN_NO_MSG_RCVD_TIMEOUT), in milliseconds.</summary>
    public const int MinimumReceiveTimeoutMilliseconds = 100;

    /// <summary>
    /// --connect-timeout: how long the control connection may take to open, in milliseconds; null
    /// for as long as TCP tries (its SYN retransmissions, about two minutes, as Linux's
    /// tcp_syn_retries). iperf3 gives up with "unable to connect to server: Connection timed out".
    /// </summary>
    public int? ConnectTimeoutMilliseconds { get; private set; }

    /// <summary>
    /// --rcv-timeout: in a test where this side receives (-R, --bidir), how long it may run without
    /// anything arriving before it ends with "idle timeout for receiving data" (iperf_client_api.c,
    /// IENOMSG), in milliseconds; default 120000. Null when this side only sends: iperf3 watches
    /// only a receiving client so.
    /// </summary>
    public int? ReceiveTimeoutMilliseconds { get; private set; }

    /// <summary>The parameters for the server.</summary>
    public Iperf3Parameters Parameters { get; } = new();

    /// <summary>Options that take a value, by their long and short names.</summary>
    private static readonly Dictionary<string, string> LongNames = new(StringComparer.Ordinal)
    {
        ["client"] = "c", ["port"] = "p", ["time"] = "t", ["bytes"] = "n", ["blockcount"] = "k",
        ["parallel"] = "P", ["reverse"] = "R", ["bidir"] = "bidir", ["length"] = "l", ["window"] = "w",
        ["udp"] = "u", ["bitrate"] = "b", ["bandwidth"] = "b", ["json"] = "J", ["set-mss"] = "M",
        ["no-delay"] = "N", ["omit"] = "O", ["cport"] = "cport", ["format"] = "f", ["interval"] = "i",
        ["tos"] = "S", ["title"] = "T", ["congestion"] = "C", ["linux-congestion"] = "C", ["version4"] = "4",
        ["version6"] = "6", ["verbose"] = "V", ["udp-counters-64bit"] = "udp-counters-64bit",
        ["repeating-payload"] = "repeating-payload", ["get-server-output"] = "get-server-output",
        ["pacing-timer"] = "pacing-timer", ["extra-data"] = "extra-data", ["zerocopy"] = "Z",
        ["flowlabel"] = "L", ["fq-rate"] = "fq-rate", ["dont-fragment"] = "dont-fragment",
        ["server"] = "s", ["daemon"] = "D", ["one-off"] = "1", ["server-bitrate-limit"] = "server-bitrate-limit",
        ["idle-timeout"] = "idle-timeout", ["connect-timeout"] = "connect-timeout", ["rcv-timeout"] = "rcv-timeout",
    };

    /// <summary>The options that take a value.</summary>
    private static readonly HashSet<string> WithValue = new(StringComparer.Ordinal)
    {
        "c", "p", "t", "n", "k", "P", "l", "w", "b", "M", "O", "cport", "f", "i", "S", "T", "C", "L",
        "pacing-timer", "extra-data", "fq-rate", "server-bitrate-limit", "idle-timeout", "connect-timeout",
        "rcv-timeout",
    };

    /// <summary>Parses <paramref name="args"/>; null and a message in iperf3's words when they are not a client's.</summary>
    public static Iperf3ClientOptions? Parse(IReadOnlyList<string> args, out string? error)
    {
        ArgumentNullException.ThrowIfNull(args);
        var o = new Iperf3ClientOptions();
        bool durationGiven = false, rateGiven = false, server = false, serverOnly = false, client = false, receiveTimeoutGiven = false;
        int length = 0;
        for (int i = 0; i < args.Count; i++)
        {
            string arg = args[i];
            var options = new List<(string Name, string? Value)>();
            if (arg.StartsWith("--", StringComparison.Ordinal) && arg.Length > 2)
            {
                int equals = arg.IndexOf('=', StringComparison.Ordinal);
                string name = equals < 0 ? arg[2..] : arg[2..equals];
                if (!LongNames.TryGetValue(name, out string? key))
                    return Fail(out error, $"unrecognized option '--{name}'");
                string? value = equals < 0 ? null : arg[(equals + 1)..];
                if (WithValue.Contains(key) && value is null)
                {
                    if (++i >= args.Count)
                        return Fail(out error, $"option '--{name}' requires an argument");
                    value = args[i];
                }
                else if (!WithValue.Contains(key) && value is not null)
                {
                    return Fail(out error, $"option '--{name}' doesn't allow an argument");
                }
                options.Add((key, value));
            }
            else if (arg.StartsWith('-') && arg.Length > 1)
            {
                for (int c = 1; c < arg.Length; c++)
                {
                    string key = arg[c].ToString();
                    if (!WithValue.Contains(key) && !IsShortFlag(arg[c]))
                        return Fail(out error, $"invalid option -- '{arg[c]}'");
                    if (WithValue.Contains(key))
                    {
                        string? value = c + 1 < arg.Length ? arg[(c + 1)..] : ++i < args.Count ? args[i] : null;
                        if (value is null)
                            return Fail(out error, $"option requires an argument -- '{arg[c]}'");
                        options.Add((key, value));
                        break;
                    }
                    options.Add((key, null));
                }
            }
            else
            {
                return Fail(out error, $"unexpected argument '{arg}'");
            }
            foreach ((string key, string? value) in options)
            {
                receiveTimeoutGiven |= key == "rcv-timeout";
                string? problem = o.Apply(key, value, ref durationGiven, ref rateGiven, ref server, ref serverOnly, ref client, ref length);
                if (problem is not null)
                    return Fail(out error, problem);
            }
        }
        if (server)
            return Fail(out error, "this parser reads a client's command line (-c), not a server's (-s)");
        if (serverOnly && client)
            return Fail(out error, "some option you are trying to set is server only");
        if (!client)
            return Fail(out error, "must either be a client (-c) or server (-s)");
        Iperf3Parameters p = o.Parameters;
        if (length == 0 && p.Protocol == Iperf3Protocol.Tcp)
            length = Iperf3Parameters.DefaultTcpLength;
        if (length < 0 || length > Iperf3Parameters.MaximumLength)
            return Fail(out error, $"block size too large (maximum = {Iperf3Parameters.MaximumLength} bytes)");
        if (p.Protocol == Iperf3Protocol.Udp && length > 0 && (length < Iperf3Parameters.MinimumUdpLength || length > Iperf3Parameters.MaximumUdpLength))
            return Fail(out error, $"block size invalid (minimum = {Iperf3Parameters.MinimumUdpLength} bytes, maximum = {Iperf3Parameters.MaximumUdpLength} bytes)");
        p.Length = length;
        if (!rateGiven)
            p.Bandwidth = p.Protocol == Iperf3Protocol.Udp ? Iperf3Parameters.DefaultUdpBandwidth : 0;
        if ((p.Bytes != 0 || p.Blocks != 0) && !durationGiven)
            p.Duration = 0;
        if ((durationGiven && p.Bytes != 0) || (durationGiven && p.Blocks != 0) || (p.Bytes != 0 && p.Blocks != 0))
            return Fail(out error, "only one test end condition (-t, -n, -k) may be specified");
        // iperf_parse_arguments: --rcv-timeout only for a client that receives (IERVRSONLYRCVTIMEOUT);
        // iperf_run_client watches the receiving modes only, with the default when not given.
        bool receives = p.Reverse || p.Bidirectional;
        if (receiveTimeoutGiven && !receives)
            return Fail(out error, "client receive timeout is valid only in receiving mode");
        if (!receives)
            o.ReceiveTimeoutMilliseconds = null;
        else
            o.ReceiveTimeoutMilliseconds ??= DefaultReceiveTimeoutMilliseconds;
        error = null;
        return o;
    }

    private static bool IsShortFlag(char c) => c is 'u' or 'R' or 'J' or 'N' or '4' or '6' or 'V' or 'Z' or 's' or 'D' or '1';

    private static Iperf3ClientOptions? Fail(out string? error, string message)
    {
        error = message;
        return null;
    }

    private string? Apply(string key, string? value, ref bool durationGiven, ref bool rateGiven, ref bool server, ref bool serverOnly, ref bool client, ref int length)
    {
        Iperf3Parameters p = Parameters;
        switch (key)
        {
            case "c":
                if (server)
                    return "cannot be both server and client";
                client = true;
                Host = value!;
                return null;
            case "s":
                // -s makes a server: with -c, "cannot be both"; alone, not this parser's business.
                if (client)
                    return "cannot be both server and client";
                server = true;
                return null;
            case "D" or "1" or "server-bitrate-limit" or "idle-timeout":
                serverOnly = true;
                return null;
            case "p":
                return Int(value!, "-p", out int port) ?? (port is < 1 or > 65535 ? "port number must be between 1 and 65535 inclusive" : Set(() => Port = port));
            case "cport":
                return Int(value!, "--cport", out int cport) ?? (cport is < 1 or > 65535 ? "port number must be between 1 and 65535 inclusive" : Set(() => ClientPort = cport));
            case "t":
                durationGiven = true;
                return Int(value!, "-t", out int t) ?? (t > 86400 ? "test duration too long (maximum = 86400 seconds)" : t < 0 ? "bad value for -t: negative" : Set(() => p.Duration = t));
            case "n":
                return Size(value!, "-n", 1024, out double n) ?? Set(() => p.Bytes = (long)n);
            case "k":
                return Size(value!, "-k", 1024, out double k) ?? Set(() => p.Blocks = (long)k);
            case "l":
            {
                string? bad = Size(value!, "-l", 1024, out double l);
                if (bad is not null)
                    return bad;
                length = l > Iperf3Parameters.MaximumLength ? -1 : (int)l;
                return null;
            }
            case "P":
                return Int(value!, "-P", out int parallel) ?? (parallel > Iperf3Parameters.MaximumStreams
                    ? $"number of parallel streams too large (maximum = {Iperf3Parameters.MaximumStreams})"
                    : parallel < 1 ? "bad value for -P: at least one stream" : Set(() => p.Parallel = parallel));
            case "R":
                return p.Bidirectional ? "cannot be both reverse and bidirectional" : Set(() => p.Reverse = true);
            case "bidir":
                return p.Reverse ? "cannot be both reverse and bidirectional" : Set(() => p.Bidirectional = true);
            case "w":
                return Size(value!, "-w", 1024, out double w) ?? (w > 512.0 * 1024 * 1024 ? "socket buffer size too large (maximum = 536870912 bytes)" : Set(() => p.Window = (int)w));
            case "u":
                p.Protocol = Iperf3Protocol.Udp;
                return null;
            case "b":
            {
                rateGiven = true;
                string rate = value!;
                int slash = rate.IndexOf('/', StringComparison.Ordinal);
                if (slash >= 0)
                {
                    string? bad = Int(rate[(slash + 1)..], "-b burst", out int burst);
                    if (bad is not null || burst <= 0 || burst > 1000)
                        return "invalid burst count (maximum = 1000)";
                    p.Burst = burst;
                    rate = rate[..slash];
                }
                return Size(rate, "-b", 1000, out double b) ?? Set(() => p.Bandwidth = (long)b);
            }
            case "J":
                Json = true;
                return null;
            case "M":
                return Int(value!, "-M", out int mss) ?? (mss > 9 * 1024 ? "TCP MSS too large (maximum = 9216 bytes)" : Set(() => p.Mss = mss));
            case "N":
                p.NoDelay = true;
                return null;
            case "O":
                return Int(value!, "-O", out int omit) ?? (omit is < 0 or > 60 ? "bogus value for --omit" : Set(() => p.Omit = omit));
            case "f":
                if (value!.Length == 0 || "kKmMgGtT".IndexOf(value[0], StringComparison.Ordinal) < 0)
                    return "bad format specifier (valid formats are in the set [kmgtKMGT])";
                UnitFormat = value[0];
                return null;
            case "i":
                if (!double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out double interval) || (interval != 0 && (interval < 0.1 || interval > 60)))
                    return "invalid report interval (min = 0.1, max = 60 seconds)";
                Interval = interval;
                return null;
            case "S":
                return Int(value!, "-S", out int tos) ?? (tos is < 0 or > 255 ? "bad TOS value (must be between 0 and 255 inclusive)" : Set(() => p.Tos = tos));
            case "L":
                return Int(value!, "-L", out int label) ?? (label is < 1 or > 0xFFFFF ? "unable to set IPv6 flow label" : Set(() => p.FlowLabel = label));
            case "T":
                p.Title = value;
                return null;
            case "C":
                p.Congestion = value;
                return null;
            case "extra-data":
                p.ExtraData = value;
                return null;
            case "4":
                AddressFamily = 4;
                return null;
            case "6":
                AddressFamily = 6;
                return null;
            case "V":
                Verbose = true;
                return null;
            case "Z":
                p.ZeroCopy = true;
                return null;
            case "udp-counters-64bit":
                p.UdpCounters64Bit = true;
                return null;
            case "repeating-payload":
                p.RepeatingPayload = true;
                return null;
            case "get-server-output":
                p.GetServerOutput = true;
                return null;
            case "dont-fragment":
                p.DontFragment = true;
                return null;
            case "connect-timeout":
                // unit_atoi, as iperf3 reads it; a negative timeout is no timeout there, an error here.
                return Size(value!, "--connect-timeout", 1024, out double connect) ?? (connect > int.MaxValue ? "bad value for --connect-timeout: too long" : Set(() => ConnectTimeoutMilliseconds = (int)connect));
            case "rcv-timeout":
                if (!int.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int rcv) || rcv < MinimumReceiveTimeoutMilliseconds || rcv > 86400 * 1000)
                    return "receive timeout value is incorrect or not in range";
                ReceiveTimeoutMilliseconds = rcv;
                return null;
            case "pacing-timer":
                return Size(value!, "--pacing-timer", 1024, out double pacing) ?? Set(() => p.PacingTimer = (int)pacing);
            case "fq-rate":
                return Size(value!, "--fq-rate", 1000, out double fq) ?? Set(() => p.FqRate = (long)fq);
            default:
                return $"unrecognized option '{key}'";
        }
    }

    private static string? Set(Action set)
    {
        set();
        return null;
    }

    private static string? Int(string value, string option, out int result) =>
        int.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out result) ? null : $"bad value for {option}: '{value}' is not a number";

    /// <summary>units.c unit_atoi / unit_atof_rate: a number with an optional K, M, G or T, 1024- or 1000-based.</summary>
    private static string? Size(string value, string option, double unit, out double result)
    {
        result = 0;
        if (value.Length == 0)
            return $"bad value for {option}: empty";
        double multiplier = char.ToUpperInvariant(value[^1]) switch
        {
            'K' => unit,
            'M' => unit * unit,
            'G' => unit * unit * unit,
            'T' => unit * unit * unit * unit,
            _ => 1,
        };
        string number = multiplier == 1 ? value : value[..^1];
        if (!double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out double n) || n < 0 || double.IsInfinity(n))
            return $"bad value for {option}: '{value}' is not a size";
        result = n * multiplier;
        return null;
    }
}
