using System.Diagnostics;
using System.Globalization;
using System.Text;
using Dataplane.Buffers;
using Dataplane.Drivers.Tap;
using Dataplane.Native;
using Dataplane.Wire;

namespace Dataplane.Tests.Drivers;

/// <summary>
/// The lab of one root-only tap test (a <see cref="LinuxLab"/>: everything removed on dispose);
/// traffic stays inside the test's namespaces (10.66.0.0/24 on the tap, 10.67.0.0/24 behind it).
/// </summary>
internal sealed class TapLab : LinuxLab
{
    /// <summary>The host's address on the tap.</summary>
    public static readonly Ipv4Address HostAddress = new(10, 66, 0, 1);

    /// <summary>Our (the dataplane's) address on the tap.</summary>
    public static readonly Ipv4Address OurAddress = new(10, 66, 0, 2);

    /// <summary>The host's address toward the far namespace.</summary>
    public static readonly Ipv4Address RouterAddress = new(10, 67, 0, 1);

    /// <summary>The far namespace's address, reached through the host.</summary>
    public static readonly Ipv4Address FarAddress = new(10, 67, 0, 2);

    private static readonly Lazy<string?> s_skipReason = new(CannotRunBecause);
    /// <summary>Skips the calling <c>[SkippableFact]</c> unless this is Linux, as root, with ip, tcpdump, tshark and /dev/net/tun.</summary>
    public static void RequireRoot() => Skip.If(s_skipReason.Value is not null, s_skipReason.Value);

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
        Veth(hostEnd, farEnd);
        Run("ip", "link", "set", hostEnd, "netns", host);
        Run("ip", "link", "set", farEnd, "netns", far);
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
        tcpdump.WaitForOutput("listening on", TimeSpan.FromSeconds(30));
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

    private static string? CannotRunBecause()
    {
        if (!OperatingSystem.IsLinux())
            return "needs Linux";
        if (Tmds.Linux.LibC.geteuid() != 0)
            return "needs root (CAP_NET_ADMIN) to create taps and network namespaces";
        if (!System.IO.File.Exists(Tun.CloneDevice))
            return $"{Tun.CloneDevice} is missing (no tun module)";
        return Missing("ip", "tcpdump", "tshark", "ping", "socat", "ethtool");
    }
}
