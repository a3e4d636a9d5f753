using System.Runtime.InteropServices;

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
    /// <summary>BPF_LINK_CREATE (Linux 5.7; XDP links since 5.9).</summary>
    public const int LinkCreate = 28;

    /// <summary>BPF_MAP_TYPE_XSKMAP: an array of AF_XDP sockets, the target of bpf_redirect_map from XDP.</summary>
    public const uint MapTypeXskMap = 17;
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
