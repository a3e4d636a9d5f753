namespace Dataplane.Native;

/// <summary>How an XDP program runs on an interface: the mode flag of <c>/usr/include/linux/if_link.h</c>.</summary>
public enum XdpAttachMode : uint
{
    /// <summary>XDP_FLAGS_SKB_MODE: generic XDP, after the stack has built an skb; any interface, slower.</summary>
    Generic = 1 << 1,
    /// <summary>XDP_FLAGS_DRV_MODE: native XDP, in the driver's receive path before any skb (veth, ixgbe, i40e, mlx5, ...).</summary>
    Native = 1 << 2,
}

/// <summary>
/// The XDP program an AF_XDP driver needs, and nothing more: <c>return bpf_redirect_map(&amp;xsks_map,
/// ctx-&gt;rx_queue_index, XDP_PASS);</c>, which hands each frame to the socket in
/// <see cref="XskMap"/> for its receive queue, and to the kernel's stack when that queue has none.
/// Loaded with bpf(BPF_PROG_LOAD) directly from 6 hand-assembled instructions (see <see cref="Bpf"/>
/// for why not libbpf); attached with <see cref="Attach(int, XdpAttachMode)"/>.
/// </summary>
public sealed unsafe class XdpProgram : IDisposable
{
    /// <summary>The license string the program is loaded under; GPL-compatible, as helpers marked gpl_only require.</summary>
    public const string License = "GPL";

    // struct xdp_md (linux/bpf.h): data 0, data_end 4, data_meta 8, ingress_ifindex 12, rx_queue_index 16.
    private const short XdpMdRxQueueIndex = 16;
    private const int XdpPass = 2; // enum xdp_action
    private const int FunctionRedirectMap = 51; // BPF_FUNC_redirect_map
    private const byte PseudoMapFd = 1; // BPF_PSEUDO_MAP_FD: the ld_imm64's immediate is a map descriptor

    // Opcodes (linux/bpf_common.h, linux/bpf.h): class | size | mode, or class | op | source.
    private const byte LoadMemoryWord = 0x61; // BPF_LDX | BPF_MEM | BPF_W
    private const byte LoadImmediateDoubleWord = 0x18; // BPF_LD | BPF_DW | BPF_IMM (two slots)
    private const byte MoveImmediate64 = 0xb7; // BPF_ALU64 | BPF_MOV | BPF_K
    private const byte Call = 0x85; // BPF_JMP | BPF_CALL
    private const byte Exit = 0x95; // BPF_JMP | BPF_EXIT

    private XdpProgram(FileDescriptor descriptor) => Descriptor = descriptor;

    /// <summary>The program's descriptor; the program lives while it or an attachment holds it.</summary>
    public FileDescriptor Descriptor { get; }

    /// <summary>
    /// bpf(BPF_PROG_LOAD) of the redirect program against <paramref name="map"/>. If the verifier
    /// refuses it, the load is repeated with log level 1 and the verifier's log ends the exception's message.
    /// </summary>
    public static XdpProgram LoadRedirect(XskMap map)
    {
        ArgumentNullException.ThrowIfNull(map);
        return Load(RedirectInstructions(map.Descriptor.Value), $"redirect to xsks_map fd {map.Descriptor.Value}");
    }

    /// <summary>The load behind <see cref="LoadRedirect"/>, for any XDP program <paramref name="what"/> describes.</summary>
    internal static XdpProgram Load(ulong[] instructions, string what) =>
        new(Bpf.LoadProgram(Bpf.ProgramTypeXdp, Bpf.AttachTypeXdp, instructions, "xsk_redirect"u8, what));

    /// <summary><see cref="Attach(int, XdpAttachMode)"/> to the interface <paramref name="interfaceName"/> (if_nametoindex(3) first).</summary>
    public XdpAttachment Attach(string interfaceName, XdpAttachMode mode)
    {
        int index = LinkControl.IndexOf(interfaceName);
        return Attach(index, mode, $"{interfaceName} (ifindex {index})");
    }

    /// <summary>
    /// Runs the program on every frame <paramref name="interfaceIndex"/> receives, in <paramref name="mode"/>:
    /// through bpf(BPF_LINK_CREATE, BPF_XDP), so the program is detached when the returned
    /// attachment's link descriptor is closed (or the process dies); if the kernel refuses that
    /// command with EINVAL (before Linux 5.9, which has no XDP links), through rtnetlink
    /// RTM_SETLINK IFLA_XDP, which stays until <see cref="XdpAttachment.Dispose"/> detaches it.
    /// EBUSY: another program is attached. Native mode on a driver without XDP: EOPNOTSUPP.
    /// </summary>
    public XdpAttachment Attach(int interfaceIndex, XdpAttachMode mode) =>
        Attach(interfaceIndex, mode, $"ifindex {interfaceIndex}");

    private XdpAttachment Attach(int interfaceIndex, XdpAttachMode mode, string target)
    {
        var attribute = new BpfLinkCreateAttribute
        {
            ProgramDescriptor = (uint)Descriptor.Value,
            TargetInterfaceIndex = (uint)interfaceIndex,
            AttachType = Bpf.AttachTypeXdp,
            Flags = (uint)mode,
        };
        int fd = Bpf.Call(Bpf.LinkCreate, ref attribute);
        if (fd >= 0)
            return new XdpAttachment(new FileDescriptor(fd), interfaceIndex, mode);
        if (fd != -Errno.EINVAL)
            NativeException.Throw($"bpf(BPF_LINK_CREATE, BPF_XDP, {target}, {ModeName(mode)})", new Errno(-fd));
        return AttachThroughNetlink(interfaceIndex, mode, $"BPF_LINK_CREATE refused ({new Errno(-fd)}), then ", target);
    }

    /// <summary>The rtnetlink fallback of <see cref="Attach(int, XdpAttachMode)"/>; internal so tests can take it on a kernel with links.</summary>
    internal XdpAttachment AttachThroughNetlink(int interfaceIndex, XdpAttachMode mode, string why = "", string? target = null)
    {
        int result = RouteNetlink.SetXdp(interfaceIndex, Descriptor.Value, (uint)mode);
        if (result < 0)
            NativeException.Throw($"{why}RTM_SETLINK IFLA_XDP fd {Descriptor.Value} on {target ?? $"ifindex {interfaceIndex}"}, {ModeName(mode)}", new Errno(-result));
        return new XdpAttachment(link: null, interfaceIndex, mode);
    }

    /// <summary>Closes the program's descriptor; an attachment keeps the program running until it is disposed.</summary>
    public void Dispose() => Descriptor.Dispose();

    /// <summary>
    /// The program, as <c>struct bpf_insn</c>s (8 bytes each: opcode, dst | src &lt;&lt; 4, 16-bit offset,
    /// 32-bit immediate), for the XSKMAP <paramref name="mapDescriptor"/>:
    /// <code>
    /// r2 = *(u32 *)(r1 + 16)   ; ctx->rx_queue_index (r1 is the xdp_md context)
    /// r1 = map fd (ld_imm64)   ; BPF_PSEUDO_MAP_FD: the verifier swaps in the map's address
    /// r3 = XDP_PASS            ; what bpf_redirect_map returns when the slot is empty
    /// call bpf_redirect_map    ; r0 = XDP_REDIRECT or XDP_PASS
    /// exit                     ; return r0
    /// </code>
    /// </summary>
    internal static ulong[] RedirectInstructions(int mapDescriptor) =>
    [
        Bpf.Instruction(LoadMemoryWord, destination: 2, source: 1, offset: XdpMdRxQueueIndex, immediate: 0),
        Bpf.Instruction(LoadImmediateDoubleWord, destination: 1, source: PseudoMapFd, offset: 0, immediate: mapDescriptor),
        Bpf.Instruction(0, 0, 0, 0, immediate: 0), // the ld_imm64's second slot: the upper 32 bits, 0
        Bpf.Instruction(MoveImmediate64, destination: 3, source: 0, offset: 0, immediate: XdpPass),
        Bpf.Instruction(Call, 0, 0, 0, immediate: FunctionRedirectMap),
        Bpf.Instruction(Exit, 0, 0, 0, immediate: 0),
    ];

    internal static string ModeName(XdpAttachMode mode) => mode switch
    {
        XdpAttachMode.Native => "XDP_FLAGS_DRV_MODE",
        XdpAttachMode.Generic => "XDP_FLAGS_SKB_MODE",
        _ => $"flags 0x{(uint)mode:x}",
    };
}
