using System.Buffers.Binary;
using Dataplane.Drivers.Vfio;
using Dataplane.Drivers.Vfio.E1000e;
using Dataplane.Native;
using static Dataplane.Drivers.Vfio.E1000e.E1000eRegisters;

namespace Dataplane.Tests.Drivers.Vfio;

/// <summary>
/// An Intel 82574 in plain memory, behind <see cref="IPciFunction"/>: BAR 0's registers as a
/// word array with the behaviour the driver relies on (CTRL.RST resets, ICR clears on read,
/// IMS/IMC set and clear the mask, RDT hands over receive buffers, TDT starts transmit, EIAC makes
/// an MSI-X interrupt one-shot), and the device's side of the legacy descriptor rings, read and
/// written in the driver's DMA memory. It records every breach of the datasheet's rules it checks
/// (registers written in an order or with values the device would not take) in <see cref="Violations"/>.
/// </summary>
internal sealed class FakeE1000eDevice : IPciFunction
{
    private const int BarLength = 128 * 1024;

    private readonly byte[] _config = new byte[256];
    private readonly uint[] _regs = new uint[BarLength / 4];
    private readonly FakeRegisters _bar;
    private readonly FakeDmaMemory _dma = new();
    private EventFd[] _vectors = [];
    private bool _linkUp = true;

    /// <summary>A device whose NVM holds <see cref="Mac"/> (or nothing valid, with <paramref name="validMac"/> false).</summary>
    public FakeE1000eDevice(bool validMac = true, string address = "0000:00:03.0")
    {
        Address = address;
        ValidMac = validMac;
        _bar = new FakeRegisters(this);
        BinaryPrimitives.WriteUInt16LittleEndian(_config.AsSpan(PciConfigSpace.VendorId), VendorId);
        BinaryPrimitives.WriteUInt16LittleEndian(_config.AsSpan(PciConfigSpace.DeviceId), DeviceId82574);
        PowerOn();
    }

    /// <inheritdoc/>
    public string Address { get; }

    /// <summary>The MAC in the device's NVM.</summary>
    public byte[] Mac { get; } = [0x52, 0x54, 0x00, 0x12, 0x34, 0x57];

    /// <summary>Whether the NVM's MAC is loaded into RAL0/RAH0 with AV.</summary>
    public bool ValidMac { get; }

    /// <summary>Breaches of the datasheet the driver made, in order.</summary>
    public List<string> Violations { get; } = [];

    /// <summary>Frames the device sent, in order.</summary>
    public List<byte[]> Sent { get; } = [];

    /// <summary>Descriptors of each frame sent.</summary>
    public List<int> SentDescriptors { get; } = [];

    /// <summary>When set, a TDT write sends nothing: frames stay on the ring until <see cref="ProcessTransmit"/>.</summary>
    public bool HoldTransmit { get; set; }

    /// <summary>Frames injected that found no receive buffer, or with the receiver off (the device dropped them).</summary>
    public int ReceiveDropped { get; private set; }

    /// <summary>Software resets (CTRL.RST) the driver made.</summary>
    public int SoftwareResets { get; private set; }

    /// <summary>Function-level resets the driver made.</summary>
    public int FunctionResets { get; private set; }

    /// <summary>MSI-X messages sent, by vector.</summary>
    public int[] Interrupts { get; } = new int[5];

    /// <summary>Whether the command register has Bus Master Enable set.</summary>
    public bool BusMastering => (BinaryPrimitives.ReadUInt16LittleEndian(_config.AsSpan(PciConfigSpace.Command)) & PciConfigSpace.CommandBusMaster) != 0;

    /// <summary>Whether the function was given back.</summary>
    public bool Disposed { get; private set; }

    /// <summary>The fake's DMA memory.</summary>
    public FakeDmaMemory DmaMemory => _dma;

    /// <inheritdoc/>
    public IDmaMemory Dma => _dma;

    /// <summary>Register <paramref name="offset"/> as the device holds it.</summary>
    public uint Register(int offset) => _regs[offset / 4];

    /// <summary>Receive descriptors the device holds a buffer in: RDH up to RDT.</summary>
    public int ReceivePosted
    {
        get
        {
            int size = (int)(Register(Rdlen) / E1000eDescriptor.Size);
            return size == 0 ? 0 : (int)((Register(Rdt) - Register(Rdh) + (uint)size) % (uint)size);
        }
    }

    private void PowerOn()
    {
        Array.Clear(_regs);
        if (ValidMac)
        {
            _regs[Ral0 / 4] = BinaryPrimitives.ReadUInt32LittleEndian(Mac);
            _regs[Rah0 / 4] = BinaryPrimitives.ReadUInt16LittleEndian(Mac.AsSpan(4)) | RahAddressValid;
        }
        _regs[0x3840 / 4] = 0x403; // TARC0 with its enable bit, as QEMU resets it
        _regs[Txdctl / 4] = 0x00400000;
        Context = null;
        Tso = null;
        UpdateStatus();
    }

    private void UpdateStatus() => _regs[Status / 4] = _linkUp ? StatusLinkUp : 0;

    /// <inheritdoc/>
    public byte ReadConfig8(int offset) => _config[offset];

    /// <inheritdoc/>
    public ushort ReadConfig16(int offset) => BinaryPrimitives.ReadUInt16LittleEndian(_config.AsSpan(offset));

    /// <inheritdoc/>
    public uint ReadConfig32(int offset) => BinaryPrimitives.ReadUInt32LittleEndian(_config.AsSpan(offset));

    /// <inheritdoc/>
    public void WriteConfig8(int offset, byte value) => _config[offset] = value;

    /// <inheritdoc/>
    public void WriteConfig16(int offset, ushort value) => BinaryPrimitives.WriteUInt16LittleEndian(_config.AsSpan(offset), value);

    /// <inheritdoc/>
    public void WriteConfig32(int offset, uint value) => BinaryPrimitives.WriteUInt32LittleEndian(_config.AsSpan(offset), value);

    /// <inheritdoc/>
    public IMmioRegion Bar(int index) => index == 0 ? _bar : throw new NativeException($"PCI {Address}: BAR {index} is not BAR 0");

    /// <inheritdoc/>
    public void EnableBusMastering() =>
        WriteConfig16(PciConfigSpace.Command, (ushort)(ReadConfig16(PciConfigSpace.Command) | PciConfigSpace.CommandBusMaster | PciConfigSpace.CommandMemorySpace));

    /// <inheritdoc/>
    public bool Reset()
    {
        FunctionResets++;
        PowerOn();
        return true;
    }

    /// <inheritdoc/>
    public IReadOnlyList<EventFd> EnableMsix(int vectors)
    {
        if (vectors > 5)
            Violations.Add($"{vectors} MSI-X vectors asked for; the 82574 has 5");
        _vectors = new EventFd[vectors];
        for (int i = 0; i < vectors; i++)
            _vectors[i] = EventFd.Create();
        return _vectors;
    }

    /// <inheritdoc/>
    public void DisableMsix()
    {
        foreach (EventFd fd in _vectors)
            fd.Dispose();
        _vectors = [];
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (Disposed)
            return;
        DisableMsix();
        _dma.Dispose();
        Disposed = true;
    }

    /// <summary>The eventfd of MSI-X vector <paramref name="vector"/>.</summary>
    public EventFd Vector(int vector) => _vectors[vector];

    /// <summary>The link goes up or down: STATUS.LU follows, and LSC is raised (§10.2.4.1).</summary>
    public void SetLink(bool up)
    {
        _linkUp = up;
        UpdateStatus();
        Raise(InterruptLinkStatusChange | InterruptOther, IvarOtherShift);
    }

    /// <summary>A frame arrives with a bad CRC: counted in CRCERRS and dropped, as the MAC does.</summary>
    public void ReceiveBadCrc() => _regs[Crcerrs / 4]++;

    /// <summary>
    /// A frame arrives: written into the buffers at RDH on (2048 bytes each, EOP on the last), the
    /// descriptors' status set to DD | <paramref name="status"/> with <paramref name="errors"/>,
    /// RDH moved on, RXQ0 raised. False when the receiver is off or there are too few buffers.
    /// </summary>
    public bool Inject(ReadOnlySpan<byte> frame, byte status = 0, byte errors = 0)
    {
        int size = (int)(Register(Rdlen) / E1000eDescriptor.Size);
        int needed = Math.Max(1, (frame.Length + ReceiveBufferSize - 1) / ReceiveBufferSize);
        if ((Register(Rctl) & RctlEnable) == 0 || size == 0 || ReceivePosted < needed)
        {
            ReceiveDropped++;
            _regs[Mpc / 4]++; // no descriptor: the frame stays in the FIFO until it overflows, a missed packet
            return false;
        }
        Span<byte> ring = _dma.Span(RingAddress(Rdbal), size * E1000eDescriptor.Size);
        int head = (int)Register(Rdh);
        for (int k = 0; k < needed; k++)
        {
            Span<byte> d = ring.Slice(head * E1000eDescriptor.Size, E1000eDescriptor.Size);
            ReadOnlySpan<byte> piece = frame.Slice(k * ReceiveBufferSize, Math.Min(ReceiveBufferSize, frame.Length - k * ReceiveBufferSize));
            piece.CopyTo(_dma.Span(BinaryPrimitives.ReadUInt64LittleEndian(d), ReceiveBufferSize));
            BinaryPrimitives.WriteUInt16LittleEndian(d[E1000eDescriptor.RxLength..], (ushort)piece.Length);
            d[E1000eDescriptor.RxErrors] = errors;
            Volatile.Write(ref d[E1000eDescriptor.RxStatus], (byte)(E1000eDescriptor.RxDone | status | (k == needed - 1 ? E1000eDescriptor.RxEndOfPacket : 0)));
            head = (head + 1) % size;
        }
        _regs[Rdh / 4] = (uint)head;
        Raise(InterruptRxQueue0, IvarRxQueue0Shift);
        return true;
    }

    /// <summary>Sends what the transmit ring holds from TDH to TDT (with the transmitter on); returns the frames sent.</summary>
    public int ProcessTransmit()
    {
        if ((Register(Tctl) & TctlEnable) == 0)
            return 0;
        int size = (int)(Register(Tdlen) / E1000eDescriptor.Size);
        if (size == 0)
            return 0;
        Span<byte> ring = _dma.Span(RingAddress(Tdbal), size * E1000eDescriptor.Size);
        int head = (int)Register(Tdh), tail = (int)Register(Tdt);
        int frames = 0;
        var frame = new List<byte>();
        int descriptors = 0;
        bool checksum = false, segment = false;
        while (head != tail)
        {
            Span<byte> d = ring.Slice(head * E1000eDescriptor.Size, E1000eDescriptor.Size);
            uint command = BinaryPrimitives.ReadUInt32LittleEndian(d[E1000eDescriptor.TxLengthCommand..]);
            bool extended = (command & E1000eDescriptor.TxExtended) != 0;
            if (extended && (command & E1000eDescriptor.TxDataType) == 0)
            {
                // §7.2.10.2: a context descriptor; the queue keeps it for the data descriptors after it.
                if (frame.Count > 0)
                    Violations.Add($"transmit descriptor {head}: a context descriptor inside a frame");
                if ((command & E1000eDescriptor.TxSegmentation) != 0)
                {
                    Tso = new TsoContext(d[E1000eDescriptor.ContextIpStart], d[E1000eDescriptor.ContextIpOffset],
                        BinaryPrimitives.ReadUInt16LittleEndian(d[E1000eDescriptor.ContextIpEnd..]), d[E1000eDescriptor.ContextChecksumStart],
                        d[E1000eDescriptor.ContextChecksumOffset], d[E1000eDescriptor.ContextHeaderLength],
                        BinaryPrimitives.ReadUInt16LittleEndian(d[E1000eDescriptor.ContextMss..]), (int)(command & 0xfffff),
                        (command & E1000eDescriptor.TxContextIpv4) != 0, (command & E1000eDescriptor.TxContextTcp) != 0);
                    Context = null;
                }
                else
                {
                    if (BinaryPrimitives.ReadUInt32LittleEndian(d) != 0 || BinaryPrimitives.ReadUInt32LittleEndian(d[12..]) != 0)
                        Violations.Add($"transmit descriptor {head}: a checksum context with IP checksum or segmentation fields");
                    Context = (d[E1000eDescriptor.ContextChecksumStart], d[E1000eDescriptor.ContextChecksumOffset],
                        (command & E1000eDescriptor.TxContextTcp) != 0);
                    Tso = null;
                }
                Contexts++;
                head = (head + 1) % size;
                continue;
            }
            int length = (int)(command & 0xffff);
            if ((command & E1000eDescriptor.TxInsertCrc) == 0)
                Violations.Add($"transmit descriptor {head}: IFCS clear (the frame would leave without its CRC)");
            if (extended && (command & E1000eDescriptor.TxSegmentation) != 0)
            {
                if (Tso is null)
                    Violations.Add($"transmit descriptor {head}: TSE without a TSO context");
                segment = true;
            }
            else if (extended && (d[E1000eDescriptor.TxPacketOptions] & E1000eDescriptor.TxInsertL4Checksum) != 0)
            {
                if (Context is null)
                    Violations.Add($"transmit descriptor {head}: TXSM without a context");
                checksum = true;
            }
            frame.AddRange(_dma.Span(BinaryPrimitives.ReadUInt64LittleEndian(d), length).ToArray());
            descriptors++;
            if ((command & E1000eDescriptor.TxReportStatus) != 0)
                d[E1000eDescriptor.TxStatus] |= E1000eDescriptor.TxDone;
            head = (head + 1) % size;
            if ((command & E1000eDescriptor.TxEndOfPacket) != 0)
            {
                byte[] bytes = [.. frame];
                if (segment && Tso is { } tso)
                {
                    SuperFrames.Add(bytes);
                    Segment(bytes, tso);
                }
                else
                {
                    if (checksum && Context is (byte start, byte at, _))
                        InsertChecksum(bytes, start, at);
                    Sent.Add(bytes);
                }
                SentDescriptors.Add(descriptors);
                frame.Clear();
                descriptors = 0;
                checksum = segment = false;
                frames++;
                _regs[Tdh / 4] = (uint)head;
            }
        }
        if (frame.Count > 0)
            Violations.Add("TDT moved past descriptors without an EOP (half a frame handed over)");
        return frames;
    }

    /// <summary>The checksum context the transmit queue holds: TUCSS, TUCSO, TCP; null before the first.</summary>
    public (byte Start, byte At, bool Tcp)? Context { get; private set; }

    /// <summary>The TSO context the transmit queue holds (§7.2.10.2 with TSE); null when none.</summary>
    public TsoContext? Tso { get; private set; }

    /// <summary>TSO frames as handed over, before the device cut them (their headers as the driver patched them).</summary>
    public List<byte[]> SuperFrames { get; } = [];

    /// <summary>A TSO context's fields.</summary>
    public sealed record TsoContext(int IpStart, int IpChecksumAt, int IpEnd, int TcpStart, int TcpChecksumAt, int HeaderLength, int Mss,
        int PayloadLength, bool Ipv4, bool Tcp);

    /// <summary>
    /// What TSO does (§7.3.6): the payload cut into MSS pieces, each behind a copy of the headers
    /// with its IP length, IPv4 identification and checksum, TCP sequence number, flags (FIN and
    /// PSH on the last only) and TCP checksum (the pseudo-header sum in place plus the length) set.
    /// </summary>
    private void Segment(byte[] frame, TsoContext c)
    {
        int header = c.HeaderLength;
        if (frame.Length - header != c.PayloadLength)
            Violations.Add($"TSO PAYLEN {c.PayloadLength}, the descriptors hold {frame.Length - header}");
        uint sequence = BinaryPrimitives.ReadUInt32BigEndian(frame.AsSpan(c.TcpStart + 4));
        ushort id = c.Ipv4 ? BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(c.IpStart + 4)) : (ushort)0;
        for (int offset = header, k = 0; offset < frame.Length; offset += c.Mss, k++)
        {
            int payload = Math.Min(c.Mss, frame.Length - offset);
            byte[] s = new byte[header + payload];
            frame.AsSpan(0, header).CopyTo(s);
            frame.AsSpan(offset, payload).CopyTo(s.AsSpan(header));
            bool last = offset + payload >= frame.Length;
            int l4Length = s.Length - c.TcpStart;
            if (c.Ipv4)
            {
                BinaryPrimitives.WriteUInt16BigEndian(s.AsSpan(c.IpStart + 2), (ushort)(s.Length - c.IpStart));
                BinaryPrimitives.WriteUInt16BigEndian(s.AsSpan(c.IpStart + 4), (ushort)(id + k));
                s[c.IpChecksumAt] = s[c.IpChecksumAt + 1] = 0;
                InsertChecksum(s, c.IpStart, c.IpChecksumAt, c.IpEnd + 1);
            }
            else
            {
                BinaryPrimitives.WriteUInt16BigEndian(s.AsSpan(c.IpStart + 4), (ushort)(s.Length - c.IpStart - 40));
            }
            BinaryPrimitives.WriteUInt32BigEndian(s.AsSpan(c.TcpStart + 4), sequence + (uint)(offset - header));
            if (!last)
                s[c.TcpStart + 13] &= unchecked((byte)~0x09); // FIN, PSH
            uint seed = BinaryPrimitives.ReadUInt16BigEndian(s.AsSpan(c.TcpChecksumAt)) + (uint)l4Length;
            while (seed > 0xffff)
                seed = (seed & 0xffff) + (seed >> 16);
            BinaryPrimitives.WriteUInt16BigEndian(s.AsSpan(c.TcpChecksumAt), (ushort)seed);
            InsertChecksum(s, c.TcpStart, c.TcpChecksumAt);
            Sent.Add(s);
        }
    }

    /// <summary>Writes to IMS (the driver arming an interrupt).</summary>
    public int ImsWrites { get; private set; }

    /// <summary>Context descriptors read.</summary>
    public int Contexts { get; private set; }

    /// <summary>
    /// What TXSM does (§7.2.10.3.2): the one's-complement sum from TUCSS to the end, the field's
    /// own content (the pseudo-header sum) included, complemented into TUCSO.
    /// </summary>
    private static void InsertChecksum(byte[] frame, int start, int at, int end = 0)
    {
        uint sum = 0;
        end = end == 0 ? frame.Length : end;
        for (int i = start; i < end; i += 2)
            sum += (uint)(frame[i] << 8 | (i + 1 < end ? frame[i + 1] : 0));
        while (sum > 0xffff)
            sum = (sum & 0xffff) + (sum >> 16);
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(at), (ushort)~sum);
    }

    private ulong RingAddress(int low) => _regs[low / 4] | ((ulong)_regs[low / 4 + 1] << 32);

    /// <summary>
    /// Raises <paramref name="cause"/> in ICR; when IMS has it, the MSI-X vector IVAR names at
    /// <paramref name="ivarShift"/> fires, and EIAC clears the cause and masks it (§7.4.2, IAME off).
    /// </summary>
    private void Raise(uint cause, int ivarShift)
    {
        _regs[Icr / 4] |= cause;
        if ((_regs[Ims / 4] & cause) == 0)
            return;
        uint entry = (_regs[Ivar / 4] >> ivarShift) & 0xf;
        if ((entry & IvarValid) == 0)
        {
            Violations.Add($"cause 0x{cause:x} enabled in IMS without a valid IVAR entry");
            return;
        }
        int vector = (int)(entry & 7);
        if (vector < _vectors.Length)
        {
            _vectors[vector].Signal();
            Interrupts[vector]++;
        }
        else
        {
            Violations.Add($"IVAR maps cause 0x{cause:x} to vector {vector}, which is not enabled");
        }
        uint cleared = _regs[Eiac / 4] & cause;
        _regs[Icr / 4] &= ~cleared;
        if ((_regs[CtrlExt / 4] & CtrlExtIame) == 0)
            _regs[Ims / 4] &= ~cleared;
    }

    private void Write(int offset, uint value)
    {
        if ((offset & 3) != 0 || (uint)offset >= BarLength)
        {
            Violations.Add($"a 32-bit write at 0x{offset:x}");
            return;
        }
        bool receiving = (Register(Rctl) & RctlEnable) != 0, transmitting = (Register(Tctl) & TctlEnable) != 0;
        switch (offset)
        {
            case Ctrl:
                if ((value & CtrlReset) != 0)
                {
                    // §4.6.2: the MAC, its rings and interrupts back to their power-on state; RST clears itself.
                    SoftwareResets++;
                    PowerOn();
                    _regs[Ctrl / 4] = value & ~CtrlReset;
                    return;
                }
                break;
            case Ims:
                ImsWrites++;
                _regs[Ims / 4] |= value;
                if ((value & InterruptRxQueue0) != 0 && (Register(CtrlExt) & CtrlExtPbaSupport) == 0)
                    Violations.Add("RXQ0 enabled in IMS without CTRL_EXT.PBA_Support (MSI-X mode needs it, §7.4.2)");
                return;
            case Imc:
                _regs[Ims / 4] &= ~value;
                return;
            case Icr:
                _regs[Icr / 4] &= ~value;
                return;
            case Status:
                return;
            case Rdbal or Rdbah or Rdlen or Rdh when receiving:
                Violations.Add($"receive ring register 0x{offset:x} written with the receiver on");
                break;
            case Tdbal or Tdbah or Tdlen or Tdh when transmitting:
                Violations.Add($"transmit ring register 0x{offset:x} written with the transmitter on");
                break;
            case Rdlen or Tdlen when value % 128 != 0:
                Violations.Add($"ring length {value} at 0x{offset:x} is not a multiple of 128");
                break;
            case Rdbal or Tdbal when (value & 0xf) != 0:
                Violations.Add($"ring base 0x{value:x} is not 16-byte aligned");
                break;
            case Rdt:
                _regs[Rdt / 4] = value & 0xffff;
                CheckReceiveTail();
                return;
            case Tdt:
                _regs[Tdt / 4] = value & 0xffff;
                if (!HoldTransmit)
                    ProcessTransmit();
                return;
            case Rctl:
                if ((value & RctlEnable) != 0)
                    CheckReceiveControl(value);
                break;
            case Tctl:
                if ((value & TctlEnable) != 0 && (Register(Tdlen) == 0 || RingAddress(Tdbal) == 0))
                    Violations.Add("transmitter enabled without a transmit ring");
                break;
            case 0x3840: // TARC0
                if ((value & 0x400) == 0)
                    Violations.Add("TARC0 written without its enable bit (QEMU's model then sends nothing)");
                break;
        }
        _regs[offset / 4] = value;
        if (offset == Tctl && (value & TctlEnable) != 0 && !HoldTransmit)
            ProcessTransmit();
    }

    private void CheckReceiveControl(uint value)
    {
        if (Register(Rdlen) == 0 || RingAddress(Rdbal) == 0)
            Violations.Add("receiver enabled without a receive ring");
        if ((value & (3u << 16 | 1u << 25)) != 0)
            Violations.Add($"RCTL 0x{value:x}: buffers other than 2048 bytes (BSIZE/BSEX)");
        if ((value & RctlLongPackets) != 0)
            Violations.Add("RCTL.LPE set with 2048-byte buffers");
        if ((Register(Rfctl) & RfctlExtendedStatus) != 0)
            Violations.Add("RFCTL.EXSTEN set: extended descriptors, which the driver does not read");
        if ((Register(Rxcsum) & RxcsumPacketChecksumDisable) != 0)
            Violations.Add("RXCSUM.PCSD set: no checksum status in the descriptors");
        if ((Register(Rah0) & RahAddressValid) == 0)
            Violations.Add("receiver enabled without a valid receive address 0");
    }

    private void CheckReceiveTail()
    {
        int size = (int)(Register(Rdlen) / E1000eDescriptor.Size);
        if (size == 0 || Register(Rdt) >= size)
        {
            Violations.Add($"RDT {Register(Rdt)} outside a ring of {size}");
            return;
        }
        // Every descriptor handed over must point at mapped memory with room for a 2048-byte buffer.
        Span<byte> ring = _dma.Span(RingAddress(Rdbal), size * E1000eDescriptor.Size);
        for (int i = (int)Register(Rdh); i != (int)Register(Rdt); i = (i + 1) % size)
        {
            Span<byte> d = ring.Slice(i * E1000eDescriptor.Size, E1000eDescriptor.Size);
            _ = _dma.Span(BinaryPrimitives.ReadUInt64LittleEndian(d), ReceiveBufferSize);
            if ((d[E1000eDescriptor.RxStatus] & E1000eDescriptor.RxDone) != 0)
                Violations.Add($"receive descriptor {i} handed over with DD still set");
        }
    }

    private uint Read(int offset)
    {
        if ((offset & 3) != 0 || (uint)offset >= BarLength)
        {
            Violations.Add($"a 32-bit read at 0x{offset:x}");
            return 0;
        }
        uint value = _regs[offset / 4];
        if (offset is Icr or Mpc or Crcerrs or Rxerrc)
            _regs[offset / 4] = 0; // clear on read (ICR, and the statistics registers)
        return value;
    }

    private sealed class FakeRegisters(FakeE1000eDevice d) : IMmioRegion
    {
        public int Length => BarLength;

        public byte Read8(int offset) => (byte)Unexpected(offset, 1);

        public ushort Read16(int offset) => (ushort)Unexpected(offset, 2);

        public uint Read32(int offset) => d.Read(offset);

        public ulong Read64(int offset) => Unexpected(offset, 8);

        public void Write8(int offset, byte value) => Unexpected(offset, 1);

        public void Write16(int offset, ushort value) => Unexpected(offset, 2);

        public void Write32(int offset, uint value) => d.Write(offset, value);

        public void Write64(int offset, ulong value) => Unexpected(offset, 8);

        private uint Unexpected(int offset, int width)
        {
            d.Violations.Add($"a {width}-byte access at 0x{offset:x}: the 82574's registers are 32 bits");
            return 0;
        }
    }
}
