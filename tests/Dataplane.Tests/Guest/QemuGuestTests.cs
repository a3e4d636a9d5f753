using System.Text.RegularExpressions;
using Dataplane.Labs.Guest;
using Xunit.Abstractions;

namespace Dataplane.Tests.Guest;

/// <summary>
/// The QEMU guest the VFIO drivers are tested in (issue 16), booted once for these tests
/// (<see cref="QemuGuestBoot"/>): the three NICs go from their kernel drivers to vfio-pci with a
/// viable IOMMU group each, the published binary runs inside, and a host namespace reaches the
/// e1000e through its tap while the kernel still drives it. In the CPU-heavy collection: a TCG
/// guest takes both cores for its ~10 s, and the lab tests' timing should not share them.
/// </summary>
[Collection(CpuHeavyCollection.Name)]
public sealed partial class QemuGuestTests(QemuGuestBoot boot, ITestOutputHelper output) : IClassFixture<QemuGuestBoot>
{
    [SkippableFact]
    public void The_three_nics_start_on_their_kernel_drivers_and_end_on_vfio_pci_with_a_viable_group_and_a_dev_node()
    {
        QemuGuestBoot.Result r = Booted();
        Said(r, "GUEST iommu dmar0");
        Said(r, "DMAR-IR: Enabled IRQ remapping");
        // The virtio-net has two queue pairs (mq=on on a multi-queue tap); the kernel's driver uses both on two CPUs.
        foreach ((string bdf, string ids, string kernelDriver, int queues) in (ReadOnlySpan<(string, string, string, int)>)[
            ("0000:00:03.0", "0x8086:0x10d3", "e1000e", 1), ("0000:00:04.0", "0x15ad:0x07b0", "vmxnet3", 2), ("0000:00:05.0", "0x1af4:0x1041", "virtio-pci", 2)])
        {
            Assert.Matches($@"GUEST nic {Regex.Escape(bdf)} {ids} driver={kernelDriver} group=[0-9]+ net=eth[0-9] queues={queues}\n", r.Console);
            Said(r, $"GUEST driver {bdf} vfio-pci\n");
            Match group = Regex.Match(r.Console, $@"GUEST vfio-group {Regex.Escape(bdf)} ([0-9]+)\n");
            Assert.True(group.Success, $"no IOMMU group for {bdf}");
            string g = group.Groups[1].Value;
            Said(r, $"GUEST dev /dev/vfio/{g} present\n");
            Said(r, $"GUEST group {g} viable yes\n");
        }
        Said(r, "GUEST dev /dev/vfio/vfio present");
        Assert.DoesNotMatch(@"GUEST insmod \S+ failed", r.Console);
        Assert.Equal(0, r.QemuExit); // powered off by /init, not killed
    }

    [SkippableFact]
    public void In_the_guest_each_nic_opens_through_vfio_reads_its_config_space_and_maps_memory_for_dma()
    {
        QemuGuestBoot.Result r = Booted();
        Skip.If(QemuGuestBoot.Compiler is null, "no C compiler for vfio-probe.c (clang): ./build.sh deps");
        foreach ((string bdf, string ids) in (ReadOnlySpan<(string, string)>)[
            ("0000:00:03.0", "0x8086:0x10d3"), ("0000:00:04.0", "0x15ad:0x07b0"), ("0000:00:05.0", "0x1af4:0x1041")])
        {
            Said(r, $"GUEST probe {bdf} config {ids} ");
            Said(r, $"GUEST probe {bdf} ok\n");
        }
    }

    [SkippableFact]
    public void The_published_binary_runs_in_the_guest_and_checks_a_config_of_the_three_vfio_ports()
    {
        QemuGuestBoot.Result r = Booted();
        Assert.Matches(@"(?m)^dataplane [0-9]+\.[0-9]+\.[0-9]+$", r.Console);
        Said(r, "os: Dataplane QEMU test guest");
        Said(r, $"{QemuGuestBoot.ConfigPath}: ok (3 ports");
        Said(r, "GUEST run exit 0\n");
    }

    [SkippableFact]
    public void A_host_namespace_pings_the_guests_e1000e_through_its_tap()
    {
        QemuGuestBoot.Result r = Booted();
        Assert.True(r.PingExit == 0, $"ping from the namespace to {QemuGuestBoot.GuestAddress}: exit {r.PingExit}\n{r.Ping}");
        Assert.Contains("3 packets transmitted, 3 received", r.Ping, StringComparison.Ordinal);
        Said(r, "GUEST heard pinged");
        Match rx = Regex.Match(r.Console, "GUEST rx-packets ([0-9]+)");
        Assert.True(rx.Success && long.Parse(rx.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) >= 3, "the e1000e counted fewer than 3 received packets");
    }

    /// <summary>Asserts the console holds <paramref name="text"/>, naming the line that is missing.</summary>
    private static void Said(QemuGuestBoot.Result r, string text) =>
        Assert.True(r.Console.Contains(text, StringComparison.Ordinal), $"the guest's console has no '{text.TrimEnd('\n')}' (the console is in the test's output)");

    private QemuGuestBoot.Result Booted()
    {
        string? why = QemuGuestBoot.CannotRunBecause();
        Skip.If(why is not null, why);
        QemuGuestBoot.Result r = boot.Get();
        output.WriteLine($"boot: /init after {r.ToInit.TotalSeconds:0.0} s, powered off after {r.Total.TotalSeconds:0.0} s; console {r.ConsoleFile}");
        output.WriteLine(string.Join('\n', r.Markers.Where(m => !m.Line.StartsWith("GUEST dmesg", StringComparison.Ordinal)).Select(m => $"{m.At.TotalSeconds,6:0.00} {m.Line}")));
        output.WriteLine(r.Ping);
        output.WriteLine(r.Console);
        return r;
    }
}
