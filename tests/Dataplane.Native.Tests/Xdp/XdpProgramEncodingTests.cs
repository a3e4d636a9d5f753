namespace Dataplane.Native.Tests.Xdp;

/// <summary>The hand-assembled redirect program, instruction by instruction (linux/bpf.h's struct bpf_insn, little-endian).</summary>
public class XdpProgramEncodingTests
{
    [Fact]
    public void The_redirect_program_is_six_instructions_with_the_map_fd_in_the_ld_imm64()
    {
        ulong[] program = XdpProgram.RedirectInstructions(mapDescriptor: 7);
        Assert.Equal(
            [
                0x0000_0000_0010_1261ul, // ldxw r2, [r1 + 16]   (0x61, dst 2, src 1, off 16)
                0x0000_0007_0000_1118ul, // lddw r1, map fd 7    (0x18, dst 1, src BPF_PSEUDO_MAP_FD)
                0x0000_0000_0000_0000ul, //                      (its upper 32 bits)
                0x0000_0002_0000_03b7ul, // mov64 r3, XDP_PASS   (0xb7, dst 3, imm 2)
                0x0000_0033_0000_0085ul, // call 51              (bpf_redirect_map)
                0x0000_0000_0000_0095ul, // exit
            ],
            program);
    }
}
