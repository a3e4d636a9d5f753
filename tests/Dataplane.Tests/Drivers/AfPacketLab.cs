using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Dataplane.Buffers;
using Dataplane.Drivers.AfPacket;
using Dataplane.Wire;

namespace Dataplane.Tests.Drivers;

/// <summary>
/// The lab of the afpacket tests: a network namespace <c>dpa&lt;pid&gt;-peer</c> holding one end of a
/// veth pair (10.67.0.2/24), a Linux peer with its own stack and tools; the other end,
/// <c>dpa&lt;pid&gt;0</c>, stays in this namespace with no address and IPv6 and forwarding off, so the
/// host's stack neither answers nor routes what arrives on it: the dataplane owns it. IPv6 is off
/// on the peer's end too, so the peer sends only what a test makes it send, and the tests can count
/// frames exactly. The namespace and the veth pair are a <see cref="NetnsLab"/>'s, removed on
/// dispose; every process started here is killed by its own PID.
/// </summary>
internal sealed class AfPacketLab : IDisposable
{
    /// <summary>The dataplane's address on the link (the port has it; the host does not).</summary>
    public static readonly Ipv4Address Local = new(10, 67, 0, 1);

    /// <summary>The peer's address.</summary>
    public static readonly Ipv4Address PeerAddress = new(10, 67, 0, 2);

    private readonly List<Process> _processes = [];
    private readonly NetnsLab _lab;

    /// <summary>
    /// Makes the lab; <paramref name="mtu"/> is set on both ends, each with <paramref name="queues"/>
    /// receive and transmit queues. <paramref name="prefix"/> starts every name, so that the tests of
    /// two drivers (two classes, run in parallel) each have a lab of their own.
    /// </summary>
    public AfPacketLab(int mtu = 1500, int queues = 1, string prefix = "dpa")
    {
        string stem = $"{prefix}{Environment.ProcessId}";
        Namespace = stem + "-peer";
        Interface = stem + "0";
        PeerInterface = stem + "p";
        // What a killed earlier run of this process id may have left.
        Execute("ip", "netns", "del", Namespace);
        Execute("ip", "link", "del", Interface);
        _lab = new NetnsLab(stem);
        try
        {
            _lab.Namespace("peer");
            _lab.Veth(null, Interface, Namespace, PeerInterface, up: false, queues: queues);
            // Our end: no IPv6 (no router solicitations, MLD or DAD of the host's own) and no IPv4
            // forwarding, so frames to 10.67.0.1 that reach the host's stack die there quietly.
            File.WriteAllText($"/proc/sys/net/ipv6/conf/{Interface}/disable_ipv6", "1");
            File.WriteAllText($"/proc/sys/net/ipv4/conf/{Interface}/forwarding", "0");
            // The peer: no IPv6 either. With it, the peer's kernel sends frames of its own for
            // seconds after the link comes up (MLD reports, duplicate address detection; router
            // solicitations for minutes), from timers and work items a loaded machine runs late, so
            // they can land inside a test's counted window however long it waits for quiet first (a
            // CI run counted 50 014 frames from the peer for a test's 50 010). IPv4 alone sends
            // nothing unasked (no gratuitous ARP; the peer asks ARP only when a test has it send).
            InPeer("sh", "-c", $"echo 1 > /proc/sys/net/ipv6/conf/{PeerInterface}/disable_ipv6");
            if (mtu != 1500)
            {
                Run("ip", "link", "set", Interface, "mtu", mtu.ToString(CultureInfo.InvariantCulture));
                Run("ip", "-n", Namespace, "link", "set", PeerInterface, "mtu", mtu.ToString(CultureInfo.InvariantCulture));
            }
            _lab.Address(Namespace, PeerInterface, "10.67.0.2/24");
            _lab.Up(Namespace, PeerInterface);
            _lab.Up(null, Interface);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>The namespace of the peer.</summary>
    public string Namespace { get; }

    /// <summary>Our end, in this namespace: the port's interface.</summary>
    public string Interface { get; }

    /// <summary>The peer's end, in <see cref="Namespace"/>.</summary>
    public string PeerInterface { get; }

    /// <summary>Why the lab cannot be built here, or null: it needs Linux, root, ip and the peer tools.</summary>
    public static string? CannotRunBecause()
    {
        if (!OperatingSystem.IsLinux())
            return "needs Linux";
        if (!Environment.IsPrivilegedProcess)
            return "needs root (network namespaces, veth pairs, packet sockets)";
        return NetnsLab.Missing("ip", "ping", "tcpdump", "tshark", "ethtool", "python3");
    }

    /// <summary>Runs a command in the peer's namespace; throws with its output if it fails.</summary>
    public string InPeer(params string[] command) => Run("ip", ["netns", "exec", Namespace, .. command]);

    /// <summary>Runs a command in the peer's namespace and returns its exit code and output, whatever they are.</summary>
    public (int ExitCode, string Output) TryInPeer(params string[] command) =>
        Execute("ip", ["netns", "exec", Namespace, .. command]);

    /// <summary>
    /// Starts a command in the peer's namespace in the background (ip netns exec execs it, so the
    /// process is the command itself); it is killed by its PID on dispose if still running.
    /// </summary>
    public Process StartInPeer(params string[] command)
    {
        var start = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string arg in (string[])["netns", "exec", Namespace, .. command])
            start.ArgumentList.Add(arg);
        Process process = Process.Start(start) ?? throw new InvalidOperationException($"cannot start {string.Join(' ', command)}");
        _processes.Add(process);
        return process;
    }

    /// <summary>The peer's transmitted-frame counter, as <c>ip -s link</c> shows it.</summary>
    public long PeerTransmittedPackets()
    {
        using JsonDocument json = JsonDocument.Parse(Run("ip", "-n", Namespace, "-s", "-j", "link", "show", PeerInterface));
        return json.RootElement[0].GetProperty("stats64").GetProperty("tx").GetProperty("packets").GetInt64();
    }

    /// <summary>Points the peer's neighbour entry for 10.67.0.1 at <paramref name="mac"/>, so it sends IP without asking ARP.</summary>
    public void SetPeerNeighbor(MacAddress mac) =>
        Run("ip", "-n", Namespace, "neigh", "replace", Local.ToString(), "lladdr", mac.ToString(), "dev", PeerInterface, "nud", "permanent");

    /// <summary>Sends UDP datagrams from the peer to 10.67.0.1 port <paramref name="port"/>, one socket each (a new source port, a new flow), payload "seq-N".</summary>
    public void SendUdpFromPeer(int count, int port = 9, bool oneSocket = false)
    {
        string script = oneSocket
            ? $"import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\nfor i in range({count}): s.sendto(b'seq-%d' % i, ('{Local}', {port}))"
            : $"import socket\nfor i in range({count}):\n  s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n  s.sendto(b'seq-%d' % i, ('{Local}', {port}))\n  s.close()";
        InPeer("python3", "-c", script);
    }

    /// <summary>The peer end's hardware address.</summary>
    public MacAddress PeerMac()
    {
        using JsonDocument json = JsonDocument.Parse(Run("ip", "-n", Namespace, "-j", "link", "show", PeerInterface));
        Assert.True(MacAddress.TryParse(json.RootElement[0].GetProperty("address").GetString(), out MacAddress mac));
        return mac;
    }

    /// <summary>Sends <paramref name="frame"/> as it is out of the peer's end, through a packet socket of the peer.</summary>
    public void SendRawFromPeer(byte[] frame) =>
        InPeer("python3", "-c",
            $"import socket\ns = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)\ns.bind(('{PeerInterface}', 0))\ns.send(bytes.fromhex('{Convert.ToHexString(frame)}'))");

    /// <summary>The local experimental EtherType of <see cref="SendNumberedFromPeer"/>'s frames.</summary>
    public const ushort NumberedEtherType = 0x88b5;

    /// <summary>
    /// Sends one frame per entry of <paramref name="frames"/> out of the peer's end, in order, through
    /// a packet socket of the peer: to <paramref name="destination"/>, an 802.1Q tag first when the
    /// entry's tag is not 0, then <see cref="NumberedEtherType"/>, the frame's number (4 bytes, from
    /// 0) and <see cref="NumberedByte"/>s up to the entry's length on the wire.
    /// </summary>
    public void SendNumberedFromPeer(MacAddress destination, IReadOnlyList<(int Length, ushort Tag)> frames)
    {
        string spec = string.Join(",", frames.Select(f => $"({f.Length},{f.Tag})"));
        InPeer("python3", "-c", $$"""
            import socket, struct
            s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
            s.bind(('{{PeerInterface}}', 0))
            dst = bytes.fromhex('{{destination.ToString().Replace(":", "", StringComparison.Ordinal)}}')
            src = open('/sys/class/net/{{PeerInterface}}/address').read().strip().replace(':', '')
            head0 = dst + bytes.fromhex(src)
            pattern = bytes(range(256)) * 257
            for i, (length, tag) in enumerate([{{spec}}]):
                head = head0 + (struct.pack('!HH', 0x8100, tag) if tag else b'') + struct.pack('!HI', {{NumberedEtherType}}, i)
                n = length - len(head)
                body = pattern[i % 256:][:n]
                s.send(head + body)
            """);
    }

    /// <summary>Byte <paramref name="index"/> (from the first byte after the number) of numbered frame <paramref name="number"/>.</summary>
    public static byte NumberedByte(int number, int index) => (byte)(number + index);

    /// <summary>Kills what the lab started (by PID) and removes the namespace and the veth pair.</summary>
    public void Dispose()
    {
        foreach (Process process in _processes)
        {
            try
            {
                if (!process.HasExited)
                {
                    process.Kill(entireProcessTree: false); // by its own PID
                    process.WaitForExit(5_000);
                }
            }
            catch (InvalidOperationException)
            {
                // it ended meanwhile
            }
            process.Dispose();
        }
        _processes.Clear();
        _lab.Dispose(); // the namespace takes the peer end, and with it ours
    }

    private static string Run(string file, params string[] args) => NetnsLab.Run(file, args);

    private static (int ExitCode, string Output) Execute(string file, params string[] args) => NetnsLab.Execute(file, args);
}

/// <summary>A frame taken off a queue: where it came from, its metadata, its bytes gathered from the chain, and the chain's pieces.</summary>
internal sealed record ReceivedFrame(int Queue, BufferMetadata Metadata, byte[] Bytes, int[] Pieces)
{
    /// <summary>The EtherType after the MAC addresses.</summary>
    public EtherType EtherType => (EtherType)(Bytes[12] << 8 | Bytes[13]);

    /// <summary>Copies the frame at <paramref name="head"/> out of <paramref name="pool"/>.</summary>
    public static ReceivedFrame Copy(BufferPool pool, int queue, PacketBuffer head)
    {
        var bytes = new List<byte>();
        var pieces = new List<int>();
        for (PacketBuffer b = head; b.IsValid; b = new PacketBuffer(pool.Metadata(b).Next))
        {
            bytes.AddRange(pool.Data(b).ToArray());
            pieces.Add(pool.Metadata(b).DataLength);
        }
        return new ReceivedFrame(queue, pool.Metadata(head), [.. bytes], [.. pieces]);
    }
}

/// <summary>Takes frames off every queue of a port into a list, releasing the buffers.</summary>
/// <param name="queues">The port's queue count.</param>
/// <param name="receive">One receive burst of queue q into the array: how many frames came.</param>
/// <param name="cache">The cache the frames are received into and released to.</param>
internal sealed class QueueDrain(int queues, Func<int, PacketBuffer[], int> receive, BufferCache cache)
{
    private readonly PacketBuffer[] _burst = new PacketBuffer[32];

    /// <summary>A drain of an afpacket port's queues.</summary>
    public QueueDrain(AfPacketPort port, BufferCache cache)
        : this(port.QueueCount, (q, burst) => port.Queue(q, cache).Receive(burst), cache)
    {
    }

    /// <summary>A drain of an afxdp port's queues, their sockets made now (over <paramref name="cache"/>'s pool).</summary>
    public QueueDrain(Dataplane.Drivers.AfXdp.AfXdpPort port, BufferCache cache)
        : this(port.QueueCount, (q, burst) => port.Queue(q, cache).Receive(burst), cache)
    {
        for (int q = 0; q < port.QueueCount; q++)
            port.Queue(q, cache);
    }

    /// <summary>Everything taken so far.</summary>
    public List<ReceivedFrame> Frames { get; } = [];

    /// <summary>One burst from each queue; returns how many frames came.</summary>
    public int Poll()
    {
        int total = 0;
        for (int q = 0; q < queues; q++)
        {
            int n = receive(q, _burst);
            for (int i = 0; i < n; i++)
            {
                Frames.Add(ReceivedFrame.Copy(cache.Pool, q, _burst[i]));
                cache.Release(_burst[i]);
            }
            total += n;
        }
        return total;
    }

    /// <summary>Polls until <paramref name="done"/> holds or <paramref name="limit"/> passes; returns whether it held.</summary>
    public bool Until(Func<List<ReceivedFrame>, bool> done, TimeSpan limit)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < limit)
        {
            if (Poll() == 0)
            {
                if (done(Frames))
                    return true;
                Thread.Sleep(2);
            }
        }
        return done(Frames);
    }

    /// <summary>Polls until nothing has come for <paramref name="quiet"/> (at most <paramref name="limit"/>).</summary>
    public void UntilQuiet(TimeSpan quiet, TimeSpan limit)
    {
        var clock = Stopwatch.StartNew();
        var idle = Stopwatch.StartNew();
        while (clock.Elapsed < limit && idle.Elapsed < quiet)
        {
            if (Poll() > 0)
                idle.Restart();
            else
                Thread.Sleep(2);
        }
    }
}
