using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Dataplane.Drivers.Vfio;
using Dataplane.Drivers.Vfio.VirtioNet;
using Dataplane.Native;

namespace Dataplane.Tests.Drivers.Vfio;

/// <summary>
/// A virtio-net device (virtio 1.2 §4.1, §5.1) in plain memory, behind <see cref="IPciFunction"/>:
/// config space with the four vendor capabilities and MSI-X, BAR 4 holding the common, ISR, device
/// and notify structures, and the device's side of the split virtqueues, read and written in the
/// driver's DMA memory. It checks the handshake order and what the driver writes, recording every
/// breach in <see cref="Violations"/>; it sends what the transmit queues hold when notified (or
/// when told, with <see cref="HoldTransmit"/>), receives the frames a test injects, and signals the
/// MSI-X eventfds as a device would.
/// </summary>
internal sealed class FakeVirtioNetDevice : IPciFunction
{
    // BAR 4 layout: common config at 0, ISR at 0x1000, device config at 0x2000, notify at 0x3000.
    private const int Common = 0x0000, Isr = 0x1000, DeviceConfig = 0x2000, Notify = 0x3000, NotifyMultiplier = 4, BarLength = 0x4000;

    private readonly byte[] _config = new byte[256];
    private readonly FakeBar _bar;
    private readonly FakeDmaMemory _dma = new();
    private readonly Queue[] _queues;
    private EventFd[] _vectors = [];
    private uint _deviceFeatureSelect, _driverFeatureSelect;
    private ushort _queueSelect;
    private ushort _configVector = VirtioPciLayout.NoVector;
    private byte _generation;
    private readonly byte[] _deviceConfig = new byte[VirtioNetLayout.ConfigLength];

    /// <summary>A device offering <paramref name="features"/> with <paramref name="maxPairs"/> queue pairs of <paramref name="queueSize"/> entries at most.</summary>
    public FakeVirtioNetDevice(VirtioFeatures features = DefaultFeatures, int maxPairs = 1, int queueSize = 256, string address = "0000:00:03.0")
    {
        Address = address;
        OfferedFeatures = features;
        MaxPairs = maxPairs;
        _bar = new FakeBar(this);
        bool control = (features & VirtioFeatures.ControlQueue) != 0;
        _queues = new Queue[2 * maxPairs + (control ? 1 : 0)];
        for (int i = 0; i < _queues.Length; i++)
            _queues[i] = new Queue { MaxSize = (ushort)queueSize };
        Sent = new List<(VirtioNetHeader, byte[])>[maxPairs];
        for (int i = 0; i < maxPairs; i++)
            Sent[i] = [];

        // Type 0 header (PCI 3.0 §6.1): IDs, a capability list from 0x40.
        BinaryPrimitives.WriteUInt16LittleEndian(_config.AsSpan(PciConfigSpace.VendorId), VirtioPciLayout.VendorId);
        BinaryPrimitives.WriteUInt16LittleEndian(_config.AsSpan(PciConfigSpace.DeviceId), VirtioPciLayout.NetDeviceId);
        BinaryPrimitives.WriteUInt16LittleEndian(_config.AsSpan(PciConfigSpace.Status), PciConfigSpace.StatusCapabilityList);
        _config[PciConfigSpace.CapabilitiesPointer] = 0x40;
        // An MSI-X capability first (as QEMU puts it), then the virtio ones (§4.1.4), ISR before device config.
        _config[0x40] = PciConfigSpace.CapabilityMsix;
        _config[0x41] = 0x50;
        VendorCap(0x50, 0x60, VirtioPciLayout.CommonConfig, Common, VirtioPciLayout.CommonConfigLength);
        VendorCap(0x60, 0x70, VirtioPciLayout.IsrConfig, Isr, 4);
        VendorCap(0x70, 0x80, VirtioPciLayout.DeviceConfig, DeviceConfig, VirtioNetLayout.ConfigLength);
        VendorCap(0x80, 0x00, VirtioPciLayout.NotifyConfig, Notify, 0x1000);
        BinaryPrimitives.WriteUInt32LittleEndian(_config.AsSpan(0x80 + VirtioPciLayout.CapNotifyMultiplier), NotifyMultiplier);
        _config[0x82] = 20; // cap_len of virtio_pci_notify_cap

        Mac = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];
        Mac.CopyTo(_deviceConfig.AsSpan(VirtioNetLayout.Mac));
        BinaryPrimitives.WriteUInt16LittleEndian(_deviceConfig.AsSpan(VirtioNetLayout.Status), VirtioNetLayout.StatusLinkUp);
        BinaryPrimitives.WriteUInt16LittleEndian(_deviceConfig.AsSpan(VirtioNetLayout.MaxQueuePairs), (ushort)maxPairs);
        BinaryPrimitives.WriteUInt16LittleEndian(_deviceConfig.AsSpan(VirtioNetLayout.Mtu), 1500);
        // QEMU's limits (VIRTIO_NET_RSS_MAX_KEY_SIZE, VIRTIO_NET_RSS_MAX_TABLE_LEN, VIRTIO_NET_RSS_SUPPORTED_HASHES).
        _deviceConfig[VirtioNetLayout.RssMaxKeySize] = 40;
        BinaryPrimitives.WriteUInt16LittleEndian(_deviceConfig.AsSpan(VirtioNetLayout.RssMaxIndirectionTableLength), 128);
        BinaryPrimitives.WriteUInt32LittleEndian(_deviceConfig.AsSpan(VirtioNetLayout.SupportedHashTypes), 0x1ff);
    }

    /// <summary>A VIRTIO_NET_CTRL_MQ_RSS_CONFIG the driver sent (§5.1.6.5.7.1).</summary>
    public sealed record RssConfig(uint HashTypes, ushort[] Table, ushort UnclassifiedQueue, ushort MaxTxQueues, byte[] Key);

    /// <summary>VIRTIO_NET_CTRL_MQ_RSS_CONFIG commands, in order.</summary>
    public List<RssConfig> RssConfigs { get; } = [];

    /// <summary>The virtio-net header's size as negotiated: 20 with HASH_REPORT, else 12.</summary>
    public int HeaderLength => (DriverFeatures & VirtioFeatures.HashReport) != 0 ? VirtioNetLayout.HashHeaderLength : VirtioNetLayout.HeaderLength;

    /// <summary>What QEMU's virtio-net-pci offers with an IOMMU (iommu_platform=on), less the features this driver never asks for.</summary>
    public const VirtioFeatures DefaultFeatures = VirtioFeatures.Version1 | VirtioFeatures.AccessPlatform | VirtioFeatures.Mac
        | VirtioFeatures.Status | VirtioFeatures.MergeableRxBuffers | VirtioFeatures.Checksum | VirtioFeatures.GuestChecksum
        | VirtioFeatures.HostTso4 | VirtioFeatures.HostTso6 | VirtioFeatures.GuestTso4 | VirtioFeatures.GuestTso6
        | VirtioFeatures.Mtu | VirtioFeatures.ControlQueue | VirtioFeatures.MultiQueue;

    private void VendorCap(int at, int next, byte type, int offset, int length)
    {
        _config[at] = PciConfigSpace.CapabilityVendor;
        _config[at + 1] = (byte)next;
        _config[at + 2] = 16;
        _config[at + VirtioPciLayout.CapType] = type;
        _config[at + VirtioPciLayout.CapBar] = 4;
        BinaryPrimitives.WriteUInt32LittleEndian(_config.AsSpan(at + VirtioPciLayout.CapOffset), (uint)offset);
        BinaryPrimitives.WriteUInt32LittleEndian(_config.AsSpan(at + VirtioPciLayout.CapLength), (uint)length);
    }

    /// <inheritdoc/>
    public string Address { get; }

    /// <summary>The features the device offers.</summary>
    public VirtioFeatures OfferedFeatures { get; }

    /// <summary>The features the driver wrote.</summary>
    public VirtioFeatures DriverFeatures { get; private set; }

    /// <summary>max_virtqueue_pairs.</summary>
    public int MaxPairs { get; }

    /// <summary>The device's MAC.</summary>
    public byte[] Mac { get; }

    /// <summary>device_status now.</summary>
    public byte Status { get; private set; }

    /// <summary>When set, the device clears FEATURES_OK whatever the driver asked (it refuses the features).</summary>
    public bool RefuseFeatures { get; set; }

    /// <summary>When set, a transmit notification does nothing: frames stay on the ring until <see cref="ProcessTransmit"/>.</summary>
    public bool HoldTransmit { get; set; }

    /// <summary>Breaches of the spec the driver made, in order.</summary>
    public List<string> Violations { get; } = [];

    /// <summary>Frames sent on each queue pair, with their headers, in order.</summary>
    public List<(VirtioNetHeader Header, byte[] Frame)>[] Sent { get; }

    /// <summary>Frames injected that found no receive buffer (the device dropped them).</summary>
    public int ReceiveDropped { get; private set; }

    /// <summary>VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET commands, with their pair counts.</summary>
    public List<int> QueuePairCommands { get; } = [];

    /// <summary>Whether the command register has Bus Master Enable set.</summary>
    public bool BusMastering => (BinaryPrimitives.ReadUInt16LittleEndian(_config.AsSpan(PciConfigSpace.Command)) & PciConfigSpace.CommandBusMaster) != 0;

    /// <summary>Whether the function was given back.</summary>
    public bool Disposed { get; private set; }

    /// <summary>The fake's DMA memory.</summary>
    public FakeDmaMemory DmaMemory => _dma;

    /// <inheritdoc/>
    public IDmaMemory Dma => _dma;

    /// <summary>Notifications (doorbell writes) virtqueue <paramref name="queue"/> received.</summary>
    public int Notifications(int queue) => _queues[queue].Notifications;

    /// <summary>The MSI-X vector the driver gave virtqueue <paramref name="queue"/>.</summary>
    public ushort Vector(int queue) => _queues[queue].Vector;

    /// <summary>Entries of virtqueue <paramref name="queue"/>.</summary>
    public int QueueSize(int queue) => _queues[queue].Size;

    /// <summary>Buffers the driver has made available on virtqueue <paramref name="queue"/> and the device has not used.</summary>
    public int Available(int queue)
    {
        Queue q = _queues[queue];
        return q.Enabled ? (ushort)(AvailIndex(q) - q.LastAvail) : 0;
    }

    /// <summary>Sets VIRTQ_USED_F_NO_NOTIFY on virtqueue <paramref name="queue"/>: the driver should not ring its doorbell.</summary>
    public void SuppressNotifications(int queue, bool on) =>
        Mmio.Write16(_dma.Span(_queues[queue].Device, 2), 0, on ? Virtqueue.UsedNoNotify : (ushort)0);

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
    public IMmioRegion Bar(int index) => index == 4 ? _bar : throw new NativeException($"PCI {Address}: BAR {index} is not a memory BAR");

    /// <inheritdoc/>
    public void EnableBusMastering() =>
        WriteConfig16(PciConfigSpace.Command, (ushort)(ReadConfig16(PciConfigSpace.Command) | PciConfigSpace.CommandBusMaster | PciConfigSpace.CommandMemorySpace));

    /// <inheritdoc/>
    public bool Reset()
    {
        ResetDevice();
        return true;
    }

    /// <inheritdoc/>
    public IReadOnlyList<EventFd> EnableMsix(int vectors)
    {
        DisableMsix();
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

    /// <summary>MSI-X off, DMA memory freed.</summary>
    public void Dispose()
    {
        DisableMsix();
        _dma.Dispose();
        Disposed = true;
    }

    // ---- the device's behaviour ----

    /// <summary>Sets the link up or down in the device config and signals the config vector (§4.1.5.3).</summary>
    public void SetLink(bool up)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(_deviceConfig.AsSpan(VirtioNetLayout.Status), up ? VirtioNetLayout.StatusLinkUp : (ushort)0);
        _generation++;
        Signal(_configVector);
    }

    /// <summary>
    /// Enters DEVICE_NEEDS_RESET (virtio 1.2 §2.1.2, QEMU's virtio_error after a bad descriptor):
    /// the bit set in device_status and the config vector signalled, as §2.1.2 says the device does.
    /// </summary>
    public void NeedReset()
    {
        Status |= VirtioStatus.DeviceNeedsReset;
        Signal(_configVector);
    }

    /// <summary>
    /// Receives <paramref name="frame"/> on queue pair <paramref name="pair"/> behind
    /// <paramref name="header"/> (§5.1.6.4): into as many available buffers as it takes with
    /// MRG_RXBUF (num_buffers says how many), one without; the used entries published together, then
    /// the interrupt if the driver has not suppressed it. False, and counted, when the buffers run out.
    /// <paramref name="lyingNumBuffers"/>: the num_buffers a broken device writes instead.
    /// </summary>
    public bool Inject(int pair, ReadOnlySpan<byte> frame, VirtioNetHeader header = default, ushort? lyingNumBuffers = null)
        => Inject(pair, frame, header, hashValue: 0, hashReport: 0, lyingNumBuffers);

    /// <summary>
    /// <see cref="Inject(int, ReadOnlySpan{byte}, VirtioNetHeader, ushort?)"/> with hash_value and
    /// hash_report in the header (§5.1.6.4.3.4), which must be the 20-byte one (HASH_REPORT negotiated).
    /// </summary>
    public bool Inject(int pair, ReadOnlySpan<byte> frame, VirtioNetHeader header, uint hashValue, ushort hashReport, ushort? lyingNumBuffers = null)
    {
        Queue q = _queues[2 * pair];
        if (!Live(q))
            return false;
        bool mergeable = (DriverFeatures & VirtioFeatures.MergeableRxBuffers) != 0;
        byte[] bytes = new byte[HeaderLength + frame.Length];
        MemoryMarshal.Write(bytes, in header);
        if (HeaderLength == VirtioNetLayout.HashHeaderLength)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(VirtioNetLayout.HashValue), hashValue);
            BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(VirtioNetLayout.HashReport), hashReport);
        }
        frame.CopyTo(bytes.AsSpan(HeaderLength));
        int available = (ushort)(AvailIndex(q) - q.LastAvail);
        // Which buffers it takes, before writing anything: a frame that does not fit is dropped whole.
        var taken = new List<(ushort Id, ulong Address, int Length)>();
        int room = 0;
        for (int k = 0; k < available && room < bytes.Length && (mergeable || k == 0); k++)
        {
            ushort id = AvailEntry(q, (ushort)(q.LastAvail + k));
            (ulong address, uint length, ushort flags, _) = Descriptor(q, id);
            if ((flags & Virtqueue.DescriptorWrite) == 0)
                Violations.Add($"receive descriptor {id} is not device-writable");
            if ((flags & Virtqueue.DescriptorNext) != 0)
                Violations.Add($"receive descriptor {id} is chained (this driver gives one buffer a descriptor)");
            taken.Add((id, address, (int)length));
            room += (int)length;
        }
        if (room < bytes.Length)
        {
            ReceiveDropped++;
            return false;
        }
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(10), lyingNumBuffers ?? (ushort)taken.Count); // num_buffers (a broken device's, when given)
        int at = 0;
        for (int k = 0; k < taken.Count; k++)
        {
            int n = Math.Min(taken[k].Length, bytes.Length - at);
            bytes.AsSpan(at, n).CopyTo(_dma.Span(taken[k].Address, n));
            WriteUsed(q, (ushort)(q.UsedIndex + k), taken[k].Id, (uint)n);
            at += n;
        }
        q.LastAvail += (ushort)taken.Count;
        PublishUsed(q, (ushort)(q.UsedIndex + taken.Count));
        Interrupt(q);
        return true;
    }

    /// <summary>Sends what transmit queue <paramref name="pair"/> holds: each chain gathered, its header split off, recorded in <see cref="Sent"/>, and used.</summary>
    public int ProcessTransmit(int pair)
    {
        Queue q = _queues[2 * pair + 1];
        if (!Live(q))
            return 0;
        int sent = 0;
        while (q.LastAvail != AvailIndex(q))
        {
            ushort head = AvailEntry(q, q.LastAvail);
            byte[] bytes = Gather(q, head, out _);
            if (bytes.Length < HeaderLength)
            {
                Violations.Add($"transmit chain {head} is shorter than the virtio-net header");
            }
            else
            {
                VirtioNetHeader header = MemoryMarshal.Read<VirtioNetHeader>(bytes);
                if (BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(10)) != 0)
                    Violations.Add("num_buffers is not 0 on transmit (§5.1.6.2)");
                // §5.1.6.2.1: what the header asks for must have been negotiated (QEMU marks the device broken).
                if ((header.Flags & VirtioNetHeaderFlags.NeedsChecksum) != 0 && (DriverFeatures & VirtioFeatures.Checksum) == 0)
                    Violations.Add("NEEDS_CSUM without VIRTIO_NET_F_CSUM");
                if ((header.GsoType == VirtioNetGsoType.TcpV4 && (DriverFeatures & VirtioFeatures.HostTso4) == 0)
                    || (header.GsoType == VirtioNetGsoType.TcpV6 && (DriverFeatures & VirtioFeatures.HostTso6) == 0)
                    || header.GsoType is not (VirtioNetGsoType.None or VirtioNetGsoType.TcpV4 or VirtioNetGsoType.TcpV6))
                    Violations.Add($"gso_type {header.GsoType} not negotiated");
                Sent[pair].Add((header, bytes[HeaderLength..]));
            }
            WriteUsed(q, q.UsedIndex, head, 0);
            q.LastAvail++;
            PublishUsed(q, (ushort)(q.UsedIndex + 1));
            sent++;
        }
        return sent;
    }

    private bool Live(Queue q)
    {
        if ((Status & VirtioStatus.DriverOk) == 0 || !q.Enabled)
        {
            Violations.Add("the device was asked to use a queue before DRIVER_OK");
            return false;
        }
        if (!BusMastering)
            Violations.Add("the device was asked to do DMA without bus mastering");
        return true;
    }

    /// <summary>The chain at <paramref name="head"/>, gathered (device-readable descriptors), and the writable ones' (address, length).</summary>
    private byte[] Gather(Queue q, ushort head, out List<(ulong Address, uint Length)> writable)
    {
        writable = [];
        var bytes = new List<byte>();
        ushort id = head;
        for (int k = 0; k <= q.Size; k++)
        {
            if (k == q.Size)
            {
                Violations.Add($"descriptor chain at {head} loops");
                break;
            }
            (ulong address, uint length, ushort flags, ushort next) = Descriptor(q, id);
            if ((flags & Virtqueue.DescriptorWrite) != 0)
                writable.Add((address, length));
            else if (writable.Count > 0)
                Violations.Add($"a readable descriptor after a writable one in chain {head} (§2.7.4.2)");
            else
                bytes.AddRange(_dma.Span(address, (int)length).ToArray());
            if ((flags & Virtqueue.DescriptorNext) == 0)
                break;
            id = next;
        }
        return [.. bytes];
    }

    private void Control()
    {
        Queue q = _queues[^1];
        while (q.LastAvail != AvailIndex(q))
        {
            ushort head = AvailEntry(q, q.LastAvail);
            byte[] command = Gather(q, head, out List<(ulong Address, uint Length)> writable);
            byte ack = 1; // VIRTIO_NET_ERR
            if (command.Length >= 4 && command[0] == VirtioNetLayout.ControlMq && command[1] == VirtioNetLayout.ControlMqPairsSet)
            {
                int pairs = BinaryPrimitives.ReadUInt16LittleEndian(command.AsSpan(2));
                QueuePairCommands.Add(pairs);
                ack = pairs >= 1 && pairs <= MaxPairs && (DriverFeatures & VirtioFeatures.MultiQueue) != 0 ? VirtioNetLayout.ControlOk : (byte)1;
            }
            else if (command.Length >= 2 && command[0] == VirtioNetLayout.ControlMq && command[1] == VirtioNetLayout.ControlMqRssConfig)
            {
                ack = RssCommand(command.AsSpan(2)) ? VirtioNetLayout.ControlOk : (byte)1;
            }
            if (writable.Count != 1 || writable[0].Length < 1)
                Violations.Add("a control command without its one writable ack byte (§5.1.6.5)");
            else
                _dma.Span(writable[0].Address, 1)[0] = ack;
            WriteUsed(q, q.UsedIndex, head, 1);
            q.LastAvail++;
            PublishUsed(q, (ushort)(q.UsedIndex + 1));
        }
    }

    // struct virtio_net_rss_config, checked as QEMU's virtio_net_handle_rss does.
    private bool RssCommand(ReadOnlySpan<byte> c)
    {
        if ((DriverFeatures & VirtioFeatures.Rss) == 0)
        {
            Violations.Add("VIRTIO_NET_CTRL_MQ_RSS_CONFIG without VIRTIO_NET_F_RSS (§5.1.6.5.7.1)");
            return false;
        }
        if (c.Length < 8)
            return false;
        uint types = BinaryPrimitives.ReadUInt32LittleEndian(c);
        int entries = BinaryPrimitives.ReadUInt16LittleEndian(c[4..]) + 1;
        if (!System.Numerics.BitOperations.IsPow2(entries) || entries > 128)
        {
            Violations.Add($"an RSS indirection table of {entries} entries: a power of two, at most rss_max_indirection_table_length");
            return false;
        }
        if (c.Length < 8 + 2 * entries + 3)
            return false;
        ushort[] table = new ushort[entries];
        for (int j = 0; j < entries; j++)
            table[j] = BinaryPrimitives.ReadUInt16LittleEndian(c[(8 + 2 * j)..]);
        int at = 8 + 2 * entries;
        ushort maxTx = BinaryPrimitives.ReadUInt16LittleEndian(c[at..]);
        int keyLength = c[at + 2];
        if (c.Length < at + 3 + keyLength || keyLength > 40)
            return false;
        if ((types & ~0x1ffu) != 0)
            Violations.Add($"RSS hash types 0x{types:x} beyond supported_hash_types");
        if (table.Any(q => q >= MaxPairs) || maxTx < 1 || maxTx > MaxPairs)
            return false;
        RssConfigs.Add(new RssConfig(types, table, BinaryPrimitives.ReadUInt16LittleEndian(c[6..]), maxTx, c.Slice(at + 3, keyLength).ToArray()));
        return true;
    }

    private void Interrupt(Queue q)
    {
        // §2.7.7: no interrupt while the driver has VIRTQ_AVAIL_F_NO_INTERRUPT set.
        if ((Mmio.Read16(_dma.Span(q.Driver, 2), 0) & Virtqueue.AvailNoInterrupt) == 0)
            Signal(q.Vector);
    }

    private void Signal(ushort vector)
    {
        if (vector < _vectors.Length)
            _vectors[vector].Signal();
    }

    private ushort AvailIndex(Queue q) => Mmio.Read16(_dma.Span(q.Driver + 2, 2), 0);

    private ushort AvailEntry(Queue q, ushort index)
    {
        ushort id = Mmio.Read16(_dma.Span(q.Driver + 4 + 2 * (ulong)(index % q.Size), 2), 0);
        if (id >= q.Size)
            Violations.Add($"avail entry {index} names descriptor {id}, past the table");
        return (ushort)(id % q.Size);
    }

    private (ulong Address, uint Length, ushort Flags, ushort Next) Descriptor(Queue q, ushort id)
    {
        Span<byte> d = _dma.Span(q.Descriptors + (ulong)(Virtqueue.DescriptorSize * id), Virtqueue.DescriptorSize);
        return (Mmio.Read64(d, 0), Mmio.Read32(d, 8), Mmio.Read16(d, 12), Mmio.Read16(d, 14));
    }

    private void WriteUsed(Queue q, ushort index, ushort id, uint length)
    {
        Span<byte> e = _dma.Span(q.Device + 4 + 8 * (ulong)(index % q.Size), 8);
        Mmio.Write32(e, 0, id);
        Mmio.Write32(e, 4, length);
    }

    private void PublishUsed(Queue q, ushort index)
    {
        q.UsedIndex = index;
        Mmio.Write16(_dma.Span(q.Device + 2, 2), 0, index);
    }

    private void ResetDevice()
    {
        Status = 0;
        DriverFeatures = 0;
        _configVector = VirtioPciLayout.NoVector;
        foreach (Queue q in _queues)
        {
            ushort max = q.MaxSize;
            int notifications = q.Notifications;
            q.Reset();
            q.MaxSize = max;
            q.Notifications = notifications;
        }
    }

    private void WriteStatus(byte value)
    {
        if (value == 0)
        {
            ResetDevice();
            return;
        }
        byte added = (byte)(value & ~Status);
        if ((value & Status) != Status)
            Violations.Add($"device_status 0x{value:x2} clears bits of 0x{Status:x2} without a reset");
        if ((added & VirtioStatus.Driver) != 0 && (Status & VirtioStatus.Acknowledge) == 0 && (value & VirtioStatus.Acknowledge) == 0)
            Violations.Add("DRIVER before ACKNOWLEDGE (§3.1.1)");
        if ((added & VirtioStatus.FeaturesOk) != 0)
        {
            if ((Status & VirtioStatus.Driver) == 0)
                Violations.Add("FEATURES_OK before DRIVER (§3.1.1)");
            if ((DriverFeatures & ~OfferedFeatures) != 0)
                Violations.Add($"the driver accepted features the device did not offer: 0x{(ulong)(DriverFeatures & ~OfferedFeatures):x}");
            if (RefuseFeatures || (DriverFeatures & VirtioFeatures.Version1) == 0 || (DriverFeatures & ~OfferedFeatures) != 0)
                value = (byte)(value & ~VirtioStatus.FeaturesOk); // §3.1.1 step 6: the device does not keep it
        }
        if ((added & VirtioStatus.DriverOk) != 0 && (Status & VirtioStatus.FeaturesOk) == 0)
            Violations.Add("DRIVER_OK before FEATURES_OK (§3.1.1)");
        Status = value;
    }

    private Queue Selected => _queueSelect < _queues.Length ? _queues[_queueSelect] : Queue.Missing;

    private sealed class Queue
    {
        public static readonly Queue Missing = new();
        public ushort MaxSize;
        public ushort Size;
        public ushort Vector = VirtioPciLayout.NoVector;
        public bool Enabled;
        public ulong Descriptors, Driver, Device;
        public ushort LastAvail, UsedIndex;
        public int Notifications;

        public void Reset()
        {
            Size = 0;
            Vector = VirtioPciLayout.NoVector;
            Enabled = false;
            Descriptors = Driver = Device = 0;
            LastAvail = UsedIndex = 0;
        }
    }

    /// <summary>BAR 4: the common config's registers (§4.1.4.3), ISR, device config, and the doorbells.</summary>
    private sealed class FakeBar(FakeVirtioNetDevice d) : IMmioRegion
    {
        public int Length => BarLength;

        public byte Read8(int offset) => offset switch
        {
            Common + VirtioPciLayout.DeviceStatus => d.Status,
            Common + VirtioPciLayout.ConfigGeneration => d._generation,
            >= DeviceConfig and < DeviceConfig + VirtioNetLayout.ConfigLength => d._deviceConfig[offset - DeviceConfig],
            Isr => 0,
            _ => Unexpected(offset, 1),
        };

        public ushort Read16(int offset)
        {
            Queue q = d.Selected;
            return offset switch
            {
                Common + VirtioPciLayout.MsixConfig => d._configVector,
                Common + VirtioPciLayout.NumQueues => (ushort)d._queues.Length,
                Common + VirtioPciLayout.QueueSelect => d._queueSelect,
                Common + VirtioPciLayout.QueueSize => q.Size != 0 ? q.Size : q.MaxSize,
                Common + VirtioPciLayout.QueueMsixVector => q.Vector,
                Common + VirtioPciLayout.QueueEnable => q.Enabled ? (ushort)1 : (ushort)0,
                Common + VirtioPciLayout.QueueNotifyOff => d._queueSelect,
                >= DeviceConfig and < DeviceConfig + VirtioNetLayout.ConfigLength - 1 => BinaryPrimitives.ReadUInt16LittleEndian(d._deviceConfig.AsSpan(offset - DeviceConfig)),
                _ => Unexpected(offset, 2),
            };
        }

        public uint Read32(int offset) => offset switch
        {
            Common + VirtioPciLayout.DeviceFeatureSelect => d._deviceFeatureSelect,
            Common + VirtioPciLayout.DeviceFeature => d._deviceFeatureSelect switch
            {
                0 => (uint)d.OfferedFeatures,
                1 => (uint)((ulong)d.OfferedFeatures >> 32),
                _ => 0,
            },
            Common + VirtioPciLayout.DriverFeatureSelect => d._driverFeatureSelect,
            DeviceConfig + VirtioNetLayout.SupportedHashTypes => BinaryPrimitives.ReadUInt32LittleEndian(d._deviceConfig.AsSpan(VirtioNetLayout.SupportedHashTypes)),
            _ => Unexpected(offset, 4),
        };

        public ulong Read64(int offset) => Unexpected(offset, 8);

        public void Write8(int offset, byte value)
        {
            if (offset == Common + VirtioPciLayout.DeviceStatus)
                d.WriteStatus(value);
            else
                Unexpected(offset, 1);
        }

        public void Write16(int offset, ushort value)
        {
            if (offset >= Notify && offset < Notify + 0x1000)
            {
                int queue = (offset - Notify) / NotifyMultiplier;
                if (queue >= d._queues.Length || value != queue)
                {
                    d.Violations.Add($"a doorbell write of {value} at the notify address of queue {queue}");
                    return;
                }
                d._queues[queue].Notifications++;
                if (queue == d._queues.Length - 1 && (d.OfferedFeatures & VirtioFeatures.ControlQueue) != 0)
                    d.Control();
                else if (queue % 2 == 1 && !d.HoldTransmit)
                    d.ProcessTransmit(queue / 2);
                return;
            }
            Queue q = d.Selected;
            switch (offset)
            {
                case Common + VirtioPciLayout.MsixConfig:
                    d._configVector = value < d._vectors.Length ? value : VirtioPciLayout.NoVector;
                    break;
                case Common + VirtioPciLayout.QueueSelect:
                    d._queueSelect = value;
                    break;
                case Common + VirtioPciLayout.QueueSize:
                    if (value == 0 || value > q.MaxSize || (value & (value - 1)) != 0)
                        d.Violations.Add($"queue_size {value} for queue {d._queueSelect} (maximum {q.MaxSize})");
                    q.Size = value;
                    break;
                case Common + VirtioPciLayout.QueueMsixVector:
                    q.Vector = value < d._vectors.Length || value == VirtioPciLayout.NoVector ? value : VirtioPciLayout.NoVector;
                    break;
                case Common + VirtioPciLayout.QueueEnable:
                    if (value != 1)
                        d.Violations.Add("queue_enable written with 0 (§4.1.4.3.2)");
                    if ((d.Status & VirtioStatus.FeaturesOk) == 0)
                        d.Violations.Add($"queue {d._queueSelect} enabled before FEATURES_OK");
                    if (q.Descriptors == 0 || q.Driver == 0 || q.Device == 0 || q.Size == 0)
                        d.Violations.Add($"queue {d._queueSelect} enabled without its areas");
                    foreach ((ulong at, int length) in new[] { (q.Descriptors, 16 * q.Size), (q.Driver, 6 + 2 * q.Size), (q.Device, 6 + 8 * q.Size) })
                        d._dma.Span(at, length); // throws if the driver gave memory it did not map
                    if (q.Descriptors % 16 != 0 || q.Driver % 2 != 0 || q.Device % 4 != 0)
                        d.Violations.Add($"queue {d._queueSelect}'s areas are misaligned (§2.7)");
                    q.Enabled = value == 1;
                    break;
                default:
                    Unexpected(offset, 2);
                    break;
            }
        }

        public void Write32(int offset, uint value)
        {
            Queue q = d.Selected;
            switch (offset)
            {
                case Common + VirtioPciLayout.DeviceFeatureSelect:
                    d._deviceFeatureSelect = value;
                    break;
                case Common + VirtioPciLayout.DriverFeatureSelect:
                    d._driverFeatureSelect = value;
                    break;
                case Common + VirtioPciLayout.DriverFeature:
                    if ((d.Status & VirtioStatus.FeaturesOk) != 0)
                        d.Violations.Add("driver features written after FEATURES_OK");
                    ulong features = (ulong)d.DriverFeatures;
                    features = d._driverFeatureSelect == 0 ? (features & ~0xffffffffUL) | value : (features & 0xffffffffUL) | (ulong)value << 32;
                    d.DriverFeatures = (VirtioFeatures)features;
                    break;
                case Common + VirtioPciLayout.QueueDesc: q.Descriptors = (q.Descriptors & ~0xffffffffUL) | value; break;
                case Common + VirtioPciLayout.QueueDesc + 4: q.Descriptors = (q.Descriptors & 0xffffffffUL) | (ulong)value << 32; break;
                case Common + VirtioPciLayout.QueueDriver: q.Driver = (q.Driver & ~0xffffffffUL) | value; break;
                case Common + VirtioPciLayout.QueueDriver + 4: q.Driver = (q.Driver & 0xffffffffUL) | (ulong)value << 32; break;
                case Common + VirtioPciLayout.QueueDevice: q.Device = (q.Device & ~0xffffffffUL) | value; break;
                case Common + VirtioPciLayout.QueueDevice + 4: q.Device = (q.Device & 0xffffffffUL) | (ulong)value << 32; break;
                default:
                    Unexpected(offset, 4);
                    break;
            }
        }

        public void Write64(int offset, ulong value)
        {
            Write32(offset, (uint)value);
            Write32(offset + 4, (uint)(value >> 32));
        }

        private byte Unexpected(int offset, int width)
        {
            d.Violations.Add($"a {width}-byte access at BAR 4 offset 0x{offset:x}, no register of that width there");
            return 0;
        }
    }
}
