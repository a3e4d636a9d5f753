using System.IO.Compression;
using System.Text;
using System.Text.RegularExpressions;

namespace Dataplane.Labs.Guest;

/// <summary>
/// Debian's own kernel for the test guest, never installed on this machine: the package the
/// <c>linux-image-amd64</c> metapackage depends on is fetched with <c>apt-get download</c> into a
/// cache folder, unpacked with <c>dpkg-deb -x</c>, and only its <c>vmlinuz</c> and the modules the
/// guest loads (with every module they depend on, read from each module's <c>.modinfo</c>, as
/// depmod would, since the package carries no modules.dep) are kept, uncompressed (busybox insmod
/// takes plain <c>.ko</c> files). The package file stays in the cache, so a longer module list
/// unpacks again without a download.
/// </summary>
public sealed partial class GuestKernel
{
    private const string Metapackage = "linux-image-amd64";

    private GuestKernel(string package, string folder, string[] modules)
    {
        Package = package;
        Folder = folder;
        Modules = modules;
    }

    /// <summary>The kernel's package: <c>linux-image-6.1.0-57-amd64</c>.</summary>
    public string Package { get; }

    /// <summary>The folder it was unpacked to: <c>vmlinuz</c>, <c>modules/NAME.ko</c>.</summary>
    public string Folder { get; }

    /// <summary>The compressed kernel image (bzImage) as the package ships it.</summary>
    public string Vmlinuz => Path.Combine(Folder, "vmlinuz");

    /// <summary>
    /// What QEMU's <c>-kernel</c> boots: the uncompressed ELF <c>vmlinux</c> when the kernel has a
    /// PVH entry point (CONFIG_PVH), else the bzImage. Under TCG the bzImage's own decompressor (xz,
    /// in emulated code) and SeaBIOS's real-mode loader cost 3 to 8 s of a boot; QEMU starts a PVH
    /// ELF at its 32-bit entry at once.
    /// </summary>
    public string BootImage => File.Exists(Path.Combine(Folder, "vmlinux")) ? Path.Combine(Folder, "vmlinux") : Vmlinuz;

    /// <summary>The modules' names (underscores), each after those it depends on: the order to insmod them.</summary>
    public IReadOnlyList<string> Modules { get; }

    /// <summary>The path of module <paramref name="name"/>'s plain <c>.ko</c> file.</summary>
    public string ModuleFile(string name) => Path.Combine(Folder, "modules", name + ".ko");

    /// <summary>
    /// The kernel with <paramref name="wanted"/> and their dependencies, from <paramref name="cache"/>
    /// when it has them, else downloaded and unpacked there. Throws <see cref="LabException"/> when
    /// apt cannot name or fetch it, or a module is not in the package.
    /// </summary>
    public static GuestKernel Fetch(string cache, IReadOnlyList<string> wanted, TextWriter? log = null)
    {
        Directory.CreateDirectory(cache);
        string package = Resolve(cache, log);
        string folder = Path.Combine(cache, package);
        string order = Path.Combine(folder, "modules.order");
        if (File.Exists(Path.Combine(folder, "vmlinuz")) && File.Exists(Path.Combine(folder, "config")) && File.Exists(order))
        {
            string[] have = File.ReadAllLines(order);
            if (wanted.All(m => have.Contains(Normalize(m))))
                return new GuestKernel(package, folder, have);
        }
        string deb = Directory.EnumerateFiles(cache, $"{package}_*.deb").FirstOrDefault() ?? Download(cache, package, log);
        GuestKernel kernel = Unpack(deb, package, folder, wanted, log);
        Forget(cache, package, log);
        return kernel;
    }

    /// <summary>Removes the packages and folders of kernels other than <paramref name="package"/>: Debian moved on, and each is ~140 MB.</summary>
    private static void Forget(string cache, string package, TextWriter? log)
    {
        foreach (string old in Directory.EnumerateFileSystemEntries(cache, "linux-image-*"))
        {
            string name = Path.GetFileName(old);
            if (name == package || name.StartsWith(package + "_", StringComparison.Ordinal))
                continue;
            log?.WriteLine($"[guest] removing {name}, an older kernel");
            if (Directory.Exists(old))
                Directory.Delete(old, recursive: true);
            else
                File.Delete(old);
        }
    }

    /// <summary>The package <c>linux-image-amd64</c> depends on now; after an <c>apt-get update</c> if apt does not know it; else the one cached.</summary>
    private static string Resolve(string cache, TextWriter? log)
    {
        for (int attempt = 0; attempt < 2; attempt++)
        {
            (int code, string said) = NetnsLab.Execute("apt-cache", "depends", Metapackage);
            Match match = DependsOnImage().Match(said);
            if (code == 0 && match.Success)
                return match.Groups[1].Value;
            if (attempt == 0)
            {
                log?.WriteLine($"[guest] apt-cache knows no {Metapackage}: apt-get update");
                NetnsLab.Execute("apt-get", "update", "-qq");
            }
        }
        string? cached = Directory.EnumerateDirectories(cache, "linux-image-*").Select(Path.GetFileName)
            .Where(d => File.Exists(Path.Combine(cache, d!, "vmlinuz"))).OrderDescending(StringComparer.Ordinal).FirstOrDefault();
        return cached ?? throw new LabException($"apt-cache depends {Metapackage} names no linux-image package, and {cache} has none: is apt configured?");
    }

    private static string Download(string cache, string package, TextWriter? log)
    {
        log?.WriteLine($"[guest] apt-get download {package} into {cache}");
        // As root apt would hand the download to its _apt user, which cannot write here.
        using var download = new LabProcess("sh", ["-c", $"cd {Shell.Quote(cache)} && exec apt-get download -q -o APT::Sandbox::User=root {Shell.Quote(package)}"], log, ownSession: true);
        int exit = download.WaitForExit(TimeSpan.FromMinutes(15));
        return exit == 0 && Directory.EnumerateFiles(cache, $"{package}_*.deb").FirstOrDefault() is string deb
            ? deb
            : throw new LabException($"apt-get download {package}: exit {exit}: {download.AllOutput.Trim()}");
    }

    private static GuestKernel Unpack(string deb, string package, string folder, IReadOnlyList<string> wanted, TextWriter? log)
    {
        log?.WriteLine($"[guest] dpkg-deb -x {Path.GetFileName(deb)}");
        string scratch = folder + ".unpack";
        if (Directory.Exists(scratch))
            Directory.Delete(scratch, recursive: true);
        if (Directory.Exists(folder))
            Directory.Delete(folder, recursive: true);
        try
        {
            NetnsLab.Run("dpkg-deb", "-x", deb, scratch);
            string vmlinuz = Directory.EnumerateFiles(Path.Combine(scratch, "boot"), "vmlinuz-*").FirstOrDefault()
                ?? throw new LabException($"{deb} has no boot/vmlinuz-*");
            // Debian 12 ships modules in /lib/modules, later releases in /usr/lib/modules.
            string modulesRoot = ((string[])["lib/modules", "usr/lib/modules"]).Select(p => Path.Combine(scratch, p)).FirstOrDefault(Directory.Exists)
                ?? throw new LabException($"{deb} has no lib/modules");
            var files = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (string file in Directory.EnumerateFiles(modulesRoot, "*.ko*", SearchOption.AllDirectories))
                files.TryAdd(Normalize(ModuleName(file)), file);
            string[] order = DependencyOrder(wanted, files);
            Directory.CreateDirectory(Path.Combine(folder, "modules"));
            File.Copy(vmlinuz, Path.Combine(folder, "vmlinuz"));
            string config = Directory.EnumerateFiles(Path.Combine(scratch, "boot"), "config-*").FirstOrDefault()
                ?? throw new LabException($"{deb} has no boot/config-*");
            File.Copy(config, Path.Combine(folder, "config"));
            if (File.ReadLines(config).Contains("CONFIG_PVH=y"))
                Vmlinux(vmlinuz, Path.Combine(folder, "vmlinux"), log);
            foreach (string name in order)
                Decompress(files[name], Path.Combine(folder, "modules", name + ".ko"));
            File.WriteAllLines(Path.Combine(folder, "modules.order"), order);
            return new GuestKernel(package, folder, order);
        }
        finally
        {
            if (Directory.Exists(scratch))
                Directory.Delete(scratch, recursive: true);
        }
    }

    /// <summary>
    /// The ELF kernel inside a bzImage: the payload the boot protocol's header locates (setup sectors
    /// at 0x1F1, payload offset and length at 0x248, Documentation/arch/x86/boot.rst), decompressed;
    /// its last 4 bytes are the decompressed size, which xz must not read as a second stream. A
    /// compression it does not know leaves no vmlinux (the bzImage boots, slower).
    /// </summary>
    private static void Vmlinux(string bzImage, string vmlinux, TextWriter? log)
    {
        byte[] image = File.ReadAllBytes(bzImage);
        int setupSectors = image[0x1F1] == 0 ? 4 : image[0x1F1];
        int offset = (setupSectors + 1) * 512 + BitConverter.ToInt32(image, 0x248);
        int length = BitConverter.ToInt32(image, 0x24C);
        if (offset < 0 || length <= 4 || offset + length > image.Length)
            return;
        ReadOnlySpan<byte> payload = image.AsSpan(offset, length);
        string compressed = vmlinux + ".payload";
        File.WriteAllBytes(compressed, payload.ToArray());
        try
        {
            string? command = payload.StartsWith((ReadOnlySpan<byte>)[0xFD, (byte)'7', (byte)'z', (byte)'X', (byte)'Z', 0]) ? "xz -dc --single-stream"
                : payload.StartsWith((ReadOnlySpan<byte>)[0x1F, 0x8B]) ? "gzip -dc"
                : null;
            if (command is null)
            {
                log?.WriteLine("[guest] the bzImage's payload is neither xz nor gzip: booting the bzImage");
                return;
            }
            (int exit, string said) = NetnsLab.Execute("sh", "-c", $"{command} < {Shell.Quote(compressed)} > {Shell.Quote(vmlinux)}");
            if (exit != 0 || !IsElf(vmlinux))
            {
                log?.WriteLine($"[guest] could not decompress the bzImage's payload ({said.Trim()}): booting the bzImage");
                File.Delete(vmlinux);
            }
        }
        finally
        {
            File.Delete(compressed);
        }
    }

    private static bool IsElf(string path)
    {
        Span<byte> magic = stackalloc byte[4];
        using FileStream file = File.OpenRead(path);
        return file.ReadAtLeast(magic, 4, throwOnEndOfStream: false) == 4 && magic.SequenceEqual((ReadOnlySpan<byte>)[0x7F, (byte)'E', (byte)'L', (byte)'F']);
    }

    /// <summary><paramref name="wanted"/> and what they depend on, each after its dependencies.</summary>
    internal static string[] DependencyOrder(IReadOnlyList<string> wanted, IReadOnlyDictionary<string, string> files)
    {
        var order = new List<string>();
        var visiting = new HashSet<string>(StringComparer.Ordinal);
        void Visit(string name, string neededBy)
        {
            if (order.Contains(name) || !visiting.Add(name))
                return; // done, or a cycle (modules have none; stop rather than loop)
            if (!files.TryGetValue(name, out string? file))
                throw new LabException($"module {name} ({neededBy}) is not in the kernel package");
            foreach (string dependency in Depends(file))
                Visit(dependency, $"needed by {name}");
            order.Add(name);
        }
        foreach (string name in wanted)
            Visit(Normalize(name), "wanted");
        return [.. order];
    }

    /// <summary>The modules a <c>.ko</c> file depends on: its <c>.modinfo</c> string <c>depends=a,b</c>.</summary>
    internal static string[] Depends(string file)
    {
        byte[] bytes = Contents(file);
        int at = bytes.AsSpan().IndexOf("\0depends="u8);
        if (at < 0)
            return [];
        int start = at + "\0depends=".Length;
        int end = bytes.AsSpan(start).IndexOf((byte)0);
        string list = Encoding.ASCII.GetString(bytes, start, end < 0 ? 0 : end);
        return [.. list.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(Normalize)];
    }

    /// <summary>A module's name as the kernel compares them: dashes are underscores.</summary>
    internal static string Normalize(string name) => name.Replace('-', '_');

    private static string ModuleName(string file)
    {
        string name = Path.GetFileName(file);
        return name[..name.IndexOf(".ko", StringComparison.Ordinal)];
    }

    /// <summary>A module's bytes, uncompressed: <c>.ko</c>, <c>.ko.gz</c>, <c>.ko.xz</c> or <c>.ko.zst</c> (the last two by xz and zstd).</summary>
    private static byte[] Contents(string file)
    {
        if (file.EndsWith(".ko", StringComparison.Ordinal))
            return File.ReadAllBytes(file);
        if (file.EndsWith(".gz", StringComparison.Ordinal))
        {
            using var gzip = new GZipStream(File.OpenRead(file), CompressionMode.Decompress);
            using var plain = new MemoryStream();
            gzip.CopyTo(plain);
            return plain.ToArray();
        }
        string tool = file.EndsWith(".xz", StringComparison.Ordinal) ? "xz" : file.EndsWith(".zst", StringComparison.Ordinal) ? "zstd" : throw new LabException($"{file}: unknown compression");
        string plainFile = Path.GetTempFileName();
        try
        {
            NetnsLab.Run("sh", "-c", $"{tool} -dc {Shell.Quote(file)} > {Shell.Quote(plainFile)}");
            return File.ReadAllBytes(plainFile);
        }
        finally
        {
            File.Delete(plainFile);
        }
    }

    private static void Decompress(string from, string to) => File.WriteAllBytes(to, Contents(from));

    [GeneratedRegex(@"Depends: (linux-image-[0-9][^\s]*)")]
    private static partial Regex DependsOnImage();
}
