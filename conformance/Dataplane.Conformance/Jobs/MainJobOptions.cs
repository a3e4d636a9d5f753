using System.Text.RegularExpressions;

namespace Dataplane.Conformance.Jobs;

/// <summary>What one main job runs: the binary and config, the test length, the UDP rate, the phases, where the logs go.</summary>
/// <param name="Binary">The dataplane binary.</param>
/// <param name="Config">Its configuration.</param>
/// <param name="Duration">Seconds per iperf3 test.</param>
/// <param name="UdpRate">The rate UDP iperf3 offers, as <c>iperf3 -b</c> takes it.</param>
/// <param name="LinuxOnly">Only the Linux-router phase.</param>
/// <param name="Logs">The logs' folder (empty or new); null for a new temp folder.</param>
/// <param name="Id">The lab's id: its namespaces are ID-left, ID-right, ...</param>
internal sealed partial record MainJobOptions(string Binary, string Config, int Duration, string UdpRate, bool LinuxOnly, string? Logs, string Id)
{
    public const string Usage = """
        usage: dataplane-conformance main-job [--binary FILE] [--config FILE] [--duration SECONDS]
                                              [--udp-rate RATE] [--linux-only] [--logs DIR] [--id NAME]

          --binary FILE       the dataplane binary (default: out/dataplane, from ./build.sh publish)
          --config FILE       its configuration (default: dataplane/Dataplane/examples/dataplane.conf)
          --duration SECONDS  length of each iperf3 test (default: $LAB_DURATION, or 5)
          --udp-rate RATE     the rate UDP iperf3 offers, as iperf3 -b takes it (default: $LAB_UDP_RATE, or 50M)
          --linux-only        only the Linux-router phase (no binary needed)
          --logs DIR          keep the logs in DIR (empty or new; default: a new temp dir)
          --id NAME           name the lab's namespaces NAME-left, NAME-right, ... (default: $LAB_ID, or dpl-PID)

        The main job of ./build.sh run. Runs as root. Prints one table row per test (icmp4/icmp6 ping,
        tcp4/tcp6 iperf3 with one stream and with 15, udp4/udp6 iperf3) with the dataplane's and
        Linux's figures and their ratio; exits 0 only if every cell passed. Linux runs first: a
        dataplane cell fails when its loss (ping; UDP on the way, not at the receiver) exceeds Linux's
        in the same run by more than 5 percentage points; a Linux cell fails over 1 % loss, which is
        all --linux-only judges. Exit 1 when a cell did not pass or the job could not start, 2 for
        usage, 130 when interrupted (everything made is removed).
        """;

    /// <summary>Reads the options (and the LAB_* environment defaults); a usage error is a <see cref="ArgumentException"/>.</summary>
    public static MainJobOptions Parse(IReadOnlyList<string> args)
    {
        string binary = "out/dataplane", config = "dataplane/Dataplane/examples/dataplane.conf";
        string duration = Environment.GetEnvironmentVariable("LAB_DURATION") is { Length: > 0 } d ? d : "5";
        string rate = Environment.GetEnvironmentVariable("LAB_UDP_RATE") is { Length: > 0 } r ? r : "50M";
        string id = Environment.GetEnvironmentVariable("LAB_ID") is { Length: > 0 } i ? i : $"dpl-{Environment.ProcessId}";
        string? logs = null;
        bool linuxOnly = false;
        for (int k = 0; k < args.Count; k++)
        {
            string Value() => k + 1 < args.Count ? args[++k] : throw new ArgumentException($"{args[k]} needs a value");
            switch (args[k])
            {
                case "--binary": binary = Value(); break;
                case "--config": config = Value(); break;
                case "--duration": duration = Value(); break;
                case "--udp-rate": rate = Value(); break;
                case "--linux-only": linuxOnly = true; break;
                case "--logs": logs = Value(); break;
                case "--id": id = Value(); break;
                default: throw new ArgumentException($"unknown argument '{args[k]}'");
            }
        }
        if (!int.TryParse(duration, out int seconds) || seconds < 1 || duration.StartsWith('0'))
            throw new ArgumentException($"--duration must be a whole number of seconds, not '{duration}'");
        if (!RateForm().IsMatch(rate))
            throw new ArgumentException($"--udp-rate must be a rate as iperf3 -b takes it (50M, 1G), not '{rate}'");
        if (!NameForm().IsMatch(id))
            throw new ArgumentException($"--id must be letters, digits and dashes, not '{id}'");
        return new MainJobOptions(Path.GetFullPath(binary), Path.GetFullPath(config), seconds, rate, linuxOnly, logs, id);
    }

    [GeneratedRegex("^[1-9][0-9]*[KMG]?$")]
    private static partial Regex RateForm();

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9-]*$")]
    private static partial Regex NameForm();
}
