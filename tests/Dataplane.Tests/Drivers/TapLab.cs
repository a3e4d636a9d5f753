using System.Diagnostics;
using System.Globalization;
using System.Text;
using Dataplane.Buffers;
using Dataplane.Drivers.Tap;
using Dataplane.Native;
using Dataplane.Wire;

namespace Dataplane.Tests.Drivers;

/// <summary>
/// The network namespaces, interfaces and processes of one root-only tap test, all removed on
/// dispose. Names are <c>dpt&lt;pid&gt;&lt;kind&gt;&lt;n&gt;</c> so parallel tests and parallel runs do not
/// collide; traffic stays inside the test's namespaces (10.66.0.0/24 on the tap, 10.67.0.0/24
/// behind it); every process started is stopped by its own PID.
/// </summary>
internal sealed class TapLab : IDisposable
{
    /// <summary>The host's address on the tap.</summary>
    public static readonly Ipv4Address HostAddress = new(10, 66, 0, 1);

    /// <summary>Our (the dataplane's) address on the tap.</summary>
    public static readonly Ipv4Address OurAddress = new(10, 66, 0, 2);

    /// <summary>The host's address toward the far namespace.</summary>
    public static readonly Ipv4Address RouterAddress = new(10, 67, 0, 1);

    /// <summary>The far namespace's address, reached through the host.</summary>
    public static readonly Ipv4Address FarAddress = new(10, 67, 0, 2);

    private static int s_counter;
    private static readonly Lazy<string?> s_skipReason = new(CannotRunBecause);
    private readonly List<string> _namespaces = [];
    private readonly List<string> _links = [];
    private readonly List<LabProcess> _processes = [];
    private readonly string _directory;

    public TapLab()
    {
        _directory = Directory.CreateTempSubdirectory($"dpt{Environment.ProcessId}-").FullName;
    }

    /// <summary>Skips the calling <c>[SkippableFact]</c> unless this is Linux, as root, with ip, tcpdump, tshark and /dev/net/tun.</summary>
    public static void RequireRoot() => Skip.If(s_skipReason.Value is not null, s_skipReason.Value);

    /// <summary>A fresh interface or namespace name of at most 15 bytes.</summary>
    public static string UniqueName(char kind) =>
        $"dpt{Environment.ProcessId}{kind}{Interlocked.Increment(ref s_counter)}";

    /// <summary>A scratch file path in the lab's directory (removed on dispose).</summary>
    public string File(string name) => Path.Combine(_directory, name);

    /// <summary>A new network namespace with its loopback up, deleted on dispose.</summary>
    public string Namespace()
    {
        string ns = UniqueName('n');
        Run("ip", "netns", "add", ns);
        _namespaces.Add(ns);
        Run("ip", "-n", ns, "link", "set", "lo", "up");
        return ns;
    }

    /// <summary>
    /// Moves the interface <paramref name="name"/> into <paramref name="ns"/>, turns IPv6 off on it (no
    /// router solicitations or MLD reports: the only traffic is the test's), gives it
    /// <paramref name="address"/> and brings it up.
    /// </summary>
    public static void MoveInto(string name, string ns, string address)
    {
        Run("ip", "link", "set", name, "netns", ns);
        RunIn(ns, "sysctl", "-qw", $"net.ipv6.conf.{name}.disable_ipv6=1");
        Run("ip", "-n", ns, "addr", "add", address, "dev", name);
        Run("ip", "-n", ns, "link", "set", name, "up");
    }

    /// <summary>
    /// Turns <paramref name="host"/> into a router to a second namespace, returned: a veth pair,
    /// 10.67.0.1/24 on the host's end, 10.67.0.2/24 on the far end with a default route back.
    /// The host's end does no checksum or segmentation offload (so whatever it forwards leaves with
    /// checksums computed and super-frames cut in software), and the far end checks every checksum
    /// itself (rx-checksumming off: veth would otherwise mark frames from a peer as verified).
    /// </summary>
    public (string Far, string HostEnd, string FarEnd) Router(string host)
    {
        string far = Namespace();
        string stem = UniqueName('v');
        string hostEnd = stem + "h", farEnd = stem + "f";
        Run("ip", "link", "add", hostEnd, "type", "veth", "peer", "name", farEnd);
        _links.Add(hostEnd);
        Run("ip", "link", "set", hostEnd, "netns", host);
        Run("ip", "link", "set", farEnd, "netns", far);
        _links.Remove(hostEnd); // deleted with the namespaces now
        RunIn(host, "sysctl", "-qw", $"net.ipv6.conf.{hostEnd}.disable_ipv6=1");
        RunIn(far, "sysctl", "-qw", $"net.ipv6.conf.{farEnd}.disable_ipv6=1");
        RunIn(host, "sysctl", "-qw", "net.ipv4.ip_forward=1");
        RunIn(host, "ethtool", "-K", hostEnd, "tx", "off", "tso", "off", "gso", "on");
        RunIn(far, "ethtool", "-K", farEnd, "rx", "off", "gro", "off");
        Run("ip", "-n", host, "addr", "add", "10.67.0.1/24", "dev", hostEnd);
        Run("ip", "-n", far, "addr", "add", "10.67.0.2/24", "dev", farEnd);
        Run("ip", "-n", host, "link", "set", hostEnd, "up");
        Run("ip", "-n", far, "link", "set", farEnd, "up");
        Run("ip", "-n", far, "route", "add", "default", "via", "10.67.0.1");
        return (far, hostEnd, farEnd);
    }

    /// <summary>Starts <paramref name="file"/> inside <paramref name="ns"/> in the background; stopped by PID on dispose.</summary>
    public LabProcess StartIn(string ns, string file, params string[] args)
    {
        var process = new LabProcess("ip", ["netns", "exec", ns, file, .. args]);
        _processes.Add(process);
        return process;
    }

    /// <summary>
    /// Starts tcpdump on <paramref name="name"/> in <paramref name="ns"/>, writing the first
    /// <paramref name="count"/> frames that match <paramref name="filter"/> to <paramref name="pcap"/>,
    /// and returns once it is capturing.
    /// </summary>
    public LabProcess Capture(string ns, string name, int count, string pcap, string filter)
    {
        // -Z root: tcpdump would otherwise drop to its own user, who cannot write the lab's directory.
        LabProcess tcpdump = StartIn(ns, "tcpdump", "-i", name, "-n", "-U", "-Z", "root", "-c",
            count.ToString(CultureInfo.InvariantCulture), "-w", pcap, filter);
        tcpdump.WaitForOutput("listening on", TimeSpan.FromSeconds(10));
        return tcpdump;
    }

    /// <summary>
    /// Whether the interface <paramref name="name"/> is gone from this namespace within 5 seconds. A
    /// tap goes when its last queue is closed, but a child process another test forks at that moment
    /// shares the descriptor table until it execs, and holds the queues open until then.
    /// </summary>
    public static bool Gone(string name)
    {
        var clock = Stopwatch.StartNew();
        while (LinkControl.Exists(name))
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(5))
                return false;
            Thread.Sleep(10);
        }
        return true;
    }

    /// <summary>The counters of one protocol line of /proc/net/snmp in <paramref name="ns"/> (Udp, Tcp, Ip, Icmp).</summary>
    public static Dictionary<string, long> Snmp(string ns, string protocol)
    {
        string[] lines = RunIn(ns, "cat", "/proc/net/snmp").Split('\n')
            .Where(l => l.StartsWith(protocol + ":", StringComparison.Ordinal)).ToArray();
        string[] names = lines[0].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        string[] values = lines[1].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var counters = new Dictionary<string, long>();
        for (int i = 1; i < names.Length; i++)
            counters[names[i]] = long.Parse(values[i], CultureInfo.InvariantCulture);
        return counters;
    }

    /// <summary>Runs <paramref name="file"/> inside <paramref name="ns"/> with a 20-second limit; throws with its output if it fails.</summary>
    public static string RunIn(string ns, string file, params string[] args) => Run("ip", ["netns", "exec", ns, file, .. args]);

    /// <summary>Runs a command with a 20-second limit; throws with its output if it fails.</summary>
    public static string Run(string file, params string[] args)
    {
        using var process = new LabProcess(file, args);
        int exit = process.WaitForExit(TimeSpan.FromSeconds(20));
        if (exit != 0)
            throw new InvalidOperationException($"{file} {string.Join(' ', args)}: exit {exit}: {process.Error}{process.Output}");
        return process.Output;
    }

    /// <summary>
    /// Polls every queue (on their readiness descriptors) and hands each received frame to
    /// <paramref name="handle"/>, which owns it from then on, until <paramref name="done"/> says
    /// so or <paramref name="patience"/> runs out; false on timeout.
    /// </summary>
    public static bool Pump(TapQueue[] queues, Action<int, PacketBuffer> handle, Func<bool> done, TimeSpan patience)
    {
        var polls = new PollFd[queues.Length];
        var burst = new PacketBuffer[32];
        var clock = Stopwatch.StartNew();
        while (!done())
        {
            if (clock.Elapsed > patience)
                return false;
            for (int i = 0; i < queues.Length; i++)
                polls[i] = new PollFd(queues[i].ReadinessDescriptor.Value, PollEvents.In);
            PollFd.Poll(polls, 50);
            for (int q = 0; q < queues.Length; q++)
            {
                int n;
                while ((n = queues[q].Receive(burst)) > 0)
                {
                    for (int i = 0; i < n; i++)
                        handle(q, burst[i]);
                }
            }
        }
        return true;
    }

    /// <summary>The bytes of the frame at <paramref name="head"/>, over its whole chain.</summary>
    public static byte[] Bytes(BufferPool pool, PacketBuffer head)
    {
        var bytes = new List<byte>(pool.Metadata(head).PacketLength);
        for (int index = head.Index; index >= 0; index = pool.Metadata(new PacketBuffer(index)).Next)
            bytes.AddRange(pool.Data(new PacketBuffer(index)).ToArray());
        return [.. bytes];
    }

    /// <summary>Puts <paramref name="frame"/> into a fresh buffer of <paramref name="cache"/> (one buffer: short frames only).</summary>
    public static PacketBuffer Buffer(BufferCache cache, ReadOnlySpan<byte> frame)
    {
        Assert.True(cache.TryAllocate(out PacketBuffer buffer));
        ref BufferMetadata m = ref cache.Pool.Metadata(buffer);
        m.DataLength = (ushort)frame.Length;
        m.PacketLength = frame.Length;
        frame.CopyTo(cache.Pool.Data(buffer));
        return buffer;
    }

    /// <summary>
    /// Puts <paramref name="frame"/> into a chain of fresh buffers of <paramref name="cache"/>,
    /// <paramref name="piece"/> bytes each.
    /// </summary>
    public static PacketBuffer Chain(BufferCache cache, ReadOnlySpan<byte> frame, int piece)
    {
        PacketBuffer head = Buffer(cache, frame[..Math.Min(piece, frame.Length)]);
        for (int at = piece; at < frame.Length; at += piece)
            Assert.True(cache.TryAppend(head, Buffer(cache, frame[at..Math.Min(at + piece, frame.Length)])));
        return head;
    }

    /// <summary>Stops every process (by its PID), deletes the namespaces and interfaces, removes the files.</summary>
    public void Dispose()
    {
        foreach (LabProcess process in _processes)
            process.Dispose();
        foreach (string link in _links)
            Quietly("ip", "link", "del", link);
        foreach (string ns in _namespaces)
            Quietly("ip", "netns", "del", ns);
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static void Quietly(string file, params string[] args)
    {
        try
        {
            Run(file, args);
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException)
        {
        }
    }

    private static string? CannotRunBecause()
    {
        if (!OperatingSystem.IsLinux())
            return "needs Linux";
        if (Tmds.Linux.LibC.geteuid() != 0)
            return "needs root (CAP_NET_ADMIN) to create taps and network namespaces";
        if (!System.IO.File.Exists(Tun.CloneDevice))
            return $"{Tun.CloneDevice} is missing (no tun module)";
        foreach (string tool in new[] { "ip", "tcpdump", "tshark", "ping", "socat", "ethtool" })
        {
            if (!Environment.GetEnvironmentVariable("PATH")!.Split(':').Any(d => System.IO.File.Exists(Path.Combine(d, tool))))
                return $"{tool} is not installed: ./build.sh deps";
        }
        return null;
    }
}

/// <summary>A child process with its output collected; stopped by its own PID (SIGTERM, then SIGKILL) on dispose.</summary>
internal sealed class LabProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly StringBuilder _error = new();

    public LabProcess(string file, IEnumerable<string> args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string arg in args)
            start.ArgumentList.Add(arg);
        CommandLine = $"{file} {string.Join(' ', args)}";
        _process = new Process { StartInfo = start };
        _process.OutputDataReceived += (_, e) => Append(_output, e.Data);
        _process.ErrorDataReceived += (_, e) => Append(_error, e.Data);
        _process.Start();
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    /// <summary>What was started.</summary>
    public string CommandLine { get; }

    /// <summary>The process id.</summary>
    public int Id => _process.Id;

    /// <summary>Whether it has exited.</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>Standard output so far.</summary>
    public string Output
    {
        get
        {
            lock (_output)
                return _output.ToString();
        }
    }

    /// <summary>Standard error so far.</summary>
    public string Error
    {
        get
        {
            lock (_error)
                return _error.ToString();
        }
    }

    /// <summary>Waits for it to exit and its output to be read; its exit code. Throws on timeout.</summary>
    public int WaitForExit(TimeSpan timeout)
    {
        if (!_process.WaitForExit(timeout))
            throw new TimeoutException($"{CommandLine}: no exit after {timeout.TotalSeconds} s: {Error}{Output}");
        _process.WaitForExit(); // drains the asynchronous output readers
        return _process.ExitCode;
    }

    /// <summary>Waits until standard output or error contains <paramref name="text"/>.</summary>
    public void WaitForOutput(string text, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (!Error.Contains(text, StringComparison.Ordinal) && !Output.Contains(text, StringComparison.Ordinal))
        {
            if (clock.Elapsed > timeout || _process.HasExited)
                throw new TimeoutException($"{CommandLine}: no '{text}' after {clock.Elapsed.TotalSeconds:0.0} s: {Error}{Output}");
            Thread.Sleep(20);
        }
    }

    /// <summary>Asks it to end (SIGTERM to its PID: tcpdump then flushes its file) and waits; SIGKILL after 5 s.</summary>
    public void Stop()
    {
        if (_process.HasExited)
            return;
        _ = Tmds.Linux.LibC.kill(_process.Id, Tmds.Linux.LibC.SIGTERM);
        if (!_process.WaitForExit(5000))
            _process.Kill(entireProcessTree: false);
        _process.WaitForExit();
    }

    public void Dispose()
    {
        try
        {
            Stop();
        }
        catch (InvalidOperationException)
        {
            // Never started or already reaped.
        }
        _process.Dispose();
    }

    private static void Append(StringBuilder text, string? line)
    {
        if (line is null)
            return;
        lock (text)
            text.Append(line).Append('\n');
    }
}
