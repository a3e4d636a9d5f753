namespace Dataplane.Conformance.Labs;

/// <summary>
/// Reads a lab definition: one statement a line, <c>#</c> comments, in the style of the dataplane's
/// own config. Every mistake is reported as <c>FILE:LINE: message</c>, all of them at once.
/// <code>
/// lab NAME
/// host left|right netns | ssh TARGET ifname IF
/// sut  netns | ssh TARGET | qemu
/// drivers DRIVER...                                (qemu: virtio-net e1000e vmxnet3)
/// port left|right [pci ADDRESS] [ifname IF]       (remote system under test)
/// ssh-option OPTION...                             (words for every ssh call, before the target)
/// line N
/// </code>
/// </summary>
public static class LabParser
{
    /// <summary>Reads <paramref name="path"/>; null with <paramref name="errors"/> filled when it has mistakes.</summary>
    public static LabDefinition? Parse(string path, out List<string> errors)
    {
        errors = [];
        string[] lines;
        try
        {
            lines = File.ReadAllLines(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            errors.Add($"{path}: cannot read: {e.Message}");
            return null;
        }
        return Parse(path, lines, errors);
    }

    /// <summary>Reads the lines of a lab definition named <paramref name="file"/> in messages.</summary>
    public static LabDefinition? Parse(string file, IReadOnlyList<string> lines, List<string> errors)
    {
        string? name = null;
        var hosts = new Dictionary<string, HostSpec>();
        var ports = new Dictionary<string, PortSpec>();
        List<string>? drivers = null;
        var sshOptions = new List<string>();
        int line = 1;
        int lastLine = 0;

        for (int n = 0; n < lines.Count; n++)
        {
            string text = lines[n];
            int hash = text.IndexOf('#', StringComparison.Ordinal);
            if (hash >= 0)
                text = text[..hash];
            string[] words = text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (words.Length == 0)
                continue;
            lastLine = n + 1;
            void Error(string message) => errors.Add($"{file}:{n + 1}: {message}");

            switch (words[0])
            {
                case "lab":
                    if (words.Length != 2)
                        Error("usage: lab NAME");
                    else if (name is not null)
                        Error($"the lab is already named '{name}'");
                    else if (!IsName(words[1]))
                        Error($"'{words[1]}' is not a lab name (letters, digits, '-' and '_')");
                    else
                        name = words[1];
                    break;

                case "host":
                    if (words.Length < 3 || words[1] is not ("left" or "right"))
                        Error("usage: host left|right netns | host left|right ssh TARGET ifname IF");
                    else if (hosts.ContainsKey(words[1]))
                        Error($"host {words[1]} is declared twice");
                    else if (ParseHost(words[1], words.AsSpan(2), Error, needsInterface: true) is HostSpec host)
                        hosts[words[1]] = host;
                    break;

                case "sut":
                    if (words.Length < 2)
                        Error("usage: sut netns | sut ssh TARGET | sut qemu");
                    else if (hosts.ContainsKey("sut"))
                        Error("the system under test is declared twice");
                    else if (ParseHost("sut", words.AsSpan(1), Error, needsInterface: false) is HostSpec sut)
                        hosts["sut"] = sut;
                    break;

                case "drivers":
                    if (words.Length < 2)
                        Error("usage: drivers DRIVER... (tap, afpacket, afxdp, vfio; for sut qemu: virtio-net, e1000e, vmxnet3)");
                    else if (words.Skip(1).FirstOrDefault(d => d is not ("tap" or "afpacket" or "afxdp" or "vfio") && !LabDefinition.QemuDrivers.Contains(d)) is string bad)
                        Error($"unknown driver '{bad}' (tap, afpacket, afxdp, vfio; for sut qemu: virtio-net, e1000e, vmxnet3)");
                    else
                        drivers = [.. words.Skip(1).Distinct()];
                    break;

                case "port":
                    if (words.Length < 2 || words[1] is not ("left" or "right"))
                        Error("usage: port left|right [pci ADDRESS] [ifname IF]");
                    else if (ports.ContainsKey(words[1]))
                        Error($"port {words[1]} is declared twice");
                    else if (ParsePort(words[1], words.AsSpan(2), Error) is PortSpec port)
                        ports[words[1]] = port;
                    break;

                case "ssh-option":
                    if (words.Length < 2)
                        Error("usage: ssh-option OPTION... (words ssh takes before the target: -F FILE, -i KEY, -o NAME=VALUE)");
                    else
                        sshOptions.AddRange(words.Skip(1));
                    break;

                case "line":
                    if (words.Length != 2 || !int.TryParse(words[1], out int l) || l is < 1 or > 9)
                        Error("usage: line N (1 to 9: the left net is 10.10.N1.0/24)");
                    else
                        line = l;
                    break;

                default:
                    Error($"unknown statement '{words[0]}' (lab, host, sut, drivers, port, ssh-option, line)");
                    break;
            }
        }

        void Missing(string message) => errors.Add($"{file}:{Math.Max(lastLine, 1)}: {message}");
        if (name is null)
            Missing("the lab has no name (lab NAME)");
        foreach (string role in (string[])["left", "right", "sut"])
        {
            if (!hosts.ContainsKey(role))
                Missing(role == "sut" ? "no system under test (sut netns | sut ssh TARGET)" : $"no {role} host (host {role} ...)");
        }
        if (drivers is null)
            Missing("no drivers (drivers DRIVER...)");
        if (hosts.TryGetValue("sut", out HostSpec? s) && drivers is not null)
        {
            if (s.Kind == HostKind.Netns && drivers.FirstOrDefault(d => !LabDefinition.NetnsDrivers.Contains(d)) is string d)
                Missing($"a namespace system under test runs the drivers {string.Join(", ", LabDefinition.NetnsDrivers)}, not {d}");
            if (s.Kind == HostKind.Qemu && drivers.FirstOrDefault(d => !LabDefinition.QemuDrivers.Contains(d)) is string q)
                Missing($"a QEMU guest system under test runs the device types {string.Join(", ", LabDefinition.QemuDrivers)}, not {q}");
            if (s.Kind != HostKind.Qemu && drivers.FirstOrDefault(d => LabDefinition.QemuDrivers.Contains(d)) is string g)
                Missing($"driver {g} is a device type of the QEMU guest (sut qemu)");
            if (s.Kind == HostKind.Qemu && ports.Count > 0)
                Missing("ports are declared for a remote system under test only; the QEMU guest's are its NICs");
            if (s.Kind == HostKind.Ssh && !(ports.ContainsKey("left") && ports.ContainsKey("right")))
                Missing("a remote system under test needs its ports (port left ..., port right ...)");
            if (s.Kind == HostKind.Netns && ports.Count > 0)
                Missing("ports are declared for a remote system under test only; a namespace lab makes its own");
        }
        if (hosts.TryGetValue("sut", out HostSpec? sutSpec) && sutSpec.Kind == HostKind.Netns &&
            hosts.Values.Any(h => h.Kind == HostKind.Ssh))
        {
            Missing("a namespace system under test needs namespace hosts (its links are veths and taps)");
        }
        if (hosts.TryGetValue("sut", out HostSpec? guest) && guest.Kind == HostKind.Qemu &&
            hosts.Values.Any(h => h.Kind == HostKind.Ssh))
        {
            Missing("a QEMU guest system under test needs namespace hosts (its NICs' taps are their interfaces)");
        }
        if (hosts.TryGetValue("sut", out HostSpec? remoteSut) && remoteSut.Kind == HostKind.Ssh &&
            hosts.Values.Any(h => h.Kind == HostKind.Netns))
        {
            Missing("a remote system under test needs remote hosts (cabled to its ports: host left|right ssh TARGET ifname IF)");
        }
        if (sshOptions.Count > 0 && !hosts.Values.Any(h => h.Kind == HostKind.Ssh))
            Missing("ssh-option is for labs with remote machines; this lab has none");
        if (errors.Count > 0)
            return null;
        return new LabDefinition(name!, file, hosts["left"], hosts["right"], hosts["sut"], drivers!,
            [.. ports.Values.OrderBy(p => p.Side)], line, sshOptions);
    }

    private static HostSpec? ParseHost(string role, ReadOnlySpan<string> words, Action<string> error, bool needsInterface)
    {
        if (words[0] == "qemu")
        {
            if (role != "sut")
            {
                error($"{role}: the QEMU guest is a system under test only (sut qemu); the hosts are netns or ssh");
                return null;
            }
            if (words.Length != 1)
            {
                error($"sut: qemu takes no further words ('{words[1]}')");
                return null;
            }
            return new HostSpec(role, HostKind.Qemu, null, null);
        }
        if (words[0] == "netns")
        {
            if (words.Length != 1)
            {
                error($"{role}: a namespace takes no further words ('{words[1]}')");
                return null;
            }
            return new HostSpec(role, HostKind.Netns, null, null);
        }
        if (words[0] != "ssh")
        {
            error($"{role}: '{words[0]}' is not netns or ssh{(role == "sut" ? " or qemu" : "")}");
            return null;
        }
        if (words.Length < 2 || words[1].StartsWith('-'))
        {
            error($"{role}: ssh needs a TARGET (user@host)");
            return null;
        }
        string target = words[1];
        string? ifname = null;
        for (int i = 2; i < words.Length; i += 2)
        {
            if (words[i] != "ifname" || i + 1 >= words.Length)
            {
                error($"{role}: unexpected '{words[i]}' (ifname IF)");
                return null;
            }
            ifname = words[i + 1];
        }
        if (needsInterface && ifname is null)
        {
            error($"{role}: a remote host needs the interface cabled to the system under test (ifname IF)");
            return null;
        }
        if (!needsInterface && ifname is not null)
        {
            error($"{role}: the system under test's interfaces are its ports (port left|right ...)");
            return null;
        }
        return new HostSpec(role, HostKind.Ssh, target, ifname);
    }

    private static PortSpec? ParsePort(string side, ReadOnlySpan<string> words, Action<string> error)
    {
        string? pci = null, ifname = null;
        for (int i = 0; i < words.Length; i += 2)
        {
            if (i + 1 >= words.Length || words[i] is not ("pci" or "ifname"))
            {
                error($"port {side}: unexpected '{words[i]}' (pci ADDRESS, ifname IF)");
                return null;
            }
            if (words[i] == "pci")
                pci = words[i + 1];
            else
                ifname = words[i + 1];
        }
        if (pci is null && ifname is null)
        {
            error($"port {side}: give its pci ADDRESS, its ifname IF, or both");
            return null;
        }
        return new PortSpec(side, pci, ifname);
    }

    private static bool IsName(string s) => s.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');
}
