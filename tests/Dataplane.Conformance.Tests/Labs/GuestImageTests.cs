using System.Text;
using Dataplane.Labs;
using Dataplane.Labs.Guest;

namespace Dataplane.Conformance.Tests.Labs;

/// <summary>The parts of the test guest's image that need no QEMU: the initramfs's cpio format and the module order.</summary>
public sealed class GuestImageTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("dataplane-guest-image-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void A_cpio_entry_is_a_newc_header_of_thirteen_hex_fields_then_the_name_and_data_each_padded_to_four_bytes()
    {
        var bytes = new MemoryStream();
        var cpio = new CpioArchive(bytes);
        cpio.File("/a", "hi"u8);
        cpio.Finish();
        string text = Encoding.ASCII.GetString(bytes.ToArray());
        // ino 1, mode 0100644, uid, gid, nlink 1, mtime, size 2, dev 0:0, rdev 0:0, name "a\0" (2), check.
        const string header = "070701" + "00000001" + "000081a4" + "00000000" + "00000000" + "00000001" + "00000000" + "00000002"
            + "00000000" + "00000000" + "00000000" + "00000000" + "00000002" + "00000000";
        Assert.Equal(header + "a\0" + "hi\0\0", text[..116]);
        Assert.StartsWith("070701", text[116..], StringComparison.Ordinal);
        Assert.Contains("TRAILER!!!\0", text[116..], StringComparison.Ordinal);
        Assert.Equal(0, bytes.Length % 4);
    }

    [SkippableFact]
    public void Busybox_cpio_reads_back_every_kind_of_entry()
    {
        Skip.If(NetnsLab.Missing("busybox") is not null, "busybox is not installed: ./build.sh deps");
        string archive = Path.Combine(_folder, "a.cpio");
        using (FileStream file = File.Create(archive))
        {
            var cpio = new CpioArchive(file);
            cpio.Directory("/etc");
            cpio.File("/etc/odd-length", "12345"u8, executable: true);
            cpio.Symlink("/sh", "/bin/busybox");
            cpio.CharDevice("/console", 5, 1);
            cpio.Finish();
        }
        (int exit, string listing) = NetnsLab.Execute("sh", "-c", $"busybox cpio -t -v < {archive}");
        Assert.True(exit == 0, listing);
        Assert.Matches(@"(?m)^drwxr-xr-x .* etc$", listing);
        Assert.Matches(@"(?m)^-rwxr-xr-x .* 5 .* etc/odd-length$", listing);
        Assert.Matches(@"(?m)^lrwxrwxrwx .* sh -> /bin/busybox$", listing);
        Assert.Matches(@"(?m)^crw------- .* console$", listing);
        // busybox lists no device numbers: 5:1 is read from the header, rdev then the name's length (8).
        Assert.Contains("00000005" + "00000001" + "00000008" + "00000000" + "console\0", File.ReadAllText(archive), StringComparison.Ordinal);
    }

    [Fact]
    public void Modules_come_after_what_their_modinfo_says_they_depend_on_with_dashes_read_as_underscores()
    {
        var files = new Dictionary<string, string>
        {
            ["vfio_pci"] = Module("vfio-pci.ko", "vfio-pci-core,vfio"),
            ["vfio_pci_core"] = Module("vfio-pci-core.ko", "vfio,irqbypass"),
            ["vfio"] = Module("vfio.ko", ""),
            ["irqbypass"] = Module("irqbypass.ko", ""),
            ["e1000e"] = Module("e1000e.ko", ""),
        };
        Assert.Equal(["vfio", "irqbypass", "vfio_pci_core", "vfio_pci", "e1000e"], GuestKernel.DependencyOrder(["vfio-pci", "e1000e", "vfio"], files));
    }

    [Fact]
    public void A_module_missing_from_the_package_is_named_with_what_needs_it()
    {
        var files = new Dictionary<string, string> { ["virtio_net"] = Module("virtio_net.ko", "net_failover") };
        LabException e = Assert.Throws<LabException>(() => GuestKernel.DependencyOrder(["virtio_net"], files));
        Assert.Equal("module net_failover (needed by virtio_net) is not in the kernel package", e.Message);
    }

    /// <summary>A stand-in .ko file: some bytes, then the .modinfo strings depmod reads.</summary>
    private string Module(string name, string depends)
    {
        string path = Path.Combine(_folder, name);
        File.WriteAllBytes(path, [0x7F, .. "ELF"u8, 0, .. Encoding.ASCII.GetBytes($"license=GPL\0depends={depends}\0retpoline=Y\0")]);
        return path;
    }
}
