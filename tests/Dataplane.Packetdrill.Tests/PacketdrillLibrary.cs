using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Dataplane.Packetdrill.Tests;

/// <summary>
/// <c>struct packetdrill_interface</c> as packetdrill.h declares it: userdata, then one function
/// pointer per call in the header's order. Declared here, apart from the library's own, so that a
/// field out of order on either side fails a test.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct PacketdrillInterface
{
    public nint UserData;
    public delegate* unmanaged<nint, void> Free;
    public delegate* unmanaged<nint, int, int, int, int> Socket;
    public delegate* unmanaged<nint, int, byte*, uint, int> Bind;
    public delegate* unmanaged<nint, int, int, int> Listen;
    public delegate* unmanaged<nint, int, byte*, uint*, int> Accept;
    public delegate* unmanaged<nint, int, byte*, uint, int> Connect;
    public delegate* unmanaged<nint, int, byte*, nuint, nint> Read;
    public nint Readv;
    public delegate* unmanaged<nint, int, byte*, nuint, int, nint> Recv;
    public nint Recvfrom;
    public nint Recvmsg;
    public delegate* unmanaged<nint, int, byte*, nuint, nint> Write;
    public nint Writev;
    public delegate* unmanaged<nint, int, byte*, nuint, int, nint> Send;
    public nint Sendto;
    public nint Sendmsg;
    public delegate* unmanaged<nint, int, int, nint, int> Fcntl;
    public nint Ioctl;
    public delegate* unmanaged<nint, int, int> Close;
    public delegate* unmanaged<nint, int, int, int> Shutdown;
    public delegate* unmanaged<nint, int, int, int, byte*, uint*, int> Getsockopt;
    public delegate* unmanaged<nint, int, int, int, byte*, uint, int> Setsockopt;
    public delegate* unmanaged<nint, short*, nuint, int, int> Poll;
    public delegate* unmanaged<nint, byte*, nuint, int> NetdevSend;
    public delegate* unmanaged<nint, byte*, nuint*, long*, int> NetdevReceive;
    public delegate* unmanaged<nint, uint, int> Usleep;
    public delegate* unmanaged<nint, long*, nint, int> Gettimeofday;
    public nint EpollCreate;
    public nint EpollCtl;
    public nint EpollWait;
    public nint Pipe;
    public nint Splice;
}

/// <summary>
/// The library as packetdrill uses it: published with NativeAOT into out/packetdrill (again when a
/// source under dataplane/ is newer than the .so), loaded once per test run, and opened once per
/// test with <c>packetdrill_interface_init</c>.
/// </summary>
public sealed unsafe class PacketdrillLibrary : IDisposable
{
    /// <summary>The repository's root: the folder that holds Dataplane.sln.</summary>
    public static string Root { get; } = FindRoot();

    /// <summary>The published library.</summary>
    public static string Path { get; } = System.IO.Path.Combine(Root, "out", "packetdrill", "dataplane-packetdrill.so");

    private readonly nint _handle;

    public PacketdrillLibrary()
    {
        PublishIfStale();
        _handle = NativeLibrary.Load(Path);
        Init = (delegate* unmanaged<byte*, PacketdrillInterface*, void>)NativeLibrary.GetExport(_handle, "packetdrill_interface_init");
    }

    /// <summary><c>packetdrill_interface_init</c>.</summary>
    public delegate* unmanaged<byte*, PacketdrillInterface*, void> Init { get; }

    /// <summary>A fresh instance of the stack under test, with <paramref name="flags"/> as --so_flags.</summary>
    public PacketdrillInterface Open(string flags = "")
    {
        PacketdrillInterface ifc = default;
        byte[] text = [.. System.Text.Encoding.UTF8.GetBytes(flags), 0];
        fixed (byte* f = text)
            Init(f, &ifc);
        return ifc;
    }

    public void Dispose()
    {
        // The library stays loaded: a NativeAOT runtime cannot be unloaded from a process.
    }

    private static void PublishIfStale()
    {
        DateTime built = File.Exists(Path) ? File.GetLastWriteTimeUtc(Path) : DateTime.MinValue;
        bool stale = Directory.EnumerateFiles(System.IO.Path.Combine(Root, "dataplane"), "*.cs*", SearchOption.AllDirectories)
            .Where(f => !f.Contains("/obj/", StringComparison.Ordinal) && !f.Contains("/bin/", StringComparison.Ordinal))
            .Any(f => File.GetLastWriteTimeUtc(f) > built);
        if (!stale)
            return;
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = Root,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (string a in (string[])["publish", "dataplane/Dataplane.Packetdrill/Dataplane.Packetdrill.csproj", "-c", "Release", "-r", "linux-x64",
                     "-o", "out/packetdrill", "-nodeReuse:false", "-nologo", "-v:minimal", "-warnaserror"])
            start.ArgumentList.Add(a);
        using Process publish = Process.Start(start)!;
        Task<string> output = publish.StandardOutput.ReadToEndAsync();
        Task<string> errors = publish.StandardError.ReadToEndAsync();
        if (!publish.WaitForExit(TimeSpan.FromMinutes(20)))
        {
            publish.Kill(entireProcessTree: true);
            throw new TimeoutException("dotnet publish of the packetdrill library took over 20 minutes");
        }
        if (publish.ExitCode != 0 || !File.Exists(Path))
            throw new InvalidOperationException($"dotnet publish of the packetdrill library failed (exit {publish.ExitCode}):\n{output.Result}\n{errors.Result}");
    }

    private static string FindRoot()
    {
        for (string? dir = AppContext.BaseDirectory; dir is not null; dir = System.IO.Path.GetDirectoryName(dir))
        {
            if (File.Exists(System.IO.Path.Combine(dir, "Dataplane.sln")))
                return dir;
        }
        throw new InvalidOperationException("no Dataplane.sln above the test's folder");
    }
}

[CollectionDefinition(Name)]
public sealed class LibraryCollection : ICollectionFixture<PacketdrillLibrary>
{
    public const string Name = "packetdrill library";
}
