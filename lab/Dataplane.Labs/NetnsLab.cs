using System.Globalization;

namespace Dataplane.Labs;

/// <summary>
/// The network namespaces, interfaces, processes and scratch files of one lab on this machine, all
/// removed on dispose, also when a set-up fails half-way (each is noted as soon as it exists).
/// Every name starts with the lab's <see cref="Id"/>, which carries the process id, so parallel
/// tests and parallel runs do not collide and a lab never removes what it did not make: namespaces
/// are <c>ID-ROLE</c> (<see cref="Namespace(string?)"/> with a role) or <c>IDnN</c>, interfaces
/// <c>IDkN</c> (<see cref="Name"/>, at most 15 bytes for a short id). Interfaces made inside the
/// lab's namespaces go with them; those made here are deleted by name. Processes are stopped by the
/// pid they were started with, and what they started.
/// </summary>
public partial class NetnsLab : IDisposable
{
    private static int s_counter;
    private readonly List<string> _namespaces = [];
    private readonly List<string> _links = [];
    private readonly List<LabProcess> _processes = [];
    private readonly TextWriter? _log;
    private readonly bool _ownsFolder;
    private string? _folder;
    private bool _disposed;

    /// <summary>
    /// A lab whose names start with <paramref name="id"/>. The commands it runs and what it could
    /// not remove go to <paramref name="log"/>, when given. Its files go to <paramref name="folder"/>
    /// (kept) or, by default, to a temp folder made when first asked for (removed on dispose).
    /// </summary>
    public NetnsLab(string id, TextWriter? log = null, string? folder = null)
    {
        Id = id;
        _log = log;
        _folder = folder;
        _ownsFolder = folder is null;
    }

    /// <summary>The prefix of every name the lab gives.</summary>
    public string Id { get; }

    /// <summary>The lab's folder: logs, sockets, scratch files.</summary>
    public string Folder => _folder ??= Directory.CreateTempSubdirectory($"{Id}-").FullName;

    /// <summary>The namespaces the lab made and has not deleted yet, oldest first.</summary>
    public IReadOnlyList<string> Namespaces => _namespaces;

    /// <summary>A fresh interface or namespace name: <paramref name="stem"/>, <paramref name="kind"/>, a number unique in this process.</summary>
    public static string UniqueName(string stem, char kind) => $"{stem}{kind}{Interlocked.Increment(ref s_counter)}";

    /// <summary>A fresh name of this lab: <c>ID</c>, <paramref name="kind"/>, a number.</summary>
    public string Name(char kind) => UniqueName(Id, kind);

    /// <summary>A path in the lab's folder.</summary>
    public string File(string name) => Path.Combine(Folder, name);

    /// <summary>
    /// A new network namespace, <c>ID-ROLE</c> or (no role) a fresh name, with its loopback up;
    /// deleted on dispose with every interface in it.
    /// </summary>
    public string Namespace(string? role = null)
    {
        string ns = role is null ? Name('n') : $"{Id}-{role}";
        Do("ip", "netns", "add", ns);
        _namespaces.Add(ns);
        Do("ip", "-n", ns, "link", "set", "lo", "up");
        return ns;
    }

    /// <summary>Deletes one of the lab's namespaces now (what is inside goes with it); says in the log what still ran in it.</summary>
    public void DeleteNamespace(string ns)
    {
        if (!_namespaces.Remove(ns))
            throw new ArgumentException($"{ns} is not a namespace of lab {Id}", nameof(ns));
        if (_log is not null)
        {
            (int code, string pids) = Execute("ip", "netns", "pids", ns);
            if (code == 0 && pids.Trim().Length > 0)
                _log.WriteLine($"lab {Id}: warning: processes not started by the lab still in {ns}: {pids.Trim().Replace('\n', ' ')}");
        }
        (int exit, string said) = Execute("ip", "netns", "del", ns);
        if (exit != 0)
            _log?.WriteLine($"lab {Id}: warning: could not delete namespace {ns}: {said.Trim()}");
    }

    /// <summary>
    /// A veth pair made here, <paramref name="name"/> and <paramref name="peer"/> (down), deleted on
    /// dispose if still here; each end with <paramref name="queues"/> receive and transmit queues.
    /// </summary>
    public void Veth(string name, string peer, int queues = 1)
    {
        string[] counts = QueueCounts(queues);
        Do(["ip", "link", "add", name, .. counts, "type", "veth", "peer", "name", peer, .. counts]);
        _links.Add(name);
    }

    /// <summary>
    /// A veth pair made directly in place, <paramref name="name"/> in <paramref name="ns"/> and
    /// <paramref name="peer"/> in <paramref name="peerNs"/> (null: here; the same name may then be
    /// in several namespaces at once), both ends up unless not <paramref name="up"/> (to set
    /// them up first: an interface with IPv6 on talks as it comes up). It goes with either
    /// namespace; one end here is deleted on dispose. <paramref name="queues"/>: the receive and
    /// transmit queues of each end (a veth has one of each unless made with more).
    /// </summary>
    public void Veth(string? ns, string name, string? peerNs, string peer, bool up = true, int queues = 1)
    {
        string[] counts = QueueCounts(queues);
        Do([.. In(ns), "link", "add", name, .. counts, "type", "veth", "peer", "name", peer, .. counts, .. peerNs is null ? [] : (string[])["netns", peerNs]]);
        if (ns is null)
            _links.Add(name);
        else if (peerNs is null)
            _links.Add(peer);
        if (!up)
            return;
        Do([.. In(ns), "link", "set", name, "up"]);
        Do([.. In(peerNs), "link", "set", peer, "up"]);
    }

    /// <summary>
    /// A persistent tap device made here, <paramref name="name"/>, up (it has carrier once a program
    /// such as QEMU attaches to it), deleted on dispose if still here; with <paramref name="queues"/>
    /// above 1 a multi-queue one.
    /// </summary>
    public void Tap(string name, int queues = 1)
    {
        Do(["ip", "tuntap", "add", "dev", name, "mode", "tap", .. queues > 1 ? (string[])["multi_queue"] : []]);
        _links.Add(name);
        Do("ip", "link", "set", name, "up");
    }

    /// <summary>The <c>ip link add</c> words for <paramref name="queues"/> queues each way: none for the default one.</summary>
    private static string[] QueueCounts(int queues)
    {
        if (queues == 1)
            return [];
        string n = queues.ToString(CultureInfo.InvariantCulture);
        return ["numtxqueues", n, "numrxqueues", n];
    }

    /// <summary>Moves the interface <paramref name="name"/> from <paramref name="from"/> (null: here) into <paramref name="ns"/>.</summary>
    public void Move(string name, string? from, string ns) =>
        Do([.. In(from), "link", "set", name, "netns", ns]);

    /// <summary>Brings <paramref name="name"/> in <paramref name="ns"/> (null: here) up.</summary>
    public void Up(string? ns, string name) => Do([.. In(ns), "link", "set", name, "up"]);

    /// <summary>Sets kernel parameters (<c>net.ipv4.ip_forward=1</c>) inside <paramref name="ns"/> (null: here).</summary>
    public void Sysctl(string? ns, params string[] settings) =>
        Do(ns is null ? ["sysctl", "-qw", .. settings] : ["ip", "netns", "exec", ns, "sysctl", "-qw", .. settings]);

    /// <summary>Addresses (<c>10.10.11.1/24</c>, <c>fdd7::1/64</c>) on <paramref name="name"/> in <paramref name="ns"/>; IPv6 ones without duplicate address detection.</summary>
    public void Address(string ns, string name, params string[] addresses)
    {
        foreach (string address in addresses)
        {
            if (address.Contains(':', StringComparison.Ordinal))
                Do("ip", "-n", ns, "-6", "addr", "add", address, "dev", name, "nodad");
            else
                Do("ip", "-n", ns, "addr", "add", address, "dev", name);
        }
    }

    /// <summary>A route to <paramref name="prefix"/> (or <c>default</c>) through <paramref name="gateway"/> inside <paramref name="ns"/>.</summary>
    public void Route(string ns, string prefix, string gateway) =>
        Do("ip", "-n", ns, gateway.Contains(':', StringComparison.Ordinal) ? "-6" : "-4", "route", "add", prefix, "via", gateway);

    /// <summary>Starts <paramref name="file"/> inside <paramref name="ns"/> in the background; stopped by its pid on dispose.</summary>
    public LabProcess StartIn(string ns, string file, params string[] args) => Start(ns, file, args);

    /// <summary>Starts <paramref name="file"/> inside <paramref name="ns"/> with its standard input ours (<see cref="LabProcess.Input"/>); stopped by its pid on dispose.</summary>
    public LabProcess StartWithInputIn(string ns, string file, params string[] args) => Start(ns, file, args, input: true);

    /// <summary>
    /// Starts <paramref name="file"/> inside <paramref name="ns"/> (null: here), its output also to
    /// <paramref name="log"/>; stopped by its pid on dispose. <c>ip netns exec</c> execs it, so the
    /// pid is the program's. <paramref name="ownSession"/>: see <see cref="LabProcess(string, IEnumerable{string}, TextWriter?, bool, bool)"/>.
    /// </summary>
    public LabProcess Start(string? ns, string file, IEnumerable<string> args, TextWriter? log = null, bool input = false, bool ownSession = false)
    {
        LabProcess process = ns is null
            ? new LabProcess(file, args, log, input, ownSession)
            : new LabProcess("ip", ["netns", "exec", ns, file, .. args], log, input, ownSession);
        return Track(process);
    }

    /// <summary>Stops <paramref name="process"/> (started elsewhere, on a host of the lab) on dispose if it still runs.</summary>
    public LabProcess Track(LabProcess process)
    {
        lock (_processes)
            _processes.Add(process);
        return process;
    }

    /// <summary>
    /// Stops every process it started (newest first, by pid), deletes the interfaces it made here
    /// and its namespaces, and removes its folder if it made it. Never throws; what could not be
    /// removed is said in the log. A second call does nothing.
    /// </summary>
    public virtual void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        LabProcess[] processes;
        lock (_processes)
        {
            processes = [.. _processes];
            _processes.Clear();
        }
        for (int i = processes.Length - 1; i >= 0; i--)
        {
            try
            {
                processes[i].Dispose();
            }
            catch (Exception e) when (e is InvalidOperationException or IOException or LabException or System.ComponentModel.Win32Exception)
            {
                _log?.WriteLine($"lab {Id}: warning: could not stop {processes[i].CommandLine}: {e.Message}");
            }
        }
        foreach (string link in _links)
        {
            if (Directory.Exists($"/sys/class/net/{link}")) // moved into a namespace, it goes with the namespace
                Quietly("ip", "link", "del", link);
        }
        _links.Clear();
        foreach (string ns in _namespaces.ToArray())
            DeleteNamespace(ns);
        if (_ownsFolder && _folder is not null)
        {
            try
            {
                Directory.Delete(_folder, recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
        }
        GC.SuppressFinalize(this);
    }

    private static string[] In(string? ns) => ns is null ? ["ip"] : ["ip", "-n", ns];

    /// <summary>Runs a set-up command (logged); a <see cref="LabException"/> with its output when it fails.</summary>
    private void Do(params string[] command)
    {
        _log?.WriteLine($"[lab] $ {string.Join(' ', command)}");
        try
        {
            Run(command[0], command[1..]);
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException)
        {
            throw new LabException($"lab {Id}: {e.Message.Trim()}");
        }
    }
}
