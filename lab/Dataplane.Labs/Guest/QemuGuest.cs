using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace Dataplane.Labs.Guest;

/// <summary>
/// The dataplane's QEMU test guest, booted: q35 with an emulated Intel IOMMU (DMA remapping and
/// interrupt remapping, caching mode so that VFIO in the guest can map), TCG (this machine has no
/// KVM), Debian's kernel with <c>intel_iommu=on</c>, the busybox initramfs of
/// <see cref="GuestImage"/>, and NICs each backed by a tap of the lab. The serial console is the
/// process's standard input and output: every line is kept (<see cref="Console"/>), copied to a
/// log as it comes, and a line can be sent to the guest (<see cref="SendLine"/>). Dispose stops QEMU
/// by its pid; the taps and namespaces go with the lab.
/// <para>
/// The lines /init prints for the harness, each <c>GUEST WHAT ...</c>: <c>init UPTIME kernel
/// VERSION</c>; <c>insmod MODULE ok|failed</c>; <c>dmesg LINE</c> (the DMAR and IOMMU lines);
/// <c>iommu dmar0 groups N</c> or <c>iommu none</c>; <c>nic BDF VENDOR:DEVICE driver=D group=G
/// net=IF queues=N</c> (receive queues; net=none queues=0 without an interface); <c>before-bind start</c>, <c>before-bind exit N</c>; <c>driver BDF D</c>;
/// <c>vfio-group BDF G</c>; <c>dev /dev/vfio/G present|missing</c>; <c>group G viable yes|no
/// (...)</c>; <c>run start</c>, <c>run exit N</c>; <c>done UPTIME</c>; then it powers off.
/// </para>
/// <para>
/// QEMU's human monitor (HMP) listens on a unix socket of the lab (<see cref="Monitor"/>): a test
/// sets a NIC's link down and up with <c>set_link nN off|on</c> (nN: the Nth NIC's netdev).
/// </para>
/// </summary>
public sealed class QemuGuest : IDisposable
{
    /// <summary>The emulator.</summary>
    public const string Qemu = "qemu-system-x86_64";

    private readonly NetnsLab _lab;
    private readonly bool _ownsLab;
    private readonly LabProcess _qemu;
    private readonly ConsoleLog _console;
    private readonly TimeSpan _patience;
    private readonly string _monitor;
    private bool _disposed;

    private QemuGuest(NetnsLab lab, bool ownsLab, LabProcess qemu, ConsoleLog console, IReadOnlyList<string> taps, QemuGuestOptions options, string monitor)
    {
        _monitor = monitor;
        _lab = lab;
        _ownsLab = ownsLab;
        _qemu = qemu;
        _console = console;
        Taps = taps;
        Options = options;
        _patience = options.Timeout;
    }

    /// <summary>What it was booted with.</summary>
    public QemuGuestOptions Options { get; }

    /// <summary>The taps here (or in their NIC's namespace), one per NIC in the order of <see cref="QemuGuestOptions.Nics"/>.</summary>
    public IReadOnlyList<string> Taps { get; }

    /// <summary>QEMU's pid.</summary>
    public int Pid => _qemu.Id;

    /// <summary>The serial console (and QEMU's own messages) so far, without carriage returns.</summary>
    public string Console => _qemu.AllOutput.Replace("\r", "", StringComparison.Ordinal);

    /// <summary>The file the console is copied to.</summary>
    public string ConsoleFile => _console.Path;

    /// <summary>The <c>GUEST</c> lines so far, each with when it came (from QEMU's start).</summary>
    public IReadOnlyList<(TimeSpan At, string Line)> Markers => _console.Markers;

    /// <summary>Whether QEMU has ended (the guest powered off, or it failed).</summary>
    public bool HasExited => _qemu.HasExited;

    /// <summary>Why a guest cannot boot here (not root, no tun, a tool missing), as a skip reason; null when it can.</summary>
    public static string? CannotBootBecause()
    {
        if (!OperatingSystem.IsLinux())
            return "needs Linux";
        if (!Environment.IsPrivilegedProcess)
            return "needs root (taps for the guest's NICs)";
        if (!File.Exists("/dev/net/tun"))
            return "/dev/net/tun is missing (no tun module)";
        return NetnsLab.Missing(Qemu, "busybox", "ip", "apt-get", "dpkg-deb", "ldd");
    }

    /// <summary>Boots a guest in a lab of its own (<c>dpq&lt;pid&gt;</c>), removed on dispose.</summary>
    public static QemuGuest Boot(QemuGuestOptions options) => Boot(new NetnsLab($"dpq{Environment.ProcessId}"), options, ownsLab: true);

    /// <summary>Boots a guest whose taps (and QEMU) belong to <paramref name="lab"/>: the lab's dispose also removes them.</summary>
    public static QemuGuest Boot(NetnsLab lab, QemuGuestOptions options) => Boot(lab, options, ownsLab: false);

    private static QemuGuest Boot(NetnsLab lab, QemuGuestOptions options, bool ownsLab)
    {
        ConsoleLog? console = null;
        LabProcess? qemu = null;
        try
        {
            GuestImage image = options.Image ?? GuestImage.Prepare();
            var taps = new List<string>();
            foreach (GuestNic nic in options.Nics)
            {
                string tap = lab.Name('q');
                lab.Tap(tap, nic.Queues);
                taps.Add(tap);
            }
            string initrd = lab.File("initramfs.cpio");
            WriteInitrd(initrd, image, options);
            console = new ConsoleLog(options.ConsoleLog ?? lab.File("console.log"));
            string monitor = lab.File("monitor.sock");
            qemu = lab.Start(null, Qemu, Arguments(image, initrd, taps, options, monitor), console, input: true);
            // A tap has carrier once QEMU holds it: then it may move (QEMU keeps its file descriptor).
            for (int i = 0; i < taps.Count; i++)
            {
                string carrier = $"/sys/class/net/{taps[i]}/carrier";
                if (!NetnsLab.Until(() => qemu.HasExited || (File.Exists(carrier) && ReadOrEmpty(carrier) == "1"), TimeSpan.FromSeconds(60)) || qemu.HasExited)
                    throw new LabException($"{Qemu} did not take tap {taps[i]}: {qemu.AllOutput.Trim()}");
                if (options.Nics[i].Namespace is string ns)
                {
                    lab.Move(taps[i], null, ns);
                    lab.Up(ns, taps[i]);
                }
            }
            return new QemuGuest(lab, ownsLab, qemu, console, taps, options, monitor);
        }
        catch
        {
            qemu?.Dispose();
            console?.Dispose();
            if (ownsLab)
                lab.Dispose();
            throw;
        }
    }

    private static string ReadOrEmpty(string path)
    {
        try
        {
            return File.ReadAllText(path).Trim();
        }
        catch (IOException)
        {
            return ""; // down, or moved meanwhile
        }
    }

    /// <summary>QEMU's command line: issue 16's machine, its human monitor on unix socket <paramref name="monitor"/>.</summary>
    internal static string[] Arguments(GuestImage image, string initrd, IReadOnlyList<string> taps, QemuGuestOptions options, string monitor)
    {
        var args = new List<string>
        {
            "-machine", "q35,kernel-irqchip=split", "-accel", "tcg,thread=multi", "-cpu", "max",
            "-smp", $"{options.Cpus}", "-m", $"{options.MemoryMiB}",
            // DMA remapping and interrupt remapping; caching mode makes the guest's IOMMU driver
            // report every mapping, which QEMU needs to emulate VFIO's DMA inside the guest. 48-bit
            // IOVAs (QEMU 7.2's default is 39): the vfio driver maps its memory at IOVA == virtual
            // address, and mmap places it near the top of the 47-bit user space.
            "-device", "intel-iommu,intremap=on,caching-mode=on,aw-bits=48",
            "-nodefaults", "-display", "none", "-serial", "stdio", "-no-reboot",
            // The human monitor, for a test's set_link; it waits for no client (wait=off).
            "-monitor", $"unix:{monitor},server=on,wait=off",
            "-kernel", image.Kernel.BootImage, "-initrd", initrd,
            // panic=-1: a failed /init reboots at once, and -no-reboot turns that into QEMU's exit.
            // no_timer_check: on a loaded machine TCG's vCPUs can be too slow for the kernel's check
            // that the timer interrupt arrives through the IO-APIC, and it panicked ("timer doesn't
            // work through Interrupt-remapped IO-APIC") at 0.036 s in one boot at load 25.
            "-append", $"console=ttyS0 intel_iommu=on no_timer_check panic=-1 quiet {options.KernelArgs}".Trim(),
        };
        for (int i = 0; i < taps.Count; i++)
        {
            GuestNic nic = options.Nics[i];
            string queues = nic.Queues > 1 ? $",queues={nic.Queues}" : "";
            args.AddRange(["-netdev", $"tap,id=n{i},ifname={taps[i]},script=no,downscript=no{queues}", "-device", nic.Device($"n{i}")]);
        }
        return [.. args];
    }

    /// <summary>The image's archive, then a second, uncompressed one with this boot's files (the kernel unpacks both, the second over the first).</summary>
    private static void WriteInitrd(string path, GuestImage image, QemuGuestOptions options)
    {
        using FileStream file = File.Create(path);
        using (FileStream baseImage = File.OpenRead(image.Initramfs))
            baseImage.CopyTo(file);
        var cpio = new CpioArchive(file);
        IEnumerable<string> vfio = options.Vfio ?? options.Nics.Select(n => n.PciAddress);
        var files = options.Files.ToDictionary(f => f.Key, f => Encoding.UTF8.GetBytes(f.Value), StringComparer.Ordinal);
        files["/etc/guest/env"] = Encoding.UTF8.GetBytes($"GUEST_VFIO=\"{string.Join(' ', vfio)}\"\n");
        if (options.BeforeBind is string before)
            files["/etc/guest/before-bind"] = Encoding.UTF8.GetBytes(before);
        if (options.Run is string run)
            files["/etc/guest/run"] = Encoding.UTF8.GetBytes(run);
        foreach ((string there, string here) in options.HostFiles)
            files[there] = File.ReadAllBytes(here);
        foreach (string program in options.Programs)
        {
            files[program] = File.ReadAllBytes(program);
            foreach ((string guest, string host) in GuestImage.Libraries(program))
                files.TryAdd(guest, File.ReadAllBytes(host));
        }
        var dirs = new HashSet<string>(StringComparer.Ordinal);
        foreach ((string name, byte[] bytes) in files.OrderBy(f => f.Key, StringComparer.Ordinal))
        {
            string[] parts = name.TrimStart('/').Split('/');
            for (int i = 1; i < parts.Length; i++)
            {
                string dir = "/" + string.Join('/', parts[..i]);
                if (dirs.Add(dir))
                    cpio.Directory(dir);
            }
            cpio.File(name, bytes, executable: true);
        }
        cpio.Finish();
    }

    /// <summary>Waits until the console holds <paramref name="text"/> (true), QEMU ended or the time is up (false); default bound: the boot's timeout.</summary>
    public bool WaitFor(string text, TimeSpan? timeout = null) => _qemu.WaitForOutputAsync(text, timeout ?? _patience).GetAwaiter().GetResult();

    /// <summary>Waits for <paramref name="text"/>; throws <see cref="TimeoutException"/> with the console's last lines when it does not come.</summary>
    public void Expect(string text, TimeSpan? timeout = null)
    {
        var clock = Stopwatch.StartNew();
        if (!WaitFor(text, timeout))
            throw new TimeoutException($"guest: no '{text}' after {clock.Elapsed.TotalSeconds:0.0} s{(HasExited ? $" (QEMU exited {_qemu.ExitCode})" : "")}; console:\n{Tail(40)}");
    }

    /// <summary>
    /// Runs <paramref name="command"/> in QEMU's human monitor (e.g. <c>set_link n0 off</c>) and
    /// returns what it printed: a connection of its own to the monitor's socket, the banner and
    /// prompt read, the command sent, its output read up to the next <c>(qemu) </c> prompt. Throws
    /// <see cref="TimeoutException"/> when QEMU does not answer within 10 s.
    /// </summary>
    public string Monitor(string command)
    {
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        socket.ReceiveTimeout = 10_000;
        socket.SendTimeout = 10_000;
        socket.Connect(new UnixDomainSocketEndPoint(_monitor));
        _ = ReadToPrompt(socket, "the banner");
        socket.Send(Encoding.UTF8.GetBytes(command + "\n"));
        string said = ReadToPrompt(socket, command);
        // HMP echoes the command (with terminal escapes) before its output: keep what follows the echo's line.
        int newline = said.IndexOf('\n', StringComparison.Ordinal);
        return (newline < 0 ? "" : said[(newline + 1)..]).Replace("\r", "", StringComparison.Ordinal).Trim();
    }

    private static string ReadToPrompt(Socket socket, string what)
    {
        var text = new StringBuilder();
        var buffer = new byte[4096];
        var clock = Stopwatch.StartNew();
        while (!text.ToString().EndsWith("(qemu) ", StringComparison.Ordinal))
        {
            int n;
            try
            {
                n = socket.Receive(buffer);
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.TimedOut)
            {
                n = -1;
            }
            if (n <= 0 || clock.Elapsed > TimeSpan.FromSeconds(10))
                throw new TimeoutException($"QEMU's monitor: no prompt after {what} within 10 s; it said: {text}");
            text.Append(Encoding.UTF8.GetString(buffer, 0, n));
        }
        string all = text.ToString();
        return all[..^"(qemu) ".Length];
    }

    /// <summary>Sends <paramref name="line"/> to the guest's console (a script there may <c>read</c> it).</summary>
    public void SendLine(string line) => _qemu.Input.WriteLine(line);

    /// <summary>Waits for the guest to power off (QEMU exits 0); QEMU's exit code. Throws <see cref="TimeoutException"/> when it does not within the bound.</summary>
    public int WaitForPowerOff(TimeSpan? timeout = null)
    {
        if (!_qemu.WaitAsync(timeout ?? _patience).GetAwaiter().GetResult())
            throw new TimeoutException($"guest: still running after {(timeout ?? _patience).TotalSeconds:0} s; console:\n{Tail(40)}");
        return _qemu.ExitCode;
    }

    /// <summary>When the first <c>GUEST</c> line starting with <paramref name="prefix"/> came, from QEMU's start; null if none did.</summary>
    public TimeSpan? TimeOf(string prefix) =>
        Markers.Where(m => m.Line.StartsWith("GUEST " + prefix, StringComparison.Ordinal)).Select(m => (TimeSpan?)m.At).FirstOrDefault();

    /// <summary>The console's last <paramref name="lines"/> lines, for failure messages.</summary>
    public string Tail(int lines)
    {
        string[] all = Console.TrimEnd('\n').Split('\n');
        return string.Join('\n', all.Skip(Math.Max(0, all.Length - lines)));
    }

    /// <summary>Stops QEMU by its pid (SIGTERM, SIGKILL after 5 s) if it still runs; removes the lab if it made it.</summary>
    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        _qemu.Dispose();
        _console.Dispose();
        if (_ownsLab)
            _lab.Dispose();
    }

    /// <summary>The console's copy: each line to the file as it comes, and the <c>GUEST</c> lines with their time.</summary>
    private sealed class ConsoleLog(string path) : TextWriter
    {
        private readonly StreamWriter _file = new(path) { AutoFlush = true };
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private readonly List<(TimeSpan, string)> _markers = [];

        public string Path { get; } = path;

        public IReadOnlyList<(TimeSpan At, string Line)> Markers
        {
            get
            {
                lock (_markers)
                    return [.. _markers];
            }
        }

        public override Encoding Encoding => Encoding.UTF8;

        public override void WriteLine(string? value)
        {
            string line = (value ?? "").TrimEnd('\r');
            lock (_markers)
            {
                int at = line.IndexOf("GUEST ", StringComparison.Ordinal);
                if (at >= 0)
                    _markers.Add((_clock.Elapsed, line[at..]));
                _file.WriteLine(line);
            }
        }

        public override void Write(char value)
        {
            lock (_markers)
                _file.Write(value);
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                lock (_markers)
                    _file.Dispose();
            }
            base.Dispose(disposing);
        }
    }
}
