namespace Dataplane.Config;

/// <summary>How a port reaches the wire.</summary>
internal enum PortDriver
{
    /// <summary>An in-process pair of queues, for tests and benchmarks; takes no ifname or pci.</summary>
    Memory,

    /// <summary>A Linux TAP device with vnet header offloads; needs ifname.</summary>
    Tap,

    /// <summary>A Linux AF_PACKET socket with an mmap ring; needs ifname.</summary>
    AfPacket,

    /// <summary>A Linux AF_XDP socket with its UMEM; needs ifname.</summary>
    AfXdp,

    /// <summary>A PCI NIC taken from the kernel through VFIO; needs pci.</summary>
    Vfio,
}

/// <summary><c>port NAME driver DRIVER [ifname IFNAME | pci DDDD:BB:DD.F] [queues N] [tso on|off] [lro on|off]</c>.</summary>
/// <param name="Name">The port's name in the config and in ctl output.</param>
/// <param name="Driver">The driver that runs it.</param>
/// <param name="IfName">The Linux interface for tap, afpacket and afxdp; null otherwise.</param>
/// <param name="Pci">The PCI function for vfio; null otherwise.</param>
/// <param name="Queues">Receive/transmit queue pairs, 1 to 64.</param>
/// <param name="Line">The config line that declared it.</param>
internal sealed record PortConfig(string Name, PortDriver Driver, string? IfName, PciAddress? Pci, int Queues, int Line)
{
    /// <summary>Queue pairs when the statement does not say.</summary>
    public const int DefaultQueues = 1;

    /// <summary>The most queue pairs a port may ask for.</summary>
    public const int MaxQueues = 64;

    /// <summary>The port's <c>tso on|off</c>, overriding <c>set tso</c>; null when the statement does not say.</summary>
    public bool? Tso { get; init; }

    /// <summary>The port's <c>lro on|off</c>, overriding <c>set lro</c>; null when the statement does not say.</summary>
    public bool? Lro { get; init; }
}

/// <summary>Driver keywords as the config writes them.</summary>
internal static class PortDriverNames
{
    /// <summary>Every driver keyword, in the order help and messages list them.</summary>
    public static readonly string[] All = ["memory", "tap", "afpacket", "afxdp", "vfio"];

    /// <summary>The config keyword of <paramref name="driver"/>.</summary>
    public static string Keyword(this PortDriver driver) => All[(int)driver];

    /// <summary>Looks a driver up by keyword.</summary>
    public static bool TryParse(string text, out PortDriver driver)
    {
        int i = Array.IndexOf(All, text);
        driver = (PortDriver)Math.Max(i, 0);
        return i >= 0;
    }

    /// <summary>True for the drivers that sit on a Linux network interface.</summary>
    public static bool NeedsIfName(this PortDriver driver) => driver is PortDriver.Tap or PortDriver.AfPacket or PortDriver.AfXdp;
}
