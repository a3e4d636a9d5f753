using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Dataplane.Tests.Control;

namespace Dataplane.Tests.Stack.Lab;

/// <summary>How the dataplane of a <see cref="StackLab"/> reaches its two hosts.</summary>
public enum LabDriver
{
    /// <summary>Two tap ports; each tap is moved into its host's namespace after the dataplane made it.</summary>
    Tap,

    /// <summary>Two afpacket ports on veth pairs; the dataplane's ends stay here, the hosts' ends are moved.</summary>
    AfPacket,

    /// <summary>The example config's: a tap on the left, an afpacket port on a veth on the right.</summary>
    TapLeftAfPacketRight,

    /// <summary>
    /// Two afxdp ports on veth pairs made with one queue each way per worker (a socket binds to a
    /// receive queue); the dataplane's ends stay here, the hosts' ends are moved.
    /// </summary>
    AfXdp,
}

/// <summary>An address family of the lab.</summary>
public enum LabFamily
{
    /// <summary>IPv4.</summary>
    Ipv4,

    /// <summary>IPv6.</summary>
    Ipv6,
}

/// <summary>
/// The lab tests' collection: they run one at a time, and with no other test of this run beside
/// them. The dataplane of a lab runs inside the test process, so a unit test running at the same
/// time shares its garbage collector (a collection stops its workers too) and the two cores: with
/// the stress tests of the engine beside it, a lab's dataplane once lost 8 % of a 10 Mbit/s UDP
/// run, against at most 0.1 % alone under the same outside load.
/// </summary>
[CollectionDefinition(StackLab.Collection, DisableParallelization = true)]
public sealed class StackLabCollection;

/// <summary>
/// The topology of OpenBSD's regression lab (reference/openbsd-notes.md, line 1), with the dataplane
/// as the system under test: a Linux host LEFT (namespace, 10.10.11.1, fdd7:e83e:66bd:1011::1), the
/// dataplane running in-process on a thread of the test (10.10.11.2 | 10.10.12.3, forwarding on),
/// a Linux host RIGHT (namespace, 10.10.12.4, fdd7:e83e:66bd:1012::4). The dataplane's interfaces
/// are opened in this (the test's) namespace; only the hosts' ends move, so no thread has to setns.
/// Everything is unique per lab and removed on dispose, also when the start fails half-way.
/// </summary>
internal sealed partial class StackLab : IDisposable
{
    /// <summary>The xunit collection of every lab test: labs run one at a time (two cores, pinned workers, flood pings), and alone (<see cref="StackLabCollection"/>).</summary>
    public const string Collection = "stack lab";

    // The addresses of OpenBSD's lab, line 1: left net .1 host, .2 us; right net .3 us, .4 host.
    public const string LeftHost = "10.10.11.1";
    public const string LeftHost6 = "fdd7:e83e:66bd:1011::1";
    public const string DataplaneLeft = "10.10.11.2";
    public const string DataplaneLeft6 = "fdd7:e83e:66bd:1011::2";
    public const string DataplaneRight = "10.10.12.3";
    public const string DataplaneRight6 = "fdd7:e83e:66bd:1012::3";
    public const string RightHost = "10.10.12.4";
    public const string RightHost6 = "fdd7:e83e:66bd:1012::4";

    /// <summary>The Debian interpreter, which has python3-scapy (a python3 earlier on the path, pyenv's say, may not).</summary>
    public const string Scapy = "/usr/bin/python3";

    private static readonly Lazy<string?> s_skipReason = new(CannotRunBecause);
    private static readonly Lazy<bool> s_scapy = new(() => System.IO.File.Exists(Scapy) && LinuxLab.Execute(Scapy, "-c", "import scapy.all").ExitCode == 0);
    private readonly LinuxLab _lab = new();
    private RunningHost? _host;
    private string[] _veths = [];

    private StackLab(LabDriver driver)
    {
        Driver = driver;
    }

    /// <summary>The driver of both ports.</summary>
    public LabDriver Driver { get; }

    /// <summary>The left host's namespace.</summary>
    public string Left { get; private set; } = "";

    /// <summary>The right host's namespace.</summary>
    public string Right { get; private set; } = "";

    /// <summary>The left host's interface (in <see cref="Left"/>) on the link to the dataplane.</summary>
    public string LeftLink { get; private set; } = "";

    /// <summary>The right host's interface (in <see cref="Right"/>).</summary>
    public string RightLink { get; private set; } = "";

    /// <summary>The running dataplane.</summary>
    public RunningHost Host => _host ?? throw new InvalidOperationException("not started");

    /// <summary>Scratch files, removed on dispose.</summary>
    public LinuxLab Files => _lab;

    /// <summary>Skips the calling <c>[SkippableFact]</c> unless this is Linux, as root, with /dev/net/tun and the peers' tools.</summary>
    public static void RequireRoot() => Skip.If(s_skipReason.Value is not null, s_skipReason.Value);

    /// <summary>Skips the calling <c>[SkippableFact]</c> unless <see cref="Scapy"/> can import scapy.</summary>
    public static void RequireScapy() => Skip.IfNot(s_scapy.Value, "python3-scapy is not installed: ./build.sh deps");

    /// <summary>Skips the calling <c>[SkippableFact]</c> unless hping3, the flood tool, is installed.</summary>
    public static void RequireHping3() => Skip.If(LinuxLab.Missing("hping3") is not null, LinuxLab.Missing("hping3"));

    /// <summary>
    /// Builds the lab and starts the dataplane on it, with <paramref name="config"/> appended to
    /// the config (an <c>mtu</c> or <c>app</c> statement), and returns once both hosts reach each
    /// other through it over IPv4 and IPv6 (so ARP, ND and the dataplane's DAD are done). The
    /// dataplane has <paramref name="workers"/> workers (one queue each per port): two by default,
    /// so that a test's flows land on both; one puts every flow on the same worker.
    /// </summary>
    /// <remarks>
    /// With <paramref name="hostOffloads"/> the hosts' veths keep the offloads a user has (TSO and
    /// GSO on: the kernel hands an afpacket port super-frames); by default they are switched off, so
    /// that the host sends what a wire carries.
    /// </remarks>
    public static StackLab Start(LabDriver driver, string config = "", int workers = 2, bool hostOffloads = false)
    {
        RequireRoot();
        var lab = new StackLab(driver);
        try
        {
            lab.Build(config, workers, hostOffloads);
            return lab;
        }
        catch
        {
            lab.Dispose();
            throw;
        }
    }

    /// <summary><paramref name="v4"/> or <paramref name="v6"/>, by <paramref name="family"/>.</summary>
    public static string Address(LabFamily family, string v4, string v6) => family == LabFamily.Ipv4 ? v4 : v6;

    /// <summary>Runs a command on the left host (60-second limit); throws with its output if it fails.</summary>
    public string InLeft(string file, params string[] args) => LinuxLab.RunIn(Left, file, args);

    /// <summary>Runs a command on the left host (120-second limit); its exit code and output, whatever they are.</summary>
    public (int ExitCode, string Output) TryInLeft(string file, params string[] args) => LinuxLab.Execute("ip", ["netns", "exec", Left, file, .. args]);

    /// <summary>Starts a command on the left host in the background; stopped by its PID on dispose.</summary>
    public LabProcess StartInLeft(string file, params string[] args) => _lab.StartIn(Left, file, args);

    /// <summary>Starts a command on the right host in the background; stopped by its PID on dispose.</summary>
    public LabProcess StartInRight(string file, params string[] args) => _lab.StartIn(Right, file, args);

    /// <summary>Starts a command on the left host that reads lines from us; stopped by its PID on dispose.</summary>
    public LabProcess StartWithInputInLeft(string file, params string[] args) => _lab.StartWithInputIn(Left, file, args);

    /// <summary>Runs <c>dataplane ctl -s SOCKET ARGS</c> in-process; its output. Fails the test when ctl fails.</summary>
    public string Ctl(params string[] args)
    {
        (int code, string stdout, string stderr) = RunningHost.Ctl(["-s", Host.Socket, .. args]);
        Assert.True(code == 0, $"dataplane ctl {string.Join(' ', args)}: exit {code}: {stderr}");
        return stdout;
    }

    /// <summary>Every protocol counter of <c>ctl stats --json</c>, as <c>"group.key"</c> (<c>"ip.bad_checksum"</c>), and the ports' and workers' drops of its errors (<c>"port.left.tx_drops"</c>).</summary>
    public Dictionary<string, long> Counters()
    {
        using JsonDocument json = JsonDocument.Parse(Ctl("stats", "--json"));
        var counters = new Dictionary<string, long>();
        foreach (JsonProperty group in json.RootElement.GetProperty("protocols").EnumerateObject())
        {
            foreach (JsonProperty counter in group.Value.EnumerateObject())
                counters[$"{group.Name}.{counter.Name}"] = counter.Value.GetInt64();
        }
        // The ports' and workers' drops too (port.left.tx_drops, worker.1.hand_off_drops, ...), so a
        // failure message that lists what moved says where a packet went that the stack passed on.
        foreach (JsonProperty counter in json.RootElement.GetProperty("errors").EnumerateObject())
        {
            if (counter.Name.StartsWith("port.", StringComparison.Ordinal) || counter.Name.StartsWith("worker.", StringComparison.Ordinal))
                counters[counter.Name] = counter.Value.GetInt64();
        }
        return counters;
    }

    /// <summary>Frames the workers received for a flow another worker owns and handed to it, all workers together.</summary>
    public long HandedOff()
    {
        using JsonDocument json = JsonDocument.Parse(Ctl("stats", "--json"));
        return json.RootElement.GetProperty("workers").EnumerateArray().Sum(w => w.GetProperty("handed_off").GetInt64());
    }

    /// <summary>How the dataplane's port <paramref name="port"/> runs (<c>stats --json</c>'s mode), or null for a driver without modes.</summary>
    public string? Mode(string port)
    {
        using JsonDocument json = JsonDocument.Parse(Ctl("stats", "--json"));
        JsonElement found = json.RootElement.GetProperty("ports").EnumerateArray().Single(p => p.GetProperty("name").GetString() == port);
        return found.TryGetProperty("mode", out JsonElement mode) ? mode.GetString() : null;
    }

    /// <summary>The MAC address of the dataplane's port <paramref name="port"/> (left or right).</summary>
    public string Mac(string port)
    {
        using JsonDocument json = JsonDocument.Parse(Ctl("stats", "--json"));
        foreach (JsonElement p in json.RootElement.GetProperty("ports").EnumerateArray())
        {
            if (p.GetProperty("name").GetString() == port)
                return p.GetProperty("mac").GetString()!;
        }
        throw new InvalidOperationException($"no port {port}");
    }

    /// <summary>The MAC address of <paramref name="name"/> in <paramref name="ns"/>.</summary>
    public static string HostMac(string ns, string name)
    {
        using JsonDocument json = JsonDocument.Parse(LinuxLab.Run("ip", "-n", ns, "-j", "link", "show", name));
        return json.RootElement[0].GetProperty("address").GetString()!;
    }

    /// <summary>
    /// Every place a packet from the left host to the right host can be lost and counted, with its
    /// count now. Inside the dataplane (keys starting "dataplane "): its ports (receive ring
    /// overflows, transmit drops, errors), its workers (hand-off, transmit and buffer drops, each
    /// by name) and for afpacket the transmit drops of its veths. On the way in (the key starting
    /// "left host"): what the left host's link could not hand to the dataplane's tap queue or veth,
    /// the dataplane's receive ring as a NIC's is, so its loss too. The right host's (keys starting
    /// "right host"): its link's receive drops and what its UDP sockets could not take (a
    /// receiver that did not read in time).
    /// </summary>
    public Dictionary<string, long> LossCounters()
    {
        var loss = new Dictionary<string, long>
        {
            [$"left host link {LeftLink} tx dropped (into the dataplane)"] = LinkStat(Left, LeftLink, "tx", "dropped"),
        };
        using (JsonDocument json = JsonDocument.Parse(Ctl("stats", "--json")))
        {
            foreach (JsonElement port in json.RootElement.GetProperty("ports").EnumerateArray())
            {
                long drops = 0;
                foreach (JsonElement q in port.GetProperty("queues").EnumerateArray())
                    drops += q.GetProperty("rx_drops").GetInt64() + q.GetProperty("tx_drops").GetInt64() + q.GetProperty("errors").GetInt64();
                loss[$"dataplane port {port.GetProperty("name").GetString()} drops and errors"] = drops;
            }
            foreach (string kind in new[] { "hand_off_drops", "transmit_drops", "buffer_exhaustion" })
                loss[$"dataplane worker {kind}"] = json.RootElement.GetProperty("workers").EnumerateArray().Sum(w => w.GetProperty(kind).GetInt64());
        }
        foreach (string veth in _veths)
            loss[$"dataplane veth {veth} tx dropped"] = LinkStat(null, veth, "tx", "dropped");
        loss["right host link rx dropped"] = LinkStat(Right, RightLink, "rx", "dropped");
        string snmp = LinuxLab.RunIn(Right, "cat", "/proc/net/snmp", "/proc/net/snmp6");
        string[] udp = [.. snmp.Split('\n').Where(l => l.StartsWith("Udp:", StringComparison.Ordinal))];
        loss["right host Udp InErrors"] = long.Parse(udp[1].Split(' ')[Array.IndexOf(udp[0].Split(' '), "InErrors")], CultureInfo.InvariantCulture);
        loss["right host Udp6InErrors"] = long.Parse(Regex.Match(snmp, @"(?m)^Udp6InErrors\s+(\d+)").Groups[1].Value, CultureInfo.InvariantCulture);
        return loss;
    }

    private static long LinkStat(string? ns, string link, string direction, string counter)
    {
        string json = ns is null ? LinuxLab.Run("ip", "-s", "-j", "link", "show", link) : LinuxLab.Run("ip", "-n", ns, "-s", "-j", "link", "show", link);
        using JsonDocument doc = JsonDocument.Parse(json);
        return doc.RootElement[0].GetProperty("stats64").GetProperty(direction).GetProperty(counter).GetInt64();
    }

    /// <summary>Fails the test unless the dataplane still runs and still answers ctl: nothing crashed.</summary>
    public void AssertAlive()
    {
        Assert.True(Host.IsRunning, $"the dataplane stopped: exit {Host.ExitCode}: {Host.Stderr}");
        Ctl("netstat", "-s");
    }

    /// <summary>Stops the dataplane (its taps go with it, its packet sockets let go of the veths), then the hosts' processes by PID, the veths and the namespaces.</summary>
    public void Dispose()
    {
        try
        {
            _host?.Dispose();
        }
        finally
        {
            _lab.Dispose();
        }
    }

    private void Build(string extra, int workers, bool hostOffloads)
    {
        Left = _lab.Namespace();
        Right = _lab.Namespace();
        // Both hosts: no DAD (addresses usable at once) and no router solicitations (no traffic
        // of their own that could blur a count); set as the namespace's defaults, so a tap moved
        // in later gets them too.
        foreach (string ns in new[] { Left, Right })
        {
            LinuxLab.RunIn(ns, "sysctl", "-qw",
                "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0",
                "net.ipv6.conf.all.router_solicitations=0", "net.ipv6.conf.default.router_solicitations=0");
        }
        // Two workers (each owns queue i of both ports, as in the example config) on the first two
        // CPUs this process may use, or as many as asked.
        int[] cpus = [.. Native.CurrentThread.GetAffinity().Take(workers)];
        int cores = cpus.Length;
        bool tapLeft = Driver is LabDriver.Tap or LabDriver.TapLeftAfPacketRight, tapRight = Driver == LabDriver.Tap;
        string portLeft = Port("left", tapLeft, Left, out string leftLink);
        string portRight = Port("right", tapRight, Right, out string rightLink);
        LeftLink = leftLink;
        RightLink = rightLink;

        string Port(string name, bool tap, string ns, out string link)
        {
            if (tap)
            {
                link = LinuxLab.UniqueName(name[0]);
                return $"port {name} driver tap ifname {link} queues {cores}";
            }
            string ours = LinuxLab.UniqueName(name[0]);
            _veths = [.. _veths, ours];
            link = LinuxLab.UniqueName('h');
            _lab.Veth(ours, link, queues: Driver == LabDriver.AfXdp ? cores : 1);
            // Our end belongs to the dataplane: the host's stack must neither answer nor route
            // what arrives on it, nor send anything of its own (no IPv6 there).
            System.IO.File.WriteAllText($"/proc/sys/net/ipv6/conf/{ours}/disable_ipv6", "1");
            System.IO.File.WriteAllText($"/proc/sys/net/ipv4/conf/{ours}/forwarding", "0");
            // The host's end sends what a wire carries: frames of at most the MTU, not
            // super-frames of its TCP segmentation offload (unless the test wants them).
            if (!hostOffloads)
                LinuxLab.Run("ethtool", "-K", link, "tso", "off", "gso", "off");
            // Under XDP a frame has no skb to say its checksum is partial, and a veth hands XDP the
            // host's frames as they are: with checksum offload on, a TCP or UDP checksum is only
            // the pseudo-header's. The host computes its checksums, as frames off a wire have them.
            if (Driver == LabDriver.AfXdp)
                LinuxLab.Run("ethtool", "-K", link, "tx", "off");
            LinuxLab.Run("ip", "link", "set", link, "netns", ns);
            return $"port {name} driver {(Driver == LabDriver.AfXdp ? "afxdp" : "afpacket")} ifname {ours} queues {cores}";
        }

        string config = string.Join('\n',
            portLeft,
            portRight,
            $"inet  left  {DataplaneLeft}/24",
            $"inet6 left  {DataplaneLeft6}/64",
            $"inet  right {DataplaneRight}/24",
            $"inet6 right {DataplaneRight6}/64",
            "set forwarding on",
            $"set cores {string.Join(',', cpus)}",
            extra,
            "");
        _host = new RunningHost(_lab.File("dataplane.sock"), config);
        Assert.True(_host.WaitServing(), $"the dataplane did not start: {_host.Stderr}");
        // The dataplane made the taps here; now they become the hosts' NICs.
        if (tapLeft)
            LinuxLab.Run("ip", "link", "set", LeftLink, "netns", Left);
        if (tapRight)
            LinuxLab.Run("ip", "link", "set", RightLink, "netns", Right);
        ConfigureHost(Left, LeftLink, LeftHost, LeftHost6, DataplaneLeft, DataplaneLeft6);
        ConfigureHost(Right, RightLink, RightHost, RightHost6, DataplaneRight, DataplaneRight6);

        // Through the dataplane both ways, both families: ARP and ND resolved on both links, and
        // the dataplane's IPv6 addresses out of DAD (1 s after the start).
        WaitForPing(Left, RightHost);
        WaitForPing(Left, RightHost6);
        WaitForPing(Right, LeftHost);
        WaitForPing(Right, LeftHost6);
    }

    private static void ConfigureHost(string ns, string link, string v4, string v6, string gateway, string gateway6)
    {
        LinuxLab.Run("ip", "-n", ns, "addr", "add", $"{v4}/24", "dev", link);
        LinuxLab.Run("ip", "-n", ns, "addr", "add", $"{v6}/64", "dev", link, "nodad");
        LinuxLab.Run("ip", "-n", ns, "link", "set", link, "up");
        LinuxLab.Run("ip", "-n", ns, "route", "add", "default", "via", gateway);
        LinuxLab.Run("ip", "-n", ns, "-6", "route", "add", "default", "via", gateway6);
    }

    /// <summary>Waits until <paramref name="address"/> answers a ping from <paramref name="ns"/>; a minute at most, a bound for a loaded machine.</summary>
    private static void WaitForPing(string ns, string address)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        string last = "";
        while (clock.Elapsed < TimeSpan.FromSeconds(60))
        {
            (int code, string output) = LinuxLab.Execute("ip", "netns", "exec", ns, "ping", "-n", "-c", "1", "-W", "1", address);
            if (code == 0)
                return;
            last = output;
            Thread.Sleep(100);
        }
        throw new TimeoutException($"{ns}: no answer from {address} through the dataplane within 60 s: {last}");
    }

    private static string? CannotRunBecause()
    {
        if (!OperatingSystem.IsLinux())
            return "needs Linux";
        if (!Environment.IsPrivilegedProcess)
            return "needs root (network namespaces, taps, veth pairs, packet sockets)";
        if (!System.IO.File.Exists("/dev/net/tun"))
            return "/dev/net/tun is missing (no tun module)";
        return LinuxLab.Missing("ip", "ethtool", "ping", "iperf3", "traceroute", "tracepath", "socat");
    }

    /// <summary>
    /// The drop counters (every ether one, and those of bad, martian, unroutable or unbuffered
    /// packets) that moved between <paramref name="before"/> and <paramref name="after"/>: what
    /// OpenBSD's lab calls an error counter in the netstat diff. Empty for a clean run.
    /// </summary>
    public static string DropsMoved(Dictionary<string, long> before, Dictionary<string, long> after) =>
        string.Join(", ", after.Where(c => c.Value != before.GetValueOrDefault(c.Key) && DropCounter().IsMatch(c.Key))
            .Select(c => string.Create(CultureInfo.InvariantCulture, $"{c.Key} +{c.Value - before.GetValueOrDefault(c.Key)}")));

    [GeneratedRegex(@"^ether\.|bad|martian|too_short|too_big|cant_fragment|dropped|no_route|no_buffer|not_forward|exceeded|zero_ttl|no_protocol|held_dropped|rate_limited")]
    private static partial Regex DropCounter();

    /// <summary>The counters that moved between <paramref name="before"/> and <paramref name="after"/>, for failure messages.</summary>
    public static string Moved(Dictionary<string, long> before, Dictionary<string, long> after) =>
        string.Join(", ", after.Where(c => c.Value != before.GetValueOrDefault(c.Key))
            .Select(c => string.Create(CultureInfo.InvariantCulture, $"{c.Key} +{c.Value - before.GetValueOrDefault(c.Key)}")));
}
