using System.Buffers.Binary;
using Dataplane.Drivers.Vfio;
using Dataplane.Drivers.Vfio.Vmxnet3;
using Dataplane.Native;

namespace Dataplane.Tests.Drivers.Vfio;

/// <summary>
/// A vmxnet3 in plain memory, behind <see cref="IPciFunction"/>, behaving as QEMU 7.2's model
/// (hw/net/vmxnet3.c) does: BAR 0 (IMR, TXPROD, RXPROD) and BAR 1 (VRRS, UVRS, DSAL/DSAH, CMD,
/// MACL/MACH, ECR) as registers, the driver-shared area and queue descriptors read from the
/// driver's DMA memory at VMXNET3_CMD_ACTIVATE_DEV, transmit descriptors consumed up to a gen
/// mismatch on a TXPROD write (frames recorded, one completion per frame naming its eop), injected
/// frames written into head buffers of rx ring 1 with a completion each, gen bits per ring, MSI-X
/// eventfds signalled as IMR and autoMask allow. Breaches of the order it relies on are recorded
/// in <see cref="Violations"/>.
/// </summary>
internal sealed class FakeVmxnet3Device : IPciFunction
{
    private readonly byte[] _config = new byte[256];
    private readonly FakeDmaMemory _dma = new();
    private readonly Registers _pt, _vd;
    private EventFd[] _vectors = [];
    private readonly bool[] _masked = new bool[Vmxnet3Layout.MaxInterrupts];
    private readonly bool[] _pending = new bool[Vmxnet3Layout.MaxInterrupts];
    private bool _revisionSelected, _uptSelected;
    private uint _dsal;
    private bool _dsalWritten;
    private ulong _shared;
    private bool _autoMask;
    private int _maxRxFrags = 1;
    private ulong _queueTable;
    private readonly Dictionary<int, uint> _stopped = []; // queue descriptor index (tx first, then rx) → error
    private TxQueue[] _tx = [];
    private RxQueue[] _rx = [];

    private sealed class Ring
    {
        public ulong Base;
        public int Size;
        public int Next;
        public uint Gen = Vmxnet3Layout.InitGen;

        public void Advance()
        {
            if (++Next == Size)
            {
                Next = 0;
                Gen ^= 1;
            }
        }
    }

    private sealed class TxQueue
    {
        public Ring Ring = new(), Completion = new();
        public int Vector;
    }

    private sealed class RxQueue
    {
        public Ring Ring1 = new(), Ring2 = new(), Completion = new();
        public int Vector;
        public ulong Desc;
    }

    /// <summary>A vmxnet3 with the MAC 00:0c:29:12:34:56 at <paramref name="address"/>.</summary>
    public FakeVmxnet3Device(string address = "0000:00:04.0")
    {
        Address = address;
        _pt = new Registers(this, 0);
        _vd = new Registers(this, 1);
        BinaryPrimitives.WriteUInt16LittleEndian(_config.AsSpan(PciConfigSpace.VendorId), Vmxnet3Layout.VendorId);
        BinaryPrimitives.WriteUInt16LittleEndian(_config.AsSpan(PciConfigSpace.DeviceId), Vmxnet3Layout.DeviceId);
        Array.Fill(_masked, true); // vmxnet3_reset_interrupt_states
    }

    /// <inheritdoc/>
    public string Address { get; }

    /// <summary>The MAC in MACL/MACH.</summary>
    public byte[] Mac { get; } = [0x00, 0x0c, 0x29, 0x12, 0x34, 0x56];

    /// <summary>What VRRS and UVRS read (bit 0: revision 1).</summary>
    public uint Revisions { get; set; } = 1;

    /// <summary>When set, VMXNET3_CMD_ACTIVATE_DEV leaves the device inactive (reads back 1).</summary>
    public bool RefuseActivation { get; set; }

    /// <summary>When set, a TXPROD write does nothing: frames stay on the ring until <see cref="ProcessTransmit"/>.</summary>
    public bool HoldTransmit { get; set; }

    /// <summary>misc.uptFeatures at the last activation.</summary>
    public ulong Features { get; private set; }

    /// <summary>The UPT1_RSSConf rssConfDesc pointed at, at the last activation with UPT1_F_RSS; null without.</summary>
    public byte[]? RssConf { get; private set; }

    /// <summary>Whether the device is active (ACTIVATE_DEV accepted, no QUIESCE or RESET since).</summary>
    public bool Active { get; private set; }

    /// <summary>The link, as GET_LINK reads it.</summary>
    public bool Link { get; private set; } = true;

    /// <summary>Breaches of the order and layout the device relies on.</summary>
    public List<string> Violations { get; } = [];

    /// <summary>Every command written to VMXNET3_REG_CMD, in order.</summary>
    public List<uint> Commands { get; } = [];

    /// <summary>Frames sent on each transmit queue, with the first descriptor's om, hlen, msscof and the descriptors used.</summary>
    public List<(uint Om, uint Hlen, uint Msscof, int Descriptors, byte[] Frame)>[] Sent { get; private set; } = [];

    /// <summary>Frames injected that found no buffer or no completion slot.</summary>
    public int ReceiveDropped { get; private set; }

    /// <summary>TXPROD writes.</summary>
    public int Doorbells { get; private set; }

    /// <summary>The driver-shared area's address as the driver gave it.</summary>
    public ulong SharedAddress => _shared;

    /// <summary>Whether Bus Master Enable is set.</summary>
    public bool BusMastering => (BinaryPrimitives.ReadUInt16LittleEndian(_config.AsSpan(PciConfigSpace.Command)) & PciConfigSpace.CommandBusMaster) != 0;

    /// <summary>Whether the function was given back.</summary>
    public bool Disposed { get; private set; }

    /// <summary>The fake's DMA memory.</summary>
    public FakeDmaMemory DmaMemory => _dma;

    /// <inheritdoc/>
    public IDmaMemory Dma => _dma;

    /// <summary>Whether MSI-X vector <paramref name="vector"/> is masked in VMXNET3_REG_IMR.</summary>
    public bool Masked(int vector) => _masked[vector];

    /// <summary>The vector the driver gave receive queue <paramref name="queue"/> (conf.intrIdx).</summary>
    public int RxVector(int queue) => _rx[queue].Vector;

    /// <summary>The vector the driver gave transmit queue <paramref name="queue"/>.</summary>
    public int TxVector(int queue) => _tx[queue].Vector;

    /// <summary>Head buffers on rx ring 1 of queue <paramref name="queue"/> the device has not used.</summary>
    public int RxAvailable(int queue)
    {
        RxQueue q = _rx[queue];
        int n = 0;
        Ring r = q.Ring1;
        int next = r.Next;
        uint gen = r.Gen;
        for (int k = 0; k < r.Size; k++)
        {
            Span<byte> d = _dma.Span(r.Base + (ulong)(next * 16), 16);
            if (Mmio.Read32(d, 8) >> 31 != gen)
                break;
            n++;
            if (++next == r.Size)
            {
                next = 0;
                gen ^= 1;
            }
        }
        return n;
    }

    /// <summary>A u32 of the driver-shared area.</summary>
    public uint Shared32(int offset) => Mmio.Read32(_dma.Span(_shared + (ulong)offset, 4), 0);

    /// <summary>A u8 of the driver-shared area.</summary>
    public byte Shared8(int offset) => _dma.Span(_shared + (ulong)offset, 1)[0];

    // ---- IPciFunction ----

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
    public IMmioRegion Bar(int index) => index switch
    {
        0 => _pt,
        1 => _vd,
        _ => throw new NativeException($"PCI {Address}: BAR {index} is not a register BAR"),
    };

    /// <inheritdoc/>
    public void EnableBusMastering() =>
        WriteConfig16(PciConfigSpace.Command, (ushort)(ReadConfig16(PciConfigSpace.Command) | PciConfigSpace.CommandBusMaster | PciConfigSpace.CommandMemorySpace));

    /// <inheritdoc/>
    public bool Reset() => false; // QEMU's vmxnet3 has no function-level reset

    /// <inheritdoc/>
    public IReadOnlyList<EventFd> EnableMsix(int vectors)
    {
        DisableMsix();
        if (vectors > Vmxnet3Layout.MaxInterrupts)
            Violations.Add($"{vectors} MSI-X vectors; the device has {Vmxnet3Layout.MaxInterrupts}");
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
        if (Active)
            Violations.Add("given back while active (no QUIESCE_DEV)");
        DisableMsix();
        _dma.Dispose();
        Disposed = true;
    }

    // ---- registers ----

    private uint ReadVd(int offset) => offset switch
    {
        Vmxnet3Layout.Vrrs or Vmxnet3Layout.Uvrs => Revisions,
        Vmxnet3Layout.Cmd => CommandResult(),
        Vmxnet3Layout.Macl => (uint)(Mac[0] | Mac[1] << 8 | Mac[2] << 16 | Mac[3] << 24),
        Vmxnet3Layout.Mach => (uint)(Mac[4] | Mac[5] << 8),
        _ => 0,
    };

    private void WriteVd(int offset, uint value)
    {
        switch (offset)
        {
            case Vmxnet3Layout.Vrrs:
                if ((value & ~Revisions) != 0 || value == 0)
                    Violations.Add($"VRRS {value}: a revision the device did not offer");
                _revisionSelected = true;
                break;
            case Vmxnet3Layout.Uvrs:
                _uptSelected = true;
                break;
            case Vmxnet3Layout.Dsal:
                _dsal = value;
                _dsalWritten = true;
                _shared = 0;
                break;
            case Vmxnet3Layout.Dsah:
                if (!_dsalWritten)
                    Violations.Add("DSAH before DSAL");
                _shared = _dsal | (ulong)value << 32;
                _dsalWritten = false;
                break;
            case Vmxnet3Layout.Cmd:
                Command(value);
                break;
            case Vmxnet3Layout.Ecr:
                if (_shared != 0)
                {
                    Span<byte> s = _dma.Span(_shared, Vmxnet3Layout.SharedLength);
                    Mmio.Write32(s, Vmxnet3Layout.SharedEcr, Mmio.Read32(s, Vmxnet3Layout.SharedEcr) & ~value);
                }
                break;
        }
    }

    private void WritePt(int offset, uint value)
    {
        if (offset < Vmxnet3Layout.MaxInterrupts * 8 && offset % 8 == 0)
        {
            int v = offset / 8;
            _masked[v] = value != 0;
            Update(v);
            return;
        }
        if (!Active)
        {
            Violations.Add($"BAR 0 write at 0x{offset:x} with the device inactive (QEMU ignores it)");
            return;
        }
        if (offset >= Vmxnet3Layout.TxProd && offset < Vmxnet3Layout.TxProd + 8 * Vmxnet3Layout.MaxTxQueues)
        {
            Doorbells++;
            if (!HoldTransmit)
                ProcessTransmit((offset - Vmxnet3Layout.TxProd) / 8);
        }
    }

    private uint _result;

    private uint CommandResult() => _result;

    private void Command(uint command)
    {
        Commands.Add(command);
        _result = 0;
        switch (command)
        {
            case Vmxnet3Layout.CmdActivateDev:
                Activate();
                _result = Active ? 0u : 1u;
                break;
            case Vmxnet3Layout.CmdQuiesceDev:
                Active = false;
                break;
            case Vmxnet3Layout.CmdResetDev:
                Active = false;
                _shared = 0;
                Array.Fill(_masked, true);
                Array.Clear(_pending);
                break;
            case Vmxnet3Layout.CmdGetLink:
                _result = Link ? (1000u << 16) | 1 : 0;
                break;
            case Vmxnet3Layout.CmdGetQueueStatus:
                WriteQueueStatus();
                break;
            case Vmxnet3Layout.CmdUpdateRxMode:
                if (_shared == 0)
                    Violations.Add("UPDATE_RX_MODE without a shared area");
                break;
            case Vmxnet3Layout.CmdUpdateRssIdt:
                if (!Active || (Features & Vmxnet3Layout.FeatureRss) == 0)
                    Violations.Add("UPDATE_RSSIDT on a device not active with UPT1_F_RSS");
                else
                    ReadRssConf(_dma.Span(_shared, Vmxnet3Layout.SharedLength));
                break;
        }
    }

    private void ReadRssConf(Span<byte> s)
    {
        uint length = Mmio.Read32(s, Vmxnet3Layout.RssConfDesc + 4);
        if (Mmio.Read32(s, Vmxnet3Layout.RssConfDesc) != 1 || length != Vmxnet3Layout.RssConfLength)
            Violations.Add($"rssConfDesc version {Mmio.Read32(s, Vmxnet3Layout.RssConfDesc)} length {length}");
        RssConf = _dma.Span(Mmio.Read64(s, Vmxnet3Layout.RssConfDesc + 8), Vmxnet3Layout.RssConfLength).ToArray();
        int keySize = BinaryPrimitives.ReadUInt16LittleEndian(RssConf.AsSpan(4)), tableSize = BinaryPrimitives.ReadUInt16LittleEndian(RssConf.AsSpan(6));
        if (keySize > 40 || tableSize > 128)
            Violations.Add($"UPT1_RSSConf hashKeySize {keySize}, indTableSize {tableSize}: past UPT1_RSS_MAX_KEY_SIZE, UPT1_RSS_MAX_IND_TABLE_SIZE");
    }

    /// <summary>vmxnet3_activate_device: the checks QEMU makes (some as asserts that would kill it), then the rings from the queue descriptors.</summary>
    private void Activate()
    {
        if (!_revisionSelected || !_uptSelected)
            Violations.Add("ACTIVATE_DEV before VRRS and UVRS were written");
        if (!BusMastering)
            Violations.Add("ACTIVATE_DEV without bus mastering");
        if (_shared == 0)
        {
            Violations.Add("ACTIVATE_DEV without DSAL and DSAH");
            return;
        }
        if (RefuseActivation)
            return;
        Span<byte> s = _dma.Span(_shared, Vmxnet3Layout.SharedLength);
        if (Mmio.Read32(s, Vmxnet3Layout.SharedMagic) != Vmxnet3Layout.Magic)
        {
            Violations.Add("magic is not VMXNET3_REV1_MAGIC");
            return;
        }
        uint mtu = Mmio.Read32(s, Vmxnet3Layout.SharedMtu);
        if (mtu < 60 || mtu > 9000)
            Violations.Add($"misc.mtu {mtu} (QEMU asserts 60..9000)");
        int txq = s[Vmxnet3Layout.NumTxQueues], rxq = s[Vmxnet3Layout.NumRxQueues];
        if (txq is < 1 or > Vmxnet3Layout.MaxTxQueues || rxq is < 1 or > Vmxnet3Layout.MaxRxQueues)
            Violations.Add($"{txq} transmit, {rxq} receive queues");
        int intrs = s[Vmxnet3Layout.NumIntrs];
        if (intrs != _vectors.Length)
            Violations.Add($"numIntrs {intrs}, MSI-X vectors enabled {_vectors.Length}");
        _autoMask = s[Vmxnet3Layout.AutoMask] != 0;
        _maxRxFrags = Math.Max((int)Mmio.Read16(s, Vmxnet3Layout.MaxNumRxSg), 1); // vmxnet3_activate_device: 0 means 1
        Features = Mmio.Read64(s, Vmxnet3Layout.UptFeatures);
        RssConf = null;
        if ((Features & Vmxnet3Layout.FeatureRss) != 0)
            ReadRssConf(s);
        ulong table = Mmio.Read64(s, Vmxnet3Layout.QueueDescPa);
        _queueTable = table;
        _stopped.Clear();
        if (table % 128 != 0)
            Violations.Add("the queue descriptor table is not VMXNET3_QUEUE_DESC_ALIGN-aligned");
        if (Mmio.Read32(s, Vmxnet3Layout.QueueDescLen) != (uint)((txq + rxq) * Vmxnet3Layout.QueueDescLength))
            Violations.Add("queueDescLen does not cover the queues");
        _tx = new TxQueue[txq];
        Sent = new List<(uint, uint, uint, int, byte[])>[txq];
        for (int i = 0; i < txq; i++)
        {
            Span<byte> d = _dma.Span(table + (ulong)(i * Vmxnet3Layout.QueueDescLength), Vmxnet3Layout.QueueDescLength);
            var q = new TxQueue { Vector = d[Vmxnet3Layout.TxIntrIdx] };
            q.Ring.Base = Mmio.Read64(d, Vmxnet3Layout.TxRingBase);
            q.Ring.Size = (int)Mmio.Read32(d, Vmxnet3Layout.TxRingSize);
            q.Completion.Base = Mmio.Read64(d, Vmxnet3Layout.TxCompRingBase);
            q.Completion.Size = (int)Mmio.Read32(d, Vmxnet3Layout.TxCompRingSize);
            CheckRing(q.Ring, $"tx ring {i}");
            CheckRing(q.Completion, $"tx completion ring {i}");
            CheckVector(q.Vector, intrs);
            _dma.Span(q.Completion.Base, q.Completion.Size * 16).Clear(); // as vmxnet3_ring_init(zero_region)
            _tx[i] = q;
            Sent[i] = [];
        }
        _rx = new RxQueue[rxq];
        for (int i = 0; i < rxq; i++)
        {
            ulong at = table + (ulong)((txq + i) * Vmxnet3Layout.QueueDescLength);
            Span<byte> d = _dma.Span(at, Vmxnet3Layout.QueueDescLength);
            var q = new RxQueue { Vector = d[Vmxnet3Layout.RxIntrIdx], Desc = at };
            q.Ring1.Base = Mmio.Read64(d, Vmxnet3Layout.RxRingBase);
            q.Ring1.Size = (int)Mmio.Read32(d, Vmxnet3Layout.RxRingSize);
            q.Ring2.Base = Mmio.Read64(d, Vmxnet3Layout.RxRingBase + 8);
            q.Ring2.Size = (int)Mmio.Read32(d, Vmxnet3Layout.RxRingSize + 4);
            q.Completion.Base = Mmio.Read64(d, Vmxnet3Layout.RxCompRingBase);
            q.Completion.Size = (int)Mmio.Read32(d, Vmxnet3Layout.RxCompRingSize);
            CheckRing(q.Ring1, $"rx ring 1 of {i}");
            CheckRing(q.Ring2, $"rx ring 2 of {i}");
            CheckRing(q.Completion, $"rx completion ring {i}");
            CheckVector(q.Vector, intrs);
            if (q.Completion.Size < q.Ring1.Size + q.Ring2.Size)
                Violations.Add($"rx completion ring {i} smaller than its two rings");
            _dma.Span(q.Completion.Base, q.Completion.Size * 16).Clear();
            _rx[i] = q;
        }
        Active = true;
    }

    private void CheckRing(Ring ring, string name)
    {
        if (ring.Base % Vmxnet3Layout.RingAlign != 0)
            Violations.Add($"{name} at 0x{ring.Base:x}: not VMXNET3_RING_BA_ALIGN-aligned");
        if (ring.Size == 0 || ring.Size % Vmxnet3Layout.RingSizeAlign != 0)
            Violations.Add($"{name} of {ring.Size}: not a multiple of VMXNET3_RING_SIZE_ALIGN");
        _ = _dma.Span(ring.Base, ring.Size * 16); // mapped, or the test fails here
    }

    private void CheckVector(int vector, int intrs)
    {
        if (vector >= intrs)
            Violations.Add($"intrIdx {vector} of {intrs} vectors");
    }

    // ---- interrupts (vmxnet3_trigger_interrupt, vmxnet3_update_interrupt_line_state) ----

    private void Trigger(int vector)
    {
        _pending[vector] = true;
        Update(vector);
    }

    private void Update(int vector)
    {
        if (!_pending[vector] || _masked[vector] || vector >= _vectors.Length)
            return;
        _vectors[vector].Signal();
        _pending[vector] = false;
        if (_autoMask)
            _masked[vector] = true;
    }

    // ---- the device's behaviour ----

    /// <summary>Sets the link up or down: VMXNET3_ECR_LINK in the shared area's ecr, the event vector raised.</summary>
    public void SetLink(bool up)
    {
        Link = up;
        if (_shared == 0)
            return;
        Span<byte> s = _dma.Span(_shared, Vmxnet3Layout.SharedLength);
        Mmio.Write32(s, Vmxnet3Layout.SharedEcr, Mmio.Read32(s, Vmxnet3Layout.SharedEcr) | Vmxnet3Layout.EventLink);
        Trigger(s[Vmxnet3Layout.EventIntrIdx]);
    }

    /// <summary>
    /// Stops transmit (or receive) queue <paramref name="queue"/> on <paramref name="error"/>, as
    /// VMware's device does on a bad descriptor (QEMU's model never does): VMXNET3_ECR_TQERR (_RQERR)
    /// in ecr, the event vector raised; the status is written at VMXNET3_CMD_GET_QUEUE_STATUS.
    /// </summary>
    public void StopQueue(bool transmit, int queue, uint error)
    {
        _stopped[transmit ? queue : _tx.Length + queue] = error;
        Span<byte> s = _dma.Span(_shared, Vmxnet3Layout.SharedLength);
        uint ev = transmit ? Vmxnet3Layout.EventTxQueueError : Vmxnet3Layout.EventRxQueueError;
        Mmio.Write32(s, Vmxnet3Layout.SharedEcr, Mmio.Read32(s, Vmxnet3Layout.SharedEcr) | ev);
        Trigger(s[Vmxnet3Layout.EventIntrIdx]);
    }

    /// <summary>VMXNET3_CMD_GET_QUEUE_STATUS: status.stopped and status.error of every queue descriptor, into the driver's memory.</summary>
    private void WriteQueueStatus()
    {
        if (_shared == 0)
        {
            Violations.Add("GET_QUEUE_STATUS without a shared area");
            return;
        }
        for (int d = 0; d < _tx.Length + _rx.Length; d++)
        {
            Span<byte> desc = _dma.Span(_queueTable + (ulong)(d * Vmxnet3Layout.QueueDescLength), Vmxnet3Layout.QueueDescLength);
            bool stopped = _stopped.TryGetValue(d, out uint error);
            desc[Vmxnet3Layout.QueueStopped] = stopped ? (byte)1 : (byte)0;
            Mmio.Write32(desc, Vmxnet3Layout.QueueError, stopped ? error : 0);
        }
    }

    /// <summary>vmxnet3_process_tx_queue: every descriptor whose gen is the ring's, frame by frame to eop, a completion each.</summary>
    public void ProcessTransmit(int queue)
    {
        TxQueue q = _tx[queue];
        var frame = new List<byte>();
        uint om = 0, hlen = 0, msscof = 0;
        int descriptors = 0;
        while (true)
        {
            Span<byte> d = _dma.Span(q.Ring.Base + (ulong)(q.Ring.Next * 16), 16);
            uint dword2 = Mmio.Read32(d, 8);
            if ((dword2 >> Vmxnet3Layout.TxGenShift & 1) != q.Ring.Gen)
            {
                if (descriptors > 0)
                    Violations.Add("a frame's descriptors handed over without its eop");
                return;
            }
            uint dword3 = Mmio.Read32(d, 12);
            ulong address = Mmio.Read64(d, 0);
            int length = (int)(dword2 & Vmxnet3Layout.TxLengthMask);
            if (length == 0)
                length = Vmxnet3Layout.MaxTxBuffer;
            if (descriptors == 0)
            {
                om = (dword3 >> Vmxnet3Layout.TxOmShift) & 3;
                hlen = dword3 & Vmxnet3Layout.TxHlenMask;
                msscof = dword2 >> Vmxnet3Layout.TxMsscofShift;
            }
            else if ((dword3 & ~(Vmxnet3Layout.TxEop | Vmxnet3Layout.TxCq)) != 0 || dword2 >> Vmxnet3Layout.TxMsscofShift != 0)
            {
                Violations.Add("offload fields on a descriptor after the first");
            }
            frame.AddRange(_dma.Span(address, length).ToArray());
            descriptors++;
            int index = q.Ring.Next;
            q.Ring.Advance();
            if ((dword3 & Vmxnet3Layout.TxEop) == 0)
                continue;
            Sent[queue].Add((om, hlen, msscof, descriptors, frame.ToArray()));
            frame.Clear();
            descriptors = 0;
            // vmxnet3_complete_packet: txdIdx = the eop descriptor, gen = the completion ring's.
            Span<byte> c = _dma.Span(q.Completion.Base + (ulong)(q.Completion.Next * 16), 16);
            Mmio.Write32(c, 0, (uint)index);
            Mmio.Write32(c, 12, q.Completion.Gen << Vmxnet3Layout.CompGenShift);
            q.Completion.Advance();
            Trigger(q.Vector);
        }
    }

    /// <summary>
    /// vmxnet3_indicate_packet on queue <paramref name="queue"/>: the frame into the next head buffer
    /// of rx ring 1 (a frame longer than the buffer is cut and its completion has err), one
    /// completion with sop, eop and <paramref name="checksum"/> (dword 3 bits: v4, ipc, tcp, tuc...;
    /// cnc in dword 0 when <paramref name="notCalculated"/>), and rssType and rssHash as a device
    /// with RSS writes them (QEMU 7.2's writes 0). False when no buffer or completion is free.
    /// </summary>
    public bool Inject(int queue, byte[] frame, uint checksum = 0, bool notCalculated = true, uint rssType = 0, uint rssHash = 0)
    {
        if (!Active || !Link)
            return false;
        RxQueue q = _rx[queue];
        Span<byte> c = _dma.Span(q.Completion.Base + (ulong)(q.Completion.Next * 16), 16);
        if (Mmio.Read32(c, 12) >> 31 == q.Completion.Gen)
        {
            Violations.Add("the completion ring is full: the driver left completions unread");
            ReceiveDropped++;
            return false;
        }
        Span<byte> d = _dma.Span(q.Ring1.Base + (ulong)(q.Ring1.Next * 16), 16);
        uint dword2 = Mmio.Read32(d, 8);
        if (dword2 >> 31 != q.Ring1.Gen)
        {
            ReceiveDropped++;
            return false;
        }
        if ((dword2 & Vmxnet3Layout.RxBodyBuffer) != 0)
            Violations.Add("a body buffer on rx ring 1");
        int room = (int)(dword2 & Vmxnet3Layout.RxLengthMask);
        int length = Math.Min(room, frame.Length);
        frame.AsSpan(0, length).CopyTo(_dma.Span(Mmio.Read64(d, 0), length));
        int index = q.Ring1.Next;
        q.Ring1.Advance();
        uint dword0 = (uint)index | Vmxnet3Layout.RxCompSop | Vmxnet3Layout.RxCompEop | ((uint)queue << Vmxnet3Layout.RxCompRqIdShift)
            | (notCalculated ? Vmxnet3Layout.RxCompCnc : 0) | (rssType << Vmxnet3Layout.RxCompRssTypeShift);
        Mmio.Write32(c, 0, dword0);
        Mmio.Write32(c, 4, rssHash);
        Mmio.Write32(c, 8, (uint)length | (length < frame.Length ? Vmxnet3Layout.RxCompErr : 0));
        Mmio.FullBarrier();
        Mmio.Write32(c, 12, checksum | (3u << 24) | (q.Completion.Gen << 31)); // type VMXNET3_CDTYPE_RXCOMP
        q.Completion.Advance();
        Trigger(q.Vector);
        return true;
    }

    /// <summary>Body buffers on rx ring 2 of queue <paramref name="queue"/> the device has not used.</summary>
    public int Ring2Available(int queue)
    {
        Ring r = _rx[queue].Ring2;
        int n = 0, next = r.Next;
        uint gen = r.Gen;
        for (int k = 0; k < r.Size; k++)
        {
            if (Mmio.Read32(_dma.Span(r.Base + (ulong)(next * 16), 16), 8) >> 31 != gen)
                break;
            n++;
            if (++next == r.Size)
            {
                next = 0;
                gen ^= 1;
            }
        }
        return n;
    }

    /// <summary>
    /// A frame delivered as QEMU 7.2's vmxnet3_indicate_packet does for a compound-receive guest: the
    /// head into ring 1's next head buffer, the rest into body buffers (ring 1's next when it is a
    /// body, else ring 2's, vmxnet3_get_next_body_rx_descr), at most misc.maxNumRxSG buffers; one
    /// completion a buffer (rqID = queue, or queue + numRxQueues for ring 2), sop on the first, the
    /// checksum bits <paramref name="checksum"/> and eop on the last, err there when the frame did
    /// not fit. Returns the buffers used (0: no head buffer, nothing written).
    /// </summary>
    public int InjectCompound(int queue, byte[] frame, uint checksum = 0, bool notCalculated = true)
    {
        if (!Active || !Link)
            return 0;
        RxQueue q = _rx[queue];
        var pieces = new List<(uint Dword0, int Length)>();
        int copied = 0;
        while (copied < frame.Length && pieces.Count < _maxRxFrags)
        {
            bool head = pieces.Count == 0;
            if (!NextRxDescriptor(q, head, out Ring? ring, out ulong address, out int room, out int index))
                break;
            int chunk = Math.Min(room, frame.Length - copied);
            frame.AsSpan(copied, chunk).CopyTo(_dma.Span(address, chunk));
            copied += chunk;
            uint rqId = (uint)(ring == q.Ring1 ? queue : queue + _rx.Length);
            pieces.Add(((uint)index | (head ? Vmxnet3Layout.RxCompSop : 0) | (rqId << Vmxnet3Layout.RxCompRqIdShift), chunk));
        }
        if (pieces.Count == 0)
        {
            ReceiveDropped++;
            return 0;
        }
        for (int k = 0; k < pieces.Count; k++)
        {
            bool last = k == pieces.Count - 1;
            uint dword0 = pieces[k].Dword0 | (last ? Vmxnet3Layout.RxCompEop | (notCalculated ? Vmxnet3Layout.RxCompCnc : 0) : 0);
            uint dword2 = (uint)pieces[k].Length | (last && copied < frame.Length ? Vmxnet3Layout.RxCompErr : 0);
            WriteCompletion(queue, dword0, dword2, last ? checksum : 0);
        }
        if (copied < frame.Length)
            ReceiveDropped++;
        return pieces.Count;
    }

    /// <summary>One receive completion as given, with the ring's gen written last, and the queue's vector raised: for a device that misbehaves.</summary>
    public void WriteCompletion(int queue, uint dword0, uint dword2, uint dword3 = 0)
    {
        RxQueue q = _rx[queue];
        Span<byte> c = _dma.Span(q.Completion.Base + (ulong)(q.Completion.Next * 16), 16);
        if (Mmio.Read32(c, 12) >> 31 == q.Completion.Gen)
            Violations.Add("the completion ring is full: the driver left completions unread");
        Mmio.Write32(c, 0, dword0);
        Mmio.Write32(c, 4, 0);
        Mmio.Write32(c, 8, dword2);
        Mmio.FullBarrier();
        Mmio.Write32(c, 12, dword3 | (3u << 24) | (q.Completion.Gen << 31));
        q.Completion.Advance();
        Trigger(q.Vector);
    }

    /// <summary>
    /// Takes the next buffer of rx ring 1 (<paramref name="ring"/> 1) or ring 2 without a
    /// completion, as a device that consumed it; its slot, for <see cref="WriteCompletion"/>.
    /// </summary>
    public int TakeRxBuffer(int queue, int ring)
    {
        RxQueue q = _rx[queue];
        Ring r = ring == 1 ? q.Ring1 : q.Ring2;
        Span<byte> d = _dma.Span(r.Base + (ulong)(r.Next * 16), 16);
        if (Mmio.Read32(d, 8) >> 31 != r.Gen)
            Violations.Add($"no buffer on rx ring {ring} to take");
        int index = r.Next;
        r.Advance();
        return index;
    }

    private bool NextRxDescriptor(RxQueue q, bool head, out Ring? ring, out ulong address, out int room, out int index)
    {
        ring = null;
        address = 0;
        room = index = 0;
        Ring r1 = q.Ring1;
        while (true)
        {
            Span<byte> d = _dma.Span(r1.Base + (ulong)(r1.Next * 16), 16);
            uint dword2 = Mmio.Read32(d, 8);
            if (dword2 >> 31 != r1.Gen)
                break;
            bool body = (dword2 & Vmxnet3Layout.RxBodyBuffer) != 0;
            if (head && body)
            {
                r1.Advance(); // vmxnet3_get_next_head_rx_descr skips a body buffer on ring 1
                continue;
            }
            if (!head && !body)
                break; // the next head is the next frame's: a body comes from ring 2
            (ring, address, room, index) = (r1, Mmio.Read64(d, 0), (int)(dword2 & Vmxnet3Layout.RxLengthMask), r1.Next);
            r1.Advance();
            return true;
        }
        if (head)
            return false;
        Ring r2 = q.Ring2;
        Span<byte> d2 = _dma.Span(r2.Base + (ulong)(r2.Next * 16), 16);
        uint w = Mmio.Read32(d2, 8);
        if (w >> 31 != r2.Gen)
            return false;
        if ((w & Vmxnet3Layout.RxBodyBuffer) == 0)
            Violations.Add("a head buffer on rx ring 2 (QEMU asserts VMXNET3_RXD_BTYPE_BODY)");
        (ring, address, room, index) = (r2, Mmio.Read64(d2, 0), (int)(w & Vmxnet3Layout.RxLengthMask), r2.Next);
        r2.Advance();
        return true;
    }

    private sealed class Registers(FakeVmxnet3Device device, int index) : IMmioRegion
    {
        public int Length => 4096;

        public byte Read8(int offset) => (byte)Read32(offset);

        public ushort Read16(int offset) => (ushort)Read32(offset);

        public uint Read32(int offset) => index == 1 ? device.ReadVd(offset)
            : offset < Vmxnet3Layout.MaxInterrupts * 8 ? (device._masked[offset / 8] ? 1u : 0u) : 0;

        public ulong Read64(int offset) => Read32(offset);

        public void Write8(int offset, byte value) => device.Violations.Add($"8-bit write to BAR {index} at 0x{offset:x}");

        public void Write16(int offset, ushort value) => device.Violations.Add($"16-bit write to BAR {index} at 0x{offset:x}");

        public void Write32(int offset, uint value)
        {
            if (index == 1)
                device.WriteVd(offset, value);
            else
                device.WritePt(offset, value);
        }

        public void Write64(int offset, ulong value) => device.Violations.Add($"64-bit write to BAR {index} at 0x{offset:x}");
    }
}
