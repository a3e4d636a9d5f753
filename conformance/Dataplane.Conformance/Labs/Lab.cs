using Dataplane.Labs;
using Dataplane.Labs.Guest;

namespace Dataplane.Conformance.Labs;

/// <summary>What sits between the left and the right host during a phase of a run.</summary>
public enum SutKind
{
    /// <summary>The dataplane, on the run's driver.</summary>
    Dataplane,

    /// <summary>The Linux kernel in the same role: the reference.</summary>
    Linux,

    /// <summary>Nothing: modifier <c>direct</c> joins left and right.</summary>
    Direct,
}

/// <summary>
/// A lab built from its definition: the left and right hosts (namespaces made here, or machines
/// over ssh) and the system under test, attached in turn as the dataplane, as Linux, or not at all.
/// Everything it makes it undoes: namespaces, interfaces, addresses, routes and processes, also
/// when a step fails or the run is interrupted.
/// </summary>
public sealed class Lab : IAsyncDisposable
{
    private readonly List<(Host Host, string Command)> _undo = []; // under its lock: hosts' steps end at once
    private readonly TextWriter _log;
    private readonly string _binary; // the dataplane binary of the run (a QEMU guest's image holds it)
    private readonly NetnsLab _netns; // this machine's part: the namespaces and what is made in them
    private GuestImage? _image; // a QEMU guest's kernel and initramfs, prepared at the first boot
    private QemuGuest? _guest; // the QEMU guest of the current phase
    private bool _disposed;

    private Lab(LabDefinition definition, string id, RunModifiers modifiers, TextWriter log, string binary)
    {
        _binary = binary;
        Definition = definition;
        Id = id;
        Modifiers = modifiers;
        _log = TextWriter.Synchronized(log); // the hosts write at once
        _netns = new NetnsLab(id, _log);
        Left = MakeHost(definition.Left);
        Right = MakeHost(definition.Right);
        Sut = MakeHost(definition.Sut);
    }

    /// <summary>The definition it was built from.</summary>
    public LabDefinition Definition { get; }

    /// <summary>The prefix of everything it names: namespaces are ID-left, ID-right, ID-sut.</summary>
    public string Id { get; }

    /// <summary>What the run's modifiers change on the hosts and the system under test.</summary>
    public RunModifiers Modifiers { get; }

    /// <summary>The left host.</summary>
    public Host Left { get; }

    /// <summary>The right host.</summary>
    public Host Right { get; }

    /// <summary>The system under test's machine.</summary>
    public Host Sut { get; }

    /// <summary>Left, right and the system under test.</summary>
    private Host[] Hosts => [Left, Right, Sut];

    /// <summary>The addresses of the lab's line.</summary>
    public Addressing Addresses => Definition.Addresses;

    /// <summary>The folder the lab uses on each remote machine, removed at the end: <c>/tmp/dataplane-conformance-ID</c>.</summary>
    public string RemoteFolder => $"/tmp/dataplane-conformance-{Id}";

    /// <summary>The left host's interface toward the system under test in the current phase.</summary>
    public string LeftInterface { get; private set; } = "";

    /// <summary>The right host's interface toward the system under test in the current phase.</summary>
    public string RightInterface { get; private set; } = "";

    /// <summary>The system under test's left and right interfaces when Linux is attached.</summary>
    public (string Left, string Right) SutInterfaces { get; private set; } = ("", "");

    /// <summary>Builds the hosts: namespaces with loopback up and no duplicate address detection; a remote host is only reached.</summary>
    public static async Task<Lab> CreateAsync(LabDefinition definition, string id, TextWriter log, CancellationToken cancel,
        RunModifiers? modifiers = null, string? binary = null)
    {
        var lab = new Lab(definition, id, modifiers ?? RunModifiers.None, log, binary ?? "out/dataplane");
        try
        {
            foreach (NetnsHost ns in lab.Hosts.OfType<NetnsHost>())
                await lab.AddNamespaceAsync(ns, cancel).ConfigureAwait(false);
            if (lab.Sut is GuestHost guest)
            {
                // The guest's command channel: its tap goes into this namespace at each boot.
                cancel.ThrowIfCancellationRequested();
                lab._netns.Namespace(guest.Role);
            }
            await Task.WhenAll(lab.Hosts.OfType<SshHost>().Select(h => h.RunCheckedAsync("true", log, cancel))).ConfigureAwait(false);
        }
        catch
        {
            await lab.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        return lab;
    }

    private Host MakeHost(HostSpec spec) => spec.Kind switch
    {
        HostKind.Netns => new NetnsHost(spec.Role, $"{Id}-{spec.Role}"),
        HostKind.Qemu => new GuestHost(spec.Role, $"{Id}-{spec.Role}", GuestHost.WriteClient(_netns.Folder), RemoteFolder, _binary),
        _ => new SshHost(spec.Role, spec.Target!, Definition.SshOptions, RemoteFolder),
    };

    private async Task AddNamespaceAsync(NetnsHost ns, CancellationToken cancel)
    {
        cancel.ThrowIfCancellationRequested();
        _netns.Namespace(ns.Role); // ID-ROLE, the host's name
        // The system under test's kernel stays off the wire while the dataplane owns the ports: no
        // IPv6 on its interfaces (no link-local address, no solicitations) unless Linux is attached.
        string ipv6 = ns.Role == "sut" ? "net.ipv6.conf.default.disable_ipv6=1" : "net.ipv6.conf.default.accept_dad=0";
        await ns.RunCheckedAsync($"sysctl -qw net.ipv6.conf.all.accept_dad=0 {ipv6}", _log, cancel).ConfigureAwait(false);
    }

    /// <summary>
    /// Attaches <paramref name="kind"/> between the hosts and addresses the hosts for it. For the
    /// dataplane it starts <paramref name="binary"/> on <paramref name="driver"/>'s ports and waits
    /// until it runs. A failure is a <see cref="LabException"/> that says what did not work.
    /// </summary>
    public async Task<SutSession> AttachAsync(SutKind kind, string driver, string binary, string runFolder, CancellationToken cancel)
    {
        _log.WriteLine($"lab {Id}: attaching {kind}{(kind == SutKind.Dataplane ? " on " + driver : "")}");
        if (kind == SutKind.Direct)
        {
            if (Left is not NetnsHost || Right is not NetnsHost)
                throw new LabException("modifier direct needs namespace hosts: remote hosts are cabled to the system under test");
            Veth(Left, "eth0", Right, "eth0", cancel);
            await RunStepsAsync(HostSteps(gatewayLeft: null, gatewayRight: null), cancel).ConfigureAwait(false);
            return new SutSession(kind, Sut, null, null, null);
        }
        if (Sut is GuestHost)
            await BootGuestAsync(kind, driver, binary, runFolder, cancel).ConfigureAwait(false);
        if (kind == SutKind.Linux)
            return await AttachLinuxAsync(cancel).ConfigureAwait(false);
        return await AttachDataplaneAsync(driver, binary, runFolder, cancel).ConfigureAwait(false);
    }

    /// <summary>The QEMU guest's left and right NICs, and its command channel's (a virtio-net on its kernel driver).</summary>
    internal const string GuestLeftPci = "0000:00:03.0", GuestRightPci = "0000:00:04.0", GuestChannelPci = "0000:00:06.0";

    /// <summary>QEMU's device model for a driver of a QEMU lab.</summary>
    internal static string GuestModel(string driver) => driver switch
    {
        "virtio-net" => "virtio-net-pci",
        "e1000e" => "e1000e",
        "vmxnet3" => "vmxnet3",
        _ => throw new LabException($"a QEMU guest lab runs the device types {string.Join(", ", LabDefinition.QemuDrivers)}, not {driver}"),
    };

    /// <summary>
    /// Boots a fresh guest for the phase: two NICs of the run's device type, their taps the left
    /// and right hosts' interfaces (in their namespaces), and the command channel's NIC, its tap in
    /// the sut namespace. For the dataplane /init binds the two to vfio-pci; for Linux they stay on
    /// their kernel driver and are named sl0 and sr0. Returns once the channel answers. A fresh
    /// boot per phase (seconds under TCG) rather than a re-bind: each phase starts from a guest
    /// in a known state, and a dataplane that wedged its devices cannot spoil Linux's phase.
    /// </summary>
    private async Task BootGuestAsync(SutKind kind, string driver, string binary, string runFolder, CancellationToken cancel)
    {
        var host = (GuestHost)Sut;
        string model = GuestModel(driver);
        bool vfio = kind == SutKind.Dataplane;
        Dictionary<string, string> names = vfio ? [] : new() { [GuestLeftPci] = "sl0", [GuestRightPci] = "sr0" };
        (IReadOnlyDictionary<string, string> files, string run) = GuestHost.GuestSide(GuestChannelPci, names);
        IReadOnlyList<string> programs = GuestHost.ProgramPaths();
        _image ??= await Task.Run(() => GuestImage.Prepare(binary: binary, log: _log), cancel).ConfigureAwait(false);
        var options = new QemuGuestOptions
        {
            Nics = [new(model, 3, $"{Id}-left"), new(model, 4, $"{Id}-right"), new("virtio-net-pci", 6, host.Namespace)],
            Vfio = vfio ? [GuestLeftPci, GuestRightPci] : [],
            Files = files,
            HostFiles = GuestHost.HostFiles,
            Run = run,
            Programs = programs,
            Image = _image,
            ConsoleLog = Path.Combine(runFolder, $"guest-{(vfio ? "dataplane" : "linux")}.console.log"),
        };
        _log.WriteLine($"lab {Id}: booting the QEMU guest: {model} left and right{(vfio ? " on vfio-pci" : " on their kernel driver")}; console in {options.ConsoleLog}");
        await StopGuestAsync().ConfigureAwait(false); // one left by a phase whose attach failed after the boot
        cancel.ThrowIfCancellationRequested();
        QemuGuest guest = await Task.Run(() => QemuGuest.Boot(_netns, options), CancellationToken.None).ConfigureAwait(false);
        _guest = guest;
        try
        {
            await ChannelUpAsync(guest, host, options, cancel).ConfigureAwait(false);
        }
        catch
        {
            await StopGuestAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Addresses the channel's tap here and waits until the guest's channel runs a command.</summary>
    private async Task ChannelUpAsync(QemuGuest guest, GuestHost host, QemuGuestOptions options, CancellationToken cancel)
    {
        LeftInterface = guest.Taps[0];
        RightInterface = guest.Taps[1];
        _netns.Address(host.Namespace, guest.Taps[2], $"{GuestHost.HostAddress}/30");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!await Task.Run(() => guest.WaitFor("GUEST channel ready", TimeSpan.FromSeconds(1)), CancellationToken.None).ConfigureAwait(false))
        {
            cancel.ThrowIfCancellationRequested();
            if (guest.HasExited || clock.Elapsed > options.Timeout)
                throw new LabException($"the QEMU guest's command channel did not come up{(guest.HasExited ? " (QEMU exited)" : $" within {options.Timeout.TotalSeconds:0} s")}: {guest.Tail(5).Replace('\n', ' ')} (console: {options.ConsoleLog})");
        }
        _log.WriteLine($"lab {Id}: the QEMU guest's channel is up after {clock.Elapsed.TotalSeconds:0.0} s");
        CommandResult probe = await host.RunAsync("true", TimeSpan.FromSeconds(60), null, cancel).ConfigureAwait(false);
        if (probe.ExitCode != 0)
            throw new LabException($"the QEMU guest's command channel does not run commands: {probe.Output.Trim()}");
    }

    /// <summary>Stops the phase's QEMU guest by its pid, if there is one, and removes its taps (persistent ones, in the namespaces).</summary>
    private async Task StopGuestAsync()
    {
        if (_guest is not QemuGuest guest)
            return;
        _guest = null;
        await Task.Run(guest.Dispose).ConfigureAwait(false);
        IEnumerable<string> deletes = guest.Taps.Select((tap, i) =>
            $"ip {(guest.Options.Nics[i].Namespace is string ns ? $"-n {ns} " : "")}link del {tap} 2>/dev/null");
        await Quietly(new LocalHost(), string.Join("; ", deletes) + "; true").ConfigureAwait(false);
    }

    /// <summary>The runner's own helper scripts (udpbench.py), which travel with it.</summary>
    public static string ToolsFolder { get; } = Path.Combine(AppContext.BaseDirectory, "tools");

    /// <summary>
    /// The peer tool commands for this lab's hosts. A remote machine does not have the runner's
    /// helper scripts: each script of <see cref="ToolsFolder"/> a command names is copied into every
    /// remote host's folder (the same path on each) and the command names the copy. A namespace
    /// lab shares this machine's files and takes the commands as they are.
    /// </summary>
    public async Task<IReadOnlyDictionary<string, string>> ProvideToolsAsync(IReadOnlyDictionary<string, string> tools, CancellationToken cancel)
    {
        SshHost[] remote = [.. ((Host[])[Left, Right, Sut]).OfType<SshHost>()];
        if (remote.Length == 0)
            return tools;
        var provided = new Dictionary<string, string>();
        foreach ((string name, string command) in tools)
        {
            string[] words = command.Split(' ');
            for (int i = 0; i < words.Length; i++)
            {
                if (Path.IsPathFullyQualified(words[i]) && Path.GetDirectoryName(words[i]) == ToolsFolder && File.Exists(words[i]))
                {
                    string local = words[i];
                    string[] copies = await Task.WhenAll(remote.Select(h => h.ProvideAsync(local, h.Folder, cancel))).ConfigureAwait(false);
                    words[i] = copies[0]; // the same path on each
                }
            }
            provided[name] = string.Join(' ', words);
        }
        return provided;
    }

    private async Task<SutSession> AttachLinuxAsync(CancellationToken cancel)
    {
        var sut = new List<Step>();
        if (Sut is GuestHost)
        {
            // The guest's kernel is the router; its NICs are on their drivers, named at boot.
            SutInterfaces = ("sl0", "sr0");
            sut.Add(new("sysctl -qw net.ipv6.conf.sl0.disable_ipv6=0 net.ipv6.conf.sr0.disable_ipv6=0 net.ipv6.conf.all.accept_dad=0 " +
                "net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 && ip link set sl0 up && ip link set sr0 up", null));
        }
        else if (Sut is NetnsHost)
        {
            Veth(Sut, "sl0", Left, "eth0", cancel);
            Veth(Sut, "sr0", Right, "eth0", cancel);
            SutInterfaces = ("sl0", "sr0");
            await Sut.RunCheckedAsync("sysctl -qw net.ipv6.conf.sl0.disable_ipv6=0 net.ipv6.conf.sr0.disable_ipv6=0 " +
                "net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1", _log, cancel).ConfigureAwait(false);
        }
        else
        {
            string? left = Definition.Port("left")?.Interface, right = Definition.Port("right")?.Interface;
            if (left is null || right is null)
                throw new LabException("the lab names no kernel interface for the system under test's ports (port left|right ... ifname IF)");
            SutInterfaces = (left, right);
            LeftInterface = Definition.Left.Interface!;
            RightInterface = Definition.Right.Interface!;
            CommandResult old = await Sut.RunAsync("sysctl -n net.ipv4.ip_forward net.ipv6.conf.all.forwarding", TimeSpan.FromSeconds(30), null, cancel).ConfigureAwait(false);
            string[] was = old.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            sut.Add(new($"ip link set {left} up && ip link set {right} up && sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1",
                was.Length == 2 ? $"sysctl -qw net.ipv4.ip_forward={was[0].Trim()} net.ipv6.conf.all.forwarding={was[1].Trim()}" : null));
        }
        // OpenBSD's notso and nolro mean the system under test neither segments nor merges: so does Linux in its place.
        foreach (string ifname in (string[])[SutInterfaces.Left, SutInterfaces.Right])
        {
            string[] commands = [.. Modifiers.LinuxRouterCommands(ifname)];
            if (commands.Length > 0)
                sut.Add(new(string.Join(" && ", commands), Sut is SshHost ? Modifiers.RemoteUndo(ifname, router: true) : null));
        }
        AddressSteps(sut, SutInterfaces.Left, "sutleft");
        AddressSteps(sut, SutInterfaces.Right, "sutright");
        await RunStepsAsync(HostSteps("sutleft", "sutright").Append((Sut, sut)), cancel).ConfigureAwait(false);
        await WaitReachableAsync(cancel).ConfigureAwait(false);
        return new SutSession(SutKind.Linux, Sut, null, null, null);
    }

    private async Task<SutSession> AttachDataplaneAsync(string driver, string binary, string runFolder, CancellationToken cancel)
    {
        int cores = Math.Clamp(Environment.ProcessorCount, 1, 2);
        string leftPort, rightPort;
        if (Sut is GuestHost)
        {
            // One worker and one queue pair a port: QEMU's e1000e has one, its vmxnet3 receives on
            // queue 0 only, and the guest's two TCG vCPUs share this machine with the hosts.
            cores = 1;
            leftPort = $"port left  driver vfio pci {GuestLeftPci}";
            rightPort = $"port right driver vfio pci {GuestRightPci}";
        }
        else if (Sut is NetnsHost)
        {
            if (driver == "tap")
            {
                leftPort = $"port left  driver tap ifname dpl0 queues {cores}";
                rightPort = $"port right driver tap ifname dpr0 queues {cores}";
            }
            else if (driver is "afpacket" or "afxdp")
            {
                // afxdp takes one socket per receive queue of the veth: a queue per worker.
                int queues = driver == "afxdp" ? cores : 1;
                Veth(Sut, "dpl0", Left, "eth0", cancel, queues);
                Veth(Sut, "dpr0", Right, "eth0", cancel, queues);
                leftPort = $"port left  driver {driver} ifname dpl0 queues {cores}";
                rightPort = $"port right driver {driver} ifname dpr0 queues {cores}";
            }
            else
            {
                throw new LabException($"a namespace lab runs the drivers {string.Join(", ", LabDefinition.NetnsDrivers)}, not {driver}");
            }
        }
        else
        {
            PortSpec left = Definition.Port("left")!, right = Definition.Port("right")!;
            leftPort = PortLine(left, driver, cores);
            rightPort = PortLine(right, driver, cores);
            LeftInterface = Definition.Left.Interface!;
            RightInterface = Definition.Right.Interface!;
        }

        string config = Services.DataplaneConfig(Addresses, leftPort, rightPort, cores, Modifiers);
        string configFile = Path.Combine(runFolder, "dataplane.conf");
        await File.WriteAllTextAsync(configFile, config, cancel).ConfigureAwait(false);
        string[] copies = await Task.WhenAll(Sut.ProvideAsync(binary, RemoteFolder, cancel), Sut.ProvideAsync(configFile, RemoteFolder, cancel)).ConfigureAwait(false);
        (string remoteBinary, string remoteConfig) = (copies[0], copies[1]);
        string socket = Sut is NetnsHost ? Path.Combine(runFolder, "ctl.sock") : $"{RemoteFolder}/ctl.sock";

        var dataplaneLog = new StreamWriter(Path.Combine(runFolder, "dataplane.log"), append: true) { AutoFlush = true };
        await dataplaneLog.WriteLineAsync($"$ {remoteBinary} run -c {remoteConfig} -s {socket}   ({Sut.Where})").ConfigureAwait(false);
        LabProcess process = Sut.Start($"exec {Shell.Quote(remoteBinary)} run -c {Shell.Quote(remoteConfig)} -s {Shell.Quote(socket)}", dataplaneLog);
        var session = new SutSession(SutKind.Dataplane, Sut, process, remoteBinary, socket) { Log = dataplaneLog };
        try
        {
            // Under TCG (a QEMU guest) the start is slower: device resets, DMA maps through the emulated IOMMU.
            int patience = Sut is GuestHost ? 60 : 20;
            if (!await process.WaitForOutputAsync("dataplane: running:", TimeSpan.FromSeconds(patience), cancel).ConfigureAwait(false))
            {
                string last = process.AllOutput.Trim().Split('\n').LastOrDefault()?.Trim() ?? "";
                throw new LabException(process.HasExited
                    ? $"the dataplane exited with status {process.ExitCode} at start{(last.Length > 0 ? ": " + last : "")}"
                    : $"the dataplane did not say 'running:' within {patience} s");
            }
            if (Sut is NetnsHost && driver == "tap")
            {
                // The taps are the hosts' NICs; the dataplane keeps working on its descriptors after the move.
                cancel.ThrowIfCancellationRequested();
                _netns.Move("dpl0", $"{Id}-sut", $"{Id}-left");
                _netns.Move("dpr0", $"{Id}-sut", $"{Id}-right");
                LeftInterface = "dpl0";
                RightInterface = "dpr0";
            }
            await RunStepsAsync(HostSteps("sutleft", "sutright", completeChecksums: driver == "afxdp"), cancel).ConfigureAwait(false);
            await WaitReachableAsync(cancel).ConfigureAwait(false);
        }
        catch
        {
            await DetachAsync(session, interrupted: cancel.IsCancellationRequested).ConfigureAwait(false);
            throw;
        }
        return session;
    }

    private static string PortLine(PortSpec port, string driver, int cores) => driver switch
    {
        "vfio" when port.Pci is not null => $"port {port.Side} driver vfio pci {port.Pci} queues {cores}",
        "vfio" => throw new LabException($"port {port.Side} has no pci address for the vfio driver"),
        _ when port.Interface is not null => $"port {port.Side} driver {driver} ifname {port.Interface} queues {cores}",
        _ => throw new LabException($"port {port.Side} has no ifname for the {driver} driver"),
    };

    /// <summary>
    /// Ends a phase: stops the dataplane (its counters go to its log first, unless the run is
    /// <paramref name="interrupted"/> and wants out), removes the links and addresses the phase made.
    /// Never throws: what cannot be undone is said in the lab log, and the lab's end removes the rest.
    /// </summary>
    public async Task DetachAsync(SutSession session, bool interrupted = false)
    {
        if (session.Dataplane is LabProcess dataplane)
        {
            if (session.Socket is not null && !dataplane.HasExited && !interrupted)
            {
                CommandResult netstat = await Quietly(Sut, $"{session.Ctl} netstat -s").ConfigureAwait(false);
                session.Log?.WriteLine($"$ dataplane ctl netstat -s\n{netstat.Output}");
            }
            int status = await dataplane.StopAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
            session.Log?.WriteLine($"dataplane exit status {status}");
            await dataplane.DisposeAsync().ConfigureAwait(false);
        }
        session.Log?.Dispose();
        await StopGuestAsync().ConfigureAwait(false);
        // The veths go with their other ends; the taps went with the dataplane's descriptors (a
        // QEMU guest's taps are persistent, and go here).
        Task[] undo =
        [
            UndoAsync(),
            .. Hosts.OfType<NetnsHost>().Select(ns => Quietly(ns,
                "for link in $(ip -o link show | awk -F': ' '$2 != \"lo\" { print $2 }' | cut -d@ -f1); do ip link del \"$link\" 2>/dev/null; done; " +
                "sysctl -qw net.ipv4.ip_forward=0 net.ipv6.conf.all.forwarding=0")),
        ];
        await Task.WhenAll(undo).ConfigureAwait(false);
        LeftInterface = RightInterface = "";
        SutInterfaces = ("", "");
    }

    private void Veth(Host a, string aName, Host b, string bName, CancellationToken cancel, int queues = 1)
    {
        cancel.ThrowIfCancellationRequested();
        _netns.Veth(((NetnsHost)a).Namespace, aName, ((NetnsHost)b).Namespace, bName, queues: queues);
        if (a == Left || b == Left)
            LeftInterface = a == Left ? aName : bName;
        if (a == Right || b == Right)
            RightInterface = a == Right ? aName : bName;
    }

    /// <summary>
    /// The left and right hosts' steps for a phase: their addresses, and their routes to the far
    /// network through the system under test's address (<paramref name="gatewayLeft"/>,
    /// <paramref name="gatewayRight"/>) or on-link (direct). With <paramref name="completeChecksums"/>
    /// a namespace host's veth sends its checksums complete (tx offload off): an afxdp port on the
    /// far end gets a veth's partial checksums without the skb state that says so, and a NIC's
    /// wire never carries them (drivers/Dataplane.Drivers/AfXdp/README.md).
    /// </summary>
    private IEnumerable<(Host Host, List<Step> Steps)> HostSteps(string? gatewayLeft, string? gatewayRight, bool completeChecksums = false)
    {
        var left = new List<Step>();
        var right = new List<Step>();
        // The hosts as users have them: their veth or tap keeps its offloads and hands the system
        // under test partial checksums and TSO super-frames, which it must take (the capture's
        // judge knows partial checksums). Modifier nooffload turns the hosts' checksum offload off
        // (and TSO with it), the column of the runs before the dataplane took super-frames.
        foreach ((Host host, List<Step> steps, string ifname) in (ValueTuple<Host, List<Step>, string>[])[(Left, left, LeftInterface), (Right, right, RightInterface)])
        {
            string[] commands = [.. HostInterfaceCommands(host is NetnsHost, ifname, Modifiers)];
            if (completeChecksums && host is NetnsHost && !Modifiers.HostOffloadsOff)
                commands = [.. commands, $"ethtool -K {ifname} tx off >/dev/null"];
            if (commands.Length > 0)
                steps.Add(new(string.Join(" && ", commands), host is NetnsHost ? null : Modifiers.RemoteUndo(ifname, router: false)));
        }
        AddressSteps(left, LeftInterface, "left");
        AddressSteps(right, RightInterface, "right");
        foreach (int f in (int[])[4, 6])
        {
            string ip = f == 4 ? "ip" : "ip -6";
            string toRight = gatewayLeft is null ? $"dev {LeftInterface}" : $"via {Addresses.Of(gatewayLeft, f)}";
            string toLeft = gatewayRight is null ? $"dev {RightInterface}" : $"via {Addresses.Of(gatewayRight, f)}";
            // The undo names the route exactly as added: never another route to the same network.
            left.Add(new($"{ip} route add {Addresses.Net("right", f)} {toRight}", $"{ip} route del {Addresses.Net("right", f)} {toRight}"));
            right.Add(new($"{ip} route add {Addresses.Net("left", f)} {toLeft}", $"{ip} route del {Addresses.Net("left", f)} {toLeft}"));
        }
        return [(Left, left), (Right, right)];
    }

    /// <summary>
    /// A host's commands for its interface toward the system under test: a namespace's is brought
    /// up here (a remote one is up already), then what the modifiers change.
    /// </summary>
    internal static IEnumerable<string> HostInterfaceCommands(bool namespaced, string ifname, RunModifiers modifiers) =>
        namespaced ? modifiers.HostInterfaceCommands(ifname).Prepend($"ip link set {ifname} up") : modifiers.HostInterfaceCommands(ifname);

    /// <summary>The steps that give <paramref name="ifname"/> the addresses of <paramref name="who"/>.</summary>
    private void AddressSteps(List<Step> steps, string ifname, string who)
    {
        foreach (int f in (int[])[4, 6])
        {
            string address = $"{Addresses.Of(who, f)}/{Addressing.PrefixLength(f)}";
            string ip = f == 4 ? "ip" : "ip -6";
            steps.Add(new($"{ip} addr add {address} dev {ifname}{(f == 6 ? " nodad" : "")}", $"{ip} addr del {address} dev {ifname}"));
        }
    }

    /// <summary>A set-up step on a host, and how to undo it on a remote one (a namespace goes whole); null when there is nothing to undo.</summary>
    private readonly record struct Step(string Command, string? Undo);

    /// <summary>
    /// Runs each host's steps (one command per host), the hosts at once; the first failure is
    /// thrown once all have ended (an interrupt before a failure). On a remote host, the undo of
    /// each step that took effect is noted: a set-up that fails or is interrupted halfway is undone
    /// as far as it went, and no further (the undo of a step that never ran could remove what was
    /// there before).
    /// </summary>
    private async Task RunStepsAsync(IEnumerable<(Host Host, List<Step> Steps)> work, CancellationToken cancel)
    {
        Task all = Task.WhenAll(work.Where(w => w.Steps.Count > 0).Select(w => w.Host.RunStepsAsync(
            [.. w.Steps.Select(s => s.Command)], _log, cancel, done: n =>
            {
                if (w.Host is not SshHost)
                    return;
                lock (_undo)
                {
                    foreach (Step step in w.Steps.Take(n))
                    {
                        if (step.Undo is not null)
                            _undo.Add((w.Host, step.Undo));
                    }
                }
            })));
        try
        {
            await all.ConfigureAwait(false);
        }
        catch (LabException) when (cancel.IsCancellationRequested)
        {
            // A host's step failed as another was interrupted: the interrupt is what happened.
            throw new OperationCanceledException(cancel);
        }
    }

    /// <summary>
    /// Undoes the remote changes, newest first, one command per host, the hosts at once; with
    /// <paramref name="andFolders"/> the lab's folder on each remote machine goes too.
    /// </summary>
    private Task UndoAsync(bool andFolders = false)
    {
        var work = new Dictionary<Host, List<string>>();
        List<string> On(Host host) => work.TryGetValue(host, out List<string>? list) ? list : work[host] = [];
        lock (_undo)
        {
            for (int i = _undo.Count - 1; i >= 0; i--)
                On(_undo[i].Host).Add(_undo[i].Command + " 2>/dev/null");
            _undo.Clear();
        }
        if (andFolders)
        {
            foreach (SshHost ssh in Hosts.OfType<SshHost>())
                On(ssh).Add($"rm -rf {ssh.Folder}");
        }
        return Task.WhenAll(work.Select(w => Quietly(w.Key, string.Join("; ", w.Value))));
    }

    /// <summary>
    /// Runs a clean-up command, not interrupted (an interrupt is what it cleans up after); a failure
    /// to run it at all (ssh gone) goes to the lab log instead of stopping the rest of the clean-up.
    /// </summary>
    private async Task<CommandResult> Quietly(Host host, string command)
    {
        try
        {
            return await host.RunAsync(command, TimeSpan.FromSeconds(30)).ConfigureAwait(false);
        }
        catch (LabException e)
        {
            _log.WriteLine($"lab {Id}: warning: on {host.Where}: '{command}' could not run: {e.Message}");
            return new CommandResult(-1, false, "");
        }
    }

    /// <summary>Waits until left reaches right over both families (neighbours resolved, routes in place), at most 10 s each.</summary>
    private async Task WaitReachableAsync(CancellationToken cancel)
    {
        try
        {
            await Left.RunStepsAsync([.. ((int[])[4, 6]).Select(f => $"ping -{f} -n -c 1 -w 10 -W 1 {Addresses.Of("right", f)}")], _log, cancel).ConfigureAwait(false);
        }
        catch (LabException e)
        {
            throw new LabException($"left does not reach right through the system under test: {e.Message}");
        }
    }

    /// <summary>Removes what the lab made: remote changes undone and remote folders removed, namespaces deleted (what is inside goes with them).</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
            return;
        _disposed = true;
        await StopGuestAsync().ConfigureAwait(false);
        await UndoAsync(andFolders: true).ConfigureAwait(false);
        _netns.Dispose();
    }
}
