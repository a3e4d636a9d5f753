using System.Diagnostics;
using Dataplane.Labs.Guest;

namespace Dataplane.Tests.Guest;

/// <summary>
/// One boot of the test guest shared by <see cref="QemuGuestTests"/>, made when the first test
/// asks and kept (with its failure, when it failed) for the others. Before the binding (the NICs
/// on their kernel drivers) the guest puts <see cref="GuestAddress"/> on the e1000e and waits for a
/// line on its console; the host pings it from a namespace holding the e1000e's tap, then sends the
/// line. After the binding it runs the published binary. Everything (QEMU, taps, namespace) is
/// removed before <see cref="Get"/> returns.
/// </summary>
public sealed class QemuGuestBoot
{
    /// <summary>The host namespace's address on the e1000e's tap.</summary>
    public const string HostAddress = "10.199.0.1";

    /// <summary>The guest's address on its e1000e.</summary>
    public const string GuestAddress = "10.199.0.2";

    /// <summary>The guest's config of the three VFIO ports.</summary>
    public const string ConfigPath = "/etc/dataplane.conf";

    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);
    private readonly Lazy<Result> _result = new(BootOnce);

    /// <summary>What the boot showed.</summary>
    /// <param name="Console">The serial console.</param>
    /// <param name="ConsoleFile">Where it was copied (gone with the lab's folder).</param>
    /// <param name="QemuExit">QEMU's exit code (0: /init powered the guest off).</param>
    /// <param name="PingExit">ping's exit code in the host namespace.</param>
    /// <param name="Ping">ping's output.</param>
    /// <param name="ToInit">From QEMU's start to /init's first line.</param>
    /// <param name="Total">From QEMU's start to its exit.</param>
    /// <param name="Markers">The GUEST lines, each with when it came.</param>
    public sealed record Result(string Console, string ConsoleFile, int QemuExit, int PingExit, string Ping, TimeSpan ToInit, TimeSpan Total,
        IReadOnlyList<(TimeSpan At, string Line)> Markers);

    /// <summary>Why the guest cannot boot here (a skip reason), or null.</summary>
    public static string? CannotRunBecause()
    {
        if (QemuGuest.CannotBootBecause() is string why)
            return why;
        string binary = Path.Combine(GuestImage.FindRoot(), "out", "dataplane");
        return File.Exists(binary) ? null : $"{binary} is not published: ./build.sh publish (./build.sh test publishes it first)";
    }

    /// <summary>The boot's result; its failure (rethrown to every test) when it failed.</summary>
    public Result Get() => _result.Value;

    /// <summary>The PCI addresses of the three NICs.</summary>
    public static readonly string[] Addresses = ["0000:00:03.0", "0000:00:04.0", "0000:00:05.0"];

    /// <summary>The C compiler that builds vfio-probe.c (static), or null when there is none.</summary>
    public static string? Compiler { get; } = ((string[])["clang", "gcc", "cc"]).FirstOrDefault(c => LinuxLab.Missing(c) is null);

    private static Result BootOnce()
    {
        using var lab = new LinuxLab();
        string ns = lab.Namespace();
        var programs = new Dictionary<string, string>();
        if (Compiler is not null)
        {
            string probe = lab.File("vfio-probe");
            LinuxLab.Run(Compiler, "-static", "-O1", "-o", probe, Path.Combine(AppContext.BaseDirectory, "Guest", "vfio-probe.c"));
            programs["/usr/bin/vfio-probe"] = probe;
        }
        var options = new QemuGuestOptions
        {
            Nics = [new("e1000e", 3, ns), new("vmxnet3", 4), new("virtio-net-pci", 5, Queues: 2)],
            Files = new Dictionary<string, string>
            {
                [ConfigPath] = """
                    port e0 driver vfio pci 0000:00:03.0
                    port v0 driver vfio pci 0000:00:04.0
                    port n0 driver vfio pci 0000:00:05.0
                    inet e0 10.199.0.2/24

                    """,
            },
            BeforeBind = $$"""
                dev=$(ls /sys/bus/pci/devices/0000:00:03.0/net)
                ip addr add {{GuestAddress}}/24 dev $dev
                ip link set $dev up
                i=0
                while [ "$(cat /sys/class/net/$dev/carrier 2>/dev/null)" != 1 ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
                echo "GUEST ping-me $dev carrier $(cat /sys/class/net/$dev/carrier)"
                read -t 100 word
                echo "GUEST heard ${word:-nothing}"
                echo "GUEST rx-packets $(cat /sys/class/net/$dev/statistics/rx_packets)"
                ip link set $dev down

                """,
            HostFiles = programs,
            Run = $"""
                dataplane version && dataplane check -c {ConfigPath}
                status=$?
                [ -x /usr/bin/vfio-probe ] && for b in {string.Join(' ', Addresses)}; do vfio-probe $b; done
                exit $status

                """,
            Timeout = Patience,
        };
        var clock = Stopwatch.StartNew();
        using QemuGuest guest = QemuGuest.Boot(lab, options);
        lab.Address(ns, guest.Taps[0], $"{HostAddress}/24");
        guest.Expect("GUEST ping-me");
        (int pingExit, string ping) = LinuxLab.Execute("ip", "netns", "exec", ns, "ping", "-n", "-c", "3", "-i", "0.5", "-w", "60", GuestAddress);
        guest.SendLine("pinged");
        int exit = guest.WaitForPowerOff();
        TimeSpan total = clock.Elapsed;
        return new Result(guest.Console, guest.ConsoleFile, exit, pingExit, ping, guest.TimeOf("init") ?? TimeSpan.Zero, total, guest.Markers);
    }
}
