using Dataplane.Labs;

namespace Dataplane.Wire.Tests.Captures;

/// <summary>
/// Real traffic from the Linux kernel, captured once per test run, for differential tests of the wire
/// formats: two network namespaces joined by a veth pair (10.77.0.1/24, fd77::1/64 on side a;
/// 10.77.0.2/24, fd77::2/64 on side b), tcpdump on side a, and traffic between them from ping,
/// ping -6 and iperf3 (TCP over IPv4 and IPv6, UDP over IPv4). Checksum and segmentation offloads
/// are off on both ends, so frames are at most MTU-sized and carry complete checksums, as on a wire.
/// Needs root and ip, tcpdump, ping, iperf3 (<c>./build.sh deps</c>); otherwise
/// <see cref="SkipReason"/> says what is missing. Nothing outside the two namespaces is touched,
/// and they are deleted before the capture is handed out, also when it fails.
/// </summary>
public sealed class LinuxCaptures
{
    private static readonly Lazy<LinuxCaptures> s_mixed = new(CaptureMixed, LazyThreadSafetyMode.ExecutionAndPublication);

    private static readonly string[] SearchPath =
        [.. (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries), "/usr/sbin", "/sbin", "/usr/bin", "/bin"];

    private readonly StringWriter _log = new() { NewLine = "\n" };
    private IReadOnlyList<PcapRecord>? _frames;

    private LinuxCaptures() { }

    /// <summary>The ping + iperf3 capture described on the class, made on first use.</summary>
    public static LinuxCaptures Mixed => s_mixed.Value;

    /// <summary>
    /// The capture, or skips the calling <c>[SkippableFact]</c> when this machine cannot make one,
    /// or fails it (with the commands' output) when making it went wrong.
    /// </summary>
    public static LinuxCaptures RequireMixed()
    {
        LinuxCaptures capture = Mixed;
        Skip.If(capture.SkipReason is not null, capture.SkipReason);
        if (capture.Error is not null)
            throw new InvalidOperationException($"capturing Linux traffic failed: {capture.Error}\n{capture.Log}");
        return capture;
    }

    /// <summary>Why this machine cannot capture (not root, not Linux, a tool missing); null if it can.</summary>
    public string? SkipReason { get; private set; }

    /// <summary>What went wrong while capturing on a machine that can; null on success.</summary>
    public string? Error { get; private set; }

    /// <summary>The pcap file (a temporary file, deleted when the test process exits); null unless captured.</summary>
    public string? PcapPath { get; private set; }

    /// <summary>Every command run and what it printed.</summary>
    public string Log => _log.ToString();

    /// <summary>The captured frames, Ethernet (LINKTYPE 1), whole (<c>-s 0</c>); empty unless captured.</summary>
    public IReadOnlyList<PcapRecord> Frames => _frames ??= PcapPath is null ? [] : ReadEthernet(PcapPath);

    private static List<PcapRecord> ReadEthernet(string path)
    {
        var reader = PcapReader.Open(path);
        if (reader.LinkType != PcapReader.LinkTypeEthernet)
            throw new InvalidDataException($"{path}: link type {reader.LinkType}, expected Ethernet");
        return [.. reader.Records()];
    }

    private static LinuxCaptures CaptureMixed()
    {
        var capture = new LinuxCaptures();
        capture.SkipReason = CannotCaptureBecause();
        if (capture.SkipReason is null)
            capture.Run();
        return capture;
    }

    private static string? CannotCaptureBecause()
    {
        if (!OperatingSystem.IsLinux())
            return "Linux captures need Linux";
        if (!Environment.IsPrivilegedProcess)
            return "Linux captures need root (network namespaces, tcpdump)";
        string[] missing = [.. new[] { "ip", "tcpdump", "ping", "iperf3" }.Where(tool => Which(tool) is null)];
        return missing.Length == 0 ? null : $"Linux captures need {string.Join(", ", missing)} (./build.sh deps installs them)";
    }

    private static string? Which(string tool)
        => SearchPath.Select(dir => Path.Combine(dir, tool)).FirstOrDefault(File.Exists);

    private void Run()
    {
        int pid = Environment.ProcessId;
        // Interface names are at most 15 characters and both ends are created inside the namespaces.
        string vethA = $"dpw{pid}a", vethB = $"dpw{pid}b";
        string dir = Directory.CreateTempSubdirectory("dpw-capture-").FullName;
        AppDomain.CurrentDomain.ProcessExit += (_, _) => TryDeleteDirectory(dir);
        string pcap = Path.Combine(dir, "mixed.pcap");

        // The namespaces dpw-PID-a and dpw-PID-b and what runs in them, all removed at the end.
        var lab = new NetnsLab($"dpw-{pid}", _log);
        try
        {
            DeleteStaleNamespaces();
            string nsA = lab.Namespace("a"), nsB = lab.Namespace("b");
            lab.Veth(nsA, vethA, nsB, vethB, up: false);
            foreach (var (ns, veth, v4, v6) in new[] { (nsA, vethA, "10.77.0.1/24", "fd77::1/64"), (nsB, vethB, "10.77.0.2/24", "fd77::2/64") })
            {
                lab.Address(ns, veth, v4, v6);
                lab.Up(ns, veth);
                // Software checksums and no TSO/GSO/GRO: the capture then shows what a wire carries.
                if (Which("ethtool") is not null)
                    RunCommand("ip", ["netns", "exec", ns, "ethtool", "-K", veth, "tx", "off", "rx", "off", "tso", "off", "gso", "off", "gro", "off"]);
            }

            // A 32 MiB capture buffer (-B, KiB): with the default 2 MiB, a loaded CI machine let the
            // kernel drop the last transfer's frames before tcpdump read them (a capture with no
            // TCP over IPv6 in it, seen once).
            LabProcess tcpdump = Start(lab, nsA, "tcpdump", "-i", vethA, "-s", "0", "-B", "32768", "-U", "-n", "-Z", "root", "-w", pcap);
            tcpdump.WaitForOutput("listening on", TimeSpan.FromSeconds(30));

            InNamespace(nsA, ["ping", "-c", "20", "-i", "0.01", "-w", "10", "10.77.0.2"]);
            InNamespace(nsA, ["ping", "-6", "-c", "20", "-i", "0.01", "-w", "10", "fd77::2"]);
            Iperf3(lab, nsA, nsB, "10.77.0.2", "5201", ["-n", "1M"]);
            Iperf3(lab, nsA, nsB, "10.77.0.2", "5202", ["-u", "-b", "8M", "-l", "1000", "-n", "128K"]);
            Iperf3(lab, nsA, nsB, "fd77::2", "5203", ["-n", "512K"]);

            Thread.Sleep(200); // the last ACKs and FINs
            // SIGINT: tcpdump flushes and closes its file.
            int exit = tcpdump.Stop(TimeSpan.FromSeconds(5), Signal.Int);
            _log.Write(tcpdump.AllOutput);
            if (exit != 0)
                throw new InvalidOperationException($"tcpdump exited with {exit}");
            PcapPath = pcap;
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException or IOException or LabException)
        {
            Error = e.Message;
        }
        finally
        {
            lab.Dispose(); // stops what it started (only processes started here), deletes the namespaces
        }
    }

    private void Iperf3(NetnsLab lab, string client, string server, string address, string port, string[] options)
    {
        LabProcess iperf = Start(lab, server, "iperf3", "-s", "-1", "--forceflush", "-B", address, "-p", port);
        iperf.WaitForOutput("Server listening", TimeSpan.FromSeconds(30));
        InNamespace(client, ["iperf3", "-c", address, "-p", port, "--connect-timeout", "3000", .. options]);
        iperf.WaitForExit(TimeSpan.FromSeconds(30));
        _log.Write(iperf.AllOutput);
    }

    /// <summary>Namespaces this class made in a test process that died before deleting them.</summary>
    private void DeleteStaleNamespaces()
    {
        var (_, list) = RunCommand("ip", ["netns", "list"]);
        foreach (string line in list.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            string name = line.Split(' ')[0];
            string[] parts = name.Split('-');
            if (parts is ["dpw", string owner, "a" or "b"] && int.TryParse(owner, out int ownerPid)
                && ownerPid != Environment.ProcessId && !Directory.Exists($"/proc/{ownerPid}"))
                RunCommand("ip", ["netns", "del", name]);
        }
    }

    private void InNamespace(string ns, string[] command)
    {
        string[] args = ["netns", "exec", ns, .. command];
        var (exitCode, output) = RunCommand("ip", args);
        if (exitCode != 0)
            throw new InvalidOperationException($"'ip {string.Join(' ', args)}' exited with {exitCode}: {output.Trim()}");
    }

    private (int ExitCode, string Output) RunCommand(string file, string[] args)
    {
        _log.WriteLine($"$ {file} {string.Join(' ', args)}");
        var (exitCode, output) = NetnsLab.Execute(file, args);
        _log.Write(output);
        return (exitCode, output);
    }

    private LabProcess Start(NetnsLab lab, string ns, params string[] command)
    {
        _log.WriteLine($"$ ip netns exec {ns} {string.Join(' ', command)} &");
        // `ip netns exec` execs the command, so the PID is the tool's own.
        return lab.StartIn(ns, command[0], command[1..]);
    }

    private static void TryDeleteDirectory(string dir)
    {
        try
        {
            Directory.Delete(dir, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
