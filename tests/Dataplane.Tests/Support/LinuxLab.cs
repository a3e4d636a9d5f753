namespace Dataplane.Tests;

/// <summary>
/// The network namespaces, interfaces, processes and scratch files of one root-only test, all
/// removed on dispose, and the commands that build them. Names are <c>dpt&lt;pid&gt;&lt;kind&gt;&lt;n&gt;</c>
/// (at most 15 bytes, an interface name's limit) so parallel tests and parallel runs do not
/// collide; every process started is stopped by its own PID. The labs of the driver and stack
/// tests build on it; its commands (<c>LinuxLab.Commands.cs</c>) serve the conformance tests too.
/// </summary>
internal partial class LinuxLab : IDisposable
{
    private static int s_counter;
    private readonly List<string> _namespaces = [];
    private readonly List<string> _links = [];
    private readonly List<LabProcess> _processes = [];
    private readonly string _directory;

    public LinuxLab()
    {
        _directory = Directory.CreateTempSubdirectory($"dpt{Environment.ProcessId}-").FullName;
    }

    /// <summary>A fresh interface or namespace name of at most 15 bytes.</summary>
    public static string UniqueName(char kind) =>
        $"dpt{Environment.ProcessId}{kind}{Interlocked.Increment(ref s_counter)}";

    /// <summary>A scratch file path in the lab's directory (removed on dispose).</summary>
    public string File(string name) => Path.Combine(_directory, name);

    /// <summary>A new network namespace with its loopback up, deleted on dispose (with every interface in it).</summary>
    public string Namespace()
    {
        string ns = UniqueName('n');
        Run("ip", "netns", "add", ns);
        _namespaces.Add(ns);
        Run("ip", "-n", ns, "link", "set", "lo", "up");
        return ns;
    }

    /// <summary>A veth pair made in this namespace, <paramref name="name"/> and <paramref name="peer"/>, deleted on dispose if still here.</summary>
    public void Veth(string name, string peer)
    {
        Run("ip", "link", "add", name, "type", "veth", "peer", "name", peer);
        _links.Add(name);
    }

    /// <summary>Starts <paramref name="file"/> inside <paramref name="ns"/> in the background; stopped by PID on dispose.</summary>
    public LabProcess StartIn(string ns, string file, params string[] args) => Track(new LabProcess("ip", ["netns", "exec", ns, file, .. args]));

    /// <summary>
    /// Starts <paramref name="file"/> inside <paramref name="ns"/> with its standard input ours
    /// (<see cref="LabProcess.Input"/>); stopped by PID on dispose.
    /// </summary>
    public LabProcess StartWithInputIn(string ns, string file, params string[] args) =>
        Track(new LabProcess("ip", ["netns", "exec", ns, file, .. args], input: true));

    /// <summary>Stops every process (by its PID), deletes the interfaces and namespaces, removes the files.</summary>
    public virtual void Dispose()
    {
        foreach (LabProcess process in _processes)
            process.Dispose();
        _processes.Clear();
        foreach (string link in _links)
        {
            if (Native.LinkControl.Exists(link)) // moved into a namespace, it goes with the namespace
                Quietly("ip", "link", "del", link);
        }
        foreach (string ns in _namespaces)
            Quietly("ip", "netns", "del", ns);
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
        GC.SuppressFinalize(this);
    }

    private LabProcess Track(LabProcess process)
    {
        _processes.Add(process);
        return process;
    }
}
