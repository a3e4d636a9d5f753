using System.Buffers.Binary;
using System.Diagnostics;
using System.Numerics;
using Dataplane.Buffers;
using Dataplane.Engine;
using Dataplane.Native;
using Dataplane.Ports;
using Dataplane.Wire;

namespace Dataplane.Drivers.Vfio.VirtioNet;

/// <summary>
/// A virtio-net device (virtio 1.2 §5.1) over the modern PCI transport (§4.1), driven through an
/// <see cref="IPciFunction"/>: the <c>vfio</c> driver's port for PCI 0x1af4:0x1041. Opening runs the
/// initialization of §3.1.1 (reset, ACKNOWLEDGE, DRIVER, features, FEATURES_OK, virtqueues, DRIVER_OK)
/// and, for more than one queue pair, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET on the control queue (§5.1.6.5.5),
/// or with VIRTIO_NET_F_RSS, VIRTIO_NET_CTRL_MQ_RSS_CONFIG (§5.1.6.5.7): the engine's key and a table
/// that puts each flow on its owner's queue, and with VIRTIO_NET_F_HASH_REPORT the device's hash
/// taken in place of the engine's. Queue pair i is receiveq i and transmitq i; MSI-X vector 0 takes
/// configuration changes (link), vector 1 + i receive queue i. Control side; the data path is <see cref="VirtioNetQueue"/>.
/// </summary>
internal sealed class VirtioNetPort : IPort, IFlowSteering, IDeviceFaults
{
    /// <summary>Entries of each data virtqueue, when the device allows as many.</summary>
    public const int RingSize = 256;

    /// <summary>Entries of the control queue: one command (three descriptors) at a time.</summary>
    private const int ControlRingSize = 4;

    /// <summary>Bytes for one control command: class, command, data (a <c>virtio_net_rss_config</c> of 128 entries and a 40-byte key is 307), ack.</summary>
    private const int ControlCommandBytes = 512;

    private readonly IPciFunction _function;
    private readonly VirtioPciTransport _transport;
    private readonly VirtioNetChannel[] _channels;
    private readonly IReadOnlyList<EventFd> _vectors;
    private readonly DmaRegion[] _rings;   // per channel: receive ring, transmit ring, header table
    private readonly DmaRegion? _control;  // the control queue's ring and its command buffer
    private readonly string _where;
    private readonly bool _tso;
    private readonly bool _lro;
    private readonly int? _mtu;
    private Virtqueue? _controlQueue;
    private int _controlNotify;
    private byte[] _rssKey = ToeplitzHash.SymmetricKey.ToArray();
    private RssIndirectionTable? _owners; // the engine's, once it said (SteerFlows)
    private (int MaxKey, int MaxTable, uint HashTypes) _rssLimits;
    private bool _initialized;
    private bool _disposed;
    private string? _failure;

    private VirtioNetPort(string name, IPciFunction function, VirtioPciTransport transport, int queues, ushort portIndex,
        bool tso, bool lro, int? mtu, string where)
    {
        Name = name;
        _function = function;
        _transport = transport;
        _where = where;
        _tso = tso;
        _lro = lro;
        _mtu = mtu;
        PortIndex = portIndex;
        _channels = new VirtioNetChannel[queues];
        for (int q = 0; q < queues; q++)
            _channels[q] = new VirtioNetChannel();
        _rings = new DmaRegion[queues];
        // Vector 0: configuration changes; 1 + i: receive queue i (transmit queues need none: polled).
        _vectors = function.EnableMsix(1 + queues);
        for (int q = 0; q < queues; q++)
            _channels[q].Interrupt = _vectors[1 + q];
        int ring = Virtqueue.MemoryBytes(RingSize);
        int perChannel = Align(ring) * 2 + RingSize * VirtioNetTransmitter.HeaderSlot;
        DmaRegion all = function.Dma.Allocate(perChannel * queues + (queues > 1 ? Align(Virtqueue.MemoryBytes(ControlRingSize)) + ControlCommandBytes : 0));
        for (int q = 0; q < queues; q++)
            _rings[q] = all.Slice(q * perChannel, perChannel);
        if (queues > 1)
            _control = all.Slice(perChannel * queues, all.Length - perChannel * queues);
    }

    private static int Align(int bytes) => (bytes + 4095) & ~4095;

    /// <inheritdoc/>
    public string Name { get; }

    /// <inheritdoc/>
    public string Driver => "vfio";

    /// <summary>The device model, as ifconfig shows it after the driver: "virtio-net".</summary>
    public string Mode => "virtio-net";

    /// <summary>The PCI function's address.</summary>
    public string Address => _function.Address;

    /// <summary>The port's number in the config, written into each received frame's metadata.</summary>
    public ushort PortIndex { get; }

    /// <inheritdoc/>
    public int QueueCount => _channels.Length;

    /// <summary>The features both sides agreed on.</summary>
    public VirtioFeatures Features { get; private set; }

    /// <summary>The device's MAC (VIRTIO_NET_F_MAC), or a random locally administered one when it has none.</summary>
    public MacAddress Mac { get; private set; }

    /// <summary>The config's MTU (at most the device's <c>mtu</c> when it has VIRTIO_NET_F_MTU), else the device's, else 1500.</summary>
    public int Mtu { get; private set; }

    /// <summary>
    /// Whether the device places flows by RSS (VIRTIO_NET_F_RSS negotiated and the last
    /// VIRTIO_NET_CTRL_MQ_RSS_CONFIG taken); false with one queue pair or a device without RSS (then
    /// VQ_PAIRS_SET spreads flows as the backend likes).
    /// </summary>
    public bool SteersFlows { get; private set; }

    /// <summary>
    /// Whether received frames carry the device's hash for the engine (HASH_REPORT negotiated, RSS
    /// taken with the engine's symmetric key): the frames whose hash is the engine's skip software hashing.
    /// </summary>
    public bool ReportsHash { get; private set; }

    /// <summary>The indirection table last given the device (queue numbers), empty without RSS.</summary>
    public ushort[] DeviceIndirection { get; private set; } = [];

    /// <summary>The entries of each data virtqueue: <see cref="RingSize"/> or the device's smaller maximum.</summary>
    public int QueueSize { get; private set; }

    /// <summary>
    /// VIRTIO_NET_S_LINK_UP of the device config's <c>status</c> now; up when the device has no
    /// VIRTIO_NET_F_STATUS (§5.1.4.2); down once the device needs a reset (<see cref="Failure"/>).
    /// </summary>
    public bool LinkUp
    {
        get
        {
            if (_disposed || _failure is not null)
                return false;
            if ((Features & VirtioFeatures.Status) == 0)
                return true;
            return (_transport.ReadDeviceConfig(static (r, o) => r.Read16(o + VirtioNetLayout.Status)) & VirtioNetLayout.StatusLinkUp) != 0;
        }
    }

    /// <inheritdoc/>
    public string? Failure => _failure;

    /// <summary>
    /// Drains the configuration-change vector (a link change raises it; <see cref="LinkUp"/> reads
    /// the new state) and reads device_status: DEVICE_NEEDS_RESET (virtio 1.2 §2.1.2: the device hit
    /// an error it cannot recover from, QEMU's virtio_error) is a fatal fault. The device is not
    /// reset while the workers run: a reset (§2.4) takes every ring away from them, and the engine
    /// cannot stop one port's queues alone, so the port stays down until the dataplane restarts.
    /// </summary>
    public void CheckFaults(List<DeviceFault> faults)
    {
        ArgumentNullException.ThrowIfNull(faults);
        if (_disposed || !_initialized)
            return;
        _vectors[0].Drain();
        if (_failure is not null)
            return;
        byte status = _transport.Status;
        if ((status & VirtioStatus.DeviceNeedsReset) != 0)
        {
            _failure = "device needs reset (DEVICE_NEEDS_RESET), not reset while running";
            faults.Add(new DeviceFault("device needs reset", $"DEVICE_NEEDS_RESET in device_status 0x{status:x2} (virtio 1.2 §2.1.2)", Fatal: true));
        }
    }

    /// <summary>The configuration-change vector's eventfd: readable after the device changed its config (a link change).</summary>
    public EventFd ConfigInterrupt => _vectors[0];

    /// <summary>
    /// Checksums both ways when negotiated (CSUM, GUEST_CSUM), TSO when the device segments TCP over
    /// IPv4 and IPv6 and <c>tso</c> is on, LRO when it may hand us super-frames (GUEST_TSO4/6, asked
    /// for with <c>lro</c> on), several queues with MQ.
    /// </summary>
    public PortCapabilities Capabilities
    {
        get
        {
            PortCapabilities c = PortCapabilities.None;
            if ((Features & VirtioFeatures.GuestChecksum) != 0)
                c |= PortCapabilities.ReceiveChecksum;
            if ((Features & VirtioFeatures.Checksum) != 0)
                c |= PortCapabilities.TransmitChecksum;
            if ((Features & (VirtioFeatures.HostTso4 | VirtioFeatures.HostTso6)) == (VirtioFeatures.HostTso4 | VirtioFeatures.HostTso6))
                c |= PortCapabilities.Tso;
            if ((Features & (VirtioFeatures.GuestTso4 | VirtioFeatures.GuestTso6)) != 0)
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
    /// Opens port <paramref name="name"/> on <paramref name="function"/> (a virtio-net device, which
    /// the port owns from here on, and disposes on failure) with <paramref name="queues"/> queue
    /// pairs. <paramref name="tso"/> asks for HOST_TSO4/6, <paramref name="lro"/> for GUEST_TSO4/6.
    /// Throws <see cref="NativeException"/> naming the port and the PCI address when the device
    /// cannot be driven (no VERSION_1, features refused, too few queues), with the device reset.
    /// </summary>
    public static VirtioNetPort Open(string name, IPciFunction function, int queues = 1, ushort portIndex = 0,
        bool tso = false, bool lro = false, int? mtu = null)
    {
        ArgumentNullException.ThrowIfNull(function);
        ArgumentOutOfRangeException.ThrowIfLessThan(queues, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(queues, 0x8000);
        string where = $"port {name}: vfio virtio-net on PCI {function.Address}";
        VirtioNetPort? port = null;
        try
        {
            var transport = VirtioPciTransport.Find(function, where);
            transport.Reset(); // before bus mastering: the device must not use old rings
            function.EnableBusMastering();
            port = new VirtioNetPort(name, function, transport, queues, portIndex, tso, lro, mtu, where);
            port.Initialize();
            return port;
        }
        catch (Exception e)
        {
            try
            {
                if (port is not null)
                    port._transport.Reset();
            }
            catch (NativeException)
            {
                // already failing; the function's dispose resets it too
            }
            function.Dispose();
            if (e is NativeException native && !native.Message.StartsWith(where, StringComparison.Ordinal))
                throw new NativeException($"{where}: {native.Message}", native);
            throw;
        }
    }

    /// <summary>
    /// The device initialization of virtio 1.2 §3.1.1, from reset to DRIVER_OK, and the queue pairs
    /// chosen with the control queue. Sets FAILED and throws when the device refuses.
    /// </summary>
    private void Initialize()
    {
        VirtioPciTransport t = _transport;
        t.Reset();
        _failure = null; // the reset cleared DEVICE_NEEDS_RESET with the rest
        t.AddStatus(VirtioStatus.Acknowledge);
        t.AddStatus(VirtioStatus.Driver);

        VirtioFeatures offered = t.DeviceFeatures();
        if ((offered & VirtioFeatures.Version1) == 0)
        {
            t.Fail();
            throw new NativeException($"{_where}: the device does not offer VIRTIO_F_VERSION_1 (a legacy virtio device, which this driver does not drive)");
        }
        if ((offered & VirtioFeatures.AccessPlatform) == 0)
        {
            // §6.1: without ACCESS_PLATFORM the device reaches memory by physical address, around the
            // IOMMU, so the IOVAs VFIO maps for it (our virtual addresses) would mean nothing to it.
            t.Fail();
            throw new NativeException($"{_where}: the device does not offer VIRTIO_F_ACCESS_PLATFORM: its DMA bypasses the IOMMU and cannot use the addresses VFIO maps (QEMU: -device virtio-net-pci,iommu_platform=on)");
        }
        VirtioFeatures wanted = Wanted(offered);
        VirtioFeatures features = offered & wanted;
        t.SetDriverFeatures(features);
        t.AddStatus(VirtioStatus.FeaturesOk);
        if ((t.Status & VirtioStatus.FeaturesOk) == 0) // §3.1.1 step 6: re-read; cleared means refused
        {
            t.Fail();
            throw new NativeException($"{_where}: the device refused the features 0x{(ulong)features:x} (FEATURES_OK did not stay set)");
        }
        Features = features;

        (MacAddress mac, ushort maxPairs, ushort deviceMtu) = t.ReadDeviceConfig(static (r, o) =>
        {
            Span<byte> m = stackalloc byte[6];
            for (int i = 0; i < 6; i++)
                m[i] = r.Read8(o + VirtioNetLayout.Mac + i);
            return (new MacAddress(m), r.Read16(o + VirtioNetLayout.MaxQueuePairs), r.Read16(o + VirtioNetLayout.Mtu));
        });
        // §5.1.4: the RSS fields exist with VIRTIO_NET_F_RSS (or HASH_REPORT).
        _rssLimits = (features & (VirtioFeatures.Rss | VirtioFeatures.HashReport)) == 0 ? default : t.ReadDeviceConfig(static (r, o) =>
            ((int)r.Read8(o + VirtioNetLayout.RssMaxKeySize), (int)r.Read16(o + VirtioNetLayout.RssMaxIndirectionTableLength),
                r.Read32(o + VirtioNetLayout.SupportedHashTypes))); // §4.1.3.1: each field at its natural width
        if ((features & VirtioFeatures.Mtu) != 0 && _mtu > deviceMtu)
        {
            t.Fail();
            throw new NativeException($"{_where}: MTU {_mtu} asked for, the device takes {deviceMtu} at most (its VIRTIO_NET_F_MTU; QEMU: host_mtu=N)");
        }
        if (!_initialized)
        {
            Mac = (features & VirtioFeatures.Mac) != 0 ? mac : RandomMac();
            Mtu = _mtu ?? ((features & VirtioFeatures.Mtu) != 0 ? deviceMtu : 1500);
        }
        int queues = _channels.Length;
        if (queues > 1)
        {
            if ((features & (VirtioFeatures.MultiQueue | VirtioFeatures.ControlQueue)) != (VirtioFeatures.MultiQueue | VirtioFeatures.ControlQueue))
            {
                t.Fail();
                throw new NativeException($"{_where}: {queues} queues asked for, the device has no VIRTIO_NET_F_MQ (one queue pair; QEMU: -device virtio-net-pci,mq=on,vectors=N)");
            }
            if (maxPairs < queues)
            {
                t.Fail();
                throw new NativeException($"{_where}: {queues} queues asked for, the device has {maxPairs} queue pairs");
            }
        }
        if ((features & VirtioFeatures.MergeableRxBuffers) == 0 && _mtu is int wantedMtu && wantedMtu > 1500)
        {
            t.Fail();
            throw new NativeException($"{_where}: MTU {wantedMtu} needs VIRTIO_NET_F_MRG_RXBUF (a frame spanning several receive buffers), which the device does not offer");
        }

        if (!t.SetConfigVector(0))
        {
            t.Fail();
            throw new NativeException($"{_where}: the device refused MSI-X vector 0 for configuration changes");
        }
        for (int q = 0; q < queues; q++)
            SetUpChannel(q, features);
        if (queues > 1)
            SetUpControlQueue(maxPairs);
        t.AddStatus(VirtioStatus.DriverOk);
        _initialized = true;
        if (queues > 1 && !ConfigureRss())
            SetQueuePairs(queues);
    }

    /// <summary>What the driver asks of a device offering <paramref name="offered"/>.</summary>
    private VirtioFeatures Wanted(VirtioFeatures offered)
    {
        VirtioFeatures wanted = VirtioFeatures.Version1 | VirtioFeatures.AccessPlatform | VirtioFeatures.Mac | VirtioFeatures.Status
            | VirtioFeatures.MergeableRxBuffers | VirtioFeatures.Checksum | VirtioFeatures.GuestChecksum | VirtioFeatures.Mtu;
        // §5.1.3.1: HOST_TSO needs CSUM, GUEST_TSO needs GUEST_CSUM; a super-frame needs merged buffers here.
        if (_tso && (offered & VirtioFeatures.Checksum) != 0)
            wanted |= VirtioFeatures.HostTso4 | VirtioFeatures.HostTso6;
        if (_lro && (offered & (VirtioFeatures.GuestChecksum | VirtioFeatures.MergeableRxBuffers)) == (VirtioFeatures.GuestChecksum | VirtioFeatures.MergeableRxBuffers))
            wanted |= VirtioFeatures.GuestTso4 | VirtioFeatures.GuestTso6;
        // RSS places each flow on its owner's queue, and the hash it reports spares the engine's;
        // both only matter with more than one queue (one worker places nothing).
        if (_channels.Length > 1)
            wanted |= VirtioFeatures.ControlQueue | VirtioFeatures.MultiQueue | VirtioFeatures.Rss | VirtioFeatures.HashReport;
        return wanted;
    }

    /// <summary>Sets receiveq <paramref name="q"/> (2q) and transmitq q (2q + 1) up, §4.1.5.1.3.</summary>
    private void SetUpChannel(int q, VirtioFeatures features)
    {
        // Both rings of a pair the same size: the smaller maximum, rounded down to a power of two
        // (the split ring's indices are masked), at most RingSize.
        int rxMax = _transport.MaxQueueSize(2 * q), txMax = _transport.MaxQueueSize(2 * q + 1);
        int max = Math.Min(Math.Min(rxMax, txMax), RingSize);
        int size = max < 2 ? 0 : 1 << BitOperations.Log2((uint)max);
        if (size < 2)
            throw new NativeException($"{_where}: virtqueues {2 * q} and {2 * q + 1} are missing or too small ({rxMax}, {txMax} entries)");
        QueueSize = size;
        int ring = Align(Virtqueue.MemoryBytes(RingSize));
        DmaRegion memory = _rings[q];
        var rx = new Virtqueue(2 * q, size, memory.Slice(0, ring));
        var tx = new Virtqueue(2 * q + 1, size, memory.Slice(ring, ring));
        int rxNotify = _transport.SetUpQueue(2 * q, rx, (ushort)(1 + q));
        int txNotify = _transport.SetUpQueue(2 * q + 1, tx, VirtioPciLayout.NoVector);
        VirtioNetChannel channel = _channels[q];
        VirtioPciTransport t = _transport;
        ushort rxIndex = rx.QueueIndex, txIndex = tx.QueueIndex;
        channel.Receiver = new VirtioNetReceiver(rx, () => t.Notify(rxNotify, rxIndex), channel.Interrupt, channel.Counters,
            (features & VirtioFeatures.MergeableRxBuffers) != 0, PortIndex, (ushort)q, HeaderLength(features));
        channel.Transmitter = new VirtioNetTransmitter(tx, memory.Slice(2 * ring, size * VirtioNetTransmitter.HeaderSlot),
            () => t.Notify(txNotify, txIndex), channel.Counters, features);
    }

    /// <summary>The control queue: virtqueue 2 × max_virtqueue_pairs (§5.1.2), no interrupt (polled for the ack).</summary>
    private void SetUpControlQueue(int maxPairs)
    {
        int index = 2 * maxPairs;
        if (_transport.MaxQueueSize(index) < ControlRingSize)
            throw new NativeException($"{_where}: no control queue at virtqueue {index}");
        _controlQueue = new Virtqueue(index, ControlRingSize, _control!.Slice(0, Virtqueue.MemoryBytes(ControlRingSize)));
        _controlNotify = _transport.SetUpQueue(index, _controlQueue, VirtioPciLayout.NoVector);
    }

    /// <summary>The virtio-net header's size with <paramref name="features"/>: 20 with HASH_REPORT (virtio_net_hdr_v1_hash), else 12.</summary>
    private static int HeaderLength(VirtioFeatures features)
        => (features & VirtioFeatures.HashReport) != 0 ? VirtioNetLayout.HashHeaderLength : VirtioNetLayout.HeaderLength;

    /// <summary>
    /// The engine's placement: its key and its owners, programmed now when the device runs (and at
    /// every start after). Control path, with the workers not running.
    /// </summary>
    public void SteerFlows(ReadOnlySpan<byte> key, RssIndirectionTable owners)
    {
        ArgumentNullException.ThrowIfNull(owners);
        ObjectDisposedException.ThrowIf(_disposed, this);
        _rssKey = key.ToArray();
        _owners = owners;
        // Without RSS the pairs were set at initialization and nothing changes.
        if (_initialized && _channels.Length > 1 && (Features & VirtioFeatures.Rss) != 0 && !ConfigureRss())
            SetQueuePairs(_channels.Length);
    }

    /// <summary>VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET (§5.1.6.5.5): the device spreads received flows over <paramref name="pairs"/> queue pairs.</summary>
    private void SetQueuePairs(int pairs)
    {
        Span<byte> data = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(data, (ushort)pairs);
        byte ack = Command(VirtioNetLayout.ControlMqPairsSet, data, $"VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET {pairs}");
        if (ack != VirtioNetLayout.ControlOk)
            throw new NativeException($"{_where}: the device refused VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET {pairs} (ack {ack})");
    }

    /// <summary>
    /// VIRTIO_NET_CTRL_MQ_RSS_CONFIG (§5.1.6.5.7.1), in place of VQ_PAIRS_SET once RSS is negotiated:
    /// the engine's hash types and key, and a table whose entry j names the queue of the worker that
    /// owns entry j of the engine's table (the same size where the device allows it: 128), so each
    /// flow arrives on the queue its owner drains. False, and nothing sent, when the device has no
    /// RSS or cannot take the key (then the plain MQ path); throws when it refuses the command.
    /// Sets <see cref="ReportsHash"/> when the device also reports the hash and the key is symmetric.
    /// </summary>
    private bool ConfigureRss()
    {
        SteersFlows = ReportsHash = false;
        DeviceIndirection = [];
        foreach (VirtioNetChannel channel in _channels)
            channel.Receiver.TakeHash = channel.Receiver.KickWhenIdle = false;
        uint types = VirtioNetLayout.EngineHashTypes & _rssLimits.HashTypes;
        if ((Features & VirtioFeatures.Rss) == 0 || types == 0 || _rssKey.Length > _rssLimits.MaxKey || _rssLimits.MaxTable < 1)
            return false;
        int queues = _channels.Length;
        RssIndirectionTable owners = _owners ?? new RssIndirectionTable(queues); // the engine's table for as many workers as queues
        int size = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Min(owners.Size, _rssLimits.MaxTable));
        if (size > _rssLimits.MaxTable)
            size >>= 1; // §5.1.6.5.7.1: indirection_table_mask + 1 is a power of two no larger than the maximum
        ushort[] table = new ushort[size];
        for (int j = 0; j < size; j++)
            table[j] = (ushort)DeviceRss.QueueFor(owners, j, queues);

        // struct virtio_net_rss_config: hash_types le32, indirection_table_mask le16,
        // unclassified_queue le16, indirection_table[] le16, max_tx_vq le16, hash_key_length u8, hash_key_data.
        Span<byte> data = stackalloc byte[8 + 2 * size + 3 + _rssKey.Length];
        BinaryPrimitives.WriteUInt32LittleEndian(data, types);
        BinaryPrimitives.WriteUInt16LittleEndian(data[4..], (ushort)(size - 1));
        BinaryPrimitives.WriteUInt16LittleEndian(data[6..], 0); // unclassified (not IP): queue 0, where the engine's hash 0 goes too
        for (int j = 0; j < size; j++)
            BinaryPrimitives.WriteUInt16LittleEndian(data[(8 + 2 * j)..], table[j]);
        int at = 8 + 2 * size;
        BinaryPrimitives.WriteUInt16LittleEndian(data[at..], (ushort)queues); // max_tx_vq: the queue pairs in use
        data[at + 2] = (byte)_rssKey.Length;
        _rssKey.CopyTo(data[(at + 3)..]);
        byte ack = Command(VirtioNetLayout.ControlMqRssConfig, data, "VIRTIO_NET_CTRL_MQ_RSS_CONFIG");
        if (ack != VirtioNetLayout.ControlOk)
            throw new NativeException($"{_where}: the device refused VIRTIO_NET_CTRL_MQ_RSS_CONFIG ({size} entries, hash types 0x{types:x}, a {_rssKey.Length}-byte key; ack {ack})");
        SteersFlows = true;
        DeviceIndirection = table;
        // The reported hash is the engine's only with its key (the one SteerFlows gave, or the
        // engine's symmetric key before it did) and a symmetric one (both directions of a flow on one
        // owner); which frames' hashes are the engine's tuple is checked frame by frame.
        ReportsHash = (Features & VirtioFeatures.HashReport) != 0 && DeviceRss.IsSymmetric(_rssKey);
        foreach (VirtioNetChannel channel in _channels)
        {
            channel.Receiver.TakeHash = ReportsHash;
            channel.Receiver.KickWhenIdle = true;
        }
        return true;
    }

    /// <summary>
    /// One VIRTIO_NET_CTRL_MQ command (§5.1.6.5): class and command, then <paramref name="data"/>
    /// (device-readable), then the ack byte (device-writable); the used ring polled a second at most.
    /// Returns the ack.
    /// </summary>
    private byte Command(byte command, ReadOnlySpan<byte> data, string what)
    {
        Virtqueue q = _controlQueue!;
        DmaRegion buffer = _control!.Slice(_control.Length - ControlCommandBytes, ControlCommandBytes);
        Span<byte> c = buffer.Span;
        c.Clear();
        c[0] = VirtioNetLayout.ControlMq;
        c[1] = command;
        data.CopyTo(c[2..]);
        int ackAt = 2 + data.Length;
        c[ackAt] = 0xff; // the ack, until the device writes it
        ushort d0 = q.TakeDescriptor(), d1 = q.TakeDescriptor(), d2 = q.TakeDescriptor();
        q.WriteDescriptor(d0, buffer.Iova, 2, Virtqueue.DescriptorNext, d1);
        q.WriteDescriptor(d1, buffer.Iova + 2, (uint)data.Length, Virtqueue.DescriptorNext, d2);
        q.WriteDescriptor(d2, buffer.Iova + (ulong)ackAt, 1, Virtqueue.DescriptorWrite, 0);
        q.MakeAvailable(d0);
        q.Publish();
        _transport.Notify(_controlNotify, q.QueueIndex);
        long deadline = Stopwatch.GetTimestamp() + Stopwatch.Frequency;
        while (q.UsedCount() == 0)
        {
            if (Stopwatch.GetTimestamp() > deadline)
                throw new NativeException($"{_where}: the device did not answer {what} in a second");
            Thread.Yield();
        }
        q.ConsumeUsed(1);
        q.FreeDescriptor(d2);
        q.FreeDescriptor(d1);
        q.FreeDescriptor(d0);
        return Mmio.Read8(c, ackAt);
    }

    /// <summary>
    /// The data path of queue <paramref name="queue"/>, receiving into and releasing to
    /// <paramref name="cache"/> (its worker's). Maps the cache's pool for the device (once per pool).
    /// </summary>
    public VirtioNetQueue Queue(int queue, BufferCache cache)
    {
        ArgumentNullException.ThrowIfNull(cache);
        VirtioNetChannel channel = Channel(queue);
        int header = HeaderLength(Features);
        if (cache.Pool.Headroom < header)
            throw new NativeException($"{_where}: the buffer pool's headroom ({cache.Pool.Headroom}) has no room for the {header}-byte virtio-net header");
        _function.Dma.MapPool(cache.Pool);
        channel.Cache = cache;
        return new VirtioNetQueue(channel, cache);
    }

    /// <summary>
    /// Fills every receive ring from its worker's cache and starts the queues; after a
    /// <see cref="Stop"/>, sets the device up again first. Control path, with the workers not yet running.
    /// </summary>
    public void Start()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!_initialized)
            Initialize();
        foreach (VirtioNetChannel channel in _channels)
        {
            if (channel.Cache is { } cache)
                channel.Receiver.Refill(cache);
            channel.Started = true;
        }
        // Frames that came between DRIVER_OK and the refill, which QEMU's software RSS may hold on
        // another queue than their own (VirtioNetReceiver.KickWhenIdle), are delivered now.
        if (SteersFlows)
        {
            foreach (VirtioNetChannel channel in _channels)
                channel.Receiver.Kick();
        }
    }

    /// <summary>
    /// Stops the queues and resets the device (§2.4: it no longer reads or writes the rings), so
    /// every buffer on a ring goes back to its worker's cache. With the workers stopped.
    /// </summary>
    public void Stop()
    {
        if (!_initialized || _disposed)
            return;
        foreach (VirtioNetChannel channel in _channels)
            channel.Started = false;
        _transport.Reset();
        _initialized = false;
        foreach (VirtioNetChannel channel in _channels)
        {
            if (channel.Cache is not { } cache)
                continue;
            channel.Receiver.ReleaseAll(cache);
            channel.Transmitter.ReleaseAll(cache);
        }
    }

    /// <summary>
    /// Nothing to do: without VIRTIO_NET_F_CTRL_RX (not negotiated) the device delivers every frame
    /// its backend hands it (§5.1.6.5.1: the receive filter is only there with CTRL_RX).
    /// </summary>
    public void SetPromiscuous(bool on) => ObjectDisposedException.ThrowIf(_disposed, this);

    /// <summary>Stops the port (the device reset, the buffers back) and gives the PCI function back (MSI-X off, DMA unmapped, descriptors closed).</summary>
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
            // the function's dispose resets the device through vfio-pci
        }
        _disposed = true;
        _function.Dispose();
    }

    private VirtioNetChannel Channel(int queue)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)queue, (uint)_channels.Length, nameof(queue));
        return _channels[queue];
    }

    /// <summary>A random locally administered unicast address (02:xx:...), for a device without VIRTIO_NET_F_MAC (§5.1.5: the driver generates one).</summary>
    private static MacAddress RandomMac()
    {
        Span<byte> m = stackalloc byte[6];
        Random.Shared.NextBytes(m);
        m[0] = (byte)((m[0] & 0xfc) | 0x02);
        return new MacAddress(m);
    }
}
