using Dataplane.Native.Tests.Support;

namespace Dataplane.Native.Tests.Xdp;

/// <summary>BPF_PROG_LOAD through bpf(2): what the exception carries when the verifier says no.</summary>
[Trait("Category", "Linux")]
public class XdpProgramLoadTests
{
    [SkippableFact]
    public void A_refused_program_throws_with_the_verifier_log()
    {
        Lab.RequireRoot();
        ulong[] readsAnUnsetRegister =
        [
            0x0000_0000_0000_20bful, // mov64 r0, r2 (r2 was never written)
            0x0000_0000_0000_0095ul, // exit
        ];
        var e = Assert.Throws<NativeException>(() => XdpProgram.Load(readsAnUnsetRegister, "r0 = r2"));
        Assert.Equal(Errno.EACCES, e.Errno.Number);
        Assert.Contains("BPF_PROG_LOAD", e.Message, StringComparison.Ordinal);
        Assert.Contains("verifier log:", e.Message, StringComparison.Ordinal);
        Assert.Contains("R2 !read_ok", e.Message, StringComparison.Ordinal);
    }
}
