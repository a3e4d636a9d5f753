namespace Dataplane.Labs.Guest;

/// <summary>
/// One NIC of the guest: a QEMU device model at a fixed PCI address (slot <paramref name="Slot"/>
/// of bus 0, so <c>0000:00:SS.0</c> in the guest), backed by a tap here; the tap is moved into
/// <paramref name="Namespace"/> (and set up there) once QEMU holds it, when given.
/// </summary>
/// <param name="Model">QEMU's device: <c>e1000e</c>, <c>vmxnet3</c>, <c>virtio-net-pci</c>.</param>
/// <param name="Slot">The PCI slot on bus 0 (3 for 0000:00:03.0).</param>
/// <param name="Namespace">Where the tap goes; null: it stays here.</param>
/// <param name="Queues">Queue pairs: above 1 a multi-queue tap and, for virtio-net, <c>mq=on</c> with vectors for each.</param>
/// <param name="Rss">For virtio-net: <c>rss=on,hash=on</c>, VIRTIO_NET_F_RSS and VIRTIO_NET_F_HASH_REPORT offered (QEMU computes the hash itself and moves the frame to the queue its table names).</param>
public sealed record GuestNic(string Model, int Slot, string? Namespace = null, int Queues = 1, bool Rss = false)
{
    /// <summary>The device's PCI address in the guest.</summary>
    public string PciAddress => $"0000:00:{Slot:x2}.0";

    /// <summary>
    /// The three NICs of issue 16's guest: e1000e at 0000:00:03.0, vmxnet3 at 0000:00:04.0 and a
    /// modern-only virtio-net at 0000:00:05.0.
    /// </summary>
    public static IReadOnlyList<GuestNic> Three { get; } =
        [new("e1000e", 3), new("vmxnet3", 4), new("virtio-net-pci", 5)];

    /// <summary>The <c>-device</c> value for it, on netdev <paramref name="netdev"/>.</summary>
    internal string Device(string netdev)
    {
        string device = $"{Model},netdev={netdev},addr={Slot:x2}.0";
        if (Model == "virtio-net-pci")
        {
            // Modern only (no legacy I/O BARs), and DMA through the IOMMU: without iommu_platform a
            // virtio device reads guest-physical addresses and bypasses the IOMMU VFIO programs.
            device += ",disable-legacy=on,iommu_platform=on";
            if (Queues > 1)
                device += $",mq=on,vectors={2 * Queues + 2}";
            if (Rss)
                device += ",rss=on,hash=on";
        }
        return device;
    }
}

/// <summary>What a <see cref="QemuGuest"/> boots: the machine, its NICs, and what /init runs.</summary>
public sealed record QemuGuestOptions
{
    /// <summary>The NICs, each with its tap (default <see cref="GuestNic.Three"/>).</summary>
    public IReadOnlyList<GuestNic> Nics { get; init; } = GuestNic.Three;

    /// <summary>The PCI addresses /init binds to vfio-pci after before-bind; null: every NIC's.</summary>
    public IReadOnlyList<string>? Vfio { get; init; }

    /// <summary>A shell script /init runs with the NICs on their kernel drivers (/etc/guest/before-bind); null: none.</summary>
    public string? BeforeBind { get; init; }

    /// <summary>A shell script /init runs after the binding (/etc/guest/run), e.g. <c>dataplane check -c /etc/dataplane.conf</c>; null: none.</summary>
    public string? Run { get; init; }

    /// <summary>More files for the guest, by absolute path: configs the scripts use.</summary>
    public IReadOnlyDictionary<string, string> Files { get; init; } = new Dictionary<string, string>();

    /// <summary>Files of this machine copied into the guest (executable), by path there: programs the scripts run.</summary>
    public IReadOnlyDictionary<string, string> HostFiles { get; init; } = new Dictionary<string, string>();

    /// <summary>
    /// Programs of this machine (absolute paths) copied into the guest at the same paths, with the
    /// shared libraries <c>ldd</c> names for them: tools the busybox image lacks (socat, iperf3,
    /// iproute2's ip, ss and nstat). They go into the per-boot archive.
    /// </summary>
    public IReadOnlyList<string> Programs { get; init; } = [];

    /// <summary>Virtual CPUs (TCG threads; this machine has two cores).</summary>
    public int Cpus { get; init; } = 2;

    /// <summary>Guest memory in MiB.</summary>
    public int MemoryMiB { get; init; } = 1024;

    /// <summary>Kernel parameters added to those of the guest (console, IOMMU, panic): e.g. <c>hugepages=64</c>.</summary>
    public string KernelArgs { get; init; } = "";

    /// <summary>How long the whole boot may take before the guest is killed, and each wait's default bound.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(120);

    /// <summary>The image; null: <see cref="GuestImage.Prepare"/> of this repository.</summary>
    public GuestImage? Image { get; init; }

    /// <summary>Where the serial console is copied as it comes; null: <c>console.log</c> in the lab's folder.</summary>
    public string? ConsoleLog { get; init; }
}
