namespace Dataplane.Native;

/// <summary>
/// A BPF_PROG_TYPE_SOCKET_FILTER program that returns the queue of a frame's flow as the dataplane
/// places flows: the symmetric Toeplitz hash of its addresses (and ports, for TCP and UDP that is not
/// a fragment), whose low bits index a table of queues. A multi-queue tap runs it to pick the queue of
/// each frame the host sends (<see cref="Tun.SetSteeringProgram"/>), an AF_PACKET fanout group to
/// pick the socket of each frame received (<see cref="PacketSocket.SetFanoutProgram"/>): each flow
/// then arrives on the queue its owner drains, both ways, and no frame is handed between workers.
/// Made with bpf(2) directly, as <see cref="XdpProgram"/> is.
/// </summary>
/// <remarks>
/// <para>
/// The hash: a Toeplitz key with a 16-bit period (0x6d5a repeated) makes each input bit's 32-bit key
/// window depend only on its position within a 16-bit word, so the hash is that of the XOR of the
/// tuple's 16-bit words, which is also what makes it symmetric. The program folds the tuple into 16
/// bits with 32-bit loads (for IPv4: source ^ destination ^ ports, then the halves) and XORs in the
/// window of each bit set: <c>windows[j]</c> for bit 15 - j. The caller derives the windows from the
/// engine's own hash, so the two cannot disagree on the key.
/// </para>
/// <para>
/// The tuple is the engine's (FlowKey): IPv4 or IPv6 addresses, with the ports for TCP and UDP unless
/// the packet is a fragment; up to <see cref="MaxExtensionHeaders"/> IPv6 hop-by-hop, routing and
/// destination options headers are walked to find them, as the engine walks them. Frames the two see
/// differently (a truncated or malformed header, which the engine hashes to 0 and the program may
/// not) may land on a queue whose worker hands them to their owner: the engine always checks the
/// owner, so steering spares the hand-off, it never decides who owns a flow. A VLAN-tagged frame
/// goes where the engine puts it, with the hash 0, whether the kernel holds the tag beside it
/// (vlan_present) or in it (the protocol is then not IP). Packet bytes are read with LD_ABS and LD_IND from the network header
/// (SKF_NET_OFF), which the kernel has set both where tun picks a queue (on transmit, the data starts at
/// the Ethernet header) and where a fanout group picks a socket (on receive, at the IP header). A read
/// past the end ends the program with 0: queue 0.
/// </para>
/// </remarks>
public sealed unsafe class FlowSteeringProgram : IDisposable
{
    /// <summary>Windows of a 16-bit fold: one per bit.</summary>
    public const int WindowCount = 16;

    /// <summary>IPv6 extension headers walked to find the transport, as the engine walks them (FlowKey).</summary>
    public const int MaxExtensionHeaders = 8;

    // struct __sk_buff (linux/bpf.h): len 0, pkt_type 4, mark 8, queue_mapping 12, protocol 16 (network
    // order), vlan_present 20.
    private const short SkBuffProtocol = 16;
    private const short SkBuffVlanPresent = 20;
    private const int SkfNetOffset = -0x100000; // SKF_NET_OFF (linux/filter.h): offsets from the network header
    private const int FunctionMapLookupElement = 1; // BPF_FUNC_map_lookup_elem
    private const byte PseudoMapFd = 1; // BPF_PSEUDO_MAP_FD

    // Opcodes (linux/bpf_common.h, linux/bpf.h): class | size | mode, or class | op | source.
    private const byte Move64Register = 0xbf; // BPF_ALU64 | BPF_MOV | BPF_X
    private const byte Move64Immediate = 0xb7; // BPF_ALU64 | BPF_MOV | BPF_K
    private const byte And64Immediate = 0x57; // BPF_ALU64 | BPF_AND | BPF_K
    private const byte Add64Immediate = 0x07; // BPF_ALU64 | BPF_ADD | BPF_K
    private const byte LeftShift64Immediate = 0x67; // BPF_ALU64 | BPF_LSH | BPF_K
    private const byte RightShift64Immediate = 0x77; // BPF_ALU64 | BPF_RSH | BPF_K
    private const byte Xor64Register = 0xaf; // BPF_ALU64 | BPF_XOR | BPF_X
    private const byte Add64Register = 0x0f; // BPF_ALU64 | BPF_ADD | BPF_X
    private const byte Xor32Immediate = 0xa4; // BPF_ALU | BPF_XOR | BPF_K: the low 32 bits, the upper zeroed
    private const byte And32Immediate = 0x54; // BPF_ALU | BPF_AND | BPF_K
    private const byte LoadAbsoluteByte = 0x30; // BPF_LD | BPF_ABS | BPF_B: r0 = byte at imm (r6 is the skb)
    private const byte LoadAbsoluteHalf = 0x28; // BPF_LD | BPF_ABS | BPF_H: r0 = ntohs(half at imm)
    private const byte LoadAbsoluteWord = 0x20; // BPF_LD | BPF_ABS | BPF_W: r0 = ntohl(word at imm)
    private const byte LoadIndirectWord = 0x40; // BPF_LD | BPF_IND | BPF_W: r0 = ntohl(word at src + imm)
    private const byte LoadIndirectByte = 0x50; // BPF_LD | BPF_IND | BPF_B: r0 = byte at src + imm
    private const byte LoadMemoryWord = 0x61; // BPF_LDX | BPF_MEM | BPF_W
    private const byte StoreMemoryWord = 0x63; // BPF_STX | BPF_MEM | BPF_W
    private const byte LoadImmediateDoubleWord = 0x18; // BPF_LD | BPF_DW | BPF_IMM (two slots)
    private const byte JumpAlways = 0x05; // BPF_JMP | BPF_JA
    private const byte JumpIfEqual = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
    private const byte JumpIfNotEqual = 0x55; // BPF_JMP | BPF_JNE | BPF_K
    private const byte JumpIfAnySet = 0x45; // BPF_JMP | BPF_JSET | BPF_K
    private const byte Call = 0x85; // BPF_JMP | BPF_CALL
    private const byte Exit = 0x95; // BPF_JMP | BPF_EXIT

    private FlowSteeringProgram(FileDescriptor descriptor, int entries)
    {
        Descriptor = descriptor;
        Entries = entries;
    }

    /// <summary>The program's descriptor; a tap or fanout group it is set on keeps its own reference.</summary>
    public FileDescriptor Descriptor { get; }

    /// <summary>Entries of the queue table the hash's low bits index.</summary>
    public int Entries { get; }

    /// <summary>
    /// Loads the program for a hash whose 16-bit fold's bit 15 - j brings in <paramref name="windows"/>[j],
    /// and a table sending hash &amp; (entries - 1) to queue <paramref name="queueOfEntry"/>[hash &amp; (entries - 1)]
    /// (a power of two of entries). The table goes in a BPF_MAP_TYPE_ARRAY that the program holds.
    /// Needs CAP_BPF or CAP_SYS_ADMIN where unprivileged BPF is off (Debian's default).
    /// </summary>
    public static FlowSteeringProgram Load(ReadOnlySpan<uint> windows, ReadOnlySpan<ushort> queueOfEntry)
    {
        if (windows.Length != WindowCount)
            throw new ArgumentException($"{WindowCount} windows, one per bit of the fold, not {windows.Length}", nameof(windows));
        if (queueOfEntry.Length == 0 || (queueOfEntry.Length & (queueOfEntry.Length - 1)) != 0)
            throw new ArgumentException($"the queue table has a power of two of entries, not {queueOfEntry.Length}", nameof(queueOfEntry));
        using FileDescriptor map = CreateTable(queueOfEntry);
        ulong[] instructions = Instructions(map.Value, windows, queueOfEntry.Length - 1);
        FileDescriptor program = Bpf.LoadProgram(Bpf.ProgramTypeSocketFilter, 0, instructions, "flow_steering"u8,
            $"flow steering over {queueOfEntry.Length} entries");
        return new FlowSteeringProgram(program, queueOfEntry.Length);
    }

    /// <summary>
    /// What the program returns for <paramref name="frame"/> (from its Ethernet header), run once by
    /// the kernel (BPF_PROG_TEST_RUN, which sets the network header after the Ethernet header as a
    /// receive does): the queue before the kernel takes it modulo the queue count.
    /// </summary>
    public uint Run(ReadOnlySpan<byte> frame)
    {
        fixed (byte* data = frame)
        {
            var attribute = new BpfTestRunAttribute
            {
                ProgramDescriptor = (uint)Descriptor.Value,
                DataSizeIn = (uint)frame.Length,
                DataIn = (ulong)data,
                Repeat = 1,
            };
            int result = Bpf.Call(Bpf.ProgramTestRun, ref attribute);
            if (result < 0)
                NativeException.Throw($"bpf(BPF_PROG_TEST_RUN, flow steering, {frame.Length}-byte frame)", new Errno(-result));
            return attribute.ReturnValue;
        }
    }

    /// <summary>Closes the program's descriptor; where it is set, it runs on.</summary>
    public void Dispose() => Descriptor.Dispose();

    private static FileDescriptor CreateTable(ReadOnlySpan<ushort> queueOfEntry)
    {
        var attribute = new BpfMapCreateAttribute
        {
            MapType = Bpf.MapTypeArray,
            KeySize = sizeof(uint),
            ValueSize = sizeof(uint),
            MaxEntries = (uint)queueOfEntry.Length,
        };
        "flow_owners"u8.CopyTo(new Span<byte>(attribute.MapName, 15));
        int fd = Bpf.Call(Bpf.MapCreate, ref attribute);
        if (fd < 0)
            NativeException.Throw($"bpf(BPF_MAP_CREATE, BPF_MAP_TYPE_ARRAY, {queueOfEntry.Length} entries)", new Errno(-fd));
        var map = new FileDescriptor(fd);
        try
        {
            for (int i = 0; i < queueOfEntry.Length; i++)
            {
                uint key = (uint)i;
                uint value = queueOfEntry[i];
                var element = new BpfMapElementAttribute { MapDescriptor = (uint)fd, Key = (ulong)&key, Value = (ulong)&value };
                int result = Bpf.Call(Bpf.MapUpdateElement, ref element);
                if (result < 0)
                    NativeException.Throw($"bpf(BPF_MAP_UPDATE_ELEM, flow_owners[{i}] = {value})", new Errno(-result));
            }
            return map;
        }
        catch
        {
            map.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The program, for the table map <paramref name="mapDescriptor"/>:
    /// <code>
    ///         r6 = r1 ; r8 = 0                                ; r6: the skb LD_ABS reads; r8: the fold
    ///         if skb->vlan_present goto hash                  ; tagged: fold 0
    ///         r7 = skb->protocol
    ///         if r7 == htons(0x0800) goto ipv4
    ///         if r7 == htons(0x86dd) goto ipv6
    ///         goto hash                                       ; not IP: fold 0
    /// ipv4:   r9 = (byte 0 &amp; 0xf) &lt;&lt; 2                     ; the header length
    ///         r8 = word 12 ^ word 16                          ; the addresses
    ///         if (half 6 &amp; 0x3fff) != 0 goto fold             ; a fragment: addresses only
    ///         if byte 9 == 6 goto ports4 ; if byte 9 != 17 goto fold
    /// ports4: r8 ^= word r9 + 0 ; goto fold                   ; the ports
    /// ipv6:   r8 = word 8 ^ word 12 ^ ... ^ word 36           ; the addresses
    ///         r0 = byte 6 ; r9 = 40                           ; the next header, where it starts
    ///         (9 times) if r0 is 6 or 17 goto ports6          ; TCP, UDP
    ///         (8 of them) if r0 is not 0, 43 or 60 goto fold  ; an extension header, or addresses only
    ///                     r0 = byte r9 + 0 ; r9 += (byte r9 + 1 + 1) * 8
    ///         goto fold
    /// ports6: r8 ^= word r9 + 0
    /// fold:   r8 = (r8 >> 16) ^ (r8 &amp; 0xffff)
    /// hash:   r7 = 0 ; for each j: if r8 &amp; (0x8000 >> j): r7 ^= windows[j]
    ///         key = r7 &amp; mask ; r0 = map_lookup(table, &amp;key) ; return r0 ? *r0 : 0
    /// </code>
    /// (word n: the 32 bits at the network header + n, in host order.)
    /// </summary>
    internal static ulong[] Instructions(int mapDescriptor, ReadOnlySpan<uint> windows, int mask)
    {
        var code = new List<ulong>(128);
        var jumps = new List<(int At, string Label)>();
        var labels = new Dictionary<string, int>();
        void Emit(byte opcode, byte destination = 0, byte source = 0, short offset = 0, int immediate = 0)
            => code.Add(Bpf.Instruction(opcode, destination, source, offset, immediate));
        void Jump(byte opcode, byte register, int immediate, string label)
        {
            jumps.Add((code.Count, label));
            Emit(opcode, register, 0, 0, immediate);
        }
        void Label(string name) => labels[name] = code.Count;

        Emit(Move64Register, 6, 1);
        Emit(Move64Immediate, 8, immediate: 0);
        // A tag the kernel holds beside the frame (tun and AF_PACKET put it back in the frame we read,
        // where the engine sees a VLAN EtherType and hashes 0): fold 0, whatever the protocol says.
        Emit(LoadMemoryWord, 7, 6, SkBuffVlanPresent);
        Jump(JumpIfNotEqual, 7, 0, "hash");
        Emit(LoadMemoryWord, 7, 6, SkBuffProtocol);
        Jump(JumpIfEqual, 7, 0x0008, "ipv4"); // htons(ETH_P_IP) as the u32 __sk_buff holds it
        Jump(JumpIfEqual, 7, 0xdd86, "ipv6"); // htons(ETH_P_IPV6)
        Jump(JumpAlways, 0, 0, "hash");

        Label("ipv4");
        Emit(LoadAbsoluteByte, immediate: SkfNetOffset + 0);
        Emit(Move64Register, 9, 0);
        Emit(And64Immediate, 9, immediate: 0xf);
        Emit(LeftShift64Immediate, 9, immediate: 2);
        Emit(LoadAbsoluteWord, immediate: SkfNetOffset + 12);
        Emit(Move64Register, 8, 0);
        Emit(LoadAbsoluteWord, immediate: SkfNetOffset + 16);
        Emit(Xor64Register, 8, 0);
        Emit(LoadAbsoluteHalf, immediate: SkfNetOffset + 6);
        Emit(And64Immediate, 0, immediate: 0x3fff); // more fragments, or an offset
        Jump(JumpIfNotEqual, 0, 0, "fold");
        Emit(LoadAbsoluteByte, immediate: SkfNetOffset + 9);
        Jump(JumpIfEqual, 0, 6, "ports4");
        Jump(JumpIfNotEqual, 0, 17, "fold");
        Label("ports4");
        Emit(LoadIndirectWord, 0, 9, immediate: SkfNetOffset);
        Emit(Xor64Register, 8, 0);
        Jump(JumpAlways, 0, 0, "fold");

        Label("ipv6");
        Emit(LoadAbsoluteWord, immediate: SkfNetOffset + 8);
        Emit(Move64Register, 8, 0);
        for (int offset = 12; offset < 40; offset += 4)
        {
            Emit(LoadAbsoluteWord, immediate: SkfNetOffset + offset);
            Emit(Xor64Register, 8, 0);
        }
        Emit(LoadAbsoluteByte, immediate: SkfNetOffset + 6);
        Emit(Move64Immediate, 9, immediate: 40); // where the header after the fixed one starts
        for (int walked = 0; ; walked++)
        {
            Jump(JumpIfEqual, 0, 6, "ports6");
            Jump(JumpIfEqual, 0, 17, "ports6");
            if (walked == MaxExtensionHeaders)
                break;
            string extension = $"extension{walked}";
            Jump(JumpIfEqual, 0, 0, extension); // hop-by-hop options
            Jump(JumpIfEqual, 0, 43, extension); // routing
            Jump(JumpIfNotEqual, 0, 60, "fold"); // not destination options either: a fragment or another protocol
            Label(extension);
            Emit(LoadIndirectByte, 0, 9, immediate: SkfNetOffset + 1); // its length in 8 octets, less the first 8
            Emit(Move64Register, 7, 0);
            Emit(LoadIndirectByte, 0, 9, immediate: SkfNetOffset); // the header after it
            Emit(Add64Immediate, 7, immediate: 1);
            Emit(LeftShift64Immediate, 7, immediate: 3);
            Emit(Add64Register, 9, 7);
        }
        Jump(JumpAlways, 0, 0, "fold");
        Label("ports6");
        Emit(LoadIndirectWord, 0, 9, immediate: SkfNetOffset);
        Emit(Xor64Register, 8, 0);

        Label("fold");
        Emit(Move64Register, 0, 8);
        Emit(RightShift64Immediate, 0, immediate: 16);
        Emit(And64Immediate, 8, immediate: 0xffff);
        Emit(Xor64Register, 8, 0);

        Label("hash");
        Emit(Move64Immediate, 7, immediate: 0);
        for (int j = 0; j < WindowCount; j++)
        {
            Emit(JumpIfAnySet, 8, 0, 1, 0x8000 >> j); // bit set: skip the jump over the XOR
            Emit(JumpAlways, 0, 0, 1);
            Emit(Xor32Immediate, 7, immediate: unchecked((int)windows[j]));
        }
        Emit(And32Immediate, 7, immediate: mask);
        Emit(StoreMemoryWord, 10, 7, -4);
        Emit(Move64Register, 2, 10);
        Emit(Add64Immediate, 2, immediate: -4);
        Emit(LoadImmediateDoubleWord, 1, PseudoMapFd, 0, mapDescriptor);
        Emit(0); // the ld_imm64's second slot: the upper 32 bits, 0
        Emit(Call, immediate: FunctionMapLookupElement);
        Jump(JumpIfEqual, 0, 0, "none");
        Emit(LoadMemoryWord, 0, 0, 0);
        Emit(Exit);
        Label("none");
        Emit(Move64Immediate, 0, immediate: 0);
        Emit(Exit);

        // Jump offsets count instructions from the one after the jump.
        foreach ((int at, string label) in jumps)
        {
            ulong offset = (ulong)(ushort)(short)(labels[label] - at - 1);
            code[at] = (code[at] & ~(0xFFFFUL << 16)) | offset << 16;
        }
        return [.. code];
    }
}
