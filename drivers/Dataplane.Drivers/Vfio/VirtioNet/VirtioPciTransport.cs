using System.Diagnostics;
using Dataplane.Native;

namespace Dataplane.Drivers.Vfio.VirtioNet;

/// <summary>
/// The virtio 1.x PCI transport (virtio 1.2 §4.1): the vendor capabilities that locate the common,
/// notify, ISR and device configuration structures in the BARs (§4.1.4), the device status handshake
/// (§3.1.1), feature negotiation in 32-bit halves (§4.1.4.3), virtqueue setup and notification
/// (§4.1.4.4, §4.1.5.2). Control path, except <see cref="Notify"/>.
/// </summary>
internal sealed class VirtioPciTransport
{
    private readonly IMmioRegion _common;
    private readonly int _commonOffset;
    private readonly IMmioRegion _notify;
    private readonly int _notifyOffset;
    private readonly uint _notifyMultiplier;
    private readonly IMmioRegion _device;
    private readonly int _deviceOffset;
    private readonly string _where;

    private VirtioPciTransport(string where, (IMmioRegion Bar, int Offset) common, (IMmioRegion Bar, int Offset) notify, uint multiplier,
        (IMmioRegion Bar, int Offset) device)
    {
        _where = where;
        (_common, _commonOffset) = common;
        (_notify, _notifyOffset) = notify;
        _notifyMultiplier = multiplier;
        (_device, _deviceOffset) = device;
    }

    /// <summary>
    /// Finds the configuration structures of <paramref name="function"/> among its vendor-specific
    /// capabilities, the first of each type (§4.1.4: "the driver SHOULD use the first one"), and maps
    /// their BARs. Throws naming <paramref name="where"/> when one the driver needs is missing.
    /// </summary>
    public static VirtioPciTransport Find(IPciFunction function, string where)
    {
        (IMmioRegion, int)? common = null, notify = null, device = null;
        uint multiplier = 0;
        foreach ((byte id, int cap) in PciConfigSpace.Capabilities(function))
        {
            if (id != PciConfigSpace.CapabilityVendor)
                continue;
            byte type = function.ReadConfig8(cap + VirtioPciLayout.CapType);
            byte bar = function.ReadConfig8(cap + VirtioPciLayout.CapBar);
            int offset = (int)function.ReadConfig32(cap + VirtioPciLayout.CapOffset);
            uint length = function.ReadConfig32(cap + VirtioPciLayout.CapLength);
            if (bar > 5 || type is < VirtioPciLayout.CommonConfig or > VirtioPciLayout.DeviceConfig)
                continue; // PCI_CFG (5), shared memory, vendor data: not used here; BARs 6-7 are reserved (§4.1.4)
            switch (type)
            {
                case VirtioPciLayout.CommonConfig when common is null && length >= VirtioPciLayout.CommonConfigLength:
                    common = (Region(function, bar, offset, length, where), offset);
                    break;
                case VirtioPciLayout.NotifyConfig when notify is null:
                    notify = (Region(function, bar, offset, length, where), offset);
                    multiplier = function.ReadConfig32(cap + VirtioPciLayout.CapNotifyMultiplier);
                    break;
                case VirtioPciLayout.DeviceConfig when device is null:
                    device = (Region(function, bar, offset, length, where), offset);
                    break;
            }
        }
        if (common is null || notify is null || device is null)
        {
            string missing = string.Join(", ", new[] { ("COMMON_CFG", common), ("NOTIFY_CFG", notify), ("DEVICE_CFG", device) }
                .Where(c => c.Item2 is null).Select(c => c.Item1));
            throw new NativeException($"{where}: not a modern virtio device: no {missing} capability (a legacy-only device, or disable-modern=on in QEMU)");
        }
        return new VirtioPciTransport(where, common.Value, notify.Value, multiplier, device.Value);
    }

    private static IMmioRegion Region(IPciFunction function, byte bar, int offset, uint length, string where)
    {
        IMmioRegion region = function.Bar(bar);
        if (offset < 0 || (long)offset + length > region.Length)
            throw new NativeException($"{where}: a virtio capability points past BAR {bar} ({offset}+{length} > {region.Length})");
        return region;
    }

    // Common config accessors, at the structure's offset in its BAR.
    private byte Read8(int field) => _common.Read8(_commonOffset + field);
    private ushort Read16(int field) => _common.Read16(_commonOffset + field);
    private uint Read32(int field) => _common.Read32(_commonOffset + field);
    private void Write8(int field, byte value) => _common.Write8(_commonOffset + field, value);
    private void Write16(int field, ushort value) => _common.Write16(_commonOffset + field, value);
    private void Write32(int field, uint value) => _common.Write32(_commonOffset + field, value);

    /// <summary>device_status.</summary>
    public byte Status => Read8(VirtioPciLayout.DeviceStatus);

    /// <summary>
    /// Writes 0 to device_status and waits until it reads 0 (§4.1.4.3.2: the device has finished
    /// resetting, and no longer touches the queues or sends interrupts). A second at most.
    /// </summary>
    public void Reset()
    {
        Write8(VirtioPciLayout.DeviceStatus, 0);
        long deadline = Stopwatch.GetTimestamp() + Stopwatch.Frequency;
        while (Read8(VirtioPciLayout.DeviceStatus) != 0)
        {
            if (Stopwatch.GetTimestamp() > deadline)
                throw new NativeException($"{_where}: the device did not finish its reset in a second");
            Thread.Yield();
        }
    }

    /// <summary>Sets <paramref name="bit"/> in device_status, keeping those set (§3.1.1).</summary>
    public void AddStatus(byte bit) => Write8(VirtioPciLayout.DeviceStatus, (byte)(Read8(VirtioPciLayout.DeviceStatus) | bit));

    /// <summary>Sets FAILED: the driver gives up on the device (§3.1.1 step 8's "set FAILED").</summary>
    public void Fail() => AddStatus(VirtioStatus.Failed);

    /// <summary>The device's 64 feature bits, read in two halves through device_feature_select.</summary>
    public VirtioFeatures DeviceFeatures()
    {
        Write32(VirtioPciLayout.DeviceFeatureSelect, 0);
        ulong low = Read32(VirtioPciLayout.DeviceFeature);
        Write32(VirtioPciLayout.DeviceFeatureSelect, 1);
        ulong high = Read32(VirtioPciLayout.DeviceFeature);
        return (VirtioFeatures)(low | high << 32);
    }

    /// <summary>Writes the driver's features, two halves through driver_feature_select.</summary>
    public void SetDriverFeatures(VirtioFeatures features)
    {
        Write32(VirtioPciLayout.DriverFeatureSelect, 0);
        Write32(VirtioPciLayout.DriverFeature, (uint)features);
        Write32(VirtioPciLayout.DriverFeatureSelect, 1);
        Write32(VirtioPciLayout.DriverFeature, (uint)((ulong)features >> 32));
    }

    /// <summary>num_queues: virtqueues the device has.</summary>
    public int QueueCount => Read16(VirtioPciLayout.NumQueues);

    /// <summary>
    /// Routes configuration-change interrupts to MSI-X <paramref name="vector"/> and reads it back:
    /// false when the device answered NO_VECTOR (it could not map it, §4.1.5.1.2).
    /// </summary>
    public bool SetConfigVector(ushort vector)
    {
        Write16(VirtioPciLayout.MsixConfig, vector);
        return Read16(VirtioPciLayout.MsixConfig) == vector;
    }

    /// <summary>queue_size of virtqueue <paramref name="queue"/>: the device's maximum, 0 if the queue does not exist.</summary>
    public int MaxQueueSize(int queue)
    {
        Write16(VirtioPciLayout.QueueSelect, (ushort)queue);
        return Read16(VirtioPciLayout.QueueSize);
    }

    /// <summary>
    /// Sets virtqueue <paramref name="queue"/> up (§4.1.5.1.3): its size, interrupt vector (read
    /// back: NO_VECTOR means refused), the three areas' IOVAs, then queue_enable. Returns the queue's
    /// notify address in the notify structure's BAR (§4.1.4.4: cap offset + queue_notify_off × multiplier).
    /// </summary>
    public int SetUpQueue(int queue, Virtqueue ring, ushort vector)
    {
        Write16(VirtioPciLayout.QueueSelect, (ushort)queue);
        Write16(VirtioPciLayout.QueueSize, ring.Size);
        Write16(VirtioPciLayout.QueueMsixVector, vector);
        if (Read16(VirtioPciLayout.QueueMsixVector) != vector)
            throw new NativeException($"{_where}: the device refused MSI-X vector {vector} for virtqueue {queue}");
        _common.Write64(_commonOffset + VirtioPciLayout.QueueDesc, ring.DescriptorTableIova);
        _common.Write64(_commonOffset + VirtioPciLayout.QueueDriver, ring.DriverAreaIova);
        _common.Write64(_commonOffset + VirtioPciLayout.QueueDevice, ring.DeviceAreaIova);
        int notify = _notifyOffset + (int)(Read16(VirtioPciLayout.QueueNotifyOff) * _notifyMultiplier);
        if ((uint)notify > (uint)(_notify.Length - 2))
            throw new NativeException($"{_where}: virtqueue {queue}'s notify address 0x{notify:x} is outside its BAR");
        Write16(VirtioPciLayout.QueueEnable, 1);
        return notify;
    }

    /// <summary>
    /// Notifies the device that virtqueue <paramref name="queue"/> has new buffers: its index written
    /// to its notify address (§4.1.5.2, without VIRTIO_F_NOTIFICATION_DATA). A posted write, on the data path.
    /// </summary>
    public void Notify(int address, ushort queue) => _notify.Write16(address, queue);

    /// <summary>
    /// Reads the device config consistently: <paramref name="read"/> again while config_generation
    /// changed under it (§4.1.4.3.1, §2.5.1).
    /// </summary>
    public T ReadDeviceConfig<T>(Func<IMmioRegion, int, T> read)
    {
        while (true)
        {
            byte before = Read8(VirtioPciLayout.ConfigGeneration);
            T value = read(_device, _deviceOffset);
            if (Read8(VirtioPciLayout.ConfigGeneration) == before)
                return value;
        }
    }
}
