using System.Text;

namespace Dataplane.Labs.Guest;

/// <summary>
/// The QEMU test guest as a lab <see cref="Host"/>: commands run in it through its command channel,
/// a virtio-net NIC on the kernel's driver whose tap is in <see cref="Namespace"/> of this machine.
/// In the guest, socat listens on <see cref="Address"/>:<see cref="Port"/> and runs
/// <c>guest-execd</c> per connection in a session of its own; here <c>guest-exec.py</c> (from
/// that namespace) sends the command and passes its output on, and exits with its status. Like
/// <see cref="SshHost"/>, <see cref="Start"/> writes the command's process group into a file in
/// <see cref="Folder"/> in the guest, so that stopping it reaches what it started there. Each
/// command pays a Python start and a connection (tens of milliseconds) and a shell in the guest.
/// </summary>
/// <param name="role">sut (the system under test).</param>
/// <param name="ns">The namespace here that holds the channel's tap.</param>
/// <param name="client">guest-exec.py here (<see cref="WriteClient"/>).</param>
/// <param name="folder">The run's folder in the guest.</param>
/// <param name="binary">The dataplane binary the guest's image holds as /usr/bin/dataplane.</param>
public sealed class GuestHost(string role, string ns, string client, string folder, string binary) : Host(role)
{
    /// <summary>The guest's address on the channel's NIC, a /30 with <see cref="HostAddress"/>.</summary>
    public const string Address = "10.255.255.2";

    /// <summary>The address of the channel's tap in <see cref="Namespace"/>.</summary>
    public const string HostAddress = "10.255.255.1";

    /// <summary>The channel's TCP port in the guest.</summary>
    public const int Port = 7070;

    /// <summary>The channel NIC's name in the guest.</summary>
    public const string Interface = "chan0";

    /// <summary>The programs of this machine the guest gets (with their libraries) for a Linux system under test and the runner's checks.</summary>
    /// <remarks>
    /// dash runs the commands: the image's busybox sh runs its own applets before it looks at PATH
    /// (ip, sysctl), which lack what the runner asks of iproute2's and procps' (<c>nodad</c>).
    /// </remarks>
    public static readonly string[] Programs = ["dash", "socat", "iperf3", "nstat", "ss", "ip", "ethtool", "sysctl"];

    /// <summary>Files for the guest from this machine, by path there: dash as <c>/usr/bin/sh</c>, first on the guest's PATH, so that a command's own <c>sh -c</c> is dash too.</summary>
    public static IReadOnlyDictionary<string, string> HostFiles => new Dictionary<string, string> { ["/usr/bin/sh"] = ProgramPaths()[0] };

    private int _spawned;

    /// <summary>
    /// The guest has no Python: udpbench (the UDP peer of the relay, echo and multicast tests, a
    /// Python script) cannot run there, so a Linux system under test's side of the multicast tests
    /// is NORUN with that reason. The rest of what the runner asks of it is in <see cref="Programs"/>.
    /// </summary>
    public override string? CannotRun(string command) =>
        command.Contains("udpbench", StringComparison.Ordinal) ? "the QEMU guest has no python3 for udpbench (the UDP peer is a Python script)" : null;

    /// <summary>The namespace here that holds the channel's tap.</summary>
    public string Namespace { get; } = ns;

    /// <summary>The run's folder in the guest (commands' group files, the dataplane's config and socket).</summary>
    public string Folder { get; } = folder;

    /// <inheritdoc/>
    public override string Where => $"the QEMU guest ({Address}, channel from namespace {Namespace})";

    /// <summary>The Python interpreter that runs the client: the system's, not a user's shim.</summary>
    private static string Python => File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";

    /// <inheritdoc/>
    protected internal override (string File, string[] Arguments) Wrap(string command) =>
        ("ip", ["netns", "exec", Namespace, Python, client, Address, $"{Port}", command]);

    /// <summary>Starts the command with its process group in a file, as <see cref="SshHost.Start"/> does.</summary>
    public override LabProcess Start(string command, TextWriter? log = null)
    {
        string groupFile = $"{Folder}/{Role}-{Interlocked.Increment(ref _spawned)}.pgid";
        return LabProcess.Start(this,
            $"mkdir -p {Folder} && cut -d' ' -f5 /proc/$$/stat >{groupFile} && exec sh -c {Shell.Quote(command)}", log, groupFile);
    }

    /// <summary>
    /// The dataplane binary is the image's /usr/bin/dataplane (built from the same file); another
    /// file is written into <paramref name="remoteFolder"/> through the channel, in base64 pieces.
    /// </summary>
    public override async Task<string> ProvideAsync(string localPath, string remoteFolder, CancellationToken cancel)
    {
        if (Path.GetFullPath(localPath) == Path.GetFullPath(binary))
            return "/usr/bin/dataplane";
        string remote = $"{remoteFolder}/{Path.GetFileName(localPath)}";
        byte[] bytes = await File.ReadAllBytesAsync(localPath, cancel).ConfigureAwait(false);
        // A command per piece: one argument of a program may hold at most 128 KiB (MAX_ARG_STRLEN).
        const int piece = 48 * 1024;
        var commands = new List<string>();
        for (int at = 0; at == 0 || at < bytes.Length; at += piece)
        {
            string data = Convert.ToBase64String(bytes, at, Math.Min(piece, bytes.Length - at));
            commands.Add(at == 0
                ? $"mkdir -p {Shell.Quote(remoteFolder)} && printf '%s' '{data}' | base64 -d >{Shell.Quote(remote)} && chmod +x {Shell.Quote(remote)}"
                : $"printf '%s' '{data}' | base64 -d >>{Shell.Quote(remote)}");
        }
        foreach (string command in commands)
        {
            CommandResult result = await RunAsync(command, TimeSpan.FromSeconds(60), null, cancel).ConfigureAwait(false);
            if (result.ExitCode != 0)
                throw new LabException($"copying {localPath} into the guest ({remote}) failed: {(result.TimedOut ? "no end after 60 s" : result.Output.Trim())}");
        }
        return remote;
    }

    /// <summary>Writes the channel's client into <paramref name="folder"/> here; its path.</summary>
    public static string WriteClient(string folder)
    {
        string path = System.IO.Path.Combine(folder, "guest-exec.py");
        File.WriteAllBytes(path, GuestImage.Script("guest-exec.py"));
        return path;
    }

    /// <summary>
    /// What a boot needs for the channel: <c>/bin/guest-execd</c>, and the guest's /etc/guest/run
    /// that names the NICs (<paramref name="names"/>: PCI address to interface name, for those on a
    /// kernel driver; the channel's own as <see cref="Interface"/>), addresses the channel's NIC,
    /// starts socat on it, says <c>GUEST channel ready</c> and waits for a line on the console
    /// (none comes: the guest is stopped by QEMU's pid). <paramref name="channelPci"/> is the
    /// channel NIC's address.
    /// </summary>
    public static (IReadOnlyDictionary<string, string> Files, string Run) GuestSide(string channelPci, IReadOnlyDictionary<string, string> names)
    {
        var run = new StringBuilder();
        run.Append("""
            # name_nic BDF NAME: the kernel interface of PCI device BDF (or of its virtio device) becomes NAME.
            name_nic() {
                for n in /sys/bus/pci/devices/$1/net/* /sys/bus/pci/devices/$1/virtio*/net/*; do
                    if [ -e "$n" ]; then ip link set "${n##*/}" name "$2" && echo "GUEST named $1 $2" && return 0; fi
                done
                echo "GUEST named $1 none"
                return 1
            }

            """);
        run.Append($"name_nic {channelPci} {Interface}\n");
        foreach ((string bdf, string name) in names)
            run.Append($"name_nic {bdf} {name}\n");
        run.Append($"""
            ip link set lo up
            ip link set {Interface} up
            ip addr add {Address}/30 dev {Interface}
            socat TCP4-LISTEN:{Port},bind={Address},fork,reuseaddr EXEC:/bin/guest-execd,setsid 2>/tmp/guest-execd.log &
            i=0
            while ! ss -Hlnt 'sport = :{Port}' | grep -q . && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
            echo "GUEST channel ready"
            read -r word

            """);
        var files = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["/bin/guest-execd"] = Encoding.UTF8.GetString(GuestImage.Script("guest-execd.sh")),
        };
        return (files, run.ToString());
    }

    /// <summary>The paths here of <see cref="Programs"/>, found on PATH; a <see cref="LabException"/> names those missing.</summary>
    public static IReadOnlyList<string> ProgramPaths()
    {
        string[] path = (Environment.GetEnvironmentVariable("PATH") ?? "/usr/sbin:/usr/bin:/sbin:/bin").Split(':', StringSplitOptions.RemoveEmptyEntries);
        var found = new List<string>();
        var missing = new List<string>();
        foreach (string program in Programs)
        {
            string? at = path.Select(d => System.IO.Path.Combine(d, program)).FirstOrDefault(p => File.Exists(p) && !p.Contains("/.pyenv/", StringComparison.Ordinal));
            if (at is null)
                missing.Add(program);
            else
                found.Add(at);
        }
        if (missing.Count > 0)
            throw new LabException($"the guest needs {string.Join(", ", missing)} from this machine (./build.sh deps installs them)");
        return found;
    }
}
