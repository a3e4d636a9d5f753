namespace Dataplane.Ports;

/// <summary>
/// A fault a device reported, in the device's words: <paramref name="Name"/> is what it is counted
/// by (ifconfig, stats), <paramref name="Detail"/> what the log says, <paramref name="Count"/> how many
/// times it happened since the last look. A fatal one leaves the device stopped (<see cref="IDeviceFaults.Failed"/>).
/// </summary>
internal readonly record struct DeviceFault(string Name, string Detail, long Count = 1, bool Fatal = false);

/// <summary>
/// A port whose device reports faults and events of its own (the VFIO drivers: virtio's
/// DEVICE_NEEDS_RESET, vmxnet3's queue errors, the 82574's error counters). Looked at by the
/// control thread's <see cref="PortWatch"/> a few times a second, never per packet.
/// </summary>
internal interface IDeviceFaults
{
    /// <summary>
    /// Looks at the device once: takes its pending events (acknowledging them) and adds what went
    /// wrong since the last look to <paramref name="faults"/>. Control thread.
    /// </summary>
    void CheckFaults(List<DeviceFault> faults);

    /// <summary>What stopped the device after a fatal fault and was not recovered; null while it works.</summary>
    string? Failure { get; }
}
