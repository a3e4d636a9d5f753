using Dataplane.Labs;
using static Dataplane.Labs.NetnsLab;

namespace Dataplane.Conformance.Tests.Labs;

/// <summary>
/// Three "remote machines" made of network namespaces of this one, for a lab that reaches them
/// only over ssh: left, right and sut (<c>dplr-PID-ROLE</c>), each with its own sshd listening on
/// a management veth to this namespace (this end <c>dplrPIDl|r|s</c>, 10.199.P.0/30 and up), and
/// cabled as a bare-metal lab is: left ens0 — sl0 sut sr0 — ens0 right. The interfaces are the
/// world's, as a real machine's NICs are not the lab's; the lab only adds addresses and routes.
/// The namespaces, links and sshds are a <see cref="NetnsLab"/>'s: dispose stops the sshds by their
/// pids and removes the namespaces, links and files.
/// </summary>
internal sealed class RemoteWorld : IDisposable
{
    /// <summary>The roles, each one machine.</summary>
    public static readonly string[] Roles = ["left", "right", "sut"];

    private const string Sshd = "/usr/sbin/sshd";
    private readonly NetnsLab _lab = new($"dplr-{Environment.ProcessId}");
    private readonly Dictionary<string, LabProcess> _sshd = [];
    private readonly bool _madePrivsepFolder;

    /// <summary>Builds the world and waits until ssh reaches each machine; on a failure, removes what it made and throws.</summary>
    public RemoteWorld()
    {
        Folder = Directory.CreateTempSubdirectory("dplr-").FullName;
        try
        {
            // sshd refuses to start without its privilege separation folder, which the service makes at boot.
            if (!Directory.Exists("/run/sshd"))
            {
                Directory.CreateDirectory("/run/sshd");
                _madePrivsepFolder = true;
            }
            Run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "dplr host", "-f", Path.Combine(Folder, "host_key"));
            Run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "dplr client", "-f", Path.Combine(Folder, "client_key"));
            File.Copy(Path.Combine(Folder, "client_key.pub"), Path.Combine(Folder, "authorized_keys"));
            var config = new List<string>
            {
                "Host left right sut",
                "    User root",
                $"    IdentityFile {Folder}/client_key",
                "    IdentitiesOnly yes",
                "    StrictHostKeyChecking no",
                "    UserKnownHostsFile /dev/null",
                // No "Permanently added ..." warning in the output of the commands the runner reads.
                "    LogLevel ERROR",
                // One connection per machine for the run's hundred-odd commands, as an operator's
                // config would have it; it ends 2 s after the last.
                "    ControlMaster auto",
                $"    ControlPath {Folder}/mux-%C",
                "    ControlPersist 2",
            };
            for (int k = 0; k < Roles.Length; k++)
            {
                string role = Roles[k];
                string ns = _lab.Namespace(role);
                string mgmt = $"dplr{Environment.ProcessId}{role[0]}";
                _lab.Veth(null, mgmt, ns, "mgmt0");
                Run("ip", "addr", "add", $"{ManagementAddress(k, here: true)}/30", "dev", mgmt);
                _lab.Address(ns, "mgmt0", $"{ManagementAddress(k, here: false)}/30");
                config.Add($"Host {role}");
                config.Add($"    HostName {ManagementAddress(k, here: false)}");
            }
            File.WriteAllLines(SshConfig, config);

            // The cables. Checksums complete on the hosts' side, as on a real wire (see Lab.AddressHostsAsync).
            Run("ip", "-n", Namespace("left"), "link", "add", "ens0", "type", "veth", "peer", "name", "sl0", "netns", Namespace("sut"));
            Run("ip", "-n", Namespace("right"), "link", "add", "ens0", "type", "veth", "peer", "name", "sr0", "netns", Namespace("sut"));
            foreach ((string role, string ifname) in (ValueTuple<string, string>[])[("left", "ens0"), ("right", "ens0"), ("sut", "sl0"), ("sut", "sr0")])
            {
                Run("ip", "-n", Namespace(role), "link", "set", ifname, "up");
                if (role != "sut")
                    Run("ip", "netns", "exec", Namespace(role), "ethtool", "-K", ifname, "tx", "off");
            }

            for (int k = 0; k < Roles.Length; k++)
                StartSshd(Roles[k], ManagementAddress(k, here: false));
            foreach (string role in Roles)
            {
                // Each try pays the remote shell's start-up: seconds when both cores are busy.
                if (!Until(() => TrySsh(role, "true"), TimeSpan.FromSeconds(60)))
                    throw new InvalidOperationException($"ssh does not reach {role}:\n{SshdOutput()}");
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>The world's own folder: keys, configs, the sshds' pid files, and what a test writes.</summary>
    public string Folder { get; }

    /// <summary>The ssh client config that names the machines left, right and sut.</summary>
    public string SshConfig => Path.Combine(Folder, "ssh_config");

    /// <summary>The sshds' pids by role.</summary>
    public IReadOnlyDictionary<string, int> SshdPids => _sshd.ToDictionary(p => p.Key, p => p.Value.Id);

    /// <summary>The namespace of <paramref name="role"/>.</summary>
    public static string Namespace(string role) => $"dplr-{Environment.ProcessId}-{role}";

    /// <summary>Why the world cannot be built here (not root, no sshd, ...), or null.</summary>
    public static string? CannotRunBecause()
    {
        if (!OperatingSystem.IsLinux())
            return "needs Linux";
        if (Environment.UserName != "root")
            return "needs root (network namespaces)";
        if (!File.Exists(Sshd))
            return $"{Sshd} is missing: ./build.sh deps installs openssh-server";
        return Missing("ip", "ssh", "ssh-keygen", "ethtool", "ping", "socat", "python3", "nstat", "tcpdump", "tshark");
    }

    /// <summary>Runs <paramref name="command"/> on <paramref name="role"/>'s namespace directly (not over ssh): for checks.</summary>
    public static string InNamespace(string role, string command) => Run("ip", "netns", "exec", Namespace(role), "sh", "-c", command);

    /// <summary>The management address of machine <paramref name="k"/>: this namespace's end, or the machine's.</summary>
    private static string ManagementAddress(int k, bool here) => $"10.199.{Environment.ProcessId % 250}.{(4 * k) + (here ? 1 : 2)}";

    private void StartSshd(string role, string address)
    {
        string config = Path.Combine(Folder, $"sshd_config.{role}");
        File.WriteAllLines(config,
        [
            $"ListenAddress {address}",
            "Port 22",
            $"HostKey {Folder}/host_key",
            $"PidFile {Folder}/sshd.{role}.pid",
            $"AuthorizedKeysFile {Folder}/authorized_keys",
            "PermitRootLogin prohibit-password",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            // The temp folder is root's, but not 0700 all the way up.
            "StrictModes no",
            "UsePAM no",
            // Every lab command is a connection of its own; the default 10 would refuse some under load.
            "MaxStartups 100",
        ]);
        // ip netns exec execs sshd: the pid is sshd's. -e: its log on standard error.
        _sshd[role] = _lab.StartIn(Namespace(role), Sshd, "-D", "-e", "-f", config);
    }

    /// <summary>What the sshds said (-e: their log on standard error), for a failure's message.</summary>
    public string SshdOutput() => string.Concat(_sshd.Select(p => string.Concat(p.Value.AllOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => $"[{p.Key}] {l}\n"))));

    private bool TrySsh(string role, string command)
    {
        try
        {
            Run("ssh", "-F", SshConfig, "-o", "BatchMode=yes", "-o", "ConnectTimeout=5", role, command);
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>
    /// Stops what runs in the machines: the sessions' processes (a test that failed may leave
    /// some, and a deleted namespace would not end them) by their pids after 3 s of grace, then the
    /// sshds (SIGTERM, SIGKILL after 5 s); deletes the links and namespaces, removes the files.
    /// </summary>
    public void Dispose()
    {
        var sshdPids = _sshd.Values.Select(p => p.Id).ToHashSet();
        foreach (string ns in _lab.Namespaces)
        {
            int[] Left()
            {
                try
                {
                    return [.. Run("ip", "netns", "pids", ns).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).Where(p => !sshdPids.Contains(p))];
                }
                catch (InvalidOperationException)
                {
                    return []; // never made
                }
            }
            if (!Until(() => Left().Length == 0, TimeSpan.FromSeconds(3)))
            {
                foreach (int pid in Left())
                    _ = Tmds.Linux.LibC.kill(pid, Tmds.Linux.LibC.SIGKILL);
            }
        }
        _sshd.Clear();
        _lab.Dispose(); // the sshds by their pids (SIGTERM, SIGKILL after 5 s), the links, the namespaces
        if (_madePrivsepFolder)
            Quietly("rmdir", "/run/sshd");
        Directory.Delete(Folder, recursive: true);
    }
}
