using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using Dataplane.Buffers;
using Dataplane.Config;
using Dataplane.Drivers.Memory;
using Dataplane.Runtime;
using Dataplane.Wire;

namespace Dataplane.Tests.Control;

/// <summary>
/// <c>ctl capture</c> against a host in-process on one memory port and one worker: the test feeds
/// the port's receive ring as a wire would, and reads the pcapng file back.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class CaptureTests : IDisposable
{
    private const string OnePort = "port m0 driver memory\nport m1 driver memory\nset cores 0\n";

    private readonly string _dir = Directory.CreateTempSubdirectory("dpcap-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Socket => Path.Combine(_dir, "dp.sock");

    /// <summary>A host whose pool and ports the test can reach, with a short capture timeout.</summary>
    private sealed class Host : IDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Thread _thread;

        public Host(string socket, TimeSpan captureTimeout, string config = OnePort)
        {
            ConfigResult parsed = ConfigParser.Parse("test.conf", config);
            Assert.True(parsed.IsValid, string.Join("; ", parsed.Errors));
            Instance = new DataplaneHost(parsed.Config, Stdout, Stderr, socket) { CaptureTimeout = captureTimeout };
            _thread = new Thread(() => ExitCode = Instance.Run(_stop.Token)) { IsBackground = true };
            _thread.Start();
            // A bound for a loaded machine, not a measure: the host serves as soon as it can.
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (true)
            {
                Assert.True(_thread.IsAlive, "the host exited: " + Stderr);
                Assert.True(DateTime.UtcNow < deadline, "the host did not serve within 60 s");
                using var probe = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified);
                try
                {
                    probe.Connect(new System.Net.Sockets.UnixDomainSocketEndPoint(socket));
                    break;
                }
                catch (System.Net.Sockets.SocketException)
                {
                    Thread.Sleep(10);
                }
            }
            Socket = socket;
        }

        public DataplaneHost Instance { get; }

        public string Socket { get; }

        public StringWriter Stdout { get; } = new() { NewLine = "\n" };

        public StringWriter Stderr { get; } = new() { NewLine = "\n" };

        public int? ExitCode { get; private set; }

        public BufferPool Pool => Instance.Pool!;

        public MemoryPort Port(int index) => (MemoryPort)Instance.Ports![index];

        public int Stop()
        {
            _stop.Cancel();
            Assert.True(_thread.Join(TimeSpan.FromSeconds(60)), "the host did not stop within 60 s");
            return ExitCode!.Value;
        }

        public void Dispose()
        {
            if (_thread.IsAlive)
                Stop();
            _stop.Dispose();
        }
    }

    /// <summary>An ARP request from 10.0.0.<paramref name="n"/>: a different frame for each n.</summary>
    private static byte[] Frame(int n)
    {
        var f = new byte[EthernetFrame.FixedLength + ArpPacket.FixedLength];
        var mac = MacAddress.FromUInt64(0x02_00_00_00_10_00 + (ulong)n);
        new EthernetFrame.Repr { Destination = MacAddress.FromUInt64(0xff_ff_ff_ff_ff_ff), Source = mac, EtherType = EtherType.Arp }.Emit(f);
        new ArpPacket.Repr
        {
            Operation = ArpOperation.Request,
            SenderHardwareAddress = mac,
            SenderProtocolAddress = new Ipv4Address(10, 0, 0, (byte)n),
            TargetHardwareAddress = default,
            TargetProtocolAddress = new Ipv4Address(10, 0, 0, 254),
        }.Emit(f.AsSpan(EthernetFrame.FixedLength));
        return f;
    }

    /// <summary>Puts <paramref name="frame"/> on the receive ring of <paramref name="port"/>, in two chained buffers when <paramref name="chained"/>.</summary>
    private static void Inject(BufferCache cache, MemoryPort port, byte[] frame, bool chained = false, int queue = 0)
    {
        BufferPool pool = cache.Pool;
        int split = chained ? frame.Length / 2 : frame.Length;
        Assert.True(cache.TryAllocate(out PacketBuffer head));
        Fill(pool, head, frame.AsSpan(0, split));
        if (chained)
        {
            Assert.True(cache.TryAllocate(out PacketBuffer tail));
            Fill(pool, tail, frame.AsSpan(split));
            Assert.True(cache.TryAppend(head, tail));
        }
        Assert.Equal(1, port.Queue(queue).Transmit([head]));
    }

    private static void Fill(BufferPool pool, PacketBuffer buffer, ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(pool.Room(buffer));
        ref BufferMetadata m = ref pool.Metadata(buffer);
        m.DataLength = (ushort)bytes.Length;
        m.PacketLength = bytes.Length;
    }

    /// <summary>ctl capture running on a thread of its own.</summary>
    private sealed class CaptureRun
    {
        private readonly Thread _thread;

        public CaptureRun(string socket, string[] args)
        {
            _thread = new Thread(() => Result = RunningHost.Ctl(["-s", socket, "capture", .. args])) { IsBackground = true };
            _thread.Start();
        }

        /// <summary>ctl's exit code and output; read after <see cref="Wait"/>.</summary>
        public (int Code, string Out, string Err) Result { get; private set; }

        public bool Wait(TimeSpan timeout) => _thread.Join(timeout);
    }

    private static CaptureRun StartCapture(string socket, params string[] args) => new(socket, args);

    /// <summary>
    /// Waits until <c>ctl ifconfig</c> shows <paramref name="port"/> capturing to
    /// <paramref name="file"/>: from then on its tap is armed and every frame it sees is captured.
    /// </summary>
    private static void WaitUntilArmed(string socket, string port, string file) =>
        Assert.True(LinuxLab.Until(() => CapturingTo(socket, port) == file, ArmLimit), $"ctl ifconfig did not show {port} capturing to {file} within {ArmLimit.TotalSeconds} s");

    /// <summary>The file <c>ctl ifconfig</c> shows <paramref name="port"/> capturing to, or null.</summary>
    private static string? CapturingTo(string socket, string port)
    {
        var (code, stdout, stderr) = RunningHost.Ctl("-s", socket, "ifconfig");
        Assert.True(code == 0, stderr);
        Match line = Regex.Match(stdout, $@"(?m)^{Regex.Escape(port)}: flags=.*\n(?:\t.*\n)*?\tcapturing to (.*)\n");
        return line.Success ? line.Groups[1].Value : null;
    }

    /// <summary>How long a capture may take to arm: a bound for a loaded machine, not a measure.</summary>
    private static readonly TimeSpan ArmLimit = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long a capture that is sent its frames waits for them: a bound for a loaded machine
    /// (the frames come as soon as it is armed and end it), well inside ctl's 30 s for the reply.
    /// </summary>
    private static readonly TimeSpan FramesLimit = TimeSpan.FromSeconds(20);

    /// <summary>A pcapng block: type, body (between the lengths).</summary>
    private readonly record struct Block(uint Type, byte[] Body);

    /// <summary>Splits a pcapng file into blocks, checking each block's two lengths agree and are multiples of 4.</summary>
    private static List<Block> ReadBlocks(byte[] file)
    {
        var blocks = new List<Block>();
        int at = 0;
        while (at < file.Length)
        {
            Assert.True(file.Length - at >= 12, $"a truncated block at {at}");
            uint type = BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(at));
            int length = (int)BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(at + 4));
            Assert.True(length >= 12 && length % 4 == 0 && at + length <= file.Length, $"block at {at}: bad length {length}");
            Assert.Equal(length, (int)BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(at + length - 4)));
            blocks.Add(new Block(type, file.AsSpan(at + 8, length - 12).ToArray()));
            at += length;
        }
        return blocks;
    }

    /// <summary>The options of a block from <paramref name="body"/>[<paramref name="at"/>..]: code and value.</summary>
    private static Dictionary<ushort, byte[]> Options(byte[] body, int at)
    {
        var options = new Dictionary<ushort, byte[]>();
        while (at + 4 <= body.Length)
        {
            ushort code = BinaryPrimitives.ReadUInt16LittleEndian(body.AsSpan(at));
            ushort length = BinaryPrimitives.ReadUInt16LittleEndian(body.AsSpan(at + 2));
            if (code == 0)
                break;
            options[code] = body.AsSpan(at + 4, length).ToArray();
            at += 4 + ((length + 3) & ~3);
        }
        return options;
    }

    /// <summary>Checks the section header and the interface block of <paramref name="blocks"/>; returns the packet blocks.</summary>
    private static List<Block> CheckHeaderAndInterface(List<Block> blocks, string port)
    {
        Assert.True(blocks.Count >= 2);
        Assert.Equal(0x0A0D0D0Au, blocks[0].Type);
        Assert.Equal(0x1A2B3C4Du, BinaryPrimitives.ReadUInt32LittleEndian(blocks[0].Body));
        Assert.Equal(1, BinaryPrimitives.ReadUInt16LittleEndian(blocks[0].Body.AsSpan(4)));
        Assert.Equal(0, BinaryPrimitives.ReadUInt16LittleEndian(blocks[0].Body.AsSpan(6)));
        Assert.Equal(1u, blocks[1].Type);
        Assert.Equal(1, BinaryPrimitives.ReadUInt16LittleEndian(blocks[1].Body)); // LINKTYPE_ETHERNET
        Assert.Equal(65535u, BinaryPrimitives.ReadUInt32LittleEndian(blocks[1].Body.AsSpan(4)));
        Dictionary<ushort, byte[]> options = Options(blocks[1].Body, 8);
        Assert.Equal(port, Encoding.UTF8.GetString(options[2]));
        Assert.Equal(new byte[] { 9 }, options[9]);
        Assert.All(blocks.Skip(2), b => Assert.Equal(6u, b.Type));
        return [.. blocks.Skip(2)];
    }

    [Fact]
    public void Capture_writes_the_received_frames_to_pcapng_and_every_buffer_returns_to_the_pool()
    {
        string file = Path.Combine(_dir, "m0.pcapng");
        byte[][] frames = [.. Enumerable.Range(1, 7).Select(Frame)];
        using (var host = new Host(Socket, FramesLimit))
        {
            var capture = StartCapture(Socket, "m0", file, "5");
            // Frames sent before the port is armed are not captured: send once ifconfig says it is.
            WaitUntilArmed(Socket, "m0", file);
            var cache = new BufferCache(host.Pool);
            for (int i = 0; i < frames.Length; i++)
                Inject(cache, host.Port(0), frames[i], chained: i == 2);
            cache.Flush();

            Assert.True(capture.Wait(TimeSpan.FromSeconds(60)));
            var (code, stdout, stderr) = capture.Result;
            Assert.Equal("", stderr);
            Assert.Equal(0, code);
            Assert.Equal($"captured 5 packets on m0 to {file} (0 dropped)\n", stdout);
            Assert.All(host.Instance.Workers!, w => Assert.Equal(0, w.ArmedCaptures)); // disarmed: one compare a packet again

            Assert.Equal(0, host.Stop());
            // Every buffer is back: the workers', the test's and the capture writer's caches were emptied.
            Assert.Equal(host.Pool.Count, host.Pool.Shared.Count);
        }

        List<Block> packets = CheckHeaderAndInterface(ReadBlocks(File.ReadAllBytes(file)), "m0");
        Assert.Equal(5, packets.Count);
        long now = (DateTime.UtcNow.Ticks - DateTime.UnixEpoch.Ticks) * 100;
        for (int i = 0; i < 5; i++)
        {
            byte[] body = packets[i].Body;
            Assert.Equal(0u, BinaryPrimitives.ReadUInt32LittleEndian(body));
            long ts = ((long)BinaryPrimitives.ReadUInt32LittleEndian(body.AsSpan(4)) << 32) | BinaryPrimitives.ReadUInt32LittleEndian(body.AsSpan(8));
            Assert.InRange(ts, now - 120_000_000_000L, now + 1_000_000_000L);
            int captured = (int)BinaryPrimitives.ReadUInt32LittleEndian(body.AsSpan(12));
            int original = (int)BinaryPrimitives.ReadUInt32LittleEndian(body.AsSpan(16));
            Assert.Equal(frames[i].Length, original);
            Assert.Equal(original, captured);
            Assert.Equal(frames[i], body.AsSpan(20, captured).ToArray()); // frame 2 came as a chain of two buffers
            Dictionary<ushort, byte[]> options = Options(body, 20 + ((captured + 3) & ~3));
            Assert.Equal(1u, BinaryPrimitives.ReadUInt32LittleEndian(options[2]) & 3); // epb_flags: inbound
        }
    }

    [SkippableFact]
    public void Tshark_reads_the_capture()
    {
        string? tshark = new[] { "/usr/bin/tshark", "/usr/local/bin/tshark" }.FirstOrDefault(File.Exists);
        Skip.If(tshark is null, "tshark is not installed");
        string file = Path.Combine(_dir, "m0.pcapng");
        using (var host = new Host(Socket, FramesLimit))
        {
            var capture = StartCapture(Socket, "m0", file, "5");
            WaitUntilArmed(Socket, "m0", file);
            var cache = new BufferCache(host.Pool);
            for (int i = 1; i <= 6; i++)
                Inject(cache, host.Port(0), Frame(i));
            cache.Flush();
            Assert.True(capture.Wait(TimeSpan.FromSeconds(60)));
            Assert.Equal(0, capture.Result.Code);
        }

        var start = new ProcessStartInfo(tshark!, ["-r", file]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using Process process = Process.Start(start)!;
        string output = process.StandardOutput.ReadToEnd();
        string errors = process.StandardError.ReadToEnd();
        Assert.True(process.WaitForExit(60_000));
        Assert.True(process.ExitCode == 0, $"tshark exited {process.ExitCode}: {errors}");
        string[] lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(5, lines.Length);
        Assert.All(lines, l => Assert.Contains("ARP", l));
        Assert.Contains("Who has 10.0.0.254? Tell 10.0.0.1", output);
    }

    [Fact]
    public void Capture_with_no_traffic_stops_at_the_timeout_with_0_packets_and_a_valid_file()
    {
        string file = Path.Combine(_dir, "idle.pcapng");
        using var host = new Host(Socket, TimeSpan.FromMilliseconds(300));

        var (code, stdout, stderr) = RunningHost.Ctl("-s", Socket, "capture", "m1", file);

        Assert.Equal("", stderr);
        Assert.Equal(0, code);
        Assert.Equal($"captured 0 packets on m1 to {file} (0 dropped)\n", stdout);
        Assert.Empty(CheckHeaderAndInterface(ReadBlocks(File.ReadAllBytes(file)), "m1"));
        Assert.Equal(0, host.Stop());
        Assert.Equal(host.Pool.Count, host.Pool.Shared.Count);
    }

    [Fact]
    public void Capture_of_an_unknown_port_exits_1_and_names_it()
    {
        using var host = new Host(Socket, TimeSpan.FromMilliseconds(300));
        string file = Path.Combine(_dir, "x.pcapng");

        var (code, stdout, stderr) = RunningHost.Ctl("-s", Socket, "capture", "nope", file);

        Assert.Equal(1, code);
        Assert.Equal("", stdout);
        Assert.Equal($"dataplane: ctl capture nope {file}: unknown port 'nope' (ports: m0, m1)\n", stderr);
        Assert.False(File.Exists(file));
    }

    [Fact]
    public void Capture_to_a_file_that_cannot_be_created_exits_1_and_names_the_file()
    {
        using var host = new Host(Socket, TimeSpan.FromMilliseconds(300));
        string file = Path.Combine(_dir, "missing", "x.pcapng");

        var (code, stdout, stderr) = RunningHost.Ctl("-s", Socket, "capture", "m0", file);

        Assert.Equal(1, code);
        Assert.Equal("", stdout);
        Assert.Equal($"dataplane: ctl capture m0 {file}: cannot create {file}: No such file or directory\n", stderr);
    }

    [Fact]
    public void Capture_to_a_directory_exits_1_and_says_so()
    {
        using var host = new Host(Socket, TimeSpan.FromMilliseconds(300));

        var (code, _, stderr) = RunningHost.Ctl("-s", Socket, "capture", "m0", _dir);

        Assert.Equal(1, code);
        Assert.Equal($"dataplane: ctl capture m0 {_dir}: cannot create {_dir}: Is a directory\n", stderr);
    }

    [Fact]
    public void A_relative_file_is_resolved_by_ctl()
    {
        using var host = new Host(Socket, TimeSpan.FromMilliseconds(200));
        string relative = Path.GetRelativePath(Environment.CurrentDirectory, Path.Combine(_dir, "rel.pcapng"));
        Assert.False(Path.IsPathRooted(relative));

        var (code, stdout, _) = RunningHost.Ctl("-s", Socket, "capture", "m0", relative);

        Assert.Equal(0, code);
        Assert.Equal($"captured 0 packets on m0 to {Path.Combine(_dir, "rel.pcapng")} (0 dropped)\n", stdout);
        Assert.True(File.Exists(Path.Combine(_dir, "rel.pcapng")));
    }

    [Fact]
    public void A_second_capture_of_a_port_being_captured_is_refused_while_other_requests_are_answered()
    {
        using var host = new Host(Socket, FramesLimit);
        string first = Path.Combine(_dir, "first.pcapng");
        var capture = StartCapture(Socket, "m0", first, "1");
        WaitUntilArmed(Socket, "m0", first);

        var (code, stdout, stderr) = RunningHost.Ctl("-s", Socket, "capture", "m0", Path.Combine(_dir, "second.pcapng"));
        Assert.Equal(1, code);
        Assert.Equal("", stdout);
        Assert.EndsWith(": port m0 is already being captured\n", stderr, StringComparison.Ordinal);
        Assert.All(host.Instance.Workers!, w => Assert.Equal(1, w.ArmedCaptures)); // the first only
        Assert.Equal(first, CapturingTo(Socket, "m0"));
        Assert.Null(CapturingTo(Socket, "m1"));

        var cache = new BufferCache(host.Pool);
        Inject(cache, host.Port(0), Frame(1));
        cache.Flush();
        Assert.True(capture.Wait(TimeSpan.FromSeconds(60)));
        Assert.Equal((0, $"captured 1 packets on m0 to {first} (0 dropped)\n", ""), capture.Result);
        Assert.Null(CapturingTo(Socket, "m0")); // disarmed: ifconfig no longer says so
        Assert.All(host.Instance.Workers!, w => Assert.Equal(0, w.ArmedCaptures));
    }

    [Fact]
    public void Frames_of_every_worker_are_captured_into_one_file()
    {
        using var host = new Host(Socket, FramesLimit, "port m0 driver memory queues 2\nset cores 0-1\n");
        string file = Path.Combine(_dir, "two.pcapng");
        var capture = StartCapture(Socket, "m0", file, "6");
        WaitUntilArmed(Socket, "m0", file);
        byte[][] frames = [.. Enumerable.Range(1, 6).Select(Frame)];
        var cache = new BufferCache(host.Pool);
        for (int i = 0; i < frames.Length; i++)
            Inject(cache, host.Port(0), frames[i], queue: i % 2); // queue 1 belongs to worker 1
        cache.Flush();

        Assert.True(capture.Wait(TimeSpan.FromSeconds(60)));
        Assert.Equal((0, $"captured 6 packets on m0 to {file} (0 dropped)\n", ""), capture.Result);
        Assert.Equal(0, host.Stop());
        Assert.Equal(host.Pool.Count, host.Pool.Shared.Count);

        List<Block> packets = CheckHeaderAndInterface(ReadBlocks(File.ReadAllBytes(file)), "m0");
        string[] seen = [.. packets.Select(p => Convert.ToHexString(p.Body.AsSpan(20, (int)BinaryPrimitives.ReadUInt32LittleEndian(p.Body.AsSpan(12)))))];
        Assert.Equal(frames.Select(Convert.ToHexString).Order(), seen.Order());
    }
}
