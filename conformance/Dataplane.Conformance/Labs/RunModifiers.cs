namespace Dataplane.Conformance.Labs;

/// <summary>
/// What a run's modifiers change on the hosts and the system under test, as OpenBSD's matrix
/// means them: <c>notso</c>, the system under test does not segment (the dataplane's
/// <c>set tso off</c>, Linux's <c>tso off gso off</c> on its router interfaces); <c>nolro</c>, it
/// does not merge (<c>set lro off</c>; Linux's <c>gro off lro off</c>); <c>jumbo</c>, jumbo frames
/// on the hosts' interfaces and the system under test's ports; <c>nooffload</c>, the column the
/// runner had before the dataplane took super-frames: the hosts' checksum offload off (and with it
/// their TSO), the dataplane with TSO and LRO off. Without a modifier the hosts' offloads stay at
/// their defaults and the dataplane at its own (TSO and LRO on), as users have them.
/// </summary>
/// <param name="HostOffloadsOff">The hosts' <c>ethtool -K IF tx off</c> (modifier nooffload).</param>
/// <param name="Tso">Whether the system under test segments.</param>
/// <param name="Lro">Whether the system under test merges.</param>
/// <param name="Mtu">The MTU of every lab interface; null leaves the default (1500).</param>
public sealed record RunModifiers(bool HostOffloadsOff, bool Tso, bool Lro, int? Mtu)
{
    /// <summary>
    /// The jumbo MTU. OpenBSD's notes name no figure; 9000 is the common jumbo size, what Linux
    /// users set, and under the 9,216 the dataplane's ports take.
    /// </summary>
    public const int JumboMtu = 9000;

    /// <summary>No modifier: everything at its defaults.</summary>
    public static RunModifiers None { get; } = new(HostOffloadsOff: false, Tso: true, Lro: true, Mtu: null);

    /// <summary>The settings of a run's modifiers; those that change nothing here (direct, the pseudo devices) are ignored.</summary>
    public static RunModifiers From(IEnumerable<string> modifiers)
    {
        RunModifiers m = None;
        foreach (string modifier in modifiers)
        {
            m = modifier switch
            {
                "notso" => m with { Tso = false },
                "nolro" => m with { Lro = false },
                "jumbo" => m with { Mtu = JumboMtu },
                "nooffload" => m with { HostOffloadsOff = true, Tso = false, Lro = false },
                _ => m,
            };
        }
        return m;
    }

    /// <summary>The dataplane's config lines for them: the switches that differ from its defaults, the ports' MTU.</summary>
    public IEnumerable<string> DataplaneLines(string leftPort, string rightPort)
    {
        if (!Tso)
            yield return "set tso off";
        if (!Lro)
            yield return "set lro off";
        if (Mtu is int mtu)
        {
            yield return $"mtu {leftPort} {mtu}";
            yield return $"mtu {rightPort} {mtu}";
        }
    }

    /// <summary>
    /// A host's commands for its interface toward the system under test, after it is up: its MTU,
    /// and with nooffload its checksum offload off. By default a host's veth or tap keeps its
    /// offloads: it hands the system under test partial checksums and TSO super-frames, as a
    /// Linux host with a real NIC hands them to its NIC (the capture's judge knows partial
    /// checksums: <see cref="Running.CaptureCheck"/>).
    /// </summary>
    public IEnumerable<string> HostInterfaceCommands(string ifname)
    {
        if (Mtu is int mtu)
            yield return $"ip link set {ifname} mtu {mtu}";
        if (HostOffloadsOff)
            yield return $"ethtool -K {ifname} tx off >/dev/null";
    }

    /// <summary>Linux's commands for one of its router interfaces in the system under test's place: no segmenting, no merging, its MTU.</summary>
    public IEnumerable<string> LinuxRouterCommands(string ifname)
    {
        if (Mtu is int mtu)
            yield return $"ip link set {ifname} mtu {mtu}";
        if (!Tso)
            yield return $"ethtool -K {ifname} tso off gso off >/dev/null";
        if (!Lro)
            yield return $"ethtool -K {ifname} gro off lro off >/dev/null";
    }

    /// <summary>How a remote machine's interface is put back after <see cref="LinuxRouterCommands"/> or <see cref="HostInterfaceCommands"/>: Linux's defaults (1500, offloads on, LRO off); null when nothing was changed.</summary>
    public string? RemoteUndo(string ifname, bool router)
    {
        var undo = new List<string>();
        if (Mtu is not null)
            undo.Add($"ip link set {ifname} mtu 1500");
        if (router && !Tso)
            undo.Add($"ethtool -K {ifname} tso on gso on");
        if (router && !Lro)
            undo.Add($"ethtool -K {ifname} gro on");
        if (!router && HostOffloadsOff)
            undo.Add($"ethtool -K {ifname} tx on");
        return undo.Count == 0 ? null : string.Join("; ", undo);
    }
}
