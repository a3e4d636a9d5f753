using Dataplane.Buffers;
using Dataplane.Engine;
using Dataplane.Native;
using Dataplane.Ports;
using Dataplane.Wire;

namespace Dataplane.Drivers.Vfio.Vmxnet3;

/// <summary>
/// A VMware VMXNET3 (PCI 15ad:07b0) driven through an <see cref="IPciFunction"/>: the <c>vfio</c>
/// driver's port for it. Opening selects revision 1 and UPT version 1 (VMXNET3_REG_VRRS, _UVRS),
/// quiesces and resets what the kernel driver left, writes the driver-shared area
/// (<c>Vmxnet3_DriverShared</c>) and the queue descriptor table into DMA memory, hands the area's
/// address over (VMXNET3_REG_DSAL, then _DSAH) and activates the device (VMXNET3_CMD_ACTIVATE_DEV),
/// as the Linux driver's vmxnet3_activate_dev does. Queue pair i is transmit queue i and receive
/// queue i; MSI-X vector 0 takes device events (link), 1 + i receive queue i, 1 + N + i transmit
/// queue i (always masked: completions are polled). Stop and dispose quiesce and reset the device
/// so the kernel driver can take it back. Control side; the data path is <see cref="Vmxnet3Queue"/>.
/// </summary>
internal sealed class Vmxnet3Port : IPort, IFlowSteering, IDeviceFaults
{
    /// <summary>Entries of each transmit ring, transmit completion ring and rx ring 1 (a multiple of VMXNET3_RING_SIZE_ALIGN).</summary>
    public const int RingSize = 256;

    /// <summary>
    /// Entries of rx ring 2: body buffers with LRO, empty without. 1,024 of 2 KiB hold 2 MiB, as
    /// Linux's 512 pages: with 256 (8 super-frames of 64 KiB) QEMU ran out of bodies in the guest's
    /// iperf3 forwarding and cut 3,133 of 18,344 frames short (err on the eop).
    /// </summary>
    public const int Ring2Size = 4 * RingSize;

    /// <summary>
    /// misc.maxNumRxSG with LRO: buffers one frame may span, a head and bodies. 64 of at least
    /// 1,024 bytes hold the largest super-frame the tap backend hands QEMU (64 KiB and headers);
    /// the Linux driver gives 1 + MAX_SKB_FRAGS pages. Without LRO, 1.
    /// </summary>
    public const int MaxFrameBuffers = 64;

    /// <summary>Entries of each receive completion ring: one per descriptor of both rings.</summary>
    public const int RxCompletionSize = RingSize + Ring2Size;

    private const int RssConfOffset = 832;          // UPT1_RSSConf (176 bytes) after the 800-byte shared area
    private const int DescriptorTableOffset = 1024; // then the queue descriptors, VMXNET3_QUEUE_DESC_ALIGN-aligned

    private readonly IPciFunction _function;
    private readonly IMmioRegion _pt;  // BAR 0
    private readonly IMmioRegion _vd;  // BAR 1
    private readonly Vmxnet3Channel[] _channels;
    private readonly IReadOnlyList<EventFd> _vectors;
    private readonly DmaRegion _memory;
    private readonly string _where;
    private readonly bool _tso;
    private readonly bool _lro;
    private readonly object _commands = new(); // VMXNET3_REG_CMD is a write then a read: one at a time
    private bool _promiscuous;
    private bool _initialized;
    private byte[] _rssKey = ToeplitzHash.SymmetricKey.ToArray();
    private RssIndirectionTable? _owners; // the engine's, once it said (SteerFlows)
    private bool _disposed;
    private string? _failure;

    private Vmxnet3Port(string name, IPciFunction function, IMmioRegion pt, IMmioRegion vd, int queues, ushort portIndex,
        bool tso, bool lro, int mtu, string where)
    {
        Name = name;
        _function = function;
        _pt = pt;
        _vd = vd;
        _where = where;
        _tso = tso;
        _lro = lro;
        Mtu = mtu;
        PortIndex = portIndex;
        _channels = new Vmxnet3Channel[queues];
        for (int q = 0; q < queues; q++)
            _channels[q] = new Vmxnet3Channel();
        _vectors = function.EnableMsix(1 + 2 * queues);
        for (int q = 0; q < queues; q++)
            _channels[q].Interrupt = _vectors[1 + q];
        _memory = function.Dma.Allocate(RingsOffset(queues) + ChannelBytes * queues);
    }

    /// <summary>Bytes of one queue pair's rings: transmit, transmit completion, rx ring 1, rx ring 2, receive completion.</summary>
    private const int ChannelBytes = (3 * RingSize + Ring2Size + RxCompletionSize) * Vmxnet3Layout.DescriptorLength;

    private static int RingsOffset(int queues) =>
        Align(DescriptorTableOffset + 2 * queues * Vmxnet3Layout.QueueDescLength, Vmxnet3Layout.RingAlign);

    private static int Align(int bytes, int to) => (bytes + to - 1) & ~(to - 1);

    /// <inheritdoc/>
    public string Name { get; }

    /// <inheritdoc/>
    public string Driver => "vfio";

    /// <summary>The device model, as ifconfig shows it after the driver: "vmxnet3".</summary>
    public string Mode => "vmxnet3";

    /// <summary>The PCI function's address.</summary>
    public string Address => _function.Address;

    /// <summary>The port's number in the config, written into each received frame's metadata.</summary>
    public ushort PortIndex { get; }

    /// <inheritdoc/>
    public int QueueCount => _channels.Length;

    /// <summary>The device's MAC, from VMXNET3_REG_MACL and _MACH.</summary>
    public MacAddress Mac { get; private set; }

    /// <summary>The config's MTU, else 1500; written into misc.mtu.</summary>
    public int Mtu { get; }

    /// <summary>The driver-shared area, for tests.</summary>
    internal DmaRegion Shared => _memory.Slice(0, Vmxnet3Layout.SharedLength);

    /// <summary>VMXNET3_CMD_GET_LINK: bit 0 of the answer; down once a queue stopped on an error (<see cref="Failure"/>).</summary>
    public bool LinkUp => !_disposed && _failure is null && (Command(Vmxnet3Layout.CmdGetLink) & 1) != 0;

    /// <inheritdoc/>
    public string? Failure => _failure;

    /// <summary>
    /// Takes the device's events (<see cref="TakeEvents"/>) and drains the event vector. After
    /// VMXNET3_ECR_TQERR or _RQERR, VMXNET3_CMD_GET_QUEUE_STATUS has the device write every queue's
    /// status, and each stopped queue is a fatal fault with its error code, as the Linux driver's
    /// vmxnet3_process_events logs them. Linux then resets the device (vmxnet3_reset_work); here it
    /// is not reset while the workers run (quiesce and reset take every ring from them, and the
    /// engine cannot stop one port's queues alone), so the port stays down until a restart.
    /// VMXNET3_ECR_LINK needs nothing more: <see cref="LinkUp"/> asks GET_LINK.
    /// </summary>
    public void CheckFaults(List<DeviceFault> faults)
    {
        ArgumentNullException.ThrowIfNull(faults);
        if (_disposed || !_initialized)
            return;
        _vectors[0].Drain();
        ReportReceiveDrops(faults);
        uint events = TakeEvents();
        if ((events & (Vmxnet3Layout.EventTxQueueError | Vmxnet3Layout.EventRxQueueError)) == 0)
            return;
        Command(Vmxnet3Layout.CmdGetQueueStatus);
        Span<byte> table = _memory.Span.Slice(DescriptorTableOffset, 2 * _channels.Length * Vmxnet3Layout.QueueDescLength);
        int stopped = 0;
        for (int d = 0; d < 2 * _channels.Length; d++)
        {
            Span<byte> desc = table.Slice(d * Vmxnet3Layout.QueueDescLength, Vmxnet3Layout.QueueDescLength);
            if (Mmio.Read8(desc, Vmxnet3Layout.QueueStopped) == 0)
                continue;
            bool tx = d < _channels.Length;
            int q = tx ? d : d - _channels.Length;
            uint error = Mmio.Read32(desc, Vmxnet3Layout.QueueError);
            faults.Add(new DeviceFault(tx ? "transmit queue error" : "receive queue error",
                $"{(tx ? "tq" : "rq")}[{q}] stopped, error 0x{error:x} (VMXNET3_ECR_{(tx ? "TQERR" : "RQERR")})", Fatal: true));
            stopped++;
        }
        if (stopped == 0)
        {
            // The event without a stopped queue: counted, and the device left running.
            faults.Add(new DeviceFault("queue error event", $"ecr 0x{events:x} but no queue stopped"));
            return;
        }
        _failure ??= $"{stopped} queue{(stopped == 1 ? "" : "s")} stopped on an error, the device not reset while running";
    }

    /// <summary>
    /// The receive queues' drops by name since the last look (<see cref="Vmxnet3ReceiveCounters"/>,
    /// written by the workers, read here as a stat: a count one look late is no harm), as faults
    /// that are not fatal, so ifconfig and the log name them.
    /// </summary>
    private void ReportReceiveDrops(List<DeviceFault> faults)
    {
        long unknown = 0, headless = 0, noEop = 0, tooMany = 0, truncated = 0;
        foreach (Vmxnet3Channel channel in _channels)
        {
            Vmxnet3ReceiveCounters c = channel.Received;
            unknown += Volatile.Read(ref c.UnknownBuffer);
            headless += Volatile.Read(ref c.BodyWithoutHead);
            noEop += Volatile.Read(ref c.MissingEop);
            tooMany += Volatile.Read(ref c.TooManyBuffers);
            truncated += Volatile.Read(ref c.Truncated);
        }
        Report(faults, 0, unknown, "receive completion of no buffer", "a completion naming a ring or slot the driver did not fill");
        Report(faults, 1, headless, "receive body without head", "a body buffer's completion with no frame begun, or a sop on rx ring 2");
        Report(faults, 2, noEop, "receive frame without eop", "a frame's sop came before the last frame's eop");
        Report(faults, 3, tooMany, "receive frame of too many buffers", $"a frame of more than {MaxFrameBuffers} buffers (maxNumRxSG)");
        Report(faults, 4, truncated, "receive frame cut short", "err on the eop (the device ran out of buffers or reached maxNumRxSG), or less than an Ethernet header");
    }

    private readonly long[] _dropsSeen = new long[5];

    private void Report(List<DeviceFault> faults, int which, long total, string name, string detail)
    {
        long n = total - _dropsSeen[which];
        _dropsSeen[which] = total;
        if (n > 0)
            faults.Add(new DeviceFault(name, detail, n));
    }

    /// <summary>The event vector's eventfd: readable after the device set an event (VMXNET3_ECR_LINK).</summary>
    public EventFd EventInterrupt => _vectors[0];

    /// <summary>
    /// The events the device set in the shared area's <c>ecr</c> (VMXNET3_ECR_*), acknowledged by
    /// writing them back to VMXNET3_REG_ECR, as the Linux driver's vmxnet3_process_events; after
    /// VMXNET3_ECR_LINK, <see cref="LinkUp"/> has the new state. Control path.
    /// </summary>
    public uint TakeEvents()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        uint events = Mmio.Read32(_memory.Span, Vmxnet3Layout.SharedEcr);
        if (events != 0)
            _vd.Write32(Vmxnet3Layout.Ecr, events);
        return events;
    }

    /// <summary>
    /// Checksums both ways (UPT1_F_RXCSUM, VMXNET3_OM_CSUM), TSO (VMXNET3_OM_TSO) when <c>tso</c> is
    /// on, several queues when asked, the RSS hash with the engine's key (frames whose hash is the
    /// engine's carry it), LRO (UPT1_F_LRO) when <c>lro</c> is on.
    /// </summary>
    public PortCapabilities Capabilities
    {
        get
        {
            PortCapabilities c = PortCapabilities.ReceiveChecksum | PortCapabilities.TransmitChecksum;
            if (_tso)
                c |= PortCapabilities.Tso;
            if (_lro)
                c |= PortCapabilities.Lro;
            if (_channels.Length > 1)
                c |= PortCapabilities.MultiQueue;
            if (ReportsHash)
                c |= PortCapabilities.RssHash;
            return c;
        }
    }

    /// <inheritdoc/>
    public QueueCounters Counters(int queue) => Channel(queue).Counters;

    /// <summary>
    /// Opens port <paramref name="name"/> on <paramref name="function"/> (a vmxnet3, which the port
    /// owns from here on and disposes on failure) with <paramref name="queues"/> queue pairs.
    /// <paramref name="tso"/> asks for VMXNET3_OM_TSO, <paramref name="lro"/> for UPT1_F_LRO. Throws
    /// <see cref="NativeException"/> naming the port and the address when the device cannot be
    /// driven (no revision 1, activation refused, an MTU out of range), with the device reset.
    /// </summary>
    public static Vmxnet3Port Open(string name, IPciFunction function, int queues = 1, ushort portIndex = 0,
        bool tso = false, bool lro = false, int? mtu = null)
    {
        ArgumentNullException.ThrowIfNull(function);
        string where = $"port {name}: vfio vmxnet3 on PCI {function.Address}";
        Vmxnet3Port? port = null;
        try
        {
            if (queues < 1 || queues > Vmxnet3Layout.MaxTxQueues)
                throw new NativeException($"{where}: {queues} queues asked for; the device takes 1 to {Vmxnet3Layout.MaxTxQueues} (VMXNET3_MAX_TX_QUEUES)");
            int size = mtu ?? 1500;
            if (size < 60 || size > 9000)
                throw new NativeException($"{where}: MTU {size}; the device takes 60 to 9000 (VMXNET3_MIN_MTU, VMXNET3_MAX_MTU)");
            IMmioRegion pt = function.Bar(0), vd = function.Bar(1);
            SelectRevision(vd, where);
            // Whatever the kernel driver left active stops before we let the device reach memory.
            vd.Write32(Vmxnet3Layout.Cmd, Vmxnet3Layout.CmdQuiesceDev);
            vd.Write32(Vmxnet3Layout.Cmd, Vmxnet3Layout.CmdResetDev);
            function.EnableBusMastering();
            port = new Vmxnet3Port(name, function, pt, vd, queues, portIndex, tso, lro, size, where);
            port.Mac = port.ReadMac();
            port.Initialize();
            return port;
        }
        catch (Exception e)
        {
            try
            {
                port?.QuiesceAndReset();
            }
            catch (NativeException)
            {
                // already failing
            }
            function.Dispose();
            if (e is NativeException native && !native.Message.StartsWith(where, StringComparison.Ordinal))
                throw new NativeException($"{where}: {native.Message}", native);
            throw;
        }
    }

    /// <summary>
    /// VMXNET3_REG_VRRS and _UVRS: each reads the revisions the device has (bit 0: revision 1) and
    /// takes the one the driver chose. This driver speaks revision 1 and UPT version 1.
    /// </summary>
    private static void SelectRevision(IMmioRegion vd, string where)
    {
        uint revisions = vd.Read32(Vmxnet3Layout.Vrrs);
        if ((revisions & 1) == 0)
            throw new NativeException($"{where}: the device does not offer vmxnet3 revision 1 (VRRS 0x{revisions:x})");
        vd.Write32(Vmxnet3Layout.Vrrs, 1);
        uint upt = vd.Read32(Vmxnet3Layout.Uvrs);
        if ((upt & 1) == 0)
            throw new NativeException($"{where}: the device does not offer UPT version 1 (UVRS 0x{upt:x})");
        vd.Write32(Vmxnet3Layout.Uvrs, 1);
    }

    private MacAddress ReadMac()
    {
        uint low = _vd.Read32(Vmxnet3Layout.Macl), high = _vd.Read32(Vmxnet3Layout.Mach);
        Span<byte> m = [(byte)low, (byte)(low >> 8), (byte)(low >> 16), (byte)(low >> 24), (byte)high, (byte)(high >> 8)];
        return new MacAddress(m);
    }

    /// <summary>Writes <paramref name="command"/> to VMXNET3_REG_CMD and reads back its result.</summary>
    private uint Command(uint command)
    {
        lock (_commands)
        {
            _vd.Write32(Vmxnet3Layout.Cmd, command);
            return _vd.Read32(Vmxnet3Layout.Cmd);
        }
    }

    /// <summary>
    /// The driver-shared area, the queue descriptor table and fresh rings, then DSAL, DSAH and
    /// VMXNET3_CMD_ACTIVATE_DEV, whose result must read 0; every vector masked but the event vector.
    /// </summary>
    private void Initialize()
    {
        _failure = null; // a reset before this took any stopped queue with it
        int queues = _channels.Length;
        Span<byte> s = _memory.Span[..RingsOffset(queues)];
        s.Clear();
        Mmio.Write32(s, Vmxnet3Layout.SharedMagic, Vmxnet3Layout.Magic);
        Mmio.Write32(s, Vmxnet3Layout.SharedSize, Vmxnet3Layout.SharedLength);
        Mmio.Write32(s, Vmxnet3Layout.DriverVersion, 0x01000000);
        // Vmxnet3_GOSInfo: gosBits VMXNET3_GOS_BITS_64 (2), gosType VMXNET3_GOS_TYPE_LINUX (1): QEMU
        // then uses compound receive (head and body buffers), as for every guest but Windows.
        Mmio.Write32(s, Vmxnet3Layout.DriverGos, 2u | (1u << 2));
        Mmio.Write32(s, Vmxnet3Layout.DriverRevisionSupport, 1);
        Mmio.Write32(s, Vmxnet3Layout.DriverUptSupport, 1);
        // UPT1_F_LRO: QEMU 7.2 turns the tap's TSO offloads on and hands up its super-frames over a
        // head buffer and body buffers (rx ring 2), so a frame may span MaxFrameBuffers (maxNumRxSG).
        Mmio.Write64(s, Vmxnet3Layout.UptFeatures, Vmxnet3Layout.FeatureRxChecksum | (queues > 1 ? Vmxnet3Layout.FeatureRss : 0)
            | (_lro ? Vmxnet3Layout.FeatureLro : 0));
        Mmio.Write64(s, Vmxnet3Layout.QueueDescPa, _memory.Iova + DescriptorTableOffset);
        Mmio.Write32(s, Vmxnet3Layout.QueueDescLen, (uint)(2 * queues * Vmxnet3Layout.QueueDescLength));
        Mmio.Write32(s, Vmxnet3Layout.SharedMtu, (uint)Mtu);
        Mmio.Write16(s, Vmxnet3Layout.MaxNumRxSg, (ushort)(_lro ? MaxFrameBuffers : 1));
        Mmio.Write8(s, Vmxnet3Layout.NumTxQueues, (byte)queues);
        Mmio.Write8(s, Vmxnet3Layout.NumRxQueues, (byte)queues);
        // Vmxnet3_IntrConf: autoMask (the device masks a vector as it raises it: one interrupt per
        // unmask), vector 0 for events; moderation levels 0 (UPT1_IML_NONE), intrCtrl 0 (enabled).
        Mmio.Write8(s, Vmxnet3Layout.AutoMask, 1);
        Mmio.Write8(s, Vmxnet3Layout.NumIntrs, (byte)_vectors.Count);
        Mmio.Write8(s, Vmxnet3Layout.EventIntrIdx, 0);
        Mmio.Write32(s, Vmxnet3Layout.RxMode, _promiscuous ? Vmxnet3Layout.RxModePromiscuous : Vmxnet3Layout.RxModeNormal);
        // rxFilterConf.vfTable: every VLAN ID, 0 (untagged) among them, as the Linux driver without
        // VLAN filtering: the device filters no tag, the stack decides.
        s.Slice(Vmxnet3Layout.VfTable, Vmxnet3Layout.VfTableLength).Fill(0xff);

        if (queues > 1)
            WriteRssConf(s);
        for (int q = 0; q < queues; q++)
            SetUpChannel(q);
        foreach (Vmxnet3Channel channel in _channels)
            channel.Receiver.TakeHash = ReportsHash;

        Mmio.FullBarrier(); // the area whole before the device is told where it is
        ulong shared = _memory.Iova;
        _vd.Write32(Vmxnet3Layout.Dsal, (uint)shared);
        _vd.Write32(Vmxnet3Layout.Dsah, (uint)(shared >> 32));
        uint result = Command(Vmxnet3Layout.CmdActivateDev);
        if (result != 0)
        {
            QuiesceAndReset();
            throw new NativeException($"{_where}: the device refused VMXNET3_CMD_ACTIVATE_DEV (result 0x{result:x})");
        }
        // QEMU resets every vector to masked; unmask events, keep the queues masked until idle.
        _pt.Write32(Vmxnet3Layout.Imr, 0);
        for (int v = 1; v < _vectors.Count; v++)
            _pt.Write32(Vmxnet3Layout.Imr + v * Vmxnet3Layout.RegisterStride, 1);
        _initialized = true;
    }

    /// <summary>
    /// Whether received frames carry the device's hash for the engine: more than one queue (RSS
    /// asked for) under a symmetric key of at most UPT1_RSS_MAX_KEY_SIZE bytes, the engine's.
    /// </summary>
    public bool ReportsHash => _channels.Length > 1 && _rssKey.Length <= Vmxnet3Layout.RssMaxKeySize && DeviceRss.IsSymmetric(_rssKey);

    /// <summary>
    /// The engine's placement: its key and its owners, for UPT1_RSSConf; when the device is active,
    /// written and applied now (VMXNET3_CMD_UPDATE_RSSIDT, as the Linux driver's vmxnet3_set_rss).
    /// Control path, with the workers not running.
    /// </summary>
    public void SteerFlows(ReadOnlySpan<byte> key, RssIndirectionTable owners)
    {
        ArgumentNullException.ThrowIfNull(owners);
        ObjectDisposedException.ThrowIf(_disposed, this);
        _rssKey = key.ToArray();
        _owners = owners;
        if (!_initialized || _channels.Length < 2)
            return;
        WriteRssConf(_memory.Span[..RingsOffset(_channels.Length)]);
        Mmio.FullBarrier(); // the configuration whole before the device reads it
        Command(Vmxnet3Layout.CmdUpdateRssIdt);
        foreach (Vmxnet3Channel channel in _channels)
            channel.Receiver.TakeHash = ReportsHash;
    }

    /// <summary>
    /// UPT1_RSSConf for more than one queue, as the Linux driver's vmxnet3_setup_driver_shared:
    /// Toeplitz over IPv4/IPv6 addresses and TCP ports with the engine's key (symmetric: both
    /// directions of a flow land on one queue), indTable[j] the queue of the worker that owns entry
    /// j of the engine's table over UPT1_RSS_MAX_IND_TABLE_SIZE entries (i mod queues until the
    /// engine says); rssConfDesc points at it. QEMU 7.2's model ignores it (one receive queue).
    /// </summary>
    private void WriteRssConf(Span<byte> s)
    {
        int queues = _channels.Length;
        int keyLength = Math.Min(_rssKey.Length, Vmxnet3Layout.RssMaxKeySize);
        RssIndirectionTable owners = _owners ?? new RssIndirectionTable(queues);
        Span<byte> rss = s.Slice(RssConfOffset, Vmxnet3Layout.RssConfLength);
        Mmio.Write16(rss, 0, Vmxnet3Layout.RssHashTypes);
        Mmio.Write16(rss, 2, Vmxnet3Layout.RssToeplitz);
        Mmio.Write16(rss, 4, (ushort)keyLength);
        Mmio.Write16(rss, 6, Vmxnet3Layout.RssIndirectionSize);
        _rssKey.AsSpan(0, keyLength).CopyTo(rss.Slice(Vmxnet3Layout.RssKey, keyLength));
        for (int j = 0; j < Vmxnet3Layout.RssIndirectionSize; j++)
            rss[Vmxnet3Layout.RssIndirection + j] = (byte)DeviceRss.QueueFor(owners, j, queues);
        Mmio.Write32(s, Vmxnet3Layout.RssConfDesc, 1);                          // confVer
        Mmio.Write32(s, Vmxnet3Layout.RssConfDesc + 4, Vmxnet3Layout.RssConfLength); // confLen
        Mmio.Write64(s, Vmxnet3Layout.RssConfDesc + 8, _memory.Iova + RssConfOffset); // confPA
    }

    /// <summary>Queue pair <paramref name="q"/>: its Vmxnet3_TxQueueDesc and Vmxnet3_RxQueueDesc, and its rings.</summary>
    private void SetUpChannel(int q)
    {
        int queues = _channels.Length;
        int d = 16;
        int ringBytes = RingSize * d, ring2Bytes = Ring2Size * d, rxCompBytes = RxCompletionSize * d;
        int at = RingsOffset(queues) + q * ChannelBytes;
        DmaRegion tx = _memory.Slice(at, ringBytes);
        DmaRegion txComp = _memory.Slice(at + ringBytes, ringBytes);
        DmaRegion rx1 = _memory.Slice(at + 2 * ringBytes, ringBytes);
        DmaRegion rx2 = _memory.Slice(at + 3 * ringBytes, ring2Bytes);
        DmaRegion rxComp = _memory.Slice(at + 3 * ringBytes + ring2Bytes, rxCompBytes);

        Span<byte> t = _memory.Span.Slice(DescriptorTableOffset + q * Vmxnet3Layout.QueueDescLength, Vmxnet3Layout.QueueDescLength);
        Mmio.Write64(t, Vmxnet3Layout.TxRingBase, tx.Iova);
        Mmio.Write64(t, Vmxnet3Layout.TxCompRingBase, txComp.Iova);
        Mmio.Write32(t, Vmxnet3Layout.TxRingSize, RingSize);
        Mmio.Write32(t, Vmxnet3Layout.TxCompRingSize, RingSize);
        Mmio.Write8(t, Vmxnet3Layout.TxIntrIdx, (byte)(1 + queues + q));

        int rxAt = DescriptorTableOffset + (queues + q) * Vmxnet3Layout.QueueDescLength;
        DmaRegion rxDesc = _memory.Slice(rxAt, Vmxnet3Layout.QueueDescLength);
        Span<byte> r = rxDesc.Span;
        Mmio.Write64(r, Vmxnet3Layout.RxRingBase, rx1.Iova);
        Mmio.Write64(r, Vmxnet3Layout.RxRingBase + 8, rx2.Iova);
        Mmio.Write64(r, Vmxnet3Layout.RxCompRingBase, rxComp.Iova);
        Mmio.Write32(r, Vmxnet3Layout.RxRingSize, RingSize);
        Mmio.Write32(r, Vmxnet3Layout.RxRingSize + 4, Ring2Size);
        Mmio.Write32(r, Vmxnet3Layout.RxCompRingSize, RxCompletionSize);
        Mmio.Write8(r, Vmxnet3Layout.RxIntrIdx, (byte)(1 + q));

        Vmxnet3Channel channel = _channels[q];
        channel.Transmitter = new Vmxnet3Transmitter(tx, txComp, RingSize, _pt, q, channel.Counters, _tso);
        channel.Receiver = new Vmxnet3Receiver(rx1, RingSize, rx2, Ring2Size, rxComp, RxCompletionSize, rxDesc, _pt, q, queues, 1 + q,
            channel.Interrupt, channel.Counters, channel.Received, PortIndex, _lro, MaxFrameBuffers, Mtu);
    }

    /// <summary>Queue <paramref name="queue"/>'s super-frames and receive drops by name.</summary>
    public Vmxnet3ReceiveCounters Received(int queue) => Channel(queue).Received;

    /// <summary>
    /// The data path of queue <paramref name="queue"/>, receiving into and releasing to
    /// <paramref name="cache"/>. Maps the cache's pool for the device (once per pool). Without LRO a
    /// pool buffer must hold a frame of the MTU; with it a frame spans head and body buffers.
    /// </summary>
    public Vmxnet3Queue Queue(int queue, BufferCache cache)
    {
        ArgumentNullException.ThrowIfNull(cache);
        Vmxnet3Channel channel = Channel(queue);
        int room = Math.Min(cache.Pool.BufferSize - cache.Pool.Headroom, Vmxnet3Layout.MaxRxBuffer);
        // Without LRO a frame has one buffer (maxNumRxSG 1); with it, a head and bodies.
        if (!_lro && room < Mtu + 18)
            throw new NativeException($"{_where}: a pool buffer takes {room} bytes of frame; MTU {Mtu} needs {Mtu + 18} (one buffer a frame: maxNumRxSG 1; lro on spreads a frame over several)");
        _function.Dma.MapPool(cache.Pool);
        channel.Cache = cache;
        return new Vmxnet3Queue(channel, cache);
    }

    /// <summary>Fills every rx ring 1 (and ring 2 with LRO) from its worker's cache and starts the queues; after a <see cref="Stop"/>, activates the device again first.</summary>
    public void Start()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!_initialized)
            Initialize();
        foreach (Vmxnet3Channel channel in _channels)
        {
            if (channel.Cache is { } cache)
                channel.Receiver.Refill(cache);
            channel.Started = true;
        }
    }

    /// <summary>Stops the queues, quiesces and resets the device (it no longer touches the rings), and takes every buffer back. With the workers stopped.</summary>
    public void Stop()
    {
        if (!_initialized || _disposed)
            return;
        foreach (Vmxnet3Channel channel in _channels)
            channel.Started = false;
        QuiesceAndReset();
        _initialized = false;
        foreach (Vmxnet3Channel channel in _channels)
        {
            if (channel.Cache is not { } cache)
                continue;
            channel.Receiver.ReleaseAll(cache);
            channel.Transmitter.ReleaseAll(cache);
        }
    }

    /// <summary>VMXNET3_CMD_QUIESCE_DEV then VMXNET3_CMD_RESET_DEV, as the Linux driver's vmxnet3_quiesce_dev and vmxnet3_reset_dev.</summary>
    private void QuiesceAndReset()
    {
        Command(Vmxnet3Layout.CmdQuiesceDev);
        Command(Vmxnet3Layout.CmdResetDev);
    }

    /// <summary>rxFilterConf.rxMode VMXNET3_RXM_PROMISC, or unicast, broadcast and every multicast; VMXNET3_CMD_UPDATE_RX_MODE.</summary>
    public void SetPromiscuous(bool on)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _promiscuous = on;
        Mmio.Write32(_memory.Span, Vmxnet3Layout.RxMode, on ? Vmxnet3Layout.RxModePromiscuous : Vmxnet3Layout.RxModeNormal);
        if (_initialized)
            Command(Vmxnet3Layout.CmdUpdateRxMode);
    }

    /// <summary>Stops the port and gives the PCI function back (MSI-X off, DMA unmapped, descriptors closed).</summary>
    public void Dispose()
    {
        if (_disposed)
            return;
        try
        {
            Stop();
        }
        catch (NativeException)
        {
            // the function is given back anyway
        }
        _disposed = true;
        _function.Dispose();
    }

    private Vmxnet3Channel Channel(int queue)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)queue, (uint)_channels.Length, nameof(queue));
        return _channels[queue];
    }
}
