using System.Globalization;
using System.Text;

namespace Dataplane.Labs.Guest;

/// <summary>
/// A cpio archive in the "newc" format, the one the Linux kernel unpacks as an initramfs
/// (Documentation/driver-api/early-userspace/buffer-format.rst): per entry a 110-byte ASCII header
/// of thirteen 8-digit hex fields, the NUL-terminated name and the data, each padded to 4 bytes;
/// a <c>TRAILER!!!</c> entry ends it. Written here rather than by cpio(1), which Debian does not
/// install by default. Entries are written in the order given: a directory before what is in it.
/// </summary>
public sealed class CpioArchive(Stream output)
{
    private const int S_IFDIR = 0x4000, S_IFREG = 0x8000, S_IFLNK = 0xA000, S_IFCHR = 0x2000;
    private int _inode = 1;

    /// <summary>A directory (mode 0755).</summary>
    public void Directory(string path) => Entry(path, S_IFDIR | 0x1ED, [], 0, 0);

    /// <summary>A regular file with <paramref name="data"/>; <paramref name="executable"/>: mode 0755, else 0644.</summary>
    public void File(string path, ReadOnlySpan<byte> data, bool executable = false) =>
        Entry(path, S_IFREG | (executable ? 0x1ED : 0x1A4), data, 0, 0);

    /// <summary>A symbolic link to <paramref name="target"/>.</summary>
    public void Symlink(string path, string target) => Entry(path, S_IFLNK | 0x1FF, Encoding.UTF8.GetBytes(target), 0, 0);

    /// <summary>A character device node (mode 0600): the kernel opens /dev/console for init before any devtmpfs is mounted.</summary>
    public void CharDevice(string path, int major, int minor) => Entry(path, S_IFCHR | 0x180, [], major, minor);

    /// <summary>The trailer; the archive is complete.</summary>
    public void Finish() => Entry("TRAILER!!!", 0, [], 0, 0, inode: 0);

    private void Entry(string path, int mode, ReadOnlySpan<byte> data, int rdevMajor, int rdevMinor, int? inode = null)
    {
        byte[] name = Encoding.UTF8.GetBytes(path.TrimStart('/') + "\0");
        var header = new StringBuilder("070701", 110);
        foreach (int field in (int[])[inode ?? _inode++, mode, 0, 0, 1, 0, data.Length, 0, 0, rdevMajor, rdevMinor, name.Length, 0])
            header.Append(field.ToString("x8", CultureInfo.InvariantCulture));
        output.Write(Encoding.ASCII.GetBytes(header.ToString()));
        output.Write(name);
        Pad(110 + name.Length);
        output.Write(data);
        Pad(data.Length);
    }

    private void Pad(int written)
    {
        Span<byte> zeros = stackalloc byte[3];
        zeros.Clear();
        output.Write(zeros[..((4 - (written & 3)) & 3)]);
    }
}
