using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

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

    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(20);
    private static readonly string[] SearchPath =
        [.. (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries), "/usr/sbin", "/sbin", "/usr/bin", "/bin"];

    private readonly StringBuilder _log = new();
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
        string nsA = $"dpw-{pid}-a", nsB = $"dpw-{pid}-b";
        // Interface names are at most 15 characters and both ends are created inside the namespaces.
        string vethA = $"dpw{pid}a", vethB = $"dpw{pid}b";
        string dir = Directory.CreateTempSubdirectory("dpw-capture-").FullName;
        AppDomain.CurrentDomain.ProcessExit += (_, _) => TryDeleteDirectory(dir);
        string pcap = Path.Combine(dir, "mixed.pcap");

        var started = new List<BackgroundProcess>();
        try
        {
            DeleteStaleNamespaces();
            Ip("netns", "add", nsA);
            Ip("netns", "add", nsB);
            Ip("-n", nsA, "link", "add", vethA, "type", "veth", "peer", "name", vethB, "netns", nsB);
            foreach (var (ns, veth, v4, v6) in new[] { (nsA, vethA, "10.77.0.1/24", "fd77::1/64"), (nsB, vethB, "10.77.0.2/24", "fd77::2/64") })
            {
                Ip("-n", ns, "addr", "add", v4, "dev", veth);
                Ip("-n", ns, "addr", "add", v6, "dev", veth, "nodad");
                Ip("-n", ns, "link", "set", "lo", "up");
                Ip("-n", ns, "link", "set", veth, "up");
                // Software checksums and no TSO/GSO/GRO: the capture then shows what a wire carries.
                if (Which("ethtool") is not null)
                    InNamespace(ns, ["ethtool", "-K", veth, "tx", "off", "rx", "off", "tso", "off", "gso", "off", "gro", "off"], mustSucceed: false);
            }

            var tcpdump = Start(started, nsA, "tcpdump", "-i", vethA, "-s", "0", "-U", "-n", "-Z", "root", "-w", pcap);
            tcpdump.WaitForOutput("listening on", TimeSpan.FromSeconds(30));

            InNamespace(nsA, ["ping", "-c", "20", "-i", "0.01", "-w", "10", "10.77.0.2"]);
            InNamespace(nsA, ["ping", "-6", "-c", "20", "-i", "0.01", "-w", "10", "fd77::2"]);
            Iperf3(started, nsA, nsB, "10.77.0.2", "5201", ["-n", "1M"]);
            Iperf3(started, nsA, nsB, "10.77.0.2", "5202", ["-u", "-b", "8M", "-l", "1000", "-n", "128K"]);
            Iperf3(started, nsA, nsB, "fd77::2", "5203", ["-n", "512K"]);

            Thread.Sleep(200); // the last ACKs and FINs
            tcpdump.Interrupt(TimeSpan.FromSeconds(5));
            _log.Append(tcpdump.Output);
            if (tcpdump.ExitCode != 0)
                throw new InvalidOperationException($"tcpdump exited with {tcpdump.ExitCode}");
            PcapPath = pcap;
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException or IOException or System.ComponentModel.Win32Exception)
        {
            Error = e.Message;
        }
        finally
        {
            foreach (var process in started)
                process.Dispose(); // kills it if it still runs: only processes started here
            RunQuietly("ip", ["netns", "del", nsA]);
            RunQuietly("ip", ["netns", "del", nsB]);
        }
    }

    private void Iperf3(List<BackgroundProcess> started, string client, string server, string address, string port, string[] options)
    {
        var iperf = Start(started, server, "iperf3", "-s", "-1", "--forceflush", "-B", address, "-p", port);
        iperf.WaitForOutput("Server listening", TimeSpan.FromSeconds(30));
        InNamespace(client, ["iperf3", "-c", address, "-p", port, "--connect-timeout", "3000", .. options]);
        iperf.WaitForExit(TimeSpan.FromSeconds(30));
        _log.Append(iperf.Output);
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
                RunQuietly("ip", ["netns", "del", name]);
        }
    }

    private void Ip(params string[] args) => Check("ip", args);

    private void InNamespace(string ns, string[] command, bool mustSucceed = true)
    {
        string[] args = ["netns", "exec", ns, .. command];
        if (mustSucceed)
            Check("ip", args);
        else
            RunQuietly("ip", args);
    }

    private void Check(string file, string[] args)
    {
        var (exitCode, output) = RunCommand(file, args);
        if (exitCode != 0)
            throw new InvalidOperationException($"'{file} {string.Join(' ', args)}' exited with {exitCode}: {output.Trim()}");
    }

    private void RunQuietly(string file, string[] args)
    {
        try
        {
            RunCommand(file, args);
        }
        catch (TimeoutException e)
        {
            _log.Append(e.Message).Append('\n');
        }
    }

    private (int ExitCode, string Output) RunCommand(string file, string[] args)
    {
        _log.Append("$ ").Append(file).Append(' ').AppendJoin(' ', args).Append('\n');
        using var process = new BackgroundProcess(file, args);
        process.WaitForExit(CommandTimeout);
        _log.Append(process.Output);
        return (process.ExitCode, process.Output);
    }

    private BackgroundProcess Start(List<BackgroundProcess> started, string ns, params string[] command)
    {
        _log.Append("$ ip netns exec ").Append(ns).Append(' ').AppendJoin(' ', command).Append(" &\n");
        // `ip netns exec` execs the command, so the PID is the tool's own.
        var process = new BackgroundProcess("ip", ["netns", "exec", ns, .. command]);
        started.Add(process);
        return process;
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

    /// <summary>A process this class started, its stdout and stderr gathered as they come.</summary>
    private sealed class BackgroundProcess : IDisposable
    {
        private const int SIGINT = 2;
        private readonly Process _process;
        private readonly StringBuilder _output = new();

        public BackgroundProcess(string file, string[] args)
        {
            var start = new ProcessStartInfo(file)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                RedirectStandardInput = true,
                UseShellExecute = false,
            };
            foreach (string arg in args)
                start.ArgumentList.Add(arg);
            _process = new Process { StartInfo = start };
            _process.OutputDataReceived += (_, e) => Append(e.Data);
            _process.ErrorDataReceived += (_, e) => Append(e.Data);
            _process.Start();
            _process.StandardInput.Close();
            _process.BeginOutputReadLine();
            _process.BeginErrorReadLine();
        }

        public string Output
        {
            get
            {
                lock (_output)
                    return _output.ToString();
            }
        }

        public int ExitCode => _process.ExitCode;

        public void WaitForOutput(string text, TimeSpan timeout)
        {
            var deadline = Stopwatch.StartNew();
            while (!Output.Contains(text, StringComparison.Ordinal))
            {
                if (_process.HasExited)
                {
                    _process.WaitForExit();
                    throw new InvalidOperationException($"'{_process.StartInfo.FileName} {string.Join(' ', _process.StartInfo.ArgumentList)}' exited with {_process.ExitCode} before printing '{text}': {Output.Trim()}");
                }
                if (deadline.Elapsed > timeout)
                    throw new TimeoutException($"'{string.Join(' ', _process.StartInfo.ArgumentList)}' did not print '{text}' within {timeout.TotalSeconds} s: {Output.Trim()}");
                Thread.Sleep(20);
            }
        }

        public void WaitForExit(TimeSpan timeout)
        {
            if (!_process.WaitForExit(timeout))
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit();
                throw new TimeoutException($"'{_process.StartInfo.FileName} {string.Join(' ', _process.StartInfo.ArgumentList)}' did not finish within {timeout.TotalSeconds} s: {Output.Trim()}");
            }
            _process.WaitForExit(); // drains the output callbacks
        }

        /// <summary>SIGINT (tcpdump then flushes and closes its file), then waits.</summary>
        public void Interrupt(TimeSpan timeout)
        {
            if (!_process.HasExited)
                _ = Kill(_process.Id, SIGINT);
            WaitForExit(timeout);
        }

        public void Dispose()
        {
            try
            {
                if (!_process.HasExited)
                {
                    _process.Kill(entireProcessTree: true);
                    _process.WaitForExit(5000);
                }
            }
            catch (InvalidOperationException)
            {
                // Never started or already reaped.
            }
            _process.Dispose();
        }

        private void Append(string? line)
        {
            if (line is null)
                return;
            lock (_output)
                _output.Append(line).Append('\n');
        }

        [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
        private static extern int Kill(int pid, int signal);
    }
}
