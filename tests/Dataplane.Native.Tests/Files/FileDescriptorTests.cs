namespace Dataplane.Native.Tests.Files;

[Trait("Category", "Linux")]
public class FileDescriptorTests
{
    [SkippableFact]
    public void Write_then_read_through_a_pipe_returns_the_byte_counts()
    {
        Support.Lab.RequireLinux();
        var (r, w) = FileDescriptor.CreatePipe();
        using (r)
        using (w)
        {
            Assert.Equal(5, w.Write("hello"u8));
            var buffer = new byte[16];
            Assert.Equal(5, r.Read(buffer));
            Assert.Equal("hello"u8.ToArray(), buffer[..5]);
        }
    }

    [SkippableFact]
    public void Gather_write_is_one_write_and_scatter_read_fills_the_first_buffer_first()
    {
        Support.Lab.RequireLinux();
        var (r, w) = FileDescriptor.CreatePipe();
        using (r)
        using (w)
        {
            Assert.Equal(7, w.GatherWrite("head"u8, "pay"u8));
            var head = new byte[4];
            var rest = new byte[8];
            Assert.Equal(7, r.ScatterRead(head, rest));
            Assert.Equal("head"u8.ToArray(), head);
            Assert.Equal("pay"u8.ToArray(), rest[..3]);
        }
    }

    [SkippableFact]
    public unsafe void Scatter_and_gather_take_a_list_of_io_vectors()
    {
        Support.Lab.RequireLinux();
        var (r, w) = FileDescriptor.CreatePipe();
        using (r)
        using (w)
        {
            byte* a = stackalloc byte[] { 1, 2 };
            byte* b = stackalloc byte[] { 3, 4, 5 };
            Assert.Equal(5, w.GatherWrite([new IoVec(a, 2), new IoVec(b, 3)]));
            byte* into = stackalloc byte[5];
            Assert.Equal(5, r.ScatterRead([new IoVec(into, 1), new IoVec(into + 1, 4)]));
            Assert.Equal(new byte[] { 1, 2, 3, 4, 5 }, new ReadOnlySpan<byte>(into, 5).ToArray());
        }
    }

    [SkippableFact]
    public void A_non_blocking_read_of_nothing_returns_minus_EAGAIN_instead_of_throwing()
    {
        Support.Lab.RequireLinux();
        var (r, w) = FileDescriptor.CreatePipe(nonBlocking: true);
        using (r)
        using (w)
        {
            Assert.True(r.NonBlocking);
            Assert.Equal(-Errno.EAGAIN, r.Read(new byte[4]));
        }
    }

    [SkippableFact]
    public void NonBlocking_sets_and_clears_O_NONBLOCK()
    {
        Support.Lab.RequireLinux();
        var (r, w) = FileDescriptor.CreatePipe();
        using (r)
        using (w)
        {
            Assert.False(r.NonBlocking);
            r.NonBlocking = true;
            Assert.True(r.NonBlocking);
            Assert.Equal(-Errno.EAGAIN, r.Read(new byte[1]));
            r.NonBlocking = false;
            Assert.False(r.NonBlocking);
        }
    }

    [SkippableFact]
    public void Poll_times_out_with_0_and_reports_In_once_there_is_data()
    {
        Support.Lab.RequireLinux();
        var (r, w) = FileDescriptor.CreatePipe();
        using (r)
        using (w)
        {
            Assert.Equal(0, r.Poll(PollEvents.In, 0));
            w.Write("x"u8);
            Assert.Equal((int)PollEvents.In, r.Poll(PollEvents.In, 1000));
        }
    }

    [SkippableFact]
    public unsafe void An_ioctl_the_descriptor_does_not_know_fails_with_ENOTTY()
    {
        Support.Lab.RequireLinux();
        var (r, w) = FileDescriptor.CreatePipe();
        using (r)
        using (w)
        {
            uint features;
            Assert.Equal(-Errno.ENOTTY, r.TryIoControl(Tun.TUNGETFEATURES, &features));
            var e = Assert.Throws<NativeException>(() => r.IoControl(Tun.TUNGETFEATURES, null, "ioctl(TUNGETFEATURES) on a pipe"));
            Assert.Equal(Errno.ENOTTY, e.Errno.Number);
        }
    }

    [SkippableFact]
    public void Dispose_closes_the_descriptor()
    {
        Support.Lab.RequireLinux();
        var (r, w) = FileDescriptor.CreatePipe();
        r.Dispose();
        Assert.True(r.IsClosed);
        // The read end is gone: writing to the pipe now fails with EPIPE (SIGPIPE is ignored by .NET).
        Assert.Equal(-32, w.Write("x"u8));
        w.Dispose();
    }
}
