namespace Dataplane.Native.Tests.Vfio;

/// <summary>
/// What can be checked of the VFIO layer on a host without VFIO: a missing container device is a
/// NativeException naming it, and the register accessors read and write what they are asked at the
/// width asked, and refuse an offset outside the region. The device path runs in a QEMU guest.
/// </summary>
public class VfioTests
{
    [Fact]
    public void A_missing_container_device_is_a_native_exception_naming_it()
    {
        var e = Assert.Throws<NativeException>(() => VfioContainer.Open("/nonexistent/vfio/vfio"));
        Assert.Equal(Errno.ENOENT, e.Errno.Number);
        Assert.Contains("/nonexistent/vfio/vfio", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Mmio_accesses_are_little_endian_at_their_width()
    {
        Span<byte> memory = stackalloc byte[16];
        Mmio.Write32(memory, 4, 0x11223344);
        Assert.Equal(0x44, memory[4]);
        Assert.Equal(0x11, memory[7]);
        Assert.Equal(0x3344, Mmio.Read16(memory, 4));
        Mmio.Write64(memory, 8, 0x0102030405060708);
        Assert.Equal(0x0102030405060708ul, Mmio.Read64(memory, 8));
        Mmio.Write16(memory, 0, 0xbeef);
        Mmio.Write8(memory, 2, 0x7f);
        Assert.Equal(0x007fbeefu, Mmio.Read32(memory, 0) & 0x00ffffff);
        Assert.Equal(0x7f, Mmio.Read8(memory, 2));
    }

    [Fact]
    public void Mmio_refuses_an_access_reaching_past_the_region()
    {
        byte[] memory = new byte[8];
        Assert.Throws<ArgumentOutOfRangeException>(() => Mmio.Read32(memory, 6));
        Assert.Throws<ArgumentOutOfRangeException>(() => Mmio.Write64(memory, 1, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => Mmio.Read16(memory, -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => Mmio.Read32(memory.AsSpan(0, 2), 0));
        Assert.Equal(0ul, Mmio.Read64(memory, 0));
    }

    [Fact]
    public void Device_regions_are_read_and_written_at_their_offset_and_a_short_read_is_an_error()
    {
        // pread/pwrite work the same on a plain file: a stand-in for a device descriptor's region.
        string path = Path.GetTempFileName();
        try
        {
            File.WriteAllBytes(path, new byte[64]);
            using var device = new VfioDevice(FileDescriptor.Open(path), "0000:00:03.0");
            device.Write([0xf4, 0x1a, 0x41, 0x10], 32);
            Span<byte> ids = stackalloc byte[4];
            device.Read(ids, 32);
            Assert.Equal(new byte[] { 0xf4, 0x1a, 0x41, 0x10 }, ids.ToArray());
            Assert.Equal(0xf4, File.ReadAllBytes(path)[32]);

            var e = Assert.Throws<NativeException>(() => device.Read(new byte[8], 60));
            Assert.Equal(Errno.EIO, e.Errno.Number);
            Assert.Contains("pread(8 bytes at 0x3c) on 0000:00:03.0", e.Message, StringComparison.Ordinal);
            var region = new VfioRegionInfo { Index = 7, Flags = VfioConstants.RegionFlagRead | VfioConstants.RegionFlagWrite, Size = 256 };
            Assert.Contains("region 7 cannot be mapped", Assert.Throws<NativeException>(() => device.MapRegion(region)).Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
