using System.Diagnostics;
using System.IO.Compression;
using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace Dataplane.Labs.Guest;

/// <summary>
/// The test guest's kernel and initramfs. The initramfs holds busybox (static) and its applets, the
/// published <c>out/dataplane</c> with the shared libraries and loader <c>ldd</c> names, the kernel
/// modules (<see cref="Modules"/> and their dependencies), <c>/init</c> and <c>guest-bind</c>
/// (init.sh and guest-bind.sh beside this file). It is rebuilt when any of them changes (a key of
/// their contents), else reused: <c>out/guest/initramfs.cpio.gz</c>. The kernel comes from
/// <see cref="GuestKernel"/>, cached in <c>.qemu/</c>. Neither is committed.
/// </summary>
public sealed partial class GuestImage
{
    /// <summary>
    /// The modules /init loads, in this order after their dependencies: VFIO (vfio_pci pulls in
    /// vfio_pci_core, vfio_virqfd, irqbypass; vfio_iommu_type1 is the container's IOMMU backend),
    /// then the NICs' own drivers, so that a test sees each device on its kernel driver first and can
    /// give it back to it after the dataplane.
    /// </summary>
    public static readonly string[] Modules = ["vfio", "vfio_iommu_type1", "vfio_pci", "e1000e", "vmxnet3", "virtio_pci", "virtio_net"];

    private const string Busybox = "/bin/busybox";
    private static readonly Lock s_lock = new();

    private GuestImage(GuestKernel kernel, string initramfs, TimeSpan took)
    {
        Kernel = kernel;
        Initramfs = initramfs;
        Took = took;
    }

    /// <summary>The kernel, its image and modules.</summary>
    public GuestKernel Kernel { get; }

    /// <summary>The gzip-compressed newc cpio archive, for QEMU's <c>-initrd</c> (after the per-boot archive is appended).</summary>
    public string Initramfs { get; }

    /// <summary>How long <see cref="Prepare"/> took: a download and a build the first time, a check after.</summary>
    public TimeSpan Took { get; }

    /// <summary>The repository's root: the first folder up from here (or from the program's) that holds Dataplane.sln.</summary>
    public static string FindRoot()
    {
        foreach (string start in (string[])[Directory.GetCurrentDirectory(), AppContext.BaseDirectory])
        {
            for (string? dir = Path.GetFullPath(start); dir is not null; dir = Path.GetDirectoryName(dir))
            {
                if (File.Exists(Path.Combine(dir, "Dataplane.sln")))
                    return dir;
            }
        }
        throw new LabException("no Dataplane.sln above the current folder or the program's");
    }

    /// <summary>
    /// The kernel (downloaded into <c>ROOT/.qemu/</c> the first time) and the initramfs with
    /// <paramref name="binary"/> (default <c>ROOT/out/dataplane</c>), built into <c>ROOT/out/guest/</c>
    /// unless one with the same contents is there. One caller at a time (a lock file, for parallel
    /// test runs). Throws <see cref="LabException"/> when a part is missing or cannot be fetched.
    /// </summary>
    public static GuestImage Prepare(string? root = null, string? binary = null, TextWriter? log = null)
    {
        var clock = Stopwatch.StartNew();
        root ??= FindRoot();
        binary ??= Path.Combine(root, "out", "dataplane");
        if (!File.Exists(binary))
            throw new LabException($"{binary} is not there: ./build.sh publish");
        if (!File.Exists(Busybox))
            throw new LabException($"{Busybox} is not there: ./build.sh deps (busybox-static)");
        string cache = Path.Combine(root, ".qemu"), folder = Path.Combine(root, "out", "guest");
        Directory.CreateDirectory(cache);
        Directory.CreateDirectory(folder);
        lock (s_lock)
        {
            using FileStream held = Hold(Path.Combine(cache, "lock"));
            GuestKernel kernel = GuestKernel.Fetch(cache, Modules, log);
            string initramfs = Path.Combine(folder, "initramfs.cpio.gz"), keyFile = Path.Combine(folder, "initramfs.key");
            (string, string)[] libraries = Libraries(binary);
            string key = Key(kernel, binary, libraries);
            if (!File.Exists(initramfs) || !File.Exists(keyFile) || File.ReadAllText(keyFile) != key)
            {
                log?.WriteLine($"[guest] building {initramfs}");
                Build(initramfs + ".tmp", kernel, binary, libraries);
                File.Move(initramfs + ".tmp", initramfs, overwrite: true);
                File.WriteAllText(keyFile, key);
            }
            return new GuestImage(kernel, initramfs, clock.Elapsed);
        }
    }

    /// <summary>The lock file, held open with no sharing, waited for at most 15 minutes (a first download).</summary>
    private static FileStream Hold(string path)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (clock.Elapsed < TimeSpan.FromMinutes(15))
            {
                Thread.Sleep(200);
            }
        }
    }

    /// <summary>What <c>ldd</c> says <paramref name="binary"/> loads: (path in the guest, file here), the dynamic loader included.</summary>
    internal static (string Guest, string Host)[] Libraries(string binary)
    {
        var found = new List<(string, string)>();
        foreach (Match m in LddLine().Matches(NetnsLab.Run("ldd", binary)))
        {
            string path = m.Groups["path"].Value;
            if (File.Exists(path))
                found.Add((path, Path.GetFullPath(new FileInfo(path).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? path)));
        }
        return [.. found];
    }

    /// <summary>A hash of everything that goes into the image.</summary>
    private static string Key(GuestKernel kernel, string binary, (string Guest, string Host)[] libraries)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        void Add(string name, byte[] bytes)
        {
            hash.AppendData(Encoding.UTF8.GetBytes($"{name}\0{bytes.Length}\0"));
            hash.AppendData(bytes);
        }
        Add("kernel", Encoding.UTF8.GetBytes(kernel.Package + "\n" + string.Join('\n', kernel.Modules)));
        Add("init", Script("init.sh"));
        Add("guest-bind", Script("guest-bind.sh"));
        Add(Busybox, File.ReadAllBytes(Busybox));
        Add("dataplane", File.ReadAllBytes(binary));
        foreach ((string guest, string host) in libraries)
            Add(guest, File.ReadAllBytes(host));
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    private static void Build(string path, GuestKernel kernel, string binary, (string Guest, string Host)[] libraries)
    {
        using FileStream file = File.Create(path);
        using (var gzip = new GZipStream(file, CompressionLevel.Fastest, leaveOpen: true))
        {
            var cpio = new CpioArchive(gzip);
            var dirs = new HashSet<string>(StringComparer.Ordinal);
            void Parents(string p)
            {
                string? dir = Path.GetDirectoryName(p);
                if (string.IsNullOrEmpty(dir) || dir == "/" || !dirs.Add(dir))
                    return;
                Parents(dir);
                cpio.Directory(dir);
            }
            foreach (string dir in (string[])["/bin", "/sbin", "/usr/bin", "/usr/sbin", "/dev", "/proc", "/sys", "/tmp", "/run", "/root", "/etc/guest", "/lib/modules"])
                Parents(dir + "/.");
            cpio.CharDevice("/dev/console", 5, 1);
            cpio.CharDevice("/dev/null", 1, 3);
            cpio.File("/init", Script("init.sh"), executable: true);
            cpio.File("/bin/guest-bind", Script("guest-bind.sh"), executable: true);
            cpio.File(Busybox, File.ReadAllBytes(Busybox), executable: true);
            // busybox --list-full: every applet's path (bin/sh, sbin/insmod, usr/bin/nc), as a link to it.
            foreach (string applet in NetnsLab.Run(Busybox, "--list-full").Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                string at = "/" + applet.Trim();
                if (at == Busybox)
                    continue;
                Parents(at);
                cpio.Symlink(at, Busybox);
            }
            cpio.File("/usr/bin/dataplane", File.ReadAllBytes(binary), executable: true);
            foreach ((string guest, string host) in libraries)
            {
                Parents(guest);
                cpio.File(guest, File.ReadAllBytes(host), executable: true);
            }
            foreach (string module in kernel.Modules)
                cpio.File($"/lib/modules/{module}.ko", File.ReadAllBytes(kernel.ModuleFile(module)));
            cpio.File("/etc/guest/modules", Encoding.UTF8.GetBytes(string.Join('\n', kernel.Modules) + "\n"));
            cpio.File("/etc/os-release", "PRETTY_NAME=\"Dataplane QEMU test guest (busybox initramfs)\"\nID=dataplane-guest\n"u8);
            cpio.Finish();
        }
        // A second archive may follow: the kernel takes an uncompressed one at a 4-byte boundary.
        while (file.Length % 4 != 0)
            file.WriteByte(0);
    }

    /// <summary>One of the guest's scripts, embedded from this folder.</summary>
    internal static byte[] Script(string name)
    {
        using Stream stream = Assembly.GetExecutingAssembly().GetManifestResourceStream($"Dataplane.Labs.Guest.{name}")
            ?? throw new InvalidOperationException($"the lab library embeds no {name}");
        using var bytes = new MemoryStream();
        stream.CopyTo(bytes);
        return bytes.ToArray();
    }

    // "libm.so.6 => /lib/x86_64-linux-gnu/libm.so.6 (0x...)" and "/lib64/ld-linux-x86-64.so.2 (0x...)".
    [GeneratedRegex(@"^\s*(?:\S+ => )?(?<path>/\S+) \(0x", RegexOptions.Multiline)]
    private static partial Regex LddLine();
}
