namespace Dataplane.Conformance.Labs;

/// <summary>Where a machine of a lab lives.</summary>
public enum HostKind
{
    /// <summary>A network namespace on this machine, made for the run and removed after it.</summary>
    Netns,

    /// <summary>A remote machine reached with <c>ssh -o BatchMode=yes TARGET</c>.</summary>
    Ssh,

    /// <summary>
    /// The QEMU test guest (lab/Dataplane.Labs/Guest), booted for each phase with two NICs of the
    /// run's device type whose taps are the hosts' interfaces; commands reach it over its command
    /// channel (<see cref="Dataplane.Labs.Guest.GuestHost"/>). The system under test only.
    /// </summary>
    Qemu,
}

/// <summary>One machine of a lab: the left or right Linux host, or the system under test.</summary>
/// <param name="Role">left, right or sut.</param>
/// <param name="Kind">Namespace or ssh.</param>
/// <param name="Target">The ssh destination (user@host); null for a namespace.</param>
/// <param name="Interface">A remote host's interface cabled to the system under test; null for a namespace (the lab makes it).</param>
public sealed record HostSpec(string Role, HostKind Kind, string? Target, string? Interface);

/// <summary>A port of a remote system under test: its PCI address for the dataplane, its kernel interface for Linux.</summary>
/// <param name="Side">left or right.</param>
/// <param name="Pci">The PCI address the dataplane's vfio driver takes.</param>
/// <param name="Interface">The same port's kernel interface, for the Linux reference; null when there is none.</param>
public sealed record PortSpec(string Side, string? Pci, string? Interface);

/// <summary>
/// A lab as its definition file declares it: which machines play left, right and the system under
/// test, which of the dataplane's drivers the lab can run, and the address line.
/// </summary>
/// <param name="Name">The lab's name (<c>lab NAME</c>).</param>
/// <param name="File">The file it was read from.</param>
/// <param name="Left">The left Linux host.</param>
/// <param name="Right">The right Linux host.</param>
/// <param name="Sut">The system under test.</param>
/// <param name="Drivers">The dataplane drivers this lab runs, one run each.</param>
/// <param name="Ports">A remote system under test's ports; empty in a namespace lab.</param>
/// <param name="Line">The address line: 10.10.&lt;line&gt;1.0/24 and so on.</param>
/// <param name="SshOptions">Words every ssh call takes before the target (<c>ssh-option</c>: <c>-F FILE</c>, <c>-i KEY</c>); empty for ssh's defaults.</param>
public sealed record LabDefinition(
    string Name,
    string File,
    HostSpec Left,
    HostSpec Right,
    HostSpec Sut,
    IReadOnlyList<string> Drivers,
    IReadOnlyList<PortSpec> Ports,
    int Line,
    IReadOnlyList<string> SshOptions)
{
    /// <summary>The drivers a namespace system under test can run (host-backed ports).</summary>
    public static readonly string[] NetnsDrivers = ["tap", "afpacket", "afxdp"];

    /// <summary>The device types a QEMU guest system under test runs, each a run: the guest's two NICs are of that type.</summary>
    public static readonly string[] QemuDrivers = ["virtio-net", "e1000e", "vmxnet3"];

    /// <summary>
    /// The name of a driver's column (and run): OpenBSD's names of the QEMU device types (vio, em,
    /// vmx), as its pages have them; the driver's own name otherwise.
    /// </summary>
    public static string Column(string driver) => driver switch
    {
        "virtio-net" => "vio",
        "e1000e" => "em",
        "vmxnet3" => "vmx",
        _ => driver,
    };

    /// <summary>The driver a column name (<c>--driver vio</c>) or driver name stands for.</summary>
    public static string DriverOf(string name) => QemuDrivers.FirstOrDefault(d => Column(d) == name) ?? name;

    /// <summary>The addresses of this lab's line.</summary>
    public Addressing Addresses => new(Line);

    /// <summary>The port of <paramref name="side"/> of a remote system under test.</summary>
    public PortSpec? Port(string side) => Ports.FirstOrDefault(p => p.Side == side);
}
