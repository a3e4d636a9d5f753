using System.Runtime.InteropServices;
using System.Text;

namespace Dataplane.Native;

/// <summary>
/// bpf(2), called directly through syscall(SYS_bpf = 321 on x86-64), and the parts of
/// <c>union bpf_attr</c> (<c>/usr/include/linux/bpf.h</c>) the XDP set-up uses. Each command gets its
/// own struct holding only its fields: the kernel copies <c>min(size, sizeof(union bpf_attr))</c>
/// bytes and zeroes the rest (kernel/bpf/syscall.c, __sys_bpf), so a shorter attribute is a
/// complete one with every later field 0.
/// </summary>
/// <remarks>
/// No libbpf: it would be the project's first native dependency, for a program of 6 instructions,
/// one map and three commands; everything it would do for us here fits in this folder.
/// </remarks>
internal static unsafe class Bpf
{
    /// <summary>SYS_bpf (<c>asm/unistd_64.h</c>).</summary>
    public const int SystemCallNumber = 321;

    /// <summary>BPF_MAP_CREATE.</summary>
    public const int MapCreate = 0;
    /// <summary>BPF_MAP_UPDATE_ELEM.</summary>
    public const int MapUpdateElement = 2;
    /// <summary>BPF_MAP_DELETE_ELEM.</summary>
    public const int MapDeleteElement = 3;
    /// <summary>BPF_PROG_LOAD.</summary>
    public const int ProgramLoad = 5;
    /// <summary>BPF_PROG_TEST_RUN: runs a loaded program once on a given packet (Linux 4.12).</summary>
    public const int ProgramTestRun = 10;

    /// <summary>BPF_LINK_CREATE (Linux 5.7; XDP links since 5.9).</summary>
    public const int LinkCreate = 28;

    /// <summary>BPF_MAP_TYPE_XSKMAP: an array of AF_XDP sockets, the target of bpf_redirect_map from XDP.</summary>
    public const uint MapTypeXskMap = 17;
    /// <summary>BPF_MAP_TYPE_ARRAY: u32 keys 0 to max_entries - 1, fixed-size values.</summary>
    public const uint MapTypeArray = 2;

    /// <summary>BPF_PROG_TYPE_SOCKET_FILTER: the type of socket filters, tun steering and AF_PACKET fanout programs.</summary>
    public const uint ProgramTypeSocketFilter = 1;

    /// <summary>BPF_PROG_TYPE_XDP.</summary>
    public const uint ProgramTypeXdp = 6;
    /// <summary>BPF_XDP: the attach type of an XDP link (<c>enum bpf_attach_type</c>).</summary>
    public const uint AttachTypeXdp = 37;

    /// <summary>bpf(<paramref name="command"/>, <paramref name="attribute"/>): the result (often a new descriptor) or <c>-errno</c>.</summary>
    public static int Call<T>(int command, ref T attribute) where T : unmanaged
    {
        fixed (T* p = &attribute)
            return (int)SystemCall.Result(Libc.syscall(SystemCallNumber, command, p, sizeof(T)));
    }

    /// <summary>One <c>struct bpf_insn</c> (8 bytes: opcode, dst | src &lt;&lt; 4, 16-bit offset, 32-bit immediate).</summary>
    public static ulong Instruction(byte opcode, byte destination, byte source, short offset, int immediate) =>
        opcode | (ulong)(byte)(destination | source << 4) << 8 | (ulong)(ushort)offset << 16 | (ulong)(uint)immediate << 32;

    /// <summary>
    /// bpf(BPF_PROG_LOAD) of <paramref name="instructions"/> as a program of <paramref name="type"/>
    /// named <paramref name="name"/> (at most 15 characters), under the GPL. If the verifier refuses
    /// it, the load is repeated with log level 1 and the verifier's log ends the exception's
    /// message, which names the program as <paramref name="what"/>.
    /// </summary>
    public static FileDescriptor LoadProgram(uint type, uint expectedAttachType, ulong[] instructions, ReadOnlySpan<byte> name, string what)
    {
        int fd = LoadProgram(type, expectedAttachType, instructions, name, log: null);
        if (fd >= 0)
            return new FileDescriptor(fd);
        var log = new byte[1 << 16];
        int again = LoadProgram(type, expectedAttachType, instructions, name, log);
        if (again >= 0) // passed the second time: keep it, the first failure was transient (EAGAIN)
            return new FileDescriptor(again);
        int end = Array.IndexOf(log, (byte)0);
        string text = Encoding.UTF8.GetString(log, 0, end < 0 ? log.Length : end).TrimEnd();
        throw new NativeException($"bpf(BPF_PROG_LOAD, {ProgramTypeName(type)}, {what})",
            new Errno(-fd), text.Length == 0 ? "the verifier left no log" : "verifier log:\n" + text);
    }

    private static int LoadProgram(uint type, uint expectedAttachType, ulong[] instructions, ReadOnlySpan<byte> name, byte[]? log)
    {
        fixed (ulong* insns = instructions)
        fixed (byte* license = "GPL\0"u8)
        fixed (byte* logBuffer = log)
        {
            var attribute = new BpfProgramLoadAttribute
            {
                ProgramType = type,
                InstructionCount = (uint)instructions.Length,
                Instructions = (ulong)insns,
                License = (ulong)license,
                LogLevel = log is null ? 0u : 1u,
                LogSize = log is null ? 0u : (uint)log.Length,
                LogBuffer = (ulong)logBuffer,
                ExpectedAttachType = expectedAttachType,
            };
            name[..Math.Min(name.Length, 15)].CopyTo(new Span<byte>(attribute.ProgramName, 15));
            return Call(ProgramLoad, ref attribute);
        }
    }

    private static string ProgramTypeName(uint type) => type switch
    {
        ProgramTypeSocketFilter => "BPF_PROG_TYPE_SOCKET_FILTER",
        ProgramTypeXdp => "BPF_PROG_TYPE_XDP",
        _ => $"program type {type}",
    };
}

/// <summary>The BPF_MAP_CREATE part of <c>union bpf_attr</c>: 48 bytes, through <c>map_ifindex</c>.</summary>
[StructLayout(LayoutKind.Explicit, Size = 48)]
internal unsafe struct BpfMapCreateAttribute
{
    /// <summary><c>map_type</c>.</summary>
    [FieldOffset(0)] public uint MapType;
    /// <summary><c>key_size</c> in bytes.</summary>
    [FieldOffset(4)] public uint KeySize;
    /// <summary><c>value_size</c> in bytes.</summary>
    [FieldOffset(8)] public uint ValueSize;
    /// <summary><c>max_entries</c>.</summary>
    [FieldOffset(12)] public uint MaxEntries;
    /// <summary><c>map_flags</c>.</summary>
    [FieldOffset(16)] public uint MapFlags;
    /// <summary><c>map_name</c>: up to 15 characters of [A-Za-z0-9_.] and a NUL, shown by bpftool.</summary>
    [FieldOffset(28)] public fixed byte MapName[16];
    /// <summary><c>map_ifindex</c>: 0, not offloaded.</summary>
    [FieldOffset(44)] public uint MapInterfaceIndex;
}

/// <summary>The BPF_MAP_*_ELEM part of <c>union bpf_attr</c>: 32 bytes.</summary>
[StructLayout(LayoutKind.Explicit, Size = 32)]
internal struct BpfMapElementAttribute
{
    /// <summary><c>map_fd</c>.</summary>
    [FieldOffset(0)] public uint MapDescriptor;
    /// <summary><c>key</c>: a pointer to the key.</summary>
    [FieldOffset(8)] public ulong Key;
    /// <summary><c>value</c>: a pointer to the value.</summary>
    [FieldOffset(16)] public ulong Value;
    /// <summary><c>flags</c>: BPF_ANY (0), BPF_NOEXIST (1), BPF_EXIST (2).</summary>
    [FieldOffset(24)] public ulong Flags;
}

/// <summary>The BPF_PROG_LOAD part of <c>union bpf_attr</c>: 72 bytes, through <c>expected_attach_type</c>.</summary>
[StructLayout(LayoutKind.Explicit, Size = 72)]
internal unsafe struct BpfProgramLoadAttribute
{
    /// <summary><c>prog_type</c>.</summary>
    [FieldOffset(0)] public uint ProgramType;
    /// <summary><c>insn_cnt</c>: the number of 8-byte instructions.</summary>
    [FieldOffset(4)] public uint InstructionCount;
    /// <summary><c>insns</c>: a pointer to them.</summary>
    [FieldOffset(8)] public ulong Instructions;
    /// <summary><c>license</c>: a pointer to a NUL-terminated license string.</summary>
    [FieldOffset(16)] public ulong License;
    /// <summary><c>log_level</c>: 0 for no verifier log, 1 for the log of a failed load.</summary>
    [FieldOffset(24)] public uint LogLevel;
    /// <summary><c>log_size</c>: the log buffer's size.</summary>
    [FieldOffset(28)] public uint LogSize;
    /// <summary><c>log_buf</c>: a pointer to the log buffer.</summary>
    [FieldOffset(32)] public ulong LogBuffer;
    /// <summary><c>prog_name</c>: up to 15 characters and a NUL.</summary>
    [FieldOffset(48)] public fixed byte ProgramName[16];
    /// <summary><c>expected_attach_type</c>: BPF_XDP, as libbpf sets for an "xdp" section.</summary>
    [FieldOffset(68)] public uint ExpectedAttachType;
}

/// <summary>The BPF_LINK_CREATE part of <c>union bpf_attr</c> for an XDP link: 16 bytes.</summary>
[StructLayout(LayoutKind.Explicit, Size = 16)]
internal struct BpfLinkCreateAttribute
{
    /// <summary><c>link_create.prog_fd</c>.</summary>
    [FieldOffset(0)] public uint ProgramDescriptor;
    /// <summary><c>link_create.target_ifindex</c>: the interface.</summary>
    [FieldOffset(4)] public uint TargetInterfaceIndex;
    /// <summary><c>link_create.attach_type</c>: BPF_XDP.</summary>
    [FieldOffset(8)] public uint AttachType;
    /// <summary><c>link_create.flags</c>: XDP_FLAGS_SKB_MODE or XDP_FLAGS_DRV_MODE.</summary>
    [FieldOffset(12)] public uint Flags;
}

/// <summary>The BPF_PROG_TEST_RUN part of <c>union bpf_attr</c>: 40 bytes, through <c>duration</c>.</summary>
[StructLayout(LayoutKind.Explicit, Size = 40)]
internal struct BpfTestRunAttribute
{
    /// <summary><c>test.prog_fd</c>.</summary>
    [FieldOffset(0)] public uint ProgramDescriptor;
    /// <summary><c>test.retval</c>: what the program returned (out).</summary>
    [FieldOffset(4)] public uint ReturnValue;
    /// <summary><c>test.data_size_in</c>: bytes of the packet.</summary>
    [FieldOffset(8)] public uint DataSizeIn;
    /// <summary><c>test.data_size_out</c>: bytes of <c>data_out</c> (0: not wanted).</summary>
    [FieldOffset(12)] public uint DataSizeOut;
    /// <summary><c>test.data_in</c>: a pointer to the packet, from its Ethernet header.</summary>
    [FieldOffset(16)] public ulong DataIn;
    /// <summary><c>test.data_out</c>: a pointer to a buffer for the packet after the run, or 0.</summary>
    [FieldOffset(24)] public ulong DataOut;
    /// <summary><c>test.repeat</c>: runs (0 means 1).</summary>
    [FieldOffset(32)] public uint Repeat;
    /// <summary><c>test.duration</c>: nanoseconds per run (out).</summary>
    [FieldOffset(36)] public uint Duration;
}
