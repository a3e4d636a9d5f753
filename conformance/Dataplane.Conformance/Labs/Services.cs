namespace Dataplane.Conformance.Labs;

/// <summary>
/// The ports of the services the cases use, the same on every system under test: the dataplane's
/// built-in apps listen on them (its config says so), Linux runs socat or iperf3 on them.
/// </summary>
public static class Services
{
    /// <summary>UDP echo on the system under test (the dataplane's <c>app echo udp</c>) and on the right host.</summary>
    public const int Echo = 7;

    /// <summary>iperf3's server, on the right host or the system under test.</summary>
    public const int Iperf3 = 5201;

    /// <summary>The right host's UDP sink for the relay benchmarks (udpbench recv).</summary>
    public const int Sink = 9000;

    /// <summary>The relay to the sink that copies through the application.</summary>
    public const int RelayCopy = 9001;

    /// <summary>The relay to the sink that splices inside the stack.</summary>
    public const int RelaySplice = 9002;

    /// <summary>The copying relay to the right host's echo.</summary>
    public const int EchoRelayCopy = 9011;

    /// <summary>The splicing relay to the right host's echo.</summary>
    public const int EchoRelaySplice = 9012;

    /// <summary>The TCP relays (copy, splice) to the right host's iperf3 server.</summary>
    public const int TcpRelayCopy = 5211, TcpRelaySplice = 5212;

    /// <summary>The multicast receivers' UDP port.</summary>
    public const int Multicast = 9100;

    /// <summary>The relay port of <paramref name="mode"/> (copy, splice) toward the sink or (<paramref name="echo"/>) the right host's echo.</summary>
    public static int Relay(string mode, bool echo) => (mode, echo) switch
    {
        ("copy", false) => RelayCopy,
        ("splice", false) => RelaySplice,
        ("copy", true) => EchoRelayCopy,
        _ => EchoRelaySplice,
    };

    /// <summary>
    /// The dataplane's config for a lab: two ports (named left and right), the line's addresses,
    /// forwarding, what the run's <paramref name="modifiers"/> switch (TSO and LRO stay at the
    /// dataplane's defaults, on, unless they say otherwise), and the apps of the cases.
    /// </summary>
    public static string DataplaneConfig(Addressing a, string leftPort, string rightPort, int cores, RunModifiers modifiers)
    {
        string Ep(string who, int family, int port) =>
            family == 4 ? $"{a.Of(who, 4)}:{port}" : $"[{a.Of(who, 6)}]:{port}";
        var lines = new List<string>
        {
            "# Written by the conformance runner for one run; the cases expect these apps on these ports.",
            leftPort,
            rightPort,
            $"inet  left  {a.Of("sutleft", 4)}/24",
            $"inet6 left  {a.Of("sutleft", 6)}/64",
            $"inet  right {a.Of("sutright", 4)}/24",
            $"inet6 right {a.Of("sutright", 6)}/64",
            "set forwarding on",
            cores > 1 ? $"set cores 0-{cores - 1}" : "set cores 0",
        };
        lines.AddRange(modifiers.DataplaneLines("left", "right"));
        foreach (int f in (int[])[4, 6])
        {
            lines.Add($"app echo udp listen {Ep("sutleft", f, Echo)}");
            // The receive tests' server; the send tests' client is ctl iperf3.
            lines.Add($"app iperf3 listen {Ep("sutleft", f, Iperf3)}");
            foreach (string mode in (string[])["copy", "splice"])
            {
                lines.Add($"app relay udp listen {Ep("sutleft", f, Relay(mode, false))} connect {Ep("right", f, Sink)} mode {mode}");
                lines.Add($"app relay udp listen {Ep("sutleft", f, Relay(mode, true))} connect {Ep("right", f, Echo)} mode {mode}");
                lines.Add($"app relay tcp listen {Ep("sutleft", f, mode == "copy" ? TcpRelayCopy : TcpRelaySplice)} connect {Ep("right", f, Iperf3)} mode {mode}");
            }
        }
        return string.Join('\n', lines) + '\n';
    }
}
