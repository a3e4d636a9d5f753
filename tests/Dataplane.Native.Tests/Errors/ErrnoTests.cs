namespace Dataplane.Native.Tests.Errors;

public class ErrnoTests
{
    [Fact]
    public void Formats_as_name_number_and_strerror_text()
    {
        var errno = new Errno(Errno.ENOENT);
        Assert.Equal("ENOENT", errno.Name);
        Assert.Equal(2, errno.Number);
        Assert.Equal("ENOENT (2): No such file or directory", errno.ToString());
    }

    [Theory]
    [InlineData(1, "EPERM")]
    [InlineData(11, "EAGAIN")]
    [InlineData(19, "ENODEV")]
    [InlineData(22, "EINVAL")]
    [InlineData(25, "ENOTTY")]
    [InlineData(35, "EDEADLK")]
    [InlineData(95, "EOPNOTSUPP")]
    [InlineData(105, "ENOBUFS")]
    [InlineData(133, "EHWPOISON")]
    public void Names_are_the_asm_generic_ones(int number, string name) => Assert.Equal(name, new Errno(number).Name);

    [Fact]
    public void An_unknown_number_still_formats()
    {
        var errno = new Errno(4000);
        Assert.Null(Errno.NameOf(4000));
        Assert.Equal("errno 4000", errno.Name);
        Assert.StartsWith("errno 4000 (4000): ", errno.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void A_negative_data_path_result_is_the_errno_and_a_count_is_none()
    {
        Assert.Equal(new Errno(Errno.EAGAIN), Errno.FromResult(-Errno.EAGAIN));
        Assert.True(Errno.FromResult(60).IsNone);
        Assert.True(Errno.FromResult(0).IsNone);
    }

    [Fact]
    public void NativeException_names_the_operation_and_the_errno()
    {
        var e = new NativeException("ioctl(TUNSETIFF) on dpl0", new Errno(Errno.EPERM));
        Assert.Equal("ioctl(TUNSETIFF) on dpl0: EPERM (1): Operation not permitted", e.Message);
        Assert.Equal(Errno.EPERM, e.Errno.Number);
        Assert.Equal("ioctl(TUNSETIFF) on dpl0", e.Operation);
    }

    [SkippableFact]
    [Trait("Category", "Linux")]
    public void A_failed_call_throws_with_the_errno_the_kernel_set()
    {
        Support.Lab.RequireLinux();
        var e = Assert.Throws<NativeException>(() => FileDescriptor.Open("/nonexistent/dpn"));
        Assert.Equal(Errno.ENOENT, e.Errno.Number);
        Assert.Equal("open(/nonexistent/dpn): ENOENT (2): No such file or directory", e.Message);
    }
}
