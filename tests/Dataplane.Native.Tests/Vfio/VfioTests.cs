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
}
