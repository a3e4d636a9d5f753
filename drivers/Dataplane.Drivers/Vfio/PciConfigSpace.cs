namespace Dataplane.Drivers.Vfio;

/// <summary>
/// The type 0 config-space header and capability list (PCI Local Bus Specification 3.0, §6.1, §6.7):
/// the offsets and bits the drivers use, and the capability walk.
/// </summary>
internal static class PciConfigSpace
{
    /// <summary>Vendor ID, <c>u16</c>.</summary>
    public const int VendorId = 0x00;

    /// <summary>Device ID, <c>u16</c>.</summary>
    public const int DeviceId = 0x02;

    /// <summary>Command register, <c>u16</c>.</summary>
    public const int Command = 0x04;

    /// <summary>Status register, <c>u16</c>.</summary>
    public const int Status = 0x06;

    /// <summary>Revision ID, <c>u8</c>.</summary>
    public const int RevisionId = 0x08;

    /// <summary>Capabilities pointer, <c>u8</c> (valid when <see cref="StatusCapabilityList"/> is set).</summary>
    public const int CapabilitiesPointer = 0x34;

    /// <summary>Command: Memory Space Enable.</summary>
    public const ushort CommandMemorySpace = 1 << 1;

    /// <summary>Command: Bus Master Enable, the device may start DMA.</summary>
    public const ushort CommandBusMaster = 1 << 2;

    /// <summary>Command: INTx Disable (MSI-X is used instead).</summary>
    public const ushort CommandInterruptDisable = 1 << 10;

    /// <summary>Status: the function has a capability list.</summary>
    public const ushort StatusCapabilityList = 1 << 4;

    /// <summary>Capability ID of MSI-X (§6.8.2).</summary>
    public const byte CapabilityMsix = 0x11;

    /// <summary>Capability ID of a vendor-specific capability (virtio's configuration structures).</summary>
    public const byte CapabilityVendor = 0x09;

    /// <summary>
    /// The capabilities of <paramref name="function"/> as (ID, offset) pairs in list order. A list
    /// that loops or points into the header ends the walk: 48 entries at most, each at 0x40 or above.
    /// </summary>
    public static List<(byte Id, int Offset)> Capabilities(IPciFunction function)
    {
        var found = new List<(byte, int)>();
        if ((function.ReadConfig16(Status) & StatusCapabilityList) == 0)
            return found;
        int offset = function.ReadConfig8(CapabilitiesPointer) & ~3; // the bottom two bits are reserved
        for (int k = 0; k < 48 && offset >= 0x40; k++)
        {
            found.Add((function.ReadConfig8(offset), offset));
            offset = function.ReadConfig8(offset + 1) & ~3;
        }
        return found;
    }
}
